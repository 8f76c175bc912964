//! Realmgate developer tasks. `cargo xtask test` is the one test command
//! (README and `.ci/run` call it); `cargo xtask pg` starts a throwaway
//! Postgres for local development.

mod cargo;
mod cli;
mod conformance;
mod disk;
mod interrupt;
mod layering;
mod net;
mod paths;
mod pg_command;
mod postgres;
mod process;
mod secret;
mod server;
mod summary;
mod system;
mod tempdir;
mod test_command;

use std::process::ExitCode;

use cli::Invocation;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("\nxtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Returns `Ok(false)` when the task ran but something in it failed.
fn run() -> anyhow::Result<bool> {
    interrupt::install()?;
    match cli::parse(std::env::args().skip(1))? {
        Invocation::Help => {
            println!("{}", cli::USAGE);
            Ok(true)
        }
        Invocation::Test(options) => test_command::run(&options),
        Invocation::Pg => pg_command::run().map(|()| true),
    }
}
