//! Command-line parsing (hand-rolled to keep xtask's dependencies minimal).

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result, bail};

pub const USAGE: &str = "\
Usage: cargo xtask <COMMAND>

Commands:
  test [OPTIONS] [-- <CARGO TEST ARGS>...]
        The test command: system packages, lint (fmt + clippy), build, the Rust
        test suite once per store (sqlite, postgres against a throwaway
        Postgres), then the conformance suite against the real binary per store.
        Fails loudly (non-zero exit) if anything cannot be installed or started.
      --store <sqlite|postgres>  run only this store (default: both)
      --no-lint                  skip `cargo fmt --check` and `cargo clippy`
      --no-conformance           skip the conformance stage
      -- <ARGS>...               appended verbatim to `cargo nextest run` /
                                 `cargo test` (e.g. a test name filter; with
                                 cargo test, harness flags need a second `--`)
  pg    Start a throwaway Postgres, print its URL and `export` lines, and stay
        in the foreground until Ctrl-C (then stop it and delete its data).
  help  Print this message.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

impl Store {
    pub const ALL: [Store; 2] = [Store::Sqlite, Store::Postgres];

    pub fn name(self) -> &'static str {
        match self {
            Store::Sqlite => "sqlite",
            Store::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Store {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sqlite" => Ok(Store::Sqlite),
            "postgres" => Ok(Store::Postgres),
            other => bail!("unknown store `{other}` (expected `sqlite` or `postgres`)"),
        }
    }
}

#[derive(Debug)]
pub struct TestOptions {
    pub stores: Vec<Store>,
    pub lint: bool,
    pub conformance: bool,
    pub test_args: Vec<String>,
}

#[derive(Debug)]
pub enum Invocation {
    Test(TestOptions),
    Pg,
    Help,
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Invocation> {
    let Some(command) = args.next() else {
        bail!("missing command\n\n{USAGE}");
    };
    match command.as_str() {
        "test" => parse_test(args).map(Invocation::Test),
        "pg" => match args.next() {
            None => Ok(Invocation::Pg),
            Some(extra) => bail!("`pg` takes no arguments, got `{extra}`\n\n{USAGE}"),
        },
        "help" | "-h" | "--help" => Ok(Invocation::Help),
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

fn parse_test(mut args: impl Iterator<Item = String>) -> Result<TestOptions> {
    let mut options = TestOptions {
        stores: Store::ALL.to_vec(),
        lint: true,
        conformance: true,
        test_args: Vec::new(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--" => {
                options.test_args = args.by_ref().collect();
            }
            "--no-lint" => options.lint = false,
            "--no-conformance" => options.conformance = false,
            "--store" => {
                let value = args
                    .next()
                    .context("`--store` needs a value: sqlite or postgres")?;
                options.stores = vec![value.parse()?];
            }
            other => {
                if let Some(value) = other.strip_prefix("--store=") {
                    options.stores = vec![value.parse()?];
                } else {
                    bail!("unknown `test` argument `{other}`\n\n{USAGE}");
                }
            }
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Invocation> {
        parse(words.iter().map(|word| (*word).to_owned()))
    }

    #[test]
    fn test_defaults_to_everything() -> Result<()> {
        let Invocation::Test(options) = parse_words(&["test"])? else {
            bail!("expected the test command");
        };
        assert_eq!(options.stores, Store::ALL.to_vec());
        assert!(options.lint && options.conformance);
        assert!(options.test_args.is_empty());
        Ok(())
    }

    #[test]
    fn test_flags_and_passthrough() -> Result<()> {
        let words = [
            "test",
            "--store=postgres",
            "--no-lint",
            "--no-conformance",
            "--",
            "login",
            "--",
            "--nocapture",
        ];
        let Invocation::Test(options) = parse_words(&words)? else {
            bail!("expected the test command");
        };
        assert_eq!(options.stores, vec![Store::Postgres]);
        assert!(!options.lint && !options.conformance);
        assert_eq!(options.test_args, ["login", "--", "--nocapture"]);
        Ok(())
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(parse_words(&[]).is_err());
        assert!(parse_words(&["test", "--store", "mysql"]).is_err());
        assert!(parse_words(&["test", "--store"]).is_err());
        assert!(parse_words(&["test", "--frobnicate"]).is_err());
        assert!(parse_words(&["pg", "extra"]).is_err());
        assert!(parse_words(&["deploy"]).is_err());
    }
}
