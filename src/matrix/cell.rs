//! The network of one cell: the stage's server on `127.0.0.1:0`, the
//! weather proxy in lockstep in front of it (except in the first column),
//! and the proxy's record of every piece it delivered. Kept apart from the
//! trials because every stage's trial builds the same network, and the
//! record is what lets a trial name what a one-read end received.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::weather::{Counted, Direction, ReadCounter, WeatherProxy};
use common::{spawn_loopback, LoopbackServer};

use super::{Column, REPLY_TIMEOUT};

/// One piece the proxy delivered.
struct Delivered {
    direction: Direction,
    offset: u64,
    bytes: Vec<u8>,
}

/// Where a cell's client connects, and what the proxy (if any) delivered.
pub(super) struct Route {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Delivered>>>,
    client_reads: ReadCounter,
    server_reads: ReadCounter,
    /// Kept running for the cell's lifetime; `None` in the first column.
    proxy: Option<WeatherProxy>,
}

/// Starts one cell's network: the stage's server (`serve`, given the one
/// connection it will get, its reads counted) and, for a weather column, a
/// proxy in exact lockstep with both ends' reads.
pub(super) fn cell<T, F>(column: &Column, serve: F) -> io::Result<(Route, LoopbackServer<T>)>
where
    F: FnOnce(Counted<TcpStream>) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    cell_with_client_reads(column, ReadCounter::new(), serve)
}

/// [`cell`], with the counter of the client's reads made beforehand, for a
/// server that needs to know how far the client has read.
pub(super) fn cell_with_client_reads<T, F>(
    column: &Column,
    client_reads: ReadCounter,
    serve: F,
) -> io::Result<(Route, LoopbackServer<T>)>
where
    F: FnOnce(Counted<TcpStream>) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let server_reads = ReadCounter::new();
    let counter = server_reads.clone();
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        serve(counter.wrap(stream))
    })?;
    let log = Arc::new(Mutex::new(Vec::new()));
    let Some(weather) = column.weather.clone() else {
        let route = Route {
            addr: server.addr(),
            log,
            client_reads,
            server_reads,
            proxy: None,
        };
        return Ok((route, server));
    };
    let sink = Arc::clone(&log);
    let proxy = WeatherProxy::spawn_gated(
        server.addr(),
        weather,
        client_reads.clone(),
        server_reads.clone(),
        move |delivery, bytes| {
            if let Ok(mut log) = sink.lock() {
                log.push(Delivered {
                    direction: delivery.direction,
                    offset: delivery.offset,
                    bytes: bytes.to_vec(),
                });
            }
        },
    )?;
    let route = Route {
        addr: proxy.addr(),
        log,
        client_reads,
        server_reads,
        proxy: Some(proxy),
    };
    Ok((route, server))
}

impl Route {
    pub(super) fn connect(&self) -> io::Result<Counted<TcpStream>> {
        let stream = TcpStream::connect(self.addr)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        // The clients' own small writes should leave at once, as in the
        // stages' two-terminal clients; Nagle is not what this table is about.
        stream.set_nodelay(true)?;
        Ok(self.client_reads.wrap(stream))
    }

    /// The piece that started at stream `offset` in `direction`: under
    /// lockstep, exactly what one read of the receiver returned there.
    pub(super) fn piece_at(&self, direction: Direction, offset: usize) -> Option<Vec<u8>> {
        self.wait_for_record(direction);
        let log = self.log.lock().ok()?;
        log.iter()
            .find(|d| d.direction == direction && d.offset == offset as u64)
            .map(|d| d.bytes.clone())
    }

    /// Waits until the proxy's record holds every piece the receiver in
    /// `direction` has read. The proxy records a piece just after writing
    /// it, so on a loaded machine the receiver can read it, answer, and the
    /// trial look for it before it is recorded; a piece that was read is
    /// recorded a moment later, bounded by [`REPLY_TIMEOUT`].
    fn wait_for_record(&self, direction: Direction) {
        if self.proxy.is_none() {
            return;
        }
        let reader = match direction {
            Direction::ClientToUpstream => &self.server_reads,
            Direction::UpstreamToClient => &self.client_reads,
        };
        let recorded = || -> u64 {
            self.log.lock().map_or(0, |log| {
                log.iter()
                    .filter(|d| d.direction == direction)
                    .map(|d| d.bytes.len() as u64)
                    .sum()
            })
        };
        let deadline = Instant::now() + REPLY_TIMEOUT;
        while recorded() < reader.total() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// When the message of `len` bytes at `offset` reached the server cut,
    /// the part a one-read server took for the whole message.
    pub(super) fn cut_request(&self, offset: usize, len: usize) -> Option<Vec<u8>> {
        self.piece_at(Direction::ClientToUpstream, offset)
            .filter(|piece| piece.len() < len)
    }
}
