//! Network weather: a loopback proxy that re-chunks a byte stream on purpose.
//!
//! # Why
//!
//! On a quiet loopback a small `write` nearly always arrives as one `read` on
//! the other side, so a naive protocol ("one `recv(1024)` is one message")
//! looks correct on the student's machine and breaks on a real network, where
//! routers, congestion, retransmissions and busy receivers cut and glue the
//! stream. Network weather brings that behaviour to loopback: the proxy sits
//! between a client and a server, forwards every byte, in order, in both
//! directions, but decides itself *how* the bytes are written:
//!
//! - `--split N`: every chunk the proxy reads is cut into pieces of at most
//!   `N` bytes, each delivered as a separate write (拆包 on demand);
//! - `--sizes 1,3,7`: the stream is cut into pieces of these sizes, in turn,
//!   cycling (the cut positions are positions *in the stream*, so they do not
//!   move when the proxy's reads happen to return different chunks; where a
//!   read ends inside a planned piece, the proxy delivers what it has rather
//!   than wait for more, which adds a cut of its own);
//! - `--coalesce-ms N`: what arrives within `N` ms of the first byte is held
//!   and delivered as one write (粘包 on demand);
//! - `--delay-ms N`: every piece waits `N` ms before it is written;
//! - `--seed S`: random piece sizes and random short delays, from a seed, so
//!   that any failure can be replayed exactly (see [the seeded
//!   weather](#the-seeded-weather)).
//!
//! They combine in this order: glue (coalesce), then cut (sizes, else seeded
//! sizes, else one piece per chunk read), then cap every piece at `--split`,
//! then wait (`--delay-ms` plus the seeded delay), then write.
//!
//! # By hand, in three terminals
//!
//! ```text
//! # 1: the server of a stage
//! cargo run -p naive-exec-sticky -- server
//! # 2: the weather, between port 9008 and the server's 8008, showing every cut
//! cargo run -- weather --listen 127.0.0.1:9008 --upstream 127.0.0.1:8008 --split 1 --verbose
//! # 3: the client, talking to the proxy instead of the server
//! printf 'seq 1 400\necho hi\nexit\n' | cargo run -p naive-exec-sticky -- client --addr 127.0.0.1:9008
//! ```
//!
//! The proxy prints `listening on ADDR` on standard error first; with
//! `--verbose` it then prints one line per piece it delivers (connection,
//! direction, size, stream offset, delay, the first bytes escaped).
//!
//! # What weather can and cannot promise
//!
//! The proxy controls its own writes, not the other side's reads. It sets
//! `TCP_NODELAY` on both of its sockets, so every piece leaves as a segment of
//! its own instead of waiting for Nagle's algorithm to bundle it with the
//! next; but the receiving kernel puts arriving segments into one receive
//! buffer, and a reader that calls `read` *after* two pieces have arrived gets
//! both in one read, glued back together. `--split` alone writes the pieces
//! back to back, so a slow reader may still see whole messages; a delay
//! (`--delay-ms`, or the seeded weather's occasional pause) gives the reader
//! time to wake up between pieces and makes the split very likely to show.
//! Likewise `--coalesce-ms` glues only what reaches the proxy within its window.
//!
//! So weather changes the *odds* and the chunking the kernel sees; it does not
//! script the other side's reads. What is guaranteed, and what the tests of
//! this module check: every byte arrives, in order, in both directions; a
//! half-close is passed on; the proxy's own piece plan is a pure function of
//! the weather and of the lengths of the chunks it read ([`Weather::piece_plan`]);
//! and the proxy's deliveries follow that plan ([`WeatherProxy::spawn_observed`]).
//! A test of a fixed stage may assert "intact under every weather"; a test of a
//! broken stage should only assert what its own lesson makes certain.
//!
//! # The seeded weather
//!
//! The generator is a splitmix64 written out in this file, not a crate, so the
//! sequence for a seed never changes with a dependency update: a seed written
//! in a bug report today replays the same cuts next year. Each planned piece
//! draws, in this order:
//!
//! - its size (unless `--sizes` is given): half the pieces are 1-4 bytes, a
//!   quarter 5-16, a quarter 17-64, uniform within each band; small pieces
//!   are the ones that cut headers and length digits in half;
//! - its pause: one piece in eight waits 1-3 ms (uniform) before it is
//!   written, the others do not wait.
//!
//! The client-to-upstream direction uses the seed as given; the other
//! direction a fixed variation of it, so the two directions are cut
//! differently. Every connection starts from the seed afresh, so a replay
//! with the same seed and the same traffic is cut at the same stream
//! positions; only where one of the proxy's reads ends inside a planned piece
//! is there an extra cut, and on loopback those reads nearly always match the
//! sender's writes.
//!
//! # Safety and bounds
//!
//! The proxy only listens on, and only connects to, loopback addresses: the
//! traffic it cuts up never leaves the machine. It accepts through common's
//! one accept loop ([`crate::accept`]) and serves at most [`MAX_CONNECTIONS`]
//! connections at once (the oldest makes room for a newcomer), with two
//! threads each that end when the connection closes; a [`WeatherProxy`] stops accepting and cuts
//! its open connections when it is dropped.
//!
//! # Layout
//!
//! - [`Weather`]: what the proxy does to the stream, with [`Weather::describe`]
//!   giving the exact flags that reproduce it.
//! - [`PiecePlanner`], [`Piece`], [`Weather::piece_plan`]: the piece plan,
//!   pure and testable without sockets.
//! - [`WeatherProxy`]: the proxy on `127.0.0.1:0` for tests and demos, and
//!   [`run`] for the command line; [`Delivery`] is what an observer sees.
//! - [`WeatherArgs`]: the clap arguments the root binary flattens.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::accept::{Acceptor, Limits};
use crate::cli::parse_addr;

/// How many connections one proxy serves at once; a newcomer past it makes
/// room by dropping the oldest, so a runaway client cannot make the proxy
/// spawn threads without end, nor lock a student's client out.
pub const MAX_CONNECTIONS: usize = 64;

/// How much the proxy reads at once: a chunk read is the unit `--split` cuts.
const READ_CHUNK: usize = 64 * 1024;

/// The most a coalescing window holds; past it the batch is delivered early,
/// so a fast sender cannot make the proxy buffer without bound.
const MAX_BATCH: usize = 1024 * 1024;

/// How long the proxy waits for the upstream server to accept.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest coalescing window or delay the proxy accepts: longer is no
/// longer weather but an outage, and an unbounded one would overflow the
/// clock arithmetic.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

/// How many bytes of a piece `--verbose` shows.
const PREVIEW_BYTES: usize = 24;

/// What the proxy does to the stream. `Weather::default()` is clear weather:
/// every chunk is forwarded as it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Weather {
    /// Cap every piece at this many bytes (`--split N`); must be at least 1.
    pub split: Option<usize>,
    /// Cut the stream into pieces of these sizes, cycling (`--sizes 1,3,7`);
    /// empty means not set; every size must be at least 1.
    pub sizes: Vec<usize>,
    /// Glue what arrives within this window into one piece (`--coalesce-ms N`).
    pub coalesce: Option<Duration>,
    /// Wait this long before every piece (`--delay-ms N`).
    pub delay: Option<Duration>,
    /// Random piece sizes and pauses from this seed (`--seed S`).
    pub seed: Option<u64>,
    /// Deliver the next piece only once the receiving program has read
    /// everything delivered so far (`--lockstep`). Every piece then reaches
    /// the reader as a read of its own (or several, if its buffer is
    /// smaller), whatever the machine's load: the cuts stop being odds and
    /// become certain, which is what makes the story matrix replayable.
    /// Linux only (it watches the receiver's queue in `/proc/net/tcp`);
    /// elsewhere it has no effect.
    pub lockstep: bool,
    /// Print every delivered piece to standard error (`--verbose`). It does
    /// not change the stream, so [`Weather::describe`] leaves it out.
    pub verbose: bool,
}

impl Weather {
    /// Clear weather: every chunk forwarded as it was read.
    pub fn clear() -> Self {
        Self::default()
    }

    /// Every chunk cut into pieces of at most `max` bytes (`--split max`).
    pub fn split(max: usize) -> Self {
        Self {
            split: Some(max),
            ..Self::default()
        }
    }

    /// The stream cut into pieces of these sizes, cycling (`--sizes a,b,c`).
    pub fn sizes(sizes: &[usize]) -> Self {
        Self {
            sizes: sizes.to_vec(),
            ..Self::default()
        }
    }

    /// What arrives within `window` glued into one piece (`--coalesce-ms`).
    pub fn coalesce(window: Duration) -> Self {
        Self {
            coalesce: Some(window),
            ..Self::default()
        }
    }

    /// Every chunk delivered after a pause of `delay` (`--delay-ms`).
    pub fn delay(delay: Duration) -> Self {
        Self {
            delay: Some(delay),
            ..Self::default()
        }
    }

    /// Random piece sizes and pauses from `seed` (`--seed seed`).
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed: Some(seed),
            ..Self::default()
        }
    }

    /// This weather with every piece capped at `max` bytes as well.
    pub fn with_split(mut self, max: usize) -> Self {
        self.split = Some(max);
        self
    }

    /// This weather with a pause of `delay` before every piece as well.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// This weather, delivering every piece only after the previous one was
    /// read (see [`Weather::lockstep`]).
    pub fn with_lockstep(mut self) -> Self {
        self.lockstep = true;
        self
    }

    /// This weather, printing every piece to standard error or not.
    pub fn with_verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// True when the proxy forwards every chunk as read, without pause.
    pub fn is_clear(&self) -> bool {
        Weather {
            verbose: false,
            lockstep: false,
            ..self.clone()
        } == Weather::default()
    }

    /// The short name of this weather, used as a column name in tables: the
    /// exact command-line flags that reproduce it (`--split 1`,
    /// `--sizes 3,7 --delay-ms 2`, `--seed 42`), or `clear` when there are
    /// none. Durations are written in whole milliseconds, as the flags take
    /// them; `--verbose` is left out because it does not change the stream.
    pub fn describe(&self) -> String {
        let flags = self.flags();
        if flags.is_empty() {
            "clear".to_string()
        } else {
            flags.join(" ")
        }
    }

    /// The command-line flags that reproduce this weather, one argument per
    /// element (empty for clear weather), ready for `Command::args`.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(max) = self.split {
            flags.extend(["--split".to_string(), max.to_string()]);
        }
        if !self.sizes.is_empty() {
            flags.extend(["--sizes".to_string(), self.sizes_list()]);
        }
        if let Some(window) = self.coalesce {
            flags.extend(["--coalesce-ms".to_string(), window.as_millis().to_string()]);
        }
        if let Some(delay) = self.delay {
            flags.extend(["--delay-ms".to_string(), delay.as_millis().to_string()]);
        }
        if let Some(seed) = self.seed {
            flags.extend(["--seed".to_string(), seed.to_string()]);
        }
        if self.lockstep && !flags.is_empty() {
            flags.push("--lockstep".to_string());
        }
        flags
    }

    /// Checks that every piece can hold at least one byte and that no pause
    /// is longer than [`MAX_PAUSE`]; the error says which flag to fix.
    pub fn check(&self) -> Result<(), String> {
        if self.split == Some(0) {
            let why = "--split 0 would cut the stream into empty pieces and never deliver a byte";
            return Err(format!("{why}; use --split 1 for the finest cut"));
        }
        for (flag, pause) in [("--coalesce-ms", self.coalesce), ("--delay-ms", self.delay)] {
            if pause.is_some_and(|p| p > MAX_PAUSE) {
                return Err(format!(
                    "{flag} is longer than {} ms; weather pauses are meant to be short, \
                     a few milliseconds is usually enough",
                    MAX_PAUSE.as_millis()
                ));
            }
        }
        if self.sizes.contains(&0) {
            return Err(format!(
                "--sizes {} contains 0, and an empty piece would never deliver a byte; \
                 use sizes of at least 1, for example --sizes 1,3,7",
                self.sizes_list()
            ));
        }
        Ok(())
    }

    /// The sizes as `--sizes` takes them: `3,7`.
    fn sizes_list(&self) -> String {
        let list: Vec<String> = self.sizes.iter().map(|s| s.to_string()).collect();
        list.join(",")
    }

    /// The piece plan of one direction of one connection: the pieces the
    /// proxy cuts from chunks of these lengths, read one after the other.
    /// A pure function of the weather, the direction and the lengths.
    pub fn piece_plan(&self, direction: Direction, chunk_lens: &[usize]) -> Vec<Piece> {
        let mut planner = PiecePlanner::new(self, direction);
        chunk_lens
            .iter()
            .flat_map(|&len| planner.cut(len))
            .collect()
    }
}

/// One direction of a proxied connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client that connected to the proxy, towards the server.
    ClientToUpstream,
    /// From the server back to the client.
    UpstreamToClient,
}

impl Direction {
    /// Varies the seed per direction so the two directions are cut
    /// differently; client to upstream uses the seed as given.
    fn seed_salt(self) -> u64 {
        match self {
            Direction::ClientToUpstream => 0,
            Direction::UpstreamToClient => 0xA5A5_5EED_C0FF_EE00,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ClientToUpstream => "client -> upstream",
            Direction::UpstreamToClient => "upstream -> client",
        })
    }
}

/// One write the proxy makes: how many bytes, after how long a pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Bytes in this write (at least 1).
    pub len: usize,
    /// How long the proxy waits before it writes them.
    pub delay: Duration,
}

/// Cuts the chunks of one direction into pieces, as [`Weather`] says. It
/// keeps state across chunks: a planned `--sizes` or seeded piece that a
/// chunk ends in the middle of continues in the next chunk, so the planned
/// cuts sit at the same stream positions however the reads fell.
#[derive(Clone, Debug)]
pub struct PiecePlanner {
    split: Option<usize>,
    sizes: Vec<usize>,
    next_size: usize,
    rng: Option<SplitMix64>,
    fixed_delay: Duration,
    /// Bytes of the current planned piece not yet delivered.
    left_in_piece: usize,
    /// The seeded pause of the current planned piece, spent on its first write.
    pending_delay: Duration,
}

impl PiecePlanner {
    /// A fresh plan for one direction of one connection.
    pub fn new(weather: &Weather, direction: Direction) -> Self {
        Self {
            split: weather.split,
            sizes: weather.sizes.clone(),
            next_size: 0,
            rng: weather
                .seed
                .map(|seed| SplitMix64::new(seed ^ direction.seed_salt())),
            fixed_delay: weather.delay.unwrap_or(Duration::ZERO),
            left_in_piece: 0,
            pending_delay: Duration::ZERO,
        }
    }

    /// The pieces for the next chunk of `chunk_len` bytes; their lengths add
    /// up to `chunk_len`, and none is empty.
    pub fn cut(&mut self, chunk_len: usize) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut rest = chunk_len;
        while rest > 0 {
            let cuts_stream = !self.sizes.is_empty() || self.rng.is_some();
            let mut delay = self.fixed_delay;
            let mut len = if cuts_stream {
                if self.left_in_piece == 0 {
                    self.start_planned_piece();
                }
                delay += std::mem::take(&mut self.pending_delay);
                self.left_in_piece.min(rest)
            } else {
                rest
            };
            // A zero cap is refused by `Weather::check`; `max(1)` only keeps
            // a planner built from an unchecked weather from looping forever.
            if let Some(max) = self.split {
                len = len.min(max.max(1));
            }
            if cuts_stream {
                self.left_in_piece -= len;
            }
            rest -= len;
            pieces.push(Piece { len, delay });
        }
        pieces
    }

    fn start_planned_piece(&mut self) {
        let size = if self.sizes.is_empty() {
            self.rng.as_mut().map_or(usize::MAX, SplitMix64::piece_size)
        } else {
            let size = self.sizes[self.next_size % self.sizes.len()];
            self.next_size = (self.next_size + 1) % self.sizes.len();
            size
        };
        self.left_in_piece = size.max(1);
        self.pending_delay = self
            .rng
            .as_mut()
            .map_or(Duration::ZERO, SplitMix64::piece_pause);
    }
}

/// splitmix64 (Steele, Lea and Flood, 2014), written out so that the
/// sequence of a seed is fixed forever by this file alone.
#[derive(Clone, Debug)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 1..=64, biased small: half 1-4, a quarter 5-16, a quarter 17-64. The
    /// low bits pick the band, the high bits the size within it, so the two
    /// choices do not depend on each other.
    fn piece_size(&mut self) -> usize {
        let x = self.next_u64();
        let within = x >> 32;
        let size = match x % 4 {
            0 | 1 => 1 + within % 4,
            2 => 5 + within % 12,
            _ => 17 + within % 48,
        };
        // At most 64, so the conversion cannot truncate.
        size as usize
    }

    /// One piece in eight waits 1-3 ms; the others do not wait.
    fn piece_pause(&mut self) -> Duration {
        let x = self.next_u64();
        if x % 8 == 0 {
            Duration::from_millis(1 + (x >> 32) % 3)
        } else {
            Duration::ZERO
        }
    }
}

/// One piece the proxy delivered, as an observer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The connection, numbered from 1 in the order the proxy accepted them.
    pub connection: u64,
    /// Which way the piece went.
    pub direction: Direction,
    /// Which chunk (one read, or one coalesced batch) of this direction the
    /// piece was cut from, numbered from 0.
    pub chunk: u64,
    /// Where the piece's first byte sits in this direction's stream.
    pub offset: u64,
    /// The piece: its length and the pause before it.
    pub piece: Piece,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {}: {} bytes at {}",
            self.connection, self.direction, self.piece.len, self.offset
        )?;
        if !self.piece.delay.is_zero() {
            write!(f, " after {} ms", self.piece.delay.as_millis())?;
        }
        Ok(())
    }
}

/// The line `--verbose` prints for a delivered piece: what [`Delivery`]
/// displays, then the first bytes, escaped (`\n`, `\x00`).
pub fn describe_delivery(delivery: &Delivery, bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(PREVIEW_BYTES)];
    let more = if bytes.len() > shown.len() { "..." } else { "" };
    format!("{delivery}: \"{}\"{more}", shown.escape_ascii())
}

/// What an observer of [`WeatherProxy::spawn_observed`] is: called after
/// every delivered piece with the delivery and its bytes.
type Observer = Box<dyn Fn(&Delivery, &[u8]) + Send + Sync>;

/// The proxy's state, shared by the accept thread and every connection.
struct Shared {
    upstream: SocketAddr,
    weather: Weather,
    observer: Option<Observer>,
    /// In-process lockstep: the readers' counters, client side first.
    gates: Option<Gates>,
    /// Print connection errors even without `--verbose` (the command line
    /// wants them; a test's proxy stays quiet unless asked).
    report_errors: bool,
    stopping: AtomicBool,
    /// The sockets of every open connection, so that stopping can cut them.
    links: Mutex<HashMap<u64, Link>>,
}

impl Shared {
    fn new(upstream: SocketAddr, weather: Weather, observer: Option<Observer>, cli: bool) -> Self {
        Self {
            upstream,
            weather,
            observer,
            gates: None,
            report_errors: cli,
            stopping: AtomicBool::new(false),
            links: Mutex::new(HashMap::new()),
        }
    }

    fn links(&self) -> MutexGuard<'_, HashMap<u64, Link>> {
        // A poisoned lock only means a connection thread panicked while
        // holding it; the map itself is still usable.
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn note(&self, message: impl fmt::Display) {
        if self.weather.verbose {
            eprintln!("weather: {message}");
        }
    }

    fn problem(&self, message: impl fmt::Display) {
        if self.weather.verbose || self.report_errors {
            eprintln!("weather: {message}");
        }
    }
}

/// Both sockets of one proxied connection.
struct Link {
    client: TcpStream,
    upstream: TcpStream,
}

impl Link {
    fn try_clone(&self) -> io::Result<Link> {
        Ok(Link {
            client: self.client.try_clone()?,
            upstream: self.upstream.try_clone()?,
        })
    }

    /// Ends the connection in both directions; a thread blocked on either
    /// socket wakes up (a read returns end of stream, a write fails).
    fn cut(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.upstream.shutdown(Shutdown::Both);
    }
}

/// A running proxy on `127.0.0.1` with a port chosen by the kernel. Dropping
/// it stops accepting and cuts the connections still open.
pub struct WeatherProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl WeatherProxy {
    /// Binds `127.0.0.1:0`, then starts accepting connections and forwarding
    /// each to `upstream` through `weather`. Any number of connections, each
    /// with a fresh piece plan from the same seed. Fails when `upstream` is
    /// not a loopback address or the weather is invalid.
    pub fn spawn(upstream: SocketAddr, weather: Weather) -> io::Result<WeatherProxy> {
        Self::start(Shared::new(upstream, weather, None, false))
    }

    /// Like [`WeatherProxy::spawn`], and calls `observer` after every piece
    /// the proxy delivered (from the connection's thread), with the delivery
    /// and its bytes: how a test sees the proxy's own writes.
    pub fn spawn_observed<F>(
        upstream: SocketAddr,
        weather: Weather,
        observer: F,
    ) -> io::Result<WeatherProxy>
    where
        F: Fn(&Delivery, &[u8]) + Send + Sync + 'static,
    {
        Self::start(Shared::new(
            upstream,
            weather,
            Some(Box::new(observer)),
            false,
        ))
    }

    /// Like [`WeatherProxy::spawn_observed`], in exact lockstep with readers
    /// in the same process: after every piece the proxy waits until the
    /// receiving end's [`ReadCounter`] has counted every byte delivered so
    /// far. `client_reads` counts what the client reads (the way back),
    /// `server_reads` what the server reads. Cheaper and more exact than
    /// [`Weather::lockstep`], which has to watch the kernel's tables; for
    /// tests and the story matrix, where both ends are in this process.
    pub fn spawn_gated<F>(
        upstream: SocketAddr,
        weather: Weather,
        client_reads: ReadCounter,
        server_reads: ReadCounter,
        observer: F,
    ) -> io::Result<WeatherProxy>
    where
        F: Fn(&Delivery, &[u8]) + Send + Sync + 'static,
    {
        let mut shared = Shared::new(upstream, weather, Some(Box::new(observer)), false);
        shared.gates = Some(Gates {
            client: client_reads,
            server: server_reads,
        });
        Self::start(shared)
    }

    fn start(shared: Shared) -> io::Result<WeatherProxy> {
        check_loopback("forward to", shared.upstream, "--upstream")?;
        shared.weather.check().map_err(invalid_input)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(shared);
        let for_thread = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("weather {addr}"))
            .spawn(move || accept_loop(&listener, &for_thread))?;
        Ok(WeatherProxy {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    /// The address clients connect to instead of the server's.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The weather this proxy makes.
    pub fn weather(&self) -> &Weather {
        &self.shared.weather
    }

    /// Stops accepting and cuts open connections (the same as dropping it).
    pub fn stop(self) {}
}

impl Drop for WeatherProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // `accept` blocks; a connection of our own wakes it, and it sees the
        // flag. Only if that connection could be made is it safe to wait for
        // the thread; otherwise it ends at its next accept.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(handle) = self.accept_thread.take() {
            if woke {
                let _ = handle.join();
            }
        }
        for link in self.shared.links().values() {
            link.cut();
        }
    }
}

/// The command line's proxy: listens on `listen`, forwards every connection
/// to `upstream` through `weather`, and serves until the process ends. Prints
/// `listening on ADDR` (the actual address, also with port 0) as its first
/// line on standard error, then what it does; connection errors go to
/// standard error too. Both addresses must be loopback.
pub fn run(listen: SocketAddr, upstream: SocketAddr, weather: Weather) -> io::Result<()> {
    check_loopback("listen on", listen, "--listen")?;
    check_loopback("forward to", upstream, "--upstream")?;
    weather.check().map_err(invalid_input)?;
    let listener = TcpListener::bind(listen).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot listen on {listen}: {e}; is another proxy already there? pick another port with --listen"),
        )
    })?;
    let addr = listener.local_addr()?;
    if addr == upstream {
        return Err(invalid_input(format!(
            "--listen and --upstream are both {addr}: the proxy would forward to itself; \
             point --upstream at the server's address"
        )));
    }
    eprintln!("listening on {addr}");
    eprintln!(
        "weather: forwarding to {upstream} with {}",
        weather.describe()
    );
    let shared = Arc::new(Shared::new(upstream, weather, None, true));
    accept_loop(&listener, &shared);
    Ok(())
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn check_loopback(what: &str, addr: SocketAddr, flag: &str) -> io::Result<()> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    Err(invalid_input(format!(
        "refusing to {what} {addr}: network weather only works on loopback (127.0.0.1 or ::1), \
         so the traffic it cuts up never leaves this machine; give {flag} a 127.0.0.1 address"
    )))
}

/// Accepts until the proxy stops; every connection gets a thread of its own.
/// This is common's one accept loop ([`crate::accept`]): at most
/// [`MAX_CONNECTIONS`] at once, and when full the oldest connection is
/// dropped to make room (a proxy carries bytes, not messages, so its
/// connections never complete one and the oldest counts as the
/// longest-waiting).
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let listener = match listener.try_clone() {
        Ok(listener) => listener,
        Err(e) => {
            shared.problem(format_args!("cannot accept connections: {e}"));
            return;
        }
    };
    let limits = Limits {
        max_connections: MAX_CONNECTIONS,
        max_per_address: MAX_CONNECTIONS,
        ..Limits::default()
    };
    let for_log = Arc::clone(shared);
    let for_stop = Arc::clone(shared);
    let for_handler = Arc::clone(shared);
    let next_id = AtomicU64::new(1);
    let acceptor = Acceptor::new(limits).log_with(move |line| for_log.problem(line));
    let served = acceptor.serve_until(
        listener,
        move || for_stop.stopping(),
        move |guarded| {
            let id = next_id.fetch_add(1, Ordering::SeqCst);
            let peer = guarded.peer();
            // The proxy reads and writes the socket itself, in two
            // directions at once; the guarded stream stays alive meanwhile so
            // the accept loop can still drop this connection to make room.
            match guarded.get_ref().try_clone() {
                Ok(client) => serve_connection(id, client, peer, &for_handler),
                Err(e) => for_handler.problem(format_args!("#{id}: cannot share the socket: {e}")),
            }
            drop(guarded);
        },
    );
    if let Err(e) = served {
        shared.problem(format_args!("stopped accepting: {e}"));
    }
}

/// Connects to upstream and runs both directions until both have ended.
fn serve_connection(id: u64, client: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
    let upstream = match TcpStream::connect_timeout(&shared.upstream, CONNECT_TIMEOUT) {
        Ok(stream) => stream,
        Err(e) => {
            shared.problem(format_args!(
                "#{id} from {peer}: cannot reach the server at {}: {e}; is it running?",
                shared.upstream
            ));
            return;
        }
    };
    let link = Link { client, upstream };
    // Without NODELAY, Nagle's algorithm would hold a small piece back until
    // the previous one is acknowledged and then send both in one segment,
    // gluing exactly what the weather cut.
    if let Err(e) = link
        .client
        .set_nodelay(true)
        .and_then(|()| link.upstream.set_nodelay(true))
    {
        shared.problem(format_args!("#{id}: cannot set TCP_NODELAY: {e}"));
        return;
    }
    let (towards_upstream, towards_client) = match (link.try_clone(), link.try_clone()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            shared.problem(format_args!("#{id}: cannot share the sockets: {e}"));
            return;
        }
    };
    shared.links().insert(id, link);
    // Registered first, checked second: a proxy that began stopping while
    // this connection was being set up either sees it in the map or is seen
    // here.
    if shared.stopping() {
        towards_upstream.cut();
    }
    shared.note(format_args!(
        "#{id} open: client {peer}, server {}",
        shared.upstream
    ));

    let back = {
        let shared = Arc::clone(shared);
        thread::Builder::new()
            .name(format!("weather #{id} back"))
            .spawn(move || forward(id, Direction::UpstreamToClient, &towards_client, &shared))
    };
    match back {
        Ok(handle) => {
            forward(id, Direction::ClientToUpstream, &towards_upstream, shared);
            let _ = handle.join();
        }
        Err(e) => {
            shared.problem(format_args!("#{id}: no thread for the way back: {e}"));
            towards_upstream.cut();
        }
    }
    shared.links().remove(&id);
    shared.note(format_args!("#{id} closed"));
}

/// Runs one direction to its end; on end of stream passes the half-close on,
/// on an error cuts the whole connection so the other direction ends too.
fn forward(id: u64, direction: Direction, link: &Link, shared: &Shared) {
    let (src, dst) = match direction {
        Direction::ClientToUpstream => (&link.client, &link.upstream),
        Direction::UpstreamToClient => (&link.upstream, &link.client),
    };
    match pump(id, direction, src, dst, shared) {
        Ok(()) => {
            shared.note(format_args!(
                "#{id} {direction}: end of stream, passing the half-close on"
            ));
            // The other side may already be gone; then there is nothing left
            // to tell it.
            let _ = dst.shutdown(Shutdown::Write);
        }
        Err(e) => {
            if !shared.stopping() {
                shared.problem(format_args!(
                    "#{id} {direction}: {e}; closing the connection"
                ));
            }
            link.cut();
        }
    }
}

/// Copies `src` to `dst` piece by piece until `src` ends.
fn pump(
    id: u64,
    direction: Direction,
    mut src: &TcpStream,
    mut dst: &TcpStream,
    shared: &Shared,
) -> io::Result<()> {
    let weather = &shared.weather;
    let mut planner = PiecePlanner::new(weather, direction);
    let mut chunks = ChunkReader::new(weather.coalesce);
    let mut offset = 0u64;
    let mut chunk = 0u64;
    while let Some(data) = chunks.next(&mut src)? {
        let mut start = 0;
        for piece in planner.cut(data.len()) {
            if !piece.delay.is_zero() {
                thread::sleep(piece.delay);
            }
            let bytes = &data[start..start + piece.len];
            dst.write_all(bytes)?;
            let delivery = Delivery {
                connection: id,
                direction,
                chunk,
                offset,
                piece,
            };
            if weather.verbose {
                eprintln!("weather: {}", describe_delivery(&delivery, bytes));
            }
            // The observer hears of a piece as soon as it is written, before
            // the reader can act on it: whatever the reader does in answer,
            // the record of what it read is already there.
            if let Some(observer) = &shared.observer {
                observer(&delivery, bytes);
            }
            if let Some(gates) = &shared.gates {
                let reader = match direction {
                    Direction::ClientToUpstream => &gates.server,
                    Direction::UpstreamToClient => &gates.client,
                };
                reader.wait_for(offset + piece.len as u64, shared);
            } else if weather.lockstep {
                wait_until_read(dst, shared);
            }
            start += piece.len;
            offset += piece.len as u64;
        }
        chunk += 1;
    }
    Ok(())
}

/// The readers an in-process lockstep waits for.
struct Gates {
    client: ReadCounter,
    server: ReadCounter,
}

/// Counts the bytes one end of a connection has read, so that a proxy in
/// the same process ([`WeatherProxy::spawn_gated`]) can deliver its next
/// piece only once the previous one was read. Cloning shares the count.
#[derive(Clone, Debug, Default)]
pub struct ReadCounter {
    inner: Arc<(Mutex<u64>, Condvar)>,
}

impl ReadCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps a stream so that its reads are counted here.
    pub fn wrap<S>(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            counter: self.clone(),
        }
    }

    /// Bytes read so far.
    pub fn total(&self) -> u64 {
        *self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `n` bytes read by a reader that [`ReadCounter::wrap`] cannot
    /// wrap, such as an async one (`AsyncRead` is not `Read`).
    pub fn add(&self, n: usize) {
        let (count, changed) = &*self.inner;
        *count.lock().unwrap_or_else(|e| e.into_inner()) += n as u64;
        changed.notify_all();
    }

    /// Waits until `total` bytes have been read, the proxy stops, or the
    /// reader has not read for [`LOCKSTEP_PATIENCE`].
    fn wait_for(&self, total: u64, shared: &Shared) {
        let (count, changed) = &*self.inner;
        let deadline = Instant::now() + LOCKSTEP_PATIENCE;
        let mut read = count.lock().unwrap_or_else(|e| e.into_inner());
        while *read < total && !shared.stopping() {
            let now = Instant::now();
            if now >= deadline {
                shared.note("lockstep: the reader did not read for 3 s; delivering anyway");
                return;
            }
            // Wake up now and then to notice a proxy that is stopping.
            let wait = (deadline - now).min(Duration::from_millis(20));
            read = match changed.wait_timeout(read, wait) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

/// A stream whose reads are counted by a [`ReadCounter`]; writes pass through.
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    counter: ReadCounter,
}

impl<S> Counted<S> {
    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Read> Read for Counted<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.add(n);
        Ok(n)
    }
}

impl<S: Write> Write for Counted<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The longest lockstep waits for a reader before it delivers anyway: a
/// reader that stopped reading for good must not stall the proxy forever.
const LOCKSTEP_PATIENCE: Duration = Duration::from_secs(3);

/// Waits until the program at the other end of `dst` has read every byte
/// delivered to it so far: its socket's receive queue, as the kernel reports
/// it in `/proc/net/tcp`, is empty, or the socket is gone. The receiving
/// socket is the one whose local address is `dst`'s peer and whose remote
/// address is `dst`'s local address.
fn wait_until_read(dst: &TcpStream, shared: &Shared) {
    let (Ok(local), Ok(peer)) = (dst.local_addr(), dst.peer_addr()) else {
        return;
    };
    let deadline = Instant::now() + LOCKSTEP_PATIENCE;
    while !shared.stopping() && Instant::now() < deadline {
        match receive_queue(peer, local) {
            Some(queued) if queued > 0 => thread::sleep(Duration::from_micros(50)),
            // Empty, gone, or not knowable on this system: deliver on.
            _ => return,
        }
    }
    shared.note("lockstep: the reader did not read for 3 s; delivering anyway");
}

/// Unread bytes in the receive queue of the TCP socket bound to `local` and
/// connected to `remote`, from `/proc/net/tcp`; `None` when there is no such
/// socket (closed) or the table cannot be read (not Linux, not IPv4).
fn receive_queue(local: SocketAddr, remote: SocketAddr) -> Option<u64> {
    let (SocketAddr::V4(local), SocketAddr::V4(remote)) = (local, remote) else {
        return None;
    };
    // The kernel prints each address as the 32-bit value in memory order,
    // then the port, in hex: 127.0.0.1:8008 is `0100007F:1F48` on x86.
    let hex = |a: std::net::SocketAddrV4| {
        format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(a.ip().octets()),
            a.port()
        )
    };
    let (want_local, want_remote) = (hex(local), hex(remote));
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace().skip(1);
        let (l, r, _state, queues) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        if l != want_local || r != want_remote {
            return None;
        }
        let rx = queues.split(':').nth(1)?;
        u64::from_str_radix(rx, 16).ok()
    })
}

/// Reads the chunks one direction is cut from: one `read` each, or with a
/// coalescing window, everything that arrives within the window.
struct ChunkReader {
    coalesce: Option<Duration>,
    buf: Vec<u8>,
    batch: Vec<u8>,
    ended: bool,
}

impl ChunkReader {
    fn new(coalesce: Option<Duration>) -> Self {
        Self {
            coalesce,
            buf: vec![0; READ_CHUNK],
            batch: Vec::new(),
            ended: false,
        }
    }

    /// The next chunk, or `None` at end of stream.
    fn next(&mut self, src: &mut &TcpStream) -> io::Result<Option<&[u8]>> {
        if self.ended {
            return Ok(None);
        }
        let n = read_retrying(src, &mut self.buf)?;
        if n == 0 {
            self.ended = true;
            return Ok(None);
        }
        let Some(window) = self.coalesce else {
            return Ok(Some(&self.buf[..n]));
        };
        // The window opens with the first byte; a read timeout ends it, so
        // the proxy never waits past it for bytes that may not come.
        self.batch.clear();
        self.batch.extend_from_slice(&self.buf[..n]);
        // `Weather::check` keeps the window under a minute, so this cannot
        // overflow; were it unchecked, a window that does is simply shortened.
        let now = Instant::now();
        let deadline = now.checked_add(window).unwrap_or(now);
        let result = loop {
            let now = Instant::now();
            if now >= deadline || self.batch.len() >= MAX_BATCH {
                break Ok(());
            }
            src.set_read_timeout(Some(deadline - now))?;
            let room = (MAX_BATCH - self.batch.len()).min(self.buf.len());
            match src.read(&mut self.buf[..room]) {
                Ok(0) => {
                    self.ended = true;
                    break Ok(());
                }
                Ok(n) => self.batch.extend_from_slice(&self.buf[..n]),
                Err(e) if crate::netio::is_timeout(&e) => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        src.set_read_timeout(None)?;
        result.map(|()| Some(&self.batch[..]))
    }
}

fn read_retrying(src: &mut &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match src.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// The `weather` subcommand's arguments; the root binary flattens them and
/// calls [`WeatherArgs::run`] (or [`run`] with [`WeatherArgs::weather`]).
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct WeatherArgs {
    /// Where the proxy listens; point the client's --addr here. Loopback only.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr, default_value = "127.0.0.1:9008")]
    pub listen: SocketAddr,
    /// The real server the proxy forwards to (8008: remote execution, 8080:
    /// uploads). Loopback only.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr, default_value = "127.0.0.1:8008")]
    pub upstream: SocketAddr,
    /// Cut everything the proxy receives into pieces of at most N bytes, each
    /// sent as its own write: one message may arrive in several reads.
    #[arg(long, value_name = "N", value_parser = parse_piece_size)]
    pub split: Option<usize>,
    /// Cut the stream into pieces of these sizes, in turn, starting over at
    /// the end of the list: --sizes 1,3,7 sends 1 byte, 3, 7, 1, 3, ...
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', value_parser = parse_piece_size)]
    pub sizes: Vec<usize>,
    /// Hold whatever arrives within MS milliseconds of the first byte and send
    /// it as one write: two messages written close together arrive glued.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub coalesce_ms: Option<u64>,
    /// Wait MS milliseconds before every piece, so the reader wakes up
    /// between pieces and really sees them apart.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub delay_ms: Option<u64>,
    /// Random piece sizes (1-64 bytes, mostly small) and occasional short
    /// pauses (1-3 ms), chosen from this number: the same seed cuts the same
    /// traffic the same way again, so a failure can be replayed.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Deliver each piece only after the receiving program has read the one
    /// before, so every piece arrives as a read of its own even on a busy
    /// machine (Linux only; elsewhere it does nothing).
    #[arg(long)]
    pub lockstep: bool,
    /// Print every piece the proxy delivers (direction, size, first bytes)
    /// to standard error, so you can watch it cut.
    #[arg(long)]
    pub verbose: bool,
}

impl WeatherArgs {
    /// The weather these flags describe.
    pub fn weather(&self) -> Weather {
        Weather {
            split: self.split,
            sizes: self.sizes.clone(),
            coalesce: self.coalesce_ms.map(Duration::from_millis),
            delay: self.delay_ms.map(Duration::from_millis),
            seed: self.seed,
            lockstep: self.lockstep,
            verbose: self.verbose,
        }
    }

    /// Runs the proxy these flags describe until the process ends (see [`run`]).
    pub fn run(&self) -> io::Result<()> {
        run(self.listen, self.upstream, self.weather())
    }
}

/// Parses a piece size for `--split` and `--sizes`: a whole number, at least 1.
fn parse_piece_size(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("a piece must hold at least 1 byte; 1 is the finest cut".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "`{text}` is not a piece size; write a whole number of bytes, for example 1 or 7"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{spawn_loopback, LoopbackServer};
    use clap::Parser;
    use proptest::prelude::*;

    /// Upper bound for any single wait in these tests, so a bug fails instead
    /// of hangs: long enough for a loaded machine to schedule every thread.
    const TEST_TIMEOUT: Duration = crate::testing::PATIENCE;

    /// An upstream that echoes every connection back as it reads it, passes
    /// the half-close back when the client's stream ends, and returns what it
    /// received, per connection.
    fn echo_upstream(connections: usize) -> LoopbackServer<Vec<Vec<u8>>> {
        spawn_loopback(move |listener| {
            let mut received = Vec::new();
            for _ in 0..connections {
                let (mut conn, _) = listener.accept()?;
                conn.set_read_timeout(Some(TEST_TIMEOUT))?;
                let mut all = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = conn.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    conn.write_all(&buf[..n])?;
                    all.extend_from_slice(&buf[..n]);
                }
                conn.shutdown(Shutdown::Write)?;
                received.push(all);
            }
            Ok(received)
        })
        .unwrap()
    }

    /// Sends `writes` through `proxy` (one `write_all` each, from a thread),
    /// half-closes, and returns everything that came back until end of stream.
    fn round_trip(proxy: SocketAddr, writes: Vec<Vec<u8>>) -> Vec<u8> {
        let mut client = TcpStream::connect(proxy).unwrap();
        client.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
        client.set_write_timeout(Some(TEST_TIMEOUT)).unwrap();
        client.set_nodelay(true).unwrap();
        let mut writer = client.try_clone().unwrap();
        let sender = thread::spawn(move || {
            for w in writes {
                writer.write_all(&w).unwrap();
            }
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        client.read_to_end(&mut back).unwrap();
        sender.join().unwrap();
        back
    }

    fn pattern(len: usize, salt: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt) ^ (i >> 8) as u8)
            .collect()
    }

    type Log = Arc<Mutex<Vec<Delivery>>>;

    fn observed(upstream: SocketAddr, weather: Weather) -> (WeatherProxy, Log) {
        let log: Log = Arc::default();
        let sink = Arc::clone(&log);
        let proxy = WeatherProxy::spawn_observed(upstream, weather, move |d, bytes| {
            assert_eq!(d.piece.len, bytes.len());
            sink.lock().unwrap().push(*d);
        })
        .unwrap();
        (proxy, log)
    }

    /// Every kind of weather forwards every byte, in order, both ways.
    #[test]
    fn every_weather_forwards_every_byte_in_order() {
        let ms = Duration::from_millis;
        let cases = [
            (Weather::clear(), 64 * 1024),
            (Weather::split(1), 20 * 1024),
            (Weather::split(7), 64 * 1024),
            (Weather::sizes(&[1, 3, 7]), 20 * 1024),
            (Weather::coalesce(ms(2)), 64 * 1024),
            (Weather::delay(ms(1)), 4 * 1024),
            (Weather::seeded(42), 4 * 1024),
            (Weather::seeded(7).with_split(3), 4 * 1024),
            (Weather::sizes(&[5, 1]).with_delay(ms(1)), 300),
        ];
        for (weather, len) in cases {
            let upstream = echo_upstream(1);
            let proxy = WeatherProxy::spawn(upstream.addr(), weather.clone()).unwrap();
            let payload = pattern(len, 3);
            let writes = payload.chunks(1000).map(<[u8]>::to_vec).collect();
            let back = round_trip(proxy.addr(), writes);
            let received = upstream.join().unwrap();
            assert!(
                received[0] == payload,
                "{}: upstream got other bytes",
                weather.describe()
            );
            assert!(
                back == payload,
                "{}: client got other bytes back",
                weather.describe()
            );
        }
    }

    /// A few hundred KiB cross a fine-grained weather intact, both ways.
    #[test]
    fn large_transfer_is_intact() {
        let upstream = echo_upstream(1);
        let proxy =
            WeatherProxy::spawn(upstream.addr(), Weather::sizes(&[1, 7, 64, 1500])).unwrap();
        let payload = pattern(300 * 1024, 11);
        let writes = payload.chunks(16 * 1024).map(<[u8]>::to_vec).collect();
        let back = round_trip(proxy.addr(), writes);
        assert!(upstream.join().unwrap()[0] == payload);
        assert!(back == payload);
    }

    /// The client's half-close reaches the server, and the server's late reply still reaches the client.
    #[test]
    fn half_close_is_passed_on() {
        let upstream = spawn_loopback(|listener| {
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(TEST_TIMEOUT))?;
            let mut request = Vec::new();
            // Ends only when the proxy passes the client's half-close on.
            conn.read_to_end(&mut request)?;
            conn.write_all(b"reply written after your end of stream")?;
            Ok(request)
        })
        .unwrap();
        let proxy = WeatherProxy::spawn(upstream.addr(), Weather::split(1)).unwrap();
        let mut client = TcpStream::connect(proxy.addr()).unwrap();
        client.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
        client.write_all(b"request").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).unwrap();
        assert_eq!(upstream.join().unwrap(), b"request");
        assert_eq!(reply, b"reply written after your end of stream");
    }

    /// The first outputs of the generator are the published splitmix64 values, so seeds replay forever.
    #[test]
    fn splitmix64_is_the_published_sequence() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    /// A seeded plan is a pure function of seed and chunk lengths; other seeds and directions differ.
    #[test]
    fn seeded_plan_is_reproducible() {
        let lens = [100, 3, 250, 1, 40];
        let a = Weather::seeded(42).piece_plan(Direction::ClientToUpstream, &lens);
        let again = Weather::seeded(42).piece_plan(Direction::ClientToUpstream, &lens);
        let other_seed = Weather::seeded(43).piece_plan(Direction::ClientToUpstream, &lens);
        let other_way = Weather::seeded(42).piece_plan(Direction::UpstreamToClient, &lens);
        assert_eq!(a, again);
        assert_ne!(a, other_seed);
        assert_ne!(a, other_way);
        assert_eq!(
            a.iter().map(|p| p.len).sum::<usize>(),
            lens.iter().sum::<usize>()
        );
        assert!(a.iter().all(|p| (1..=64).contains(&p.len)));
        assert!(a.iter().all(|p| p.delay <= Duration::from_millis(3)));
        // Pinned: if this changes, every seed in every bug report replays differently.
        let first: Vec<(usize, u128)> = Weather::seeded(42)
            .piece_plan(Direction::ClientToUpstream, &[120])
            .iter()
            .map(|p| (p.len, p.delay.as_millis()))
            .collect();
        assert_eq!(first, PINNED_SEED_42);
    }

    /// The plan of seed 42 for one 120-byte chunk, client to upstream, as
    /// (size, pause in ms); computed independently by a Python splitmix64.
    const PINNED_SEED_42: &[(usize, u128)] = &[
        (3, 0),
        (12, 0),
        (11, 0),
        (1, 0),
        (4, 0),
        (43, 0),
        (10, 0),
        (1, 0),
        (3, 0),
        (21, 1),
        (4, 0),
        (2, 0),
        (3, 0),
        (2, 0),
    ];

    /// Fixed sizes cut at the same stream positions whatever the chunks; split caps every chunk.
    #[test]
    fn sizes_and_split_plans() {
        let lens = |plan: Vec<Piece>| plan.iter().map(|p| p.len).collect::<Vec<_>>();
        let sizes = Weather::sizes(&[2, 3]);
        assert_eq!(
            lens(sizes.piece_plan(Direction::ClientToUpstream, &[12])),
            [2, 3, 2, 3, 2]
        );
        // A chunk that ends inside a planned piece: the rest continues in the next chunk.
        assert_eq!(
            lens(sizes.piece_plan(Direction::ClientToUpstream, &[4, 8])),
            [2, 2, 1, 2, 3, 2]
        );
        let split = Weather::split(3);
        assert_eq!(
            lens(split.piece_plan(Direction::ClientToUpstream, &[7, 2])),
            [3, 3, 1, 2]
        );
        assert_eq!(
            lens(Weather::clear().piece_plan(Direction::UpstreamToClient, &[7, 2])),
            [7, 2]
        );
        let delayed = Weather::split(4).with_delay(Duration::from_millis(2));
        assert!(delayed
            .piece_plan(Direction::ClientToUpstream, &[10])
            .iter()
            .all(|p| p.delay == Duration::from_millis(2)));
    }

    /// The proxy's deliveries follow the piece plan, and every connection starts the plan afresh.
    #[test]
    fn proxy_follows_the_plan_on_every_connection() {
        let weather = Weather::seeded(2024);
        let upstream = echo_upstream(2);
        let (proxy, log) = observed(upstream.addr(), weather.clone());
        for _ in 0..2 {
            let writes = vec![pattern(300, 1), pattern(77, 2), pattern(500, 3)];
            let back = round_trip(proxy.addr(), writes.clone());
            assert_eq!(back, writes.concat());
        }
        upstream.join().unwrap();
        drop(proxy);
        let log = log.lock().unwrap().clone();
        for connection in [1, 2] {
            for direction in [Direction::ClientToUpstream, Direction::UpstreamToClient] {
                let mine: Vec<&Delivery> = log
                    .iter()
                    .filter(|d| d.connection == connection && d.direction == direction)
                    .collect();
                let mut chunk_lens: Vec<usize> = Vec::new();
                for d in &mine {
                    let index = d.chunk as usize;
                    if chunk_lens.len() <= index {
                        chunk_lens.resize(index + 1, 0);
                    }
                    chunk_lens[index] += d.piece.len;
                }
                let delivered: Vec<Piece> = mine.iter().map(|d| d.piece).collect();
                assert_eq!(delivered, weather.piece_plan(direction, &chunk_lens));
                assert_eq!(chunk_lens.iter().sum::<usize>(), 877);
            }
        }
    }

    /// Two writes within the coalescing window are delivered as one piece; a later write is another.
    #[test]
    fn coalesce_glues_writes_within_the_window() {
        let upstream = spawn_loopback(|listener| {
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(TEST_TIMEOUT))?;
            let mut first = [0u8; 6];
            conn.read_exact(&mut first)?;
            conn.write_all(b"k")?;
            let mut rest = Vec::new();
            conn.read_to_end(&mut rest)?;
            Ok((first, rest))
        })
        .unwrap();
        // Far longer than the microseconds between two back-to-back writes,
        // so a loaded machine that stalls the client or the proxy between
        // them does not split the batch; the test waits it out once.
        const WINDOW: Duration = Duration::from_millis(500);
        let (proxy, log) = observed(upstream.addr(), Weather::coalesce(WINDOW));
        let mut client = TcpStream::connect(proxy.addr()).unwrap();
        client.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
        client.set_nodelay(true).unwrap();
        client.write_all(b"abc").unwrap();
        client.write_all(b"def").unwrap();
        // The server answers only after it has the first six bytes, so "ghi"
        // is written after the first window was delivered.
        let mut ok = [0u8; 1];
        client.read_exact(&mut ok).unwrap();
        client.write_all(b"ghi").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let (first, rest) = upstream.join().unwrap();
        assert_eq!(&first, b"abcdef");
        assert_eq!(rest, b"ghi");
        drop(proxy);
        let sizes: Vec<usize> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.direction == Direction::ClientToUpstream)
            .map(|d| d.piece.len)
            .collect();
        assert_eq!(sizes, [6, 3]);
    }

    /// Split 1 delivers every byte as a write of its own, however the proxy's reads fell.
    #[test]
    fn split_one_writes_every_byte_alone() {
        let upstream = echo_upstream(1);
        let (proxy, log) = observed(upstream.addr(), Weather::split(1));
        let back = round_trip(proxy.addr(), vec![b"hello".to_vec(), b" world".to_vec()]);
        assert_eq!(back, b"hello world");
        upstream.join().unwrap();
        drop(proxy);
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 22);
        assert!(log.iter().all(|d| d.piece.len == 1));
    }

    /// Addresses off loopback and empty pieces are refused with a message that says what to do.
    #[test]
    fn refuses_what_it_must_not_do() {
        let remote: SocketAddr = "10.1.2.3:8008".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:8008".parse().unwrap();
        let err = WeatherProxy::spawn(remote, Weather::clear()).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("loopback"), "{err}");
        let err = run(any, lo, Weather::clear()).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = run("127.0.0.1:0".parse().unwrap(), remote, Weather::clear()).unwrap_err();
        assert!(err.to_string().contains("--upstream"), "{err}");
        let err = WeatherProxy::spawn(lo, Weather::split(0)).err().unwrap();
        assert!(err.to_string().contains("--split 1"), "{err}");
        assert!(WeatherProxy::spawn(lo, Weather::sizes(&[3, 0])).is_err());
        let endless = Weather::coalesce(Duration::from_secs(u64::MAX));
        assert!(WeatherProxy::spawn(lo, endless).is_err());
    }

    /// Dropping the proxy stops accepting and ends connections still open.
    #[test]
    fn drop_stops_the_proxy() {
        let (forwarded, on_forwarded) = std::sync::mpsc::channel();
        let upstream = spawn_loopback(move |listener| {
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(TEST_TIMEOUT))?;
            let mut first = [0u8; 1];
            conn.read_exact(&mut first)?;
            let _ = forwarded.send(());
            let mut rest = Vec::new();
            // Ends when the stopping proxy cuts its side of the connection.
            conn.read_to_end(&mut rest)?;
            Ok(())
        })
        .unwrap();
        let proxy = WeatherProxy::spawn(upstream.addr(), Weather::clear()).unwrap();
        let addr = proxy.addr();
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
        client.write_all(b"x").unwrap();
        on_forwarded.recv_timeout(TEST_TIMEOUT).unwrap();
        drop(proxy);
        let mut buf = [0u8; 8];
        // End of stream, or a reset if the proxy closed with bytes unread:
        // either way not a timeout.
        match client.read(&mut buf) {
            Ok(n) => assert_eq!(n, 0),
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ),
                "{e}"
            ),
        }
        upstream.join().unwrap();
        assert!(TcpStream::connect(addr).is_err());
    }

    /// Flags parsed by clap give the weather back, and describe() gives the flags back.
    #[test]
    fn describe_gives_the_flags_that_reproduce_it() {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: WeatherArgs,
        }
        let weathers = [
            Weather::clear(),
            Weather::split(1),
            Weather::sizes(&[3, 7]),
            Weather::coalesce(Duration::from_millis(5)),
            Weather::seeded(42)
                .with_split(2)
                .with_delay(Duration::from_millis(1)),
        ];
        for weather in weathers {
            let argv = std::iter::once("weather".to_string()).chain(weather.flags());
            let args = Cli::try_parse_from(argv).unwrap().args;
            assert_eq!(args.weather(), weather);
        }
        assert_eq!(Weather::clear().describe(), "clear");
        assert_eq!(Weather::split(1).describe(), "--split 1");
        assert_eq!(
            Weather::sizes(&[3, 7])
                .with_delay(Duration::from_millis(2))
                .describe(),
            "--sizes 3,7 --delay-ms 2"
        );
        assert_eq!(Weather::seeded(9).with_verbose(true).describe(), "--seed 9");
        let err = Cli::try_parse_from(["weather", "--sizes", "1,0"])
            .err()
            .unwrap();
        assert!(err.to_string().contains("at least 1 byte"), "{err}");
        let args = Cli::try_parse_from(["weather", "--upstream", "127.0.0.1:8080"])
            .unwrap()
            .args;
        assert_eq!(args.listen.port(), 9008);
    }

    /// The verbose line escapes bytes and shortens long pieces.
    #[test]
    fn verbose_line_shows_escaped_bytes() {
        let delivery = Delivery {
            connection: 1,
            direction: Direction::UpstreamToClient,
            chunk: 0,
            offset: 10,
            piece: Piece {
                len: 30,
                delay: Duration::from_millis(2),
            },
        };
        let line = describe_delivery(&delivery, b"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n");
        assert_eq!(
            line,
            "#1 upstream -> client: 30 bytes at 10 after 2 ms: \"1\\n2\\n3\\n4\\n5\\n6\\n7\\n8\\n9\\n10\\n11\\n\"..."
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

        /// Any seed and any list of writes: every byte arrives, in order, both ways.
        #[test]
        fn seeded_weather_keeps_every_byte(
            seed in any::<u64>(),
            writes in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 1..6),
        ) {
            let upstream = echo_upstream(1);
            let proxy = WeatherProxy::spawn(upstream.addr(), Weather::seeded(seed)).unwrap();
            let sent = writes.concat();
            let back = round_trip(proxy.addr(), writes);
            prop_assert_eq!(&upstream.join().unwrap()[0], &sent);
            prop_assert_eq!(&back, &sent);
        }
    }

    /// Lockstep makes every piece one read, even for a reader that is slow to read.
    #[cfg(target_os = "linux")]
    #[test]
    fn lockstep_turns_every_piece_into_one_read() {
        let upstream = spawn_loopback(|listener| {
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(TEST_TIMEOUT))?;
            let mut reads = Vec::new();
            let mut buf = [0u8; 1024];
            loop {
                // A slow reader: without lockstep the pieces would pile up
                // in its receive queue and come out glued.
                thread::sleep(Duration::from_millis(2));
                let n = conn.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                reads.push(buf[..n].to_vec());
            }
            Ok(reads)
        })
        .unwrap();
        let proxy =
            WeatherProxy::spawn(upstream.addr(), Weather::sizes(&[3, 7]).with_lockstep()).unwrap();
        let mut client = TcpStream::connect(proxy.addr()).unwrap();
        client.write_all(b"seq 1 400 and more bytes").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let reads = upstream.join().unwrap();
        let lens: Vec<usize> = reads.iter().map(Vec::len).collect();
        assert_eq!(lens, [3, 7, 3, 7, 3, 1]);
        assert_eq!(reads.concat(), b"seq 1 400 and more bytes");
    }
}
