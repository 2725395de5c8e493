//! Stage 1's command line: the demo (no subcommand), `server` and `client`.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use common::cli::{parse_addr, print_transcript, InputLines, LangArg};
use common::lang::Lang;

/// Stage 1: UDP keeps message boundaries.
#[derive(Parser)]
#[command(
    name = "udp-echo",
    about = "Stage 1: UDP keeps message boundaries",
    long_about = "Stage 1 of sticky-packets: UDP keeps message boundaries. Every datagram a \
                  client sends arrives as one message: three datagrams sent back to back are \
                  three receives, never one glued blob, unlike TCP. The price: a datagram \
                  larger than the receiver's 1,024-byte buffer is cut and the rest is lost \
                  (silently on Unix, with WSAEMSGSIZE on Windows), and nothing is ever resent. \
                  Without a subcommand it runs the demo; `server` and `client` are the \
                  two-terminal version.\n\n\
                  Two terminals, the same in bash and PowerShell:\n  \
                  cargo run -p udp-echo -- server\n  \
                  cargo run -p udp-echo -- client      (type hello)\n\
                  Scripted, in bash:\n  \
                  printf 'hello\\nexit\\n' | cargo run -p udp-echo -- client\n\
                  In PowerShell:\n  \
                  'hello', 'exit' | cargo run -p udp-echo -- client"
)]
struct Cli {
    #[command(flatten)]
    lang: LangArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Receive datagrams with a 1,024-byte buffer, log each with its sender, answer `hi`.
    Server {
        /// Address to listen on.
        #[arg(long, default_value = udp_echo::DEFAULT_ADDR, value_parser = parse_addr)]
        addr: SocketAddr,
    },
    /// Send each line of standard input as one datagram and print the answer.
    Client {
        /// The server's address.
        #[arg(long, default_value = udp_echo::DEFAULT_ADDR, value_parser = parse_addr)]
        addr: SocketAddr,
        /// How long to wait for each answer, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        read_timeout_ms: u64,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        None => demo(cli.lang.choose()),
        Some(Command::Server { addr }) => server(addr),
        Some(Command::Client {
            addr,
            read_timeout_ms,
        }) => client(addr, Duration::from_millis(read_timeout_ms)),
    }
}

fn demo(lang: Lang) -> anyhow::Result<ExitCode> {
    print_transcript(&udp_echo::demo_transcript_in(lang).context("the demo failed")?)?;
    Ok(ExitCode::SUCCESS)
}

fn server(addr: SocketAddr) -> anyhow::Result<ExitCode> {
    let socket = UdpSocket::bind(addr)
        .with_context(|| format!("could not listen on {addr} (is another server using it?)"))?;
    eprintln!("listening on {}", socket.local_addr()?);
    udp_echo::serve(socket).context("the server's socket failed")?;
    Ok(ExitCode::SUCCESS)
}

fn client(addr: SocketAddr, read_timeout: Duration) -> anyhow::Result<ExitCode> {
    let socket = udp_echo::connect(addr, read_timeout)
        .with_context(|| format!("could not open a UDP socket for {addr}"))?;
    let mut input = InputLines::stdin("> ");
    match udp_echo::run_client(&socket, &mut input, &mut io::stdout().lock()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // "No server" is the failure a student meets most: one line that
        // says how to fix it, never a backtrace, even with RUST_BACKTRACE set.
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
