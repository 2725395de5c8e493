//! What each framing costs on loopback, for the costs table of
//! `cargo run --release -- costs`: frames per second one way (small and
//! large frames), and the bytes each adds to a frame.
//!
//! Every figure is a real connection on `127.0.0.1:0`: the client encodes
//! into a 256 KiB buffered writer, the server decodes with a
//! [`FrameReader`] and counts the frames; the clock runs from the first
//! write to the server's last frame. Half-close pays a connection per frame,
//! so it sends fewer of them. The payload is ASCII letters, which every
//! framing can carry (lines cannot carry `\n`, and COBS costs most when there
//! is no `00` to replace).

use std::io::{self, BufWriter, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::spawn_loopback;

use crate::codec::FrameReader;
use crate::strategies::{Limits, Strategy};

/// The small and the large frame.
pub const SIZES: [usize; 2] = [16, 64 * 1024];

/// One row of the costs table.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The row's name (the strategy's [`Strategy::row_name`]).
    pub row: &'static str,
    /// What was measured, in words.
    pub what: String,
    /// The median.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
}

/// The payload of a frame of `size` bytes.
pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Bytes the strategy adds to a frame of `size` bytes.
pub fn overhead(strategy: Strategy, size: usize) -> io::Result<usize> {
    let mut out = Vec::new();
    strategy
        .encoder(&Limits::for_size(size))
        .encode(&payload(size), &mut out)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    Ok(out.len() - size)
}

/// How many frames one run sends, from the costs table's `--replies`
/// (200 by default: 100,000 small frames, 2,000 large ones, a few tens of
/// milliseconds each in a release build), and only `replies` connections
/// for half-close (each leaves a socket in `TIME_WAIT`).
pub fn frame_count(strategy: Strategy, size: usize, replies: usize) -> usize {
    match (strategy.one_message_per_connection(), size <= 1024) {
        (true, _) => replies,
        (false, true) => replies * 500,
        (false, false) => replies * 10,
    }
}

/// Frames per second of `size` bytes, `n` of them, one way (for
/// half-close, each frame a connection, which the client sees closed by the
/// server before it opens the next).
pub fn frames_per_second(strategy: Strategy, size: usize, n: usize) -> io::Result<f64> {
    let limits = Limits::for_size(size);
    let body = payload(size);
    let mut frame = Vec::new();
    strategy
        .encoder(&limits)
        .encode(&body, &mut frame)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let connections = if strategy.one_message_per_connection() {
        n
    } else {
        1
    };
    let per_connection = n / connections;
    let server = spawn_loopback(move |listener| {
        let mut count = 0usize;
        for _ in 0..connections {
            let (stream, _) = listener.accept()?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            let mut reader = FrameReader::new(stream, strategy.decoder(&limits));
            while reader.next_frame()?.is_some() {
                count += 1;
            }
        }
        Ok(count)
    })?;
    let start = Instant::now();
    for _ in 0..connections {
        let stream = TcpStream::connect(server.addr())?;
        let mut writer = BufWriter::with_capacity(256 * 1024, stream);
        for _ in 0..per_connection {
            writer.write_all(&frame)?;
        }
        writer.flush()?;
        let mut stream = writer.into_inner().map_err(|e| e.into_error())?;
        stream.shutdown(Shutdown::Write)?;
        if strategy.one_message_per_connection() {
            // Wait for the server to close its end, as a client that wants
            // to know its message arrived does. Without it the client opens
            // connections faster than the server accepts them, the accept
            // queue overflows, and a dropped SYN costs a 1 s retransmission:
            // a stall, not the cost of the framing.
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            let _ = stream.read(&mut [0u8; 1])?;
        }
    }
    let received = server.join()?;
    let elapsed = start.elapsed();
    let sent = connections * per_connection;
    if received != sent {
        return Err(io::Error::other(format!(
            "{}: {received} of {sent} frames arrived",
            strategy.name()
        )));
    }
    Ok(sent as f64 / elapsed.as_secs_f64().max(1e-9))
}

/// The median of `runs` measurements.
fn median(runs: usize, mut measure: impl FnMut() -> io::Result<f64>) -> io::Result<f64> {
    let mut values = (0..runs.max(1))
        .map(|_| measure())
        .collect::<io::Result<Vec<f64>>>()?;
    values.sort_by(f64::total_cmp);
    Ok(values[values.len() / 2])
}

/// Every strategy's rows: frames per second at each of [`SIZES`], the
/// overhead in the words of the row; `replies` scales the frame counts
/// ([`frame_count`]).
pub fn figures(runs: usize, replies: usize, progress: impl Fn(&str)) -> io::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for strategy in Strategy::ALL {
        progress(&format!("gallery, {}", strategy.name()));
        for size in SIZES {
            let n = frame_count(strategy, size, replies);
            let shown = if size >= 1024 {
                format!("{} KiB", size / 1024)
            } else {
                format!("{size}-byte")
            };
            let unit_of = if strategy.one_message_per_connection() {
                "frames (a connection each)"
            } else {
                "frames"
            };
            figures.push(Figure {
                row: strategy.row_name(),
                what: format!(
                    "{shown} {unit_of} per second, one way; +{} B a frame",
                    overhead(strategy, size)?
                ),
                value: median(runs, || frames_per_second(strategy, size, n))?,
                unit: "/s",
            });
        }
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Overheads are what the diagrams say: 0, 1, 4 and 1-byte varint, and COBS' 2 + n/254.
    #[test]
    fn overheads() {
        assert_eq!(overhead(Strategy::FixedLength, 16).unwrap(), 0);
        assert_eq!(overhead(Strategy::Lines, 16).unwrap(), 1);
        assert_eq!(overhead(Strategy::Length4, 16).unwrap(), 4);
        assert_eq!(overhead(Strategy::Varint, 16).unwrap(), 1);
        assert_eq!(overhead(Strategy::Varint, 64 * 1024).unwrap(), 3);
        assert_eq!(overhead(Strategy::Netstring, 16).unwrap(), 4);
        assert_eq!(
            overhead(Strategy::Cobs, 64 * 1024).unwrap(),
            2 + 65536 / 254
        );
        assert_eq!(overhead(Strategy::ContentLength, 16).unwrap(), 22);
        assert_eq!(overhead(Strategy::HalfClose, 16).unwrap(), 0);
    }

    /// A small measurement over a real socket counts every frame, for every strategy.
    #[test]
    fn every_strategy_delivers_every_frame() {
        for strategy in Strategy::ALL {
            for size in SIZES {
                let rate = frames_per_second(strategy, size, 4).unwrap();
                assert!(rate > 0.0, "{}", strategy.name());
            }
        }
    }
}
