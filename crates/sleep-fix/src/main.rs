//! The `sleep-fix` command line: the demo, the server and the client.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use common::cli::{check_remote_exec_bind, parse_addr, InputLines};
use common::encoding::Encoding;
use common::lang::Lang;
use common::netio::is_timeout;
use common::{Acceptor, LimitArgs, ShellLimits};
use sleep_fix::{connect, recv_reply, send_command, serve_with, ReplyError, ServerConfig};

const ABOUT: &str = "Stage 3: send the reply's length as digits, pause, then send the output";

const LONG_ABOUT: &str = "\
Stage 3 of sticky-packets: remote command execution where every reply is the output's \
length as ASCII digits, a pause (--pause-ms, default 100), then the output; the client \
takes ONE read of up to 1024 bytes as the length, then reads until it has that many bytes. \
Without arguments it runs the demo: the same conversation with --pause-ms 0, where the \
digits and the output glue in one read and the length no longer parses, and with the \
pause, where every reply arrives whole. This is not a fix: the pause is a bet on timing \
that a slower or busier network loses, it costs the pause on every reply, and the digits \
are read with a single recv, so a network that delivers \"14\" and \"92\" separately \
breaks the client too. Stage 4 (length-header-fix) is the fix.";

#[derive(Parser)]
#[command(name = "sleep-fix", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// The demo's language: `en` or `zh-CN` (default: `STICKY_LANG`, then
    /// `LC_ALL` or `LANG` starting with `zh`, else English).
    #[arg(long, global = true)]
    lang: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run commands sent by clients; answer with the length, a pause, then the output.
    Server {
        /// Address to listen on (loopback only unless --allow-remote).
        #[arg(long, default_value = "127.0.0.1:8008", value_parser = parse_addr)]
        addr: SocketAddr,
        /// Milliseconds to sleep between the length's digits and the output (0: none).
        #[arg(long, default_value_t = 100)]
        pause_ms: u64,
        /// Listen on a non-loopback address: anyone who can reach it runs commands as you.
        #[arg(long)]
        allow_remote: bool,
        /// Kill a command that runs longer than this many milliseconds.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
        /// Keep at most this many bytes of a command's output, then kill it.
        #[arg(long, default_value_t = 1024 * 1024)]
        max_output: usize,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Send the commands typed on standard input (one a line; `exit` ends) and print the replies,
    /// each after a line with the length read 1 gave and the reads its output took.
    Client {
        /// Address of the server.
        #[arg(long, default_value = "127.0.0.1:8008", value_parser = parse_addr)]
        addr: SocketAddr,
        /// Give up on a reply after this many milliseconds without a byte.
        #[arg(long, default_value_t = 2000)]
        read_timeout_ms: u64,
        /// How to decode each reply for the terminal: `gbk` for a Chinese Windows shell, as
        /// the classic client's `.decode("gbk")`. Bytes that do not decode show as �.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => demo(Lang::choose(cli.lang.as_deref())),
        Some(Command::Server {
            addr,
            pause_ms,
            allow_remote,
            timeout_ms,
            max_output,
            limits,
        }) => run_server(
            addr,
            pause_ms,
            allow_remote,
            timeout_ms,
            max_output,
            &limits,
        ),
        Some(Command::Client {
            addr,
            read_timeout_ms,
            encoding,
        }) => run_client(addr, read_timeout_ms, encoding),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn demo(lang: Lang) -> anyhow::Result<()> {
    let transcript = sleep_fix::demo_transcript_in(lang).context("the demo failed")?;
    io::stdout().lock().write_all(transcript.as_bytes())?;
    Ok(())
}

fn run_server(
    addr: SocketAddr,
    pause_ms: u64,
    allow_remote: bool,
    timeout_ms: u64,
    max_output: usize,
    limits: &LimitArgs,
) -> anyhow::Result<()> {
    let limits = limits.limits().map_err(anyhow::Error::msg)?;
    let warning = check_remote_exec_bind(addr, allow_remote).map_err(anyhow::Error::msg)?;
    if timeout_ms == 0 {
        bail!("--timeout-ms 0 would kill every command at once; give it at least 1, e.g. 5000");
    }
    let listener = TcpListener::bind(addr).with_context(|| {
        format!(
            "could not listen on {addr}; is another server already using that port? \
             Stop it, or pick another one with --addr 127.0.0.1:PORT"
        )
    })?;
    let actual = listener.local_addr()?;
    // Tests read this first line to learn the port; keep it first and exact.
    eprintln!("listening on {actual}");
    if let Some(warning) = warning {
        eprintln!("{warning}");
    }
    eprintln!(
        "each reply: the length as digits, a {pause_ms} ms pause, then the output \
         (commands time out after {timeout_ms} ms, output capped at {max_output} bytes)"
    );
    let config = ServerConfig {
        limits: ShellLimits {
            timeout: Duration::from_millis(timeout_ms),
            output_cap: max_output,
        },
        pause: Duration::from_millis(pause_ms),
        pause_hook: None,
        log: true,
    };
    serve_with(listener, config, Acceptor::new(limits))?;
    Ok(())
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
fn reply_mark(cmd: &str, reads: &[Vec<u8>], output_len: usize) -> String {
    let digits = reads
        .first()
        .map(|r| String::from_utf8_lossy(r))
        .unwrap_or_default();
    format!(
        "── reply to `{cmd}`: read 1 gave the length \"{digits}\", then {output_len} B in {} read(s) ──",
        reads.len().saturating_sub(1)
    )
}

fn run_client(addr: SocketAddr, read_timeout_ms: u64, encoding: Encoding) -> anyhow::Result<()> {
    // A zero timeout means "block forever" to the socket API; refuse it
    // rather than hang on a server that never answers.
    if read_timeout_ms == 0 {
        bail!("--read-timeout-ms 0 would wait forever; give it at least 1, e.g. 2000");
    }
    let timeout = Duration::from_millis(read_timeout_ms);
    let stream = connect(addr, Some(timeout))?;
    let mut lines = InputLines::stdin("> ");
    let mut out = io::stdout().lock();
    while let Some(line) = lines.next_line()? {
        let cmd = line.trim();
        if cmd == "exit" {
            break;
        }
        if cmd.is_empty() {
            eprintln!(
                "(nothing sent: an empty command is a write of zero bytes, which sends nothing \
                 over TCP, so the server would never answer; type a command or `exit`)"
            );
            continue;
        }
        if let Err(e) = send_command(&stream, cmd) {
            if e.kind() == io::ErrorKind::InvalidInput {
                eprintln!("({e})");
                continue;
            }
            bail!("could not send `{cmd}` to {addr}: {e}; has the server stopped?");
        }
        let mut recorded = Recorded {
            stream: &stream,
            reads: Vec::new(),
        };
        match recv_reply(&mut recorded) {
            Ok(reply) => {
                writeln!(out, "{}", reply_mark(cmd, &recorded.reads, reply.len()))?;
                encoding.decode(&reply).show(&mut out, "this reply")?;
                out.flush()?;
            }
            Err(e @ ReplyError::BadLength { .. }) => {
                let first = recorded.reads.first().map_or(0, Vec::len);
                writeln!(
                    out,
                    "── reply to `{cmd}`: read 1 returned {first} B, which are not a length ──"
                )?;
                out.flush()?;
                bail!(
                    "{e}\nThe conversation cannot go on: the client no longer knows where a \
                     reply starts, so it closes the connection. Is the server running with \
                     --pause-ms 0? Try the default pause, then see stage 4 (length-header-fix) \
                     for a real fix."
                )
            }
            Err(ReplyError::Io(e)) if is_timeout(&e) => bail!(
                "no reply to `{cmd}` within {read_timeout_ms} ms; a sleep-fix server always \
                 answers at least the digits, so is {addr} a sleep-fix server? For a slow \
                 command, raise --read-timeout-ms"
            ),
            Err(e) => bail!("reply to `{cmd}`: {e}"),
        }
    }
    Ok(())
}
