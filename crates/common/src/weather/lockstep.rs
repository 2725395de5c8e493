//! Lockstep: deliver the next piece only once the receiving program has read
//! everything delivered so far, so that every piece reaches it as a read of
//! its own and the cuts stop being odds.
//!
//! Two ways, for two situations:
//!
//! - **Both ends in this process** (tests, the story matrix, the framing
//!   gallery): the reader's stream is wrapped in a [`Counted`], its
//!   [`ReadCounter`] counts what it read, and the proxy
//!   ([`super::WeatherProxy::spawn_gated`]) waits on that count. Plain Rust,
//!   the same on every OS.
//! - **The reader is another program** (`cargo run -- weather --lockstep`
//!   between two terminals): the proxy cannot count another process's reads,
//!   so it asks the kernel how many bytes wait unread in the receiving
//!   socket's queue, and delivers the next piece when that is zero. Linux
//!   prints every TCP socket of the network namespace, with that number, in
//!   `/proc/net/tcp` (the `rx_queue` column; `man 5 proc`, "/proc/net/tcp"),
//!   readable by any user, so this works there.
//!
//! # On Windows and macOS: `--lockstep` has no effect, and says so
//!
//! Neither system has a `/proc/net/tcp`. Windows' table of TCP connections
//! (`GetExtendedTcpTable`, what `netstat -ano` shows) gives each connection's
//! state, addresses, ports and owning process, and no queue lengths: see the
//! row it returns, `MIB_TCPROW_OWNER_PID`
//! (<https://learn.microsoft.com/en-us/windows/win32/api/tcpmib/ns-tcpmib-mib_tcprow_owner_pid>).
//! So the proxy cannot learn how much of the reader's socket is still
//! unread; every other route would go through system calls this workspace
//! does not make (it forbids `unsafe` code). What a student on Windows sees:
//! the proxy starts as usual, prints one line on standard error saying that
//! `--lockstep` has no effect here ([`LOCKSTEP_UNAVAILABLE`]), and delivers
//! the pieces exactly as without `--lockstep`. The cuts still happen; a
//! reader that is slow to wake may get several pieces glued in one read, so
//! the same run may differ from the docs' transcripts. `--delay-ms 5` (more
//! on a busy machine) gives the reader time to wake between pieces and makes
//! the cuts likely, not certain. The story matrix (`cargo run -- matrix`) is
//! not affected: it counts the reads in-process and prints the same table on
//! every OS.
//!
//! The check is made at compile time (`cfg(target_os = "linux")`), not by
//! trying to open `/proc/net/tcp`: under Wine a Windows build *can* open the
//! Linux host's file, and would then behave unlike a real Windows machine.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::proxy::Shared;

/// The readers an in-process lockstep waits for.
pub(super) struct Gates {
    /// Counts what the client reads (the way back).
    pub(super) client: ReadCounter,
    /// Counts what the server reads.
    pub(super) server: ReadCounter,
}

/// Counts the bytes one end of a connection has read, so that a proxy in
/// the same process ([`super::WeatherProxy::spawn_gated`]) can deliver its next
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
    pub(super) fn wait_for(&self, total: u64, shared: &Shared) {
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

    /// Forwarded whole, so a stage-4 frame written here is still one write.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The longest lockstep waits for a reader before it delivers anyway: a
/// reader that stopped reading for good must not stall the proxy forever.
const LOCKSTEP_PATIENCE: Duration = Duration::from_secs(3);

/// True where `--lockstep` works between separate programs: where the
/// kernel lists, for any socket, how many bytes wait unread (Linux's
/// `/proc/net/tcp`, `rx_queue` column, `man 5 proc`).
///
/// False on Windows, whose TCP table (`GetExtendedTcpTable`) gives state,
/// addresses, ports and owning process but no queue lengths
/// (<https://learn.microsoft.com/en-us/windows/win32/api/tcpmib/ns-tcpmib-mib_tcprow_owner_pid>),
/// and on macOS, which has no `/proc`. Decided at compile time, because a
/// Windows build under Wine can read the Linux host's `/proc/net/tcp` and
/// would then behave unlike real Windows. In one process,
/// [`super::WeatherProxy::spawn_gated`] gives exact lockstep on every OS.
pub fn lockstep_available() -> bool {
    cfg!(target_os = "linux")
}

// ANCHOR: lockstep_unavailable
/// What the command-line proxy prints on standard error, once, when
/// `--lockstep` was asked for where it cannot work ([`lockstep_available`]).
pub const LOCKSTEP_UNAVAILABLE: &str = "weather: --lockstep has no effect on this system: only \
Linux shows how many bytes another program has not read yet (/proc/net/tcp), so pieces are \
delivered as without --lockstep and a slow reader may get several in one read; add --delay-ms 5 \
to give it time to read between pieces (docs/weather.md, \"--lockstep on Windows and macOS\")";
// ANCHOR_END: lockstep_unavailable

/// Waits until the program at the other end of `dst` has read every byte
/// delivered to it so far: its socket's receive queue, as the kernel reports
/// it in `/proc/net/tcp`, is empty, or the socket is gone. The receiving
/// socket is the one whose local address is `dst`'s peer and whose remote
/// address is `dst`'s local address. Where the table does not exist
/// ([`lockstep_available`] is false) it returns at once.
pub(super) fn wait_until_read(dst: &TcpStream, shared: &Shared) {
    if !lockstep_available() {
        return;
    }
    let (Ok(local), Ok(peer)) = (dst.local_addr(), dst.peer_addr()) else {
        return;
    };
    let deadline = Instant::now() + LOCKSTEP_PATIENCE;
    while !shared.stopping() && Instant::now() < deadline {
        match receive_queue(peer, local) {
            Some(queued) if queued > 0 => thread::sleep(Duration::from_micros(50)),
            // Empty, or the socket is gone: deliver on.
            _ => return,
        }
    }
    shared.note("lockstep: the reader did not read for 3 s; delivering anyway");
}

/// Unread bytes in the receive queue of the TCP socket bound to `local` and
/// connected to `remote`, from `/proc/net/tcp`; `None` when there is no such
/// socket (closed) or the table cannot be read (not IPv4).
#[cfg(target_os = "linux")]
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

/// No table of other programs' unread bytes here (see the module docs).
#[cfg(not(target_os = "linux"))]
fn receive_queue(_local: SocketAddr, _remote: SocketAddr) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::server::spawn_loopback;
    use crate::weather::{Weather, WeatherProxy};
    use std::io::Write;
    use std::net::{Shutdown, TcpStream};

    /// Reads to the end, one read at a time, each after a pause: a slow
    /// reader, whose receive queue would glue the pieces together without
    /// lockstep. Returns what each read returned.
    fn read_slowly(conn: &mut impl Read) -> io::Result<Vec<Vec<u8>>> {
        let mut reads = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            thread::sleep(Duration::from_millis(2));
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Ok(reads);
            }
            reads.push(buf[..n].to_vec());
        }
    }

    /// Lockstep makes every piece one read, even for a reader that is slow to read.
    #[cfg(target_os = "linux")]
    #[test]
    fn lockstep_turns_every_piece_into_one_read() {
        let upstream = spawn_loopback(|listener| {
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(TEST_TIMEOUT))?;
            read_slowly(&mut conn)
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

    /// Where lockstep between programs cannot work, the proxy still forwards
    /// every byte in order, and the note that says so names the flag and the
    /// way out. The twin of the Linux test above.
    #[cfg(not(target_os = "linux"))]
    #[test]
    fn lockstep_elsewhere_forwards_everything_and_says_why_not() {
        assert!(!lockstep_available());
        assert!(LOCKSTEP_UNAVAILABLE.contains("--lockstep has no effect"));
        assert!(LOCKSTEP_UNAVAILABLE.contains("--delay-ms"));
        let upstream = echo_upstream(1);
        let proxy =
            WeatherProxy::spawn(upstream.addr(), Weather::sizes(&[3, 7]).with_lockstep()).unwrap();
        let sent = b"seq 1 400 and more bytes".to_vec();
        let back = round_trip(proxy.addr(), vec![sent.clone()]);
        assert_eq!(upstream.join().unwrap()[0], sent);
        assert_eq!(back, sent);
    }

    /// In one process, lockstep counts the reader's reads itself: every
    /// piece is one read on every OS, even for a reader that is slow to read.
    #[test]
    fn gated_lockstep_turns_every_piece_into_one_read_everywhere() {
        let server_reads = ReadCounter::new();
        let counter = server_reads.clone();
        let upstream = spawn_loopback(move |listener| {
            let (conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(TEST_TIMEOUT))?;
            let mut conn = counter.wrap(conn);
            read_slowly(&mut conn)
        })
        .unwrap();
        let proxy = WeatherProxy::spawn_gated(
            upstream.addr(),
            Weather::sizes(&[3, 7]).with_lockstep(),
            ReadCounter::new(),
            server_reads,
            |_, _| {},
        )
        .unwrap();
        let mut client = TcpStream::connect(proxy.addr()).unwrap();
        client.write_all(b"seq 1 400 and more bytes").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let reads = upstream.join().unwrap();
        let lens: Vec<usize> = reads.iter().map(Vec::len).collect();
        assert_eq!(lens, [3, 7, 3, 7, 3, 1]);
        assert_eq!(reads.concat(), b"seq 1 400 and more bytes");
    }
}
