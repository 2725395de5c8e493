//! The two-terminal version: the real server and client binaries, the
//! server started with `--builtin` so that they run the same on every OS.

use common::process::{run_with_input, ServerProcess};
use common::Interpreter;
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

/// `printf 'seq 1 400\necho hi\nexit\n' | client`: the read marks show seq's tail taken as the reply to `echo hi`.
///
/// The README and the stage's chapter quote this snapshot. It runs the real
/// server started with `--builtin` (`seq` is not a Windows command; the
/// built-in one prints what coreutils' prints). The cut is the same on every
/// run: the server writes seq's 1,492 bytes in one write, which loopback
/// delivers at once, so the first read returns the first 1,024 of them, and
/// the other 468 are waiting when the client reads again right after sending
/// `echo hi`. Whether `hi` is there too is a race between two processes: the
/// built-in set answers in microseconds, and a client that loses the CPU
/// between its send and its read (a loaded machine, Wine) finds `hi` glued
/// after the tail, 471 bytes in read 2. Both outcomes show the glue; the
/// snapshot pins the usual one, and the other is checked here exactly and
/// then written as the usual one, so that nothing else can pass unseen.
#[test]
fn seq_tail_appears_where_hi_was_expected() {
    let server =
        ServerProcess::start(BIN, ["server", "--addr", "127.0.0.1:0", "--builtin"]).unwrap();
    let addr = server.addr();
    // The start-up line after `listening on` says who answers.
    assert_eq!(next_line(&server), Interpreter::Builtin.describe());
    let out = client(addr, b"seq 1 400\necho hi\nexit\n");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!("headline_piped", hi_glued_as_usual(&stdout));
    // The server logged both commands and is still there for the next client.
    assert!(next_line(&server).ends_with("connected"));
    assert_eq!(
        next_line(&server).split_once(" ran ").unwrap().1,
        "\"seq 1 400\": 1492 bytes sent"
    );
    let again = client(addr, b"echo again\n");
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "── read 1: 6 B, waiting for the reply to `echo again` ──\nagain\n── connection closed \
         after 1 read(s); whatever the server sent after the last one is never read ──\n"
    );
}

/// The headline run's output with `hi` glued after seq's tail in read 2
/// (the server answered before the client's second read), written as the
/// usual output, where `hi` arrives after the last read; any other output is
/// returned unchanged, for the snapshot to show.
fn hi_glued_as_usual(stdout: &str) -> String {
    let glued = "── read 2: 471 B, waiting for the reply to `echo hi` ──\n";
    let tail = "400\nhi\n── connection closed after 2 read(s)";
    if stdout.matches(glued).count() == 1 && stdout.matches(tail).count() == 1 {
        stdout
            .replace(glued, &glued.replace("471 B", "468 B"))
            .replace(tail, &tail.replace("hi\n", ""))
    } else {
        stdout.to_string()
    }
}

/// `--encoding gbk` is offered, and an unknown encoding is refused with the ones there are.
#[test]
fn encoding_flag() {
    let out = Command::new(BIN)
        .args(["client", "--encoding", "latin-9"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("utf-8") && err.contains("gbk"), "{err}");
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
