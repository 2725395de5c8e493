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
use crate::codec::DEFAULT_MAX_FRAME;
use crate::server::{serve_connection, ServerConfig};
use crate::tap::Tap;
use common::demo::{Verdict, EXEC_SCRIPT};
use common::lang::{pad, Lang};
use common::sync::DEFAULT_SYNC_TIMEOUT;
use common::text::lines_preview;
use common::{run_command, spawn_loopback, Interpreter, Timeline};
use length_header_fix::{encode_header, FrameError, HEADER_LEN};
use std::fmt::Write as _;
use std::io;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, LinesCodec};

// Sections 3 and 4, what the codec makes of lengths (hostile ones, and
// stage 4's under its defaults), share their helpers and live apart.
mod lengths;

use lengths::{defaults_transcript, hostile_transcript};

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
        let (request, header, len) = (hex(&request), hex(&header), reply.len());
        let framing = match lang {
            Lang::En => {
                format!("(request: {request} + {command:?}; reply: {header} + {len} bytes)")
            }
            Lang::Zh => format!("（请求：{request} + {command:?}；回复：{header} + {len} 字节）"),
        };
        let _ = writeln!(out, "{framing}");
    }
    let _ = writeln!(out);
    out.push_str(&conv.timeline.render_in(lang));
    let _ = writeln!(out);
    let analysis = conv.timeline.analysis();
    let (reads, replies) = (analysis.reads.len(), conv.replies.len());
    let (sticky, split) = (analysis.sticky_reads, analysis.split_messages);
    let reads_paragraph = match lang {
        Lang::En => format!(
            "Stage 4's read_frame asks the socket for exactly what the current frame still needs\n\
             (4 header bytes, then the body), so its long reply took 3 reads of at most 1024 bytes.\n\
             The codec instead reads whatever the socket holds into one buffer it keeps for the\n\
             whole connection (8 KiB to start, grown only for a larger frame) and cuts every whole\n\
             frame out of it: here {reads} read(s) for {replies} replies, {sticky} sticky, {split} split. Had two replies\n\
             arrived in one read, the codec would have cut both out of it; had one been cut across\n\
             reads, it would have waited for the rest. That loop is the library's, not ours."
        ),
        Lang::Zh => format!(
            "第 4 阶段的 read_frame 每次只向套接字要当前这一帧还缺的字节（先 4 字节长度头，\n\
             再要消息体），所以那条长回复用了 3 次最多 1024 字节的读取。编解码器则不同：\n\
             套接字里有多少就读多少，读进一个整条连接共用的缓冲区（起步 8 KiB，只为更大的帧\n\
             才扩容），再从里面切出每一个完整的帧：这里 {replies} 条回复用了 {reads} 次读取，粘包 {sticky} 次，\n\
             拆包 {split} 次。要是两条回复在一次读取里粘在一起，编解码器会把两条都切出来；\n\
             要是一条回复被拆到几次读取里，它会等剩下的字节到齐。这个循环是库写的，不是我们写的。"
        ),
    };
    let (received, sent) = (conv.replies.len(), conv.commands.len());
    let verdict = match (&conv.verdict, lang) {
        (Verdict::Intact, Lang::En) => format!(
            "Verdict: intact: {received} of {sent} replies arrived whole and in order, each byte for byte\n\
             \x20 what running its command locally prints, the empty one included."
        ),
        (Verdict::Intact, Lang::Zh) => format!(
            "结论：完好：{received} 条回复（共 {sent} 条）都完整、按顺序到达，每条都和在本机执行该命令\n\
             \x20 的输出逐字节相同，空回复也不例外。"
        ),
        (Verdict::Broken(why), _) => {
            format!("{}{why}", lang.pick("Verdict: broken: ", "结论：出错："))
        }
    };
    let _ = writeln!(out, "{reads_paragraph}\n\n{verdict}");
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
    let judge = |reply: &[u8]| {
        let (n, same) = (reply.len(), reply == expected.as_slice());
        match lang {
            Lang::En => {
                let how = if same { "byte for byte" } else { "NOT" };
                format!("{n} bytes, {how} what `{command}` prints")
            }
            Lang::Zh => {
                let how = if same {
                    "逐字节相同"
                } else {
                    "【不】一样"
                };
                format!("{n} 字节，和 `{command}` 的输出{how}")
            }
        }
    };
    // The two directions as two aligned rows: the ends' names, then the
    // columns they are padded to (by display width, for the Chinese).
    let (heading, [std_client, async_server, async_client, std_server], [left, right]) = match lang
    {
        Lang::En => (
            "Same wire format, so either end can be either implementation:",
            [
                "stage 4's std client",
                "this async server:",
                "this async client",
                "stage 4's std server:",
            ],
            [20, 22],
        ),
        Lang::Zh => (
            "线上格式相同，所以两端用哪种实现都行：",
            [
                "第 4 阶段的 std 客户端",
                "本 crate 的异步服务端：",
                "本 crate 的异步客户端",
                "第 4 阶段的 std 服务端：",
            ],
            [22, 26],
        ),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{heading}\n  {} -> {}{}\n  {} -> {}{}",
        pad(std_client, left),
        pad(async_server, right),
        judge(&from_std_client),
        pad(async_client, left),
        pad(std_server, right),
        judge(&from_async_client)
    );
    Ok(out)
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
    let intro = match lang {
        Lang::En => format!(
            "tokio-util's LinesCodec frames by newline. LinesCodec::new() has no maximum at all (a\n\
             peer that never sends \\n grows the buffer without end); new_with_max_length({DEMO_MAX_LINE})\n\
             refuses a longer line. Decoding {shown:?}:"
        ),
        Lang::Zh => format!(
            "tokio-util 的 LinesCodec 按换行符分帧。LinesCodec::new() 根本没有上限（对端一直\n\
             不发 \\n，缓冲区就无止境地长下去）；new_with_max_length({DEMO_MAX_LINE}) 会拒绝更长的行。\n\
             解码 {shown:?}："
        ),
    };
    let _ = writeln!(out, "{intro}");
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
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "  terminal 1: cargo run -p tokio-length -- server\n\
             \x20 terminal 2: cargo run -p length-header-fix -- client     (stage 4's client)\n\
             \x20             > seq 1 400\n\
             \x20 or the other way round: length-header-fix -- server, tokio-length -- client.\n\
             \x20 Both listen on 127.0.0.1:8008 by default, so run one server at a time.\n\
             \x20 On Windows, start the server with --builtin: cmd has no seq or true.",
            "  终端 1：cargo run -p tokio-length -- server\n\
             \x20 终端 2：cargo run -p length-header-fix -- client     （第 4 阶段的客户端）\n\
             \x20         > seq 1 400\n\
             \x20 反过来也行：length-header-fix -- server 配 tokio-length -- client。\n\
             \x20 两个服务端默认都监听 127.0.0.1:8008，所以一次只开一个。\n\
             \x20 在 Windows 上启动服务端时加 --builtin：cmd 里没有 seq 和 true。"
        )
    );
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
