//! `costs` measures every figure it promises (the figures themselves are
//! benchmarks, reported in the README, never asserted here), with `PATH`
//! pointing at an empty folder: it runs no program outside the workspace.

use std::process::Command;

/// A tiny run produces the whole table, with an empty `PATH`: one row per measured cost, with the machine (CPU count included) in its heading.
#[test]
fn costs_table_has_every_row() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sticky-packets"))
        .args([
            "costs",
            "--runs",
            "1",
            "--replies",
            "10",
            "--upload-mib",
            "1",
        ])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "costs with an empty PATH failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let cpus = std::thread::available_parallelism().unwrap().get();
    let machine = table.lines().nth(1).unwrap();
    assert!(machine.starts_with("Machine: "), "{table}");
    assert!(machine.contains(&format!(", {cpus} CPUs, ")), "{table}");
    assert!(machine.contains(std::env::consts::OS), "{table}");
    for row in [
        "naive-exec-sticky",
        "100 ms pause",
        "header + body in one write",
        "two writes (stall)",
        "one writev system call per frame",
        "write_frame into a BufWriter, one flush",
        "LengthDelimitedCodec, feed + one flush",
        "one round trip each",
        "upload of a 1 MiB file",
        "the bound",
        "gallery/varint",
        "64 KiB frames (a connection each) per second",
    ] {
        assert!(table.contains(row), "no row {row:?} in\n{table}");
    }
    // Every figure is a positive number.
    for line in table.lines().skip(5) {
        let figure = line.rsplit('|').nth(1).unwrap().trim();
        let number: f64 = figure.split_whitespace().next().unwrap().parse().unwrap();
        assert!(number > 0.0, "{line}");
    }
}
