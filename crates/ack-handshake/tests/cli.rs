//! The `ack-handshake` binary: the server on 127.0.0.1:0 and the client with
//! piped standard input, as a student runs them in two terminals.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ack-handshake");
const TIMEOUT: Duration = Duration::from_secs(10);

/// A server process; killed when dropped, so a failing test leaves none behind.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Receiver<String>,
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["server", "--addr", "127.0.0.1:0", "--dir"])
            .arg(dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                if tx.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        let first = log.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the server printed no `listening on` line")
        });
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("first stderr line is not `listening on ADDR`: {first:?}"));
        Server { child, addr, log }
    }

    /// Waits (bounded) for a log line containing `text`; returns it.
    fn expect_log(&self, text: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!("no server log line contains {text:?}; saw {seen:#?}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the client with `input` on standard input in `cwd`, bounded by TIMEOUT.
fn run_client(addr: &str, cwd: &Path, input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(["client", "--addr", addr])
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A closed pipe means the client already quit (cannot connect): fine.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let deadline = Instant::now() + TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the client did not finish in {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `printf 'put a.bin\nput b.bin\nexit\n' | ack-handshake client` uploads both files byte-identical, one stdout line each.
#[test]
fn piped_client_uploads_files() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let a: Vec<u8> = (0..3000u32).map(|i| (i % 256) as u8).collect();
    fs::write(local.path().join("a.bin"), &a).unwrap();
    fs::write(local.path().join("b.bin"), b"").unwrap();
    let upload_dir = remote.path().join("put");
    let server = Server::start(&upload_dir, &[]);
    let out = run_client(
        &server.addr.to_string(),
        local.path(),
        "put a.bin\nput b.bin\nexit\n",
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "uploaded a.bin (3000 bytes)\nuploaded b.bin (0 bytes)\n"
    );
    server.expect_log("received a.bin (3000 bytes)");
    server.expect_log("received b.bin (0 bytes)");
    server.expect_log("closed the connection after 2 file(s)");
    assert_eq!(fs::read(upload_dir.join("a.bin")).unwrap(), a);
    assert_eq!(fs::read(upload_dir.join("b.bin")).unwrap(), b"");
}

/// A missing file and an unknown line get clear messages, the client goes on, and the exit status is non-zero.
#[test]
fn client_reports_bad_lines_and_continues() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    fs::write(local.path().join("ok.txt"), b"fine").unwrap();
    let server = Server::start(remote.path(), &[]);
    let out = run_client(
        &server.addr.to_string(),
        local.path(),
        "put missing.txt\nget ok.txt\n\nput ok.txt\n",
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "a failed line must fail the client");
    assert!(stderr.contains("cannot open missing.txt"), "{stderr}");
    assert!(stderr.contains("unknown command `get ok.txt`"), "{stderr}");
    assert!(stderr.contains("`put PATH`"), "{stderr}");
    assert_eq!(text(&out.stdout), "uploaded ok.txt (4 bytes)\n");
    server.expect_log("received ok.txt (4 bytes)");
}

/// A file over --max-file-size is refused with a log line; the client says so, reconnects for the next file, and fails at the end.
#[test]
fn refused_upload_then_reconnect() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    fs::write(local.path().join("big.bin"), vec![7u8; 2048]).unwrap();
    fs::write(local.path().join("small.bin"), b"tiny").unwrap();
    let server = Server::start(remote.path(), &["--max-file-size", "1K"]);
    let out = run_client(
        &server.addr.to_string(),
        local.path(),
        "put big.bin\nput small.bin\n",
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("instead of answering 200"), "{stderr}");
    assert!(stderr.contains("reconnecting"), "{stderr}");
    assert_eq!(text(&out.stdout), "uploaded small.bin (4 bytes)\n");
    server.expect_log("refused big.bin: 2048 bytes is over this server's limit of 1024 bytes");
    // The client is done once its bytes are written; the server saves the
    // file a moment later (200 answers the info, never the file).
    server.expect_log("received small.bin");
    assert!(!remote.path().join("big.bin").exists());
    assert_eq!(fs::read(remote.path().join("small.bin")).unwrap(), b"tiny");
}

/// A hostile name gets a clear server log line, nothing is written, and the server serves the next client.
#[test]
fn server_logs_a_hostile_name_and_goes_on() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let upload_dir = remote.path().join("put");
    let server = Server::start(&upload_dir, &[]);
    let mut hostile = TcpStream::connect(server.addr).unwrap();
    hostile
        .write_all(br#"{"action":"put","filename":"../evil.sh","filesize":4}"#)
        .unwrap();
    let line = server.expect_log("refused file name");
    assert!(line.contains("connection closed"), "{line}");
    drop(hostile);
    assert!(!remote.path().join("evil.sh").exists());

    fs::write(local.path().join("after.txt"), b"still here").unwrap();
    let out = run_client(&server.addr.to_string(), local.path(), "put after.txt\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    server.expect_log("received after.txt");
    assert_eq!(fs::read_dir(&upload_dir).unwrap().count(), 1);
}

/// A client with no server to talk to says how to start one and exits non-zero.
#[test]
fn client_without_server_fails_clearly() {
    // Bind and drop to find a port where nothing listens.
    let addr = common::bind_loopback_tcp().unwrap().local_addr().unwrap();
    let local = tempfile::tempdir().unwrap();
    let out = run_client(&addr.to_string(), local.path(), "exit\n");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is the server running?"), "{stderr}");
}

/// With no subcommand the binary prints the demo and exits 0.
#[test]
fn demo_is_the_default() {
    let out = Command::new(BIN).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), ack_handshake::demo_transcript().unwrap());
}

/// --help says what the stage shows.
#[test]
fn help_says_what_the_stage_shows() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = text(&out.stdout);
    assert!(help.contains("waits for the server's 200"), "{help}");
    assert!(help.contains("ONE read"), "{help}");
}
