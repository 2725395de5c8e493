//! Synchronising the two ends of a demo, so that its transcript is identical on
//! every run.
//!
//! What a single `read` returns depends on how many bytes have reached the
//! receiving socket at that instant: that is the whole point of this
//! workspace, and also what makes a naive demo flaky. In demo mode both ends
//! live in one process, so the demo knows how many bytes the other end has
//! already written; before it lets the client make its (possibly naive) read,
//! it waits until the kernel holds exactly that many bytes. The read then
//! returns the same bytes on every run, on a quiet machine or a busy one.
//!
//! [`ReportFlushes`] and [`AwaitReported`] do this around a stage's own code:
//! the writing end reports each flush, the reading end waits for it before
//! every read, and the lesson code between them sees a plain stream.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

/// How long [`wait_for_bytes`] waits before it gives up: generous, because it
/// only ever waits for bytes that were already written on loopback.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits until at least `n` bytes can be read from `stream` without blocking,
/// without consuming any of them (it peeks).
///
/// Use it only for bytes the peer has *already written* (the demo knows this);
/// it fails with [`io::ErrorKind::TimedOut`] after `timeout` rather than hang,
/// and with [`io::ErrorKind::UnexpectedEof`] if the peer closed before `n`
/// bytes arrived.
pub fn wait_for_bytes(stream: &TcpStream, n: usize, timeout: Duration) -> io::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    let previous = stream.read_timeout()?;
    let mut buf = vec![0u8; n];
    let result = loop {
        let now = Instant::now();
        if now >= deadline {
            break Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("demo sync: waited {timeout:?} for {n} bytes that were already sent"),
            ));
        }
        // A short read timeout on the peek keeps this loop bounded even if
        // nothing arrives at all.
        stream.set_read_timeout(Some((deadline - now).min(Duration::from_millis(50))))?;
        match stream.peek(&mut buf) {
            Ok(0) => {
                break Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("demo sync: peer closed before {n} bytes arrived"),
                ))
            }
            Ok(got) if got >= n => break Ok(()),
            // Some bytes are here, the rest is still on its way through the
            // loopback device: give the kernel a moment and look again.
            Ok(_) => thread::sleep(Duration::from_micros(200)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => break Err(e),
        }
    };
    stream.set_read_timeout(previous)?;
    result
}

/// The writing end of a demo connection: passes every byte through and, on
/// every `flush`, reports to the other end how many bytes it wrote since the
/// last report. A lesson function flushes when it waits for an answer (a
/// request, a reply, a file info), so a report marks "my turn is over".
///
/// Pair it with [`AwaitReported`] on the reading end: together they make the
/// reads of a demo return the same bytes on every run, without a hook in the
/// lesson code (it only sees a `Read + Write`).
#[derive(Debug)]
pub struct ReportFlushes<S> {
    inner: S,
    unreported: usize,
    reports: Sender<usize>,
}

impl<S> ReportFlushes<S> {
    /// Wraps `inner`; reports go to `reports`.
    pub fn new(inner: S, reports: Sender<usize>) -> Self {
        Self {
            inner,
            unreported: 0,
            reports,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Read> Read for ReportFlushes<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<S: Write> Write for ReportFlushes<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.unreported += n;
        Ok(n)
    }

    // Passed through, so one vectored write (a stage-4 frame) stays one write.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.inner.write_vectored(bufs)?;
        self.unreported += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()?;
        if self.unreported > 0 {
            // The other end may be gone already (it refused and closed):
            // then nobody needs the report, and its next read notices.
            let _ = self.reports.send(self.unreported);
            self.unreported = 0;
        }
        Ok(())
    }
}

/// The reading end of a demo connection: before every read it waits until
/// the other end has reported a flush it has not read yet (or hung up), then
/// until the reported bytes the read may take ([`wait_for_bytes`]) are all in
/// the socket. The read then returns the same bytes on every run.
///
/// Wrap it in a [`crate::Tap`] with `max_read` to cap the reads as a
/// `recv(1024)` does: the cap comes first, so the wait is for what the
/// capped read may take.
#[derive(Debug)]
pub struct AwaitReported {
    stream: TcpStream,
    reports: Receiver<usize>,
    reported: usize,
    consumed: usize,
    reads: Option<Sender<usize>>,
}

impl AwaitReported {
    /// Reads `stream`, waiting for the flushes reported on `reports`.
    pub fn new(stream: TcpStream, reports: Receiver<usize>) -> Self {
        Self {
            stream,
            reports,
            reported: 0,
            consumed: 0,
            reads: None,
        }
    }

    /// Also tells `reads` the length of every read once it is made, for a
    /// demo whose other end must wait for this end's read before it goes on.
    pub fn notify_reads(mut self, reads: Sender<usize>) -> Self {
        self.reads = Some(reads);
        self
    }

    /// The socket.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl Read for AwaitReported {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while let Ok(n) = self.reports.try_recv() {
            self.reported += n;
        }
        // Everything reported is read: the other end's next turn has not
        // come. Wait for it, or for the other end to hang up (then the read
        // below returns end of stream).
        while self.reported == self.consumed {
            match self.reports.recv_timeout(DEFAULT_SYNC_TIMEOUT) {
                Ok(n) => self.reported += n,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "demo sync: the other end never took its turn",
                    ))
                }
            }
        }
        let want = buf.len().min(self.reported - self.consumed);
        wait_for_bytes(&self.stream, want, DEFAULT_SYNC_TIMEOUT)?;
        let n = self.stream.read(buf)?;
        self.consumed += n;
        if let Some(reads) = &self.reads {
            let _ = reads.send(n);
        }
        Ok(n)
    }
}

impl Write for AwaitReported {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::spawn_loopback;

    /// After waiting, a single read returns every byte the peer wrote, not just the first segment.
    #[test]
    fn one_read_returns_everything_already_written() {
        let payload: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let expected = payload.clone();
        let server = spawn_loopback(move |listener| {
            let (mut conn, _) = listener.accept()?;
            conn.write_all(&payload)?;
            // Keep the connection open until the client has read.
            let mut done = [0u8; 1];
            conn.read_exact(&mut done)?;
            Ok(())
        })
        .unwrap();
        let mut client = TcpStream::connect(server.addr()).unwrap();
        wait_for_bytes(&client, 4096, DEFAULT_SYNC_TIMEOUT).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = client.read(&mut buf).unwrap();
        assert_eq!(n, 4096);
        assert_eq!(&buf[..], &expected[..4096]);
        client.write_all(b"x").unwrap();
        server.join().unwrap();
    }

    /// Waiting for bytes that never come ends with an error, not a hang.
    #[test]
    fn gives_up_after_timeout() {
        let server = spawn_loopback(|listener| {
            let (mut conn, _) = listener.accept()?;
            let mut done = [0u8; 1];
            let _ = conn.read(&mut done)?;
            Ok(())
        })
        .unwrap();
        let mut client = TcpStream::connect(server.addr()).unwrap();
        let err = wait_for_bytes(&client, 1, Duration::from_millis(30)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        client.write_all(b"x").unwrap();
        server.join().unwrap();
    }
    /// Each read returns exactly one reported turn, and the writer may wait for the reader's read.
    #[test]
    fn reports_pace_the_reads() {
        use std::sync::mpsc;
        let (reports_tx, reports_rx) = mpsc::channel();
        let (reads_tx, reads_rx) = mpsc::channel();
        let server = spawn_loopback(move |listener| {
            let (conn, _) = listener.accept()?;
            let mut conn = AwaitReported::new(conn, reports_rx).notify_reads(reads_tx);
            let mut buf = [0u8; 100];
            let first = conn.read(&mut buf)?;
            let second = conn.read(&mut buf)?;
            Ok((first, second))
        })
        .unwrap();
        let client = TcpStream::connect(server.addr()).unwrap();
        let mut client = ReportFlushes::new(client, reports_tx);
        client.write_all(b"abc").unwrap();
        client.flush().unwrap();
        assert_eq!(reads_rx.recv_timeout(DEFAULT_SYNC_TIMEOUT).unwrap(), 3);
        client.write_all(b"defgh").unwrap();
        client.flush().unwrap();
        assert_eq!(server.join().unwrap(), (3, 5));
    }
}
