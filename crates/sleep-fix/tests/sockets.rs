//! The lesson on real sockets (127.0.0.1:0): the pause keeps the digits
//! apart, no pause glues them, split digits break the client, and the server
//! outlives bad clients.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use common::sync::{wait_for_bytes, DEFAULT_SYNC_TIMEOUT};
use common::testing::{ReadCounter, PATIENCE};
use common::{spawn_loopback, Interpreter};
use sleep_fix::{
    recv_reply, send_command, serve, serve_connection, LuckyTiming, ReplyError, ServerConfig,
    DEFAULT_PAUSE,
};

/// A pause the bet on timing wins where the real accept loop is under test
/// and nothing can wait for the client: three times the stage's own, longer
/// than any stall `.ci/stress` has caused between a write and the read.
const WIDE_PAUSE: Duration = Duration::from_millis(300);

fn seq_output(n: usize) -> Vec<u8> {
    (1..=n)
        .map(|i| format!("{i}\n"))
        .collect::<String>()
        .into_bytes()
}

fn start_server(pause: Duration) -> std::net::SocketAddr {
    let config = ServerConfig {
        pause,
        interpreter: Interpreter::Builtin,
        ..ServerConfig::default()
    };
    // The server thread runs until the test process ends.
    spawn_loopback(move |listener| serve(listener, config))
        .unwrap()
        .addr()
}

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// A server for one connection whose bet on timing always wins: it sleeps
/// the pause after the digits, and its stream ([`LuckyTiming`]) also holds
/// the output until the client has read them, as a quiet loopback's client
/// always has (a loaded machine can keep the client from reading for longer
/// than any pause). The client reads through the returned counter.
fn start_lucky_server(pause: Duration) -> (std::net::SocketAddr, ReadCounter) {
    let client_reads = ReadCounter::new();
    let reads = client_reads.clone();
    let config = ServerConfig {
        pause,
        interpreter: Interpreter::Builtin,
        ..ServerConfig::default()
    };
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        serve_connection(LuckyTiming::new(stream, reads, PATIENCE), &config)
    })
    .unwrap();
    (server.addr(), client_reads)
}

/// With a pause that wins its bet, the client reads the digits alone and every reply arrives whole.
#[test]
fn replies_arrive_whole_with_a_pause() {
    let (addr, reads) = start_lucky_server(DEFAULT_PAUSE);
    let stream = connect(addr);
    let mut client = reads.wrap(&stream);
    send_command(&stream, "seq 1 400").unwrap();
    assert_eq!(recv_reply(&mut client).unwrap(), seq_output(400));
    send_command(&stream, "echo hi").unwrap();
    assert_eq!(recv_reply(&mut client).unwrap(), b"hi\n");
    send_command(&stream, "true").unwrap();
    assert_eq!(recv_reply(&mut client).unwrap(), b"");
    send_command(&stream, "echo bye").unwrap();
    assert_eq!(recv_reply(&mut client).unwrap(), b"bye\n");
}

/// The pause is paid on every reply, even an empty one: three replies take at least three pauses.
#[test]
fn every_reply_pays_the_pause() {
    // Short, to keep the suite quick: the server makes sure the client reads
    // the digits in time, so any pause works here.
    let pause = Duration::from_millis(60);
    let (addr, reads) = start_lucky_server(pause);
    let stream = connect(addr);
    let mut client = reads.wrap(&stream);
    let start = Instant::now();
    for cmd in ["true", "true", "echo x"] {
        send_command(&stream, cmd).unwrap();
        recv_reply(&mut client).unwrap();
    }
    assert!(start.elapsed() >= pause * 3, "{:?}", start.elapsed());
}

/// Without the pause, a client that reads after the whole reply arrived gets digits and output glued: no length.
#[test]
fn without_the_pause_the_length_does_not_parse() {
    let addr = start_server(Duration::ZERO);
    let stream = connect(addr);
    send_command(&stream, "seq 1 400").unwrap();
    // "1492" plus 1,492 bytes of output: wait until all of it is here, so
    // the one read for the length sees what a slow client would see.
    wait_for_bytes(&stream, 4 + 1492, DEFAULT_SYNC_TIMEOUT).unwrap();
    match recv_reply(&stream) {
        Err(ReplyError::BadLength { received }) => {
            assert_eq!(received.len(), 1024);
            assert!(received.starts_with(b"14921\n2\n3\n"), "{received:?}");
        }
        other => panic!("expected a bad length, got {other:?}"),
    }
}

/// Reads through this, and tells the test after every read.
struct Signalling<'a> {
    stream: &'a TcpStream,
    after_read: Sender<()>,
}

impl Read for Signalling<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&*self.stream).read(buf)?;
        let _ = self.after_read.send(());
        Ok(n)
    }
}

/// Digits delivered in two pieces ("14", then "92...") break the client even with perfect timing: the split weakness.
#[test]
fn split_digits_break_the_client() {
    let (read_done, client_read) = mpsc::channel();
    let server = spawn_loopback(move |listener| {
        let (mut conn, _) = listener.accept()?;
        let mut cmd = [0u8; 1024];
        let n = conn.read(&mut cmd)?;
        assert_eq!(&cmd[..n], b"seq 1 400");
        // A network that splits the digits: "14" arrives, the client reads
        // it, and only then "92" and the output follow.
        conn.write_all(b"14")?;
        client_read
            .recv_timeout(DEFAULT_SYNC_TIMEOUT)
            .map_err(|_| io::Error::other("the client never read"))?;
        let mut rest = b"92".to_vec();
        rest.extend_from_slice(&seq_output(400));
        conn.write_all(&rest)?;
        // Wait for the client to hang up.
        let mut sink = Vec::new();
        let _ = conn.read_to_end(&mut sink);
        Ok(())
    })
    .unwrap();
    let stream = connect(server.addr());
    send_command(&stream, "seq 1 400").unwrap();
    wait_for_bytes(&stream, 2, DEFAULT_SYNC_TIMEOUT).unwrap();
    let reader = Signalling {
        stream: &stream,
        after_read: read_done,
    };
    // The client believes the reply is 14 bytes long: "92" and the start of the output.
    let first = recv_reply(reader).unwrap();
    assert_eq!(first, b"921\n2\n3\n4\n5\n6\n");
    assert_ne!(first, seq_output(400));
    // The rest of the output is now where the next length should be.
    wait_for_bytes(&stream, 1024, DEFAULT_SYNC_TIMEOUT).unwrap();
    let err = recv_reply(&stream).unwrap_err();
    match &err {
        ReplyError::BadLength { received } => assert!(received.starts_with(b"7\n8\n"), "{err}"),
        other => panic!("expected a bad length, got {other:?}"),
    }
    drop(stream);
    server.join().unwrap();
}

/// Clients that hang up mid-command or mid-reply end only their own connection; the next client is served.
#[test]
fn server_keeps_serving_after_bad_clients() {
    let addr = start_server(WIDE_PAUSE);
    // Hangs up while its big reply is being produced and sent.
    let big = connect(addr);
    send_command(&big, "seq 1 200000").unwrap();
    drop(big);
    // Connects and leaves without a word.
    drop(connect(addr));
    // Sends half a command and leaves.
    let mut half = connect(addr);
    half.write_all(b"echo ha").unwrap();
    drop(half);

    let stream = connect(addr);
    send_command(&stream, "echo still here").unwrap();
    assert_eq!(recv_reply(&stream).unwrap(), b"still here\n");
    send_command(&stream, "seq 1 400").unwrap();
    assert_eq!(recv_reply(&stream).unwrap(), seq_output(400));
}

/// A server that closes in the middle of a reply is reported with how many bytes arrived.
#[test]
fn early_close_is_reported() {
    let server = spawn_loopback(|listener| {
        let (mut conn, _) = listener.accept()?;
        let mut cmd = [0u8; 1024];
        let _ = conn.read(&mut cmd)?;
        conn.write_all(b"10")?;
        Ok(())
    })
    .unwrap();
    let stream = connect(server.addr());
    send_command(&stream, "echo hi").unwrap();
    server.join().unwrap();
    wait_for_bytes(&stream, 2, DEFAULT_SYNC_TIMEOUT).unwrap();
    let err = recv_reply(&stream).unwrap_err();
    assert!(
        matches!(
            err,
            ReplyError::Closed {
                got: 0,
                expected: 10
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("0 of 10 bytes"), "{err}");
}
