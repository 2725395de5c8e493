//! Sections 3 and 4 of the demo: what the codec makes of lengths, hostile
//! ones sent over real sockets and stage 4's own under the codec's defaults.
//!
//! Both sections hand the same header bytes to the bare `LengthDelimitedCodec`
//! and to this crate's `FrameCodec` and set their answers side by side, so
//! they share the words for a decoder's answer; together they are the part of
//! the demo about the codec's settings, apart from the conversation around it.

use super::{demo_config, hex};
use crate::client::{framed, recv_reply, send_command};
use crate::codec::{length_codec, FrameCodec, DEFAULT_MAX_FRAME};
use crate::server::{describe_outcome, serve_connection};
use common::lang::Lang;
use common::sync::DEFAULT_SYNC_TIMEOUT;
use common::text::{lines_preview, wrap};
use length_header_fix::encode_header;
use std::fmt::Write as _;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, LengthDelimitedCodec};

// ---------------------------------------------------------------------------
// 3. Hostile lengths
// ---------------------------------------------------------------------------

/// What a decoder makes of `bytes`, in a few words.
fn decode_words<D>(decoder: &mut D, bytes: &[u8], lang: Lang) -> String
where
    D: Decoder<Item = BytesMut>,
    D::Error: std::fmt::Display,
{
    let mut buf = BytesMut::from(bytes);
    let decoded = decoder.decode(&mut buf);
    let capacity = buf.capacity();
    match (decoded, lang) {
        (Ok(Some(frame)), Lang::En) => format!("a frame of {} bytes", frame.len()),
        (Ok(Some(frame)), Lang::Zh) => format!("一个 {} 字节的帧", frame.len()),
        (Ok(None), Lang::En) => {
            format!("Ok(None): not enough bytes yet; waits, its buffer grown to {capacity} bytes")
        }
        (Ok(None), Lang::Zh) => {
            format!("Ok(None)：字节还不够，接着等，缓冲区已扩到 {capacity} 字节")
        }
        (Err(e), _) => format!("{}{e}", lang.pick("error: ", "出错：")),
    }
}

/// How two decoders took the same bytes: one wrapped line each, under the
/// bytes' own line.
fn decoders_say(out: &mut String, lang: Lang, said: [(&str, String); 2]) {
    let colon = lang.pick(": ", "：");
    for (decoder, words) in said {
        out.push_str(&wrap(
            &format!("{decoder}{colon}{words}"),
            88,
            "    ",
            "      ",
        ));
    }
}

/// One line of the server's log, as the hostile section quotes it.
fn server_log(out: &mut String, lang: Lang, client: &str, log: &str) {
    let line = format!(
        "{}{client}: {log}",
        lang.pick("server log: ", "服务端日志：")
    );
    out.push_str(&wrap(&line, 88, "  ", "    "));
}

/// Section 3: two clients send lengths no honest peer would, the server
/// refuses each before reading a body, and a third client is served.
pub(super) async fn hostile_transcript(lang: Lang) -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // One connection at a time, so the transcript's order is fixed; `serve`
    // does the same per connection, in tasks.
    let server = tokio::spawn(async move {
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let (stream, _) = listener.accept().await?;
            outcomes.push(describe_outcome(
                &serve_connection(stream, &demo_config()).await,
            ));
        }
        Ok::<_, io::Error>(outcomes)
    });
    let huge = i32::MAX.to_le_bytes();
    let negative = (-1i32).to_le_bytes();
    let mut closed = Vec::new();
    for header in [huge, negative] {
        let mut stream = TcpStream::connect(addr).await?;
        // Only the header: the server must refuse without waiting for a body.
        stream.write_all(&header).await?;
        let mut rest = Vec::new();
        tokio::time::timeout(DEFAULT_SYNC_TIMEOUT, stream.read_to_end(&mut rest))
            .await
            .map_err(|_| io::Error::other("demo: the server did not close a hostile client"))??;
        closed.push(rest.len());
    }
    let mut conn = framed(TcpStream::connect(addr).await?, DEFAULT_MAX_FRAME);
    send_command(&mut conn, "echo still serving").await?;
    let reply = recv_reply(&mut conn).await?;
    drop(conn);
    let outcomes = server.await.map_err(io::Error::other)??;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "The codec refuses a length over its maximum before it reads the body. What the bare\n\
             codec (configured as above) and this crate's FrameCodec say about the same headers:",
            "长度超过上限时，编解码器不等读消息体就拒绝。对同样的长度头，裸的编解码器（按上面\n\
             那样配置）和本 crate 的 FrameCodec 各自怎么说："
        )
    );
    for (header, what) in [(huge, "2^31 - 1"), (negative, "-1")] {
        let bare = decode_words(&mut length_codec(DEFAULT_MAX_FRAME), &header, lang);
        let ours = decode_words(&mut FrameCodec::default(), &header, lang);
        let _ = writeln!(out, "  {}  ({what})", hex(&header));
        decoders_say(
            &mut out,
            lang,
            [("LengthDelimitedCodec", bare), ("FrameCodec", ours)],
        );
    }
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "The codec's lengths are unsigned: -1 is refused as 4294967295, too big, not as\n\
             negative. FrameCodec reads the refused header again with stage 4's decode_header\n\
             to say which. The async server accepts a request of at most 131072 bytes (128 KiB,\n\
             stage 4's MAX_REQUEST): the codec reserves the whole announced frame at once, so\n\
             this bounds what one silent client can make it hold. Over real sockets:",
            "编解码器的长度是无符号的：-1 被当成 4294967295、因为太大而被拒绝，而不是因为是负数。\n\
             FrameCodec 会用第 4 阶段的 decode_header 把被拒的长度头再读一遍，说清楚到底是哪种。\n\
             异步服务端的请求最多 131072 字节（128 KiB，即第 4 阶段的 MAX_REQUEST）：编解码器\n\
             一读到长度头就为整帧预留内存，所以这个上限也就限定了一个不出声的客户端能让它占多少。\n\
             走真实的套接字："
        )
    );
    let names = [
        lang.pick("client A", "客户端 A"),
        lang.pick("client B", "客户端 B"),
    ];
    for (i, (name, header)) in names.iter().zip([huge, negative]).enumerate() {
        let log = outcomes.get(i).map_or("(no log)", String::as_str);
        let bytes = closed.get(i).copied().unwrap_or_default();
        let sends = lang.pick(" sends only a header: ", " 只发一个长度头：");
        let _ = writeln!(out, "{name}{sends}{}", hex(&header));
        server_log(&mut out, lang, name, log);
        let _ = match lang {
            Lang::En => writeln!(
                out,
                "  {name} sees the connection closed after {bytes} reply bytes"
            ),
            Lang::Zh => writeln!(out, "  {name} 收到 {bytes} 字节回复后，看到连接被关闭"),
        };
    }
    let client_c = lang.pick("client C", "客户端 C");
    let _ = writeln!(out, "{client_c}: > echo still serving");
    out.push_str(&lines_preview(&reply, "  ", lang));
    let log = outcomes.get(2).map_or("(no log)", String::as_str);
    server_log(&mut out, lang, client_c, log);
    Ok(out)
}

// ---------------------------------------------------------------------------
// 4. Where the defaults bite
// ---------------------------------------------------------------------------

/// Section 4: stage 4's bytes under the codec's defaults, one setting of
/// `length_codec` left out at a time.
pub(super) fn defaults_transcript(lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "LengthDelimitedCodec::new() reads a big-endian length and allows 8 MiB. Each case\n\
             below leaves one of length_codec's settings out and hands the codec stage 4's bytes:",
            "LengthDelimitedCodec::new() 按大端读长度，上限 8 MiB。下面每个例子都少设一项\n\
             length_codec 的配置，再把第 4 阶段的字节交给编解码器："
        )
    );
    let mut reply = encode_header(1492).unwrap_or_default().to_vec();
    reply.extend(std::iter::repeat_n(b'x', 1492));
    let mut kib = encode_header(1024).unwrap_or_default().to_vec();
    kib.extend(std::iter::repeat_n(b'x', 1024));
    let ten_mib = encode_header(10 * 1024 * 1024).unwrap_or_default();
    let little_endian_only = || LengthDelimitedCodec::builder().little_endian().new_codec();
    let new = ["LengthDelimitedCodec::new()"; 2];
    // What the bytes are and which codec reads them, each in [English, Chinese].
    let cases = [
        (
            [
                "a 1492-byte reply, d4 05 00 00 + body",
                "一条 1492 字节的回复，d4 05 00 00 + 消息体",
            ],
            new,
            LengthDelimitedCodec::new(),
            reply.as_slice(),
        ),
        (
            [
                "a 1024-byte reply, 00 04 00 00 + body",
                "一条 1024 字节的回复，00 04 00 00 + 消息体",
            ],
            new,
            LengthDelimitedCodec::new(),
            kib.as_slice(),
        ),
        (
            [
                "a 10 MiB reply's header, 00 00 a0 00",
                "一条 10 MiB 回复的长度头，00 00 a0 00",
            ],
            ["little_endian() only", "只设 little_endian()"],
            little_endian_only(),
            ten_mib.as_slice(),
        ),
    ];
    for ([what_en, what_zh], [name_en, name_zh], mut codec, bytes) in cases {
        let default = decode_words(&mut codec, bytes, lang);
        let stage4 = decode_words(&mut FrameCodec::default(), bytes, lang);
        let name = lang.pick(name_en, name_zh);
        let _ = writeln!(out, "  {}", lang.pick(what_en, what_zh));
        decoders_say(&mut out, lang, [(name, default), ("FrameCodec", stage4)]);
    }
    let as_big_endian = |len: usize| u32::from_be_bytes(encode_header(len).unwrap_or_default());
    let (a, b) = (as_big_endian(1492), as_big_endian(1024));
    let why = match lang {
        Lang::En => format!(
            "Big-endian, 1492 reads as {a} and is refused; 1024 is worse: it reads as {b},\n\
             under the maximum, so the codec grows its buffer for a body that never comes and\n\
             waits. A real stage-4 reply of 10 MiB is over the 8 MiB default. Hence little_endian()\n\
             and max_frame_length(16 MiB) in length_codec. Note also what FrameCodec's buffer did\n\
             with the 10 MiB header alone: the codec reserves the whole announced body at once,\n\
             where stage 4's read_frame grows its buffer only as the bytes arrive (64 KiB ahead)."
        ),
        Lang::Zh => format!(
            "按大端读，1492 变成 {a}，被拒绝；1024 更糟：它变成 {b}，没超过上限，\n\
             于是编解码器为一个永远不会来的消息体扩大缓冲区，一直等下去。而一条真实的 10 MiB\n\
             第 4 阶段回复又超过了默认的 8 MiB。所以 length_codec 里要写 little_endian() 和\n\
             max_frame_length(16 MiB)。再看 FrameCodec 的缓冲区只收到 10 MiB 的长度头时做了什么：\n\
             编解码器一下子就为宣布的整个消息体预留内存，而第 4 阶段的 read_frame 只随字节\n\
             到达才扩大缓冲区（每次最多多留 64 KiB）。"
        ),
    };
    let _ = writeln!(out, "{why}");
    out
}
