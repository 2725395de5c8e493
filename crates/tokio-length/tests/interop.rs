//! The async server and client against stage 4's std server and client,
//! over real sockets on 127.0.0.1, both directions, byte for byte.

mod support;

use common::demo::EXEC_SCRIPT;
use common::{run_command, spawn_loopback, Interpreter, Limits, ShellLimits};
use length_header_fix::{FrameError, DEFAULT_MAX_FRAME, MAX_REQUEST};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;
use tokio_length::{
    framed, recv_reply, send_command, serve, serve_with, AsyncAcceptor, ServerConfig,
};

use common::testing::PATIENCE;

/// Every command here finishes in milliseconds on an idle machine; on a
/// loaded one it gets [`PATIENCE`].
fn limits() -> ShellLimits {
    ShellLimits {
        timeout: PATIENCE,
        output_cap: 64 * 1024,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn expected(commands: &[&str]) -> Vec<Vec<u8>> {
    commands
        .iter()
        .map(|c| {
            run_command(c, Interpreter::Builtin, limits())
                .unwrap()
                .reply()
        })
        .collect()
}

/// Starts the async `serve` loop on 127.0.0.1:0 in `rt`; it runs until the runtime is dropped.
fn start_async_server(rt: &tokio::runtime::Runtime) -> SocketAddr {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(serve(listener, config()));
    addr
}

/// The server's configuration in every test: the built-in set answers.
fn config() -> ServerConfig {
    ServerConfig {
        limits: limits(),
        interpreter: Interpreter::Builtin,
        ..ServerConfig::default()
    }
}

/// Starts stage 4's std server loop on 127.0.0.1:0; its thread ends with the test process.
fn start_std_server() -> SocketAddr {
    support::start_stage4_server(limits())
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Every request frame of the script, written by stage 4's own send_command.
fn stage4_requests() -> Vec<u8> {
    let mut wire = Vec::new();
    for command in EXEC_SCRIPT {
        length_header_fix::send_command(&mut wire, command).unwrap();
    }
    wire
}

/// Sends the script's raw request bytes and returns every raw byte the server answers until it closes.
fn raw_replies(addr: SocketAddr) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(&stage4_requests()).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut wire = Vec::new();
    stream.read_to_end(&mut wire).unwrap();
    wire
}

/// The async client against stage 4's std server: every reply of the script whole, the empty one included.
#[test]
fn async_client_against_std_server() {
    let addr = start_std_server();
    let rt = runtime();
    let replies = rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut conn = framed(stream, DEFAULT_MAX_FRAME);
        let mut replies = Vec::new();
        for command in EXEC_SCRIPT {
            send_command(&mut conn, command).await.unwrap();
            replies.push(recv_reply(&mut conn).await.unwrap());
        }
        replies
    });
    assert_eq!(replies, expected(EXEC_SCRIPT));
}

/// Stage 4's std client against the async server: every reply of the script whole, the empty one included.
#[test]
fn std_client_against_async_server() {
    let rt = runtime();
    let addr = start_async_server(&rt);
    let mut stream = connect(addr);
    let mut replies = Vec::new();
    for command in EXEC_SCRIPT {
        length_header_fix::send_command(&mut stream, command).unwrap();
        replies.push(length_header_fix::recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap());
    }
    assert_eq!(replies, expected(EXEC_SCRIPT));
}

/// Server -> client, byte for byte: the async server's raw reply bytes are exactly stage 4's server's.
#[test]
fn servers_answer_the_same_bytes() {
    let rt = runtime();
    let async_wire = raw_replies(start_async_server(&rt));
    let std_wire = raw_replies(start_std_server());
    assert!(!std_wire.is_empty());
    assert_eq!(async_wire, std_wire);
    // And both are the script's replies, each behind its little-endian length.
    let mut want = Vec::new();
    for reply in expected(EXEC_SCRIPT) {
        length_header_fix::write_frame(&mut want, &reply, length_header_fix::DEFAULT_MAX_FRAME)
            .unwrap();
    }
    assert_eq!(async_wire, want);
}

/// Client -> server, byte for byte: what the async client sends is exactly what stage 4's client sends.
#[test]
fn clients_send_the_same_bytes() {
    let server = spawn_loopback(|listener| {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(PATIENCE))?;
        let mut wire = Vec::new();
        stream.read_to_end(&mut wire)?;
        Ok(wire)
    })
    .unwrap();
    let addr = server.addr();
    runtime().block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut conn = framed(stream, DEFAULT_MAX_FRAME);
        for command in EXEC_SCRIPT {
            send_command(&mut conn, command).await.unwrap();
        }
    });
    assert_eq!(server.join().unwrap(), stage4_requests());
}

/// Hostile lengths (negative, over the maximum) close only their own connection: a client connected before and one after are both served.
#[test]
fn hostile_lengths_are_refused_and_others_served() {
    let rt = runtime();
    let addr = start_async_server(&rt);
    let mut early = connect(addr);
    length_header_fix::send_command(&mut early, "echo early").unwrap();
    assert_eq!(
        length_header_fix::recv_reply(&mut early, DEFAULT_MAX_FRAME).unwrap(),
        b"early\n"
    );
    let over_max = i32::try_from(MAX_REQUEST + 1).unwrap();
    for header in [
        (-1i32).to_le_bytes(),
        over_max.to_le_bytes(),
        i32::MIN.to_le_bytes(),
    ] {
        let mut hostile = connect(addr);
        // Only the header: the server must refuse it without waiting for a body.
        hostile.write_all(&header).unwrap();
        let mut rest = Vec::new();
        let closed = hostile.read_to_end(&mut rest);
        assert!(
            matches!(closed, Ok(0)) || closed.is_err(),
            "the server must close a hostile connection: {closed:?}"
        );
        assert!(rest.is_empty(), "no reply to a hostile header");
    }
    length_header_fix::send_command(&mut early, "echo still here").unwrap();
    assert_eq!(
        length_header_fix::recv_reply(&mut early, DEFAULT_MAX_FRAME).unwrap(),
        b"still here\n"
    );
    let mut late = connect(addr);
    length_header_fix::send_command(&mut late, "echo late").unwrap();
    assert_eq!(
        length_header_fix::recv_reply(&mut late, DEFAULT_MAX_FRAME).unwrap(),
        b"late\n"
    );
}

/// serve_connection says why it dropped a hostile client, in stage 4's words, with the numbers.
#[test]
fn refusal_is_a_clear_error() {
    let rt = runtime();
    let cases = [
        ((-1i32).to_le_bytes(), "cannot be negative"),
        (
            i32::MAX.to_le_bytes(),
            "2147483647 bytes, over the maximum frame size of 131072",
        ),
    ];
    for (header, words) in cases {
        let outcome = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                tokio_length::serve_connection(stream, &config()).await
            });
            let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut client, &header)
                .await
                .unwrap();
            tokio::time::timeout(PATIENCE, server)
                .await
                .unwrap()
                .unwrap()
        });
        let err = outcome.unwrap_err();
        assert!(err.to_string().contains(words), "{err}");
    }
}

/// The async client refuses a hostile reply header from a server with a clear error, not an allocation.
#[test]
fn client_refuses_hostile_reply() {
    let server = spawn_loopback(|listener| {
        let (mut stream, _) = listener.accept()?;
        let mut request = [0u8; 4 + 7];
        stream.read_exact(&mut request)?;
        stream.write_all(&(-2i32).to_le_bytes())?;
        Ok(())
    })
    .unwrap();
    let addr = server.addr();
    let err = runtime().block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut conn = framed(stream, DEFAULT_MAX_FRAME);
        send_command(&mut conn, "echo hi").await.unwrap();
        recv_reply(&mut conn).await.unwrap_err()
    });
    assert!(matches!(err, FrameError::Negative(-2)), "{err}");
    server.join().unwrap();
}

/// Many connections on one worker thread: 32 clients connected at once, each answered on its own connection.
#[test]
fn many_connections_on_one_worker_thread() {
    let rt = runtime();
    let addr = start_async_server(&rt);
    let mut clients: Vec<TcpStream> = (0..32).map(|_| connect(addr)).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        length_header_fix::send_command(client, &format!("echo {i}")).unwrap();
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let reply = length_header_fix::recv_reply(client, DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(reply, format!("{i}\n").into_bytes());
    }
}

/// Starts the async server under `limits` in `rt`.
fn start_limited(rt: &tokio::runtime::Runtime, limits: Limits) -> SocketAddr {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(serve_with(listener, config(), AsyncAcceptor::new(limits)));
    addr
}

fn small_limits() -> Limits {
    Limits {
        max_connections: 1,
        max_per_address: 1,
        message_timeout: Duration::from_millis(300),
        min_rate: 10_000,
        idle_timeout: Duration::from_secs(60),
    }
}

/// True when the server closed the connection without a reply.
fn closed_without_reply(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    matches!(stream.read_to_end(&mut rest), Ok(0)) || rest.is_empty()
}

/// With room for one connection, a client that connects and says nothing is dropped to make room for the next, as in every server of the workspace.
#[test]
fn silent_client_makes_room() {
    let rt = runtime();
    let addr = start_limited(&rt, small_limits());
    let mut silent = connect(addr);
    // The first is registered before the second is accepted: one accept loop, in order.
    let mut next = connect(addr);
    length_header_fix::send_command(&mut next, "echo next").unwrap();
    assert_eq!(
        length_header_fix::recv_reply(&mut next, DEFAULT_MAX_FRAME).unwrap(),
        b"next\n"
    );
    assert!(
        closed_without_reply(&mut silent),
        "the silent client was kept"
    );
}

/// A client alone that starts no message is dropped at the idle timeout.
#[test]
fn silence_is_dropped_at_the_idle_timeout() {
    let rt = runtime();
    let limits = Limits {
        idle_timeout: Duration::from_millis(200),
        ..small_limits()
    };
    let addr = start_limited(&rt, limits);
    let mut silent = connect(addr);
    assert!(
        closed_without_reply(&mut silent),
        "the silent client was kept"
    );
}

/// A request dripped a byte every 50 ms never completes: the connection is dropped at the message deadline, however often a byte arrives.
#[test]
fn drip_is_dropped_at_the_message_deadline() {
    let rt = runtime();
    let addr = start_limited(&rt, small_limits());
    let mut drip = connect(addr);
    drip.write_all(&100i32.to_le_bytes()).unwrap();
    let mut sent = 0;
    while drip.write_all(b"x").is_ok() && sent < 100 {
        sent += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(sent < 100, "the drip was never cut off");
}
