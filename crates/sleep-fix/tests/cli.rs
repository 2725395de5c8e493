//! The binary: the two-terminal server and client, and what they say when
//! something is wrong.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sleep-fix");

/// A server process, killed when the test ends (also when it fails).
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(args: &[&str]) -> ServerProcess {
    let mut child = Command::new(BIN)
        .arg("server")
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        // Keep draining so the server never blocks on a full pipe.
        for _ in lines {}
    });
    let first = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("the server printed no `listening on` line");
        }
    };
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .parse()
        .unwrap();
    ServerProcess { child, addr }
}

/// Runs the client with this standard input; its read timeout bounds every wait.
fn run_client(addr: SocketAddr, input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args([
            "client",
            "--addr",
            &addr.to_string(),
            "--read-timeout-ms",
            "5000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A client that fails before reading its input (no server) closes the
    // pipe early; that broken pipe is not the test's concern.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    child.wait_with_output().unwrap()
}

fn seq_output(n: usize) -> String {
    (1..=n).map(|i| format!("{i}\n")).collect()
}

/// The two-terminal version with a pause: a piped client gets both replies whole, and no prompt.
#[test]
fn piped_client_gets_whole_replies() {
    let server = start_server(&["--pause-ms", "300"]);
    let out = run_client(server.addr, "seq 1 400\necho hi\nexit\necho never\n");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, format!("{}hi\n", seq_output(400)));
}

/// An empty line is not sent, and the client says why; the conversation goes on.
#[test]
fn empty_line_is_not_sent() {
    let server = start_server(&["--pause-ms", "300"]);
    let out = run_client(server.addr, "\n   \necho hi\n");
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hi\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("nothing sent: an empty command"),
        "{stderr}"
    );
}

/// No server listening: a clear message and a non-zero exit.
#[test]
fn client_without_server_fails_clearly() {
    // A port that was free a moment ago and has nobody listening now.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = run_client(addr, "echo hi\n");
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
    let out = Command::new(BIN).output().unwrap();
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
