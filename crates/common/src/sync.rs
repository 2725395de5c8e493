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

use std::io;
use std::net::TcpStream;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::spawn_loopback;
    use std::io::{Read, Write};

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
}
