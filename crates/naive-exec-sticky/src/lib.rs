//! Stage 2, `naive-exec-sticky`: remote command execution whose output runs together.
//!
//! # The lesson
//!
//! TCP is a byte stream, not a sequence of messages. The server below writes
//! each command's output with one `write_all`, and the client reads each
//! answer with one read of up to 1,024 bytes, exactly as the classic Python
//! tutorial does with `recv(1024)`. That works for short outputs on a quiet
//! loopback, and breaks as soon as an output is longer than one read:
//!
//! - `seq 1 400` prints 1,492 bytes; one read returns at most 1,024 of them,
//!   so the reply is cut across reads (**split**, 拆包);
//! - the other 468 bytes wait in the socket, so the read made for the *next*
//!   command returns them, glued to that command's own reply (**sticky**,
//!   粘包): the answer shown for `echo hi` starts with `284`;
//! - a command that prints nothing (`true`) sends no bytes at all, because a
//!   stream has no empty message: the client can only give up after a read
//!   timeout, and cannot tell "no output" from "slow output".
//!
//! # Wire format
//!
//! - Request: the command line's bytes, no newline, no framing. The server
//!   takes ONE read of up to 1,024 bytes ([`READ_SIZE`]) as the command.
//! - Reply: [`common::shell::run_shell`]'s reply (standard output, then
//!   standard error, plus a note line when the command was killed at the
//!   timeout or cut at the output cap), no framing, written with one
//!   `write_all`. A command with no output gets no reply at all.
//! - The client prints whatever ONE read of up to 1,024 bytes returns; a read
//!   timeout (2 s by default) ends the wait with a line that says why.
//!
//! # Known weakness (the lesson)
//!
//! Nothing on the wire says where a reply ends, so a reply longer than one
//! read spills into the next answer, and the client's answers drift further
//! out of step with every long output. The same holds in the other direction:
//! two commands written quickly can reach the server's single read glued, and
//! a command over 1,024 bytes is cut. Stage 3 (`sleep-fix`) sends the length
//! first; stage 4 (`length-header-fix`) frames every message.
//!
//! # Layout
//!
//! - Server: [`ServerConfig`], [`serve`] (the accept loop, a thread per
//!   connection), [`handle_connection`] and [`handle_connection_with`] (one
//!   connection: one read, run, one write, again), [`reply_to`] (what the
//!   server answers to one command's bytes).
//! - Client: [`connect`], [`send_command`], [`recv_reply`] and
//!   [`recv_reply_up_to`] (the naive single read), [`no_reply_line`],
//!   [`run_client`] (the two-terminal loop).
//! - Demo: [`conversation_transcript`] runs [`common::demo::EXEC_SCRIPT`]
//!   through a real server and client, synchronised turn by turn so it is
//!   identical on every run, and shows the boundary timeline and a verdict
//!   derived from it; [`demo_transcript`] wraps it for `cargo run`.
//!   [`Tweaks`] switches on the popular non-fixes (`--read-size N`,
//!   `--nodelay`) so that a student sees them fail in the same demo.

use std::fmt::Write as _;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use common::cli::InputLines;
use common::demo::{Verdict, DEMO_READ_TIMEOUT, EXEC_SCRIPT};
use common::encoding::Encoding;
use common::lang::Lang;
use common::sync::{wait_for_bytes, DEFAULT_SYNC_TIMEOUT};
use common::timeline::{Analysis, Piece};
use common::{Acceptor, Limits, ShellLimits, Tap, Timeline};

/// Where the two-terminal server listens unless told otherwise (the classic tutorial's port).
pub const DEFAULT_ADDR: &str = "127.0.0.1:8008";

/// The size of every read, on both ends: Python's `recv(1024)`.
pub const READ_SIZE: usize = 1024;

/// How long the two-terminal client waits for a reply before it gives up.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_millis(2000);

/// How the server runs commands.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// Timeout and output cap for every command (5 s and 1 MiB by default).
    pub limits: ShellLimits,
    /// Log connections and commands to standard error (the `server`
    /// subcommand turns this on; demos and tests leave it off).
    pub log: bool,
}

/// One command the server ran, reported after its reply was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The command as received, for display (bytes that are not UTF-8 are
    /// shown as U+FFFD).
    pub command: String,
    /// How many bytes the reply had; zero means nothing was written.
    pub reply_len: usize,
    /// Why the reply is not the plain output, if it is not: killed at the
    /// timeout, cut at the cap, not UTF-8, the shell would not start.
    pub note: Option<String>,
}

/// The accept loop: every connection gets a thread running
/// [`handle_connection`], under common's default connection limits. Never
/// returns because of a client: a client that disconnects, sends garbage or
/// runs a command that is killed only ends its own connection, which is
/// logged (when [`ServerConfig::log`] is set).
pub fn serve(listener: TcpListener, config: ServerConfig) -> io::Result<()> {
    serve_with(listener, config, Acceptor::new(Limits::default()))
}

/// [`serve`] under the limits of `acceptor` (the `server` subcommand's flags):
/// how many connections, how long a command may take to arrive, how long a
/// connection may stay idle. The limits defend the server; the framing's
/// weakness (one read is one command) is untouched.
pub fn serve_with(
    listener: TcpListener,
    config: ServerConfig,
    acceptor: Acceptor,
) -> io::Result<()> {
    let acceptor = if config.log {
        acceptor
    } else {
        acceptor.quiet()
    };
    acceptor.serve(listener, move |stream| {
        let peer = stream.peer();
        let marks = stream.marks();
        if config.log {
            eprintln!("[{peer}] connected");
        }
        let result = handle_connection_with(stream, &config, |served| {
            // A command without output gets no reply, so no write marks its
            // end: say it here, or the wait for the next command would count
            // against this one's deadline.
            marks.message_done();
            if config.log {
                log_served(peer, served);
            }
        });
        if config.log {
            match result {
                Ok(()) => eprintln!("[{peer}] closed the connection"),
                Err(e) => eprintln!("[{peer}] connection ended: {e}"),
            }
        }
    })
}

fn log_served(peer: SocketAddr, served: &Served) {
    let reply = match served.reply_len {
        0 => "no output, nothing sent".to_string(),
        n => format!("{n} bytes sent"),
    };
    let note = served
        .note
        .as_deref()
        .map_or_else(String::new, |n| format!(" ({n})"));
    eprintln!("[{peer}] ran {:?}: {reply}{note}", served.command);
}

/// Serves one connection until the client closes it: one read of up to
/// [`READ_SIZE`] bytes is taken as the command, its reply is written with one
/// `write_all`, and again.
///
/// Returns `Ok(())` when the client closed the connection between commands,
/// and an error when the connection broke (for example, the client left
/// while its command was running and the reply could not be written).
pub fn handle_connection<S: Read + Write>(stream: S, config: &ServerConfig) -> io::Result<()> {
    handle_connection_with(stream, config, |_| {})
}

/// [`handle_connection`], calling `after_reply` once per command, after its
/// reply was written (or not written, when it was empty). The demo uses it to
/// tell its client how many bytes are on their way.
pub fn handle_connection_with<S, F>(
    mut stream: S,
    config: &ServerConfig,
    mut after_reply: F,
) -> io::Result<()>
where
    S: Read + Write,
    F: FnMut(&Served),
{
    let mut buf = [0u8; READ_SIZE];
    loop {
        // The naive part, server side: whatever this one read returns is
        // "the command", even if it is half of one or two glued together.
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let command = &buf[..n];
        let (reply, note) = reply_to(command, config.limits);
        if !reply.is_empty() {
            // One write_all: no header, nothing that marks where it ends.
            stream.write_all(&reply)?;
            stream.flush()?;
        }
        after_reply(&Served {
            command: String::from_utf8_lossy(command).into_owned(),
            reply_len: reply.len(),
            note,
        });
    }
}

/// What the server answers to one command's bytes, and a note saying why the
/// answer is not the plain output when it is not.
///
/// A command that is not UTF-8 is not run (a shell command line is text);
/// the answer says so, and the connection carries on.
pub fn reply_to(command: &[u8], limits: ShellLimits) -> (Vec<u8>, Option<String>) {
    let Ok(text) = std::str::from_utf8(command) else {
        let note = format!(
            "the command ({} bytes) is not UTF-8 text, so it was not run; send a command line \
             as UTF-8",
            command.len()
        );
        return (format!("[server: {note}]\n").into_bytes(), Some(note));
    };
    match common::run_shell(text, limits) {
        Ok(output) => (output.reply(), output.note()),
        Err(e) => {
            let note = format!("could not start the shell: {e}");
            (format!("[server: {note}]\n").into_bytes(), Some(note))
        }
    }
}

/// Connects to a server, with a read timeout for [`recv_reply`] and an error
/// that says how to start the server when nobody listens.
pub fn connect(addr: SocketAddr, read_timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| {
        let hint = match e.kind() {
            io::ErrorKind::ConnectionRefused => format!(
                "nothing listens there. Is the server running? Start it with \
                 `cargo run -p naive-exec-sticky -- server --addr {addr}`"
            ),
            io::ErrorKind::TimedOut => "no answer within 5 s; check the address".to_string(),
            _ => "check the address".to_string(),
        };
        io::Error::new(
            e.kind(),
            format!("could not connect to {addr}: {e}; {hint}"),
        )
    })?;
    // A zero timeout means "block forever" to std; never allow that.
    stream.set_read_timeout(Some(read_timeout.max(Duration::from_millis(1))))?;
    Ok(stream)
}

/// Sends one command: its bytes, nothing else, in one `write_all`.
///
/// An empty command is refused with [`io::ErrorKind::InvalidInput`] before
/// anything is written: an empty write sends no bytes, so the server, which
/// waits for bytes, would never notice it, and the client would wait for a
/// reply that never comes.
pub fn send_command<W: Write + ?Sized>(w: &mut W, cmd: &str) -> io::Result<()> {
    if cmd.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty command sends no bytes at all, so the server would never see it; type a \
             command such as `echo hi`",
        ));
    }
    w.write_all(cmd.as_bytes())?;
    w.flush()
}

/// The naive client read: ONE read of up to [`READ_SIZE`] bytes (Python's
/// `recv(1024)`), whatever it returns is "the reply". See [`recv_reply_up_to`].
pub fn recv_reply<R: Read + ?Sized>(r: &mut R) -> io::Result<Option<Vec<u8>>> {
    recv_reply_up_to(r, READ_SIZE)
}

// ANCHOR: recv_reply_up_to
/// ONE read of up to `read_size` bytes, whatever it returns is "the reply":
/// the naive client read, with the buffer size as a knob so that a student
/// can try the "use a bigger buffer" advice (`--read-size`) and see that it
/// only moves the cut. `read_size` 0 is taken as 1 (an empty buffer would
/// read nothing and look like the end of the stream).
///
/// `Ok(None)` when the read timed out (set a read timeout on the stream, as
/// [`connect`] does); an [`io::ErrorKind::UnexpectedEof`] error when the
/// server closed the connection.
pub fn recv_reply_up_to<R: Read + ?Sized>(
    r: &mut R,
    read_size: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; read_size.max(1)];
    loop {
        match r.read(&mut buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection (was it stopped?)",
                ))
            }
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if common::netio::is_timeout(&e) => return Ok(None),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading the reply failed: {e}"),
                ))
            }
        }
    }
}
// ANCHOR_END: recv_reply_up_to

/// The line a client shows when [`recv_reply`] timed out.
pub fn no_reply_line(timeout: Duration) -> String {
    format!(
        "(no reply within {} ms: the command printed nothing, and a TCP stream has no empty \
         message, so there was nothing to receive; or it is still running)",
        timeout.as_millis()
    )
}

/// [`no_reply_line`] told in `lang`.
pub fn no_reply_line_in(timeout: Duration, lang: Lang) -> String {
    match lang {
        Lang::En => no_reply_line(timeout),
        Lang::Zh => format!(
            "（{} ms 内没有回复：命令什么也没输出，而 TCP 字节流里没有“空消息”，所以没有\
             东西可收；也可能命令还在运行）",
            timeout.as_millis()
        ),
    }
}

/// Writes a reply as the user sees it: the bytes as they came, plus a line
/// ending when the read stopped mid-line, so the next prompt starts on its
/// own line.
fn show_reply<W: Write + ?Sized>(out: &mut W, reply: &[u8]) -> io::Result<()> {
    out.write_all(reply)?;
    if !reply.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The two-terminal client: for every input line, send it, make ONE read,
/// print what it returned to `out`, decoded as UTF-8. `exit` or the end of
/// input closes the connection; an empty line is not sent (see
/// [`send_command`]), and `diag` says why. `read_timeout` is the stream's read
/// timeout, for the [`no_reply_line`].
///
/// Before the bytes of every read comes a line that marks it (see
/// [`read_mark`]), so that a piped run shows where one read ended and which
/// command the client took it as the answer to.
///
/// Errors when the connection fails, for example when the server closed it.
pub fn run_client<R, S, O, E>(
    input: &mut InputLines<R>,
    stream: S,
    read_timeout: Duration,
    out: &mut O,
    diag: &mut E,
) -> io::Result<()>
where
    R: BufRead,
    S: Read + Write,
    O: Write + ?Sized,
    E: Write + ?Sized,
{
    run_client_reading(
        input,
        stream,
        read_timeout,
        READ_SIZE,
        Encoding::Utf8,
        out,
        diag,
    )
}

/// The line that marks read number `n` (from 1) before its bytes: how many
/// bytes it returned (`None`: none before the timeout) and which command the
/// client was waiting for. The client cannot know which command the bytes
/// belong to; the mark says what it *took* them for, and the bytes below it
/// show whether that was right.
pub fn read_mark(n: usize, len: Option<usize>, command: &str) -> String {
    let got = match len {
        Some(len) => format!("{len} B"),
        None => "nothing".to_string(),
    };
    format!("── read {n}: {got}, waiting for the reply to `{command}` ──")
}

/// The line the client prints when it closes the connection after `reads`
/// reads: bytes still on their way are never shown, and a piped run would
/// otherwise end as if nothing were missing.
pub fn close_mark(reads: usize) -> String {
    format!(
        "── connection closed after {reads} read(s); whatever the server sent after the last \
         one is never read ──"
    )
}

/// [`run_client`] with ONE read of up to `read_size` bytes per command
/// instead of [`READ_SIZE`] (the client's `--read-size`), each read decoded
/// with `encoding` (`--encoding`). Each read is decoded on its own, as the
/// classic client's `recv(1024).decode(...)` does: a character cut between
/// two reads shows as `�` on both sides of the cut, with a note.
pub fn run_client_reading<R, S, O, E>(
    input: &mut InputLines<R>,
    mut stream: S,
    read_timeout: Duration,
    read_size: usize,
    encoding: Encoding,
    out: &mut O,
    diag: &mut E,
) -> io::Result<()>
where
    R: BufRead,
    S: Read + Write,
    O: Write + ?Sized,
    E: Write + ?Sized,
{
    let mut reads = 0;
    while let Some(line) = input.next_line()? {
        if line == "exit" {
            break;
        }
        if let Err(e) = send_command(&mut stream, &line) {
            if e.kind() != io::ErrorKind::InvalidInput {
                return Err(e);
            }
            writeln!(diag, "(nothing sent: {e})")?;
            continue;
        }
        reads += 1;
        match recv_reply_up_to(&mut stream, read_size)? {
            Some(reply) => {
                writeln!(out, "{}", read_mark(reads, Some(reply.len()), &line))?;
                encoding.decode(&reply).show(out, "this read")?;
            }
            None => {
                writeln!(out, "{}", read_mark(reads, None, &line))?;
                writeln!(out, "{}", no_reply_line(read_timeout))?;
            }
        }
        out.flush()?;
    }
    writeln!(out, "{}", close_mark(reads))?;
    out.flush()
}

/// The popular non-fixes a student can switch on in the demo (and, for the
/// read size, in the client), to see that they do not frame anything.
///
/// [`Tweaks::default`] is the classic tutorial: one `recv(1024)`, Nagle's
/// algorithm left on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tweaks {
    /// The size of the client's one read per reply (`--read-size`).
    pub read_size: usize,
    /// Set `TCP_NODELAY` on both ends' sockets (`--nodelay`): Nagle's
    /// algorithm is switched off, so small writes leave at once.
    pub nodelay: bool,
}

impl Default for Tweaks {
    fn default() -> Self {
        Tweaks {
            read_size: READ_SIZE,
            nodelay: false,
        }
    }
}

impl Tweaks {
    /// True for the classic tutorial's settings.
    pub fn is_default(&self) -> bool {
        *self == Tweaks::default()
    }
}

/// One turn of the demo's conversation.
struct Turn {
    command: &'static str,
    /// The reply's message number in the timeline.
    message: usize,
    /// The client's read for this turn, if it returned bytes.
    read: Option<usize>,
}

/// The scripted conversation ([`EXEC_SCRIPT`]) through a real server and a
/// real client on `127.0.0.1`, then the boundary timeline and a verdict
/// derived from it.
///
/// Synchronised turn by turn so that every read returns the same bytes on
/// every run: after each command the server thread reports (over a channel)
/// how long the reply it has finished writing was, and the client waits until
/// `min(1024, bytes written - bytes read)` bytes have reached its socket
/// before it makes its one naive read. A turn with nothing outstanding just
/// times out after [`DEMO_READ_TIMEOUT`], which is the point of `true`.
pub fn conversation_transcript() -> io::Result<String> {
    conversation_transcript_with(Tweaks::default())
}

/// [`conversation_transcript`] with the popular non-fixes of `tweaks`
/// switched on: a client read of another size, `TCP_NODELAY` on both ends.
/// Still synchronised turn by turn, so it is identical on every run too.
pub fn conversation_transcript_with(tweaks: Tweaks) -> io::Result<String> {
    conversation_transcript_in(tweaks, Lang::En)
}

/// [`conversation_transcript_with`] told in `lang`.
pub fn conversation_transcript_in(tweaks: Tweaks, lang: Lang) -> io::Result<String> {
    let zh = lang.is_zh();
    let read_size = tweaks.read_size.max(1);
    let timeline = Timeline::new(lang.pick("server -> client", "服务端 -> 客户端"));
    let (written_tx, written_rx) = mpsc::channel::<usize>();
    let server_timeline = timeline.clone();
    let server = common::spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(tweaks.nodelay)?;
        handle_connection_with(stream, &ServerConfig::default(), |served| {
            // Recorded by hand, one message per reply, whatever number of
            // write calls write_all needed.
            let label = match (served.reply_len == 0, zh) {
                (true, false) => format!("reply to `{}` (no output: nothing sent)", served.command),
                (false, false) => format!("reply to `{}`", served.command),
                (true, true) => format!("`{}` 的回复（没有输出：什么也没发）", served.command),
                (false, true) => format!("`{}` 的回复", served.command),
            };
            server_timeline.sent_labeled(label, served.reply_len);
            // The client may already have gone after an error; nothing to tell then.
            let _ = written_tx.send(served.reply_len);
        })
    })?;

    let stream = TcpStream::connect(server.addr())?;
    stream.set_read_timeout(Some(DEMO_READ_TIMEOUT))?;
    stream.set_nodelay(tweaks.nodelay)?;
    let mut client = Tap::new(stream)
        .record_reads(timeline.clone())
        .max_read(read_size);

    let mut out = String::new();
    let mut turns = Vec::new();
    let (mut written, mut consumed, mut reads) = (0usize, 0usize, 0usize);
    for (message, &command) in EXEC_SCRIPT.iter().enumerate() {
        let _ = writeln!(out, "> {command}");
        send_command(&mut client, command)?;
        let Ok(reply_len) = written_rx.recv_timeout(DEFAULT_SYNC_TIMEOUT) else {
            drop(client);
            return Err(match server.join() {
                Err(e) => e,
                Ok(()) => io::Error::other("demo: the server stopped without replying"),
            });
        };
        written += reply_len;
        let outstanding = written - consumed;
        wait_for_bytes(
            client.get_ref(),
            outstanding.min(read_size),
            DEFAULT_SYNC_TIMEOUT,
        )?;
        let read = match recv_reply_up_to(&mut client, read_size)? {
            Some(reply) => {
                let mut shown = Vec::new();
                show_reply(&mut shown, &reply)?;
                out.push_str(&String::from_utf8_lossy(&shown));
                consumed += reply.len();
                reads += 1;
                Some(reads - 1)
            }
            None => {
                let _ = writeln!(out, "{}", no_reply_line_in(DEMO_READ_TIMEOUT, lang));
                None
            }
        };
        turns.push(Turn {
            command,
            message,
            read,
        });
    }
    // End of input, then wait for the server: with a small read size some
    // reply bytes are still unread here, and closing a socket with unread
    // bytes resets the connection, which the server would report as an
    // error. A half-close first lets it finish cleanly.
    client.get_ref().shutdown(Shutdown::Write)?;
    server.join()?;
    drop(client);

    let _ = writeln!(out);
    out.push_str(&timeline.render_in(lang));
    let analysis = timeline.analysis();
    let lengths: Vec<usize> = timeline.messages().iter().map(|m| m.len).collect();
    let (verdict, lines) = judge(&turns, &lengths, &analysis, read_size, lang);
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", lang.pick("What the user saw:", "用户看到的："));
    for line in lines {
        out.push_str(&common::text::wrap(&line, 88, "  - ", "    "));
    }
    match (verdict, zh) {
        (Verdict::Intact, false) => {
            let _ = writeln!(
                out,
                "Verdict: every reply arrived whole, in its own read; this time, by luck."
            );
        }
        (Verdict::Intact, true) => {
            let _ = writeln!(
                out,
                "结论：每条回复都完整地落在自己的那次读取里；这次全凭运气。"
            );
        }
        (Verdict::Broken(why), false) => {
            let _ = writeln!(out, "Verdict: broken: {why}.");
            let _ = writeln!(
                out,
                "One write is not one read: TCP carries bytes, not messages, and nothing in this"
            );
            let _ = writeln!(
                out,
                "protocol says where a reply ends. Stage 3 (sleep-fix) sends the length first."
            );
        }
        (Verdict::Broken(why), true) => {
            let _ = writeln!(out, "结论：出错了：{why}。");
            let _ = writeln!(
                out,
                "一次 write 不等于一次 read：TCP 传的是字节流，不是消息，这个协议里也没有任何东西"
            );
            let _ = writeln!(
                out,
                "标出一条回复在哪里结束（没有消息边界）。第 3 阶段（sleep-fix）先发送长度。"
            );
        }
    }
    Ok(out)
}

/// Reads the timeline turn by turn and says, in words, what each answer
/// the user saw really was.
fn judge(
    turns: &[Turn],
    lengths: &[usize],
    analysis: &Analysis,
    read_size: usize,
    lang: Lang,
) -> (Verdict, Vec<String>) {
    let zh = lang.is_zh();
    let command_of = |message: usize| {
        turns
            .iter()
            .find(|t| t.message == message)
            .map_or("?", |t| t.command)
    };
    let mut lines = Vec::new();
    for turn in turns {
        let own_len = lengths.get(turn.message).copied().unwrap_or(0);
        let Some(read) = turn.read.and_then(|r| analysis.reads.get(r)) else {
            lines.push(if zh && own_len == 0 {
                format!(
                    "`{}` 什么也没输出，所以服务端什么也没发，这次读取只能超时：TCP 字节流里\
                     没有“空消息”。",
                    turn.command
                )
            } else if zh {
                format!(
                    "读取放弃时，`{}` 的回复一个字节也还没到；它的 {own_len} 字节会出现在后面\
                     某次回答里。",
                    turn.command
                )
            } else if own_len == 0 {
                format!(
                    "`{}` printed nothing, so the server sent nothing and the read could only \
                     time out: a TCP stream has no empty message.",
                    turn.command
                )
            } else {
                format!(
                    "nothing had arrived for `{}` when the read gave up; its {own_len} bytes \
                     will turn up in a later answer.",
                    turn.command
                )
            });
            continue;
        };
        let parts: Vec<String> = read
            .pieces
            .iter()
            .map(|p| {
                let whose = match (p.message == turn.message, zh) {
                    (true, false) => "its own".to_string(),
                    (false, false) => format!("`{}`'s", command_of(p.message)),
                    (true, true) => "它自己".to_string(),
                    (false, true) => format!(" `{}` ", command_of(p.message)),
                };
                let len = lengths.get(p.message).copied().unwrap_or(0);
                if zh {
                    describe_piece_zh(p, len, &whose)
                } else {
                    describe_piece(p, len, &whose)
                }
            })
            .collect();
        let shown = match (parts.as_slice(), zh) {
            ([], true) => "是时间线无法归属的字节".to_string(),
            ([one], true) => format!("是{one}"),
            ([first, rest @ ..], true) => {
                format!("开头是{first}，接着是{}", rest.join("，接着是")).replace("  ", " ")
            }
            (parts, false) => shown_en(parts),
        };
        let mut why = Vec::new();
        if read.is_sticky() {
            why.push(if zh {
                format!("一次读取返回了 {} 条回复的字节（粘包）", read.pieces.len())
            } else {
                format!(
                    "one read returned bytes of {} replies (sticky)",
                    in_words(read.pieces.len())
                )
            });
        }
        for p in &read.pieces {
            let carriers = analysis
                .carried_by
                .get(p.message)
                .map_or(0, |reads| reads.len());
            let len = lengths.get(p.message).copied().unwrap_or(0);
            if carriers > 1 && p.end < len && p.message == turn.message {
                why.push(if zh {
                    format!(
                        "一次读取最多 {read_size} 字节，其余 {} 字节留在接收缓冲区里等下一次读取（拆包）",
                        len - p.end
                    )
                } else {
                    format!(
                        "one read stops at {read_size} bytes, so the other {} wait in the socket \
                         for the next read (split)",
                        len - p.end
                    )
                });
            } else if carriers > 1 && p.end == len && p.start > 0 {
                why.push(if zh {
                    format!(
                        "`{}` 的回复被切成了 {carriers} 次读取（拆包）",
                        command_of(p.message)
                    )
                } else {
                    format!(
                        "`{}`'s reply was cut across {} reads (split)",
                        command_of(p.message),
                        in_words(carriers)
                    )
                });
            }
        }
        if !read.pieces.iter().any(|p| p.message == turn.message) {
            why.push(match (own_len > 0, zh) {
                (true, false) => {
                    format!("its own {own_len} bytes are still waiting for a later read")
                }
                (false, false) => {
                    "it printed nothing itself: every byte shown belongs to an earlier reply"
                        .to_string()
                }
                (true, true) => format!("它自己的 {own_len} 字节还在等后面的读取"),
                (false, true) => "它自己什么也没输出：显示的每个字节都属于更早的回复".to_string(),
            });
        }
        let line = match (why.is_empty(), zh) {
            (true, false) => format!(
                "the answer shown for `{}` {shown}: nothing was left over from earlier replies, \
                 so this one is right.",
                turn.command
            ),
            (false, false) => format!(
                "the answer shown for `{}` {shown}: {}.",
                turn.command,
                why.join(", and ")
            ),
            (true, true) => format!(
                "给 `{}` 显示的回答{shown}：之前的回复没有剩下字节，所以这次是对的。",
                turn.command
            ),
            (false, true) => format!(
                "给 `{}` 显示的回答{shown}：{}。",
                turn.command,
                why.join("；而且").replace("而且`", "而且 `")
            ),
        };
        lines.push(line);
    }
    let verdict = if analysis.sticky_reads == 0 && analysis.split_messages == 0 {
        Verdict::Intact
    } else if zh {
        Verdict::Broken(format!(
            "粘包读取 {} 次，拆开的回复 {} 条",
            analysis.sticky_reads, analysis.split_messages
        ))
    } else {
        Verdict::Broken(format!(
            "{} sticky {}, {} split {}",
            analysis.sticky_reads,
            plural(analysis.sticky_reads, "read", "reads"),
            analysis.split_messages,
            plural(analysis.split_messages, "reply", "replies")
        ))
    };
    (verdict, lines)
}

/// What the answer shown was, in English: "is its own 3 bytes, whole".
fn shown_en(parts: &[String]) -> String {
    match parts {
        [] => "is bytes the timeline cannot place".to_string(),
        [one] => format!("is {one}"),
        [first, rest @ ..] => format!("starts with {first}, then {}", rest.join(", then ")),
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn in_words(n: usize) -> String {
    const WORDS: [&str; 9] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    ];
    WORDS
        .get(n)
        .map_or_else(|| n.to_string(), |w| w.to_string())
}

/// "the first 1024 of its own 1492 bytes", "the last 468 bytes of `seq 1
/// 400`'s output", ...
fn describe_piece(p: &Piece, len: usize, whose: &str) -> String {
    if p.start == 0 && p.end == len {
        format!("{whose} {len} bytes, whole")
    } else if p.start == 0 {
        format!("only the first {} of {whose} {len} bytes", p.end)
    } else if p.end == len {
        format!("the last {} bytes of {whose} output", p.end - p.start)
    } else {
        format!("bytes {}..{} of {whose} output", p.start, p.end)
    }
}

/// The same in Chinese: "它自己的 1492 字节中的前 1024 字节", ...; `whose`
/// is "它自己" or a command in backticks with a space either side.
fn describe_piece_zh(p: &Piece, len: usize, whose: &str) -> String {
    if p.start == 0 && p.end == len {
        format!("{whose}的全部 {len} 字节")
    } else if p.start == 0 {
        format!("{whose}的 {len} 字节中的前 {} 字节", p.end)
    } else if p.end == len {
        format!("{whose}输出的最后 {} 字节", p.end - p.start)
    } else {
        format!("{whose}输出的第 {}..{} 字节", p.start, p.end)
    }
}

/// The demo: what the stage is, the conversation with its timeline and
/// verdict, and what to try next.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_with(Tweaks::default())
}

/// [`demo_transcript`] with the popular non-fixes of `tweaks` switched on
/// (`--read-size N`, `--nodelay`), and a note on what each really changes.
pub fn demo_transcript_with(tweaks: Tweaks) -> io::Result<String> {
    demo_transcript_in(tweaks, Lang::En)
}

/// [`demo_transcript_with`] told in `lang`.
pub fn demo_transcript_in(tweaks: Tweaks, lang: Lang) -> io::Result<String> {
    let zh = lang.is_zh();
    let read_size = tweaks.read_size.max(1);
    let mut out = String::new();
    if zh {
        let _ = writeln!(
            out,
            "第 2 阶段，naive-exec-sticky：远程执行命令，每个回复只 recv({read_size}) 一次"
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "客户端发送一行命令；服务端执行它，把命令打印的内容原样发回，前后不加任何东西；"
        );
        let _ = writeln!(
            out,
            "客户端显示的是“一次”最多 {read_size} 字节的读取所返回的内容。"
        );
        if tweaks.nodelay {
            let _ = writeln!(
                out,
                "两端的套接字都设置了 TCP_NODELAY（--nodelay）：Nagle 算法已关闭。"
            );
        }
        let _ = writeln!(
            out,
            "127.0.0.1 上真实的服务端和客户端依次执行 {} 条命令：",
            EXEC_SCRIPT.len()
        );
    } else {
        let _ = writeln!(
            out,
            "Stage 2, naive-exec-sticky: remote command execution, one recv({read_size}) per reply"
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "The client sends a command line; the server runs it and sends back what it printed,"
        );
        let _ = writeln!(
            out,
            "with nothing around it; the client shows what ONE read of up to {read_size} bytes returns."
        );
        if tweaks.nodelay {
            let _ = writeln!(
                out,
                "Both sockets have TCP_NODELAY set (--nodelay): Nagle's algorithm is off."
            );
        }
        let _ = writeln!(
            out,
            "A real server and client on 127.0.0.1 run {} commands:",
            EXEC_SCRIPT.len()
        );
    }
    let _ = writeln!(out);
    out.push_str(&conversation_transcript_in(tweaks, lang)?);
    if !tweaks.is_default() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            lang.pick("What the flags changed:", "这些选项改变了什么：")
        );
        if tweaks.nodelay {
            out.push_str(&common::text::wrap(
                lang.pick(
                    "--nodelay: small writes now leave at once instead of waiting for the ACK of \
                     earlier data (RFC 896). That changes when bytes are sent, not where a reader's \
                     read stops: a read still returns whatever is waiting, up to its size, and \
                     nothing on the wire says where a reply ends.",
                    "--nodelay：小块写入现在立刻发出，不再等前面数据的 ACK（RFC 896）。这改变的是\
                     字节什么时候发出，而不是读取在哪里停下：一次读取仍然返回接收缓冲区里已有的\
                     全部字节（不超过它的大小），线路上也仍然没有任何东西标出一条回复在哪里结束。",
                ),
                88,
                "  - ",
                "    ",
            ));
        }
        if read_size != READ_SIZE {
            let text = if zh {
                format!(
                    "--read-size {read_size}：每次回答是一次最多 {read_size} 字节的读取，而不是 \
                     1024。这只是挪动了切口，并没有去掉它：超过 {read_size} 字节的回答照样被拆开；\
                     分几次到达的回答（天气：--split 1）不管读多大都会被拆开；读得越大，也会顺带\
                     拿走更多已在等待的字节，包括下一条回复。"
                )
            } else {
                format!(
                    "--read-size {read_size}: each answer is one read of up to {read_size} \
                     bytes instead of 1024. That moves the cut, it does not remove it: an \
                     answer longer than {read_size} bytes is split, and one that arrives in \
                     pieces (weather: --split 1) is split whatever the size; a bigger read \
                     also takes more of whatever is waiting, the next reply included."
                )
            };
            out.push_str(&common::text::wrap(&text, 88, "  - ", "    "));
        }
    }
    let mut flags = String::new();
    if read_size != READ_SIZE {
        flags.push_str(&format!(" --read-size {read_size}"));
    }
    if tweaks.nodelay {
        flags.push_str(" --nodelay");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}",
        lang.pick("Try it in two terminals:", "在两个终端里亲手试试：")
    );
    let _ = writeln!(out, "    cargo run -p naive-exec-sticky -- server");
    let _ = writeln!(
        out,
        "    printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p naive-exec-sticky -- client{flags}"
    );
    if read_size >= 1492 {
        // seq 1 400's 1,492 bytes fit in one read: nothing is left over to
        // glue on a quiet loopback, so send the student to the weather.
        if zh {
            let _ = writeln!(
                out,
                "然后在中间放上天气代理（docs/zh-CN/weather.md，--split 1 --lockstep）：同一个客户端"
            );
            let _ = writeln!(
                out,
                "会把 `echo hi` 的 3 个字节拆开，因为一次读取返回的是已经到达的字节。"
            );
        } else {
            let _ = writeln!(
                out,
                "Then put the weather proxy in between (docs/weather.md, --split 1 --lockstep): the"
            );
            let _ = writeln!(
                out,
                "same client cuts `echo hi`'s 3 bytes, because a read returns what has arrived."
            );
        }
    } else {
        let _ = writeln!(
            out,
            "{}",
            lang.pick(
                "The tail of seq's output appears where `hi` was expected. Then type commands yourself.",
                "seq 输出的尾巴出现在本该是 `hi` 的地方。然后自己输入命令试试。",
            )
        );
    }
    Ok(out)
}
