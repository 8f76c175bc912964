//! Running child processes loudly: every command is echoed, failures carry
//! the command line and exit status, and Ctrl-C stops the child.

use std::fs;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::sleep;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::interrupt;

/// A shell-like rendering of `cmd` for logs and error messages.
pub fn display(cmd: &Command) -> String {
    let program = cmd.get_program();
    // `$CARGO` is a long toolchain path; plain `cargo` reads better.
    let mut shown = if std::env::var_os("CARGO").is_some_and(|cargo| cargo == program) {
        String::from("cargo")
    } else {
        quote(&program.to_string_lossy())
    };
    for arg in cmd.get_args() {
        shown.push(' ');
        shown.push_str(&quote(&arg.to_string_lossy()));
    }
    shown
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%^".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` with inherited stdio (output streams to the console).
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    println!("xtask$ {shown}");
    let child = cmd
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let status = wait(child, &shown)?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Waits for `child`, killing it if the user interrupts xtask.
pub fn wait(mut child: Child, shown: &str) -> Result<ExitStatus> {
    loop {
        let exited = child
            .try_wait()
            .with_context(|| format!("waiting for `{shown}`"))?;
        if interrupt::requested() {
            if exited.is_none() {
                // Best effort: the child usually got the same Ctrl-C already.
                let _ = child.kill();
                let _ = child.wait();
            }
            bail!("interrupted while running `{shown}`");
        }
        if let Some(status) = exited {
            return Ok(status);
        }
        sleep(Duration::from_millis(50));
    }
}

/// Runs `cmd` with captured output, without judging its exit status.
pub fn capture(cmd: &mut Command) -> Result<Output> {
    let shown = display(cmd);
    cmd.stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{shown}`"))
}

/// Runs `cmd` with captured output; on failure the error includes it.
pub fn run_captured(cmd: &mut Command) -> Result<String> {
    let shown = display(cmd);
    println!("xtask$ {shown}");
    let output = capture(cmd)?;
    if !output.status.success() {
        bail!(
            "`{shown}` failed ({})\n--- stdout ---\n{}--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Whether `pid` is a live (not zombie) xtask process.
pub fn xtask_alive(pid: u32) -> bool {
    // /proc/<pid>/stat is `pid (comm) state ...`; comm may contain spaces.
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some((head, tail)) = stat.rsplit_once(')') else {
        return false;
    };
    let comm = head.split_once('(').map_or("", |(_, comm)| comm);
    let zombie = tail.trim_start().starts_with('Z');
    comm == "xtask" && !zombie
}
