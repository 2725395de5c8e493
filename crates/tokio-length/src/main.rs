//! Part II's command line: the demo (no subcommand), `server` and `client`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use common::cli::{listen, parse_addr, print_transcript, InputLines, LangArg, RemoteExecArgs};
use common::encoding::Encoding;
use common::lang::Lang;
use common::LimitArgs;
use length_header_fix::MAX_REQUEST;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use tokio_length::{run_client, serve_with, AsyncAcceptor, ServerConfig, DEFAULT_MAX_FRAME};

/// Part II: stage 4's protocol with tokio and LengthDelimitedCodec.
#[derive(Parser)]
#[command(
    name = "tokio-length",
    about = "Part II: stage 4's length-header protocol served and consumed with tokio and LengthDelimitedCodec",
    long_about = "Part II of sticky-packets, the production path: stage 4's remote command execution \
(a 4-byte little-endian signed length, then the body, both directions) served and consumed with \
tokio and tokio-util's LengthDelimitedCodec, configured to exactly that wire format: little-endian, \
a 4-byte length field, stage 4's 16 MiB maximum for a reply and 128 KiB for a request (the \
codec's defaults are big-endian and 8 MiB). It interoperates byte for byte with stage 4's server \
and client, and its server has the same defences (flags) as every other server of the workspace. \
Without a subcommand it runs the demo; `server` and `client` are the two-terminal version (on \
Windows, start the server with --builtin: cmd has no seq):\n\n\
bash:\n\
\x20 cargo run -p tokio-length -- server --builtin\n\
\x20 printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p tokio-length -- client\n\
PowerShell:\n\
\x20 cargo run -p tokio-length -- server --builtin\n\
\x20 \"seq 1 400\",\"echo hi\",\"exit\" | cargo run -p tokio-length -- client"
)]
struct Cli {
    #[command(flatten)]
    lang: LangArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run commands for clients, one length-prefixed reply per command (async, one task per client).
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
            limits,
        }) => server(addr, &exec, max_frame, &limits),
        Some(Command::Client {
            addr,
            max_frame,
            encoding,
        }) => client(addr, max_frame, encoding),
    }
}

fn demo(lang: Lang) -> Result<ExitCode> {
    print_transcript(&tokio_length::demo_transcript_in(lang).context("the demo failed")?)?;
    Ok(ExitCode::SUCCESS)
}

fn server(
    addr: SocketAddr,
    exec: &RemoteExecArgs,
    max_frame: usize,
    limits: &LimitArgs,
) -> Result<ExitCode> {
    let limits = limits.limits().map_err(anyhow::Error::msg)?;
    let config = ServerConfig {
        limits: exec.shell_limits().map_err(anyhow::Error::msg)?,
        max_frame,
        interpreter: exec.interpreter(),
    };
    let warning = exec.check_bind(addr).map_err(anyhow::Error::msg)?;
    // Bound the same way as every other server (same first line, same
    // error), then handed to tokio, which needs it non-blocking.
    let listener = listen(addr)?;
    listener.set_nonblocking(true)?;
    exec.announce(warning.as_deref());
    // Many connections on few threads: one worker per core by default.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        serve_with(listener, config, AsyncAcceptor::new(limits))
            .await
            .context("the server stopped")
    })?;
    Ok(ExitCode::SUCCESS)
}

fn client(addr: SocketAddr, max_frame: usize, encoding: Encoding) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the tokio runtime")?;
    let mut input = InputLines::stdin("> ");
    let mut out = io::stdout().lock();
    runtime.block_on(run_client(addr, max_frame, encoding, &mut input, &mut out))?;
    Ok(ExitCode::SUCCESS)
}
