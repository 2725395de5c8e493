//! The binary: demo, server and client, with piped standard input.

use common::process::{in_english, run_with_input, ServerProcess};
use std::net::SocketAddr;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_length-header-fix");

/// A server binary on 127.0.0.1:0 answering with the built-in command set
/// (the same bytes on every OS), killed when dropped.
fn start_server(extra: &[&str]) -> ServerProcess {
    let args = ["server", "--addr", "127.0.0.1:0", "--builtin"]
        .iter()
        .chain(extra);
    ServerProcess::start(BIN, args).unwrap()
}

/// Runs the client with `input` piped in; every command in these tests ends
/// well within `common::process::PATIENCE`.
fn run_client(addr: SocketAddr, input: &str) -> Output {
    run_with_input(
        BIN,
        ["client", "--addr", &addr.to_string()],
        input.as_bytes(),
    )
    .unwrap()
}

/// Piped commands, an empty line and `true` included, are each answered whole; `exit` ends the client.
#[test]
fn client_and_server_binaries_talk() {
    let server = start_server(&[]);
    let out = run_client(
        server.addr(),
        "seq 1 400\necho hi\ntrue\n\necho bye\nexit\necho never\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seq: String = (1..=400).map(|i| format!("{i}\n")).collect();
    let want = format!(
        "── reply to `seq 1 400`: 1492 B ──\n{seq}\
         ── reply to `echo hi`: 3 B ──\nhi\n\
         ── reply to `true`: 0 B ──\n(empty reply)\n\
         ── reply to the empty line: 0 B ──\n(empty reply)\n\
         ── reply to `echo bye`: 4 B ──\nbye\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
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
    let server = start_server(&["--timeout-ms", "200"]);
    let out = run_client(server.addr(), "sleep 60\n");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("killed after the 200 ms timeout"), "{text}");
}

/// A client whose --max-frame is smaller than the reply refuses it and exits non-zero.
#[test]
fn client_max_frame_refuses_long_reply() {
    let server = start_server(&[]);
    let addr = server.addr().to_string();
    let out = run_with_input(
        BIN,
        ["client", "--addr", &addr, "--max-frame", "100"],
        b"seq 1 400\n",
    )
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("over the maximum frame size of 100"), "{err}");
}

/// The demo binary exits 0 and prints the library's transcript.
#[test]
fn demo_binary_prints_the_transcript() {
    let out = in_english(&mut Command::new(BIN)).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Stage 4, length-header-fix"), "{text}");
    assert!(text.contains("Verdict: intact"), "{text}");
}

/// A server speaking stage 4's framing that answers every request with the
/// frame `body`, so the client's decoding is tested with bytes the test
/// chooses, the same on every OS.
fn frame_server(body: &'static [u8]) -> SocketAddr {
    use length_header_fix::{read_frame, write_frame, DEFAULT_MAX_FRAME, MAX_REQUEST};
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        while let Ok(Some(_)) = read_frame(&mut stream, MAX_REQUEST) {
            write_frame(&mut stream, body, DEFAULT_MAX_FRAME).unwrap();
            stream.flush().unwrap();
        }
    });
    addr
}

/// With `--encoding gbk`, the reply bytes `b2 bb ca c7` (a Chinese Windows shell's 不是) print as 不是.
#[test]
fn gbk_reply_prints_bu_shi() {
    let addr = frame_server(&[0xb2, 0xbb, 0xca, 0xc7]);
    let out = run_with_input(
        BIN,
        ["client", "--addr", &addr.to_string(), "--encoding", "gbk"],
        b"dir\n",
    )
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "── reply to `dir`: 4 B ──\n不是\n"
    );
}

/// Without `--encoding gbk` the same bytes are not UTF-8: shown as �, with a note, and the client carries on.
#[test]
fn non_utf8_reply_is_shown_with_a_note() {
    let addr = frame_server(&[0xb2, 0xbb, 0xca, 0xc7]);
    let out = run_client(addr, "dir\ndir\n");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let one =
        "── reply to `dir`: 4 B ──\n\u{fffd}\u{fffd}\u{fffd}\u{fffd}\n(4 bytes of this reply \
               are not UTF-8 and are shown as \u{fffd}; a Chinese Windows shell answers in GBK: \
               try --encoding gbk)\n";
    assert_eq!(stdout, one.repeat(2));
}

/// `--builtin` reaches the server: it says so when it starts, and `help` is answered with the built-in list, the same on every OS.
#[test]
fn builtin_flag_reaches_the_server() {
    let server = start_server(&[]);
    let log = server.wait_log("built-in set").unwrap();
    assert!(
        log.contains("running commands with the built-in set"),
        "{log}"
    );
    let out = run_client(server.addr(), "help\n");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("built-in commands: echo, seq, true, false, yes, sleep, help"),
        "{text}"
    );
}
