//! The two-terminal server: receive with a 1,024-byte buffer, log the
//! datagram with its sender, answer `hi`, for ever.

use std::io;
use std::net::UdpSocket;

use crate::datagram::{receive, Received, RECV_BUFFER};

/// Where the two-terminal server listens unless told otherwise (the classic tutorial's port).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9000";

/// What the server answers to every datagram.
pub const REPLY: &[u8] = b"hi";

/// Answers a received datagram with [`REPLY`]. Returns `false` when the
/// sender is unknown (see [`Received::from`]) and nothing was sent.
pub fn answer(socket: &UdpSocket, received: &Received) -> io::Result<bool> {
    match received.from {
        Some(to) => {
            socket.send_to(REPLY, to)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The server's log line for one datagram, such as
/// `5 bytes from 127.0.0.1:50123: "hello"`.
pub fn describe(received: &Received) -> String {
    let from = match received.from {
        Some(addr) => addr.to_string(),
        None => "an unknown sender".to_string(),
    };
    let mut line = format!(
        "{} bytes from {from}: {}",
        received.bytes.len(),
        common::text::head_tail(&received.bytes, 10, 4)
    );
    if received.cut_reported {
        line.push_str(&format!(
            " (the datagram was longer than {RECV_BUFFER} bytes: Windows reported WSAEMSGSIZE, \
             the rest is lost)"
        ));
    }
    line
}

/// The server loop: receive, log to stderr, answer `hi`, forever.
///
/// Returns only when the socket itself fails. A client that went away is not
/// a failure: Windows reports the ICMP "port unreachable" an earlier answer
/// provoked as `ConnectionReset` on the *next* receive, which is logged and
/// ignored.
pub fn serve(socket: UdpSocket) -> io::Result<()> {
    loop {
        match receive(&socket) {
            Ok(received) => {
                eprintln!("{}", describe(&received));
                if let Err(e) = answer(&socket, &received) {
                    eprintln!("could not answer: {e}");
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::Interrupted
                ) =>
            {
                eprintln!("(an earlier answer was not delivered: {e}; still serving)");
            }
            Err(e) => return Err(e),
        }
    }
}
