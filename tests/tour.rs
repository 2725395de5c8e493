//! `cargo run` at the root: the tour, the matrix and the weather command line.

use common::process::{run_with_input_within, ServerProcess};
use common::testing::PATIENCE;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sticky-packets");

/// How long the whole tour may take: every demo and the 30-cell matrix run
/// in about 2 s on an idle machine and took up to 7 s in `.ci/stress`.
const TOUR_PATIENCE: Duration = Duration::from_secs(60);

/// The tour prints every stage under its heading, then the matrix and where to read next, and exits 0.
#[test]
fn tour_runs_every_stage_in_order() {
    let out = Command::new(BIN)
        // English whatever the machine's locale: a zh_CN one would pick Chinese.
        .env_remove("STICKY_LANG")
        .env_remove("LC_ALL")
        .env_remove("LANG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
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

/// `--lang zh-CN` tells the tour in Chinese: every stage under its Chinese heading, the matrix, where to read next.
#[test]
fn tour_speaks_chinese() {
    let out = Command::new(BIN)
        .args(["--lang", "zh-CN"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
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

/// With --pause the tour waits for a line between stages; piped newlines carry it through.
#[test]
fn tour_pauses_for_enter() {
    // Five pauses between six stages, and one before the matrix.
    let out = run_with_input_within(
        BIN,
        ["--pause", "--lang", "en"],
        b"\n\n\n\n\n\n",
        TOUR_PATIENCE,
    )
    .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Where to read next"));
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
    client.set_read_timeout(Some(PATIENCE)).unwrap();
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
