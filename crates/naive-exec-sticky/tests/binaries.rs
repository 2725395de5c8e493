//! The two-terminal version: the real server and client binaries.
#![cfg(unix)]

use common::process::{run_with_input, ServerProcess};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_naive-exec-sticky");

/// The server's next standard-error line after those already read: an
/// empty needle matches any line, so the tests can check the log's order.
fn next_line(server: &ServerProcess) -> String {
    server.wait_log("").unwrap()
}

/// Runs the client with `stdin` piped in; a client that fails to connect
/// exits without reading it, and its exit status tells the story.
fn client(addr: SocketAddr, stdin: &[u8]) -> Output {
    run_with_input(BIN, ["client", "--addr", &addr.to_string()], stdin).unwrap()
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
    let server = ServerProcess::start(BIN, ["server", "--addr", "127.0.0.1:0"]).unwrap();
    let addr = server.addr();
    let out = client(addr, b"seq 1 400\necho hi\nexit\n");
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
    assert!(next_line(&server).ends_with("connected"));
    assert_eq!(
        next_line(&server).split_once(" ran ").unwrap().1,
        "\"seq 1 400\": 1492 bytes sent"
    );
    let again = client(addr, b"echo again\n");
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

    let server =
        ServerProcess::start(BIN, ["server", "--addr", "0.0.0.0:0", "--allow-remote"]).unwrap();
    // ServerProcess::start has read the `listening on ADDR` line.
    assert_eq!(server.addr().ip(), Ipv4Addr::UNSPECIFIED);
    assert!(next_line(&server).starts_with("WARNING"));
}

/// With no server running, the client says so and exits non-zero.
#[test]
fn client_without_server_fails_clearly() {
    // Held for the whole test: no other program can start listening there.
    let port = common::testing::ClosedPort::tcp().unwrap();
    let out = client(port.addr(), b"echo hi\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Is the server running?"), "{err}");
    assert!(out.stdout.is_empty());
}

/// `--read-size 0` is refused with a line that says what to give instead.
#[test]
fn read_size_zero_is_refused() {
    let out = Command::new(BIN)
        .args(["--read-size", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("between 1 and"), "{err}");
}
