//! The workspace's one accept loop, for tasks instead of threads.
//!
//! Every other server of the workspace runs under `common::Acceptor`, which
//! gives each connection a thread and guards it with blocking socket
//! timeouts. An async server has no thread per connection to block, so it
//! cannot run inside that loop; this module is its twin, with **the same
//! policy, the same flags ([`common::LimitArgs`]), the same defaults
//! ([`common::Limits`]) and the same log and busy lines**, so a student meets
//! one set of defences in every server:
//!
//! - a connection cap with a per-address share; when full, the connection
//!   that has waited longest without completing a message is dropped to make
//!   room, and only a server whose connections are all busy being served
//!   (for a second) refuses the newcomer, in words its client can show;
//! - a deadline for each whole message, from its first byte to its last,
//!   across every read, with a minimum data rate that buys more time;
//! - an idle timeout between messages;
//! - the same allowance for a reply the client does not read.
//!
//! It lives here, not in `common`, so that `common` (and every stage that
//! depends on it) does not build tokio: the lesson of stages 1 to 6 needs
//! only std. What changes is the mechanism, not the policy: instead of
//! `SO_RCVTIMEO` before each blocking read, [`Guarded`] arms a tokio timer
//! when a read or a write has to wait, and instead of shutting a victim's
//! socket down from the accept loop, the loop wakes the victim's task, whose
//! next poll returns the reason as an error.

use common::accept::{LogFn, RefusalFn};
use common::Limits;
use futures_util::task::AtomicWaker;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// As in `common::accept`: how long a newcomer to a server whose
/// connections are all busy being served waits for one to go back to
/// waiting before it is refused.
const BUSY_GRACE: Duration = Duration::from_secs(1);

/// How often the accept loop looks again during [`BUSY_GRACE`].
const BUSY_POLL: Duration = Duration::from_millis(10);

/// The accept loop with its limits, its log and its way of saying "busy".
pub struct AsyncAcceptor {
    limits: Limits,
    log: LogFn,
    refusal: RefusalFn,
    registry: Arc<Registry>,
}

/// How many connections an [`AsyncAcceptor`] holds, for tests.
#[derive(Clone)]
pub struct Gauge(Arc<Registry>);

impl Gauge {
    /// Connections open right now.
    pub fn open(&self) -> usize {
        self.0.lock().len()
    }
}

impl AsyncAcceptor {
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

    /// No log at all.
    pub fn quiet(self) -> Self {
        self.log_with(|_| {})
    }

    /// Words a refusal in the server's wire format.
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

    /// Accepts connections for ever, each in a task of its own running
    /// `handler` with a [`Guarded`] stream. A failed `accept` is logged and
    /// retried after a short pause, so a persistent error cannot spin.
    pub async fn serve<H, F>(self, listener: TcpListener, handler: H) -> io::Result<()>
    where
        H: Fn(Guarded) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        self.limits
            .check()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let handler = Arc::new(handler);
        let mut next_id = 0u64;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    (self.log)(&format!("accept failed: {e}; still listening"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            next_id += 1;
            let Some(conn) = self.admit(next_id, stream, peer).await else {
                continue;
            };
            let leave = Leave {
                registry: Arc::clone(&self.registry),
                id: next_id,
            };
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                // Leaves the registry however the task ends.
                let _leave = leave;
                handler(conn).await;
            });
        }
    }

    /// Finds room for a newcomer, by dropping the connection that has waited
    /// longest without completing a message if the server or the address is
    /// full, and registers it; or refuses it when nobody can make room.
    async fn admit(&self, id: u64, stream: TcpStream, peer: SocketAddr) -> Option<Guarded> {
        let grace_ends = Instant::now() + BUSY_GRACE;
        loop {
            let now = self.registry.now_ns();
            // One look under the lock: is there room, and if not, whom to drop.
            let (full, victim) = {
                let mut conns = self.registry.lock();
                let same_address = conns.iter().filter(|c| c.peer.ip() == peer.ip()).count();
                let full = if same_address >= self.limits.max_per_address {
                    Full::Address(peer.ip())
                } else if conns.len() >= self.limits.max_connections {
                    Full::Server
                } else {
                    break;
                };
                let victim = conns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.waiting() && full.covers(c.peer.ip()))
                    .min_by_key(|(_, c)| c.fresh())
                    .map(|(i, _)| i)
                    .map(|i| conns.swap_remove(i));
                (full, victim)
            };
            let limit = full.describe(&self.limits);
            match victim {
                Some(victim) => {
                    let waited = Duration::from_nanos(now.saturating_sub(victim.fresh()));
                    (self.log)(&format!(
                        "{}: dropped to make room for {peer}: it had waited {} without \
                         completing a message, the longest of all ({limit})",
                        victim.peer,
                        seconds(waited)
                    ));
                    victim.evict(format!("dropped to make room for {peer} (server full)"));
                }
                None if Instant::now() < grace_ends => tokio::time::sleep(BUSY_POLL).await,
                None => {
                    let text = format!(
                        "[server: busy: every connection is being served right now ({limit}); \
                         try again in a moment]"
                    );
                    (self.log)(&format!("{peer}: refused: all connections busy ({limit})"));
                    let mut stream = stream;
                    // A fresh socket's send buffer is empty: a short line never waits.
                    let _ = stream.try_write(&(self.refusal)(&text));
                    let _ = stream.shutdown().await;
                    return None;
                }
            }
        }
        let now = self.registry.now_ns();
        let state = Arc::new(ConnState {
            id,
            peer,
            fresh_ns: AtomicU64::new(now),
            generation: AtomicU64::new(0),
            activity: AtomicU8::new(WAITING),
            dropped: Mutex::new(None),
            waker: AtomicWaker::new(),
        });
        self.registry.lock().push(Arc::clone(&state));
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
            read_since: None,
            write_since: None,
            read_timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            write_timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
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
    epoch: std::time::Instant,
    conns: Mutex<Vec<Arc<ConnState>>>,
}

impl Registry {
    fn new() -> Self {
        Self {
            epoch: std::time::Instant::now(),
            conns: Mutex::new(Vec::new()),
        }
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    // A std Mutex, not tokio's: nothing awaits while it is held.
    fn lock(&self) -> MutexGuard<'_, Vec<Arc<ConnState>>> {
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

/// What the connection's task is doing: waiting for the client (a read or a
/// write that could not finish at once), or working for it.
const WAITING: u8 = 0;
const WORKING: u8 = 1;

/// One connection as the accept loop sees it.
struct ConnState {
    id: u64,
    peer: SocketAddr,
    /// Since when it has been waiting without earning it (see
    /// `common::accept`): the stalest is the one dropped to make room.
    fresh_ns: AtomicU64,
    /// Bumped at every message boundary, so the stream resets its clocks.
    generation: AtomicU64,
    activity: AtomicU8,
    /// Why the accept loop dropped it, once it has.
    dropped: Mutex<Option<String>>,
    /// The connection's task, to wake when it is dropped.
    waker: AtomicWaker,
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
        self.waker.wake();
    }

    fn dropped(&self) -> Option<String> {
        self.dropped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A connection's stream under the limits: reads and writes pass through to
/// the socket; a read or write that has to wait arms a timer from the
/// current message's clock. A limit that runs out ends it with an
/// [`io::ErrorKind::TimedOut`] error whose text names the client's fault and
/// the flag, worded as `common::Guarded`'s.
pub struct Guarded {
    stream: TcpStream,
    limits: Limits,
    registry: Arc<Registry>,
    state: Arc<ConnState>,
    seen_generation: u64,
    idle_waited: Duration,
    msg_bytes: u64,
    msg_waited: Duration,
    credit: Duration,
    out_bytes: u64,
    out_waited: Duration,
    out_credit: Duration,
    /// When the read (or write) now in progress started to wait.
    read_since: Option<Instant>,
    write_since: Option<Instant>,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
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

    /// A server that writes is answering: what it was reading is complete.
    fn boundary(&mut self) {
        self.state
            .fresh_ns
            .store(self.registry.now_ns(), Ordering::SeqCst);
        self.state.generation.fetch_add(1, Ordering::SeqCst);
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

    /// The time the read now ending has waited, booked against the idle
    /// clock or the message's bank.
    fn book_read_wait(&mut self, in_message: bool) {
        let spent = self
            .read_since
            .take()
            .map_or(Duration::ZERO, |t| t.elapsed());
        if in_message {
            self.msg_waited += spent;
            self.credit = self.credit.saturating_sub(spent);
        } else {
            self.idle_waited += spent;
        }
        self.state.activity.store(WORKING, Ordering::SeqCst);
    }

    fn book_write_wait(&mut self) {
        let spent = self
            .write_since
            .take()
            .map_or(Duration::ZERO, |t| t.elapsed());
        self.out_waited += spent;
        self.out_credit = self.out_credit.saturating_sub(spent);
        self.state.activity.store(WORKING, Ordering::SeqCst);
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.sync();
        let started = match this.read_since {
            Some(started) => started,
            None => {
                // A new read means the reply before it is out: its clock restarts.
                this.out_bytes = 0;
                this.out_waited = Duration::ZERO;
                this.out_credit = this.limits.message_timeout;
                let now = Instant::now();
                this.read_since = Some(now);
                now
            }
        };
        this.state.waker.register(cx.waker());
        let in_message = this.msg_bytes > 0;
        if let Some(e) = this.evicted() {
            this.book_read_wait(in_message);
            return Poll::Ready(Err(e));
        }
        let left = if in_message {
            this.credit
        } else {
            this.limits.idle_timeout.saturating_sub(this.idle_waited)
        };
        this.state.activity.store(WAITING, Ordering::SeqCst);
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.book_read_wait(in_message);
                let n = buf.filled().len() - before;
                if n == 0 {
                    return Poll::Ready(this.evicted().map_or(Ok(()), Err));
                }
                this.msg_bytes += n as u64;
                this.credit =
                    (this.credit + this.limits.earned(n as u64)).min(this.limits.message_timeout);
                // As in common: stale as if waiting since its bank was full.
                let behind = this.limits.message_timeout - this.credit;
                let behind = u64::try_from(behind.as_nanos()).unwrap_or(u64::MAX);
                this.state.fresh_ns.store(
                    this.registry.now_ns().saturating_sub(behind),
                    Ordering::SeqCst,
                );
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => {
                this.book_read_wait(in_message);
                Poll::Ready(Err(this.evicted().unwrap_or(e)))
            }
            Poll::Pending => {
                this.read_timer.as_mut().reset(started + left);
                if this.read_timer.as_mut().poll(cx).is_ready() {
                    this.book_read_wait(in_message);
                    return Poll::Ready(Err(if in_message {
                        this.message_error()
                    } else {
                        this.idle_error()
                    }));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.msg_bytes > 0 || this.idle_waited > Duration::ZERO {
            this.boundary();
        }
        let started = *this.write_since.get_or_insert_with(Instant::now);
        this.state.waker.register(cx.waker());
        if let Some(e) = this.evicted() {
            this.book_write_wait();
            return Poll::Ready(Err(e));
        }
        let left = this.out_credit;
        this.state.activity.store(WAITING, Ordering::SeqCst);
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.book_write_wait();
                this.out_bytes += n as u64;
                this.out_credit = (this.out_credit + this.limits.earned(n as u64))
                    .min(this.limits.message_timeout);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => {
                this.book_write_wait();
                Poll::Ready(Err(this.evicted().unwrap_or(e)))
            }
            Poll::Pending => {
                this.write_timer.as_mut().reset(started + left);
                if this.write_timer.as_mut().poll(cx).is_ready() {
                    this.book_write_wait();
                    return Poll::Ready(Err(this.write_error()));
                }
                Poll::Pending
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A duration as a person reads it: `12.3 s`, `450 ms` (as common's log).
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests;
