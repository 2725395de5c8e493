//! The binary: the two-terminal server and client, and what they say when
//! something is wrong.

use common::process::{in_english, run_with_input, ServerProcess};
use common::testing::ClosedPort;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output};
use std::thread;

const BIN: &str = env!("CARGO_BIN_EXE_sleep-fix");

/// The server's pause where client and server are two processes and nothing
/// can make the client read the digits in time: three times the stage's
/// default, longer than any stall `.ci/stress` has caused between the
/// server's write and the client's read.
const WIDE_PAUSE_MS: &str = "300";

/// The client's wait for each reply: a loaded machine can be slow to
/// schedule the server, and a reply that came late must not pass for none.
const READ_TIMEOUT_MS: &str = "10000";

/// A server process answering with the built-in command set (the same
/// bytes on every OS), killed when the test ends (also when it fails).
fn start_server(args: &[&str]) -> ServerProcess {
    let args = ["server", "--addr", "127.0.0.1:0", "--builtin"]
        .iter()
        .chain(args);
    ServerProcess::start(BIN, args).unwrap()
}

/// Runs the client with this standard input; its read timeout bounds every
/// wait, and `run_with_input` bounds the whole run.
fn run_client(addr: SocketAddr, input: &str) -> Output {
    let addr = addr.to_string();
    run_with_input(
        BIN,
        [
            "client",
            "--addr",
            &addr,
            "--read-timeout-ms",
            READ_TIMEOUT_MS,
        ],
        input.as_bytes(),
    )
    .unwrap()
}

fn seq_output(n: usize) -> String {
    (1..=n).map(|i| format!("{i}\n")).collect()
}

/// The two-terminal version with a pause: a piped client gets both replies whole, and no prompt.
#[test]
fn piped_client_gets_whole_replies() {
    let server = start_server(&["--pause-ms", WIDE_PAUSE_MS]);
    let out = run_client(server.addr(), "seq 1 400\necho hi\nexit\necho never\n");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each reply is marked with the length read 1 gave; how many reads the
    // output took depends on how it arrived, so only `echo hi`'s is exact.
    let seq_mark = "── reply to `seq 1 400`: read 1 gave the length \"1492\", then 1492 B in ";
    assert!(stdout.starts_with(seq_mark), "{stdout}");
    let hi = "── reply to `echo hi`: read 1 gave the length \"3\", then 3 B in 1 read(s) ──\nhi\n";
    let (head, tail) = stdout.split_once('\n').unwrap();
    assert!(head.ends_with("read(s) ──"), "{head}");
    assert_eq!(tail, format!("{}{hi}", seq_output(400)));
}

/// An empty line is not sent, and the client says why; the conversation goes on.
#[test]
fn empty_line_is_not_sent() {
    let server = start_server(&["--pause-ms", WIDE_PAUSE_MS]);
    let out = run_client(server.addr(), "\n   \necho hi\n");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "── reply to `echo hi`: read 1 gave the length \"3\", then 3 B in 1 read(s) ──\nhi\n"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("nothing sent: an empty command"),
        "{stderr}"
    );
}

/// No server listening: a clear message and a non-zero exit.
#[test]
fn client_without_server_fails_clearly() {
    // Held for the whole test: no other program can start listening there.
    let port = ClosedPort::tcp().unwrap();
    let out = run_client(port.addr(), "echo hi\n");
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("Is the server running?"), "{stderr}");
}

/// A reply whose length is not digits: the client says what it got and exits non-zero.
#[test]
fn unparsable_length_fails_clearly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut cmd = [0u8; 1024];
        let _ = conn.read(&mut cmd).unwrap();
        conn.write_all(b"hello\n").unwrap();
        let mut rest = Vec::new();
        let _ = conn.read_to_end(&mut rest);
    });
    let out = run_client(addr, "echo hi\necho never\n");
    fake.join().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(r#"expected the reply's length as digits, got 6 bytes: "hello\n""#),
        "{stderr}"
    );
    assert!(stderr.contains("cannot go on"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "── reply to `echo hi`: read 1 returned 6 B, which are not a length ──\n"
    );
}

/// The remote-execution server refuses a non-loopback address unless told otherwise.
#[test]
fn server_refuses_remote_bind() {
    let out = Command::new(BIN)
        .args(["server", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

/// Without arguments the binary prints the demo and exits 0.
#[test]
fn demo_runs_without_arguments() {
    let out = in_english(&mut Command::new(BIN)).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("Stage 3, sleep-fix"), "{stdout}");
    assert!(stdout.contains("Verdict: broken"), "{stdout}");
    assert!(stdout.contains("Verdict: intact"), "{stdout}");
}

/// --help says why the pause is not a fix.
#[test]
fn help_says_it_is_a_bet_on_timing() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("bet on timing"), "{stdout}");
}
