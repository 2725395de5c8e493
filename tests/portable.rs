//! Nothing the demos run depends on a program outside the workspace: with
//! `PATH` pointing at an empty folder, the tour (every stage's demo, then the
//! story matrix) prints exactly what it prints with the machine's `PATH`, in
//! both languages, and `costs` still measures every row.
//!
//! The demos answer `seq 1 400`, `echo hi` and `true` with the built-in
//! command set (`common::builtin`), not `sh` or `cmd`: a missing `seq`
//! (Windows has none) would otherwise change the lesson's bytes. The same
//! run under Wine is compared with the Linux one by `.ci/windows`.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_sticky-packets");

/// Runs the root binary with `args`, in English or Chinese, with `path` as
/// its whole `PATH` (`None`: the machine's own).
fn run(args: &[&str], path: Option<&Path>) -> std::thread::JoinHandle<Output> {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("STICKY_LANG")
        .env_remove("LC_ALL")
        .env_remove("LANG");
    if let Some(path) = path {
        command.env("PATH", path);
    }
    std::thread::spawn(move || command.output().unwrap())
}

fn text(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The tour, in each language, prints the same bytes with an empty `PATH`.
#[test]
fn the_tour_needs_no_program_outside_the_workspace() {
    let empty = tempfile::tempdir().unwrap();
    for lang in ["en", "zh-CN"] {
        let args = ["--lang", lang];
        // Both at once: the two runs take a couple of seconds each.
        let normal = run(&args, None);
        let bare = run(&args, Some(empty.path()));
        let normal = text(&normal.join().unwrap(), "the tour");
        let bare = text(&bare.join().unwrap(), "the tour with an empty PATH");
        assert!(normal.contains("seq 1 400"), "{normal}");
        if normal != bare {
            let line = normal
                .lines()
                .zip(bare.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(normal.lines().count().min(bare.lines().count()));
            panic!(
                "--lang {lang}: the tour differs with an empty PATH from line {}:\n  normal: {:?}\n  empty:  {:?}",
                line + 1,
                normal.lines().nth(line),
                bare.lines().nth(line)
            );
        }
    }
}

/// `costs` measures every row with an empty `PATH` (its figures vary from
/// run to run, so only that it ran and measured is compared).
#[test]
fn costs_need_no_program_outside_the_workspace() {
    let empty = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "costs",
            "--runs",
            "1",
            "--replies",
            "10",
            "--upload-mib",
            "1",
        ],
        Some(empty.path()),
    )
    .join()
    .unwrap();
    let table = text(&out, "costs with an empty PATH");
    assert!(table.contains("echo hi"), "{table}");
    assert!(!table.to_lowercase().contains("error"), "{table}");
}
