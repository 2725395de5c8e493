//! The client: a connected UDP socket with a read timeout, sending one
//! datagram per line and printing each answer, with errors that say what
//! probably went wrong (UDP itself never says "nobody is listening").

use std::io::{self, BufRead, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use common::cli::InputLines;

use crate::datagram::{MAX_DATAGRAM, RECV_BUFFER};

/// How long the two-terminal client waits for an answer.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// A client socket for talking to `server`: bound to any local port of the
/// same address family, *connected* to the server (so that receives accept
/// only the server's datagrams and a refusal is reported), with a read
/// timeout so a lost datagram or a missing server ends in an error, not a hang.
pub fn connect(server: SocketAddr, read_timeout: Duration) -> io::Result<UdpSocket> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(server)?;
    // A zero timeout means "block forever" to std; never allow that.
    socket.set_read_timeout(Some(read_timeout.max(Duration::from_millis(1))))?;
    Ok(socket)
}

/// Sends one datagram on a socket from [`connect`]. An empty `datagram` is
/// fine: unlike a TCP write, an empty datagram is a real message.
pub fn send(socket: &UdpSocket, datagram: &[u8]) -> io::Result<()> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "that message is {} bytes, but one UDP datagram carries at most {MAX_DATAGRAM} \
                 bytes; send something shorter",
                datagram.len()
            ),
        ));
    }
    socket.send(datagram).map_err(|e| explain(socket, e))?;
    Ok(())
}

/// Receives the server's answer on a socket from [`connect`], with errors
/// that say what probably went wrong ("no server at ADDR?").
pub fn receive_reply(socket: &UdpSocket) -> io::Result<Vec<u8>> {
    let mut buf = [0u8; RECV_BUFFER];
    match socket.recv(&mut buf) {
        Ok(n) => Ok(buf[..n].to_vec()),
        Err(e) => Err(explain(socket, e)),
    }
}

/// Sends one datagram and waits for the answer.
pub fn exchange(socket: &UdpSocket, datagram: &[u8]) -> io::Result<Vec<u8>> {
    send(socket, datagram)?;
    receive_reply(socket)
}

/// Rewords a client-side error so that it says how to fix the problem.
fn explain(socket: &UdpSocket, e: io::Error) -> io::Error {
    let server = socket
        .peer_addr()
        .map_or_else(|_| "the server".to_string(), |a| a.to_string());
    match e.kind() {
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => io::Error::new(
            e.kind(),
            format!(
                "no server at {server}? The datagram was refused: nothing listens on that port. \
                 Start the server first: cargo run -p udp-echo -- server"
            ),
        ),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            let waited = socket
                .read_timeout()
                .ok()
                .flatten()
                .map_or_else(String::new, |t| format!(" within {} ms", t.as_millis()));
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no answer from {server}{waited}: no server at {server}? UDP never \
                     confirms delivery, so silence is all a client gets when nobody listens"
                ),
            )
        }
        _ => io::Error::new(e.kind(), format!("talking to {server}: {e}")),
    }
}

/// The two-terminal client: sends each line of `input` (without its line
/// ending) as one datagram on a socket from [`connect`] and writes the answer
/// to `out`, one line each, until `exit` or the end of the input.
///
/// An empty line is sent too: an empty datagram is a real message in UDP,
/// and the server answers it like any other.
pub fn run_client<R: BufRead, W: Write>(
    socket: &UdpSocket,
    input: &mut InputLines<R>,
    out: &mut W,
) -> io::Result<()> {
    while let Some(line) = input.next_line()? {
        if line == "exit" {
            break;
        }
        let reply = exchange(socket, line.as_bytes())?;
        out.write_all(&reply)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(())
}
