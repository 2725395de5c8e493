//! `cargo run -- attack`: a hostile crowd an instructor points at a running
//! stage server on loopback, to show the class that no client can lock it:
//! connections that never send a byte, connections that drip a message one
//! byte at a time, connections that pin a large frame and go silent, and,
//! through it all, a well-behaved client whose every exchange is timed.
//!
//! The defences it shows live in common's accept loop
//! ([`common::accept`]): a cap with a per-address share that makes room by
//! dropping the connection that has waited longest, a deadline per message,
//! a minimum data rate. Loopback only, and bounded: at most
//! [`MAX_ATTACKERS`] connections, for at most [`MAX_HOLD`].

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The most attacking connections one run opens.
pub const MAX_ATTACKERS: usize = 2000;

/// The longest one run holds them.
pub const MAX_HOLD: Duration = Duration::from_secs(120);

/// How long the good client waits before calling itself locked out.
const PROBE_PATIENCE: Duration = Duration::from_secs(10);

/// The attack's command line.
#[derive(clap::Args, Clone, Debug)]
pub struct AttackArgs {
    /// The server under attack (loopback only).
    #[arg(long, value_parser = common::cli::parse_addr)]
    pub addr: SocketAddr,
    /// Which stage's server it is (2 to 6): how to drip, pin and be a good client.
    #[arg(long, value_parser = clap::value_parser!(u8).range(2..=6))]
    pub stage: u8,
    /// Connections that connect and never send a byte.
    #[arg(long, default_value_t = 500)]
    pub silent: usize,
    /// Connections that start a message and then send one byte per --drip-ms.
    #[arg(long, default_value_t = 64)]
    pub drip: usize,
    /// Milliseconds between the drippers' bytes.
    #[arg(long, default_value_t = 1000)]
    pub drip_ms: u64,
    /// Connections that send all but the last byte of the largest message the
    /// stage accepts, then go silent (stages 4 and 6).
    #[arg(long, default_value_t = 0)]
    pub pin: usize,
    /// Seconds to keep the attack going; the good client tries every 2 s meanwhile.
    #[arg(long, default_value_t = 10)]
    pub hold_secs: u64,
}

/// Runs the attack and returns the report.
pub fn run(args: &AttackArgs) -> anyhow::Result<String> {
    if !args.addr.ip().is_loopback() {
        bail!(
            "refusing to attack {}: the attack is for your own server on loopback \
             (127.0.0.1 or ::1) only",
            args.addr
        );
    }
    let total = args.silent + args.drip + args.pin;
    if total > MAX_ATTACKERS {
        bail!("{total} attacking connections is more than this tool opens ({MAX_ATTACKERS})");
    }
    let hold = Duration::from_secs(args.hold_secs);
    if hold > MAX_HOLD {
        bail!(
            "--hold-secs {} is longer than {} s",
            args.hold_secs,
            MAX_HOLD.as_secs()
        );
    }
    let stage = Stage::new(args.stage);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "attacking {} (stage {}): {} silent, {} dripping a byte every {} ms, {} pinning a \
         {}-byte message",
        args.addr,
        args.stage,
        args.silent,
        args.drip,
        args.drip_ms,
        args.pin,
        stage.pin_len()
    );

    let started = Instant::now();
    let mut failed = 0usize;
    let mut open = |n: usize, first: &[u8]| -> Vec<TcpStream> {
        let mut conns = Vec::with_capacity(n);
        for _ in 0..n {
            match TcpStream::connect_timeout(&args.addr, Duration::from_secs(2)) {
                Ok(mut s) => {
                    // A server that already dropped us fails this write: fine.
                    let _ = s.write_all(first);
                    conns.push(s);
                }
                Err(_) => failed += 1,
            }
        }
        conns
    };
    let silent = open(args.silent, b"");
    let drips = open(args.drip, &stage.drip_start());
    let pins = open(args.pin, &stage.pin_bytes());
    let _ = writeln!(
        out,
        "  opened {} attacking connections in {} ms ({failed} could not connect)",
        silent.len() + drips.len() + pins.len(),
        started.elapsed().as_millis()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let dripper = {
        let mut writers: Vec<TcpStream> = drips.iter().filter_map(|s| s.try_clone().ok()).collect();
        let stop = Arc::clone(&stop);
        let every = Duration::from_millis(args.drip_ms.max(1));
        let byte = stage.drip_byte();
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(every);
                // A write that fails means the server dropped that one.
                writers.retain_mut(|w| w.write_all(&[byte]).is_ok());
            }
        })
    };

    let end = Instant::now() + hold;
    let mut probes = Vec::new();
    while Instant::now() < end {
        thread::sleep(
            Duration::from_millis(1000).min(end.saturating_duration_since(Instant::now())),
        );
        let probe_started = Instant::now();
        let outcome = stage.good_client(args.addr);
        let took = probe_started.elapsed();
        let _ = writeln!(
            out,
            "  good client at {:>4.1} s: {}",
            started.elapsed().as_secs_f64(),
            match &outcome {
                Ok(what) => format!("served in {} ms ({what})", took.as_millis()),
                Err(e) => format!("NOT served after {} ms: {e:#}", took.as_millis()),
            }
        );
        probes.push((outcome.is_ok(), took));
        thread::sleep(
            Duration::from_millis(1000).min(end.saturating_duration_since(Instant::now())),
        );
    }

    let dropped = |conns: &[TcpStream]| conns.iter().filter(|s| server_dropped(s)).count();
    let _ = writeln!(
        out,
        "  after {:.1} s the server had dropped {} of {} silent, {} of {} dripping, {} of {} \
         pinning connections",
        started.elapsed().as_secs_f64(),
        dropped(&silent),
        silent.len(),
        dropped(&drips),
        drips.len(),
        dropped(&pins),
        pins.len()
    );
    stop.store(true, Ordering::SeqCst);
    for s in silent.iter().chain(&drips).chain(&pins) {
        let _ = s.shutdown(Shutdown::Both);
    }
    let _ = dripper.join();
    let served = probes.iter().filter(|(ok, _)| *ok).count();
    let slowest = probes.iter().map(|(_, t)| *t).max().unwrap_or_default();
    let _ = writeln!(
        out,
        "  the good client was served {served} of {} times, the slowest in {} ms; attackers \
         closed",
        probes.len(),
        slowest.as_millis()
    );
    Ok(out)
}

/// True when the server closed (or reset) this connection: it reads as end
/// of stream or fails, instead of having nothing to say.
fn server_dropped(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return true;
    }
    let mut buf = [0u8; 4096];
    let mut reader = s;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return true,
            // Words the server sent before dropping (a refusal): read on.
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}

/// What the attack sends to one stage's server.
struct Stage(u8);

impl Stage {
    fn new(n: u8) -> Self {
        Self(n)
    }

    /// The first bytes of a message that will never be finished.
    fn drip_start(&self) -> Vec<u8> {
        match self.0 {
            // One read is one command: each byte runs as `:` (does nothing).
            2 | 3 => b":".to_vec(),
            // One read is one file info: the first read is `{`, refused.
            5 => b"{".to_vec(),
            // A header announcing 100 bytes.
            _ => 100i32.to_le_bytes().to_vec(),
        }
    }

    fn drip_byte(&self) -> u8 {
        match self.0 {
            2 | 3 => b':',
            _ => b' ',
        }
    }

    /// How long the largest message the stage accepts is.
    fn pin_len(&self) -> usize {
        match self.0 {
            4 => length_header_fix::MAX_REQUEST,
            6 => md5_upload::DEFAULT_MAX_INFO_LEN,
            _ => 0,
        }
    }

    /// A header announcing the largest message, and all of it but one byte.
    fn pin_bytes(&self) -> Vec<u8> {
        let len = self.pin_len();
        if len == 0 {
            return Vec::new();
        }
        let mut bytes = i32::try_from(len)
            .unwrap_or(i32::MAX)
            .to_le_bytes()
            .to_vec();
        bytes.resize(4 + len - 1, b' ');
        bytes
    }

    /// One well-behaved exchange; what it got back.
    fn good_client(&self, addr: SocketAddr) -> anyhow::Result<String> {
        let mut s = TcpStream::connect_timeout(&addr, PROBE_PATIENCE).context("connect")?;
        s.set_read_timeout(Some(PROBE_PATIENCE))?;
        s.set_write_timeout(Some(PROBE_PATIENCE))?;
        s.set_nodelay(true)?;
        match self.0 {
            2 => {
                naive_exec_sticky::send_command(&mut s, "echo hi")?;
                let reply = naive_exec_sticky::recv_reply(&mut s)?
                    .context("no reply within the patience")?;
                expect(&reply, b"hi")
            }
            3 => {
                sleep_fix::send_command(&s, "echo hi")?;
                expect(&stage3_reply(&mut s)?, b"hi")
            }
            4 => {
                length_header_fix::send_command(&mut s, "echo hi")?;
                let reply =
                    length_header_fix::recv_reply(&mut s, length_header_fix::DEFAULT_MAX_FRAME)?;
                expect(&reply, b"hi")
            }
            5 => {
                ack_handshake::upload(&mut s, "attack-probe.txt", &b"probe"[..], 5)?;
                Ok("attack-probe.txt sent, 200 received".into())
            }
            _ => {
                let receipt = md5_upload::upload(&mut s, "attack-probe.txt", &b"probe"[..], 5)?;
                Ok(format!("attack-probe.txt: {}", receipt.verdict))
            }
        }
    }
}

/// A stage-3 reply read robustly: on a busy machine the digits and the
/// output glue (the stage's weakness, not what the attack shows), so read
/// until the digits and as many bytes as they announce have arrived. The
/// probe's output (`hi`) does not start with a digit.
fn stage3_reply(s: &mut TcpStream) -> anyhow::Result<Vec<u8>> {
    let mut got: Vec<u8> = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let digits = got.iter().take_while(|b| b.is_ascii_digit()).count();
        let len = std::str::from_utf8(&got[..digits])
            .ok()
            .and_then(|d| d.parse::<usize>().ok());
        if let Some(len) = len {
            if got.len() - digits >= len && digits < got.len() {
                return Ok(got[digits..].to_vec());
            }
        }
        let n = match s.read(&mut buf) {
            // Interrupted (a stop and resume, man 7 signal): read again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        };
        if n == 0 {
            bail!(
                "the server closed the connection after {:?}",
                String::from_utf8_lossy(&got)
            );
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// `wanted` is the reply's line, without its line ending: `cmd`'s `echo`
/// ends lines with CR LF, `sh`'s and the built-in set's with LF, and the
/// attack is about being served, not about line endings.
fn expect(reply: &[u8], wanted: &[u8]) -> anyhow::Result<String> {
    let line = reply
        .strip_suffix(b"\r\n")
        .or_else(|| reply.strip_suffix(b"\n"))
        .unwrap_or(reply);
    if line == wanted {
        Ok(format!("echo hi -> {:?}", String::from_utf8_lossy(reply)))
    } else {
        bail!("echo hi -> {:?}", String::from_utf8_lossy(reply))
    }
}
