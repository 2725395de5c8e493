//! The binary: server and client with piped standard input, against each
//! other and against stage 4's server and client.

mod support;

use common::process::{run_with_input, ServerProcess};
use common::spawn_loopback;
use length_header_fix::DEFAULT_MAX_FRAME;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tokio-length");

fn start_server(extra: &[&str]) -> ServerProcess {
    // The built-in set: the same bytes on every OS (cmd has no `seq`).
    let args = ["server", "--addr", "127.0.0.1:0", "--builtin"]
        .iter()
        .chain(extra);
    ServerProcess::start(BIN, args).unwrap()
}

fn run_client(addr: SocketAddr, input: &str) -> Output {
    run_with_input(
        BIN,
        ["client", "--addr", &addr.to_string()],
        input.as_bytes(),
    )
    .unwrap()
}

/// What the client prints for [`SCRIPT`]: every reply whole, after a line
/// that marks it with its command and length, as stage 4's client does.
fn script_output() -> String {
    let seq: String = (1..=400).map(|i| format!("{i}\n")).collect();
    format!(
        "── reply to `seq 1 400`: 1492 B ──\n{seq}\
         ── reply to `echo hi`: 3 B ──\nhi\n\
         ── reply to `true`: 0 B ──\n(empty reply)\n\
         ── reply to the empty line: 0 B ──\n(empty reply)\n\
         ── reply to `echo bye`: 4 B ──\nbye\n"
    )
}

const SCRIPT: &str = "seq 1 400\necho hi\ntrue\n\necho bye\nexit\necho never\n";

/// The async client and server binaries: piped commands, an empty line and `true` included, each answered whole; `exit` ends the client.
#[test]
fn client_and_server_binaries_talk() {
    let server = start_server(&[]);
    let out = run_client(server.addr(), SCRIPT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), script_output());
}

/// The async client binary against stage 4's std server prints exactly what it prints against the async server.
#[test]
fn client_binary_against_stage4_server() {
    let server = spawn_loopback(|listener| {
        let (mut stream, _) = listener.accept()?;
        support::stage4_connection(&mut stream, common::ShellLimits::default())
            .map_err(std::io::Error::from)
    })
    .unwrap();
    let out = run_client(server.addr(), SCRIPT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), script_output());
    assert_eq!(
        server.join().unwrap(),
        5,
        "five commands answered, `exit` ends it"
    );
}

/// The async server binary logs a hostile length with its value and keeps serving stage 4's client.
#[test]
fn server_binary_logs_hostile_length_and_serves_on() {
    let server = start_server(&[]);
    let mut hostile = TcpStream::connect(server.addr()).unwrap();
    hostile
        .set_read_timeout(Some(common::testing::PATIENCE))
        .unwrap();
    hostile.write_all(&(-7i32).to_le_bytes()).unwrap();
    let mut rest = Vec::new();
    let _ = hostile.read_to_end(&mut rest);
    assert!(rest.is_empty());
    let line = server.wait_log("cannot be negative").unwrap();
    assert!(
        line.contains("-7") && line.contains("still serving"),
        "{line}"
    );
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(common::testing::PATIENCE))
        .unwrap();
    length_header_fix::send_command(&mut stream, "echo after").unwrap();
    let reply = length_header_fix::recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap();
    assert_eq!(reply, b"after\n");
}

/// The server refuses a non-loopback address unless --allow-remote is given.
#[test]
fn server_refuses_remote_bind_without_flag() {
    let out = Command::new(BIN)
        .args(["server", "--addr", "0.0.0.0:0", "--builtin"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "{err}");
}

/// A client without a server exits non-zero and says how to start one.
#[test]
fn client_without_server_fails_clearly() {
    // Held for the whole test: no other program can start listening there.
    let port = common::testing::ClosedPort::tcp().unwrap();
    let out = run_client(port.addr(), "echo hi\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Is the server running?"), "{err}");
}

/// The server says which interpreter answers, after the address it listens on.
#[test]
fn server_says_which_interpreter_answers() {
    let server = start_server(&[]);
    let line = server.wait_log("built-in set").unwrap();
    assert!(line.contains("running commands with"), "{line}");
}

/// The piped client's output, pinned: every reply marked whole with its command and length.
#[test]
fn piped_client() {
    let server = start_server(&[]);
    let out = run_client(server.addr(), "seq 1 3\necho hi\ntrue\nexit\n");
    assert!(out.status.success());
    insta::assert_snapshot!("piped_client", String::from_utf8_lossy(&out.stdout));
}

/// The demo speaks Chinese with --lang zh-CN, and English with --lang en whatever the environment says.
#[test]
fn demo_language_flag() {
    let zh = Command::new(BIN)
        .args(["--lang", "zh-CN"])
        .output()
        .unwrap();
    assert!(zh.status.success());
    assert!(String::from_utf8_lossy(&zh.stdout).starts_with("第二部分"));
    let en = Command::new(BIN)
        .args(["--lang", "en"])
        .env("STICKY_LANG", "zh-CN")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&en.stdout).starts_with("Part II"));
}
