//! Upload time against `md5sum` of the same file, in memory and on a disk,
//! and peak memory.
//!
//! `cargo bench -p md5-upload` (release build). It writes a file of random
//! bytes into two places: a folder in memory (`/dev/shm`) and a folder on a
//! real disk (the build's `target/tmp`, so the project's own file system).
//! Then, round after round, interleaved so a busy machine slows every
//! contender alike, it times `md5sum` of each copy and an upload of it
//! through the real binaries over loopback (client process -> server process
//! saving into the same place, verifying, syncing to disk before `203`). It
//! prints each round, the median of the rounds' ratios upload / md5sum for
//! each place against its bar (1.15 in memory, 1.30 on disk), the peak
//! resident memory (VmHWM) of client and server, and finally 32 clients
//! uploading at once.
//!
//! Each round also shows the CPU seconds each side used (from /proc, Linux):
//! on a machine other work is loading, the wall-clock ratio says as much
//! about the neighbours as about the upload, the CPU seconds do not.
//!
//! The floor, on two cores: both ends hash every byte, each on its own core,
//! while `md5sum` hashes once on one core; what the upload adds is the copies
//! (file -> client -> socket -> server -> file) and the final sync.
//!
//! Environment:
//! - `MD5_UPLOAD_BENCH_BYTES`: file size (default 512 MiB);
//! - `MD5_UPLOAD_BENCH_ROUNDS`: rounds (default 3);
//! - `MD5_UPLOAD_BENCH_CLIENTS_BYTES`: file size for each of the 32
//!   concurrent clients (default 16 MiB; 0 skips that part);
//! - `MD5_UPLOAD_BENCH_MEM_DIR` (default `/dev/shm` where it exists) and
//!   `MD5_UPLOAD_BENCH_DISK_DIR` (default the build's `target/tmp`): where
//!   the two temporary folders go; an empty value skips that place.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_md5-upload");

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes `size` pseudo-random bytes (xorshift: incompressible enough, fast).
fn write_random_file(path: &Path, size: u64, seed: u64) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut x = seed | 1;
    let mut left = size;
    let mut block = vec![0u8; 1 << 20];
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    file.flush()
}

/// Peak resident memory of a live process, from /proc (Linux).
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time from /proc/PID/stat (Linux), in seconds: the process's own
/// user + system time (all its threads), and that of its waited-for children.
/// Clock ticks are taken as USER_HZ = 100, which Linux uses on every common
/// architecture.
fn cpu_seconds(pid: &str) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<u64> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let tick = |i: usize| fields.get(i).copied().unwrap_or(0) as f64 / 100.0;
    // utime, stime, cutime, cstime are fields 14-17: indexes 10-13 here.
    Some((tick(10) + tick(11), tick(12) + tick(13)))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    })
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(dir: &Path) -> Server {
    let mut child = Command::new(BIN)
        .args(["server", "--addr", "127.0.0.1:0", "--dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server binary");
    let mut stderr = BufReader::new(child.stderr.take().expect("server stderr"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("server's first line");
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in stderr.lines() {});
    Server { child, addr }
}

/// A client process with one `put` line sent; `finish` waits for its verdict.
struct Upload {
    child: Child,
    stdout: BufReader<ChildStdout>,
    started: Instant,
}

fn start_upload(addr: &str, path: &Path) -> Upload {
    let mut child = Command::new(BIN)
        .args(["client", "--addr", addr, "--no-progress"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the client binary");
    let started = Instant::now();
    let stdin = child.stdin.as_mut().expect("client stdin");
    writeln!(stdin, "put {}", path.display()).expect("write the put line");
    let stdout = BufReader::new(child.stdout.take().expect("client stdout"));
    Upload {
        child,
        stdout,
        started,
    }
}

impl Upload {
    /// Waits for the verdict line; returns the time, the client's peak memory
    /// (read while the client waits for its next line) and the line.
    fn finish(self) -> (Duration, Option<u64>, String) {
        let (elapsed, hwm, _, line) = self.finish_with_cpu();
        (elapsed, hwm, line)
    }

    /// [`Upload::finish`], and the client's CPU seconds.
    fn finish_with_cpu(mut self) -> (Duration, Option<u64>, f64, String) {
        // The client marks the replies it got on a line of its own before
        // the verdict (`── replies to ...`); the verdict is the line that
        // names it, and a client that ends without one has failed.
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.stdout.read_line(&mut line).expect("client output");
            if n == 0 || line.contains("203 verified") || line.contains("204 checksum") {
                break;
            }
        }
        let elapsed = self.started.elapsed();
        let hwm = vm_hwm_kib(self.child.id());
        let cpu = cpu_seconds(&self.child.id().to_string()).map_or(0.0, |c| c.0);
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        (elapsed, hwm, cpu, line.trim().to_string())
    }
}

fn time_md5sum(path: &Path) -> Duration {
    time_md5sum_with_cpu(path).0
}

/// `md5sum`'s wall time and CPU seconds (this process's waited-for children
/// before and after it).
fn time_md5sum_with_cpu(path: &Path) -> (Duration, f64) {
    let before = cpu_seconds("self").map_or(0.0, |c| c.1);
    let started = Instant::now();
    let status = Command::new("md5sum")
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("run md5sum");
    assert!(status.success(), "md5sum failed");
    let elapsed = started.elapsed();
    let after = cpu_seconds("self").map_or(0.0, |c| c.1);
    (elapsed, after - before)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The file system a path is on, from /proc/self/mounts (Linux), so the
/// report says whether "disk" really was one.
fn fs_type(path: &Path) -> String {
    let Ok(path) = path.canonicalize() else {
        return "unknown".into();
    };
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return "unknown".into();
    };
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, point, kind) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(point)
                .then(|| (point.len(), kind.to_string()))
        })
        .max()
        .map_or("unknown".into(), |(_, kind)| kind)
}

/// One place the files live: its source file, its server, its timings.
struct Place {
    label: &'static str,
    bar: f64,
    _root: tempfile::TempDir,
    source: PathBuf,
    put: PathBuf,
    server: Server,
    md5sums: Vec<Duration>,
    uploads: Vec<Duration>,
    client_peak: u64,
}

fn place(label: &'static str, bar: f64, base: &Path, size: u64) -> Place {
    std::fs::create_dir_all(base).expect("create the base folder");
    let root = tempfile::tempdir_in(base).expect("temporary folder");
    let source = root.path().join("random.bin");
    let put = root.path().join("put");
    println!("  {label}: {} ({})", base.display(), fs_type(root.path()));
    write_random_file(&source, size, 0x5eed).expect("write the random file");
    // Read it once so both contenders start from a warm page cache.
    time_md5sum(&source);
    let server = start_server(&put);
    Place {
        label,
        bar,
        _root: root,
        source,
        put,
        server,
        md5sums: Vec::new(),
        uploads: Vec::new(),
        client_peak: 0,
    }
}

fn dir_from_env(name: &str, default: Option<PathBuf>) -> Option<PathBuf> {
    match std::env::var_os(name) {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => default,
    }
}

fn main() {
    let size = env_u64("MD5_UPLOAD_BENCH_BYTES", 512 << 20);
    let rounds = env_u64("MD5_UPLOAD_BENCH_ROUNDS", 3).max(1);
    let clients_bytes = env_u64("MD5_UPLOAD_BENCH_CLIENTS_BYTES", 16 << 20);
    let shm = PathBuf::from("/dev/shm");
    let mem = dir_from_env("MD5_UPLOAD_BENCH_MEM_DIR", shm.is_dir().then_some(shm));
    let disk = dir_from_env(
        "MD5_UPLOAD_BENCH_DISK_DIR",
        Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR"))),
    );
    println!(
        "md5-upload bench: {} MiB file, {rounds} round(s), upload / md5sum of the same file",
        size >> 20
    );
    let mut places = Vec::new();
    if let Some(dir) = mem {
        places.push(place("memory", 1.15, &dir, size));
    }
    if let Some(dir) = disk {
        places.push(place("disk", 1.30, &dir, size));
    }
    for round in 1..=rounds {
        for p in &mut places {
            let (md5, md5_cpu) = time_md5sum_with_cpu(&p.source);
            let server_pid = p.server.child.id().to_string();
            let server_before = cpu_seconds(&server_pid).map_or(0.0, |c| c.0);
            let (up, hwm, client_cpu, line) =
                start_upload(&p.server.addr, &p.source).finish_with_cpu();
            let server_cpu = cpu_seconds(&server_pid).map_or(0.0, |c| c.0) - server_before;
            assert!(line.contains("203 verified"), "upload failed: {line}");
            let _ = std::fs::remove_file(p.put.join("random.bin"));
            p.client_peak = p.client_peak.max(hwm.unwrap_or(0));
            println!(
                "  round {round}, {:>6}: md5sum {:>6.3} s   upload {:>6.3} s   ratio {:.2}   \
                 CPU s: md5sum {md5_cpu:.2}, client {client_cpu:.2} + server {server_cpu:.2}   \
                 client peak {}",
                p.label,
                md5.as_secs_f64(),
                up.as_secs_f64(),
                up.as_secs_f64() / md5.as_secs_f64(),
                mib(hwm)
            );
            p.md5sums.push(md5);
            p.uploads.push(up);
        }
    }
    for p in &places {
        let (md5, up) = (median(p.md5sums.clone()), median(p.uploads.clone()));
        // The median of each round's ratio: the two runs of a round are
        // back to back, so they met the same load on a shared machine.
        let mut ratios: Vec<f64> = p
            .md5sums
            .iter()
            .zip(&p.uploads)
            .map(|(m, u)| u.as_secs_f64() / m.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let ratio = ratios[ratios.len() / 2];
        let mb_s = size as f64 / 1e6 / up.as_secs_f64();
        println!(
            "median, {}: md5sum {:.3} s, upload {:.3} s ({mb_s:.0} MB/s), ratio {ratio:.2} \
             (bar <= {:.2}: {}); peak memory (VmHWM) client {}, server {} (bar < 32 MiB each)",
            p.label,
            md5.as_secs_f64(),
            up.as_secs_f64(),
            p.bar,
            if ratio <= p.bar { "met" } else { "missed" },
            mib(Some(p.client_peak)),
            mib(vm_hwm_kib(p.server.child.id()))
        );
    }

    let Some(first) = places.first() else {
        return;
    };
    let (root, server) = (
        first
            .source
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        &first.server,
    );
    if clients_bytes > 0 {
        // 32 names for one file (hard links), so no extra disk is written
        // for the sources.
        let small = root.join("small.bin");
        write_random_file(&small, clients_bytes, 0xc0ffee).expect("write the small file");
        let links: Vec<PathBuf> = (0..32)
            .map(|i| {
                let link = root.join(format!("client{i:02}.bin"));
                std::fs::hard_link(&small, &link).expect("hard link");
                link
            })
            .collect();
        let started = Instant::now();
        let running: Vec<Upload> = links
            .iter()
            .map(|l| start_upload(&server.addr, l))
            .collect();
        let mut verified = 0;
        let mut peak = 0u64;
        for upload in running {
            let (_, hwm, line) = upload.finish();
            verified += usize::from(line.contains("203 verified"));
            peak = peak.max(hwm.unwrap_or(0));
        }
        println!(
            "32 clients at once, {} MiB each, {}: {verified}/32 verified (203) in {:.3} s; \
             client peak {}, server peak so far {}",
            clients_bytes >> 20,
            first.label,
            started.elapsed().as_secs_f64(),
            mib(Some(peak)),
            mib(vm_hwm_kib(server.child.id()))
        );
        assert_eq!(verified, 32, "not every concurrent upload was verified");
    }
}
