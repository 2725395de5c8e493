//! Stage 6's command line: the demo (no subcommand), `server` and `client`.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use common::cli::{listen, parse_addr, print_transcript, InputLines, LangArg};
use common::lang::Lang;
use common::LimitArgs;
use md5_upload::DEFAULT_MAX_FILE_SIZE;
use md5_upload::{run_client, serve, ServerConfig, ServerLog};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Stage 6: the capstone upload.
#[derive(Parser)]
#[command(
    name = "md5-upload",
    about = "Stage 6: framed file info, the bytes, and an MD5 check answered 203 or 204",
    long_about = "Stage 6 of sticky-packets, the capstone: upload files over one TCP connection. \
Per file the client sends a 4-byte little-endian length (struct.pack(\"i\", n)), that much JSON \
{\"action\":\"put\",\"filename\":NAME,\"filesize\":N}, then exactly N bytes; the server answers OK, \
the client sends the MD5 of what it sent as 32 hex characters, and the server answers 203 when its \
MD5 of what it received matches (the file is renamed into place) or 204 when it does not (the \
upload is discarded). Every token is read with a read-exactly loop, so no chunking of the stream \
can glue or cut messages. Without a subcommand it runs the demo, in which one upload is damaged \
on the way; `server` and `client` are the two-terminal version.\n\n\
Two terminals in the same folder; the server (the same in bash and PowerShell):\n  \
cargo run -p md5-upload -- server --dir put\n\
The client, then a check that the saved copy has the same MD5, in bash:\n  \
printf 'put Cargo.toml\\nexit\\n' | cargo run -p md5-upload -- client\n  \
md5sum Cargo.toml put/Cargo.toml\n\
In PowerShell:\n  \
'put Cargo.toml', 'exit' | cargo run -p md5-upload -- client\n  \
Get-FileHash -Algorithm MD5 Cargo.toml, put\\Cargo.toml"
)]
struct Cli {
    #[command(flatten)]
    lang: LangArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Receive files into a folder, verifying each with MD5.
    Server {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_addr)]
        addr: SocketAddr,
        /// Folder to save files in (created if missing).
        #[arg(long, default_value = "put")]
        dir: PathBuf,
        /// Largest file accepted, in bytes (default 8 GiB).
        #[arg(long, default_value_t = DEFAULT_MAX_FILE_SIZE)]
        max_file_size: u64,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Upload files named on standard input as `put PATH` lines.
    Client {
        /// Address of the server.
        #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_addr)]
        addr: SocketAddr,
        /// Give up on a server that does not answer for this many seconds.
        #[arg(long, default_value_t = 60.0)]
        timeout_secs: f64,
        /// Never show a progress bar.
        #[arg(long)]
        no_progress: bool,
    },
}

fn seconds(value: f64, flag: &str) -> Result<Duration> {
    match Duration::try_from_secs_f64(value) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => bail!("{flag} {value} is not a positive number of seconds; try {flag} 30"),
    }
}

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        None => demo(cli.lang.choose()),
        Some(Command::Server {
            addr,
            dir,
            max_file_size,
            limits,
        }) => server(addr, dir, max_file_size, &limits),
        Some(Command::Client {
            addr,
            timeout_secs,
            no_progress,
        }) => client(addr, timeout_secs, !no_progress),
    }
}

fn demo(lang: Lang) -> Result<ExitCode> {
    print_transcript(&md5_upload::demo_transcript_in(lang).context("the demo failed")?)?;
    Ok(ExitCode::SUCCESS)
}

fn server(
    addr: SocketAddr,
    dir: PathBuf,
    max_file_size: u64,
    limits: &LimitArgs,
) -> Result<ExitCode> {
    let config = ServerConfig {
        limits: limits.limits().map_err(anyhow::Error::msg)?,
        max_file_size,
        log: ServerLog::stderr(),
        ..ServerConfig::new(dir)
    };
    let listener = listen(addr)?;
    eprintln!("saving verified files in {}", config.dir.display());
    serve(listener, config).context("the server stopped")?;
    Ok(ExitCode::SUCCESS)
}

fn client(addr: SocketAddr, timeout_secs: f64, progress: bool) -> Result<ExitCode> {
    let timeout = seconds(timeout_secs, "--timeout-secs")?;
    let mut stream = TcpStream::connect(addr).with_context(|| {
        format!(
            "could not connect to {addr}; is the server running? \
             start it with `md5-upload server --addr {addr}`"
        )
    })?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut input = InputLines::stdin("> ");
    let summary = run_client(
        &mut stream,
        &mut input,
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
        progress,
    )?;
    if summary.all_verified() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{} file(s) verified, {} not: exiting with status 1",
            summary.verified, summary.failed
        );
        Ok(ExitCode::FAILURE)
    }
}
