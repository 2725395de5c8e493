//! What the workspace's tests share so that they pass on a loaded machine as
//! surely as on an idle one: an address where nobody listens and nobody can
//! start to, counters that let a test wait for the other end to have read
//! instead of sleeping, and the named waits every test picks from.
//!
//! A test suite shares its machine with other tests of the same run (each
//! binding `127.0.0.1:0`), with other builds, and with whatever else CI runs.
//! So a test never counts on a port staying free, and every wait it makes is
//! one of the constants below: long enough for a machine whose cores are all
//! busy, short enough that the suite stays quick, and named for why it waits.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

pub use crate::process::PATIENCE;
pub use crate::weather::ReadCounter;

/// A loopback port where nobody listens, held for as long as this value
/// lives so that nobody else can start to listen there either: a client
/// pointed at [`ClosedPort::addr`] finds no server, every time.
///
/// The obvious way to find such a port, binding a listener, reading its port
/// and dropping it, leaves the port free for anyone: another test of the same
/// run, or any program on the machine, may bind it before the client
/// connects, and the client then meets a stranger (a reset, a hang) instead
/// of a refusal. So the port stays bound, by a socket that receives nothing.
///
/// Nobody can take it: the socket is bound without `SO_REUSEADDR`, so
/// another socket's `bind` to the same address fails with "address in use"
/// (on Linux, sharing a port needs `SO_REUSEADDR` on both sockets, see
/// `man 7 socket`; Windows lets a socket that asks for `SO_REUSEADDR` share
/// it, which std and this workspace never do), and the kernel does not hand
/// a bound port out as the local port of an outgoing connection either.
#[derive(Debug)]
pub struct ClosedPort {
    // Held, never used: its being bound is the point.
    _socket: Socket,
    addr: SocketAddr,
}

impl ClosedPort {
    /// A TCP port: bound, never listening. A connection request to a port
    /// with no listening socket is answered with a reset, and the client's
    /// `connect` fails with "connection refused" (`ECONNREFUSED`; on Windows
    /// `WSAECONNREFUSED`, after Windows has retried the SYN for about two
    /// seconds). A socket that is only bound does not listen.
    pub fn tcp() -> io::Result<Self> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.bind(&SockAddr::from(loopback_any_port()))?;
        let addr = socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("a socket bound to 127.0.0.1 has no IPv4 address"))?;
        Ok(Self {
            _socket: socket,
            addr,
        })
    }

    /// A UDP port: bound, and connected to itself, so that it takes
    /// datagrams from nobody else. On Linux a datagram that no socket takes
    /// is answered with an ICMP "port unreachable", which a connected client
    /// socket reports as "connection refused"; other systems may drop it
    /// silently, and the client then hears nothing, as from any UDP port
    /// where nobody listens.
    pub fn udp() -> io::Result<Self> {
        let socket = UdpSocket::bind(loopback_any_port())?;
        let addr = socket.local_addr()?;
        socket.connect(addr)?;
        Ok(Self {
            _socket: Socket::from(socket),
            addr,
        })
    }

    /// The address: `127.0.0.1` and the held port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn loopback_any_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// Counts the bytes written through the streams it wraps, so that a test
/// can wait until the other end has read all of them (with a
/// [`ReadCounter`] there) instead of sleeping and hoping it has. Cloning
/// shares the count.
#[derive(Clone, Debug, Default)]
pub struct WriteCounter {
    written: Arc<AtomicU64>,
}

impl WriteCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps a stream so that its writes are counted here; reads pass through.
    pub fn wrap<S>(&self, inner: S) -> WriteCounted<S> {
        WriteCounted {
            inner,
            counter: self.clone(),
        }
    }

    /// Bytes written so far.
    pub fn total(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// Waits until `reader` has read every byte written so far, or `patience`
    /// has passed (then the test goes on, and fails on what it reads).
    pub fn wait_until_read(&self, reader: &ReadCounter, patience: Duration) {
        let deadline = Instant::now() + patience;
        while reader.total() < self.total() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

/// A stream whose writes are counted by a [`WriteCounter`].
#[derive(Debug)]
pub struct WriteCounted<S> {
    inner: S,
    counter: WriteCounter,
}

impl<S: Read> Read for WriteCounted<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<S: Write> Write for WriteCounted<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.counter.written.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }

    /// Forwarded whole, so a stage-4 frame wrapped here is still one write.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.inner.write_vectored(bufs)?;
        self.counter.written.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The variable a lane sets, to a reason, where python3 cannot run at all:
/// the Windows lane's programs run under Wine, which has no Windows python3.
pub const NO_PYTHON_VAR: &str = "STICKY_NO_PYTHON";

/// Whether the interop tests can run python3. When it is missing, the test
/// named `test` says so on standard error (not captured by the harness, so a
/// skip is never a silent pass) and is skipped; but with `CI` set a missing
/// python3 fails it, unless the lane says in [`NO_PYTHON_VAR`] why there can
/// be none, and that reason is printed with the skip.
pub fn python3_available(test: &str) -> bool {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    let reason = std::env::var(NO_PYTHON_VAR).ok().filter(|r| !r.is_empty());
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci || reason.is_some(),
        "{test}: python3 is not installed, and CI is set, so the Python interop test must run: \
         install python3"
    );
    let why = reason.unwrap_or_else(|| "python3 not found; install python3 to run it".into());
    let _ = writeln!(io::stderr(), "SKIPPED {test}: {why}");
    false
}

/// How many running processes have `arg` (a unique argument) in their
/// command line, read from `/proc`: how a test proves that a command the
/// server killed, and everything it started, is really gone. Where there is
/// no `/proc` (macOS, Windows) it counts none, so it proves something on
/// Linux only.
pub fn running_with_arg(arg: &str) -> usize {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read(e.path().join("cmdline"))
                        .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
                })
                .count()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    /// Where no refusal comes (not Linux), how long silence must last to
    /// count as "nobody answered": a reply on loopback takes microseconds.
    const SILENCE_TO_WAIT_OUT: Duration = Duration::from_millis(300);

    /// Connecting to a closed TCP port is refused, not accepted and not left hanging.
    #[test]
    fn a_closed_tcp_port_refuses() {
        let port = ClosedPort::tcp().unwrap();
        let err = TcpStream::connect_timeout(&port.addr(), PATIENCE).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    }

    /// While a TCP port is held, nobody else can listen on it.
    #[test]
    fn nobody_else_can_listen_on_a_closed_tcp_port() {
        let port = ClosedPort::tcp().unwrap();
        // std's listener asks for SO_REUSEADDR on Unix, as servers do:
        // even so, the bind fails.
        let err = TcpListener::bind(port.addr()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    }

    /// A datagram to a closed UDP port gets no answer: refused where the
    /// system says so (Linux), silence where it does not.
    #[test]
    fn a_closed_udp_port_answers_nothing() {
        let port = ClosedPort::udp().unwrap();
        let client = UdpSocket::bind(loopback_any_port()).unwrap();
        client.connect(port.addr()).unwrap();
        client.set_read_timeout(Some(SILENCE_TO_WAIT_OUT)).unwrap();
        client.send(b"hello").unwrap();
        let err = client.recv(&mut [0u8; 16]).unwrap_err();
        if cfg!(target_os = "linux") {
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        } else {
            assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                ),
                "{err}"
            );
        }
    }

    /// While a UDP port is held, nobody else can bind it.
    #[test]
    fn nobody_else_can_bind_a_closed_udp_port() {
        let port = ClosedPort::udp().unwrap();
        let err = UdpSocket::bind(port.addr()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    }
}
