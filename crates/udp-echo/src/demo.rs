//! The demo: three experiments with a real server socket and a real client
//! socket on `127.0.0.1`, played in turn on one thread.

use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use common::lang::{self, Lang};

use crate::client::{connect, receive_reply, send};
use crate::datagram::{receive, RECV_BUFFER};
use crate::server::answer;

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
