//! Stage 4's command line: the demo (no subcommand), `server` and `client`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use common::cli::{listen, parse_addr, print_transcript, InputLines, LangArg, RemoteExecArgs};
use common::encoding::Encoding;
use common::lang::Lang;
use common::{Acceptor, LimitArgs};
use length_header_fix::{run_client, serve_with, ServerConfig, DEFAULT_MAX_FRAME, MAX_REQUEST};
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Stage 4: put a length in front of every message.
#[derive(Parser)]
#[command(
    name = "length-header-fix",
    about = "Stage 4: every message carries a 4-byte length header, so replies arrive whole",
    long_about = "Stage 4 of sticky-packets: remote command execution where both directions are \
framed. Every message is a 4-byte little-endian signed length (Python's struct.pack(\"i\", n)) \
followed by that many bytes; the reader loops until it has the whole header, then the whole \
body, so a long reply split across reads is put back together and no reply sticks to the next. \
Negative or oversized lengths are refused before anything is allocated, and header and body \
leave in one write to avoid the 40 ms Nagle/delayed-ACK stall. Without a subcommand it runs the \
demo; `server` and `client` are the two-terminal version:

  terminal 1: cargo run -p length-header-fix -- server --builtin
  terminal 2, bash:       printf 'seq 1 400\\necho hi\\ntrue\\nexit\\n' | cargo run -p length-header-fix -- client
  terminal 2, PowerShell: \"seq 1 400\",\"echo hi\",\"true\",\"exit\" | cargo run -p length-header-fix -- client

--builtin answers echo, seq, true, ... the same on every OS; without it the server runs the \
system shell (sh -c, or cmd /C on Windows, which has no seq and no true)."
)]
struct Cli {
    #[command(flatten)]
    lang: LangArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run commands for clients, one length-prefixed reply per command.
    Server {
        /// Address to listen on (loopback only unless --allow-remote).
        #[arg(long, default_value = "127.0.0.1:8008", value_parser = parse_addr)]
        addr: SocketAddr,
        #[command(flatten)]
        exec: RemoteExecArgs,
        /// Largest request body accepted, in bytes (128 KiB: what a command line can be); longer
        /// or negative lengths are refused before anything is allocated.
        #[arg(long, default_value_t = MAX_REQUEST)]
        max_frame: usize,
        /// THE ANTI-PATTERN, to see the stall: send each reply's header and body as two writes.
        #[arg(long)]
        two_writes: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Send commands read from standard input, print each reply whole, after a line that marks
    /// it with its command and length.
    Client {
        /// Address of the server.
        #[arg(long, default_value = "127.0.0.1:8008", value_parser = parse_addr)]
        addr: SocketAddr,
        /// Largest reply body accepted, in bytes.
        #[arg(long, default_value_t = DEFAULT_MAX_FRAME)]
        max_frame: usize,
        /// How to decode each reply for the terminal: `gbk` for a Chinese Windows shell, as
        /// the classic client's `.decode("gbk")`. Bytes that do not decode show as �.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,
    },
}

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        None => demo(cli.lang.choose()),
        Some(Command::Server {
            addr,
            exec,
            max_frame,
            two_writes,
            limits,
        }) => server(addr, &exec, max_frame, two_writes, &limits),
        Some(Command::Client {
            addr,
            max_frame,
            encoding,
        }) => client(addr, max_frame, encoding),
    }
}

fn demo(lang: Lang) -> Result<ExitCode> {
    print_transcript(&length_header_fix::demo_transcript_in(lang).context("the demo failed")?)?;
    Ok(ExitCode::SUCCESS)
}

fn server(
    addr: SocketAddr,
    exec: &RemoteExecArgs,
    max_frame: usize,
    two_writes: bool,
    limits: &LimitArgs,
) -> Result<ExitCode> {
    let limits = limits.limits().map_err(anyhow::Error::msg)?;
    let config = ServerConfig {
        limits: exec.shell_limits().map_err(anyhow::Error::msg)?,
        interpreter: exec.interpreter(),
        max_frame,
        two_writes,
    };
    let warning = exec.check_bind(addr).map_err(anyhow::Error::msg)?;
    let listener = listen(addr)?;
    exec.announce(warning.as_deref());
    if config.two_writes {
        eprintln!(
            "--two-writes: every reply goes out as two writes (header, then body); expect \
             a ~40 ms stall per reply. This is the anti-pattern, for measuring only."
        );
    }
    serve_with(listener, config, Acceptor::new(limits)).context("the server stopped")?;
    Ok(ExitCode::SUCCESS)
}

fn client(addr: SocketAddr, max_frame: usize, encoding: Encoding) -> Result<ExitCode> {
    let mut input = InputLines::stdin("> ");
    let mut out = io::stdout().lock();
    run_client(addr, max_frame, encoding, &mut input, &mut out)?;
    Ok(ExitCode::SUCCESS)
}
