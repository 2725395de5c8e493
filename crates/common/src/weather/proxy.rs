//! The proxy itself: listening (common's one accept loop), connecting each
//! client to the upstream server, running both directions, stopping.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::forward::{forward, Delivery};
use super::lockstep::{lockstep_available, Gates, ReadCounter, LOCKSTEP_UNAVAILABLE};
use super::plan::{Direction, Weather};
use crate::accept::{Acceptor, Limits};

/// How many connections one proxy serves at once; a newcomer past it makes
/// room by dropping the oldest, so a runaway client cannot make the proxy
/// spawn threads without end, nor lock a student's client out.
pub const MAX_CONNECTIONS: usize = 64;

/// How long the proxy waits for the upstream server to accept.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What an observer of [`WeatherProxy::spawn_observed`] is: called after
/// every delivered piece with the delivery and its bytes.
type Observer = Box<dyn Fn(&Delivery, &[u8]) + Send + Sync>;

/// The proxy's state, shared by the accept thread and every connection.
pub(super) struct Shared {
    upstream: SocketAddr,
    pub(super) weather: Weather,
    pub(super) observer: Option<Observer>,
    /// In-process lockstep: the readers' counters, client side first.
    pub(super) gates: Option<Gates>,
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

    pub(super) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub(super) fn note(&self, message: impl fmt::Display) {
        if self.weather.verbose {
            eprintln!("weather: {message}");
        }
    }

    pub(super) fn problem(&self, message: impl fmt::Display) {
        if self.weather.verbose || self.report_errors {
            eprintln!("weather: {message}");
        }
    }
}

/// Both sockets of one proxied connection.
pub(super) struct Link {
    pub(super) client: TcpStream,
    pub(super) upstream: TcpStream,
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
    pub(super) fn cut(&self) {
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
    for line in banner(addr, upstream, &weather) {
        eprintln!("{line}");
    }
    let shared = Arc::new(Shared::new(upstream, weather, None, true));
    accept_loop(&listener, &shared);
    Ok(())
}

/// The lines [`run`] prints on standard error before it accepts: where it
/// listens (first, so a script can read the port), what it does, and, where
/// `--lockstep` cannot work, that it will not.
fn banner(addr: SocketAddr, upstream: SocketAddr, weather: &Weather) -> Vec<String> {
    let mut lines = vec![
        format!("listening on {addr}"),
        format!(
            "weather: forwarding to {upstream} with {}",
            weather.describe()
        ),
    ];
    if weather.lockstep && !lockstep_available() {
        lines.push(LOCKSTEP_UNAVAILABLE.to_string());
    }
    lines
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::server::spawn_loopback;
    use proptest::prelude::*;
    use std::io::{Read, Write};

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

    /// The proxy's first lines say where it listens and what it does; asked
    /// for --lockstep where it cannot work (not Linux), it says so, once.
    #[test]
    fn banner_says_when_lockstep_cannot_work() {
        let addr: SocketAddr = "127.0.0.1:9008".parse().unwrap();
        let upstream: SocketAddr = "127.0.0.1:8008".parse().unwrap();
        let plain = banner(addr, upstream, &Weather::split(1));
        assert_eq!(
            plain,
            [
                "listening on 127.0.0.1:9008",
                "weather: forwarding to 127.0.0.1:8008 with --split 1"
            ]
        );
        let locked = banner(addr, upstream, &Weather::split(1).with_lockstep());
        assert_eq!(
            locked[1],
            "weather: forwarding to 127.0.0.1:8008 with --split 1 --lockstep"
        );
        if cfg!(target_os = "linux") {
            assert_eq!(locked.len(), 2, "{locked:?}");
        } else {
            assert_eq!(&locked[2..], [LOCKSTEP_UNAVAILABLE], "{locked:?}");
        }
    }
}
