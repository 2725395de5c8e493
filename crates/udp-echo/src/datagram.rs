//! The technique of stage 1, and all of it: one `send` is one datagram, and
//! one receive returns one datagram, whole, or cut to the buffer's size.
//!
//! ```text
//! client: send(b"one") send(b"two") send(b"three")     three datagrams
//! server: recv_from(1024) -> "one"                      one receive, one datagram
//!         recv_from(1024) -> "two"                      never "onetwo"
//!         recv_from(1024) -> "three"
//! ```
//!
//! There is no framing to write, because the network keeps the boundaries.
//! What is left to get right is the buffer: a datagram longer than it is cut,
//! and the rest is gone; Unix says nothing, Windows says `WSAEMSGSIZE`.

use std::io;
use std::net::{SocketAddr, UdpSocket};

/// The receive buffer of the server (and of the client), like Python's `recvfrom(1024)`.
pub const RECV_BUFFER: usize = 1024;

/// The largest payload one UDP datagram can carry over IPv4
/// (65,535 minus the 8-byte UDP header and the 20-byte IP header).
pub const MAX_DATAGRAM: usize = 65_507;

/// Windows' "message too long": the datagram did not fit the buffer.
const WSAEMSGSIZE: i32 = 10040;

/// One datagram as the server's receive saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The bytes the receive returned: at most [`RECV_BUFFER`].
    pub bytes: Vec<u8>,
    /// Who sent it. `None` only when Windows reported a cut datagram: its
    /// error carries no sender, so nobody can be answered.
    pub from: Option<SocketAddr>,
    /// The system *said* the datagram was cut (Windows' `WSAEMSGSIZE`).
    /// Unix never says so: there a cut datagram looks like a whole one.
    pub cut_reported: bool,
}

// ANCHOR: receive
/// Receives one datagram with a [`RECV_BUFFER`]-byte buffer: one receive
/// call, one datagram, whatever else is already waiting in the socket.
pub fn receive(socket: &UdpSocket) -> io::Result<Received> {
    let mut buf = [0u8; RECV_BUFFER];
    match socket.recv_from(&mut buf) {
        Ok((n, from)) => Ok(Received {
            bytes: buf[..n].to_vec(),
            from: Some(from),
            cut_reported: false,
        }),
        // Windows fills the buffer with the datagram's first bytes and then
        // fails the call; the bytes are real, so keep them, as Unix would.
        Err(e) if cfg!(windows) && e.raw_os_error() == Some(WSAEMSGSIZE) => Ok(Received {
            bytes: buf.to_vec(),
            from: None,
            cut_reported: true,
        }),
        Err(e) => Err(e),
    }
}
// ANCHOR_END: receive
