//! Stage 4, `length-header-fix`: put a length in front of every message.
//!
//! # The lesson
//!
//! TCP carries bytes, not messages: stage 2 showed one reply spilling into the
//! next, stage 3 hid the problem behind a pause that only works by luck of
//! timing. The fix every real protocol uses is to say, in front of each
//! message, how long it is. The reader first reads exactly the header, then
//! exactly as many bytes as the header announced, looping over short reads
//! both times. No read can then take bytes of the next message (it never asks
//! for them), and a message cut across several reads is put back together.
//!
//! # Wire format (both directions)
//!
//! ```text
//! +----------------------+---------------------+
//! | length: i32, LE (4)  | body: length bytes  |
//! +----------------------+---------------------+
//! ```
//!
//! The length is what Python's `struct.pack("i", n)` writes on x86 and ARM.
//! A request is one frame holding the command line; a reply is one frame
//! holding the command's stdout then stderr
//! ([`common::ShellOutput::reply`]). An empty body is a real message: the
//! reply to `true` is the 4 bytes `00 00 00 00`, which stage 2 could not send.
//!
//! # Known weaknesses, and what this stage does about them
//!
//! - A length is a promise the reader cannot check until the bytes come. A
//!   hostile or confused peer can claim 2 GiB or a negative length: the reader
//!   refuses both before allocating anything ([`framing::decode_header`]).
//! - Both ends must agree on the byte order. Read big-endian, the 1,492 of
//!   `d4 05 00 00` becomes 3,557,097,472; the maximum-frame guard catches most
//!   such mix-ups, not all of them (the demo shows one it misses).
//! - Header and body must leave in one write: as two small writes they meet
//!   Nagle's algorithm and delayed ACK and every reply stalls about 40 ms on
//!   Linux ([`framing::write_frame_in_two_writes`] keeps the mistake for the
//!   cost table; [`ServerConfig::two_writes`] turns it on).
//!
//! # Layout
//!
//! - [`framing`]: the technique itself, reused by stage 6: [`write_frame`]
//!   (one write per frame, never a flush: the caller flushes when it waits
//!   for an answer), [`read_frame`] and [`read_frame_into`] (one buffer for
//!   every frame), the header codec and [`FrameError`].
//! - [`reader`]: [`FrameReader`], the same frames read for speed: each body
//!   a slice of one read buffer, as tokio-util's `FramedRead` does.
//! - [`serve`] and [`serve_connection`]: the remote-execution server, one
//!   thread per connection; a bad client is logged and never stops it.
//! - [`send_command`], [`recv_reply`] and [`run_client`]: the client.
//! - [`conversation_transcript`] and [`demo_transcript`]: the demo, with the
//!   boundary timeline that shows the long reply arriving in three reads.

pub mod framing;
pub mod reader;

pub use framing::{
    decode_header, encode_header, read_frame, read_frame_into, read_header, write_frame,
    write_frame_in_two_writes, FrameError, Part, DEFAULT_MAX_FRAME, HEADER_LEN,
};
pub use reader::{FrameReader, DEFAULT_READ_BUFFER};

use common::cli::InputLines;
use common::demo::{Verdict, EXEC_SCRIPT};
use common::encoding::Encoding;
use common::lang::Lang;
use common::sync::{wait_for_bytes, DEFAULT_SYNC_TIMEOUT};
use common::text::wrap;
use common::{run_shell, spawn_loopback, Acceptor, Limits, ShellLimits, Tap, Timeline};
use std::fmt::Write as _;
use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

/// The reads of the demo client are capped at this many bytes, like the
/// classic tutorial's `recv(1024)`.
pub const DEMO_READ_SIZE: usize = 1024;

/// The largest request the server accepts unless told otherwise: 128 KiB,
/// what one command line can be (Linux refuses a single argument longer than
/// 32 pages, `MAX_ARG_STRLEN` in `execve(2)`). Replies are not limited by
/// this: they are what the command printed, up to the output cap.
pub const MAX_REQUEST: usize = 128 * 1024;

/// How long the two-terminal client waits for a reply before it gives up.
/// Longer than the server's default command timeout (5 s), so a slow command
/// is answered; finite, so a server that never answers (a stage-2 server
/// asked to run `true`) cannot hang the client.
pub const CLIENT_REPLY_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// How the server runs commands and reads requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Timeout and output cap for every command.
    pub limits: ShellLimits,
    /// The largest request body the server accepts ([`MAX_REQUEST`]).
    pub max_frame: usize,
    /// **The anti-pattern**, for the cost measurement only: send each reply's
    /// header and body as two writes ([`write_frame_in_two_writes`]) and pay
    /// the Nagle / delayed-ACK stall on every reply.
    pub two_writes: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: ShellLimits::default(),
            max_frame: MAX_REQUEST,
            two_writes: false,
        }
    }
}

/// Serves every client that connects to `listener`, each on a thread of its
/// own, until the process ends, under common's default connection limits
/// ([`serve_with`] takes others).
///
/// A client that sends garbage, a hostile length, closes mid-frame, says
/// nothing or drips its frame a byte at a time is logged to stderr and
/// disconnected; the server keeps serving everyone else.
///
/// Note what is *not* here: no `set_nodelay(true)`. Switching Nagle's
/// algorithm off would hide the 40 ms stall of a two-write reply, but the cure
/// for that stall is to hand each frame to the kernel in one write, which
/// [`write_frame`] does; with one write per reply there is nothing for Nagle
/// to hold back, and the socket keeps its ordinary, well-behaved defaults.
pub fn serve(listener: TcpListener, config: ServerConfig) -> io::Result<()> {
    serve_with(listener, config, Acceptor::new(Limits::default()))
}

/// [`serve`] under the limits of `acceptor`. Each reply frame is a write,
/// which marks the end of the request it answers. Memory per connection is
/// bounded by [`ServerConfig::max_frame`] (a request is at most
/// [`MAX_REQUEST`] unless told otherwise) plus the reply, itself capped by
/// the command's output cap, so the whole server is bounded by the
/// connection cap times that. A full server refuses with a reply frame that
/// says so, which the client shows like any reply.
pub fn serve_with(
    listener: TcpListener,
    config: ServerConfig,
    acceptor: Acceptor,
) -> io::Result<()> {
    let acceptor = acceptor.refuse_with(|text| {
        let mut frame = Vec::new();
        // A refusal is a few dozen bytes: it always fits a frame.
        let _ = write_frame(
            &mut frame,
            format!("{text}\n").as_bytes(),
            DEFAULT_MAX_FRAME,
        );
        frame
    });
    acceptor.serve(listener, move |mut stream| {
        let peer = stream.peer();
        eprintln!("{peer}: connected");
        let outcome = serve_connection(&mut stream, &config);
        eprintln!("{peer}: {}", describe_outcome(&outcome));
    })
}

/// Serves one connection: reads request frames until the client closes
/// between frames, runs each command, and answers each with one reply frame.
///
/// Returns how many commands were answered, or why the connection had to be
/// dropped. After a bad header the stream cannot be trusted any more (where
/// would the next frame start?), so the only safe answer is to close it.
pub fn serve_connection<S: Read + Write + ?Sized>(
    stream: &mut S,
    config: &ServerConfig,
) -> Result<usize, FrameError> {
    let mut answered = 0;
    while let Some(request) = read_frame(stream, config.max_frame)? {
        // `sh -c` takes text; a command line that is not UTF-8 runs with its
        // bad bytes replaced, and the shell then says what it could not find.
        let command = String::from_utf8_lossy(&request);
        let reply = match run_shell(&command, config.limits) {
            Ok(output) => output.reply(),
            Err(e) => format!("[server: could not start the shell: {e}]\n").into_bytes(),
        };
        if config.two_writes {
            write_frame_in_two_writes(stream, &reply)?;
        } else {
            write_frame(stream, &reply, DEFAULT_MAX_FRAME)?;
        }
        // The client now waits for this reply: the one moment to flush.
        stream.flush()?;
        answered += 1;
    }
    Ok(answered)
}

/// The server's log line for how a connection ended.
pub fn describe_outcome(outcome: &Result<usize, FrameError>) -> String {
    match outcome {
        Ok(n) => format!("closed the connection after {n} command(s)"),
        Err(e) => format!("{e}; connection dropped, still serving other clients"),
    }
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

/// Sends one command line as one request frame, and flushes it: the client
/// waits for the answer next. A command over [`MAX_REQUEST`] is refused here,
/// before a byte is sent, since the server would refuse it anyway.
pub fn send_command<W: Write + ?Sized>(w: &mut W, cmd: &str) -> io::Result<()> {
    write_frame(w, cmd.as_bytes(), MAX_REQUEST)?;
    w.flush()
}

/// Receives one reply frame, refusing bodies over `max` bytes.
///
/// Unlike [`read_frame`], a clean close is an error here: the client sent a
/// command and is owed an answer.
pub fn recv_reply<R: Read + ?Sized>(r: &mut R, max: usize) -> Result<Vec<u8>, FrameError> {
    match read_frame(r, max)? {
        Some(reply) => Ok(reply),
        None => Err(FrameError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection instead of replying (it may have refused our \
             request; its terminal says why)",
        ))),
    }
}

/// The two-terminal client: connects to `addr`, sends every line of `input`
/// as a command until `exit` or the end of input, and writes each reply to
/// `out`, decoded with `encoding` (`--encoding`), after a line that marks it
/// (see [`reply_mark`]); `(empty reply)` for an empty one. Returns how many
/// commands were answered.
///
/// Every reply is decoded whole, because it arrives whole: a character can
/// never be cut between two replies here, unlike stage 2's reads.
///
/// An empty line is sent too: it is an empty frame, a real message, and
/// `sh -c ''` answers it with an empty reply.
pub fn run_client<B: BufRead, O: Write>(
    addr: SocketAddr,
    max_frame: usize,
    encoding: Encoding,
    input: &mut InputLines<B>,
    out: &mut O,
) -> io::Result<usize> {
    let mut stream = TcpStream::connect(addr).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "could not connect to {addr}: {e}. Is the server running? Start it with \
                 `cargo run -p length-header-fix -- server --addr {addr}`"
            ),
        )
    })?;
    stream.set_read_timeout(Some(CLIENT_REPLY_TIMEOUT))?;
    let mut answered = 0;
    while let Some(line) = input.next_line()? {
        if line.trim() == "exit" {
            break;
        }
        send_command(&mut stream, &line)?;
        let reply = recv_reply(&mut stream, max_frame).map_err(|e| client_error(e, &line))?;
        writeln!(out, "{}", reply_mark(&line, reply.len()))?;
        if reply.is_empty() {
            writeln!(out, "(empty reply)")?;
        } else {
            encoding.decode(&reply).show(out, "this reply")?;
        }
        out.flush()?;
        answered += 1;
    }
    Ok(answered)
}

/// The line that marks a whole reply before its bytes: which command it
/// answers and how long its body is. With a length header both are known
/// for certain, so the mark is a fact, not a guess as in stage 2.
pub fn reply_mark(command: &str, len: usize) -> String {
    if command.is_empty() {
        format!("── reply to the empty line: {len} B ──")
    } else {
        format!("── reply to `{command}`: {len} B ──")
    }
}

fn client_error(e: FrameError, command: &str) -> io::Error {
    let timed_out = matches!(&e, FrameError::Io(io) if common::netio::is_timeout(io));
    let reset = matches!(&e, FrameError::Io(io)
        if matches!(io.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted));
    let hint = if reset {
        format!("{e}: the server dropped the connection (it may have refused our request; its terminal says why)")
    } else if timed_out {
        format!(
            "no reply within {} s; is this a stage-4 server? (a stage-2 server sends nothing at \
             all for a command without output)",
            CLIENT_REPLY_TIMEOUT.as_secs()
        )
    } else if matches!(e, FrameError::TooLarge { .. } | FrameError::Negative(_)) {
        format!(
            "{e}. Is this a stage-4 server? Its first 4 bytes were not a little-endian length. \
             If the reply is really that long, raise --max-frame"
        )
    } else {
        e.to_string()
    };
    io::Error::other(format!(
        "the reply to `{command}` could not be read: {hint}"
    ))
}

// ---------------------------------------------------------------------------
// The demo
// ---------------------------------------------------------------------------

/// What the demo conversation produced, for the transcript and for tests.
#[derive(Clone, Debug)]
pub struct Conversation {
    /// The commands sent, in order ([`EXEC_SCRIPT`]).
    pub commands: Vec<String>,
    /// The reply bodies the client received, in order.
    pub replies: Vec<Vec<u8>>,
    /// What running each command locally printed: what each reply should be.
    pub expected: Vec<Vec<u8>>,
    /// The server -> client direction: one message per reply frame, and the
    /// client's reads (at most [`DEMO_READ_SIZE`] bytes each).
    pub timeline: Timeline,
    /// Did every reply arrive whole and in order?
    pub verdict: Verdict,
}

/// The server side of a demo connection: passes everything through, and on
/// every flush (the end of each reply frame) tells the client how many bytes
/// the server has written so far. The client waits until they have all
/// arrived before it reads, so every read returns the same bytes on every run.
struct TurnSignal<S> {
    inner: S,
    written: usize,
    turns: mpsc::Sender<usize>,
}

impl<S: Read> Read for TurnSignal<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<S: Write> Write for TurnSignal<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n;
        Ok(n)
    }

    // Passed through, so a frame stays one write (the default would write
    // only the header).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.inner.write_vectored(bufs)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()?;
        // The client may have gone already; the server's next read notices.
        let _ = self.turns.send(self.written);
        Ok(())
    }
}

/// Runs the shared script of stages 2-4 ([`EXEC_SCRIPT`]) through a real
/// stage-4 server and client on `127.0.0.1`, synchronised turn by turn.
pub fn run_conversation() -> io::Result<Conversation> {
    run_conversation_in(Lang::En)
}

/// [`run_conversation`] with the timeline's title and labels in `lang`.
pub fn run_conversation_in(lang: Lang) -> io::Result<Conversation> {
    let commands: Vec<String> = EXEC_SCRIPT.iter().map(|c| c.to_string()).collect();
    let config = ServerConfig::default();
    let timeline = Timeline::with_labels(
        lang.pick("server -> client", "服务端 -> 客户端"),
        commands.iter().map(|c| match lang {
            Lang::En => format!("reply frame to `{c}`"),
            Lang::Zh => format!("`{c}` 的回复帧"),
        }),
    );

    let (turns_tx, turns) = mpsc::channel();
    let server_timeline = timeline.clone();
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        let tap = Tap::new(stream).record_writes(server_timeline);
        let mut conn = TurnSignal {
            inner: tap,
            written: 0,
            turns: turns_tx,
        };
        serve_connection(&mut conn, &config).map_err(io::Error::from)
    })?;

    let client = (|| -> io::Result<Vec<Vec<u8>>> {
        let stream = TcpStream::connect(server.addr())?;
        let mut conn = Tap::new(stream)
            .record_reads(timeline.clone())
            .max_read(DEMO_READ_SIZE);
        let mut consumed = 0usize;
        let mut replies = Vec::new();
        for command in &commands {
            send_command(&mut conn, command)?;
            let written = turns.recv_timeout(DEFAULT_SYNC_TIMEOUT).map_err(|_| {
                io::Error::other(format!("demo: the server never answered `{command}`"))
            })?;
            wait_for_bytes(
                conn.get_ref(),
                written.saturating_sub(consumed),
                DEFAULT_SYNC_TIMEOUT,
            )?;
            let reply = recv_reply(&mut conn, config.max_frame)?;
            consumed += HEADER_LEN + reply.len();
            replies.push(reply);
        }
        Ok(replies)
        // `conn` is dropped here: the client closes between frames, which
        // the server takes as a clean end.
    })();
    let served = server.join();
    let replies = client?;
    let answered = served?;

    let mut expected = Vec::new();
    for command in &commands {
        expected.push(run_shell(command, config.limits)?.reply());
    }
    let verdict = judge(&commands, &replies, &expected, answered);
    Ok(Conversation {
        commands,
        replies,
        expected,
        timeline,
        verdict,
    })
}

fn judge(
    commands: &[String],
    replies: &[Vec<u8>],
    expected: &[Vec<u8>],
    answered: usize,
) -> Verdict {
    if replies.len() != commands.len() || answered != commands.len() {
        return Verdict::Broken(format!(
            "{} command(s) sent, {answered} answered, {} reply(ies) received",
            commands.len(),
            replies.len()
        ));
    }
    for (i, ((command, got), want)) in commands.iter().zip(replies).zip(expected).enumerate() {
        if got != want {
            return Verdict::Broken(format!(
                "reply {} (to `{command}`) is {} bytes where running it locally gives {}",
                i + 1,
                got.len(),
                want.len()
            ));
        }
    }
    Verdict::Intact
}

/// The conversation part of the demo: every command with its request frame
/// and its reply, the boundary timeline of the replies, how `read_frame` put
/// them back together, and the verdict.
pub fn conversation_transcript() -> io::Result<String> {
    conversation_transcript_in(Lang::En)
}

/// [`conversation_transcript`] told in `lang`.
pub fn conversation_transcript_in(lang: Lang) -> io::Result<String> {
    let conv = run_conversation_in(lang)?;
    Ok(render_conversation(&conv, lang))
}

fn render_conversation(conv: &Conversation, lang: Lang) -> String {
    if lang.is_zh() {
        return render_conversation_zh(conv);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "The client sends each command line as one frame; the server runs it and answers with\n\
         one frame holding what it printed. Frame = 4-byte little-endian length, then that\n\
         many bytes. A real server and client on 127.0.0.1 run {} commands:",
        conv.commands.len()
    );
    let _ = writeln!(out);
    for (command, reply) in conv.commands.iter().zip(&conv.replies) {
        let request = encode_header(command.len()).unwrap_or_default();
        let _ = writeln!(out, "> {command}");
        if reply.is_empty() {
            let _ = writeln!(out, "(empty reply)");
            let _ = writeln!(
                out,
                "(request: {} + {command:?}; reply: 00 00 00 00 and no body: a length of 0 is a\n\
                 \x20message a stream can carry, so the client knew `{command}` had answered, with nothing)",
                hex(&request)
            );
        } else {
            out.push_str(&common::text::lines_preview(reply, "", Lang::En));
            let header = encode_header(reply.len()).unwrap_or_default();
            let _ = writeln!(
                out,
                "(request: {} + {command:?}; reply: {} + {} bytes)",
                hex(&request),
                hex(&header),
                reply.len()
            );
        }
    }
    let _ = writeln!(out);
    out.push_str(&conv.timeline.render());
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "How read_frame put every reply back together (each read asks for at most {DEMO_READ_SIZE} \
         bytes,\nlike recv({DEMO_READ_SIZE})): first exactly the {HEADER_LEN} header bytes, then \
         exactly the body they announce."
    );
    let analysis = conv.timeline.analysis();
    for (i, (reads, reply)) in analysis.carried_by.iter().zip(&conv.replies).enumerate() {
        let sizes: Vec<String> = reads
            .iter()
            .filter_map(|r| analysis.reads.get(r - 1))
            .map(|r| r.len.to_string())
            .collect();
        let place = match reads.as_slice() {
            [one] => format!("read {one}"),
            [first, .., last] => format!("reads {first}-{last}"),
            [] => "no read".to_string(),
        };
        let body_reads = sizes.len().saturating_sub(1);
        let body = if reply.is_empty() {
            "the header says 0, so there is no body to read: an empty reply".to_string()
        } else if body_reads > 1 {
            format!(
                "the header says {0}, and read_frame\n         put the body's {1} pieces \
                 back together into one {0}-byte reply",
                reply.len(),
                body_reads
            )
        } else {
            format!("the header says {}, the body came in one read", reply.len())
        };
        let _ = writeln!(
            out,
            "  M{} = {place} ({} bytes): {body}",
            i + 1,
            sizes.join(" + ")
        );
    }
    let _ = writeln!(
        out,
        "No read ever asked for more than the current frame still needed, so no read could\n\
         take bytes of the next reply ({} sticky), and every frame cut across reads was joined\n\
         again ({} split, all whole).",
        analysis.sticky_reads, analysis.split_messages
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

/// [`render_conversation`] in Chinese, from the same conversation.
fn render_conversation_zh(conv: &Conversation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "客户端把每行命令作为一帧发出；服务端执行它，用一帧装着命令打印的内容作答。\n\
         帧 = 4 字节小端长度头，后面跟这么多字节的消息体。127.0.0.1 上真实的服务端和\n\
         客户端依次执行 {} 条命令：",
        conv.commands.len()
    );
    let _ = writeln!(out);
    for (command, reply) in conv.commands.iter().zip(&conv.replies) {
        let request = encode_header(command.len()).unwrap_or_default();
        let _ = writeln!(out, "> {command}");
        if reply.is_empty() {
            let _ = writeln!(out, "（空回复）");
            let _ = writeln!(
                out,
                "（请求：{} + {command:?}；回复：00 00 00 00，没有消息体：长度 0 也是字节流能\n\
                 \x20承载的一条消息，所以客户端知道 `{command}` 已经回答了，只是什么也没有）",
                hex(&request)
            );
        } else {
            out.push_str(&common::text::lines_preview(reply, "", Lang::Zh));
            let header = encode_header(reply.len()).unwrap_or_default();
            let _ = writeln!(
                out,
                "（请求：{} + {command:?}；回复：{} + {} 字节）",
                hex(&request),
                hex(&header),
                reply.len()
            );
        }
    }
    let _ = writeln!(out);
    out.push_str(&conv.timeline.render_in(Lang::Zh));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "read_frame 怎样把每条回复重新拼完整（每次读取最多要 {DEMO_READ_SIZE} 字节，\n\
         就像 recv({DEMO_READ_SIZE})）：先读满 {HEADER_LEN} 字节的长度头，再读满它宣布的消息体。"
    );
    let analysis = conv.timeline.analysis();
    for (i, (reads, reply)) in analysis.carried_by.iter().zip(&conv.replies).enumerate() {
        let sizes: Vec<String> = reads
            .iter()
            .filter_map(|r| analysis.reads.get(r - 1))
            .map(|r| r.len.to_string())
            .collect();
        let place = match reads.as_slice() {
            [one] => format!("读取 {one}"),
            [first, .., last] => format!("读取 {first}-{last}"),
            [] => "没有读取".to_string(),
        };
        let body_reads = sizes.len().saturating_sub(1);
        let body = if reply.is_empty() {
            "长度头说 0，所以没有消息体要读：一条空回复".to_string()
        } else if body_reads > 1 {
            format!(
                "长度头说 {0}，read_frame\n         把消息体的 {1} 段重新拼成一条 {0} 字节的回复",
                reply.len(),
                body_reads
            )
        } else {
            format!("长度头说 {}，消息体一次就读完了", reply.len())
        };
        let _ = writeln!(
            out,
            "  M{} = {place}（{} 字节）：{body}",
            i + 1,
            sizes.join(" + ")
        );
    }
    let _ = writeln!(
        out,
        "每次读取要的字节都不超过当前这一帧还缺的数量，所以没有哪次读取能拿走下一条回复的\n\
         字节（粘包 {} 次）；每个被切到几次读取里的帧也都重新拼好了（拆包 {} 次，全部完整）。",
        analysis.sticky_reads, analysis.split_messages
    );
    let _ = writeln!(out);
    match &conv.verdict {
        Verdict::Intact => {
            let _ = writeln!(
                out,
                "结论：完好：{} 条回复（共 {} 条）都完整、按顺序到达，每条都和在本机执行该命令\n\
                 \x20 的输出逐字节相同，空回复也不例外。",
                conv.replies.len(),
                conv.commands.len()
            );
        }
        Verdict::Broken(why) => {
            let _ = writeln!(out, "结论：出错了：{why}");
        }
    }
    out
}

/// The bytes as `d4 05 00 00`.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The hostile-length lesson: two clients send lengths no honest peer would,
/// the server refuses each before allocating anything, and a third client is
/// served normally afterwards.
fn hostile_transcript(lang: Lang) -> io::Result<String> {
    let zh = lang.is_zh();
    let config = ServerConfig::default();
    // Sequential on purpose: one client at a time keeps the transcript's
    // order fixed. `serve` does the same per connection, on threads.
    let server = spawn_loopback(move |listener| {
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let (mut stream, _) = listener.accept()?;
            outcomes.push(describe_outcome(&serve_connection(&mut stream, &config)));
        }
        Ok(outcomes)
    })?;

    let huge = i32::MAX.to_le_bytes();
    let negative = (-1i32).to_le_bytes();
    let mut closed = Vec::new();
    for header in [huge, negative] {
        let mut stream = TcpStream::connect(server.addr())?;
        stream.set_read_timeout(Some(DEFAULT_SYNC_TIMEOUT))?;
        // Only the header: the server must refuse without waiting for a body.
        stream.write_all(&header)?;
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest)?;
        closed.push(rest.len());
    }
    let mut stream = TcpStream::connect(server.addr())?;
    stream.set_read_timeout(Some(DEFAULT_SYNC_TIMEOUT))?;
    send_command(&mut stream, "echo still serving")?;
    let reply = recv_reply(&mut stream, config.max_frame)?;
    drop(stream);
    let outcomes = server.join()?;

    let mut out = String::new();
    if zh {
        let _ = writeln!(
            out,
            "长度头是一个承诺，字节到齐之前读取方无法验证它。轻信它的读取方会照着长度分配\n\
             内存；这个服务端先把长度和上限比较（一个请求最多 {MAX_REQUEST} 字节 = 128 KiB，即一行\n\
             命令能有的长度；--max-frame），并拒绝负数长度，这一切都在分配任何内存之前，\n\
             也不等消息体。"
        );
    } else {
        let _ = writeln!(
            out,
            "A length header is a promise the reader cannot check until the bytes come. A reader\n\
         that believed it would allocate whatever it is told; this server checks the length\n\
         against a maximum (a request is at most {MAX_REQUEST} bytes = 128 KiB, what a command\n\
         line can be; --max-frame) and refuses a negative one, before it allocates anything\n\
         and without waiting for a body."
        );
    }
    let _ = writeln!(out);
    let clients = [
        (
            "client A",
            huge,
            "2^31 - 1, struct.pack(\"i\", 2**31 - 1): \"2 GiB coming\"",
        ),
        ("client B", negative, "-1, struct.pack(\"i\", -1)"),
    ];
    for (i, (name, header, what)) in clients.iter().enumerate() {
        let log = outcomes.get(i).map_or("(no log)", String::as_str);
        let closed_after = closed.get(i).copied().unwrap_or_default();
        if zh {
            let _ = writeln!(out, "{name} 只发一个长度头：{}  （{what}）", hex(header));
            out.push_str(&wrap(
                &format!("服务端日志：{name}: {log}"),
                88,
                "  ",
                "    ",
            ));
            let _ = writeln!(
                out,
                "  {name} 收到 {closed_after} 字节回复后，看到连接被关闭"
            );
        } else {
            let _ = writeln!(out, "{name} sends only a header: {}  ({what})", hex(header));
            out.push_str(&wrap(
                &format!("server log: {name}: {log}"),
                88,
                "  ",
                "    ",
            ));
            let _ = writeln!(
                out,
                "  {name} sees the connection closed after {closed_after} reply bytes"
            );
        }
    }
    let _ = writeln!(out, "client C: > echo still serving");
    out.push_str(&common::text::lines_preview(&reply, "  ", Lang::En));
    let log = outcomes.get(2).map_or("(no log)", String::as_str);
    out.push_str(&wrap(
        &format!(
            "{}client C: {log}",
            lang.pick("server log: ", "服务端日志：")
        ),
        88,
        "  ",
        "    ",
    ));
    if zh {
        let _ = writeln!(
            out,
            "一个坏客户端只让服务端关掉一条连接，既耗不掉它的内存，也影响不到别的客户端。\n\
             （长度头一旦不可信，这条字节流就再也不可信：下一帧从哪里开始？所以关闭连接\n\
             是唯一安全的做法。）"
        );
        return Ok(out);
    }
    let _ = writeln!(
        out,
        "A bad client costs the server one closed connection, never its memory and never its\n\
         other clients. (After a bad header the stream cannot be trusted: where would the next\n\
         frame start? So closing is the only safe answer.)"
    );
    Ok(out)
}

/// The endianness lesson, computed: the same 4 bytes read both ways.
fn endianness_transcript(lang: Lang) -> String {
    let bytes = encode_header(1492).unwrap_or_default();
    let le = i32::from_le_bytes(bytes);
    let be_u32 = u32::from_be_bytes(bytes);
    let be_i32 = i32::from_be_bytes(bytes);
    let too_large = FrameError::TooLarge {
        len: u64::from(be_u32),
        max: DEFAULT_MAX_FRAME,
    };
    let negative = match decode_header(be_i32.to_le_bytes(), DEFAULT_MAX_FRAME) {
        Err(e) => e.to_string(),
        Ok(len) => format!("accepted as {len} (unexpected)"),
    };
    let small = encode_header(1024).unwrap_or_default();
    let small_be = u32::from_be_bytes(small);

    let mut out = String::new();
    if lang.is_zh() {
        let _ = writeln!(
            out,
            "struct.pack(\"i\", 1492) = {}   （小端：低位字节在前）",
            hex(&bytes)
        );
        // Padded by display width, so the three numbers line up.
        let row =
            |label: &str, value: String| format!("  {}{value}\n", common::lang::pad(label, 50));
        out.push_str(&row("按小端读，本协议两端都这样读：", le.to_string()));
        out.push_str(&row(
            "按大端读成 u32（Python 的 \"!I\"，网络字节序）：",
            be_u32.to_string(),
        ));
        out.push_str(&wrap(&format!("-> {too_large}"), 88, "    ", "       "));
        out.push_str(&row(
            "按大端读成 i32（Python 的 \"!i\"）：",
            be_i32.to_string(),
        ));
        out.push_str(&wrap(&format!("-> {negative}"), 88, "    ", "       "));
        let _ = writeln!(
            out,
            "所以期待网络字节序（大端）的读取方，多数时候会被最大帧长的检查或负数检查拦下，\n\
             但不总是：struct.pack(\"i\", 1024) = {} 按大端读是 {small_be}，没超过上限，\n\
             那个读取方就会去等永远不会来的 {small_be} 字节。这道检查是安全带，不是翻译：\n\
             两端必须约定一致，所以这个格式规定小端，代码写的是 to_le_bytes，从不用本机字节序。",
            hex(&small)
        );
        return out;
    }
    let _ = writeln!(
        out,
        "struct.pack(\"i\", 1492) = {}   (little-endian: the low byte first)",
        hex(&bytes)
    );
    let _ = writeln!(
        out,
        "  read little-endian, as both ends of this protocol do:   {le}"
    );
    let _ = writeln!(
        out,
        "  read big-endian as u32 (Python's \"!I\", network order): {be_u32}"
    );
    out.push_str(&wrap(&format!("-> {too_large}"), 88, "    ", "       "));
    let _ = writeln!(
        out,
        "  read big-endian as i32 (Python's \"!i\"):                {be_i32}"
    );
    out.push_str(&wrap(&format!("-> {negative}"), 88, "    ", "       "));
    let _ = writeln!(
        out,
        "So a reader that expects network (big-endian) order is usually stopped by the\n\
         maximum-frame guard or the negative check, but not always: struct.pack(\"i\", 1024) =\n\
         {} reads big-endian as {small_be}, under the maximum, and that reader would wait for\n\
         {small_be} bytes that never come. The guard is a seatbelt, not a translator: both ends\n\
         must agree, which is why this format says little-endian and the code writes\n\
         to_le_bytes, never the machine's native order.",
        hex(&small)
    );
    out
}

/// The whole demo: heading, the conversation with its timeline, hostile
/// lengths, endianness, and how to try it in two terminals.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_in(Lang::En)
}

/// [`demo_transcript`] told in `lang`.
pub fn demo_transcript_in(lang: Lang) -> io::Result<String> {
    if lang.is_zh() {
        return demo_transcript_zh();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Stage 4, length-header-fix: put a length in front of every message\n\
         ==================================================================\n\
         Wire format, both directions: 4-byte little-endian signed length (struct.pack(\"i\", n)),\n\
         then that many bytes. Request = the command line; reply = its stdout + stderr."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "1. The conversation of stages 2 and 3, framed");
    let _ = writeln!(out, "---------------------------------------------");
    out.push_str(&conversation_transcript_in(Lang::En)?);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "2. Hostile lengths: refused before anything is allocated"
    );
    let _ = writeln!(
        out,
        "--------------------------------------------------------"
    );
    out.push_str(&hostile_transcript(Lang::En)?);
    let _ = writeln!(out);
    let _ = writeln!(out, "3. Endianness: the same 4 bytes, read both ways");
    let _ = writeln!(out, "-----------------------------------------------");
    out.push_str(&endianness_transcript(Lang::En));
    let _ = writeln!(out);
    let _ = writeln!(out, "4. Try it in two terminals");
    let _ = writeln!(out, "--------------------------");
    let _ = writeln!(
        out,
        "  terminal 1: cargo run -p length-header-fix -- server\n\
         \x20 terminal 2: cargo run -p length-header-fix -- client\n\
         \x20             > seq 1 400        (every line, whole)\n\
         \x20             > true             (empty reply)\n\
         \x20 A hostile client, from a third terminal (the server logs the refusal, keeps serving):\n\
         \x20   python3 -c 'import socket, struct; s = socket.create_connection((\"127.0.0.1\", 8008)); \
         s.sendall(struct.pack(\"i\", 2**31 - 1)); print(s.recv(1))'\n\
         \x20   prints b'' (the server closed the connection) and the server's terminal says why.\n\
         \x20 The 40 ms stall of two writes: restart the server with --two-writes, then compare\n\
         \x20   time (yes 'echo hi' | head -n 50 | cargo run -q -p length-header-fix -- client > /dev/null)\n\
         \x20 with the server in its normal one-write mode."
    );
    Ok(out)
}

/// The demo in Chinese: the same parts, from the same runs.
fn demo_transcript_zh() -> io::Result<String> {
    let mut out = String::new();
    let title = "第 4 阶段，length-header-fix：在每条消息前面加上长度";
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "{}", "=".repeat(common::lang::width(title)));
    let _ = writeln!(
        out,
        "线上格式，两个方向都一样：4 字节小端有符号长度（struct.pack(\"i\", n)），\n\
         后面跟这么多字节。请求 = 命令行；回复 = 它的 stdout + stderr。"
    );
    let section = |out: &mut String, title: &str| {
        let _ = writeln!(out);
        let _ = writeln!(out, "{title}");
        let _ = writeln!(out, "{}", "-".repeat(common::lang::width(title)));
    };
    section(&mut out, "1. 第 2、3 阶段的对话，加上帧");
    out.push_str(&conversation_transcript_in(Lang::Zh)?);
    section(&mut out, "2. 恶意长度：在分配任何内存之前就拒绝");
    out.push_str(&hostile_transcript(Lang::Zh)?);
    section(&mut out, "3. 字节序：同样 4 个字节，两种读法");
    out.push_str(&endianness_transcript(Lang::Zh));
    section(&mut out, "4. 在两个终端里亲手试试");
    let _ = writeln!(
        out,
        "  终端 1：cargo run -p length-header-fix -- server\n\
         \x20 终端 2：cargo run -p length-header-fix -- client\n\
         \x20         > seq 1 400        （每一行，完整）\n\
         \x20         > true             （空回复）\n\
         \x20 在第三个终端里当一回恶意客户端（服务端记录拒绝原因，继续服务）：\n\
         \x20   python3 -c 'import socket, struct; s = socket.create_connection((\"127.0.0.1\", 8008)); \
         s.sendall(struct.pack(\"i\", 2**31 - 1)); print(s.recv(1))'\n\
         \x20   打印 b''（服务端关闭了连接），服务端的终端会说明原因。\n\
         \x20 两次 write 带来的 40 ms 停顿（Nagle 算法遇上延迟确认）：用 --two-writes 重启服务端，\n\
         \x20 再把\n\
         \x20   time (yes 'echo hi' | head -n 50 | cargo run -q -p length-header-fix -- client > /dev/null)\n\
         \x20 和正常的一次 write 模式比一比。"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long reply is previewed by its first and last three lines.
    #[test]
    fn preview_shortens_long_replies() {
        let text: String = (1..=10).map(|i| format!("{i}\n")).collect();
        let shown = common::text::lines_preview(text.as_bytes(), "  ", Lang::En);
        assert_eq!(
            shown,
            "  1\n  2\n  3\n  ... (4 more lines) ...\n  8\n  9\n  10\n"
        );
    }

    /// The endianness section shows both big-endian readings and the guard's refusal of each.
    #[test]
    fn endianness_numbers() {
        let text = endianness_transcript(Lang::En);
        assert!(text.contains("d4 05 00 00"), "{text}");
        assert!(text.contains("3557097472"), "{text}");
        assert!(text.contains("-737869824"), "{text}");
        assert!(text.contains("cannot be negative"), "{text}");
        assert!(
            text.contains("over the maximum frame size of 16777216"),
            "{text}"
        );
    }

    /// A reply that differs from the local run is judged broken, with the reply named.
    #[test]
    fn judge_names_the_bad_reply() {
        let cmds = vec!["a".to_string(), "b".to_string()];
        let good = vec![b"x".to_vec(), b"y".to_vec()];
        assert_eq!(judge(&cmds, &good, &good, 2), Verdict::Intact);
        let bad = vec![b"x".to_vec(), b"yy".to_vec()];
        assert!(
            matches!(judge(&cmds, &bad, &good, 2), Verdict::Broken(w) if w.contains("reply 2"))
        );
    }
}
