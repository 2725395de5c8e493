//! Benchmark: `echo hi` through one stage-4 connection, against running the
//! same command locally, and the two-writes anti-pattern against one write.
//!
//! `cargo bench -p length-header-fix` (release). Environment:
//! `ECHO_HI_N` (default 1000) commands for the local and one-write runs,
//! `ECHO_HI_TWO_WRITES_N` (default 50) for the two-writes run, which is slow
//! on purpose.
//!
//! The bar: the framed round trips may take at most 1.5x the time of spawning
//! the same shells locally, i.e. the network part must be small next to
//! `sh -c`. A 40 ms stall anywhere would blow it by an order of magnitude.
//!
//! Nothing here (and nothing in the server) calls `set_nodelay(true)`. That
//! is deliberate: TCP_NODELAY would make the two-writes run fast too, hiding
//! the lesson. The fix this stage teaches is to hand header and body to the
//! kernel in one write, which works with Nagle's algorithm left on, and
//! sends one segment per reply instead of two.

use common::{run_shell, spawn_loopback, ShellLimits};
use length_header_fix::{recv_reply, send_command, serve, ServerConfig, DEFAULT_MAX_FRAME};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const BAR: f64 = 1.5;

fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("{name}={v:?} is not a count; using {default}");
            default
        }),
        Err(_) => default,
    }
}

fn local(n: usize) -> io::Result<Duration> {
    let start = Instant::now();
    for _ in 0..n {
        let out = run_shell("echo hi", ShellLimits::default())?;
        if out.reply() != b"hi\n" {
            return Err(io::Error::other("local `echo hi` printed something else"));
        }
    }
    Ok(start.elapsed())
}

fn start_server(two_writes: bool) -> io::Result<SocketAddr> {
    let config = ServerConfig {
        two_writes,
        ..ServerConfig::default()
    };
    // The server thread runs until the benchmark process ends.
    Ok(spawn_loopback(move |listener| serve(listener, config))?.addr())
}

fn through_server(addr: SocketAddr, n: usize) -> io::Result<Duration> {
    let mut stream = TcpStream::connect(addr)?;
    let start = Instant::now();
    for _ in 0..n {
        send_command(&mut stream, "echo hi")?;
        let reply = recv_reply(&mut stream, DEFAULT_MAX_FRAME)?;
        if reply != b"hi\n" {
            return Err(io::Error::other("the server answered something else"));
        }
    }
    Ok(start.elapsed())
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn ms_each(n: usize, d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0 / n.max(1) as f64
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> io::Result<bool> {
    let n = env_count("ECHO_HI_N", 1000).max(1);
    let n_two = env_count("ECHO_HI_TWO_WRITES_N", 50).max(1);
    let one_write = start_server(false)?;
    let two_writes = start_server(true)?;

    // Warm up both paths (page cache, the shell binary, the connection).
    local(20)?;
    through_server(one_write, 20)?;

    let t_local = local(n)?;
    let t_one = through_server(one_write, n)?;
    let t_two = through_server(two_writes, n_two)?;

    println!("echo hi, stage 4 (length header), one client connection on 127.0.0.1");
    println!(
        "  local run_shell(\"echo hi\")     {n:>5} x  {:>8.1} /s  {:>7.3} ms each",
        per_second(n, t_local),
        ms_each(n, t_local)
    );
    println!(
        "  framed, one write per reply     {n:>5} x  {:>8.1} /s  {:>7.3} ms each",
        per_second(n, t_one),
        ms_each(n, t_one)
    );
    println!(
        "  framed, TWO writes per reply    {n_two:>5} x  {:>8.1} /s  {:>7.3} ms each  (the anti-pattern)",
        per_second(n_two, t_two),
        ms_each(n_two, t_two)
    );
    let ratio = t_one.as_secs_f64() / t_local.as_secs_f64();
    let stall = ms_each(n_two, t_two) - ms_each(n, t_one);
    println!("  one write vs local: {ratio:.2}x (bar: at most {BAR}x)");
    println!("  two writes cost {stall:.1} ms more per reply than one write (Nagle + delayed ACK)");
    if ratio <= BAR {
        println!("  OK: no stall on the one-write path");
        Ok(true)
    } else {
        println!("  OVER THE BAR: the framed path is more than {BAR}x local spawning");
        Ok(false)
    }
}
