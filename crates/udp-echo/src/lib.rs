//! Stage 1, `udp-echo`: UDP keeps message boundaries.
//!
//! # The lesson
//!
//! UDP sends *datagrams*. One `send` is one message, and one receive returns
//! exactly one message: never half of one, never two glued together, however
//! fast they were sent and whatever else is waiting in the socket. That is the
//! property TCP does not have, and the rest of this workspace is about living
//! without it. The price shows up here too: a datagram larger than the
//! receiver's buffer is cut, and the rest of it is gone for good.
//!
//! # Wire format
//!
//! - Client -> server: one datagram holding the message's bytes (the classic
//!   tutorial sends `hello`; the two-terminal client sends each line it reads,
//!   without the line ending).
//! - The server receives with a 1,024-byte buffer ([`RECV_BUFFER`], Python's
//!   `recvfrom(1024)`), logs the message with the sender's address, and
//!   answers every datagram with the 2-byte datagram `hi` ([`REPLY`]).
//!
//! # Known weaknesses
//!
//! - A datagram longer than the receive buffer is cut to the buffer's size and
//!   the rest is discarded. On Unix std's `recv_from` does this *silently*
//!   (it returns `Ok(1024)`); Windows reports an error (`WSAEMSGSIZE`) with
//!   the buffer filled, which [`receive`] turns into a [`Received`] with
//!   `cut_reported` set.
//! - No delivery or order guarantee, and no connection: a client learns that
//!   nobody listens only because loopback happens to send back an ICMP "port
//!   unreachable" (`ConnectionRefused` on the next receive), or from its read
//!   timeout. A lost datagram is never resent.
//!
//! # Layout
//!
//! - Server: [`receive`] (one datagram, one receive), [`answer`], [`serve`]
//!   (the loop the `server` subcommand runs; it logs to stderr).
//! - Client: [`connect`], [`send`], [`receive_reply`], [`exchange`], each
//!   with errors that say what probably went wrong.
//! - [`demo_transcript`]: the three experiments of the demo.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

/// Where the two-terminal server listens unless told otherwise (the classic tutorial's port).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9000";

/// The receive buffer of the server (and of the client), like Python's `recvfrom(1024)`.
pub const RECV_BUFFER: usize = 1024;

/// What the server answers to every datagram.
pub const REPLY: &[u8] = b"hi";

/// How long the two-terminal client waits for an answer.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(2);

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
        preview(&received.bytes)
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

/// Bytes as a short quoted string for a transcript or a log: printable ASCII
/// as is, everything else escaped, the middle of a long message elided.
fn preview(bytes: &[u8]) -> String {
    const HEAD: usize = 10;
    const TAIL: usize = 4;
    if bytes.len() <= HEAD + TAIL + 3 {
        format!("\"{}\"", bytes.escape_ascii())
    } else {
        format!(
            "\"{}...{}\"",
            bytes[..HEAD].escape_ascii(),
            bytes[bytes.len() - TAIL..].escape_ascii()
        )
    }
}

/// How long the demo waits for a datagram: long, because it is only ever
/// reached when a datagram was lost, and then the demo fails with an error
/// instead of hanging.
const DEMO_TIMEOUT: Duration = Duration::from_secs(5);

/// The demo: three experiments with a real server socket and a real client
/// socket on `127.0.0.1`.
///
/// The demo plays both parts in turn on one thread (the client sends, then
/// the server receives), so "sent back to back, before the server received
/// any" is literally true. UDP needs no other synchronisation: a receive
/// returns one whole datagram whenever it runs, which is the lesson, and
/// loopback does not drop or reorder a handful of small datagrams.
pub fn demo_transcript() -> io::Result<String> {
    let server = common::bind_loopback_udp()?;
    server.set_read_timeout(Some(DEMO_TIMEOUT))?;
    let client = connect(server.local_addr()?, DEMO_TIMEOUT)?;
    let lost = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("demo: a datagram did not arrive on loopback ({e})"),
        )
    };

    let mut out = String::new();
    let _ = writeln!(out, "Stage 1, udp-echo: UDP keeps message boundaries");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "A UDP server receives with a {RECV_BUFFER}-byte buffer (Python's recvfrom({RECV_BUFFER}))"
    );
    let _ = writeln!(
        out,
        "and answers every datagram with `hi`. Client and server are two sockets on 127.0.0.1."
    );

    // (a) The classic exchange.
    let _ = writeln!(out);
    let _ = writeln!(out, "(a) One datagram, one answer");
    send(&client, b"hello")?;
    line_sent(&mut out, b"hello");
    let got = receive(&server).map_err(lost)?;
    answer(&server, &got)?;
    row(&mut out, "server receives", &got.bytes);
    let reply = receive_reply(&client)?;
    row(&mut out, "client receives", &reply);

    // (b) Back-to-back datagrams stay apart.
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "(b) Three datagrams sent back to back, before the server receives any of them"
    );
    let three: [&[u8]; 3] = [b"one", b"two", b"three"];
    for datagram in three {
        send(&client, datagram)?;
        line_sent(&mut out, datagram);
    }
    let mut received = Vec::new();
    for i in 1..=three.len() {
        let got = receive(&server).map_err(lost)?;
        answer(&server, &got)?;
        row(&mut out, &format!("server receive {i}"), &got.bytes);
        received.push(got.bytes);
    }
    for _ in 0..three.len() {
        row(&mut out, "client receives", &receive_reply(&client)?);
    }
    let total: usize = three.iter().map(|d| d.len()).sum();
    if received.iter().map(Vec::as_slice).eq(three) {
        let _ = writeln!(
            out,
            "    Three sends, three receives, three messages: although all {total} bytes were"
        );
        let _ = writeln!(
            out,
            "    already waiting, each receive returned exactly one datagram, whole. A TCP read"
        );
        let _ = writeln!(
            out,
            "    could have returned all {total} bytes at once, \"onetwothree\": stage 2 shows it."
        );
    } else {
        let _ = writeln!(
            out,
            "    Unexpected: the receives did not return the datagrams as sent."
        );
    }

    // (c) A datagram larger than the buffer.
    let _ = writeln!(out);
    let _ = writeln!(out, "(c) A datagram larger than the receive buffer");
    let big: Vec<u8> = b"0123456789".iter().copied().cycle().take(2000).collect();
    send(&client, &big)?;
    line_sent(&mut out, &big);
    send(&client, b"after")?;
    line_sent(&mut out, b"after");
    let first = receive(&server).map_err(lost)?;
    row(&mut out, "server receive 1", &first.bytes);
    let second = receive(&server).map_err(lost)?;
    row(&mut out, "server receive 2", &second.bytes);
    let kept = first.bytes.len();
    if kept < big.len() && big.starts_with(&first.bytes) && second.bytes == b"after" {
        let _ = writeln!(
            out,
            "    The first receive got the first {kept} of the {} bytes. The other {} are gone:",
            big.len(),
            big.len() - kept
        );
        let _ = writeln!(
            out,
            "    the next receive returned the next datagram, not the rest of this one."
        );
    } else {
        let _ = writeln!(
            out,
            "    Unexpected: the big datagram was not cut at {RECV_BUFFER} bytes."
        );
    }
    let _ = writeln!(
        out,
        "    On Unix, std's recv_from cuts the datagram silently: it returns Ok({RECV_BUFFER}) as if"
    );
    let _ = writeln!(
        out,
        "    nothing were wrong. Windows reports an error instead (WSAEMSGSIZE), with the buffer"
    );
    let _ = writeln!(
        out,
        "    filled. Either way, a UDP receiver needs a buffer as large as the largest datagram."
    );

    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "What UDP costs: no delivery or order guarantee and no connection. A lost datagram is"
    );
    let _ = writeln!(
        out,
        "never resent; a client only notices silence (this demo would stop with an error)."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Try it in two terminals:");
    let _ = writeln!(out, "    cargo run -p udp-echo -- server");
    let _ = writeln!(out, "    cargo run -p udp-echo -- client      (type hello)");
    Ok(out)
}

fn line_sent(out: &mut String, datagram: &[u8]) {
    row(out, "client sends", datagram);
}

/// One line of the demo: who did what, how many bytes, which bytes.
fn row(out: &mut String, what: &str, bytes: &[u8]) {
    let _ = writeln!(
        out,
        "    {what:<18} {:>4} bytes  {}",
        bytes.len(),
        preview(bytes)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short messages are shown whole, long ones elided in the middle.
    #[test]
    fn previews() {
        assert_eq!(preview(b"hello"), "\"hello\"");
        assert_eq!(preview(b"a\nb"), "\"a\\nb\"");
        let long: Vec<u8> = b"0123456789".iter().copied().cycle().take(1024).collect();
        assert_eq!(preview(&long), "\"0123456789...0123\"");
    }
}
