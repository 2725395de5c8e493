//! The stage-4 server and client over real sockets on 127.0.0.1.

use common::demo::EXEC_SCRIPT;
use common::{spawn_loopback, Interpreter, ShellLimits};
use length_header_fix::{
    recv_reply, send_command, serve, serve_connection, FrameError, Part, ServerConfig,
    DEFAULT_MAX_FRAME,
};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::testing::PATIENCE;

/// How long a command that should finish may run: generous, so that a
/// loaded machine never kills a command the test expects to finish.
const COMMAND_TIMEOUT: Duration = PATIENCE;

/// The timeout `sleep 60` meets: short, because the test waits for the kill,
/// and no bet on timing, because `sleep 60` never finishes within it.
const KILL_TIMEOUT: Duration = Duration::from_millis(300);

/// What the server does "at once" (refuse, kill) it does well within this,
/// even on a loaded machine; a server that waited for the client instead
/// would take the client's whole read timeout, [`PATIENCE`].
const AT_ONCE: Duration = Duration::from_secs(5);

/// The built-in command set: these tests are about the framing, and its
/// replies are the same bytes on every OS (`cmd` has no `seq` or `true`).
fn quick_config() -> ServerConfig {
    ServerConfig {
        limits: ShellLimits {
            timeout: COMMAND_TIMEOUT,
            output_cap: 64 * 1024,
        },
        interpreter: Interpreter::Builtin,
        ..ServerConfig::default()
    }
}

/// [`quick_config`] with a command timeout that `sleep 60` meets quickly.
fn killing_config() -> ServerConfig {
    let mut config = quick_config();
    config.limits.timeout = KILL_TIMEOUT;
    config
}

/// Starts the real `serve` loop on 127.0.0.1:0. Its thread never ends; the
/// test process ending takes it along.
fn start_server(config: ServerConfig) -> SocketAddr {
    spawn_loopback(move |listener| serve(listener, config))
        .unwrap()
        .addr()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

fn expected_seq() -> Vec<u8> {
    (1..=400)
        .map(|i| format!("{i}\n"))
        .collect::<String>()
        .into_bytes()
}

/// The shared script gets every answer whole, the empty one included, on one connection.
#[test]
fn conversation_answers_whole() {
    let addr = start_server(quick_config());
    let mut stream = connect(addr);
    let expected: [&[u8]; 4] = [&expected_seq(), b"hi\n", b"", b"bye\n"];
    assert_eq!(EXEC_SCRIPT.len(), expected.len());
    for (command, want) in EXEC_SCRIPT.iter().zip(expected) {
        send_command(&mut stream, command).unwrap();
        let reply = recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(reply, want, "reply to `{command}`");
    }
}

/// The library's demo conversation is judged intact and shows the long reply in reads of 4, 1024 and 468 bytes.
#[test]
fn demo_conversation_is_intact_and_reassembled() {
    let conv = length_header_fix::run_conversation().unwrap();
    assert!(conv.verdict.is_intact(), "{:?}", conv.verdict);
    let analysis = conv.timeline.analysis();
    let first: Vec<usize> = analysis.carried_by[0]
        .iter()
        .map(|r| analysis.reads[r - 1].len)
        .collect();
    assert_eq!(first, [4, 1024, 468]);
    assert_eq!(analysis.sticky_reads, 0);
    assert_eq!(analysis.unread, 0);
}

/// An empty command is an empty frame and is answered with an empty frame.
#[test]
fn empty_command_gets_empty_reply() {
    let addr = start_server(quick_config());
    let mut stream = connect(addr);
    send_command(&mut stream, "").unwrap();
    assert_eq!(recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap(), b"");
    send_command(&mut stream, "echo after").unwrap();
    assert_eq!(
        recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap(),
        b"after\n"
    );
}

/// Sends only a header and returns what the server sent back before closing.
fn send_header_only(addr: SocketAddr, header: [u8; 4]) -> io::Result<Vec<u8>> {
    let mut stream = connect(addr);
    stream.write_all(&header)?;
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest)?;
    Ok(rest)
}

/// A 2 GiB and a negative length are each refused at once (no body awaited), and the server goes on serving.
#[test]
fn hostile_lengths_are_refused_and_server_keeps_serving() {
    let addr = start_server(quick_config());
    let start = Instant::now();
    // The client keeps its side open: the server must close without waiting for a body.
    assert_eq!(send_header_only(addr, i32::MAX.to_le_bytes()).unwrap(), b"");
    assert_eq!(send_header_only(addr, (-1i32).to_le_bytes()).unwrap(), b"");
    assert!(start.elapsed() < AT_ONCE);
    let mut stream = connect(addr);
    send_command(&mut stream, "echo still serving").unwrap();
    assert_eq!(
        recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap(),
        b"still serving\n"
    );
}

/// The server's own outcome for hostile lengths names the length and the maximum.
#[test]
fn hostile_length_outcomes_name_length_and_maximum() {
    let config = ServerConfig {
        max_frame: 1000,
        ..quick_config()
    };
    let server = spawn_loopback(move |listener| {
        let mut outcomes = Vec::new();
        for _ in 0..2 {
            let (mut s, _) = listener.accept()?;
            outcomes.push(serve_connection(&mut s, &config));
        }
        Ok(outcomes)
    })
    .unwrap();
    send_header_only(server.addr(), 1001i32.to_le_bytes()).unwrap();
    send_header_only(server.addr(), (-5i32).to_le_bytes()).unwrap();
    let outcomes = server.join().unwrap();
    let too_large = outcomes[0].as_ref().unwrap_err();
    assert!(matches!(
        too_large,
        FrameError::TooLarge {
            len: 1001,
            max: 1000
        }
    ));
    let text = too_large.to_string();
    assert!(text.contains("1001") && text.contains("1000"), "{text}");
    assert!(matches!(outcomes[1], Err(FrameError::Negative(-5))));
}

/// A client that closes mid-header or mid-body is reported with how many of how many bytes arrived.
#[test]
fn peer_closing_mid_frame_is_reported_with_counts() {
    let config = quick_config();
    let server = spawn_loopback(move |listener| {
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let (mut s, _) = listener.accept()?;
            outcomes.push(serve_connection(&mut s, &config));
        }
        Ok(outcomes)
    })
    .unwrap();
    let close_after = |bytes: &[u8]| {
        let mut s = connect(server.addr());
        s.write_all(bytes).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    };
    close_after(&[10, 0]);
    let mut body = 10i32.to_le_bytes().to_vec();
    body.extend_from_slice(b"ech");
    close_after(&body);
    close_after(b"");
    let outcomes = server.join().unwrap();
    match &outcomes[0] {
        Err(
            e @ FrameError::Truncated {
                part: Part::Header,
                got: 2,
                expected: 4,
            },
        ) => {
            assert!(e.to_string().contains("2 of 4 header bytes"), "{e}")
        }
        other => panic!("expected a truncated header, got {other:?}"),
    }
    match &outcomes[1] {
        Err(
            e @ FrameError::Truncated {
                part: Part::Body,
                got: 3,
                expected: 10,
            },
        ) => {
            assert!(e.to_string().contains("3 of 10 body bytes"), "{e}")
        }
        other => panic!("expected a truncated body, got {other:?}"),
    }
    // Closing between frames (here: before the first) is a clean end.
    assert!(matches!(outcomes[2], Ok(0)), "{:?}", outcomes[2]);
}

/// The client reports a server that closes mid-reply with counts, and one that closes instead of replying.
#[test]
fn client_reports_truncated_and_missing_replies() {
    let server = spawn_loopback(|listener| {
        let (mut s, _) = listener.accept()?;
        let mut reply = 100i32.to_le_bytes().to_vec();
        reply.extend_from_slice(b"12345");
        s.write_all(&reply)?;
        drop(s);
        let (s, _) = listener.accept()?;
        drop(s);
        Ok(())
    })
    .unwrap();
    let mut s = connect(server.addr());
    let err = recv_reply(&mut s, DEFAULT_MAX_FRAME).unwrap_err();
    assert!(err.to_string().contains("5 of 100 body bytes"), "{err}");
    let mut s = connect(server.addr());
    let err = recv_reply(&mut s, DEFAULT_MAX_FRAME).unwrap_err();
    assert!(matches!(&err, FrameError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof));
    assert!(err.to_string().contains("instead of replying"), "{err}");
    server.join().unwrap();
}

/// `sleep 60` is killed after the short timeout, and the reply says so.
#[test]
fn sleep_is_killed_by_the_timeout() {
    let addr = start_server(killing_config());
    let mut stream = connect(addr);
    let start = Instant::now();
    send_command(&mut stream, "sleep 60").unwrap();
    let reply = recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap();
    assert!(start.elapsed() < AT_ONCE);
    let text = String::from_utf8(reply).unwrap();
    assert!(text.contains("killed after the 300 ms timeout"), "{text}");
}

/// A request over the server's maximum frame size is refused and the connection closed.
#[test]
fn request_over_max_frame_is_refused() {
    let addr = start_server(ServerConfig {
        max_frame: 16,
        ..quick_config()
    });
    let mut stream = connect(addr);
    send_command(
        &mut stream,
        "echo this command line is longer than sixteen bytes",
    )
    .unwrap();
    assert!(recv_reply(&mut stream, DEFAULT_MAX_FRAME).is_err());
}

/// The two-writes anti-pattern sends the very same frames: it costs time, not correctness.
#[test]
fn two_writes_server_sends_the_same_frames() {
    let addr = start_server(ServerConfig {
        two_writes: true,
        ..quick_config()
    });
    let mut stream = connect(addr);
    send_command(&mut stream, "echo hi").unwrap();
    assert_eq!(recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap(), b"hi\n");
    send_command(&mut stream, "true").unwrap();
    assert_eq!(recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap(), b"");
}
