//! Stage 2's command line: the demo (no subcommand), `server` and `client`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use common::cli::{listen, parse_addr, print_transcript, InputLines, LangArg, RemoteExecArgs};
use common::encoding::Encoding;
use common::lang::Lang;
use common::{Acceptor, LimitArgs};
use naive_exec_sticky::{ServerConfig, Tweaks, DEFAULT_ADDR};

/// Stage 2: remote command execution whose output runs together.
#[derive(Parser)]
#[command(
    name = "naive-exec-sticky",
    about = "Stage 2: remote command execution over TCP whose output runs together",
    long_about = "Stage 2 of sticky-packets: remote command execution over TCP with one \
                  recv(1024) per reply, as the classic tutorial writes it. The server runs each \
                  command line it receives and writes back the output with no framing; the \
                  client prints whatever one read of up to 1,024 bytes returns. A long output \
                  (`seq 1 400`, 1,492 bytes) is cut across reads (split), its tail shows up as \
                  the answer to the next command (sticky), and a command with no output gets no \
                  reply at all, because a stream has no empty message. Without a subcommand it \
                  runs the demo; `server` and `client` are the two-terminal version. The server \
                  runs ANY command it is sent: it listens on loopback only unless given \
                  --allow-remote.\n\n\
                  Two terminals: `cargo run -p naive-exec-sticky -- server --builtin`, then\n  \
                  bash:       printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p naive-exec-sticky -- client\n  \
                  PowerShell: 'seq 1 400', 'echo hi', 'exit' | cargo run -p naive-exec-sticky -- client\n\
                  (--builtin answers echo, seq, true, ... the same on every OS; Windows' cmd has \
                  no seq or true, so start the server with it there.)"
)]
struct Cli {
    #[command(flatten)]
    lang: LangArg,
    #[command(subcommand)]
    command: Option<Command>,
    /// Demo: make each answer one read of up to N bytes instead of 1024 (the "bigger
    /// buffer" advice; it moves the cut, it does not remove it).
    #[arg(long, value_name = "N", default_value_t = naive_exec_sticky::READ_SIZE,
          value_parser = read_size)]
    read_size: usize,
    /// Demo: set TCP_NODELAY on both ends (Nagle's algorithm off); the reads glue and split
    /// as before.
    #[arg(long)]
    nodelay: bool,
}

/// The largest `--read-size`: far beyond any reply the demo or a shell
/// prints, and small enough that the buffer is never a memory problem.
const MAX_READ_SIZE: usize = 16 * 1024 * 1024;

fn read_size(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of bytes; try 4096"))?;
    if n == 0 || n > MAX_READ_SIZE {
        return Err(format!(
            "a read size must be between 1 and {MAX_READ_SIZE} bytes; try 4096"
        ));
    }
    Ok(n)
}

#[derive(Subcommand)]
enum Command {
    /// Run every command line received and send back its output, unframed (on Windows, start
    /// it with --builtin: cmd has no `seq` or `true`).
    Server {
        /// Address to listen on (loopback only, unless --allow-remote).
        #[arg(long, default_value = DEFAULT_ADDR, value_parser = parse_addr)]
        addr: SocketAddr,
        #[command(flatten)]
        exec: RemoteExecArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Send each line of standard input as a command and print what one read returns,
    /// after a line that marks the read and the command it was waiting for.
    Client {
        /// The server's address.
        #[arg(long, default_value = DEFAULT_ADDR, value_parser = parse_addr)]
        addr: SocketAddr,
        /// How long to wait for a reply, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        read_timeout_ms: u64,
        /// Make each answer one read of up to N bytes instead of 1024.
        #[arg(long, value_name = "N", default_value_t = naive_exec_sticky::READ_SIZE,
              value_parser = read_size)]
        read_size: usize,
        /// Set TCP_NODELAY on the client's socket (Nagle's algorithm off).
        #[arg(long)]
        nodelay: bool,
        /// How to decode each read for the terminal: `gbk` for a Chinese Windows shell, as
        /// the classic client's `.decode("gbk")`. Bytes that do not decode show as �.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        None => demo(
            Tweaks {
                read_size: cli.read_size,
                nodelay: cli.nodelay,
            },
            cli.lang.choose(),
        ),
        Some(Command::Server { addr, exec, limits }) => server(addr, &exec, &limits),
        Some(Command::Client {
            addr,
            read_timeout_ms,
            read_size,
            nodelay,
            encoding,
        }) => client(
            addr,
            Duration::from_millis(read_timeout_ms),
            read_size,
            nodelay,
            encoding,
        ),
    }
}

fn demo(tweaks: Tweaks, lang: Lang) -> anyhow::Result<ExitCode> {
    print_transcript(
        &naive_exec_sticky::demo_transcript_in(tweaks, lang).context("the demo failed")?,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn server(addr: SocketAddr, exec: &RemoteExecArgs, limits: &LimitArgs) -> anyhow::Result<ExitCode> {
    let limits = limits.limits().map_err(anyhow::Error::msg)?;
    let config = ServerConfig {
        limits: exec.shell_limits().map_err(anyhow::Error::msg)?,
        interpreter: exec.interpreter(),
        log: true,
    };
    let warning = exec.check_bind(addr).map_err(anyhow::Error::msg)?;
    let listener = listen(addr)?;
    exec.announce(warning.as_deref());
    naive_exec_sticky::serve_with(listener, config, Acceptor::new(limits))
        .context("the server stopped")?;
    Ok(ExitCode::SUCCESS)
}

fn client(
    addr: SocketAddr,
    read_timeout: Duration,
    read_size: usize,
    nodelay: bool,
    encoding: Encoding,
) -> anyhow::Result<ExitCode> {
    let stream = naive_exec_sticky::connect(addr, read_timeout)?;
    stream
        .set_nodelay(nodelay)
        .context("could not set TCP_NODELAY")?;
    let mut input = InputLines::stdin("> ");
    naive_exec_sticky::run_client_reading(
        &mut input,
        stream,
        read_timeout,
        read_size,
        encoding,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )?;
    Ok(ExitCode::SUCCESS)
}
