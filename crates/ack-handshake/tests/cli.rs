//! The `ack-handshake` binary: the server on 127.0.0.1:0 and the client with
//! piped standard input, as a student runs them in two terminals.

use common::process::{in_english, run_with_input_in, ServerProcess};
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ack-handshake");

/// A server process saving into `dir`; killed when dropped, so a failing test leaves none behind.
fn start_server(dir: &Path, extra: &[&str]) -> ServerProcess {
    let args = ["server", "--addr", "127.0.0.1:0", "--dir"]
        .iter()
        .map(OsStr::new)
        .chain([dir.as_os_str()])
        .chain(extra.iter().map(OsStr::new));
    ServerProcess::start(BIN, args).unwrap()
}

/// Runs the client with `input` on standard input in `cwd`, bounded by `PATIENCE`.
fn run_client(addr: SocketAddr, cwd: &Path, input: &str) -> Output {
    let addr = addr.to_string();
    run_with_input_in(BIN, ["client", "--addr", &addr], input.as_bytes(), cwd).unwrap()
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
    let server = start_server(&upload_dir, &[]);
    let out = run_client(server.addr(), local.path(), "put a.bin\nput b.bin\nexit\n");
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "sent 3000 bytes of a.bin; this stage cannot confirm they were saved\nsent 0 bytes of b.bin; this stage cannot confirm they were saved\n"
    );
    server.wait_log("received a.bin (3000 bytes)").unwrap();
    server.wait_log("received b.bin (0 bytes)").unwrap();
    server
        .wait_log("closed the connection after 2 file(s)")
        .unwrap();
    assert_eq!(fs::read(upload_dir.join("a.bin")).unwrap(), a);
    assert_eq!(fs::read(upload_dir.join("b.bin")).unwrap(), b"");
}

/// A missing file and an unknown line get clear messages, the client goes on, and the exit status is non-zero.
#[test]
fn client_reports_bad_lines_and_continues() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    fs::write(local.path().join("ok.txt"), b"fine").unwrap();
    let server = start_server(remote.path(), &[]);
    let out = run_client(
        server.addr(),
        local.path(),
        "put missing.txt\nget ok.txt\n\nput ok.txt\n",
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "a failed line must fail the client");
    assert!(stderr.contains("cannot open missing.txt"), "{stderr}");
    assert!(stderr.contains("unknown command `get ok.txt`"), "{stderr}");
    assert!(stderr.contains("`put PATH`"), "{stderr}");
    assert_eq!(
        text(&out.stdout),
        "sent 4 bytes of ok.txt; this stage cannot confirm they were saved\n"
    );
    server.wait_log("received ok.txt (4 bytes)").unwrap();
}

/// A file over --max-file-size is refused with a log line; the client says so, reconnects for the next file, and fails at the end.
#[test]
fn refused_upload_then_reconnect() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    fs::write(local.path().join("big.bin"), vec![7u8; 2048]).unwrap();
    fs::write(local.path().join("small.bin"), b"tiny").unwrap();
    let server = start_server(remote.path(), &["--max-file-size", "1K"]);
    let out = run_client(server.addr(), local.path(), "put big.bin\nput small.bin\n");
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("instead of answering 200"), "{stderr}");
    assert!(stderr.contains("reconnecting"), "{stderr}");
    assert_eq!(
        text(&out.stdout),
        "sent 4 bytes of small.bin; this stage cannot confirm they were saved\n"
    );
    server
        .wait_log("refused big.bin: 2048 bytes is over this server's limit of 1024 bytes")
        .unwrap();
    // The client is done once its bytes are written; the server saves the
    // file a moment later (200 answers the info, never the file).
    server.wait_log("received small.bin").unwrap();
    assert!(!remote.path().join("big.bin").exists());
    assert_eq!(fs::read(remote.path().join("small.bin")).unwrap(), b"tiny");
}

/// A hostile name gets a clear server log line, nothing is written, and the server serves the next client.
#[test]
fn server_logs_a_hostile_name_and_goes_on() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let upload_dir = remote.path().join("put");
    let server = start_server(&upload_dir, &[]);
    let mut hostile = TcpStream::connect(server.addr()).unwrap();
    hostile
        .write_all(br#"{"action":"put","filename":"../evil.sh","filesize":4}"#)
        .unwrap();
    let line = server.wait_log("refused file name").unwrap();
    assert!(line.contains("connection closed"), "{line}");
    drop(hostile);
    assert!(!remote.path().join("evil.sh").exists());

    fs::write(local.path().join("after.txt"), b"still here").unwrap();
    let out = run_client(server.addr(), local.path(), "put after.txt\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    server.wait_log("received after.txt").unwrap();
    assert_eq!(fs::read_dir(&upload_dir).unwrap().count(), 1);
}

/// A client with no server to talk to says how to start one and exits non-zero.
#[test]
fn client_without_server_fails_clearly() {
    // Held for the whole test: no other program can start listening there.
    let port = common::testing::ClosedPort::tcp().unwrap();
    let local = tempfile::tempdir().unwrap();
    let out = run_client(port.addr(), local.path(), "exit\n");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is the server running?"), "{stderr}");
}

/// `--lang zh-CN` prints the demo told in Chinese, the library's own.
#[test]
fn demo_in_chinese() {
    let out = Command::new(BIN)
        .args(["--lang", "zh-CN"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        ack_handshake::demo_transcript_in(common::lang::Lang::Zh).unwrap()
    );
}

/// With no subcommand the binary prints the demo and exits 0.
#[test]
fn demo_is_the_default() {
    let out = in_english(&mut Command::new(BIN)).output().unwrap();
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
