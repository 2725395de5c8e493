//! The naive remote execution over real loopback sockets: the lesson, and a server that survives bad clients.
//!
//! The servers answer with the built-in command set, so these tests run the
//! same on every OS; the two that are about the real shell (its syntax, a
//! command still running when the client leaves) are Unix only.

use std::io::{self, Read, Write};
#[cfg(unix)]
use std::net::Shutdown;
use std::net::{SocketAddr, TcpStream};
#[cfg(unix)]
use std::sync::mpsc;
#[cfg(unix)]
use std::thread;
use std::time::{Duration, Instant};

use common::cli::InputLines;
use common::sync::{wait_for_bytes, DEFAULT_SYNC_TIMEOUT};
use common::{spawn_loopback, Interpreter, ShellLimits};
use naive_exec_sticky::{
    connect, recv_reply, run_client, send_command, serve, ServerConfig, READ_SIZE,
};

use common::testing::PATIENCE as PATIENT;

/// How long a command may run on a server whose tests also kill `sleep 60`:
/// long enough that an `echo` on the same server finishes within it even on
/// a loaded machine, short enough that waiting for the kill keeps the suite
/// quick.
const KILL_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a client waits out a reply that never comes (a command that
/// prints nothing, a mute server): nothing can arrive, so this is no bet on
/// timing, only the time the test spends waiting.
const SILENCE: Duration = Duration::from_millis(200);

/// How long a client waits for `echo hi` before it calls it silent, when the
/// same wait must also be sat out for `true`: a loaded machine can take over
/// 200 ms to schedule the server, and the test sits it out once.
const REPLY_OR_SILENCE: Duration = Duration::from_secs(1);

/// A server running `serve` with the built-in command set on its own thread;
/// the thread outlives the test, like a real server.
fn start(limits: ShellLimits) -> SocketAddr {
    start_with(limits, Interpreter::Builtin)
}

fn start_with(limits: ShellLimits, interpreter: Interpreter) -> SocketAddr {
    let config = ServerConfig {
        limits,
        interpreter,
        ..ServerConfig::default()
    };
    spawn_loopback(move |listener| serve(listener, config))
        .unwrap()
        .addr()
}

fn quick_limits() -> ShellLimits {
    ShellLimits {
        timeout: KILL_TIMEOUT,
        output_cap: 2000,
    }
}

fn ask(stream: &mut TcpStream, cmd: &str) -> Option<Vec<u8>> {
    send_command(stream, cmd).unwrap();
    recv_reply(stream).unwrap()
}

/// Reads replies until `end` shows up, however many reads that takes.
fn read_until_ends_with(stream: &mut TcpStream, end: &[u8]) -> Vec<u8> {
    let mut all = Vec::new();
    while !all.ends_with(end) {
        let chunk = recv_reply(stream).unwrap();
        all.extend(chunk.unwrap_or_else(|| panic!("timed out; got {all:?}")));
    }
    all
}

fn seq_1_400() -> Vec<u8> {
    (1..=400)
        .map(|i| format!("{i}\n"))
        .collect::<String>()
        .into_bytes()
}

/// A command's output comes back through the real shell, standard output first, then standard error.
#[cfg(unix)]
#[test]
fn output_comes_back() {
    let addr = start_with(ShellLimits::default(), Interpreter::System);
    let mut stream = connect(addr, PATIENT).unwrap();
    assert_eq!(ask(&mut stream, "echo hi").unwrap(), b"hi\n");
    assert_eq!(
        ask(&mut stream, "echo err 1>&2; echo out").unwrap(),
        b"out\nerr\n"
    );
}

/// A command with no output sends nothing: the read times out, and the connection still works.
#[test]
fn no_output_means_no_reply() {
    let addr = start(ShellLimits::default());
    let mut stream = connect(addr, SILENCE).unwrap();
    assert_eq!(ask(&mut stream, "true"), None);
    stream.set_read_timeout(Some(PATIENT)).unwrap();
    assert_eq!(ask(&mut stream, "echo next").unwrap(), b"next\n");
}

/// The lesson: one read cuts seq's 1,492 bytes at 1,024, and the rest is glued to the next answer.
#[test]
fn long_output_spills_into_the_next_answer() {
    let addr = start(ShellLimits::default());
    let mut stream = connect(addr, PATIENT).unwrap();
    let seq = seq_1_400();
    send_command(&mut stream, "seq 1 400").unwrap();
    wait_for_bytes(&stream, READ_SIZE, DEFAULT_SYNC_TIMEOUT).unwrap();
    assert_eq!(recv_reply(&mut stream).unwrap().unwrap(), &seq[..READ_SIZE]);

    send_command(&mut stream, "echo hi").unwrap();
    let rest = seq.len() - READ_SIZE;
    wait_for_bytes(&stream, rest + 3, DEFAULT_SYNC_TIMEOUT).unwrap();
    let answer = recv_reply(&mut stream).unwrap().unwrap();
    assert_eq!(rest, 468);
    assert_eq!(&answer[..rest], &seq[READ_SIZE..]);
    assert_eq!(&answer[rest..], b"hi\n");
}

/// Bytes that are not UTF-8 are answered with a clear line, not run, and the connection carries on.
#[test]
fn non_utf8_command_is_refused_politely() {
    let addr = start(ShellLimits::default());
    let mut stream = connect(addr, PATIENT).unwrap();
    stream.write_all(b"echo \xff\xfe").unwrap();
    let reply = String::from_utf8(recv_reply(&mut stream).unwrap().unwrap()).unwrap();
    assert!(reply.contains("not UTF-8"), "{reply}");
    assert!(reply.ends_with("]\n"), "{reply}");
    assert_eq!(ask(&mut stream, "echo ok").unwrap(), b"ok\n");
}

/// `sleep 60` is killed at the configured timeout, the reply says so, and the next command runs.
#[test]
fn sleep_is_killed_at_the_timeout() {
    let addr = start(quick_limits());
    let mut stream = connect(addr, PATIENT).unwrap();
    let start = Instant::now();
    let reply = String::from_utf8(ask(&mut stream, "sleep 60").unwrap()).unwrap();
    assert!(start.elapsed() < PATIENT);
    assert_eq!(reply, "[server: command killed after the 1 s timeout]\n");
    assert_eq!(ask(&mut stream, "echo after").unwrap(), b"after\n");
}

/// `yes` is cut at the output cap, the note ends the reply, and the next command runs.
#[test]
fn yes_is_cut_at_the_cap() {
    let addr = start(ShellLimits {
        timeout: Duration::from_secs(20),
        output_cap: 2000,
    });
    let mut stream = connect(addr, PATIENT).unwrap();
    send_command(&mut stream, "yes").unwrap();
    let note =
        b"[server: output cut at 2000 bytes; the rest was discarded and the command killed]\n";
    let reply = read_until_ends_with(&mut stream, note);
    assert_eq!(reply.len(), 2000 + note.len());
    assert!(reply[..2000].chunks(2).all(|c| c == b"y\n"));
    assert_eq!(ask(&mut stream, "echo after").unwrap(), b"after\n");
}

/// A client that leaves while its command runs ends that connection only: `handle_connection` returns.
#[cfg(unix)]
#[test]
fn disconnect_mid_command_ends_the_connection_cleanly() {
    let server = spawn_loopback(|listener| {
        let (stream, _) = listener.accept()?;
        naive_exec_sticky::handle_connection(stream, &ServerConfig::default())
    })
    .unwrap();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    // Enough output that writing it to a closed peer must fail.
    send_command(&mut stream, "sleep 0.2; seq 1 200000").unwrap();
    stream.shutdown(Shutdown::Both).unwrap();
    drop(stream);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(server.join()));
    let result = rx.recv_timeout(PATIENT).unwrap();
    // Writing a megabyte to a peer that is gone fails (the usual outcome);
    // if the kernel swallowed it all, the next read sees the close instead.
    if let Err(err) = result {
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{err:?}"
        );
    }
}

/// After a client that vanished mid-command and one that sent garbage, the server still serves a new client.
#[test]
fn server_keeps_serving_after_bad_clients() {
    let addr = start(quick_limits());
    let mut leaver = connect(addr, PATIENT).unwrap();
    send_command(&mut leaver, "seq 1 100000").unwrap();
    drop(leaver);
    let mut garbage = connect(addr, PATIENT).unwrap();
    garbage.write_all(&[0xff; 2000]).unwrap();
    drop(garbage);
    let mut killed = connect(addr, PATIENT).unwrap();
    send_command(&mut killed, "sleep 60").unwrap();
    drop(killed);

    let mut next = connect(addr, PATIENT).unwrap();
    assert_eq!(ask(&mut next, "echo still here").unwrap(), b"still here\n");
}

/// An empty command is refused before anything is written: an empty write would send no bytes.
#[test]
fn empty_command_sends_nothing() {
    let mut sent = Vec::new();
    let err = send_command(&mut sent, "").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(sent.is_empty());
    assert!(err.to_string().contains("sends no bytes"), "{err}");
}

/// One naive read returns at most 1,024 bytes; a closed connection is an error, not an empty reply.
#[test]
fn recv_reply_reads_once_and_reports_eof() {
    let long = vec![b'x'; 3000];
    let mut reader = &long[..];
    assert_eq!(recv_reply(&mut reader).unwrap().unwrap().len(), READ_SIZE);
    let mut closed = &b""[..];
    let err = recv_reply(&mut closed).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

/// Lines ending in CRLF, as PowerShell pipes them on Windows, are the same commands: the CR is never sent.
#[test]
fn client_takes_powershell_lines() {
    let addr = start(ShellLimits::default());
    let stream = connect(addr, PATIENT).unwrap();
    let mut input = InputLines::from_reader(&b"echo hi\r\nexit\r\necho never\r\n"[..]);
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    run_client(&mut input, stream, PATIENT, &mut out, &mut diag).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "{}\nhi\n{}\n",
            naive_exec_sticky::read_mark(1, Some(3), "echo hi"),
            naive_exec_sticky::close_mark(1),
        )
    );
    assert!(diag.is_empty());
}

/// The client loop: empty lines are not sent, every read is marked, a silent command gets the timeout line, `exit` ends.
#[test]
fn client_loop_over_a_real_server() {
    let addr = start(ShellLimits::default());
    let timeout = REPLY_OR_SILENCE;
    let stream = connect(addr, timeout).unwrap();
    let mut input = InputLines::from_reader(&b"\necho hi\ntrue\nexit\necho never\n"[..]);
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    run_client(&mut input, stream, timeout, &mut out, &mut diag).unwrap();
    let out = String::from_utf8(out).unwrap();
    let diag = String::from_utf8(diag).unwrap();
    assert_eq!(
        out,
        format!(
            "{}\nhi\n{}\n{}\n{}\n",
            naive_exec_sticky::read_mark(1, Some(3), "echo hi"),
            naive_exec_sticky::read_mark(2, None, "true"),
            naive_exec_sticky::no_reply_line(timeout),
            naive_exec_sticky::close_mark(2),
        )
    );
    assert!(
        out.starts_with("── read 1: 3 B, waiting for the reply to `echo hi` ──\n"),
        "{out}"
    );
    assert!(out.contains("no reply within 1000 ms"), "{out}");
    assert!(diag.starts_with("(nothing sent: "), "{diag}");
}

/// The demo's verdict is derived from the timeline: seq's tail shows up as `echo hi`'s answer.
#[test]
fn conversation_verdict_names_the_spill() {
    let text = naive_exec_sticky::conversation_transcript().unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "the answer shown for `echo hi` starts with the last 468 bytes of `seq 1 400`'s output"
        ),
        "{text}"
    );
    assert!(
        flat.contains("Verdict: broken: 1 sticky read, 1 split reply."),
        "{text}"
    );
}

/// Reading a reply that never comes is bounded by the read timeout, even with a stalled server.
#[test]
fn silent_server_does_not_hang_the_client() {
    let server = spawn_loopback(|listener| {
        let (mut conn, _) = listener.accept()?;
        let mut buf = [0u8; 64];
        // Read the command, never answer, wait for the client to leave.
        while conn.read(&mut buf)? > 0 {}
        Ok(())
    })
    .unwrap();
    let mut stream = connect(server.addr(), SILENCE).unwrap();
    let start = Instant::now();
    assert_eq!(ask(&mut stream, "echo hi"), None);
    assert!(start.elapsed() < PATIENT);
    drop(stream);
    server.join().unwrap();
}
