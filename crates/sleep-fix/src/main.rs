//! Stage 3's command line: the demo (no subcommand), `server` and `client`.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use common::cli::{listen, parse_addr, print_transcript, InputLines, LangArg, RemoteExecArgs};
use common::encoding::Encoding;
use common::lang::Lang;
use common::{Acceptor, LimitArgs};
use sleep_fix::{connect, serve_with, ServerConfig};

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
breaks the client too. Stage 4 (length-header-fix) is the fix.

Two terminals: `cargo run -p sleep-fix -- server --builtin --pause-ms 0`, then
  bash:       printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p sleep-fix -- client
  PowerShell: 'seq 1 400', 'echo hi', 'exit' | cargo run -p sleep-fix -- client
(--builtin answers echo, seq, true, ... the same on every OS; Windows' cmd has no seq or \
true, so start the server with it there.)";

#[derive(Parser)]
#[command(name = "sleep-fix", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    #[command(flatten)]
    lang: LangArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run commands sent by clients; answer with the length, a pause, then the output (on
    /// Windows, start it with --builtin: cmd has no `seq` or `true`).
    Server {
        /// Address to listen on (loopback only unless --allow-remote).
        #[arg(long, default_value = "127.0.0.1:8008", value_parser = parse_addr)]
        addr: SocketAddr,
        /// Milliseconds to sleep between the length's digits and the output (0: none).
        #[arg(long, default_value_t = 100)]
        pause_ms: u64,
        #[command(flatten)]
        exec: RemoteExecArgs,
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

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        None => demo(cli.lang.choose()),
        Some(Command::Server {
            addr,
            pause_ms,
            exec,
            limits,
        }) => server(addr, &exec, Duration::from_millis(pause_ms), &limits),
        Some(Command::Client {
            addr,
            read_timeout_ms,
            encoding,
        }) => client(addr, read_timeout_ms, encoding),
    }
}

fn demo(lang: Lang) -> anyhow::Result<ExitCode> {
    print_transcript(&sleep_fix::demo_transcript_in(lang).context("the demo failed")?)?;
    Ok(ExitCode::SUCCESS)
}

fn server(
    addr: SocketAddr,
    exec: &RemoteExecArgs,
    pause: Duration,
    limits: &LimitArgs,
) -> anyhow::Result<ExitCode> {
    let limits = limits.limits().map_err(anyhow::Error::msg)?;
    let config = ServerConfig {
        limits: exec.shell_limits().map_err(anyhow::Error::msg)?,
        pause,
        interpreter: exec.interpreter(),
        log: true,
    };
    let warning = exec.check_bind(addr).map_err(anyhow::Error::msg)?;
    let listener = listen(addr)?;
    exec.announce(warning.as_deref());
    eprintln!(
        "each reply: the length as digits, a {} ms pause, then the output \
         (commands time out after {} ms, output capped at {} bytes)",
        config.pause.as_millis(),
        config.limits.timeout.as_millis(),
        config.limits.output_cap
    );
    serve_with(listener, config, Acceptor::new(limits))?;
    Ok(ExitCode::SUCCESS)
}

fn client(addr: SocketAddr, read_timeout_ms: u64, encoding: Encoding) -> anyhow::Result<ExitCode> {
    // A zero timeout means "block forever" to the socket API; refuse it
    // rather than hang on a server that never answers.
    if read_timeout_ms == 0 {
        bail!("--read-timeout-ms 0 would wait forever; give it at least 1, e.g. 2000");
    }
    let timeout = Duration::from_millis(read_timeout_ms);
    let stream = connect(addr, Some(timeout))?;
    let mut input = InputLines::stdin("> ");
    sleep_fix::run_client(
        &mut input,
        &stream,
        timeout,
        encoding,
        &mut io::stdout().lock(),
        &mut io::stderr(),
    )?;
    Ok(ExitCode::SUCCESS)
}
