//! UDP over real loopback sockets: boundaries kept, big datagrams cut, clear client errors.

use common::process::{run_with_input, ServerProcess};
use common::testing::ClosedPort;
use std::net::UdpSocket;
use std::thread;
use std::time::Duration;

use udp_echo::{connect, exchange, receive, receive_reply, send, RECV_BUFFER};

/// How long a test waits for a datagram that should arrive at once on
/// loopback: a loaded machine can take a second to schedule the sender.
const TIMEOUT: Duration = common::testing::PATIENCE;

/// How long a test waits out a datagram that must not come (a fourth one, an
/// answer from nobody): no bet on timing, only time the test spends.
const SILENCE: Duration = Duration::from_millis(100);
const BIN: &str = env!("CARGO_BIN_EXE_udp-echo");

fn server_socket() -> UdpSocket {
    let socket = common::bind_loopback_udp().unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket
}

/// A loopback port where nothing listens, held until the value is dropped so
/// that no other program can bind it meanwhile.
fn closed_port() -> ClosedPort {
    ClosedPort::udp().unwrap()
}

/// `hello` is answered by `hi`, by the same server loop the binary runs.
#[test]
fn hello_is_answered_by_hi() {
    let socket = server_socket();
    let addr = socket.local_addr().unwrap();
    thread::spawn(move || udp_echo::serve(socket));
    let client = connect(addr, TIMEOUT).unwrap();
    assert_eq!(exchange(&client, b"hello").unwrap(), b"hi");
    // An empty datagram is a real message, answered like any other.
    assert_eq!(exchange(&client, b"").unwrap(), b"hi");
}

/// The two-terminal loop sends one datagram per line (CRLF from a PowerShell
/// pipe included), an empty line too, prints one answer each, and stops at `exit`.
#[test]
fn client_loop_sends_a_datagram_per_line_until_exit() {
    let server = server_socket();
    let addr = server.local_addr().unwrap();
    let echo = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let got = receive(&server).unwrap();
            udp_echo::answer(&server, &got).unwrap();
            seen.push(got.bytes);
        }
        seen
    });
    let client = connect(addr, TIMEOUT).unwrap();
    let mut input = common::cli::InputLines::from_reader(&b"hello\r\n\nbye\nexit\nnot sent\n"[..]);
    let mut out = Vec::new();
    udp_echo::run_client(&client, &mut input, &mut out).unwrap();
    assert_eq!(out, b"hi\nhi\nhi\n");
    assert_eq!(echo.join().unwrap(), [&b"hello"[..], b"", b"bye"]);
}

/// Datagrams sent back to back come out one per receive, never glued, and nothing more.
#[test]
fn back_to_back_datagrams_stay_apart() {
    let server = server_socket();
    let client = connect(server.local_addr().unwrap(), TIMEOUT).unwrap();
    for d in [&b"one"[..], b"two", b"three"] {
        send(&client, d).unwrap();
    }
    let got: Vec<Vec<u8>> = (0..3).map(|_| receive(&server).unwrap().bytes).collect();
    assert_eq!(got, [&b"one"[..], b"two", b"three"]);
    let from = receive_from_nobody(&server);
    assert!(from.is_err(), "a fourth datagram appeared: {from:?}");
}

fn receive_from_nobody(server: &UdpSocket) -> std::io::Result<udp_echo::Received> {
    server.set_read_timeout(Some(SILENCE)).unwrap();
    receive(server)
}

/// A 2,000-byte datagram read with a 1,024-byte buffer is cut; the rest is gone, not read next.
#[test]
fn oversized_datagram_is_cut_and_the_rest_lost() {
    let server = server_socket();
    let client = connect(server.local_addr().unwrap(), TIMEOUT).unwrap();
    let big: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
    send(&client, &big).unwrap();
    send(&client, b"after").unwrap();
    let first = receive(&server).unwrap();
    assert_eq!(first.bytes, &big[..RECV_BUFFER]);
    assert_eq!(first.cut_reported, cfg!(windows));
    assert_eq!(receive(&server).unwrap().bytes, b"after");
}

/// Asking a port where nothing listens ends in "no server at ADDR?", not a hang.
#[test]
fn no_server_is_reported() {
    let port = closed_port();
    let addr = port.addr();
    let client = connect(addr, SILENCE).unwrap();
    let err = exchange(&client, b"hello").unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("no server at {addr}?")), "{text}");
}

/// A server that never answers ends in a timeout that says how long the client waited.
#[test]
fn silence_times_out_with_a_reason() {
    let mute = server_socket();
    let client = connect(mute.local_addr().unwrap(), SILENCE).unwrap();
    send(&client, b"hello").unwrap();
    let err = receive_reply(&client).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(err.to_string().contains("within 100 ms"), "{err}");
}

/// The two-terminal version: server binary on an ephemeral port, client binary fed by a pipe.
#[test]
fn binaries_talk_and_the_server_logs_the_sender() {
    let server = ServerProcess::start(BIN, ["server", "--addr", "127.0.0.1:0"]).unwrap();
    let addr = server.addr().to_string();
    // The client waits TIMEOUT, not its default 2 s, for an answer that a
    // loaded machine may be slow to schedule.
    let patience = TIMEOUT.as_millis().to_string();
    let out = run_with_input(
        BIN,
        ["client", "--addr", &addr, "--read-timeout-ms", &patience],
        b"hello\nexit\nnot sent\n",
    )
    .unwrap();
    // The empty needle matches any line: the server's first line after
    // `listening on`.
    let log = server.wait_log("").unwrap();
    drop(server);

    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hi\n");
    assert!(log.starts_with("5 bytes from 127.0.0.1:"), "{log}");
    assert!(log.ends_with(": \"hello\""), "{log}");
}

/// The client binary exits non-zero and says why when no server listens.
#[test]
fn client_binary_fails_clearly_without_a_server() {
    let port = closed_port();
    let addr = port.addr().to_string();
    let silence = SILENCE.as_millis().to_string();
    // The client may exit before it reads all its input; that is fine here.
    let out = run_with_input(
        BIN,
        ["client", "--addr", &addr, "--read-timeout-ms", &silence],
        b"hello\n",
    )
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no server at"), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
}
