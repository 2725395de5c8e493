//! Benchmark: stage 4's framing beside tokio-util's `LengthDelimitedCodec`,
//! in the same run, on the same loopback.
//!
//! `cargo bench -p length-header-fix --bench frames` (release). For 16 B,
//! 1 KiB and 64 KiB bodies it sends frames one way through one connection and
//! counts them at the other end, round after round, the contenders
//! interleaved so a busy machine slows them alike:
//!
//! - **stage 4, batched**: [`write_frame`] into a `BufWriter` (one write per
//!   frame into the buffer, no flush), one flush at the end; the reader is
//!   [`FrameReader`], which hands each body out as a slice of its own read
//!   buffer (one copy of every byte, as `FramedRead` splits frames off its
//!   `BytesMut`);
//! - **the lesson's reader**: the same writer, read by [`read_frame_into`]
//!   behind a `BufReader`, one buffer for every frame: two copies of every
//!   byte (socket -> `BufReader` -> the frame buffer), which shows at 64 KiB;
//! - **tokio-util**: `FramedWrite` with `feed` per frame and one `flush` at
//!   the end, `FramedRead` at the other end, on a two-thread runtime; the
//!   codec set to stage 4's wire format (4-byte little-endian length);
//! - **stage 4, one write per frame**: `write_frame` straight onto the bare
//!   socket, one `writev` per frame (what a conversation does).
//!
//! Then request-reply on a bare socket (no buffering, Nagle on): a 16-byte
//! frame out, the same frame back, through today's `write_frame` + `flush`
//! and through the older copy-into-a-`Vec` + `write_all` writer, to show that
//! not flushing in `write_frame` costs a conversation nothing.
//!
//! The ratio column is the median of each round's ratio (stage 4 batched /
//! tokio-util), the bars are the ones the course sets itself: at least 1.5x
//! for small frames, where the cost per frame shows, and on par at 64 KiB,
//! where both move bytes as fast as loopback takes them.
//!
//! Environment: `FRAMES_BENCH_ROUNDS` (default 7), `FRAMES_BENCH_BYTES`
//! (bytes per run and size, default 256 MiB, at most 2 M frames).

use futures_util::{SinkExt, StreamExt};
use length_header_fix::{read_frame_into, write_frame, FrameReader, HEADER_LEN};
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

const SIZES: [usize; 3] = [16, 1024, 64 * 1024];
/// The reader's buffer: large, so small frames cost few system calls.
const BUFFER: usize = 256 * 1024;
/// The writer's buffer. A frame at least this large skips it: `BufWriter`
/// hands it straight to the socket in one `writev` instead of copying it.
const WRITE_BUFFER: usize = 64 * 1024;
const MAX: usize = 1 << 20;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `reader` on a thread against one accepted connection, `writer` on
/// this one, and returns the time until the reader has counted `n` frames.
fn one_way_std(
    n: usize,
    reader: impl FnOnce(TcpStream) -> io::Result<usize> + Send + 'static,
    writer: impl FnOnce(TcpStream) -> io::Result<()>,
) -> io::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || -> io::Result<usize> {
        let (stream, _) = listener.accept()?;
        reader(stream)
    });
    let stream = TcpStream::connect(addr)?;
    let start = Instant::now();
    writer(stream)?;
    let got = server
        .join()
        .map_err(|_| io::Error::other("reader thread panicked"))??;
    let elapsed = start.elapsed();
    if got != n {
        return Err(io::Error::other(format!("{got} of {n} frames arrived")));
    }
    Ok(elapsed)
}

fn count_frames(stream: TcpStream) -> io::Result<usize> {
    let mut reader = FrameReader::with_capacity(BUFFER, stream, MAX);
    let mut count = 0;
    while reader.next_frame()?.is_some() {
        count += 1;
    }
    Ok(count)
}

fn count_frames_lesson(stream: TcpStream) -> io::Result<usize> {
    let mut reader = BufReader::with_capacity(BUFFER, stream);
    let mut buf = Vec::new();
    let mut count = 0;
    while read_frame_into(&mut reader, &mut buf, MAX)?.is_some() {
        count += 1;
    }
    Ok(count)
}

fn stage4_batched(
    n: usize,
    body: &[u8],
    reader: fn(TcpStream) -> io::Result<usize>,
) -> io::Result<Duration> {
    one_way_std(n, reader, |stream| {
        let mut w = BufWriter::with_capacity(WRITE_BUFFER, stream);
        for _ in 0..n {
            write_frame(&mut w, body, MAX)?;
        }
        w.flush()
    })
}

fn stage4_unbuffered(n: usize, body: &[u8]) -> io::Result<Duration> {
    one_way_std(n, count_frames, |mut stream| {
        for _ in 0..n {
            write_frame(&mut stream, body, MAX)?;
        }
        Ok(())
    })
}

fn tokio_codec(rt: &tokio::runtime::Runtime, n: usize, body: &[u8]) -> io::Result<Duration> {
    let body = bytes_of(body);
    rt.block_on(async move {
        let codec = || {
            LengthDelimitedCodec::builder()
                .little_endian()
                .length_field_length(HEADER_LEN)
                .max_frame_length(MAX)
                .new_codec()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let reader = tokio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            let mut frames = FramedRead::new(stream, codec());
            let mut count = 0usize;
            while let Some(frame) = frames.next().await {
                frame?;
                count += 1;
            }
            io::Result::Ok(count)
        });
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let start = Instant::now();
        let mut sink = FramedWrite::new(stream, codec());
        for _ in 0..n {
            sink.feed(body.clone()).await?;
        }
        SinkExt::<tokio_util::bytes::Bytes>::flush(&mut sink).await?;
        drop(sink);
        let got = reader.await.map_err(io::Error::other)??;
        let elapsed = start.elapsed();
        if got != n {
            return Err(io::Error::other(format!("{got} of {n} frames arrived")));
        }
        Ok(elapsed)
    })
}

/// `Bytes` clones share one allocation, as a tokio program sending the same
/// payload would.
fn bytes_of(body: &[u8]) -> tokio_util::bytes::Bytes {
    tokio_util::bytes::Bytes::copy_from_slice(body)
}

/// The writer stage 4 had before: copy header and body into a fresh `Vec`,
/// one `write_all`, then `flush`.
fn copy_write_flush<W: Write>(w: &mut W, body: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(HEADER_LEN + body.len());
    frame.extend_from_slice(&(body.len() as i32).to_le_bytes());
    frame.extend_from_slice(body);
    w.write_all(&frame)?;
    w.flush()
}

/// `n` round trips of a 16-byte frame on a bare socket through an echoing
/// thread, each request written by `send`.
fn request_reply(
    n: usize,
    send: fn(&mut TcpStream, &[u8]) -> io::Result<()>,
) -> io::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || -> io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        let mut buf = Vec::new();
        while let Some(body) = read_frame_into(&mut stream, &mut buf, MAX)? {
            send(&mut stream, body)?;
        }
        Ok(())
    });
    let mut stream = TcpStream::connect(addr)?;
    let body = [7u8; 16];
    let mut buf = Vec::new();
    let start = Instant::now();
    for _ in 0..n {
        send(&mut stream, &body)?;
        if read_frame_into(&mut stream, &mut buf, MAX)? != Some(&body[..]) {
            return Err(io::Error::other("the echo did not come back whole"));
        }
    }
    let elapsed = start.elapsed();
    drop(stream);
    server
        .join()
        .map_err(|_| io::Error::other("echo thread panicked"))??;
    Ok(elapsed)
}

fn write_flush(w: &mut TcpStream, body: &[u8]) -> io::Result<()> {
    write_frame(w, body, MAX)?;
    w.flush()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() -> io::Result<()> {
    let rounds = env_usize("FRAMES_BENCH_ROUNDS", 7).max(1);
    let bytes = env_usize("FRAMES_BENCH_BYTES", 256 << 20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "stage 4 beside tokio-util's LengthDelimitedCodec, frames one way over loopback \
         (median of {rounds} interleaved rounds; stage 4: {} KiB BufWriter, {} KiB read buffer)",
        WRITE_BUFFER / 1024,
        BUFFER / 1024
    );
    println!(
        "{:>8} {:>10} {:>16} {:>16} {:>8} {:>16} {:>16}",
        "body",
        "frames",
        "stage 4 batched",
        "tokio-util feed",
        "ratio",
        "lesson reader",
        "stage 4 unbuf."
    );
    let mut pass = true;
    for size in SIZES {
        let n = (bytes / (size + HEADER_LEN)).clamp(1, 2_000_000);
        let body = vec![0x5a; size];
        let (mut ours, mut theirs, mut lesson, mut bare) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            // Who goes first alternates, so neither always meets the other's
            // leftovers (a socket in TIME_WAIT, a cold cache).
            if round % 2 == 0 {
                ours.push(rate(n, stage4_batched(n, &body, count_frames)?));
                theirs.push(rate(n, tokio_codec(&rt, n, &body)?));
            } else {
                theirs.push(rate(n, tokio_codec(&rt, n, &body)?));
                ours.push(rate(n, stage4_batched(n, &body, count_frames)?));
            }
            lesson.push(rate(n, stage4_batched(n, &body, count_frames_lesson)?));
            // One system call per frame is slow: a tenth of the frames does.
            let bare_n = n.min(200_000);
            bare.push(rate(bare_n, stage4_unbuffered(bare_n, &body)?));
        }
        // The median of each round's ratio: the two runs of a round are back
        // to back, so they met the same load on a shared machine.
        let ratio = median(ours.iter().zip(&theirs).map(|(o, t)| o / t).collect());
        let (ours, theirs, lesson, bare) =
            (median(ours), median(theirs), median(lesson), median(bare));
        let bar = if size <= 1024 { 1.5 } else { 0.95 };
        pass &= ratio >= bar;
        println!(
            "{:>8} {n:>10} {:>16} {:>16} {ratio:>7.2}x {:>16} {:>16}   (bar: >= {bar}x)",
            human(size),
            per_s(ours),
            per_s(theirs),
            per_s(lesson),
            per_s(bare)
        );
    }
    let trips = env_usize("FRAMES_BENCH_TRIPS", 20_000);
    let (mut now, mut before) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            now.push(rate(trips, request_reply(trips, write_flush)?));
            before.push(rate(trips, request_reply(trips, copy_write_flush)?));
        } else {
            before.push(rate(trips, request_reply(trips, copy_write_flush)?));
            now.push(rate(trips, request_reply(trips, write_flush)?));
        }
    }
    println!(
        "request-reply, 16-byte frames on a bare socket ({trips} round trips): \
         write_frame + flush {:.0}/s, copy + write_all + flush (the old writer) {:.0}/s",
        median(now),
        median(before)
    );
    println!(
        "{}",
        if pass {
            "every bar met"
        } else {
            "a bar was missed (see the ratio column)"
        }
    );
    Ok(())
}

/// Frames per second, readable at every size.
fn per_s(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M/s", rate / 1e6)
    } else {
        format!("{:.0}/s", rate)
    }
}

fn human(size: usize) -> String {
    if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}
