//! Stage 5's command line: the demo (no subcommand), `server` and `client`.

use ack_handshake::{run_client, serve_with, ServerConfig, DEFAULT_MAX_FILE_SIZE};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use common::cli::{listen, parse_addr, print_transcript, InputLines, LangArg};
use common::lang::Lang;
use common::{Acceptor, LimitArgs};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Stage 5: upload files with JSON file info, wait for the server's 200, then send the bytes.
#[derive(Parser)]
#[command(
    name = "ack-handshake",
    long_about = "Stage 5 of sticky-packets: an upload that sends each file's JSON info \
        ({\"action\":\"put\",\"filename\":NAME,\"filesize\":N}), waits for the server's 200, \
        then sends exactly N bytes, several files on one connection. Waiting for 200 keeps the \
        file's bytes from gluing to its info, at the cost of one round trip per file, but the \
        server still takes the info from ONE read of up to 1024 bytes, so an info that arrives \
        in two pieces, or a client that does not wait, breaks it. Without a subcommand it runs \
        the demo, which shows both; `server` and `client` are the two-terminal version:

  terminal 1: cargo run -p ack-handshake -- server --dir put
  terminal 2, bash:       printf 'put Cargo.toml\\nput README.md\\nexit\\n' | cargo run -p ack-handshake -- client
  terminal 2, PowerShell: \"put Cargo.toml\",\"put README.md\",\"exit\" | cargo run -p ack-handshake -- client"
)]
struct Cli {
    #[command(flatten)]
    lang: LangArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Receive uploads into a folder, one thread per client.
    Server {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_addr)]
        addr: SocketAddr,
        /// Folder the files are saved into (created if missing).
        #[arg(long, default_value = ack_handshake::DEFAULT_DIR)]
        dir: PathBuf,
        /// Refuse files larger than this: bytes, or with a K, M or G suffix (1024-based).
        #[arg(long, default_value_t = DEFAULT_MAX_FILE_SIZE, value_parser = parse_size)]
        max_file_size: u64,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Upload files: reads lines `put PATH` from standard input; `exit` or end of input quits.
    Client {
        /// Address of the server.
        #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_addr)]
        addr: SocketAddr,
    },
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
        Some(Command::Client { addr }) => client(addr),
    }
}

fn demo(lang: Lang) -> Result<ExitCode> {
    print_transcript(&ack_handshake::demo_transcript_in(lang).context("the demo failed")?)?;
    Ok(ExitCode::SUCCESS)
}

fn server(
    addr: SocketAddr,
    dir: PathBuf,
    max_file_size: u64,
    limits: &LimitArgs,
) -> Result<ExitCode> {
    let limits = limits.limits().map_err(anyhow::Error::msg)?;
    let listener = listen(addr)?;
    eprintln!(
        "saving uploads into {} (files over {max_file_size} bytes are refused)",
        dir.display()
    );
    serve_with(
        listener,
        ServerConfig { dir, max_file_size },
        Acceptor::new(limits),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn client(addr: SocketAddr) -> Result<ExitCode> {
    let mut lines = InputLines::stdin("> ");
    let failures = run_client(
        addr,
        &mut lines,
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
    )?;
    if failures > 0 {
        eprintln!("{failures} line(s) did not upload a file");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses a size in bytes with an optional K, M or G suffix (1024-based).
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let (digits, unit) = match trimmed.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size: write bytes, or a number with K, M or G, such as 10M"
            ))
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| {
            format!("`{text}` is not a size: write bytes, or a number with K, M or G, such as 10M")
        })
}
