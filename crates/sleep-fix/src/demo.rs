//! The demo: stage 2's conversation through this stage's server and client,
//! once without the pause and once with it, each with its boundary timeline.
//!
//! Nothing here is the lesson; it is how the lesson is shown the same way on
//! every run. Both ends live in this process and take turns:
//!
//! - The server's stream is wrapped in [`ServerEnd`], which counts the bytes
//!   the server writes and records each message into the timeline by hand
//!   (an empty output is a message of 0 bytes that no `write` call would
//!   show). When the server's turn is over, it tells the client how many
//!   bytes it has written in all.
//! - The client's stream is wrapped in [`ClientEnd`]: before each read it
//!   waits for the server's word and then until those bytes have reached the
//!   socket ([`wait_for_bytes`]), so every read returns the same bytes on
//!   every run; after each read it tells the server how far it has read.
//! - Without a pause the server's turn is the whole reply, so the client's
//!   one read for the length always finds the digits and the output glued.
//!   With a pause, [`ServerEnd`] ends the server's turn when the digits are
//!   flushed; the server sleeps the pause ([`send_reply`](crate::send_reply)),
//!   and then its write of the output waits until the client has read the
//!   digits: the "lucky timing" the classic program hopes for, made certain,
//!   so that even a machine under heavy load prints the same thing.
//! - The server answers with the built-in command set
//!   ([`Interpreter::Builtin`]), so the replies are the same bytes on every
//!   OS.
//!
//! The lesson's server knows nothing of this: the demo only wraps the stream
//! it writes to. [`LuckyTiming`] is the same idea, small, for the story
//! matrix and the tests.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use common::demo::{Verdict, EXEC_SCRIPT};
use common::lang::Lang;
use common::sync::{wait_for_bytes, DEFAULT_SYNC_TIMEOUT};
use common::testing::{ReadCounter, WriteCounted, WriteCounter};
use common::text::wrap;
use common::{spawn_loopback, Interpreter, Tap, Timeline};

use crate::pause::{recv_reply, send_command, ReplyError, PREVIEW_BYTES, RECV_SIZE};
use crate::server::{serve_connection, ServerConfig};

// The verdict reasons about the timeline, once for both languages, and
// holds the words of each: apart from the running and the printing here.
mod verdict;

/// The complete demo: the same conversation without and with the pause,
/// what the pause cost, and how to try it in two terminals.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_in(Lang::En)
}

/// [`demo_transcript`] told in `lang`.
pub fn demo_transcript_in(lang: Lang) -> io::Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n",
        lang.pick(
            "Stage 3, sleep-fix: the length as digits, a pause, then the output\n\n\
             The server answers each command with the output's length as ASCII digits, pauses,\n\
             then sends the output. The client takes ONE read of up to 1024 bytes as the length,\n\
             then reads until it has that many bytes. A real server and client on 127.0.0.1 run\n\
             stage 2's 4 commands twice: without the pause, then with it.",
            "第 3 阶段，sleep-fix：先发十进制数字表示的长度，停顿一下，再发输出\n\n\
             服务端回答每条命令时，先用 ASCII 数字发出输出的长度，停顿，再发送输出。\n\
             客户端把“一次”最多 1024 字节的读取当作长度，然后一直读到够这么多字节为止。\n\
             127.0.0.1 上真实的服务端和客户端把第 2 阶段的 4 条命令跑两遍：\n\
             先不停顿，再停顿。"
        )
    );

    let unpaused = run_conversation(Duration::ZERO, lang)?;
    out.push_str(&unpaused.transcript());
    let _ = writeln!(out);

    let pause = crate::pause::DEFAULT_PAUSE;
    let paused = run_conversation(pause, lang)?;
    out.push_str(&paused.transcript());
    let _ = writeln!(out);

    // Computed from the configuration, not measured: a measured duration
    // would differ on every run, and the cost is simply the pause times the
    // number of replies, whatever the machine.
    let (replies, ms) = (paused.replies, pause.as_millis());
    let slept = ms * replies as u128;
    let cost = match lang {
        Lang::En => format!(
            "What the pause cost: {replies} replies x {ms} ms = {slept} ms spent sleeping, on top of\n\
             running the commands; the empty reply to `true` paid it too."
        ),
        Lang::Zh => format!(
            "停顿的代价：{replies} 条回复 x {ms} ms = {slept} ms 花在睡眠上，这还不算执行命令的时间；\n\
             `true` 的空回复也照样付了这笔。"
        ),
    };
    let not_a_fix = lang.pick(
        "Why this is not a fix: the pause is a bet on timing. It works only if the client\n\
         reads the digits before the output arrives; a slower or busier network, a client\n\
         that is not scheduled in time, or a proxy that buffers loses the bet, and the reply\n\
         is misread as it was without the pause. The digits are also read with a single\n\
         recv: a network that delivers \"14\" and \"92\" separately (a split) breaks the\n\
         client too. Stage 4 (length-header-fix) replaces the bet with a 4-byte header read\n\
         in a loop.",
        "为什么这不算修好：停顿是在赌时机。只有客户端在输出到达之前读走数字，它才管用；\n\
         网络慢一点或忙一点、客户端没被及时调度、中间有个会攒数据的代理，这场赌就输了，\n\
         回复会像不停顿时一样被读错。数字也只用一次 recv 读：网络把 \"14\" 和 \"92\"\n\
         分开送到（拆包），客户端同样出错。第 4 阶段（length-header-fix）用循环读满的\n\
         4 字节长度头取代了这场赌博。",
    );
    let try_it = lang.pick("Try it in two terminals:", "在两个终端里亲手试试：");
    let _ = writeln!(out, "{cost}\n\n{not_a_fix}\n\n{try_it}");
    let _ = writeln!(out, "    cargo run -p sleep-fix -- server --pause-ms 0");
    let _ = writeln!(
        out,
        "    printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p sleep-fix -- client"
    );
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "Without the pause, whether the digits glue depends on timing: run the client a few\n\
             times. Then restart the server without --pause-ms (100 ms) and run it again.",
            "不停顿时，数字会不会和输出粘在一起取决于时机：多跑几次客户端。然后不带 --pause-ms\n\
             （即 100 ms）重启服务端，再跑一次。"
        )
    );
    Ok(out)
}

/// One run of the conversation with this pause: what the client printed,
/// the boundary timeline (server -> client) and the verdict.
pub fn conversation_transcript(pause: Duration) -> io::Result<String> {
    conversation_transcript_in(pause, Lang::En)
}

/// [`conversation_transcript`] told in `lang`.
pub fn conversation_transcript_in(pause: Duration, lang: Lang) -> io::Result<String> {
    Ok(run_conversation(pause, lang)?.transcript())
}

/// What one run produced.
struct Run {
    pause: Duration,
    lang: Lang,
    /// What the client printed, one line per event.
    client: String,
    timeline: Timeline,
    /// Replies the client read whole.
    replies: usize,
}

impl Run {
    fn transcript(&self) -> String {
        let mut out = String::new();
        let heading = format!(
            "--- {} --pause-ms {} ---",
            self.lang.pick("with", "使用"),
            self.pause.as_millis()
        );
        let _ = writeln!(out, "{heading}");
        out.push_str(&self.client);
        let _ = writeln!(out);
        out.push_str(&self.timeline.render_in(self.lang));
        let (verdict, why) = self.verdict();
        let (said, why) = match verdict {
            Verdict::Intact => (self.lang.pick("Verdict: intact: ", "结论：完好："), why),
            Verdict::Broken(why) => (self.lang.pick("Verdict: broken: ", "结论：出错了："), why),
        };
        out.push_str(&wrap(&format!("{said}{why}"), 84, "", "  "));
        out
    }
}

/// Runs [`EXEC_SCRIPT`] against a fresh server with this pause, both ends
/// synchronised turn by turn.
fn run_conversation(pause: Duration, lang: Lang) -> io::Result<Run> {
    let timeline = Timeline::new(lang.pick("server -> client", "服务端 -> 客户端"));
    let (turn_tx, turn_rx) = mpsc::channel();
    let (ack_tx, ack_rx) = mpsc::channel();
    let side = ServerSide {
        timeline: timeline.clone(),
        written: 0,
        recorded: 0,
        command: String::new(),
        lang,
        hold_output: !pause.is_zero(),
        digits_pending: false,
        output_pending: false,
        client_must_read: false,
        turn_over: turn_tx,
        client_read: ack_rx,
    };
    let config = ServerConfig {
        pause,
        interpreter: Interpreter::Builtin,
        ..ServerConfig::default()
    };
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        serve_connection(ServerEnd { stream, side }, &config)
    })?;

    let stream = TcpStream::connect(server.addr())?;
    let writer = stream.try_clone()?;
    let mut reader = ClientEnd {
        tap: Tap::new(stream)
            .record_reads(timeline.clone())
            .max_read(RECV_SIZE),
        written: 0,
        consumed: 0,
        turns: turn_rx,
        read_so_far: ack_tx,
    };

    let mut client = String::new();
    let mut replies = 0;
    for (i, cmd) in EXEC_SCRIPT.iter().enumerate() {
        let _ = writeln!(client, "> {cmd}");
        send_command(&writer, cmd)?;
        match recv_reply(&mut reader) {
            Ok(reply) => {
                replies += 1;
                client.push_str(&show_reply(&reply, lang));
            }
            // The demo's own plumbing failed: that is not the lesson, so
            // it is an error rather than a line in the transcript.
            Err(ReplyError::Io(e)) => return Err(e),
            Err(e) => {
                let message = match lang {
                    // The error is one long line; break it after its first
                    // clause so the transcript stays readable.
                    Lang::En => e.to_string().replacen("; ", ";\n        ", 1),
                    Lang::Zh => reply_error_zh(&e),
                };
                let me = lang.pick("client: ", "客户端：");
                let gave_up = lang.pick(
                    "the conversation cannot go on: the client no longer knows where a reply \
                     starts\n        (whatever it reads next could be digits or output), so it \
                     closes the connection.",
                    "对话进行不下去了：客户端再也不知道一条回复从哪里开始\n        \
                     （接下来读到的可能是数字，也可能是输出），只好关闭连接。",
                );
                let _ = writeln!(client, "{me}{message}\n{me}{gave_up}");
                let rest: Vec<String> = EXEC_SCRIPT[i + 1..]
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect();
                if !rest.is_empty() {
                    let never_sent = lang.pick("never sent: ", "没能发出：");
                    let _ = writeln!(
                        client,
                        "{me}{never_sent}{}",
                        rest.join(lang.pick(", ", "、"))
                    );
                }
                break;
            }
        }
    }
    // Closing both handles of the client's socket ends the server's
    // connection; joining makes sure it has recorded everything it wrote.
    drop(reader);
    drop(writer);
    server.join()?;
    Ok(Run {
        pause,
        lang,
        client,
        timeline,
        replies,
    })
}

/// A reply as the demo client shows it: the text (a long one shortened to
/// its first and last lines) and how many bytes it was.
fn show_reply(reply: &[u8], lang: Lang) -> String {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    if lines.len() > 8 {
        for line in &lines[..3] {
            let _ = writeln!(out, "{line}");
        }
        let more = lines.len() - 6;
        let _ = match lang {
            Lang::En => writeln!(out, "... ({more} more lines) ..."),
            Lang::Zh => writeln!(out, "...（省略 {more} 行）..."),
        };
        for line in &lines[lines.len() - 3..] {
            let _ = writeln!(out, "{line}");
        }
    } else {
        for line in &lines {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = match (reply.len(), lang) {
        (0, Lang::Zh) => writeln!(
            out,
            "（长度是 \"0\"：命令什么也没输出，这一次客户端知道不必再等）"
        ),
        (n, Lang::Zh) => writeln!(out, "（{n} 字节，和长度说的一样多）"),
        (0, Lang::En) => writeln!(
            out,
            "(the length was \"0\": the command printed nothing, and this time the client \
             knew not to wait)"
        ),
        (n, Lang::En) => writeln!(out, "({n} bytes, as many as the length said)"),
    };
    out
}

/// The client's error in Chinese, for the Chinese transcript; the bytes are
/// previewed exactly as in English.
fn reply_error_zh(e: &ReplyError) -> String {
    match e {
        ReplyError::BadLength { received } => {
            let mut text = format!(
                "本该读到十进制数字表示的回复长度，却读到 {} 字节：{}",
                received.len(),
                common::text::escaped(received, PREVIEW_BYTES)
            );
            if received.first().is_some_and(|b| b.is_ascii_digit()) {
                text.push_str(
                    "；\n        数字后面跟着别的字节：这正是输出粘在长度后面（粘包）的样子",
                );
            }
            text
        }
        ReplyError::ClosedBeforeLength => "服务端在发出回复长度之前就关闭了连接".to_string(),
        ReplyError::Closed { got, expected } => {
            format!("服务端在回复中途关闭了连接：{expected} 字节只到了 {got} 字节")
        }
        ReplyError::Io(e) => e.to_string(),
    }
}

/// The server end's half of the turn-taking, kept by [`ServerEnd`] on the
/// server's thread (the client's thread only hears of it through the
/// channels).
struct ServerSide {
    timeline: Timeline,
    /// Bytes the server has written in all.
    written: usize,
    /// Bytes already recorded as messages in the timeline.
    recorded: usize,
    /// The command being answered, for the messages' labels.
    command: String,
    /// The language of the labels.
    lang: Lang,
    /// There is a pause: the turn ends after the digits, and the output
    /// waits until the client has read them.
    hold_output: bool,
    /// A command was read; the next flush ends its digits.
    digits_pending: bool,
    /// The digits are recorded, the output not yet.
    output_pending: bool,
    /// The next write (the output) must wait until the client has read
    /// everything written so far (the digits).
    client_must_read: bool,
    /// "My turn is over; I have written this many bytes in all."
    turn_over: Sender<usize>,
    /// "I have read this many bytes in all", from the client.
    client_read: Receiver<usize>,
}

impl ServerSide {
    fn record(&mut self, label: String) {
        self.timeline
            .sent_labeled(label, self.written - self.recorded);
        self.recorded = self.written;
    }

    fn end_turn(&self) {
        // The client may already be gone (run 1 hangs up): nothing to tell.
        let _ = self.turn_over.send(self.written);
    }
}

/// The digits are flushed: record them, and if there is a pause, end the
/// server's turn so that the client reads them, and hold the output until
/// it has.
fn digits_flushed(side: &mut ServerSide) {
    let label = match side.lang {
        Lang::En => format!("length of reply to `{}`", side.command),
        Lang::Zh => format!("`{}` 回复的长度", side.command),
    };
    side.record(label);
    side.digits_pending = false;
    side.output_pending = true;
    if side.hold_output {
        side.end_turn();
        side.client_must_read = true;
    }
    // No pause: the turn goes on with the output, so the client reads only
    // once both are written.
}

/// Waits (bounded) until the client has read every byte written so far,
/// which the classic program only hopes for at the end of its pause.
fn wait_for_client(side: &mut ServerSide) {
    side.client_must_read = false;
    let deadline = Instant::now() + DEFAULT_SYNC_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match side.client_read.recv_timeout(left) {
            // Reports from earlier reads are stale; wait for the one that
            // covers everything written so far, the digits included.
            Ok(read) if read >= side.written => break,
            Ok(_) => {}
            // The client is gone or far too slow: carry on like the classic
            // server would; the transcript will show what happened.
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// The server's stream in the demo: counts what the server writes, records
/// the digits when they are flushed and the output when the server goes
/// back to reading the next command, and ends the server's turn at those
/// points.
struct ServerEnd {
    stream: TcpStream,
    side: ServerSide,
}

impl Read for ServerEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let side = &mut self.side;
        if side.output_pending {
            let label = match side.lang {
                Lang::En => format!("reply to `{}`", side.command),
                Lang::Zh => format!("`{}` 的回复", side.command),
            };
            side.record(label);
            side.output_pending = false;
            side.end_turn();
        }
        let n = self.stream.read(buf)?;
        if n > 0 {
            side.command = String::from_utf8_lossy(&buf[..n]).into_owned();
            side.digits_pending = true;
        }
        Ok(n)
    }
}

impl Write for ServerEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let side = &mut self.side;
        if side.client_must_read {
            wait_for_client(side);
        }
        let n = self.stream.write(buf)?;
        side.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()?;
        let side = &mut self.side;
        if side.digits_pending && side.written > side.recorded {
            digits_flushed(side);
        }
        Ok(())
    }
}

/// A server's stream on which the pause always wins its bet: before each
/// write it waits (up to `patience`) until the client has read every byte
/// written before it, as a quiet loopback's client always has by the end of
/// the pause. So the output never reaches the client before it has read the
/// digits, however busy the machine. The story matrix and the tests wrap a
/// server's stream in it where they show the bet won; the client counts its
/// reads with `client_reads`. Without a pause it only slows the server: it
/// is not meant for `--pause-ms 0`.
#[derive(Debug)]
pub struct LuckyTiming<S> {
    stream: WriteCounted<S>,
    written: WriteCounter,
    client_reads: ReadCounter,
    patience: Duration,
}

impl<S> LuckyTiming<S> {
    /// Wraps the server's `stream`; `client_reads` counts what the client
    /// has read.
    pub fn new(stream: S, client_reads: ReadCounter, patience: Duration) -> Self {
        let written = WriteCounter::new();
        Self {
            stream: written.wrap(stream),
            written,
            client_reads,
            patience,
        }
    }
}

impl<S: Read> Read for LuckyTiming<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl<S: Write> Write for LuckyTiming<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written
            .wait_until_read(&self.client_reads, self.patience);
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The client's stream in the demo: every read waits for the server's turn
/// to end and for its bytes to arrive, then reads through the timeline tap.
struct ClientEnd {
    tap: Tap<TcpStream>,
    /// Bytes the server has written in all, as far as it has told us.
    written: usize,
    /// Bytes the client has read in all.
    consumed: usize,
    turns: Receiver<usize>,
    read_so_far: Sender<usize>,
}

impl Read for ClientEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.written <= self.consumed {
            match self.turns.recv_timeout(DEFAULT_SYNC_TIMEOUT) {
                Ok(total) => self.written = self.written.max(total),
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "demo sync: the server never ended its turn",
                    ))
                }
            }
        }
        let want = buf.len().min(RECV_SIZE).min(self.written - self.consumed);
        wait_for_bytes(self.tap.get_ref(), want, DEFAULT_SYNC_TIMEOUT)?;
        let n = self.tap.read(buf)?;
        self.consumed += n;
        // The server may have stopped listening for this (no pause): fine.
        let _ = self.read_so_far.send(self.consumed);
        Ok(n)
    }
}
