//! Helpers shared by the integration tests: a server on 127.0.0.1:0 with its
//! log in a channel, raw clients that speak (or break) the protocol, and
//! deterministic test data.
#![allow(dead_code)]

use md5_upload::{serve, ServerConfig, ServerLog};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// How long any test waits for something that should happen at once.
pub use common::testing::PATIENCE;

/// The idle timeout and message deadline of a test server: a busy client
/// on a loaded machine can be kept from sending for a second or more, and
/// must not be taken for a silent or slow one.
pub const TEST_IDLE: Duration = PATIENCE;

/// The idle timeout and message deadline of the tests that wait for one to
/// fire: short, to keep them quick, and no bet on timing, since their client
/// stays silent on purpose however long the machine keeps it waiting.
pub const SHORT_IDLE: Duration = Duration::from_millis(300);

/// A server running `serve` on its own thread, saving into a fresh folder.
pub struct TestServer {
    pub addr: SocketAddr,
    pub log: Receiver<String>,
    pub seen: Vec<String>,
    pub root: tempfile::TempDir,
    pub dir: PathBuf,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// Starts a server after `tweak` adjusted the test configuration.
    pub fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("put");
        let (log, rx) = ServerLog::channel();
        let mut config = ServerConfig {
            limits: common::Limits {
                idle_timeout: TEST_IDLE,
                message_timeout: TEST_IDLE,
                ..common::Limits::default()
            },
            log,
            ..ServerConfig::new(&dir)
        };
        tweak(&mut config);
        // The thread lives until the test process ends; `serve` never returns.
        let server = common::spawn_loopback(move |listener| serve(listener, config)).unwrap();
        Self {
            addr: server.addr(),
            log: rx,
            seen: Vec::new(),
            root,
            dir,
        }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    /// Waits for a log line containing `needle` and returns it.
    pub fn wait_log(&mut self, needle: &str) -> String {
        self.wait_log_count(needle, 1)
    }

    /// Waits until `count` log lines (seen so far, in total) contain `needle`.
    pub fn wait_log_count(&mut self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let matching: Vec<&String> = self.seen.iter().filter(|l| l.contains(needle)).collect();
            if matching.len() >= count {
                return matching[count - 1].clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no {count} log line(s) containing {needle:?}; the log so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Names in the upload folder, sorted (temporary files included).
    pub fn files(&self) -> Vec<String> {
        list(&self.dir)
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap()
    }
}

pub fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// Deterministic pseudo-random bytes (xorshift), different per seed.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn md5_hex(bytes: &[u8]) -> String {
    md5_upload::hashing::md5_hex(bytes)
}

/// Header + JSON, as one write.
pub fn send_info(s: &mut TcpStream, json: &[u8]) {
    let mut frame = (json.len() as i32).to_le_bytes().to_vec();
    frame.extend_from_slice(json);
    s.write_all(&frame).unwrap();
}

pub fn info_json(name: &str, size: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"action": "put", "filename": name, "filesize": size}))
        .unwrap()
}

/// Reads exactly `n` bytes, or fewer if the server closes.
pub fn read_up_to(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    buf.truncate(got);
    buf
}

/// True when the server has closed the connection: a read ends (EOF or reset)
/// within the patience window instead of timing out.
pub fn server_closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
    false
}
