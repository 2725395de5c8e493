//! The two-terminal client: send each line of input as a command, read its
//! reply with [`recv_reply`], and mark every reply with what the one read
//! for the length gave and how many reads the output took.

use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::cli::InputLines;
use common::encoding::Encoding;
use common::netio::is_timeout;

use crate::pause::{recv_reply, send_command, ReplyError};

/// Connects to a server, with an error that says what to do when nobody is
/// listening.
pub fn connect(addr: SocketAddr, read_timeout: Option<Duration>) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "could not connect to {addr}: {e}. Is the server running? Start it first in \
                 another terminal: cargo run -p sleep-fix -- server --addr {addr}"
            ),
        )
    })?;
    stream.set_read_timeout(read_timeout)?;
    Ok(stream)
}

/// The client's socket, recording what each read returned, so that the
/// client can mark a reply with the reads it took without the lesson's
/// `recv_reply` knowing anything about it.
struct Recorded<'a> {
    stream: &'a TcpStream,
    /// The bytes each read returned, in order, for the current reply.
    reads: Vec<Vec<u8>>,
}

impl Read for Recorded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.reads.push(buf[..n].to_vec());
        Ok(n)
    }
}

/// The line that marks a reply before its output: what the first read
/// returned and was taken as the length, then how many bytes of output
/// arrived in how many reads.
pub fn reply_mark(cmd: &str, reads: &[Vec<u8>], output_len: usize) -> String {
    let digits = reads
        .first()
        .map(|r| String::from_utf8_lossy(r))
        .unwrap_or_default();
    format!(
        "── reply to `{cmd}`: read 1 gave the length \"{digits}\", then {output_len} B in {} read(s) ──",
        reads.len().saturating_sub(1)
    )
}

/// The two-terminal client: for every line of `input`, send it, read its
/// reply, and print to `out` a line that marks it ([`reply_mark`]) and the
/// output, decoded with `encoding`. `exit` or the end of input ends the
/// conversation; an empty line is not sent, and `diag` says why.
///
/// Errors, with a message that says what to try, when the conversation
/// cannot go on: a reply whose length does not parse (the client no longer
/// knows where the next reply starts), no reply within `read_timeout` (the
/// stream's read timeout), a connection that failed.
pub fn run_client<R, O, E>(
    input: &mut InputLines<R>,
    stream: &TcpStream,
    read_timeout: Duration,
    encoding: Encoding,
    out: &mut O,
    diag: &mut E,
) -> io::Result<()>
where
    R: BufRead,
    O: Write + ?Sized,
    E: Write + ?Sized,
{
    let addr = stream
        .peer_addr()
        .map_or_else(|_| "the server".to_string(), |a| a.to_string());
    let fail = |message: String| io::Error::other(message);
    while let Some(line) = input.next_line()? {
        let cmd = line.trim();
        if cmd == "exit" {
            break;
        }
        if cmd.is_empty() {
            writeln!(
                diag,
                "(nothing sent: an empty command is a write of zero bytes, which sends nothing \
                 over TCP, so the server would never answer; type a command or `exit`)"
            )?;
            continue;
        }
        if let Err(e) = send_command(stream, cmd) {
            if e.kind() == io::ErrorKind::InvalidInput {
                writeln!(diag, "({e})")?;
                continue;
            }
            return Err(fail(format!(
                "could not send `{cmd}` to {addr}: {e}; has the server stopped?"
            )));
        }
        let mut recorded = Recorded {
            stream,
            reads: Vec::new(),
        };
        match recv_reply(&mut recorded) {
            Ok(reply) => {
                writeln!(out, "{}", reply_mark(cmd, &recorded.reads, reply.len()))?;
                encoding.decode(&reply).show(out, "this reply")?;
                out.flush()?;
            }
            Err(e @ ReplyError::BadLength { .. }) => {
                let first = recorded.reads.first().map_or(0, Vec::len);
                writeln!(
                    out,
                    "── reply to `{cmd}`: read 1 returned {first} B, which are not a length ──"
                )?;
                out.flush()?;
                return Err(fail(format!(
                    "{e}\nThe conversation cannot go on: the client no longer knows where a \
                     reply starts, so it closes the connection. Is the server running with \
                     --pause-ms 0? Try the default pause, then see stage 4 (length-header-fix) \
                     for a real fix."
                )));
            }
            Err(ReplyError::Io(e)) if is_timeout(&e) => {
                return Err(fail(format!(
                    "no reply to `{cmd}` within {} ms; a sleep-fix server always answers at \
                     least the digits, so is {addr} a sleep-fix server? For a slow command, \
                     raise --read-timeout-ms",
                    read_timeout.as_millis()
                )))
            }
            Err(e) => return Err(fail(format!("reply to `{cmd}`: {e}"))),
        }
    }
    Ok(())
}
