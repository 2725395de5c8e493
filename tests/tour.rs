//! `cargo run` at the root: the tour, the matrix and the weather command line.
//!
//! Nothing the tour runs depends on a program outside the workspace: each
//! language's tour is run twice at once, with the machine's `PATH` and with
//! `PATH` pointing at an empty folder, and must print the same bytes. The
//! demos answer `seq 1 400`, `echo hi` and `true` with the built-in command
//! set (`common::builtin`), not `sh` or `cmd`: a missing `seq` (Windows has
//! none) would otherwise change the lesson's bytes. The same run under Wine
//! is compared with the Linux one by `.ci/windows`.

use common::process::{in_english, ServerProcess};
use common::testing::PATIENCE;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sticky-packets");

/// How long the whole tour may take: every demo and the 30-cell matrix run
/// in about 2 s on an idle machine and took up to 7 s in `.ci/stress`.
const TOUR_PATIENCE: Duration = Duration::from_secs(60);

/// The root binary with `args`, `input` on its standard input and `path` as
/// its whole `PATH`, in English unless told otherwise; at most
/// [`TOUR_PATIENCE`].
fn run_with_input_within_env(args: &[&str], input: &[u8], path: &std::path::Path) -> Output {
    let mut child = in_english(&mut Command::new(BIN))
        .args(args)
        .env("PATH", path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A few bytes: the pipe holds them whatever the child does.
    child.stdin.take().unwrap().write_all(input).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    rx.recv_timeout(TOUR_PATIENCE)
        .expect("the tour did not finish within its patience")
        .unwrap()
}

/// The tour in `lang`, run with the machine's `PATH` and with an empty one
/// at the same time; both must succeed and print the same bytes, which are
/// returned.
///
/// With `pause`, the empty-`PATH` run is also the `--pause` run, fed six
/// newlines (five pauses between six stages, one before the matrix): the
/// pauses add nothing to standard output (a prompt, on a terminal only, goes
/// to standard error), so it prints the same tour.
fn tour_twice(lang: &str, pause: bool) -> String {
    let empty = tempfile::tempdir().unwrap();
    let normal = {
        let mut command = Command::new(BIN);
        // The language is the flag's, never the machine's.
        in_english(&mut command).args(["--lang", lang]);
        std::thread::spawn(move || command.output().unwrap())
    };
    let mut args = vec!["--lang", lang];
    if pause {
        args.push("--pause");
    }
    let bare = run_with_input_within_env(&args, b"\n\n\n\n\n\n", empty.path());
    let normal = normal.join().unwrap();
    for (out, what) in [
        (&normal, "the tour"),
        (&bare, "the tour with an empty PATH"),
    ] {
        assert!(
            out.status.success(),
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (normal, bare) = (
        String::from_utf8(normal.stdout).unwrap(),
        String::from_utf8(bare.stdout).unwrap(),
    );
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
    normal
}

/// The tour prints every stage under its heading, then the matrix and where
/// to read next, and exits 0; with an empty `PATH`, and with `--pause` and
/// Enter pressed at every pause, it prints the same bytes.
#[test]
fn tour_runs_every_stage_in_order() {
    let text = tour_twice("en", true);
    assert!(text.contains("seq 1 400"), "{text}");
    let mut last = 0;
    for stage in &sticky_packets::tour::STAGES {
        let heading = format!("Stage {} of 6: {}", stage.number, stage.crate_name);
        let at = text
            .find(&heading)
            .unwrap_or_else(|| panic!("no heading {heading}"));
        assert!(at > last, "{heading} is out of order");
        last = at;
    }
    let matrix = text.find("The story matrix").unwrap();
    assert!(matrix > last);
    assert!(text[matrix..].contains("Where to read next"));
    assert!(text.contains("docs/zh-CN/README.md"));
}

/// `--lang zh-CN` tells the tour in Chinese: every stage under its Chinese
/// heading, the matrix, where to read next; the same bytes with an empty `PATH`.
#[test]
fn tour_speaks_chinese() {
    let text = tour_twice("zh-CN", false);
    let mut last = 0;
    for stage in &sticky_packets::tour::STAGES {
        let heading = format!("第 {} 阶段（共 6 个）：{}", stage.number, stage.crate_name);
        let at = text
            .find(&heading)
            .unwrap_or_else(|| panic!("no heading {heading}"));
        assert!(at > last, "{heading} is out of order");
        last = at;
    }
    let matrix = text.find("对照矩阵").unwrap();
    assert!(matrix > last);
    assert!(text[matrix..].contains("接下来读什么"));
    assert!(!text.contains("Where to read next"));
    assert!(
        text.contains("UDP 保留消息边界") && text.contains("粘包"),
        "{text}"
    );
}

/// A Chinese heading's rule is as wide as its title on a terminal.
#[test]
fn chinese_heading_rule_fits_its_title() {
    let stage = &sticky_packets::tour::STAGES[0];
    let heading = sticky_packets::tour::heading_in(stage, common::lang::Lang::Zh);
    let lines: Vec<&str> = heading.lines().collect();
    assert_eq!(lines[0].len(), common::lang::width(lines[1]), "{heading}");
}

/// Every chapter the tour points at exists.
#[test]
fn tour_points_at_real_chapters() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for stage in &sticky_packets::tour::STAGES {
        assert!(root.join(stage.chapter).is_file(), "{}", stage.chapter);
    }
}

/// `weather` on the command line forwards a conversation intact, cut into 1-byte pieces.
#[test]
fn weather_command_line_forwards_every_byte() {
    let upstream = common::spawn_loopback(|listener| {
        let (mut conn, _) = listener.accept()?;
        conn.set_read_timeout(Some(PATIENCE))?;
        let mut all = Vec::new();
        conn.read_to_end(&mut all)?;
        conn.write_all(&all)?;
        Ok(all)
    })
    .unwrap();
    let upstream_addr = upstream.addr().to_string();
    let proxy = ServerProcess::start(
        BIN,
        [
            "weather",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &upstream_addr,
            "--split",
            "1",
        ],
    )
    .unwrap();
    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    // Nothing comes back until every byte has gone through the proxy one at
    // a time and the upstream has seen the end: 3,000 one-byte writes took
    // over 10 s for the Windows build under Wine on a loaded machine.
    client.set_read_timeout(Some(TOUR_PATIENCE)).unwrap();
    let message: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    client.write_all(&message).unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = Vec::new();
    client.read_to_end(&mut back).unwrap();
    drop(proxy);
    assert_eq!(upstream.join().unwrap(), message);
    assert_eq!(back, message);
}

/// A non-loopback address is refused with a message that says how to fix it.
#[test]
fn weather_refuses_to_leave_loopback() {
    let out = Command::new(BIN)
        .args([
            "weather",
            "--listen",
            "0.0.0.0:0",
            "--upstream",
            "127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback"), "{err}");
}
