//! The binary: server and client with piped standard input, against each
//! other and against stage 4's server and client.

use common::process::{run_with_input, ServerProcess};
use common::spawn_loopback;
use length_header_fix::DEFAULT_MAX_FRAME;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tokio-length");

fn start_server(extra: &[&str]) -> ServerProcess {
    let args = ["server", "--addr", "127.0.0.1:0"].iter().chain(extra);
    ServerProcess::start(BIN, args).unwrap()
}

fn run_client(addr: SocketAddr, input: &str) -> Output {
    run_with_input(
        BIN,
        ["client", "--addr", &addr.to_string()],
        input.as_bytes(),
    )
    .unwrap()
}

fn script_output() -> String {
    let seq: String = (1..=400).map(|i| format!("{i}\n")).collect();
    format!("{seq}hi\n(empty reply)\n(empty reply)\nbye\n")
}

const SCRIPT: &str = "seq 1 400\necho hi\ntrue\n\necho bye\nexit\necho never\n";

/// The async client and server binaries: piped commands, an empty line and `true` included, each answered whole; `exit` ends the client.
#[test]
fn client_and_server_binaries_talk() {
    let server = start_server(&[]);
    let out = run_client(server.addr(), SCRIPT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), script_output());
}

/// The async client binary against stage 4's std server prints exactly what it prints against the async server.
#[test]
fn client_binary_against_stage4_server() {
    let server = spawn_loopback(|listener| {
        let (mut stream, _) = listener.accept()?;
        length_header_fix::serve_connection(
            &mut stream,
            &length_header_fix::ServerConfig::default(),
        )
        .map_err(std::io::Error::from)
    })
    .unwrap();
    let out = run_client(server.addr(), SCRIPT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), script_output());
    assert_eq!(
        server.join().unwrap(),
        5,
        "five commands answered, `exit` ends it"
    );
}

/// The async server binary logs a hostile length with its value and keeps serving stage 4's client.
#[test]
fn server_binary_logs_hostile_length_and_serves_on() {
    let server = start_server(&[]);
    let mut hostile = TcpStream::connect(server.addr()).unwrap();
    hostile
        .set_read_timeout(Some(common::testing::PATIENCE))
        .unwrap();
    hostile.write_all(&(-7i32).to_le_bytes()).unwrap();
    let mut rest = Vec::new();
    let _ = hostile.read_to_end(&mut rest);
    assert!(rest.is_empty());
    let line = server.wait_log("cannot be negative").unwrap();
    assert!(
        line.contains("-7") && line.contains("still serving"),
        "{line}"
    );
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(common::testing::PATIENCE))
        .unwrap();
    length_header_fix::send_command(&mut stream, "echo after").unwrap();
    let reply = length_header_fix::recv_reply(&mut stream, DEFAULT_MAX_FRAME).unwrap();
    assert_eq!(reply, b"after\n");
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
