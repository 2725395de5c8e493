//! Part II's command line: the demo (no subcommand), `server` and `client`.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use common::cli::{check_remote_exec_bind, parse_addr, InputLines};
use common::encoding::Encoding;
use common::lang::Lang;
use common::{Interpreter, LimitArgs, ShellLimits};
use length_header_fix::MAX_REQUEST;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
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
    /// The demo's language: `en` or `zh-CN` (default: `STICKY_LANG`, then `LC_ALL` or `LANG` starting with `zh`, else English).
    #[arg(long, global = true)]
    lang: Option<String>,
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
        /// Listen on a non-loopback address: anyone who can reach it runs commands as you.
        #[arg(long)]
        allow_remote: bool,
        /// Largest request body accepted, in bytes (128 KiB: what a command line can be); longer
        /// or negative lengths are refused before anything is allocated.
        #[arg(long, default_value_t = MAX_REQUEST)]
        max_frame: usize,
        /// Kill a command after this many milliseconds.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
        /// Keep at most this many bytes of a command's output; past it the command is killed.
        #[arg(long, default_value_t = 1024 * 1024)]
        max_output: usize,
        #[arg(long, help = common::builtin::BUILTIN_FLAG_HELP)]
        builtin: bool,
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
        None => demo(Lang::choose(cli.lang.as_deref())),
        Some(Command::Server {
            addr,
            allow_remote,
            max_frame,
            timeout_ms,
            max_output,
            builtin,
            limits,
        }) => {
            let config = ServerConfig {
                limits: ShellLimits {
                    timeout: Duration::from_millis(timeout_ms),
                    output_cap: max_output,
                },
                max_frame,
                interpreter: Interpreter::from_flag(builtin),
            };
            server(addr, allow_remote, config, &limits)
        }
        Some(Command::Client {
            addr,
            max_frame,
            encoding,
        }) => client(addr, max_frame, encoding),
    }
}

fn demo(lang: Lang) -> Result<ExitCode> {
    let transcript = tokio_length::demo_transcript_in(lang).context("the demo failed")?;
    let mut out = io::stdout().lock();
    out.write_all(transcript.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn server(
    addr: SocketAddr,
    allow_remote: bool,
    config: ServerConfig,
    limits: &LimitArgs,
) -> Result<ExitCode> {
    let limits = limits.limits().map_err(anyhow::Error::msg)?;
    if config.limits.timeout.is_zero() {
        bail!("--timeout-ms 0 would kill every command at once; give at least 1");
    }
    let warning = check_remote_exec_bind(addr, allow_remote).map_err(anyhow::Error::msg)?;
    // Many connections on few threads: one worker per core by default.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!(
                "could not listen on {addr}; is another server already using it? try --addr 127.0.0.1:0"
            )
        })?;
        eprintln!("listening on {}", listener.local_addr()?);
        eprintln!("{}", config.interpreter.describe());
        if let Some(warning) = warning {
            eprintln!("{warning}");
        }
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
