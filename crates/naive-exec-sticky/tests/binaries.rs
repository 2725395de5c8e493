//! The two-terminal version: the real server and client binaries.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_naive-exec-sticky");
const PATIENT: Duration = Duration::from_secs(10);

/// A server binary and the lines of its standard error, as they come.
struct Server {
    child: Child,
    stderr: Receiver<String>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .arg("server")
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, stderr) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        Server { child, stderr }
    }

    fn line(&self) -> String {
        self.stderr.recv_timeout(PATIENT).unwrap()
    }

    fn addr(&self) -> String {
        let first = self.line();
        first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {first}"))
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(addr: &str, stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(["client", "--addr", addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A client that fails to connect exits without reading its input, so
    // this write may meet a closed pipe; its exit status tells the story.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    // Bounded: the client's reads time out after 2 s each.
    child.wait_with_output().unwrap()
}

fn seq_1_400() -> Vec<u8> {
    (1..=400)
        .map(|i| format!("{i}\n"))
        .collect::<String>()
        .into_bytes()
}

/// `printf 'seq 1 400\necho hi\nexit\n' | client`: the tail of seq's output appears where `hi` was expected.
#[test]
fn seq_tail_appears_where_hi_was_expected() {
    let server = Server::start(&["--addr", "127.0.0.1:0"]);
    let addr = server.addr();
    let out = client(&addr, b"seq 1 400\necho hi\nexit\n");
    assert!(out.status.success(), "{out:?}");
    let stdout = out.stdout;
    let seq = seq_1_400();
    // Without the demo's synchronisation the exact cut depends on timing;
    // what is certain: the first answer is at most one 1,024-byte read, so
    // the second answer (whatever is past it) starts with seq's bytes, not
    // with `hi`, and `hi` can only come after all of seq's 1,492 bytes.
    assert!(stdout.len() > 1024, "second answer missing: {stdout:?}");
    let common = stdout.len().min(seq.len());
    assert_eq!(&stdout[..common], &seq[..common]);
    if stdout.len() > seq.len() {
        assert_eq!(&stdout[seq.len()..], b"hi\n");
    }
    assert!(!stdout.starts_with(b"hi"));
    // The server logged both commands and is still there for the next client.
    assert!(server.line().ends_with("connected"));
    assert_eq!(
        server.line().split_once(" ran ").unwrap().1,
        "\"seq 1 400\": 1492 bytes sent"
    );
    let again = client(&addr, b"echo again\n");
    assert_eq!(again.stdout, b"again\n");
}

/// The server refuses a non-loopback address without --allow-remote, and says how to allow it.
#[test]
fn remote_bind_needs_allow_remote() {
    let out = Command::new(BIN)
        .args(["server", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0:0"), "{err}");
    assert!(err.contains("--allow-remote"), "{err}");

    let server = Server::start(&["--addr", "0.0.0.0:0", "--allow-remote"]);
    assert!(server.line().starts_with("listening on 0.0.0.0:"));
    assert!(server.line().starts_with("WARNING"));
}

/// With no server running, the client says so and exits non-zero.
#[test]
fn client_without_server_fails_clearly() {
    // A port that was just free: bound, read back, closed.
    let addr = common::bind_loopback_tcp()
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let out = client(&addr, b"echo hi\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Is the server running?"), "{err}");
    assert!(out.stdout.is_empty());
}
