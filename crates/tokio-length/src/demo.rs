//! The one-process demo: the shared conversation through the async server
//! and client, stage 4 and this crate talking to each other, hostile
//! lengths, where the codec's defaults bite, and `LinesCodec`.
//!
//! Determinism, as in stage 4's demo: the server's side of the socket tells
//! the client, after every flushed reply, how many bytes it has written; the
//! client waits until that many bytes have reached its socket before it lets
//! the codec read. What each read returns is then the same on every run.
//! Everything here runs on one current-thread runtime, so the order of the
//! transcript is the order of the code.

use crate::client::{framed, recv_reply, send_command};
use crate::codec::{length_codec, FrameCodec, DEFAULT_MAX_FRAME};
use crate::server::{describe_outcome, serve_connection, ServerConfig};
use crate::tap::Tap;
use common::demo::{Verdict, EXEC_SCRIPT};
use common::lang::Lang;
use common::sync::DEFAULT_SYNC_TIMEOUT;
use common::text::{lines_preview, wrap};
use common::{run_command, spawn_loopback, Interpreter, Timeline};
use length_header_fix::{encode_header, FrameError, HEADER_LEN};
use std::fmt::Write as _;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, LengthDelimitedCodec, LinesCodec};

/// The line length the `LinesCodec` section allows.
pub const DEMO_MAX_LINE: usize = 16;

/// The server every part of the demo runs: the built-in command set, so the
/// transcript is the same bytes on every OS.
fn demo_config() -> ServerConfig {
    ServerConfig {
        interpreter: Interpreter::Builtin,
        ..ServerConfig::default()
    }
}

/// What running `command` here prints: what its reply should be.
fn expected_reply(command: &str) -> io::Result<Vec<u8>> {
    let config = demo_config();
    Ok(run_command(command, config.interpreter, config.limits)?.reply())
}

/// Waits until `n` bytes can be read from `stream` without consuming them:
/// the async twin of `common::sync::wait_for_bytes`, for bytes the server
/// has already written.
async fn wait_for_bytes(stream: &TcpStream, n: usize) -> io::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + DEFAULT_SYNC_TIMEOUT;
    let mut buf = vec![0u8; n];
    loop {
        let peeked = tokio::time::timeout_at(deadline, stream.peek(&mut buf))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("demo sync: waited for {n} bytes that were already sent"),
                )
            })??;
        match peeked {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("demo sync: the server closed before {n} bytes arrived"),
                ))
            }
            got if got >= n => return Ok(()),
            // The rest is still on its way through the loopback device.
            _ => tokio::time::sleep(Duration::from_micros(200)).await,
        }
    }
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

// ---------------------------------------------------------------------------
// 1. The conversation
// ---------------------------------------------------------------------------

/// What the demo conversation produced, for the transcript and for tests.
#[derive(Clone, Debug)]
pub struct Conversation {
    /// The commands sent, in order ([`EXEC_SCRIPT`]).
    pub commands: Vec<String>,
    /// The reply bodies the client received, in order.
    pub replies: Vec<Vec<u8>>,
    /// The server -> client direction: one message per reply frame, and the
    /// reads the client's codec made.
    pub timeline: Timeline,
    /// Did every reply arrive whole, in order, as running it locally prints?
    pub verdict: Verdict,
}

/// Runs the shared script of stages 2-4 through this crate's async server
/// and client on `127.0.0.1`, synchronised turn by turn.
pub fn run_conversation() -> io::Result<Conversation> {
    run_conversation_in(Lang::En)
}

/// [`run_conversation`] with the timeline's title and labels in `lang`.
pub fn run_conversation_in(lang: Lang) -> io::Result<Conversation> {
    runtime()?.block_on(conversation(lang))
}

async fn conversation(lang: Lang) -> io::Result<Conversation> {
    let commands: Vec<String> = EXEC_SCRIPT.iter().map(|c| c.to_string()).collect();
    let config = demo_config();
    let timeline = Timeline::with_labels(
        lang.pick("server -> client", "服务端 -> 客户端"),
        commands.iter().map(|c| match lang {
            Lang::En => format!("reply frame to `{c}`"),
            Lang::Zh => format!("`{c}` 的回复帧"),
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The server's socket records every write as one message and, after
    // every flush (the end of a reply frame), tells the client how many
    // bytes the server has written so far: stage 4's demo does the same.
    let (turns_tx, mut turns) = mpsc::unbounded_channel();
    let server_timeline = timeline.clone();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        let conn = Tap::new(stream)
            .on_write(move |n| server_timeline.sent(n))
            .on_flush(move |written| {
                // The client may have gone already; the server's next read notices.
                let _ = turns_tx.send(written);
            });
        serve_connection(conn, &config)
            .await
            .map_err(io::Error::from)
    });

    let stream = TcpStream::connect(addr).await?;
    let client_timeline = timeline.clone();
    let tap = Tap::new(stream).on_read(move |n| client_timeline.read(n));
    let mut conn = framed(tap, config.max_frame);
    let mut consumed = 0usize;
    let mut replies = Vec::new();
    for command in &commands {
        send_command(&mut conn, command).await?;
        let written = tokio::time::timeout(DEFAULT_SYNC_TIMEOUT, turns.recv())
            .await
            .ok()
            .flatten()
            .ok_or_else(|| {
                io::Error::other(format!("demo: the server never answered `{command}`"))
            })?;
        // Every byte of the reply is here before the codec reads: what each
        // read returns is then the same on every run.
        wait_for_bytes(conn.get_ref().get_ref(), written.saturating_sub(consumed)).await?;
        let reply = recv_reply(&mut conn).await?;
        consumed += HEADER_LEN + reply.len();
        replies.push(reply);
    }
    // The client closes between frames, which the server takes as a clean end.
    drop(conn);
    let answered = server
        .await
        .map_err(|e| io::Error::other(format!("demo: the server task failed: {e}")))??;

    let mut verdict = Verdict::Intact;
    if answered != commands.len() || replies.len() != commands.len() {
        verdict = Verdict::Broken(format!(
            "{} command(s) sent, {answered} answered, {} reply(ies) received",
            commands.len(),
            replies.len()
        ));
    }
    for (i, (command, reply)) in commands.iter().zip(&replies).enumerate() {
        let expected = expected_reply(command)?;
        if verdict.is_intact() && reply != &expected {
            verdict = Verdict::Broken(format!(
                "reply {} (to `{command}`) is {} bytes where running it locally gives {}",
                i + 1,
                reply.len(),
                expected.len()
            ));
        }
    }
    Ok(Conversation {
        commands,
        replies,
        timeline,
        verdict,
    })
}

fn render_conversation(conv: &Conversation, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        match lang {
            Lang::En => format!(
                "The same frames as stage 4 (4-byte little-endian length, then the body), read and\n\
                 written by tokio-util's LengthDelimitedCodec. An async server and client on\n\
                 127.0.0.1 run {} commands:",
                conv.commands.len()
            ),
            Lang::Zh => format!(
                "帧和第 4 阶段一模一样（4 字节小端长度头，后面是消息体），只是读写都交给了\n\
                 tokio-util 的 LengthDelimitedCodec。127.0.0.1 上的异步服务端和客户端依次\n\
                 执行 {} 条命令：",
                conv.commands.len()
            ),
        }
    );
    let _ = writeln!(out);
    for (command, reply) in conv.commands.iter().zip(&conv.replies) {
        let request = encode_header(command.len()).unwrap_or_default();
        let header = encode_header(reply.len()).unwrap_or_default();
        let _ = writeln!(out, "> {command}");
        if reply.is_empty() {
            let _ = writeln!(out, "{}", lang.pick("(empty reply)", "（空回复）"));
        } else {
            out.push_str(&lines_preview(reply, "", lang));
        }
        let _ = match lang {
            Lang::En => writeln!(
                out,
                "(request: {} + {command:?}; reply: {} + {} bytes)",
                hex(&request),
                hex(&header),
                reply.len()
            ),
            Lang::Zh => writeln!(
                out,
                "（请求：{} + {command:?}；回复：{} + {} 字节）",
                hex(&request),
                hex(&header),
                reply.len()
            ),
        };
    }
    let _ = writeln!(out);
    out.push_str(&conv.timeline.render_in(lang));
    let _ = writeln!(out);
    let analysis = conv.timeline.analysis();
    let (reads, replies) = (analysis.reads.len(), conv.replies.len());
    let (sticky, split) = (analysis.sticky_reads, analysis.split_messages);
    let _ = match lang {
        Lang::En => writeln!(
            out,
            "Stage 4's read_frame asks the socket for exactly what the current frame still needs\n\
             (4 header bytes, then the body), so its long reply took 3 reads of at most 1024 bytes.\n\
             The codec instead reads whatever the socket holds into one buffer it keeps for the\n\
             whole connection (8 KiB to start, grown only for a larger frame) and cuts every whole\n\
             frame out of it: here {reads} read(s) for {replies} replies, {sticky} sticky, {split} split. Had two replies\n\
             arrived in one read, the codec would have cut both out of it; had one been cut across\n\
             reads, it would have waited for the rest. That loop is the library's, not ours."
        ),
        Lang::Zh => writeln!(
            out,
            "第 4 阶段的 read_frame 每次只向套接字要当前这一帧还缺的字节（先 4 字节长度头，\n\
             再要消息体），所以那条长回复用了 3 次最多 1024 字节的读取。编解码器则不同：\n\
             套接字里有多少就读多少，读进一个整条连接共用的缓冲区（起步 8 KiB，只为更大的帧\n\
             才扩容），再从里面切出每一个完整的帧：这里 {replies} 条回复用了 {reads} 次读取，粘包 {sticky} 次，\n\
             拆包 {split} 次。要是两条回复在一次读取里粘在一起，编解码器会把两条都切出来；\n\
             要是一条回复被拆到几次读取里，它会等剩下的字节到齐。这个循环是库写的，不是我们写的。"
        ),
    };
    let _ = writeln!(out);
    let _ = match (&conv.verdict, lang) {
        (Verdict::Intact, Lang::En) => writeln!(
            out,
            "Verdict: intact: {} of {} replies arrived whole and in order, each byte for byte\n\
             \x20 what running its command locally prints, the empty one included.",
            conv.replies.len(),
            conv.commands.len()
        ),
        (Verdict::Intact, Lang::Zh) => writeln!(
            out,
            "结论：完好：{} 条回复（共 {} 条）都完整、按顺序到达，每条都和在本机执行该命令\n\
             \x20 的输出逐字节相同，空回复也不例外。",
            conv.replies.len(),
            conv.commands.len()
        ),
        (Verdict::Broken(why), Lang::En) => writeln!(out, "Verdict: broken: {why}"),
        (Verdict::Broken(why), Lang::Zh) => writeln!(out, "结论：出错：{why}"),
    };
    out
}

// ---------------------------------------------------------------------------
// 2. Stage 4 and the codec, talking to each other
// ---------------------------------------------------------------------------

/// Stage 4's own server for one connection, under the demo's configuration
/// (the built-in set, the same request cap).
fn stage4_std_server(stream: &mut std::net::TcpStream) -> Result<usize, FrameError> {
    let config = demo_config();
    length_header_fix::serve_connection(
        stream,
        &length_header_fix::ServerConfig {
            limits: config.limits,
            interpreter: config.interpreter,
            max_frame: config.max_frame,
            ..Default::default()
        },
    )
}

/// One command each way: stage 4's std client against this async server,
/// and this async client against stage 4's std server loop. Returns the two
/// replies.
async fn interop(command: &str) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        serve_connection(stream, &demo_config())
            .await
            .map_err(io::Error::from)
    });
    let line = command.to_string();
    // Stage 4's client blocks, so it runs on a thread of its own.
    let from_std_client = tokio::task::spawn_blocking(move || -> io::Result<Vec<u8>> {
        let mut stream = std::net::TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(DEFAULT_SYNC_TIMEOUT))?;
        length_header_fix::send_command(&mut stream, &line)?;
        Ok(length_header_fix::recv_reply(
            &mut stream,
            DEFAULT_MAX_FRAME,
        )?)
    })
    .await
    .map_err(io::Error::other)??;
    server.await.map_err(io::Error::other)??;

    let std_server = spawn_loopback(|listener| {
        let (mut stream, _) = listener.accept()?;
        stage4_std_server(&mut stream).map_err(io::Error::from)
    })?;
    let mut conn = framed(
        TcpStream::connect(std_server.addr()).await?,
        DEFAULT_MAX_FRAME,
    );
    send_command(&mut conn, command).await?;
    let from_async_client = recv_reply(&mut conn).await?;
    drop(conn);
    tokio::task::spawn_blocking(move || std_server.join())
        .await
        .map_err(io::Error::other)??;
    Ok((from_std_client, from_async_client))
}

async fn interop_transcript(lang: Lang) -> io::Result<String> {
    let command = "seq 1 400";
    let (from_std_client, from_async_client) = interop(command).await?;
    let expected = expected_reply(command)?;
    let judge = |reply: &[u8]| match (reply == expected.as_slice(), lang) {
        (true, Lang::En) => format!(
            "{} bytes, byte for byte what `{command}` prints",
            reply.len()
        ),
        (false, Lang::En) => format!("{} bytes, NOT what `{command}` prints", reply.len()),
        (true, Lang::Zh) => format!("{} 字节，和 `{command}` 的输出逐字节相同", reply.len()),
        (false, Lang::Zh) => format!("{} 字节，和 `{command}` 的输出【不】一样", reply.len()),
    };
    let mut out = String::new();
    let _ = match lang {
        Lang::En => writeln!(
            out,
            "Same wire format, so either end can be either implementation:\n\
             \x20 stage 4's std client -> this async server:    {}\n\
             \x20 this async client    -> stage 4's std server: {}",
            judge(&from_std_client),
            judge(&from_async_client)
        ),
        Lang::Zh => {
            use common::lang::pad;
            writeln!(
                out,
                "线上格式相同，所以两端用哪种实现都行：\n  {} -> {}{}\n  {} -> {}{}",
                pad("第 4 阶段的 std 客户端", 22),
                pad("本 crate 的异步服务端：", 26),
                judge(&from_std_client),
                pad("本 crate 的异步客户端", 22),
                pad("第 4 阶段的 std 服务端：", 26),
                judge(&from_async_client)
            )
        }
    };
    Ok(out)
}

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
    match (decoder.decode(&mut buf), lang) {
        (Ok(Some(frame)), Lang::En) => format!("a frame of {} bytes", frame.len()),
        (Ok(Some(frame)), Lang::Zh) => format!("一个 {} 字节的帧", frame.len()),
        (Ok(None), Lang::En) => format!(
            "Ok(None): not enough bytes yet; waits, its buffer grown to {} bytes",
            buf.capacity()
        ),
        (Ok(None), Lang::Zh) => format!(
            "Ok(None)：字节还不够，接着等，缓冲区已扩到 {} 字节",
            buf.capacity()
        ),
        (Err(e), Lang::En) => format!("error: {e}"),
        (Err(e), Lang::Zh) => format!("出错：{e}"),
    }
}

async fn hostile_transcript(lang: Lang) -> io::Result<String> {
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
        let colon = lang.pick(": ", "：");
        out.push_str(&wrap(
            &format!("LengthDelimitedCodec{colon}{bare}"),
            88,
            "    ",
            "      ",
        ));
        out.push_str(&wrap(
            &format!("FrameCodec{colon}{ours}"),
            88,
            "    ",
            "      ",
        ));
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
        match lang {
            Lang::En => {
                let _ = writeln!(out, "{name} sends only a header: {}", hex(&header));
                out.push_str(&wrap(
                    &format!("server log: {name}: {log}"),
                    88,
                    "  ",
                    "    ",
                ));
                let _ = writeln!(
                    out,
                    "  {name} sees the connection closed after {bytes} reply bytes"
                );
            }
            Lang::Zh => {
                let _ = writeln!(out, "{name} 只发一个长度头：{}", hex(&header));
                out.push_str(&wrap(
                    &format!("服务端日志：{name}: {log}"),
                    88,
                    "  ",
                    "    ",
                ));
                let _ = writeln!(out, "  {name} 收到 {bytes} 字节回复后，看到连接被关闭");
            }
        }
    }
    let client_c = lang.pick("client C", "客户端 C");
    let _ = writeln!(out, "{client_c}: > echo still serving");
    out.push_str(&lines_preview(&reply, "  ", lang));
    let log = outcomes.get(2).map_or("(no log)", String::as_str);
    out.push_str(&wrap(
        &format!(
            "{}{client_c}: {log}",
            lang.pick("server log: ", "服务端日志：")
        ),
        88,
        "  ",
        "    ",
    ));
    Ok(out)
}

// ---------------------------------------------------------------------------
// 4. Where the defaults bite
// ---------------------------------------------------------------------------

fn defaults_transcript(lang: Lang) -> String {
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
    let cases: [(&str, &str, &str, LengthDelimitedCodec, &[u8]); 3] = [
        (
            "a 1492-byte reply, d4 05 00 00 + body",
            "一条 1492 字节的回复，d4 05 00 00 + 消息体",
            "LengthDelimitedCodec::new()",
            LengthDelimitedCodec::new(),
            &reply,
        ),
        (
            "a 1024-byte reply, 00 04 00 00 + body",
            "一条 1024 字节的回复，00 04 00 00 + 消息体",
            "LengthDelimitedCodec::new()",
            LengthDelimitedCodec::new(),
            &kib,
        ),
        (
            "a 10 MiB reply's header, 00 00 a0 00",
            "一条 10 MiB 回复的长度头，00 00 a0 00",
            "little_endian() only",
            little_endian_only(),
            &ten_mib,
        ),
    ];
    let colon = lang.pick(": ", "：");
    for (what_en, what_zh, name, mut codec, bytes) in cases {
        let default = decode_words(&mut codec, bytes, lang);
        let stage4 = decode_words(&mut FrameCodec::default(), bytes, lang);
        let name = match (lang, name) {
            (Lang::Zh, "little_endian() only") => "只设 little_endian()",
            _ => name,
        };
        let _ = writeln!(out, "  {}", lang.pick(what_en, what_zh));
        out.push_str(&wrap(
            &format!("{name}{colon}{default}"),
            88,
            "    ",
            "      ",
        ));
        out.push_str(&wrap(
            &format!("FrameCodec{colon}{stage4}"),
            88,
            "    ",
            "      ",
        ));
    }
    let as_big_endian = |len: usize| u32::from_be_bytes(encode_header(len).unwrap_or_default());
    let (a, b) = (as_big_endian(1492), as_big_endian(1024));
    let _ = match lang {
        Lang::En => writeln!(
            out,
            "Big-endian, 1492 reads as {a} and is refused; 1024 is worse: it reads as {b},\n\
             under the maximum, so the codec grows its buffer for a body that never comes and\n\
             waits. A real stage-4 reply of 10 MiB is over the 8 MiB default. Hence little_endian()\n\
             and max_frame_length(16 MiB) in length_codec. Note also what FrameCodec's buffer did\n\
             with the 10 MiB header alone: the codec reserves the whole announced body at once,\n\
             where stage 4's read_frame grows its buffer only as the bytes arrive (64 KiB ahead)."
        ),
        Lang::Zh => writeln!(
            out,
            "按大端读，1492 变成 {a}，被拒绝；1024 更糟：它变成 {b}，没超过上限，\n\
             于是编解码器为一个永远不会来的消息体扩大缓冲区，一直等下去。而一条真实的 10 MiB\n\
             第 4 阶段回复又超过了默认的 8 MiB。所以 length_codec 里要写 little_endian() 和\n\
             max_frame_length(16 MiB)。再看 FrameCodec 的缓冲区只收到 10 MiB 的长度头时做了什么：\n\
             编解码器一下子就为宣布的整个消息体预留内存，而第 4 阶段的 read_frame 只随字节\n\
             到达才扩大缓冲区（每次最多多留 64 KiB）。"
        ),
    };
    out
}

// ---------------------------------------------------------------------------
// 5. LinesCodec
// ---------------------------------------------------------------------------

fn lines_transcript(lang: Lang) -> String {
    let input: &[u8] = b"hello\nthis line is far longer than sixteen bytes\nafter\nbin\x0aary\n";
    let mut codec = LinesCodec::new_with_max_length(DEMO_MAX_LINE);
    let mut buf = BytesMut::from(input);
    let mut out = String::new();
    let shown = String::from_utf8_lossy(input);
    let _ = match lang {
        Lang::En => writeln!(
            out,
            "tokio-util's LinesCodec frames by newline. LinesCodec::new() has no maximum at all (a\n\
             peer that never sends \\n grows the buffer without end); new_with_max_length({DEMO_MAX_LINE})\n\
             refuses a longer line. Decoding {shown:?}:"
        ),
        Lang::Zh => writeln!(
            out,
            "tokio-util 的 LinesCodec 按换行符分帧。LinesCodec::new() 根本没有上限（对端一直\n\
             不发 \\n，缓冲区就无止境地长下去）；new_with_max_length({DEMO_MAX_LINE}) 会拒绝更长的行。\n\
             解码 {shown:?}："
        ),
    };
    for _ in 0..8 {
        match codec.decode(&mut buf) {
            Ok(Some(line)) => {
                let _ = writeln!(out, "  {} {line:?}", lang.pick("line", "行"));
            }
            Ok(None) => break,
            Err(e) => {
                let _ = writeln!(out, "  {}{e}", lang.pick("error: ", "出错："));
            }
        }
    }
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "After the error the codec throws away the rest of the long line and goes on at the\n\
             next newline (a Framed stream, though, ends at the first error). The payload\n\
             \"bin\\nary\" comes out as two lines: a delimiter is not binary-safe, a length is.\n\
             The framing gallery's chapter compares LinesCodec with the gallery's own line decoder.",
            "出错之后，编解码器丢掉这行超长内容剩下的部分，从下一个换行符接着解码（不过\n\
             Framed 流遇到第一个错误就结束了）。负载 \"bin\\nary\" 被拆成了两行：分隔符不是\n\
             二进制安全的，长度才是。分帧画廊那一章把 LinesCodec 和画廊自己的行解码器做了对比。"
        )
    );
    out
}

// ---------------------------------------------------------------------------
// The whole demo
// ---------------------------------------------------------------------------

/// The conversation part of the demo, with its timeline and verdict.
pub fn conversation_transcript() -> io::Result<String> {
    conversation_transcript_in(Lang::En)
}

/// [`conversation_transcript`] told in `lang`.
pub fn conversation_transcript_in(lang: Lang) -> io::Result<String> {
    Ok(render_conversation(&run_conversation_in(lang)?, lang))
}

/// The whole demo: heading, conversation, interoperation, hostile lengths,
/// the defaults, `LinesCodec`, and how to try it in two terminals.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_in(Lang::En)
}

/// [`demo_transcript`] told in `lang`.
pub fn demo_transcript_in(lang: Lang) -> io::Result<String> {
    let rt = runtime()?;
    let conv = rt.block_on(conversation(lang))?;
    let interop = rt.block_on(interop_transcript(lang))?;
    let hostile = rt.block_on(hostile_transcript(lang))?;
    let mut out = String::new();
    let title = lang.pick(
        "Part II, tokio-length: stage 4's protocol with tokio and LengthDelimitedCodec",
        "第二部分，tokio-length：用 tokio 和 LengthDelimitedCodec 实现第 4 阶段的协议",
    );
    let _ = writeln!(out, "{title}\n{}", "=".repeat(common::lang::width(title)));
    let _ = writeln!(out);
    let sections = [
        (
            lang.pick(
                "1. The conversation of stages 2 to 4, on tokio",
                "1. 第 2～4 阶段的那段对话，跑在 tokio 上",
            ),
            render_conversation(&conv, lang),
        ),
        (
            lang.pick(
                "2. Byte for byte: stage 4 and the codec talk to each other",
                "2. 逐字节兼容：第 4 阶段和编解码器互相通信",
            ),
            interop,
        ),
        (
            lang.pick(
                "3. Hostile lengths: refused, and the server keeps serving",
                "3. 恶意长度：被拒绝，服务端照常服务",
            ),
            hostile,
        ),
        (
            lang.pick(
                "4. Where the codec's defaults bite",
                "4. 编解码器的默认设置在哪里咬人",
            ),
            defaults_transcript(lang),
        ),
        (
            lang.pick(
                "5. LinesCodec: a maximum line length",
                "5. LinesCodec：行长上限",
            ),
            lines_transcript(lang),
        ),
    ];
    for (title, body) in sections {
        let _ = writeln!(out, "{title}\n{}", "-".repeat(common::lang::width(title)));
        out.push_str(&body);
        let _ = writeln!(out);
    }
    let title = lang.pick("6. Try it in two terminals", "6. 在两个终端里亲手试试");
    let _ = writeln!(out, "{title}\n{}", "-".repeat(common::lang::width(title)));
    let _ = match lang {
        Lang::En => writeln!(
            out,
            "  terminal 1: cargo run -p tokio-length -- server\n\
             \x20 terminal 2: cargo run -p length-header-fix -- client     (stage 4's client)\n\
             \x20             > seq 1 400\n\
             \x20 or the other way round: length-header-fix -- server, tokio-length -- client.\n\
             \x20 Both listen on 127.0.0.1:8008 by default, so run one server at a time.\n\
             \x20 On Windows, start the server with --builtin: cmd has no seq or true."
        ),
        Lang::Zh => writeln!(
            out,
            "  终端 1：cargo run -p tokio-length -- server\n\
             \x20 终端 2：cargo run -p length-header-fix -- client     （第 4 阶段的客户端）\n\
             \x20         > seq 1 400\n\
             \x20 反过来也行：length-header-fix -- server 配 tokio-length -- client。\n\
             \x20 两个服务端默认都监听 127.0.0.1:8008，所以一次只开一个。\n\
             \x20 在 Windows 上启动服务端时加 --builtin：cmd 里没有 seq 和 true。"
        ),
    };
    Ok(out)
}

/// The bytes as `d4 05 00 00`.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
