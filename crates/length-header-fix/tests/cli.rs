//! The binary: demo, server and client, with piped standard input.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_length-header-fix");

/// A server binary on 127.0.0.1:0, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["server", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Keeps draining stderr after the first line, so the server never
        // blocks on a full pipe.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first stderr line: {first}"))
            .to_string();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_client(addr: &str, input: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["client", "--addr", addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    // Bounded: every command in these tests ends well within the server's timeout.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(Duration::from_secs(20)).unwrap().unwrap()
}

/// Piped commands, an empty line and `true` included, are each answered whole; `exit` ends the client.
#[test]
fn client_and_server_binaries_talk() {
    let server = Server::start(&[]);
    let out = run_client(
        &server.addr,
        "seq 1 400\necho hi\ntrue\n\necho bye\nexit\necho never\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seq: String = (1..=400).map(|i| format!("{i}\n")).collect();
    let want = format!("{seq}hi\n(empty reply)\n(empty reply)\nbye\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

/// A client without a server exits non-zero and says how to start one.
#[test]
fn client_without_server_fails_clearly() {
    // Bind and drop: a loopback port with (almost certainly) nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = run_client(&port.to_string(), "echo hi\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Is the server running?"), "{err}");
}

/// The server refuses a non-loopback address unless --allow-remote is given.
#[test]
fn server_refuses_remote_bind_without_flag() {
    let out = Command::new(BIN)
        .args(["server", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "{err}");
}

/// The --timeout-ms flag reaches the server: `sleep 60` comes back killed.
#[test]
fn server_timeout_flag_kills_sleep() {
    let server = Server::start(&["--timeout-ms", "200"]);
    let out = run_client(&server.addr, "sleep 60\n");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("killed after the 200 ms timeout"), "{text}");
}

/// A client whose --max-frame is smaller than the reply refuses it and exits non-zero.
#[test]
fn client_max_frame_refuses_long_reply() {
    let server = Server::start(&[]);
    let out = Command::new(BIN)
        .args(["client", "--addr", &server.addr, "--max-frame", "100"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"seq 1 400\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("over the maximum frame size of 100"), "{err}");
}

/// The demo binary exits 0 and prints the library's transcript.
#[test]
fn demo_binary_prints_the_transcript() {
    let out = Command::new(BIN).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Stage 4, length-header-fix"), "{text}");
    assert!(text.contains("Verdict: intact"), "{text}");
}
