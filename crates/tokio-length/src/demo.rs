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
use common::demo::{Verdict, EXEC_SCRIPT};
use common::sync::DEFAULT_SYNC_TIMEOUT;
use common::text::wrap;
use common::{run_shell, spawn_loopback, Timeline};
use length_header_fix::encode_header;
use std::fmt::Write as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, LengthDelimitedCodec, LinesCodec};

/// The line length the `LinesCodec` section allows.
pub const DEMO_MAX_LINE: usize = 16;

// ---------------------------------------------------------------------------
// Taps: the demo watches the socket, the lesson code never knows
// ---------------------------------------------------------------------------

/// The client's socket, with every read recorded in a timeline.
struct ReadTap<S> {
    inner: S,
    timeline: Timeline,
    consumed: usize,
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadTap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let n = buf.filled().len() - before;
            this.timeline.read(n);
            this.consumed += n;
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadTap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The server's socket: every write is recorded as one message, and after
/// every flush that wrote something new the client is told the total.
struct TurnSignal<S> {
    inner: S,
    timeline: Timeline,
    written: usize,
    signalled: usize,
    turns: mpsc::UnboundedSender<usize>,
}

impl<S: AsyncRead + Unpin> AsyncRead for TurnSignal<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TurnSignal<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            this.timeline.sent(*n);
            this.written += n;
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = &poll {
            if this.written != this.signalled {
                this.signalled = this.written;
                // The client may have gone already; the server's next read notices.
                let _ = this.turns.send(this.written);
            }
        }
        poll
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
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
    runtime()?.block_on(conversation())
}

async fn conversation() -> io::Result<Conversation> {
    let commands: Vec<String> = EXEC_SCRIPT.iter().map(|c| c.to_string()).collect();
    let config = ServerConfig::default();
    let timeline = Timeline::with_labels(
        "server -> client",
        commands.iter().map(|c| format!("reply frame to `{c}`")),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (turns_tx, mut turns) = mpsc::unbounded_channel();
    let server_timeline = timeline.clone();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        let conn = TurnSignal {
            inner: stream,
            timeline: server_timeline,
            written: 0,
            signalled: 0,
            turns: turns_tx,
        };
        serve_connection(conn, &config)
            .await
            .map_err(io::Error::from)
    });

    let stream = TcpStream::connect(addr).await?;
    let tap = ReadTap {
        inner: stream,
        timeline: timeline.clone(),
        consumed: 0,
    };
    let mut conn = framed(tap, config.max_frame);
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
        let tap = conn.get_ref();
        wait_for_bytes(&tap.inner, written.saturating_sub(tap.consumed)).await?;
        replies.push(recv_reply(&mut conn).await?);
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
        let expected = run_shell(command, config.limits)?.reply();
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

fn render_conversation(conv: &Conversation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "The same frames as stage 4 (4-byte little-endian length, then the body), read and\n\
         written by tokio-util's LengthDelimitedCodec. An async server and client on\n\
         127.0.0.1 run {} commands:",
        conv.commands.len()
    );
    let _ = writeln!(out);
    for (command, reply) in conv.commands.iter().zip(&conv.replies) {
        let request = encode_header(command.len()).unwrap_or_default();
        let header = encode_header(reply.len()).unwrap_or_default();
        let _ = writeln!(out, "> {command}");
        if reply.is_empty() {
            let _ = writeln!(out, "(empty reply)");
        } else {
            out.push_str(&common::text::lines_preview(
                reply,
                "",
                common::lang::Lang::En,
            ));
        }
        let _ = writeln!(
            out,
            "(request: {} + {command:?}; reply: {} + {} bytes)",
            hex(&request),
            hex(&header),
            reply.len()
        );
    }
    let _ = writeln!(out);
    out.push_str(&conv.timeline.render());
    let _ = writeln!(out);
    let analysis = conv.timeline.analysis();
    let _ = writeln!(
        out,
        "Stage 4's read_frame asks the socket for exactly what the current frame still needs\n\
         (4 header bytes, then the body), so its long reply took 3 reads of at most 1024 bytes.\n\
         The codec instead reads whatever the socket holds into one buffer it keeps for the\n\
         whole connection (8 KiB to start, grown only for a larger frame) and cuts every whole\n\
         frame out of it: here {} read(s) for {} replies, {} sticky, {} split. Had two replies\n\
         arrived in one read, the codec would have cut both out of it; had one been cut across\n\
         reads, it would have waited for the rest. That loop is the library's, not ours.",
        analysis.reads.len(),
        conv.replies.len(),
        analysis.sticky_reads,
        analysis.split_messages
    );
    let _ = writeln!(out);
    match &conv.verdict {
        Verdict::Intact => {
            let _ = writeln!(
                out,
                "Verdict: intact: {} of {} replies arrived whole and in order, each byte for byte\n\
                 \x20 what running its command locally prints, the empty one included.",
                conv.replies.len(),
                conv.commands.len()
            );
        }
        Verdict::Broken(why) => {
            let _ = writeln!(out, "Verdict: broken: {why}");
        }
    }
    out
}

// ---------------------------------------------------------------------------
// 2. Stage 4 and the codec, talking to each other
// ---------------------------------------------------------------------------

/// One command each way: stage 4's std client against this async server,
/// and this async client against stage 4's std server. Returns the two
/// replies.
async fn interop(command: &str) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        serve_connection(stream, &ServerConfig::default())
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
        length_header_fix::serve_connection(
            &mut stream,
            &length_header_fix::ServerConfig::default(),
        )
        .map_err(io::Error::from)
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

async fn interop_transcript() -> io::Result<String> {
    let command = "seq 1 400";
    let (from_std_client, from_async_client) = interop(command).await?;
    let expected = run_shell(command, ServerConfig::default().limits)?.reply();
    let judge = |reply: &[u8]| {
        if reply == expected.as_slice() {
            format!(
                "{} bytes, byte for byte what `{command}` prints",
                reply.len()
            )
        } else {
            format!("{} bytes, NOT what `{command}` prints", reply.len())
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Same wire format, so either end can be either implementation:\n\
         \x20 stage 4's std client -> this async server:    {}\n\
         \x20 this async client    -> stage 4's std server: {}",
        judge(&from_std_client),
        judge(&from_async_client)
    );
    Ok(out)
}

// ---------------------------------------------------------------------------
// 3. Hostile lengths
// ---------------------------------------------------------------------------

/// What a decoder makes of `bytes`, in a few words.
fn decode_words<D>(decoder: &mut D, bytes: &[u8]) -> String
where
    D: Decoder<Item = BytesMut>,
    D::Error: std::fmt::Display,
{
    let mut buf = BytesMut::from(bytes);
    match decoder.decode(&mut buf) {
        Ok(Some(frame)) => format!("a frame of {} bytes", frame.len()),
        Ok(None) => format!(
            "Ok(None): not enough bytes yet; waits, its buffer grown to {} bytes",
            buf.capacity()
        ),
        Err(e) => format!("error: {e}"),
    }
}

async fn hostile_transcript() -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // One connection at a time, so the transcript's order is fixed; `serve`
    // does the same per connection, in tasks.
    let server = tokio::spawn(async move {
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let (stream, _) = listener.accept().await?;
            outcomes.push(describe_outcome(
                &serve_connection(stream, &ServerConfig::default()).await,
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
        "The codec refuses a length over its maximum before it reads the body. What the bare\n\
         codec (configured as above) and this crate's FrameCodec say about the same headers:"
    );
    for (header, what) in [(huge, "2^31 - 1"), (negative, "-1")] {
        let bare = decode_words(&mut length_codec(DEFAULT_MAX_FRAME), &header);
        let ours = decode_words(&mut FrameCodec::default(), &header);
        let _ = writeln!(out, "  {}  ({what})", hex(&header));
        out.push_str(&wrap(
            &format!("LengthDelimitedCodec: {bare}"),
            88,
            "    ",
            "      ",
        ));
        out.push_str(&wrap(&format!("FrameCodec: {ours}"), 88, "    ", "      "));
    }
    let _ = writeln!(
        out,
        "The codec's lengths are unsigned: -1 is refused as 4294967295, too big, not as\n\
         negative. FrameCodec reads the refused header again with stage 4's decode_header\n\
         to say which. Over real sockets, with the async server:"
    );
    for (i, (name, header)) in [("client A", huge), ("client B", negative)]
        .iter()
        .enumerate()
    {
        let _ = writeln!(out, "{name} sends only a header: {}", hex(header));
        let log = outcomes.get(i).map_or("(no log)", String::as_str);
        out.push_str(&wrap(
            &format!("server log: {name}: {log}"),
            88,
            "  ",
            "    ",
        ));
        let _ = writeln!(
            out,
            "  {name} sees the connection closed after {} reply bytes",
            closed.get(i).copied().unwrap_or_default()
        );
    }
    let _ = writeln!(out, "client C: > echo still serving");
    out.push_str(&common::text::lines_preview(
        &reply,
        "  ",
        common::lang::Lang::En,
    ));
    let log = outcomes.get(2).map_or("(no log)", String::as_str);
    out.push_str(&wrap(
        &format!("server log: client C: {log}"),
        88,
        "  ",
        "    ",
    ));
    Ok(out)
}

// ---------------------------------------------------------------------------
// 4. Where the defaults bite
// ---------------------------------------------------------------------------

fn defaults_transcript() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "LengthDelimitedCodec::new() reads a big-endian length and allows 8 MiB. Each case\n\
         below leaves one of length_codec's settings out and hands the codec stage 4's bytes:"
    );
    let mut reply = encode_header(1492).unwrap_or_default().to_vec();
    reply.extend(std::iter::repeat_n(b'x', 1492));
    let mut kib = encode_header(1024).unwrap_or_default().to_vec();
    kib.extend(std::iter::repeat_n(b'x', 1024));
    let ten_mib = encode_header(10 * 1024 * 1024).unwrap_or_default();
    let little_endian_only = || LengthDelimitedCodec::builder().little_endian().new_codec();
    let cases: [(&str, &str, LengthDelimitedCodec, &[u8]); 3] = [
        (
            "a 1492-byte reply, d4 05 00 00 + body",
            "LengthDelimitedCodec::new()",
            LengthDelimitedCodec::new(),
            &reply,
        ),
        (
            "a 1024-byte reply, 00 04 00 00 + body",
            "LengthDelimitedCodec::new()",
            LengthDelimitedCodec::new(),
            &kib,
        ),
        (
            "a 10 MiB reply's header, 00 00 a0 00",
            "little_endian() only",
            little_endian_only(),
            &ten_mib,
        ),
    ];
    for (what, name, mut codec, bytes) in cases {
        let default = decode_words(&mut codec, bytes);
        let stage4 = decode_words(&mut FrameCodec::default(), bytes);
        let _ = writeln!(out, "  {what}");
        out.push_str(&wrap(&format!("{name}: {default}"), 88, "    ", "      "));
        out.push_str(&wrap(
            &format!("FrameCodec: {stage4}"),
            88,
            "    ",
            "      ",
        ));
    }
    let as_big_endian = |len: usize| u32::from_be_bytes(encode_header(len).unwrap_or_default());
    let _ = writeln!(
        out,
        "Big-endian, 1492 reads as {} and is refused; 1024 is worse: it reads as {},\n\
         under the maximum, so the codec grows its buffer for a body that never comes and\n\
         waits. A real stage-4 reply of 10 MiB is over the 8 MiB default. Hence little_endian()\n\
         and max_frame_length(16 MiB) in length_codec. Note also what FrameCodec's buffer did\n\
         with the 10 MiB header alone: the codec reserves the whole announced body at once,\n\
         where stage 4's read_frame grows its buffer only as the bytes arrive (64 KiB ahead).",
        as_big_endian(1492),
        as_big_endian(1024)
    );
    out
}

// ---------------------------------------------------------------------------
// 5. LinesCodec
// ---------------------------------------------------------------------------

fn lines_transcript() -> String {
    let input: &[u8] = b"hello\nthis line is far longer than sixteen bytes\nafter\nbin\x0aary\n";
    let mut codec = LinesCodec::new_with_max_length(DEMO_MAX_LINE);
    let mut buf = BytesMut::from(input);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "tokio-util's LinesCodec frames by newline. LinesCodec::new() has no maximum at all (a\n\
         peer that never sends \\n grows the buffer without end); new_with_max_length({DEMO_MAX_LINE})\n\
         refuses a longer line. Decoding {:?}:",
        String::from_utf8_lossy(input)
    );
    for _ in 0..8 {
        match codec.decode(&mut buf) {
            Ok(Some(line)) => {
                let _ = writeln!(out, "  line {line:?}");
            }
            Ok(None) => break,
            Err(e) => {
                let _ = writeln!(out, "  error: {e}");
            }
        }
    }
    let _ = writeln!(
        out,
        "After the error the codec throws away the rest of the long line and goes on at the\n\
         next newline (a Framed stream, though, ends at the first error). The payload\n\
         \"bin\\nary\" comes out as two lines: a delimiter is not binary-safe, a length is.\n\
         The framing gallery's chapter compares LinesCodec with the gallery's own line decoder."
    );
    out
}

// ---------------------------------------------------------------------------
// The whole demo
// ---------------------------------------------------------------------------

/// The conversation part of the demo, with its timeline and verdict.
pub fn conversation_transcript() -> io::Result<String> {
    Ok(render_conversation(&run_conversation()?))
}

/// The whole demo: heading, conversation, interoperation, hostile lengths,
/// the defaults, `LinesCodec`, and how to try it in two terminals.
pub fn demo_transcript() -> io::Result<String> {
    let rt = runtime()?;
    let conv = rt.block_on(conversation())?;
    let interop = rt.block_on(interop_transcript())?;
    let hostile = rt.block_on(hostile_transcript())?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Part II, tokio-length: stage 4's protocol with tokio and LengthDelimitedCodec\n\
         =============================================================================="
    );
    let _ = writeln!(out);
    let sections = [
        (
            "1. The conversation of stages 2 to 4, on tokio",
            render_conversation(&conv),
        ),
        (
            "2. Byte for byte: stage 4 and the codec talk to each other",
            interop,
        ),
        (
            "3. Hostile lengths: refused, and the server keeps serving",
            hostile,
        ),
        ("4. Where the codec's defaults bite", defaults_transcript()),
        ("5. LinesCodec: a maximum line length", lines_transcript()),
    ];
    for (title, body) in sections {
        let _ = writeln!(out, "{title}\n{}", "-".repeat(title.chars().count()));
        out.push_str(&body);
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "6. Try it in two terminals\n--------------------------"
    );
    let _ = writeln!(
        out,
        "  terminal 1: cargo run -p tokio-length -- server\n\
         \x20 terminal 2: cargo run -p length-header-fix -- client     (stage 4's client)\n\
         \x20             > seq 1 400\n\
         \x20 or the other way round: length-header-fix -- server, tokio-length -- client.\n\
         \x20 Both listen on 127.0.0.1:8008 by default, so run one server at a time."
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
