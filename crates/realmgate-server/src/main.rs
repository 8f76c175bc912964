//! The `realmgate` binary.

use clap::Parser;
use std::process::ExitCode;

/// mimalloc: on the client-credentials path glibc's malloc/free were ~14% of the server's CPU
/// (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    realmgate_server::install_crypto_provider();
    let cli = realmgate_server::cli::Cli::parse();
    match realmgate_server::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
