//! What the test files share: stage 4's own server, answering with the
//! built-in set (its default runs the system shell, whose bytes differ from
//! OS to OS).

use common::{spawn_loopback, Interpreter, ShellLimits};
use length_header_fix::{serve_connection, FrameError, ServerConfig, MAX_REQUEST};
use std::net::{SocketAddr, TcpStream};
use std::thread;

/// Stage 4's server for one connection, under `limits`, with the built-in
/// set. Returns how many commands it answered.
pub fn stage4_connection(stream: &mut TcpStream, limits: ShellLimits) -> Result<usize, FrameError> {
    let config = ServerConfig {
        limits,
        interpreter: Interpreter::Builtin,
        max_frame: MAX_REQUEST,
        ..ServerConfig::default()
    };
    serve_connection(stream, &config)
}

/// That server on 127.0.0.1:0, a thread per connection; it ends with the test process.
#[allow(dead_code)]
pub fn start_stage4_server(limits: ShellLimits) -> SocketAddr {
    spawn_loopback(move |listener| {
        for stream in listener.incoming() {
            let mut stream = stream?;
            thread::spawn(move || stage4_connection(&mut stream, limits));
        }
        Ok(())
    })
    .unwrap()
    .addr()
}
