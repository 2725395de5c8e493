//! What each fix costs, measured on loopback: `cargo run --release -- costs`.
//!
//! Every figure is a real conversation through the stage's own server and
//! client on `127.0.0.1:0`, timed from the client, and the table shows the
//! median of several runs. The remote-execution figures all run `echo hi`
//! through the servers' built-in interpreter (no process is spawned, so the
//! table reads the same on every OS): a reply is one loopback round trip, and
//! what a technique adds to it is its cost.
//!
//! A loopback round trip between two threads is mostly the time it takes to
//! wake the other thread, and that varies with where the scheduler puts the
//! two: on the development machine (a 2-vCPU virtual machine) runs of 200
//! round trips gave anything from 11,000 to 99,000 a second for the same
//! stage, runs of 5,000 gave 7,800-10,500 for the naive stage and the length
//! header alike, and pinned to one CPU (`taskset -c 0`) both gave
//! 85,000-90,000. So each run is a few thousand round trips, and the naive
//! stage and the length header take turns, run after run, so that both meet
//! the same machine.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::spawn_loopback;
use common::Interpreter;

/// Arguments of `cargo run --release -- costs`.
#[derive(clap::Args, Debug, Clone)]
pub struct CostsArgs {
    /// How many times each figure is measured; the table shows the median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub runs: u32,
    /// `echo hi` round trips per run for stages 2 and 4 (a few thousand, so
    /// that a run outlasts the scheduler's moods; see the module docs). The
    /// sleep and the two-writes stall use a hundredth of this (at least 5),
    /// the ACK handshake a quarter, the stage-4 frame rows send 250 times
    /// this many frames one write each and 1,000 times this many batched,
    /// and the gallery's rows scale with a tenth of it.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    pub replies: u32,
    /// Size of the file stage 6 uploads, in MiB.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=8192))]
    pub upload_mib: u32,
}

/// One row of the table.
struct Figure {
    stage: &'static str,
    what: String,
    value: f64,
    unit: &'static str,
}

/// Measures every figure and returns the table.
pub fn run(args: &CostsArgs) -> io::Result<String> {
    let runs = args.runs as usize;
    let n = args.replies as usize;
    let slow = (n / 100).max(5);
    let mut figures = Vec::new();
    let progress = |what: &str| eprintln!("measuring: {what}");

    progress("stages 2 and 4, `echo hi` round trips, taking turns");
    let (mut naive, mut header) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        naive.push(naive_exec_rate(n)?);
        header.push(length_header_rate(n, false)?);
    }
    figures.push(Figure {
        stage: "naive-exec-sticky",
        what: "`echo hi` round trips per second (built-in echo), one read each".into(),
        value: middle(naive),
        unit: "/s",
    });
    progress("stage 3, the sleep");
    figures.push(Figure {
        stage: "sleep-fix",
        what: format!(
            "replies per second, {} ms pause (default)",
            sleep_fix::DEFAULT_PAUSE.as_millis()
        ),
        value: median(runs, || sleep_fix_rate(slow))?,
        unit: "/s",
    });
    figures.push(Figure {
        stage: "length-header-fix",
        what: "`echo hi` round trips per second, header + body in one write".into(),
        value: middle(header),
        unit: "/s",
    });
    progress("stage 4, two small writes");
    figures.push(Figure {
        stage: "length-header-fix",
        what: "`echo hi` round trips per second, header and body as two writes (stall)".into(),
        value: median(runs, || length_header_rate(slow, true))?,
        unit: "/s",
    });
    progress("stage 4, small frames one way, one write each");
    figures.push(Figure {
        stage: "length-header-fix",
        what: "16-byte frames per second one way, one writev system call per frame".into(),
        value: median(runs, || frames_one_way(n * 250, false))?,
        unit: "/s",
    });
    progress("stage 4, small frames one way, batched");
    figures.push(Figure {
        stage: "length-header-fix",
        what: "16-byte frames per second one way, write_frame into a BufWriter, one flush".into(),
        value: median(runs, || frames_one_way(n * 1_000, true))?,
        unit: "/s",
    });
    progress("tokio-length, the same frames through LengthDelimitedCodec");
    figures.push(Figure {
        stage: "tokio-length",
        what: "16-byte frames per second one way, LengthDelimitedCodec, feed + one flush".into(),
        value: median(runs, || {
            tokio_length::rows::codec_frames_one_way(200_000, 16)
        })?,
        unit: "/s",
    });
    progress("stage 5, the ACK round trip");
    figures.push(Figure {
        stage: "ack-handshake",
        what: "64-byte files per second, one round trip each".into(),
        value: median(runs, || ack_rate(n / 4))?,
        unit: "/s",
    });
    progress("stage 6, upload");
    let dir = scratch_dir()?;
    let source = dir.path().join("upload.bin");
    let size = u64::from(args.upload_mib) * 1024 * 1024;
    write_random_file(&source, size)?;
    figures.push(Figure {
        stage: "md5-upload",
        what: format!(
            "upload of a {} MiB file{}, hashed at both ends, MB/s",
            args.upload_mib,
            if memory_disk().is_some() {
                " in /dev/shm"
            } else {
                ""
            }
        ),
        value: median(runs, || upload_rate(&source, size))?,
        unit: "MB/s",
    });
    progress("the MD5 bound");
    figures.push(Figure {
        stage: "md5-upload",
        what: "MD5 of 64 MiB in memory on one core (the bound), MB/s".into(),
        value: median(runs, md5_rate)?,
        unit: "MB/s",
    });
    // Part II: every framing of the gallery, measured by the gallery crate.
    for f in framing_gallery::costs::figures(runs, (n / 10).max(1), progress)? {
        figures.push(Figure {
            stage: f.row,
            what: f.what,
            value: f.value,
            unit: f.unit,
        });
    }
    Ok(render(&figures, runs))
}

fn render(figures: &[Figure], runs: usize) -> String {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let build = if cfg!(debug_assertions) {
        "debug build: use `cargo run --release -- costs` for real figures"
    } else {
        "release build"
    };
    let mut out = format!(
        "What each fix costs, on loopback ({build}, median of {runs} runs)\n\
         Machine: {}, {cpus} CPUs, {}\n\n",
        cpu_model(),
        os_name()
    );
    let w_stage = figures.iter().map(|f| f.stage.len()).max().unwrap_or(0);
    let w_what = figures.iter().map(|f| f.what.len()).max().unwrap_or(0);
    out.push_str(&format!(
        "| {:<w_stage$} | {:<w_what$} | {:>12} |\n",
        "stage", "measured", "figure"
    ));
    out.push_str(&format!(
        "|{}|{}|{}:|\n",
        "-".repeat(w_stage + 2),
        "-".repeat(w_what + 2),
        "-".repeat(13)
    ));
    for f in figures {
        let value = if f.value >= 100.0 {
            format!("{:.0} {}", f.value, f.unit)
        } else {
            format!("{:.1} {}", f.value, f.unit)
        };
        out.push_str(&format!(
            "| {:<w_stage$} | {:<w_what$} | {:>12} |\n",
            f.stage, f.what, value
        ));
    }
    out
}

/// Runs `measure` `runs` times and returns the median.
fn median(runs: usize, mut measure: impl FnMut() -> io::Result<f64>) -> io::Result<f64> {
    let values = (0..runs)
        .map(|_| measure())
        .collect::<io::Result<Vec<f64>>>()?;
    Ok(middle(values))
}

/// The median of measured values (at least one).
fn middle(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn connect(addr: std::net::SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    Ok(stream)
}

fn naive_exec_rate(n: usize) -> io::Result<f64> {
    let server = spawn_loopback(|listener| {
        let (stream, _) = listener.accept()?;
        naive_exec_sticky::handle_connection(
            stream,
            &naive_exec_sticky::ServerConfig {
                interpreter: Interpreter::Builtin,
                ..Default::default()
            },
        )
    })?;
    let mut client = connect(server.addr())?;
    let start = Instant::now();
    for _ in 0..n {
        naive_exec_sticky::send_command(&mut client, "echo hi")?;
        naive_exec_sticky::recv_reply(&mut client)?;
    }
    let rate = per_second(n, start.elapsed());
    drop(client);
    server.join()?;
    Ok(rate)
}

fn sleep_fix_rate(n: usize) -> io::Result<f64> {
    // What is measured is the pause; on a busy machine the client may not
    // read the digits within it and the reply would glue (stage 3's lesson,
    // not a cost), so the server's writes also wait until it has.
    let client_reads = common::weather::ReadCounter::new();
    let reads = client_reads.clone();
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        sleep_fix::serve_connection(
            sleep_fix::LuckyTiming::new(stream, reads, Duration::from_secs(10)),
            &sleep_fix::ServerConfig {
                interpreter: Interpreter::Builtin,
                ..Default::default()
            },
        )
    })?;
    let client = connect(server.addr())?;
    let mut counted = client_reads.wrap(&client);
    let start = Instant::now();
    for _ in 0..n {
        sleep_fix::send_command(&client, "echo hi")?;
        sleep_fix::recv_reply(&mut counted).map_err(io::Error::other)?;
    }
    let rate = per_second(n, start.elapsed());
    drop(counted);
    drop(client);
    server.join()?;
    Ok(rate)
}

fn length_header_rate(n: usize, two_writes: bool) -> io::Result<f64> {
    let config = length_header_fix::ServerConfig {
        two_writes,
        interpreter: Interpreter::Builtin,
        ..length_header_fix::ServerConfig::default()
    };
    let server = spawn_loopback(move |listener| {
        let (mut stream, _) = listener.accept()?;
        length_header_fix::serve_connection(&mut stream, &config)
            .map(|_| ())
            .map_err(io::Error::from)
    })?;
    let mut client = connect(server.addr())?;
    let start = Instant::now();
    for _ in 0..n {
        length_header_fix::send_command(&mut client, "echo hi")?;
        length_header_fix::recv_reply(&mut client, length_header_fix::DEFAULT_MAX_FRAME)?;
    }
    let rate = per_second(n, start.elapsed());
    drop(client);
    server.join()?;
    Ok(rate)
}

/// `n` 16-byte frames one way. `batched`: through a `BufWriter`, so
/// `write_frame` only copies into its buffer and the frames leave together;
/// otherwise straight onto the socket, one `writev` per frame.
fn frames_one_way(n: usize, batched: bool) -> io::Result<f64> {
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        let mut reader = BufReader::with_capacity(64 * 1024, stream);
        let mut buf = Vec::new();
        let mut count = 0usize;
        while length_header_fix::read_frame_into(&mut reader, &mut buf, 1024)?.is_some() {
            count += 1;
        }
        Ok(count)
    })?;
    let body = [7u8; 16];
    let mut stream = connect(server.addr())?;
    let start = Instant::now();
    if batched {
        let mut writer = BufWriter::with_capacity(64 * 1024, stream);
        for _ in 0..n {
            length_header_fix::write_frame(&mut writer, &body, 1024)?;
        }
        writer.flush()?;
    } else {
        for _ in 0..n {
            length_header_fix::write_frame(&mut stream, &body, 1024)?;
        }
        drop(stream);
    }
    let received = server.join()?;
    let elapsed = start.elapsed();
    if received != n {
        return Err(io::Error::other(format!(
            "{received} of {n} frames arrived"
        )));
    }
    Ok(per_second(n, elapsed))
}

fn ack_rate(n: usize) -> io::Result<f64> {
    let dir = tempfile::tempdir()?;
    let config = ack_handshake::ServerConfig::new(dir.path());
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        ack_handshake::handle_connection(stream, &config)
            .map(|files| files.len())
            .map_err(io::Error::other)
    })?;
    let mut client = connect(server.addr())?;
    // The stage's own client advice: a file's bytes and the next info leave
    // back to back, and Nagle would hold the info (see `upload`).
    client.set_nodelay(true)?;
    let data = [b'x'; 64];
    let start = Instant::now();
    for i in 0..n {
        let name = format!("f{}.txt", i % 8);
        ack_handshake::upload(&mut client, &name, &data[..], data.len() as u64)
            .map_err(io::Error::other)?;
    }
    let elapsed = start.elapsed();
    drop(client);
    server.join()?;
    Ok(per_second(n, elapsed))
}

fn write_random_file(path: &Path, size: u64) -> io::Result<()> {
    // Random bytes from a xorshift generator: incompressible, and cheap to
    // make, so the figure is about the upload and not about making the file.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let take = left.min(block.len() as u64) as usize;
        out.write_all(&block[..take])?;
        left -= take as u64;
    }
    out.flush()
}

/// Files in memory when the system has a memory file system, so the upload
/// figure is about the protocol and the hashing, not about the disk (which
/// adds the `fsync` every saved upload pays).
fn memory_disk() -> Option<&'static Path> {
    let shm = Path::new("/dev/shm");
    shm.is_dir().then_some(shm)
}

fn scratch_dir() -> io::Result<tempfile::TempDir> {
    match memory_disk() {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
}

fn upload_rate(source: &Path, size: u64) -> io::Result<f64> {
    let dir = scratch_dir()?;
    let mut config = md5_upload::ServerConfig::new(dir.path());
    config.log = md5_upload::ServerLog::quiet();
    let server = spawn_loopback(move |listener| {
        let (mut stream, _) = listener.accept()?;
        Ok(md5_upload::handle_connection(&mut stream, &config, "costs"))
    })?;
    let mut client = connect(server.addr())?;
    let start = Instant::now();
    let receipt = md5_upload::upload(&mut client, "upload.bin", File::open(source)?, size)
        .map_err(io::Error::other)?;
    let elapsed = start.elapsed();
    drop(client);
    server.join()?;
    if receipt.verdict != md5_upload::Verdict::Verified {
        return Err(io::Error::other("the upload was not verified"));
    }
    Ok(size as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9))
}

/// The processor's name: /proc/cpuinfo on Linux, else the architecture.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Processor"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("{} processor", std::env::consts::ARCH))
}

/// The operating system and, on Linux, the kernel release.
fn os_name() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| format!(" {}", r.trim()))
        .unwrap_or_default();
    format!(
        "{}{release} ({})",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn md5_rate() -> io::Result<f64> {
    let block = vec![0x5au8; 64 * 1024 * 1024];
    let start = Instant::now();
    let digest = md5_upload::hashing::md5_hex(&block);
    let elapsed = start.elapsed();
    // Use the digest, so the hashing cannot be optimised away.
    if digest.len() != 32 {
        return Err(io::Error::other("MD5 gave a digest of the wrong length"));
    }
    Ok(block.len() as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9))
}
