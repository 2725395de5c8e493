//! Forwarding one direction of one connection: read a chunk (or a
//! coalesced batch), cut it as the piece plan says, wait, write each piece,
//! tell the observer, and in lockstep wait for the reader before the next.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::lockstep::wait_until_read;
use super::plan::{Direction, Piece, PiecePlanner};
use super::proxy::{Link, Shared};

/// How much the proxy reads at once: a chunk read is the unit `--split` cuts.
const READ_CHUNK: usize = 64 * 1024;

/// The most a coalescing window holds; past it the batch is delivered early,
/// so a fast sender cannot make the proxy buffer without bound.
const MAX_BATCH: usize = 1024 * 1024;

/// How many bytes of a piece `--verbose` shows.
const PREVIEW_BYTES: usize = 24;

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

/// Runs one direction to its end; on end of stream passes the half-close on,
/// on an error cuts the whole connection so the other direction ends too.
pub(super) fn forward(id: u64, direction: Direction, link: &Link, shared: &Shared) {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::server::spawn_loopback;
    use crate::weather::Weather;
    use std::net::Shutdown;

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
}
