//! The one accept loop every TCP server of the workspace uses, with the
//! defences a real server needs, so that no stage's server can be locked,
//! starved or exhausted by one misbehaving client. The weakness a stage
//! teaches lives in its framing, never here.
//!
//! The defences are the ones the well-known servers use:
//!
//! - **A cap on connections, with a per-address share** (nginx's
//!   `limit_conn`). When the server is full, room is made by dropping the
//!   connection that has *waited longest without completing a message*, not
//!   by refusing the newcomer: a silent connection cannot keep a good client
//!   out. Only when every connection is busy being served, and stays so for
//!   a second, is the newcomer refused, and it is told so in words it can show.
//! - **A deadline for each whole message** (nginx's `client_header_timeout`,
//!   Go's `ReadHeaderTimeout`): the clock runs from the message's first byte
//!   to its last, across every `read()`, so a client that drips one byte a
//!   second cannot keep a slot by always sending *something*. A socket read
//!   timeout (`SO_RCVTIMEO`) alone would not do: it bounds each read, and a
//!   drip restarts it every second.
//! - **A minimum data rate** for long messages (Apache's `mod_reqtimeout`
//!   `MinRate`): every [`Limits::min_rate`] bytes that arrive buy one more
//!   second, so a large file at a sane speed always gets through and a
//!   trickle does not. The time bought is capped at the deadline itself (a
//!   bucket that fills with bytes and drains with waiting): a burst of
//!   megabytes cannot buy an hour of silence afterwards.
//! - **An idle timeout** between messages, generous because a student types
//!   the next command by hand.
//!
//! # How a stage uses it
//!
//! Lesson code stays generic over [`Read`] and [`Write`]: it is handed a
//! [`Guarded`] stream, a wrapper around the `TcpStream` that keeps each
//! message's clock and sets the socket's timeouts from it before every read
//! and write. The wrapper needs to know where a message ends. A server that
//! writes is answering, so whatever it was reading is complete: every write
//! marks a boundary by itself. Where a message gets no answer (stage 5's
//! file bytes, stage 2's command without output), the stage's glue calls
//! [`Marks::message_done`] on the small handle [`Guarded::marks`] gives.
//!
//! The clocks count only the time the server spends *waiting for the
//! client* (blocked in a read or a write), never the time it spends working
//! (running a command, hashing): a slow command does not eat the client's
//! deadline.
#![allow(clippy::module_name_repetitions)]

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::netio::is_timeout;

/// Connections served at once unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 128;

/// Connections one address may hold at once unless told otherwise.
pub const DEFAULT_MAX_PER_ADDRESS: usize = 64;

/// How long a whole message may take from its first byte, unless told otherwise.
pub const DEFAULT_MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes per second a long message must keep up past the deadline, unless told otherwise.
pub const DEFAULT_MIN_RATE: u64 = 1024;

/// How long a connection may wait without starting a message, unless told otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a newcomer to a full server whose connections are all busy being
/// served waits for one of them to go back to waiting (and so become one the
/// server can drop) before it is refused: a command's run or a reply is
/// usually over in milliseconds, and a refusal should mean "really busy".
const BUSY_GRACE: Duration = Duration::from_secs(1);

/// How often the accept loop looks again during [`BUSY_GRACE`].
const BUSY_POLL: Duration = Duration::from_millis(10);

// ANCHOR: Limits
/// Every limit the accept loop enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; when full, the one that has waited
    /// longest without completing a message is dropped to make room.
    pub max_connections: usize,
    /// Connections one client address may hold at once; past it, that
    /// address's own longest-waiting connection makes room.
    pub max_per_address: usize,
    /// A message may keep the server waiting this long at most: it must
    /// arrive whole within this long of its first byte, unless its bytes
    /// keep coming at [`Limits::min_rate`].
    pub message_timeout: Duration,
    /// Bytes per second: each this many bytes of a message buy one more
    /// second of waiting, up to [`Limits::message_timeout`] banked. Also
    /// paces the server's own replies: a client that stops reading them is
    /// dropped the same way.
    pub min_rate: u64,
    /// A connection that starts no message for this long is dropped.
    pub idle_timeout: Duration,
}
// ANCHOR_END: Limits

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_per_address: DEFAULT_MAX_PER_ADDRESS,
            message_timeout: DEFAULT_MESSAGE_TIMEOUT,
            min_rate: DEFAULT_MIN_RATE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

impl Limits {
    /// Says what is wrong with limits that would make a server useless.
    pub fn check(&self) -> Result<(), String> {
        if self.max_connections == 0 {
            return Err("--max-connections 0 would refuse every client; give at least 1".into());
        }
        if self.max_per_address == 0 {
            return Err("--max-per-address 0 would refuse every client; give at least 1".into());
        }
        if self.message_timeout.is_zero() {
            return Err(
                "--message-timeout-ms 0 would drop every message; give at least 1, e.g. 10000"
                    .into(),
            );
        }
        if self.min_rate == 0 {
            return Err(
                "--min-rate 0 would give a long message no time at all past the deadline; \
                 give at least 1, e.g. 1024"
                    .into(),
            );
        }
        if self.idle_timeout.is_zero() {
            return Err("--idle-timeout-secs 0 would drop every connection at once".into());
        }
        Ok(())
    }

    /// The waiting `bytes` bytes buy at the minimum rate.
    pub fn earned(&self, bytes: u64) -> Duration {
        let micros = u128::from(bytes) * 1_000_000 / u128::from(self.min_rate.max(1));
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }
}

/// The limits as command-line flags, for a server subcommand to
/// `#[command(flatten)]`. Every flag shows its default in `--help`.
#[derive(clap::Args, Clone, Debug)]
pub struct LimitArgs {
    /// Connections served at once. When all are taken, the one that has waited longest without
    /// completing a message is dropped to make room for the newcomer.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Connections one client address may hold at once; past it, that address's own
    /// longest-waiting connection makes room.
    #[arg(long, default_value_t = DEFAULT_MAX_PER_ADDRESS)]
    pub max_per_address: usize,
    /// Each message (a command, a header and its JSON) must arrive whole within this many
    /// milliseconds of its first byte, however slowly it is dripped.
    #[arg(long, default_value_t = DEFAULT_MESSAGE_TIMEOUT.as_millis() as u64)]
    pub message_timeout_ms: u64,
    /// Minimum data rate in bytes per second: each this many bytes of a long message (a file)
    /// buy one more second of waiting (at most --message-timeout-ms banked at a time).
    #[arg(long, default_value_t = DEFAULT_MIN_RATE)]
    pub min_rate: u64,
    /// Drop a connection that starts no message for this many seconds (fractions allowed: 0.5).
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs_f64())]
    pub idle_timeout_secs: f64,
}

impl LimitArgs {
    /// The limits the flags describe, or what is wrong with them.
    pub fn limits(&self) -> Result<Limits, String> {
        let idle_timeout = Duration::try_from_secs_f64(self.idle_timeout_secs).map_err(|_| {
            format!(
                "--idle-timeout-secs {} is not a number of seconds; try --idle-timeout-secs 120",
                self.idle_timeout_secs
            )
        })?;
        let limits = Limits {
            max_connections: self.max_connections,
            max_per_address: self.max_per_address,
            message_timeout: Duration::from_millis(self.message_timeout_ms),
            min_rate: self.min_rate,
            idle_timeout,
        };
        limits.check()?;
        Ok(limits)
    }
}

/// Where the accept loop's log lines go.
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

/// How a stage words a refusal in its own wire format, so that its client
/// can show it (stage 4 frames it, stage 2 sends it raw).
pub type RefusalFn = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

/// The accept loop with its limits, its log and its way of saying "busy".
pub struct Acceptor {
    limits: Limits,
    log: LogFn,
    refusal: RefusalFn,
    registry: Arc<Registry>,
}

/// A view of how many connections an [`Acceptor`] holds, for tests and the
/// attack demo.
#[derive(Clone)]
pub struct Gauge(Arc<Registry>);

impl Gauge {
    /// Connections open right now.
    pub fn open(&self) -> usize {
        self.0.lock().len()
    }
}

impl Acceptor {
    /// An accept loop under `limits`, logging to standard error and
    /// refusing with a plain line of text.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            log: Arc::new(|line| eprintln!("{line}")),
            refusal: Arc::new(|text| format!("{text}\n").into_bytes()),
            registry: Arc::new(Registry::new()),
        }
    }

    /// Sends log lines to `log` instead of standard error.
    pub fn log_with(mut self, log: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.log = Arc::new(log);
        self
    }

    /// No log at all (demos, tests that do not read it).
    pub fn quiet(self) -> Self {
        self.log_with(|_| {})
    }

    /// Logs on standard error when `log` is set, else [`Acceptor::quiet`]:
    /// for a stage whose config has a `log` switch.
    pub fn logging(self, log: bool) -> Self {
        if log {
            self
        } else {
            self.quiet()
        }
    }

    /// Words a refusal in the stage's wire format.
    pub fn refuse_with(
        mut self,
        refusal: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        self.refusal = Arc::new(refusal);
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A handle that counts this loop's open connections.
    pub fn gauge(&self) -> Gauge {
        Gauge(Arc::clone(&self.registry))
    }

    /// Accepts connections for ever, each on a thread of its own running
    /// `handler` with a [`Guarded`] stream. A failed `accept` (out of file
    /// descriptors, a client that reset first) is logged and retried after a
    /// short pause, so a persistent error cannot spin a core.
    pub fn serve<H>(self, listener: TcpListener, handler: H) -> io::Result<()>
    where
        H: Fn(Guarded) + Send + Sync + 'static,
    {
        self.serve_until(listener, || false, handler)
    }

    /// [`Acceptor::serve`], returning when `stop()` says so; it is asked
    /// after every accept, so whoever stops the loop wakes it with a
    /// connection of its own (the weather proxy does).
    pub fn serve_until<S, H>(self, listener: TcpListener, stop: S, handler: H) -> io::Result<()>
    where
        S: Fn() -> bool,
        H: Fn(Guarded) + Send + Sync + 'static,
    {
        self.limits
            .check()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let handler = Arc::new(handler);
        let mut next_id = 0u64;
        loop {
            let accepted = listener.accept();
            if stop() {
                return Ok(());
            }
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    (self.log)(&format!("accept failed: {e}; still listening"));
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            next_id += 1;
            let Some(conn) = self.admit(next_id, stream, peer) else {
                continue;
            };
            let handler = Arc::clone(&handler);
            let registry = Arc::clone(&self.registry);
            let id = conn.state.id;
            let spawned = thread::Builder::new()
                .name(format!("client {peer}"))
                .spawn(move || {
                    // Leaves the registry however the handler ends, a panic included.
                    let _leave = Leave { registry, id };
                    handler(conn);
                });
            if let Err(e) = spawned {
                // The closure, and with it the connection, was dropped:
                // closed. Its place is given back here, as no thread will.
                self.registry.remove(id);
                (self.log)(&format!(
                    "{peer}: cannot start a thread for this client ({e}); connection closed"
                ));
            }
        }
    }

    /// Finds room for a newcomer, by dropping the connection that has waited
    /// longest without completing a message if the server or the address is
    /// full, and registers it; or refuses it when nobody can make room.
    fn admit(&self, id: u64, stream: TcpStream, peer: SocketAddr) -> Option<Guarded> {
        let watcher = match stream.try_clone() {
            Ok(watcher) => watcher,
            Err(e) => {
                (self.log)(&format!(
                    "{peer}: cannot watch this connection ({e}); closed"
                ));
                return None;
            }
        };
        // When every connection is busy being served (running a command,
        // answering), none can be dropped; but most are busy for a moment
        // only, so the newcomer waits up to BUSY_GRACE for one to fall
        // back to waiting before it is refused.
        let grace_ends = Instant::now() + BUSY_GRACE;
        let (now, mut conns) = loop {
            let now = self.registry.now_ns();
            let mut conns = self.registry.lock();
            let same_address = conns.iter().filter(|c| c.peer.ip() == peer.ip()).count();
            let full = if same_address >= self.limits.max_per_address {
                Some(Full::Address(peer.ip()))
            } else if conns.len() >= self.limits.max_connections {
                Some(Full::Server)
            } else {
                None
            };
            if let Some(full) = full {
                let victim = conns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.waiting() && full.covers(c.peer.ip()))
                    .min_by_key(|(_, c)| c.fresh())
                    .map(|(i, _)| i);
                let limit = full.describe(&self.limits);
                match victim {
                    Some(i) => {
                        let victim = conns.swap_remove(i);
                        let waited = Duration::from_nanos(now.saturating_sub(victim.fresh()));
                        let reason = format!(
                        "dropped to make room for {peer}: it had waited {} without completing a \
                         message, the longest of all ({limit})",
                        seconds(waited)
                    );
                        (self.log)(&format!("{}: {reason}", victim.peer));
                        // The connection's own thread sees a short reason; the
                        // line above, logged once, names the limit.
                        victim.evict(format!("dropped to make room for {peer} (server full)"));
                    }
                    None if Instant::now() < grace_ends => {
                        drop(conns);
                        thread::sleep(BUSY_POLL);
                        continue;
                    }
                    None => {
                        drop(conns);
                        let text = format!(
                            "[server: busy: every connection is being served right now ({limit}); \
                         try again in a moment]"
                        );
                        (self.log)(&format!("{peer}: refused: all connections busy ({limit})"));
                        let mut stream = stream;
                        // A fresh socket's send buffer is empty: a short line never blocks.
                        let _ = stream.set_nonblocking(true);
                        let _ = stream.write_all(&(self.refusal)(&text));
                        let _ = stream.shutdown(Shutdown::Write);
                        return None;
                    }
                }
            }
            break (now, conns);
        };
        let state = Arc::new(ConnState {
            id,
            peer,
            watcher,
            fresh_ns: AtomicU64::new(now),
            generation: AtomicU64::new(0),
            activity: AtomicU8::new(WAITING),
            dropped: Mutex::new(None),
        });
        conns.push(Arc::clone(&state));
        drop(conns);
        Some(Guarded::new(
            stream,
            self.limits,
            Arc::clone(&self.registry),
            state,
        ))
    }
}

enum Full {
    Address(IpAddr),
    Server,
}

impl Full {
    fn covers(&self, ip: IpAddr) -> bool {
        match self {
            Full::Address(full) => *full == ip,
            Full::Server => true,
        }
    }

    fn describe(&self, limits: &Limits) -> String {
        match self {
            Full::Address(ip) => format!(
                "{ip} already holds {} connections, its share: --max-per-address {}",
                limits.max_per_address, limits.max_per_address
            ),
            Full::Server => format!(
                "the server already holds {} connections: --max-connections {}",
                limits.max_connections, limits.max_connections
            ),
        }
    }
}

/// Every open connection, for the accept loop to choose from when full.
struct Registry {
    epoch: Instant,
    conns: Mutex<Vec<Arc<ConnState>>>,
}

impl Registry {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            conns: Mutex::new(Vec::new()),
        }
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<ConnState>>> {
        // A panic elsewhere cannot leave the list half-edited (push and
        // swap_remove are single steps), so a poisoned lock is still usable.
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remove(&self, id: u64) {
        let mut conns = self.lock();
        if let Some(i) = conns.iter().position(|c| c.id == id) {
            conns.swap_remove(i);
        }
    }
}

struct Leave {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Leave {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

/// What the connection's thread is doing: waiting for the client (in a read
/// or a write), or working for it.
const WAITING: u8 = 0;
const WORKING: u8 = 1;

/// One connection as the accept loop sees it. The connection's own thread
/// writes these; the accept loop reads them when it must choose whom to drop.
struct ConnState {
    id: u64,
    peer: SocketAddr,
    /// A second handle on the socket: shutting it down wakes the thread
    /// blocked on the first.
    watcher: TcpStream,
    /// Since when it has been waiting without earning it: the accept, the
    /// last completed message, or, inside a message, the moment its banked
    /// time would have been full. A silent or dripping connection grows
    /// stale; one sending a file at a good rate stays fresh, however long
    /// the file. The stalest is the one dropped to make room.
    fresh_ns: AtomicU64,
    /// Bumped at every boundary, so the stream resets its clocks.
    generation: AtomicU64,
    activity: AtomicU8,
    /// Why the accept loop dropped it, once it has.
    dropped: Mutex<Option<String>>,
}

impl ConnState {
    fn waiting(&self) -> bool {
        self.activity.load(Ordering::SeqCst) == WAITING
    }

    fn fresh(&self) -> u64 {
        self.fresh_ns.load(Ordering::SeqCst)
    }

    fn evict(&self, reason: String) {
        *self.dropped.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason);
        let _ = self.watcher.shutdown(Shutdown::Both);
    }

    fn dropped(&self) -> Option<String> {
        self.dropped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

mod guarded;
pub use guarded::{Guarded, Marks};

/// A duration as a person reads it: `12.3 s`, `450 ms`.
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests;
