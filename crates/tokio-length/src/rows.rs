//! This crate's rows in the tour's tables: the story matrix (the async
//! server and client through a network weather) and the costs table (frames
//! per second one way, against stage 4's hand-written framing).

use crate::client::{framed, recv_reply, send_command};
use crate::codec::{FrameCodec, DEFAULT_MAX_FRAME};
use crate::server::{serve_connection, ServerConfig};
use crate::tap::Tap;
use common::demo::Verdict;
use common::weather::{ReadCounter, Weather, WeatherProxy};
use common::{run_command, spawn_loopback, Interpreter};
use futures_util::{SinkExt, StreamExt};
use std::io::{self, BufReader, BufWriter, Write};
use std::thread;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{FramedRead, FramedWrite};

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// One cell of the story matrix: the async server on `127.0.0.1:0`, the
/// weather proxy in front of it in exact lockstep with both ends' reads
/// (none for `None`), and the async client running `commands`, each reply
/// compared with what running the command locally prints.
pub fn weather_trial(
    weather: Option<Weather>,
    commands: &[&str],
    reply_timeout: Duration,
) -> io::Result<Verdict> {
    // The built-in set, as every demo: the same bytes on every OS.
    let config = ServerConfig {
        interpreter: Interpreter::Builtin,
        ..ServerConfig::default()
    };
    let expected = commands
        .iter()
        .map(|c| run_command(c, config.interpreter, config.limits).map(|o| o.reply()))
        .collect::<io::Result<Vec<_>>>()?;
    runtime()?.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server_addr = listener.local_addr()?;
        let server_reads = ReadCounter::new();
        let client_reads = ReadCounter::new();
        let counter = server_reads.clone();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            // Counted reads, so that the proxy delivers its next piece
            // only once the previous one was read (lockstep).
            let stream = Tap::new(stream).on_read(move |n| counter.add(n));
            serve_connection(stream, &config)
                .await
                .map_err(io::Error::from)
        });
        let (addr, _proxy) = match weather {
            None => (server_addr, None),
            Some(weather) => {
                let proxy = WeatherProxy::spawn_gated(
                    server_addr,
                    weather,
                    client_reads.clone(),
                    server_reads,
                    |_, _| {},
                )?;
                (proxy.addr(), Some(proxy))
            }
        };
        let stream = TcpStream::connect(addr).await?;
        // As in the matrix's other clients: Nagle is not what the table is about.
        stream.set_nodelay(true)?;
        let mut conn = framed(
            Tap::new(stream).on_read(move |n| client_reads.add(n)),
            DEFAULT_MAX_FRAME,
        );
        for (i, (command, want)) in commands.iter().zip(&expected).enumerate() {
            send_command(&mut conn, command).await?;
            let verdict = match tokio::time::timeout(reply_timeout, recv_reply(&mut conn)).await {
                Ok(Ok(reply)) if &reply == want => continue,
                Ok(Ok(_)) => format!("reply {} wrong", i + 1),
                Ok(Err(e)) => format!("reply {}: {e}", i + 1),
                Err(_) => format!("reply {} never came", i + 1),
            };
            return Ok(Verdict::Broken(verdict));
        }
        drop(conn);
        match tokio::time::timeout(reply_timeout, server).await {
            Ok(Ok(Ok(_))) => Ok(Verdict::Intact),
            Ok(Ok(Err(e))) => Ok(Verdict::Broken(format!("server: {e}"))),
            Ok(Err(e)) => Ok(Verdict::Broken(format!("server task: {e}"))),
            Err(_) => Ok(Verdict::Broken("server never saw the close".into())),
        }
    })
}

/// Buffer sizes of both one-way measurements, stage 4's costs row's: 256 KiB
/// of buffering on each side, so both sides make few system calls and the
/// figure is about the framing.
const BUFFER: usize = 256 * 1024;

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn short(received: usize, n: usize) -> io::Result<()> {
    if received == n {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{received} of {n} frames arrived"
        )))
    }
}

/// Frames per second, one way, through `LengthDelimitedCodec`: `n` frames
/// of `body_len` bytes written with `feed` (encode into the write buffer,
/// flushed only when it passes 256 KiB) and one `flush` at the end, read by
/// a `FramedRead` on another thread, each end on a current-thread runtime of
/// its own, as stage 4's measurement has one thread for each end.
pub fn codec_frames_one_way(n: usize, body_len: usize) -> io::Result<f64> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || -> io::Result<usize> {
        runtime()?.block_on(async move {
            listener.set_nonblocking(true)?;
            let listener = TcpListener::from_std(listener)?;
            let (stream, _) = listener.accept().await?;
            let mut frames =
                FramedRead::with_capacity(stream, FrameCodec::new(DEFAULT_MAX_FRAME), BUFFER);
            let mut count = 0;
            while let Some(frame) = frames.next().await {
                frame?;
                count += 1;
            }
            Ok(count)
        })
    });
    let body = vec![7u8; body_len];
    let start = Instant::now();
    runtime()?.block_on(async {
        let stream = TcpStream::connect(addr).await?;
        let mut sink = FramedWrite::new(stream, FrameCodec::new(DEFAULT_MAX_FRAME));
        sink.set_backpressure_boundary(BUFFER);
        for _ in 0..n {
            sink.feed(&body[..]).await?;
        }
        sink.flush().await?;
        Ok::<_, io::Error>(())
    })?;
    let received = server
        .join()
        .map_err(|_| io::Error::other("the reading thread panicked"))??;
    let elapsed = start.elapsed();
    short(received, n)?;
    Ok(per_second(n, elapsed))
}

/// The same measurement with stage 4's hand-written framing (`write_frame`
/// into a `BufWriter`, `read_frame` from a `BufReader`, 256 KiB each): the
/// figure [`codec_frames_one_way`] is compared with.
pub fn stage4_frames_one_way(n: usize, body_len: usize) -> io::Result<f64> {
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        let mut reader = BufReader::with_capacity(BUFFER, stream);
        let mut count = 0usize;
        while length_header_fix::read_frame(&mut reader, DEFAULT_MAX_FRAME)?.is_some() {
            count += 1;
        }
        Ok(count)
    })?;
    let body = vec![7u8; body_len];
    let stream = std::net::TcpStream::connect(server.addr())?;
    let start = Instant::now();
    let mut writer = BufWriter::with_capacity(BUFFER, stream);
    for _ in 0..n {
        length_header_fix::write_frame(&mut writer, &body, DEFAULT_MAX_FRAME)?;
    }
    writer.flush()?;
    drop(writer);
    let received = server.join()?;
    let elapsed = start.elapsed();
    short(received, n)?;
    Ok(per_second(n, elapsed))
}
