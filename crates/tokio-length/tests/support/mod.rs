//! What the test files share: stage 4's server, answering with the built-in set.

use common::{run_command, spawn_loopback, Interpreter, ShellLimits};
use length_header_fix::{read_frame, write_frame, FrameError, DEFAULT_MAX_FRAME, MAX_REQUEST};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::thread;

/// Stage 4's server loop for one connection: its `read_frame` and
/// `write_frame` around each command, as its `serve_connection` has them,
/// with the built-in set answering (stage 4's own runs the system shell,
/// whose bytes differ from OS to OS). Returns how many commands it answered.
pub fn stage4_connection(stream: &mut TcpStream, limits: ShellLimits) -> Result<usize, FrameError> {
    let mut answered = 0;
    while let Some(request) = read_frame(stream, MAX_REQUEST)? {
        let command = String::from_utf8_lossy(&request);
        let reply = run_command(&command, Interpreter::Builtin, limits)?.reply();
        write_frame(stream, &reply, DEFAULT_MAX_FRAME)?;
        stream.flush()?;
        answered += 1;
    }
    Ok(answered)
}

/// That loop on 127.0.0.1:0, a thread per connection; it ends with the test process.
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
