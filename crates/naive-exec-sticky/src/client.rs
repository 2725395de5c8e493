//! The two-terminal client: connect, send each line of input as a command,
//! make ONE read for its reply, and mark every read so that a piped run
//! shows where one read ended and which command the client took it for.

use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::cli::InputLines;
use common::encoding::Encoding;
use common::lang::Lang;

use crate::naive::{recv_reply_up_to, send_command, READ_SIZE};

/// How long the two-terminal client waits for a reply before it gives up.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_millis(2000);

/// Connects to a server, with a read timeout for [`recv_reply`](crate::recv_reply) and an error
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

/// The line a client shows when [`recv_reply`](crate::recv_reply) timed out.
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
