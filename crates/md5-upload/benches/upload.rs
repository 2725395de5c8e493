//! Upload throughput against the MD5 bound, and peak memory.
//!
//! `cargo bench -p md5-upload` (release build). It writes a file of random
//! bytes into a temporary folder, then, round after round, times `md5sum` on
//! it and an upload of it through the real binaries over loopback (client
//! process -> server process, the server verifying and saving). It prints
//! each round, the ratio upload / md5sum, the peak resident memory (VmHWM) of
//! client and server, and finally 32 clients uploading at once.
//!
//! Environment:
//! - `MD5_UPLOAD_BENCH_BYTES`: file size (default 1 GiB);
//! - `MD5_UPLOAD_BENCH_ROUNDS`: rounds (default 3);
//! - `MD5_UPLOAD_BENCH_CLIENTS_BYTES`: file size for each of the 32
//!   concurrent clients (default 16 MiB; 0 skips that part);
//! - `MD5_UPLOAD_BENCH_DIR`: where the temporary folder goes. Default
//!   `/dev/shm` when it exists: `md5sum` only reads a cached file, so the fair
//!   comparison keeps the disk out of the upload too (the server `fsync`s
//!   every verified file, which on a real disk costs whatever the disk
//!   costs). Set it to `/tmp` to include the disk.

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
    fn finish(mut self) -> (Duration, Option<u64>, String) {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("client verdict");
        let elapsed = self.started.elapsed();
        let hwm = vm_hwm_kib(self.child.id());
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        (elapsed, hwm, line.trim().to_string())
    }
}

fn time_md5sum(path: &Path) -> Duration {
    let started = Instant::now();
    let status = Command::new("md5sum")
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("run md5sum");
    assert!(status.success(), "md5sum failed");
    started.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let size = env_u64("MD5_UPLOAD_BENCH_BYTES", 1 << 30);
    let rounds = env_u64("MD5_UPLOAD_BENCH_ROUNDS", 3).max(1);
    let clients_bytes = env_u64("MD5_UPLOAD_BENCH_CLIENTS_BYTES", 16 << 20);
    let base: PathBuf = std::env::var_os("MD5_UPLOAD_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let shm = PathBuf::from("/dev/shm");
            if shm.is_dir() {
                shm
            } else {
                std::env::temp_dir()
            }
        });
    let root = tempfile::tempdir_in(&base).expect("temporary folder");
    let source = root.path().join("random.bin");
    let put = root.path().join("put");
    println!(
        "md5-upload bench: {} MiB file in {}, {rounds} round(s)",
        size >> 20,
        base.display()
    );
    write_random_file(&source, size, 0x5eed).expect("write the random file");
    // Read it once so both contenders start from a warm page cache.
    time_md5sum(&source);

    let server = start_server(&put);
    let mut md5sums = Vec::new();
    let mut uploads = Vec::new();
    let mut client_peak = 0u64;
    for round in 1..=rounds {
        let md5 = time_md5sum(&source);
        let (up, hwm, line) = start_upload(&server.addr, &source).finish();
        assert!(line.contains("203 verified"), "upload failed: {line}");
        let _ = std::fs::remove_file(put.join("random.bin"));
        client_peak = client_peak.max(hwm.unwrap_or(0));
        println!(
            "  round {round}: md5sum {:>7.3} s   upload {:>7.3} s   ratio {:.2}   client peak {}",
            md5.as_secs_f64(),
            up.as_secs_f64(),
            up.as_secs_f64() / md5.as_secs_f64(),
            mib(hwm)
        );
        md5sums.push(md5);
        uploads.push(up);
    }
    let (md5, up) = (median(md5sums), median(uploads));
    let mb_s = size as f64 / 1e6 / up.as_secs_f64();
    println!(
        "median: md5sum {:.3} s, upload {:.3} s ({mb_s:.0} MB/s), ratio {:.2} (target <= 1.30)",
        md5.as_secs_f64(),
        up.as_secs_f64(),
        up.as_secs_f64() / md5.as_secs_f64()
    );
    println!(
        "peak memory (VmHWM): client {}, server {} (target < 32 MiB each)",
        mib(Some(client_peak)),
        mib(vm_hwm_kib(server.child.id()))
    );

    if clients_bytes > 0 {
        // 32 names for one file (hard links), so no extra disk is written
        // for the sources.
        let small = root.path().join("small.bin");
        write_random_file(&small, clients_bytes, 0xc0ffee).expect("write the small file");
        let links: Vec<PathBuf> = (0..32)
            .map(|i| {
                let link = root.path().join(format!("client{i:02}.bin"));
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
            "32 clients at once, {} MiB each: {verified}/32 verified (203) in {:.3} s; \
             client peak {}, server peak so far {}",
            clients_bytes >> 20,
            started.elapsed().as_secs_f64(),
            mib(Some(peak)),
            mib(vm_hwm_kib(server.child.id()))
        );
        assert_eq!(verified, 32, "not every concurrent upload was verified");
    }
}
