//! The `tokio-length` command line: the demo, the server and the client.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use common::cli::{check_remote_exec_bind, parse_addr, InputLines};
use common::ShellLimits;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;
use tokio_length::{
    run_client, serve, ServerConfig, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_FRAME,
};

/// Part II: stage 4's protocol with tokio and LengthDelimitedCodec.
#[derive(Parser)]
#[command(
    name = "tokio-length",
    about = "Part II: stage 4's length-header protocol served and consumed with tokio and LengthDelimitedCodec",
    long_about = "Part II of sticky-packets, the production path: stage 4's remote command execution \
(a 4-byte little-endian signed length, then the body, both directions) served and consumed with \
tokio and tokio-util's LengthDelimitedCodec, configured to exactly that wire format: little-endian, \
a 4-byte length field and stage 4's 16 MiB maximum (the codec's defaults are big-endian and 8 MiB). \
It interoperates byte for byte with stage 4's server and client. Without a subcommand it runs the \
demo; `server` and `client` are the two-terminal version."
)]
struct Cli {
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
        /// Largest request body accepted, in bytes; longer or negative lengths are refused.
        #[arg(long, default_value_t = DEFAULT_MAX_FRAME)]
        max_frame: usize,
        /// Kill a command after this many milliseconds.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
        /// Keep at most this many bytes of a command's output; past it the command is killed.
        #[arg(long, default_value_t = 1024 * 1024)]
        max_output: usize,
        /// Serve at most this many connections at once; later ones wait to be accepted.
        #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
        max_connections: usize,
        /// Drop a connection that sends no whole request for this many milliseconds.
        #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT.as_millis() as u64)]
        idle_timeout_ms: u64,
    },
    /// Send commands read from standard input, print each reply whole.
    Client {
        /// Address of the server.
        #[arg(long, default_value = "127.0.0.1:8008", value_parser = parse_addr)]
        addr: SocketAddr,
        /// Largest reply body accepted, in bytes.
        #[arg(long, default_value_t = DEFAULT_MAX_FRAME)]
        max_frame: usize,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        None => {
            let transcript = tokio_length::demo_transcript().context("the demo failed")?;
            let mut out = io::stdout().lock();
            out.write_all(transcript.as_bytes())?;
            out.flush()?;
            Ok(())
        }
        Some(Command::Server {
            addr,
            allow_remote,
            max_frame,
            timeout_ms,
            max_output,
            max_connections,
            idle_timeout_ms,
        }) => {
            if timeout_ms == 0 {
                bail!("--timeout-ms 0 would kill every command at once; give at least 1");
            }
            if idle_timeout_ms == 0 {
                bail!("--idle-timeout-ms 0 would drop every client at once; give at least 1");
            }
            if max_connections == 0 {
                bail!("--max-connections 0 would serve nobody; give at least 1");
            }
            let warning = check_remote_exec_bind(addr, allow_remote).map_err(anyhow::Error::msg)?;
            let config = ServerConfig {
                limits: ShellLimits {
                    timeout: Duration::from_millis(timeout_ms),
                    output_cap: max_output,
                },
                max_frame,
                max_connections,
                idle_timeout: Duration::from_millis(idle_timeout_ms),
            };
            // Many connections on few threads: one worker per core by default.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("could not start the tokio runtime")?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
                    format!("could not listen on {addr}; is another server already using it? try --addr 127.0.0.1:0")
                })?;
                eprintln!("listening on {}", listener.local_addr()?);
                if let Some(warning) = warning {
                    eprintln!("{warning}");
                }
                serve(listener, config).await.context("the server stopped")
            })
        }
        Some(Command::Client { addr, max_frame }) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("could not start the tokio runtime")?;
            let mut input = InputLines::stdin("> ");
            let mut out = io::stdout().lock();
            runtime.block_on(run_client(addr, max_frame, &mut input, &mut out))?;
            Ok(())
        }
    }
}
