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

use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use common::lang::{self, Lang};

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

/// How long the demo waits for a datagram: long, because it is only ever
/// reached when a datagram was lost, and then the demo fails with an error
/// instead of hanging.
const DEMO_TIMEOUT: Duration = Duration::from_secs(5);

/// The demo: three experiments with a real server socket and a real client
/// socket on `127.0.0.1`, told in English.
///
/// The demo plays both parts in turn on one thread (the client sends, then
/// the server receives), so "sent back to back, before the server received
/// any" is literally true. UDP needs no other synchronisation: a receive
/// returns one whole datagram whenever it runs, which is the lesson, and
/// loopback does not drop or reorder a handful of small datagrams.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_in(Lang::En)
}

/// [`demo_transcript`] told in `lang`.
pub fn demo_transcript_in(lang: Lang) -> io::Result<String> {
    let zh = lang.is_zh();
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
    let mut say = |en: &str, zh_text: &str| {
        let _ = writeln!(out, "{}", lang.pick(en, zh_text));
    };
    say(
        "Stage 1, udp-echo: UDP keeps message boundaries",
        "第 1 阶段，udp-echo：UDP 保留消息边界",
    );
    say("", "");
    say(
        &format!(
            "A UDP server receives with a {RECV_BUFFER}-byte buffer (Python's recvfrom({RECV_BUFFER}))"
        ),
        &format!("UDP 服务端用 {RECV_BUFFER} 字节的缓冲区接收（即 Python 的 recvfrom({RECV_BUFFER})），"),
    );
    say(
        "and answers every datagram with `hi`. Client and server are two sockets on 127.0.0.1.",
        "每收到一个数据报就回一个 `hi`。客户端和服务端是 127.0.0.1 上的两个套接字。",
    );

    // (a) The classic exchange.
    say("", "");
    say("(a) One datagram, one answer", "(a) 一个数据报，一次回答");
    send(&client, b"hello")?;
    line_sent(&mut out, lang, b"hello");
    let got = receive(&server).map_err(lost)?;
    answer(&server, &got)?;
    row(
        &mut out,
        lang,
        lang.pick("server receives", "服务端收到"),
        &got.bytes,
    );
    let reply = receive_reply(&client)?;
    row(
        &mut out,
        lang,
        lang.pick("client receives", "客户端收到"),
        &reply,
    );

    // (b) Back-to-back datagrams stay apart.
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "(b) Three datagrams sent back to back, before the server receives any of them",
            "(b) 连发三个数据报，服务端一个都还没收",
        )
    );
    let three: [&[u8]; 3] = [b"one", b"two", b"three"];
    for datagram in three {
        send(&client, datagram)?;
        line_sent(&mut out, lang, datagram);
    }
    let mut received = Vec::new();
    for i in 1..=three.len() {
        let got = receive(&server).map_err(lost)?;
        answer(&server, &got)?;
        let what = if zh {
            format!("服务端第 {i} 次接收")
        } else {
            format!("server receive {i}")
        };
        row(&mut out, lang, &what, &got.bytes);
        received.push(got.bytes);
    }
    for _ in 0..three.len() {
        row(
            &mut out,
            lang,
            lang.pick("client receives", "客户端收到"),
            &receive_reply(&client)?,
        );
    }
    let total: usize = three.iter().map(|d| d.len()).sum();
    let lines: Vec<String> = if received.iter().map(Vec::as_slice).eq(three) {
        if zh {
            vec![
                format!("三次发送、三次接收、三条消息：虽然 {total} 个字节早已全部到达，"),
                "每次接收仍恰好返回一个完整的数据报。换成 TCP，一次读取就可能".to_string(),
                format!("把 {total} 个字节一起返回，成了 \"onetwothree\"：第 2 阶段会演示。"),
            ]
        } else {
            vec![
                format!("Three sends, three receives, three messages: although all {total} bytes were"),
                "already waiting, each receive returned exactly one datagram, whole. A TCP read"
                    .to_string(),
                format!(
                    "could have returned all {total} bytes at once, \"onetwothree\": stage 2 shows it."
                ),
            ]
        }
    } else {
        vec![lang
            .pick(
                "Unexpected: the receives did not return the datagrams as sent.",
                "意外：接收到的数据报和发送的不一致。",
            )
            .to_string()]
    };
    for line in lines {
        let _ = writeln!(out, "    {line}");
    }

    // (c) A datagram larger than the buffer.
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "(c) A datagram larger than the receive buffer",
            "(c) 数据报比接收缓冲区还大",
        )
    );
    let big: Vec<u8> = b"0123456789".iter().copied().cycle().take(2000).collect();
    send(&client, &big)?;
    line_sent(&mut out, lang, &big);
    send(&client, b"after")?;
    line_sent(&mut out, lang, b"after");
    let first = receive(&server).map_err(lost)?;
    row(
        &mut out,
        lang,
        lang.pick("server receive 1", "服务端第 1 次接收"),
        &first.bytes,
    );
    let second = receive(&server).map_err(lost)?;
    row(
        &mut out,
        lang,
        lang.pick("server receive 2", "服务端第 2 次接收"),
        &second.bytes,
    );
    let kept = first.bytes.len();
    let big_len = big.len();
    let gone = big_len.saturating_sub(kept);
    let mut lines: Vec<String> = if kept < big_len
        && big.starts_with(&first.bytes)
        && second.bytes == b"after"
    {
        if zh {
            vec![
                format!("第一次接收拿到了 {big_len} 个字节里的前 {kept} 个，其余 {gone} 个丢了："),
                "下一次接收返回的是下一个数据报，而不是这个数据报剩下的部分。".to_string(),
            ]
        } else {
            vec![
                    format!("The first receive got the first {kept} of the {big_len} bytes. The other {gone} are gone:"),
                    "the next receive returned the next datagram, not the rest of this one."
                        .to_string(),
                ]
        }
    } else if zh {
        vec![format!("意外：大数据报没有在 {RECV_BUFFER} 字节处被截断。")]
    } else {
        vec![format!(
            "Unexpected: the big datagram was not cut at {RECV_BUFFER} bytes."
        )]
    };
    if zh {
        lines.extend([
            format!(
                "在 Unix 上，std 的 recv_from 悄无声息地截断数据报：照样返回 Ok({RECV_BUFFER})，"
            ),
            "好像什么事都没有。Windows 则报错（WSAEMSGSIZE），缓冲区照样填满。".to_string(),
            "无论哪种，UDP 接收方的缓冲区都得不小于可能收到的最大数据报。".to_string(),
        ]);
    } else {
        lines.extend([
            format!("On Unix, std's recv_from cuts the datagram silently: it returns Ok({RECV_BUFFER}) as if"),
            "nothing were wrong. Windows reports an error instead (WSAEMSGSIZE), with the buffer"
                .to_string(),
            "filled. Either way, a UDP receiver needs a buffer as large as the largest datagram."
                .to_string(),
        ]);
    }
    for line in lines {
        let _ = writeln!(out, "    {line}");
    }

    let mut say = |en: &str, zh_text: &str| {
        let _ = writeln!(out, "{}", lang.pick(en, zh_text));
    };
    say("", "");
    say(
        "What UDP costs: no delivery or order guarantee and no connection. A lost datagram is",
        "UDP 的代价：不保证送达，不保证顺序，也没有连接。丢了的数据报永远不会重发；",
    );
    say(
        "never resent; a client only notices silence (this demo would stop with an error).",
        "客户端只能察觉到一片沉默（本演示遇到这种情况会报错退出）。",
    );
    say("", "");
    say("Try it in two terminals:", "在两个终端里亲手试试：");
    say(
        "    cargo run -p udp-echo -- server",
        "    cargo run -p udp-echo -- server",
    );
    say(
        "    cargo run -p udp-echo -- client      (type hello)",
        "    cargo run -p udp-echo -- client      （输入 hello）",
    );
    Ok(out)
}

fn line_sent(out: &mut String, lang: Lang, datagram: &[u8]) {
    row(out, lang, lang.pick("client sends", "客户端发送"), datagram);
}

/// One line of the demo: who did what, how many bytes, which bytes. The
/// first column is padded by display width, so Chinese labels line up too.
fn row(out: &mut String, lang: Lang, what: &str, bytes: &[u8]) {
    let _ = writeln!(
        out,
        "    {} {:>4} {}  {}",
        lang::pad(what, 18),
        bytes.len(),
        lang.pick("bytes", "字节"),
        common::text::head_tail(bytes, 10, 4)
    );
}
