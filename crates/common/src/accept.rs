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
        Some(Guarded {
            stream,
            limits: self.limits,
            registry: Arc::clone(&self.registry),
            state,
            seen_generation: 0,
            idle_waited: Duration::ZERO,
            msg_bytes: 0,
            msg_waited: Duration::ZERO,
            credit: self.limits.message_timeout,
            out_bytes: 0,
            out_waited: Duration::ZERO,
            out_credit: self.limits.message_timeout,
        })
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

/// The handle a stage's glue uses to say "this message is complete" where
/// the server writes no answer to it.
#[derive(Clone)]
pub struct Marks {
    state: Arc<ConnState>,
    registry: Arc<Registry>,
}

impl Marks {
    /// The message the server was reading is complete: its clock stops, and
    /// the next one starts at its first byte.
    pub fn message_done(&self) {
        self.state
            .fresh_ns
            .store(self.registry.now_ns(), Ordering::SeqCst);
        self.state.generation.fetch_add(1, Ordering::SeqCst);
    }
}

impl fmt::Debug for Marks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Marks")
            .field("peer", &self.state.peer)
            .finish()
    }
}

/// A connection's stream under the limits: reads and writes pass through to
/// the socket, with its timeouts set from the current message's clock.
///
/// A limit that runs out ends the read or write with an
/// [`io::ErrorKind::TimedOut`] error whose text names the client's fault and
/// the flag; the stage's own error path then logs it and closes.
pub struct Guarded {
    stream: TcpStream,
    limits: Limits,
    registry: Arc<Registry>,
    state: Arc<ConnState>,
    seen_generation: u64,
    /// Time spent waiting for the first byte of the next message.
    idle_waited: Duration,
    /// Bytes of the current message, time spent waiting for them, and the
    /// waiting still banked (the bucket: filled by bytes, drained by waiting).
    msg_bytes: u64,
    msg_waited: Duration,
    credit: Duration,
    /// The same for the reply being written since the last read.
    out_bytes: u64,
    out_waited: Duration,
    out_credit: Duration,
}

impl fmt::Debug for Guarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("peer", &self.state.peer)
            .field("msg_bytes", &self.msg_bytes)
            .finish()
    }
}

impl Guarded {
    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.state.peer
    }

    /// The handle that marks message boundaries the server does not answer.
    pub fn marks(&self) -> Marks {
        Marks {
            state: Arc::clone(&self.state),
            registry: Arc::clone(&self.registry),
        }
    }

    /// The socket underneath (to set `TCP_NODELAY`, say). Its timeouts are
    /// the wrapper's to set.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    fn sync(&mut self) {
        let generation = self.state.generation.load(Ordering::SeqCst);
        if generation != self.seen_generation {
            self.seen_generation = generation;
            self.idle_waited = Duration::ZERO;
            self.msg_bytes = 0;
            self.msg_waited = Duration::ZERO;
            self.credit = self.limits.message_timeout;
        }
    }

    fn boundary(&mut self) {
        self.marks().message_done();
        self.sync();
    }

    fn evicted(&self) -> Option<io::Error> {
        self.state
            .dropped()
            .map(|reason| io::Error::new(io::ErrorKind::ConnectionAborted, reason))
    }

    fn limit_error(&self, text: String) -> io::Error {
        *self
            .state
            .dropped
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(text.clone());
        io::Error::new(io::ErrorKind::TimedOut, text)
    }

    fn idle_error(&self) -> io::Error {
        self.limit_error(format!(
            "dropped: no message started for {} (--idle-timeout-secs {})",
            seconds(self.limits.idle_timeout),
            self.limits.idle_timeout.as_secs_f64()
        ))
    }

    fn message_error(&self) -> io::Error {
        self.limit_error(format!(
            "dropped: {} byte(s) of a message arrived in {} of waiting, too slowly (a \
             message may keep the server waiting --message-timeout-ms {}, and each \
             --min-rate {} bytes buy 1 s more)",
            self.msg_bytes,
            seconds(self.msg_waited),
            self.limits.message_timeout.as_millis(),
            self.limits.min_rate
        ))
    }

    fn write_error(&self) -> io::Error {
        self.limit_error(format!(
            "dropped: the client took only {} byte(s) of the reply in {} of waiting (a \
             reply may wait --message-timeout-ms {} for the client, and each --min-rate {} \
             bytes it takes buy 1 s more)",
            self.out_bytes,
            seconds(self.out_waited),
            self.limits.message_timeout.as_millis(),
            self.limits.min_rate
        ))
    }
}

impl Read for Guarded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sync();
        // A new read means the reply before it is out: its clock restarts.
        self.out_bytes = 0;
        self.out_waited = Duration::ZERO;
        self.out_credit = self.limits.message_timeout;
        loop {
            if let Some(e) = self.evicted() {
                return Err(e);
            }
            let in_message = self.msg_bytes > 0;
            let left = if in_message {
                self.credit
            } else {
                self.limits.idle_timeout.saturating_sub(self.idle_waited)
            };
            if left.is_zero() {
                return Err(if in_message {
                    self.message_error()
                } else {
                    self.idle_error()
                });
            }
            // Zero means "no timeout" to the socket API; never ask for that.
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            self.state.activity.store(WAITING, Ordering::SeqCst);
            let started = Instant::now();
            let result = self.stream.read(buf);
            let spent = started.elapsed();
            self.state.activity.store(WORKING, Ordering::SeqCst);
            if in_message {
                self.msg_waited += spent;
                self.credit = self.credit.saturating_sub(spent);
            } else {
                self.idle_waited += spent;
            }
            match result {
                Ok(0) => return self.evicted().map_or(Ok(0), Err),
                Ok(n) => {
                    self.msg_bytes += n as u64;
                    self.credit = (self.credit + self.limits.earned(n as u64))
                        .min(self.limits.message_timeout);
                    // Publish how stale this connection is for the accept
                    // loop: as if it had been waiting since its bank was full.
                    let behind = self.limits.message_timeout - self.credit;
                    let now = self.registry.now_ns();
                    let behind = u64::try_from(behind.as_nanos()).unwrap_or(u64::MAX);
                    self.state
                        .fresh_ns
                        .store(now.saturating_sub(behind), Ordering::SeqCst);
                    return Ok(n);
                }
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.evicted().unwrap_or(e)),
            }
        }
    }
}

impl Guarded {
    /// One write to the socket, by `write`, under the connection's write
    /// credit: the bookkeeping of [`Write::write`] and [`Write::write_vectored`].
    fn guarded_write(
        &mut self,
        mut write: impl FnMut(&mut TcpStream) -> io::Result<usize>,
    ) -> io::Result<usize> {
        // A server that writes is answering: what it was reading is complete.
        if self.msg_bytes > 0 || self.idle_waited > Duration::ZERO {
            self.boundary();
        }
        loop {
            if let Some(e) = self.evicted() {
                return Err(e);
            }
            let left = self.out_credit;
            if left.is_zero() {
                return Err(self.write_error());
            }
            self.stream
                .set_write_timeout(Some(left.max(Duration::from_millis(1))))?;
            self.state.activity.store(WAITING, Ordering::SeqCst);
            let started = Instant::now();
            let result = write(&mut self.stream);
            let spent = started.elapsed();
            self.out_waited += spent;
            self.out_credit = self.out_credit.saturating_sub(spent);
            self.state.activity.store(WORKING, Ordering::SeqCst);
            match result {
                Ok(n) => {
                    self.out_bytes += n as u64;
                    self.out_credit = (self.out_credit + self.limits.earned(n as u64))
                        .min(self.limits.message_timeout);
                    return Ok(n);
                }
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.evicted().unwrap_or(e)),
            }
        }
    }
}

impl Write for Guarded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.guarded_write(|stream| stream.write(buf))
    }

    /// Passed on whole: stage 4 hands header and body to the kernel in one
    /// `writev`, and the default `write_vectored` would write only the
    /// header, leaving the body to a second write that Nagle's algorithm
    /// holds back until the header is acknowledged (40 ms a reply on Linux).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.guarded_write(|stream| stream.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// A duration as a person reads it: `12.3 s`, `450 ms`.
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::bind_loopback_tcp;
    use std::sync::mpsc;

    const PATIENCE: Duration = Duration::from_secs(10);

    fn small() -> Limits {
        Limits {
            max_connections: 3,
            max_per_address: 3,
            message_timeout: Duration::from_millis(300),
            min_rate: 10_000,
            idle_timeout: Duration::from_secs(10),
        }
    }

    /// Starts an accept loop whose handler reads until the stream ends or
    /// fails and reports how it ended; log lines go to the second channel.
    fn start(
        limits: Limits,
    ) -> (
        SocketAddr,
        Gauge,
        mpsc::Receiver<io::Result<u64>>,
        mpsc::Receiver<String>,
    ) {
        let listener = bind_loopback_tcp().unwrap();
        let addr = listener.local_addr().unwrap();
        let (log_tx, log_rx) = mpsc::channel();
        let log_tx = Mutex::new(log_tx);
        let acceptor = Acceptor::new(limits).log_with(move |line| {
            let _ = log_tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(line.to_string());
        });
        let gauge = acceptor.gauge();
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        thread::spawn(move || {
            acceptor.serve(listener, move |mut stream| {
                let mut total = 0u64;
                let mut buf = [0u8; 4096];
                let outcome = loop {
                    match stream.read(&mut buf) {
                        Ok(0) => break Ok(total),
                        Ok(n) => total += n as u64,
                        Err(e) => break Err(e),
                    }
                };
                let _ = tx
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .send(outcome);
            })
        });
        (addr, gauge, rx, log_rx)
    }

    fn connect(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        s
    }

    fn wait_open(gauge: &Gauge, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while gauge.open() != n {
            assert!(
                Instant::now() < deadline,
                "{} open, expected {n}",
                gauge.open()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// True when the server closed (or reset) the connection.
    fn closed(s: &mut TcpStream) -> bool {
        let mut buf = [0u8; 64];
        matches!(s.read(&mut buf), Ok(0))
            || matches!(s.read(&mut buf), Err(ref e) if !is_timeout(e))
    }

    /// A full server makes room for a newcomer by dropping the connection
    /// that has waited longest, and says whom and why in its log.
    /// A vectored write reaches the socket as one call: header and body of
    /// a stage-4 frame leave together, not as two writes that Nagle's
    /// algorithm and delayed acknowledgements would stall.
    #[test]
    fn a_vectored_write_is_one_write() {
        let listener = bind_loopback_tcp().unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        thread::spawn(move || {
            Acceptor::new(small()).serve(listener, move |mut stream| {
                let mut request = [0u8; 1];
                let _ = stream.read_exact(&mut request);
                let bufs = [io::IoSlice::new(b"head"), io::IoSlice::new(b"body")];
                let n = stream.write_vectored(&bufs);
                let _ = tx
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .send(n.map_err(|e| e.to_string()));
            })
        });
        let mut client = connect(addr);
        client.write_all(b"?").unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), Ok(8));
        let mut got = [0u8; 8];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"headbody");
    }

    #[test]
    fn full_server_drops_the_longest_waiting() {
        let (addr, gauge, _ends, log) = start(small());
        let mut oldest = connect(addr);
        wait_open(&gauge, 1);
        let _b = connect(addr);
        let _c = connect(addr);
        wait_open(&gauge, 3);
        let _newcomer = connect(addr);
        assert!(closed(&mut oldest), "the oldest silent connection was kept");
        let line = log.recv_timeout(PATIENCE).unwrap();
        let port = oldest.local_addr().unwrap().port();
        assert!(
            line.starts_with(&format!("127.0.0.1:{port}: dropped to make room")),
            "{line}"
        );
        assert!(line.contains("--max-per-address 3"), "{line}");
        assert_eq!(gauge.open(), 3);
    }

    /// A connection that is sending a long message at a good rate is not the
    /// one dropped, however long it has been connected.
    #[test]
    fn a_steady_sender_is_not_dropped_for_a_silent_one() {
        let limits = Limits {
            max_connections: 2,
            max_per_address: 2,
            message_timeout: Duration::from_secs(5),
            min_rate: 1000,
            ..small()
        };
        let (addr, gauge, _ends, _log) = start(limits);
        let mut sender = connect(addr);
        wait_open(&gauge, 1);
        // 1000 bytes every 20 ms is 50 times the minimum rate.
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let mut writer = sender.try_clone().unwrap();
        let steady = thread::spawn(move || {
            while stop_rx.try_recv().is_err() {
                writer.write_all(&[1u8; 1000])?;
                thread::sleep(Duration::from_millis(20));
            }
            io::Result::Ok(())
        });
        let mut silent = connect(addr);
        wait_open(&gauge, 2);
        // Let the sender's bytes keep arriving after the silent one came.
        thread::sleep(Duration::from_millis(200));
        let _third = connect(addr);
        assert!(closed(&mut silent), "the silent connection was kept");
        stop_tx.send(()).unwrap();
        steady.join().unwrap().unwrap();
        sender.write_all(b"still here").unwrap();
        assert_eq!(gauge.open(), 2);
    }

    /// One byte every 50 ms never completes a message: the connection is
    /// dropped at the message deadline, not kept alive by each byte.
    #[test]
    fn drip_is_dropped_at_the_message_deadline() {
        let (addr, _gauge, ends, _log) = start(small());
        let mut drip = connect(addr);
        let started = Instant::now();
        let mut sent = 0;
        while drip.write_all(b"x").is_ok() && started.elapsed() < PATIENCE {
            sent += 1;
            thread::sleep(Duration::from_millis(50));
            if sent > 100 {
                break;
            }
        }
        let err = ends.recv_timeout(PATIENCE).unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let text = err.to_string();
        assert!(text.contains("--message-timeout-ms 300"), "{text}");
        assert!(sent < 100, "the drip was never cut off");
    }

    /// A message arriving at the minimum rate gets more time than the
    /// deadline: a large file is not a slow drip.
    #[test]
    fn minimum_rate_extends_the_deadline() {
        let limits = Limits {
            min_rate: 1000,
            ..small()
        };
        let (addr, _gauge, ends, _log) = start(limits);
        let mut s = connect(addr);
        // 100 bytes every 50 ms is 2000 B/s, twice the minimum, for 1 s:
        // three times the 300 ms deadline.
        for _ in 0..20 {
            s.write_all(&[9u8; 100]).unwrap();
            thread::sleep(Duration::from_millis(50));
        }
        drop(s);
        assert_eq!(ends.recv_timeout(PATIENCE).unwrap().unwrap(), 2000);
    }

    /// A connection that never starts a message is dropped at the idle timeout.
    #[test]
    fn silence_is_dropped_at_the_idle_timeout() {
        let limits = Limits {
            idle_timeout: Duration::from_millis(200),
            ..small()
        };
        let (addr, gauge, ends, _log) = start(limits);
        let mut s = connect(addr);
        let err = ends.recv_timeout(PATIENCE).unwrap().unwrap_err();
        assert!(err.to_string().contains("--idle-timeout-secs 0.2"), "{err}");
        assert!(closed(&mut s));
        wait_open(&gauge, 0);
    }

    /// When every connection is busy being served, the newcomer is refused
    /// with a line it can show, and the log says so.
    #[test]
    fn busy_server_refuses_in_words() {
        let listener = bind_loopback_tcp().unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits {
            max_connections: 1,
            ..small()
        };
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        let (working_tx, working_rx) = mpsc::channel::<()>();
        let working_tx = Mutex::new(working_tx);
        let acceptor = Acceptor::new(limits).quiet();
        thread::spawn(move || {
            acceptor.serve(listener, move |mut stream| {
                let mut byte = [0u8; 1];
                let _ = stream.read(&mut byte);
                let _ = stream.write_all(b"k");
                // Working, not waiting for the client: not a candidate to
                // drop. The write has returned, so the loop knows it too.
                let _ = working_tx
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .send(());
                let _ = release_rx
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .recv_timeout(PATIENCE);
            })
        });
        let mut busy = connect(addr);
        busy.write_all(b"x").unwrap();
        let mut ack = [0u8; 1];
        busy.read_exact(&mut ack).unwrap();
        // The client can read the ack before the server's thread has come
        // back from its write; only then is it counted as working.
        working_rx.recv_timeout(PATIENCE).unwrap();
        let mut newcomer = connect(addr);
        let mut text = String::new();
        let _ = newcomer.read_to_string(&mut text);
        assert!(text.starts_with("[server: busy:"), "{text:?}");
        assert!(text.contains("--max-connections 1"), "{text:?}");
        let _ = release_tx.send(());
    }

    /// A newcomer that finds every connection busy for a moment only waits
    /// for one to finish instead of being refused at once.
    #[test]
    fn a_moment_of_busy_is_waited_out() {
        let listener = bind_loopback_tcp().unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits {
            max_connections: 1,
            ..small()
        };
        let acceptor = Acceptor::new(limits).quiet();
        thread::spawn(move || {
            acceptor.serve(listener, move |mut stream| {
                let mut byte = [0u8; 1];
                let _ = stream.read(&mut byte);
                let _ = stream.write_all(b"k");
                // Busy for a fraction of BUSY_GRACE, then the slot is free.
                thread::sleep(BUSY_GRACE / 4);
            })
        });
        let mut busy = connect(addr);
        busy.write_all(b"x").unwrap();
        let mut ack = [0u8; 1];
        busy.read_exact(&mut ack).unwrap();
        let mut newcomer = connect(addr);
        newcomer.write_all(b"y").unwrap();
        let mut answer = [0u8; 1];
        newcomer.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"k", "the newcomer was not served");
    }

    /// A client that never reads its replies is dropped once the reply has
    /// waited past its allowance, instead of holding a thread for ever.
    #[test]
    fn a_client_that_never_reads_is_dropped() {
        let listener = bind_loopback_tcp().unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let acceptor = Acceptor::new(small()).quiet();
        thread::spawn(move || {
            acceptor.serve(listener, move |mut stream| {
                let chunk = vec![0u8; 1 << 20];
                let outcome = (0..256).try_for_each(|_| stream.write_all(&chunk));
                let _ = tx
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .send(outcome);
            })
        });
        let _never_reads = connect(addr);
        let err = rx.recv_timeout(PATIENCE).unwrap().unwrap_err();
        assert!(err.to_string().contains("took only"), "{err}");
    }

    /// Flags turn into limits; nonsense is refused with a message naming the flag.
    #[test]
    fn flags() {
        let args = LimitArgs {
            max_connections: 8,
            max_per_address: 4,
            message_timeout_ms: 500,
            min_rate: 100,
            idle_timeout_secs: 1.5,
        };
        let limits = args.limits().unwrap();
        assert_eq!(limits.message_timeout, Duration::from_millis(500));
        assert_eq!(limits.idle_timeout, Duration::from_millis(1500));
        assert_eq!(limits.earned(250), Duration::from_millis(2500));
        let bad = LimitArgs {
            max_connections: 0,
            ..args
        };
        assert!(bad.limits().unwrap_err().contains("--max-connections"));
    }
}
