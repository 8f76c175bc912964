//! `cargo xtask test`: the whole pipeline, stage by stage.

use std::path::Path;

use anyhow::Result;

use crate::cargo::{self, Runner, TestStore};
use crate::cli::{Store, TestOptions};
use crate::postgres::Postgres;
use crate::summary::Summary;
use crate::{conformance, disk, interrupt, layering, paths, system};

const SYSTEM: &str = "system-packages";
const FMT: &str = "fmt";
const CLIPPY: &str = "clippy";
const LAYERING: &str = "layering";
const BUILD: &str = "build";
const POSTGRES: &str = "postgres-start";
const TEST: &str = "test";
const CONFORMANCE: &str = "conformance";

/// Runs every stage and prints the summary; `Ok(false)` if anything failed.
pub fn run(options: &TestOptions) -> Result<bool> {
    let root = paths::repo_root()?;
    let mut summary = Summary::new(plan(options));
    run_stages(&root, options, &mut summary);
    let passed = summary.print();
    if interrupt::requested() {
        eprintln!("xtask: interrupted");
    }
    Ok(passed)
}

fn plan(options: &TestOptions) -> Vec<(&'static str, Option<Store>)> {
    let mut plan = vec![(SYSTEM, None)];
    if options.lint {
        plan.extend([(FMT, None), (CLIPPY, None), (LAYERING, None)]);
    }
    plan.push((BUILD, None));
    if options.stores.contains(&Store::Postgres) {
        plan.push((POSTGRES, Some(Store::Postgres)));
    }
    plan.extend(options.stores.iter().map(|store| (TEST, Some(*store))));
    if options.conformance {
        plan.extend(
            options
                .stores
                .iter()
                .map(|store| (CONFORMANCE, Some(*store))),
        );
    }
    plan
}

/// Stages that can't run because a prerequisite failed are simply not
/// recorded; the summary reports them as NOT RUN (failed).
fn run_stages(root: &Path, options: &TestOptions, summary: &mut Summary) {
    if summary
        .run(SYSTEM, None, || {
            system::ensure_packages(system::SYSTEM_PACKAGES)?;
            disk::ensure_free_space(&[root, &std::env::temp_dir()])
        })
        .is_none()
    {
        return;
    }
    if options.lint {
        // Lint failures don't stop the pipeline: the tests still tell us more.
        summary.run(FMT, None, || cargo::fmt_check(root));
        summary.run(CLIPPY, None, || cargo::clippy(root));
        summary.run(LAYERING, None, || layering::check(root));
    }
    if summary.run(BUILD, None, || cargo::build(root)).is_none() {
        return;
    }

    let postgres = if options.stores.contains(&Store::Postgres) {
        summary.run(POSTGRES, Some(Store::Postgres), || {
            Postgres::start(&paths::xtask_dir(root))
        })
    } else {
        None
    };
    let database_url = postgres.as_ref().map(Postgres::url);

    let runner = Runner::detect(root);
    println!("\nxtask: test runner: {runner:?}");
    for store in &options.stores {
        let test_store = match (store, &database_url) {
            (Store::Sqlite, _) => TestStore::Sqlite,
            (Store::Postgres, Some(database_url)) => TestStore::Postgres { database_url },
            (Store::Postgres, None) => {
                summary.not_run(TEST, Some(*store), "Postgres did not start");
                continue;
            }
        };
        summary.run(TEST, Some(*store), || {
            cargo::test(root, runner, &test_store, &options.test_args)
        });
    }

    if options.conformance {
        for store in &options.stores {
            if *store == Store::Postgres && postgres.is_none() {
                summary.not_run(CONFORMANCE, Some(*store), "Postgres did not start");
                continue;
            }
            summary.run(CONFORMANCE, Some(*store), || {
                conformance::run(root, *store, postgres.as_ref())
            });
        }
    }
    // Stop Postgres before the summary so its output doesn't trail the table.
    drop(postgres);
}
