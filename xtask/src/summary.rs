//! Stage bookkeeping and the final summary table. Every planned stage that
//! did not run counts as failed: nothing is silently skipped.

use std::time::Instant;

use anyhow::Result;

use crate::cli::Store;
use crate::interrupt;

enum Outcome {
    Passed,
    Failed(String),
    NotRun(String),
}

struct Record {
    stage: &'static str,
    store: Option<Store>,
    outcome: Outcome,
    seconds: f64,
}

pub struct Summary {
    plan: Vec<(&'static str, Option<Store>)>,
    records: Vec<Record>,
}

impl Summary {
    /// `plan` lists every stage this run is expected to execute, in order.
    pub fn new(plan: Vec<(&'static str, Option<Store>)>) -> Self {
        Self {
            plan,
            records: Vec::new(),
        }
    }

    /// Runs one stage, timing it and recording its result. Returns the
    /// stage's value, or `None` if it failed (the error is printed loudly).
    pub fn run<T>(
        &mut self,
        stage: &'static str,
        store: Option<Store>,
        body: impl FnOnce() -> Result<T>,
    ) -> Option<T> {
        if interrupt::requested() {
            self.not_run(stage, store, "interrupted");
            return None;
        }
        let label = label(stage, store);
        let started = Instant::now();
        println!("\n==> xtask: stage {label}");
        let result = body();
        let seconds = started.elapsed().as_secs_f64();
        let (outcome, value) = match result {
            Ok(value) => {
                println!("==> xtask: stage {label} passed ({seconds:.1}s)");
                (Outcome::Passed, Some(value))
            }
            Err(err) => {
                eprintln!("\n!!! xtask: stage {label} FAILED ({seconds:.1}s): {err:#}\n");
                (Outcome::Failed(first_line(&format!("{err:#}"))), None)
            }
        };
        self.records.push(Record {
            stage,
            store,
            outcome,
            seconds,
        });
        value
    }

    /// Records that a stage could not run (it counts as failed).
    pub fn not_run(&mut self, stage: &'static str, store: Option<Store>, reason: &str) {
        eprintln!("!!! xtask: stage {} NOT RUN: {reason}", label(stage, store));
        self.records.push(Record {
            stage,
            store,
            outcome: Outcome::NotRun(reason.to_owned()),
            seconds: 0.0,
        });
    }

    /// Prints the table and the final `N passed, M failed` line; returns
    /// whether everything passed.
    pub fn print(&self) -> bool {
        let mut rows = Vec::new();
        for (stage, store) in &self.plan {
            match self
                .records
                .iter()
                .find(|record| record.stage == *stage && record.store == *store)
            {
                Some(record) => rows.push(row(record)),
                None => rows.push((
                    label_parts(stage, *store),
                    "NOT RUN".to_owned(),
                    "-".to_owned(),
                    if interrupt::requested() {
                        "interrupted"
                    } else {
                        "an earlier stage failed"
                    }
                    .to_owned(),
                    false,
                )),
            }
        }
        for record in &self.records {
            if !self.plan.contains(&(record.stage, record.store)) {
                rows.push(row(record));
            }
        }
        let passed = rows.iter().filter(|row| row.4).count();
        let failed = rows.len() - passed;

        println!("\n==================== xtask test summary ====================");
        println!(
            "{:<16} {:<9} {:<8} {:>8}  note",
            "stage", "store", "result", "seconds"
        );
        for ((stage, store), result, seconds, note, _) in &rows {
            println!("{stage:<16} {store:<9} {result:<8} {seconds:>8}  {note}");
        }
        println!("============================================================");
        println!("{passed} passed, {failed} failed");
        failed == 0
    }
}

type Row = ((String, String), String, String, String, bool);

fn row(record: &Record) -> Row {
    let (result, note, passed) = match &record.outcome {
        Outcome::Passed => ("PASS".to_owned(), String::new(), true),
        Outcome::Failed(reason) => ("FAIL".to_owned(), reason.clone(), false),
        Outcome::NotRun(reason) => ("NOT RUN".to_owned(), reason.clone(), false),
    };
    let seconds = match record.outcome {
        Outcome::NotRun(_) => "-".to_owned(),
        _ => format!("{:.1}", record.seconds),
    };
    (
        label_parts(record.stage, record.store),
        result,
        seconds,
        note,
        passed,
    )
}

fn label_parts(stage: &str, store: Option<Store>) -> (String, String) {
    (
        stage.to_owned(),
        store.map_or_else(|| "-".to_owned(), |store| store.name().to_owned()),
    )
}

fn label(stage: &str, store: Option<Store>) -> String {
    match store {
        Some(store) => format!("`{stage}` [{store}]"),
        None => format!("`{stage}`"),
    }
}

fn first_line(text: &str) -> String {
    const MAX: usize = 100;
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > MAX {
        let short: String = line.chars().take(MAX).collect();
        format!("{short}...")
    } else {
        line.to_owned()
    }
}
