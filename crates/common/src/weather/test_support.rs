//! What the weather's tests share: an echoing upstream, a client that sends
//! and reads back, a byte pattern, and an observed proxy.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::{Delivery, Weather, WeatherProxy};
use crate::server::{spawn_loopback, LoopbackServer};

/// Upper bound for any single wait in these tests, so a bug fails instead
/// of hangs: long enough for a loaded machine to schedule every thread.
pub(super) const TEST_TIMEOUT: Duration = crate::testing::PATIENCE;

/// An upstream that echoes every connection back as it reads it, passes
/// the half-close back when the client's stream ends, and returns what it
/// received, per connection.
pub(super) fn echo_upstream(connections: usize) -> LoopbackServer<Vec<Vec<u8>>> {
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
pub(super) fn round_trip(proxy: SocketAddr, writes: Vec<Vec<u8>>) -> Vec<u8> {
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

pub(super) fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt) ^ (i >> 8) as u8)
        .collect()
}

pub(super) type Log = Arc<Mutex<Vec<Delivery>>>;

pub(super) fn observed(upstream: SocketAddr, weather: Weather) -> (WeatherProxy, Log) {
    let log: Log = Arc::default();
    let sink = Arc::clone(&log);
    let proxy = WeatherProxy::spawn_observed(upstream, weather, move |d, bytes| {
        assert_eq!(d.piece.len, bytes.len());
        sink.lock().unwrap().push(*d);
    })
    .unwrap();
    (proxy, log)
}
