//! The server: one thread per connection, several files per connection, a
//! file only ever appears under its name after its MD5 matched.
//!
//! Everything a client sends is hostile until checked, in the order it
//! arrives: the length header (negative? over the JSON cap?), the JSON
//! (UTF-8? exactly the three fields? `put`? a plain file name? a size under
//! the limit?), the bytes (all of them, at the minimum rate?), the digest
//! (32 hex characters?). The first check that fails is logged with what to
//! fix, and the connection is closed: the protocol has no way to say "no",
//! and after a bad header the server cannot know where the next message
//! would start. Nothing is ever written under a file's name before `203`.

use crate::hashing::{to_hex, HashPipeline, PIPELINE_DEPTH, SERVER_CHUNK_SIZE};
use crate::wire::{self, read_token, TokenError, DIGEST_HEX_LEN};
use ack_handshake::{FileInfo, IncomingFile, InfoError};
use common::{Acceptor, Limits};
use length_header_fix::{read_frame, FrameError};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;

/// The largest file info JSON the server reads: a name is at most 255
/// bytes, so 64 KiB is generous, and a hostile header cannot make the server
/// allocate more than this.
pub const DEFAULT_MAX_INFO_LEN: usize = 64 * 1024;

/// The largest file the server accepts unless told otherwise: 8 GiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 8 * 1024 * 1024 * 1024;

/// Where the server's log lines go.
#[derive(Clone)]
pub struct ServerLog {
    target: LogTarget,
}

#[derive(Clone)]
enum LogTarget {
    Stderr,
    Channel(mpsc::Sender<String>),
    Quiet,
}

impl ServerLog {
    /// One line per event on standard error (the binary).
    pub fn stderr() -> Self {
        Self {
            target: LogTarget::Stderr,
        }
    }

    /// Lines into a channel (the demo and tests read them back).
    pub fn channel() -> (Self, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel();
        (
            Self {
                target: LogTarget::Channel(tx),
            },
            rx,
        )
    }

    /// No log at all (benchmarks).
    pub fn quiet() -> Self {
        Self {
            target: LogTarget::Quiet,
        }
    }

    /// Logs one line.
    pub fn line(&self, text: impl fmt::Display) {
        match &self.target {
            LogTarget::Stderr => eprintln!("{text}"),
            // A reader that went away only means nobody is listening any more.
            LogTarget::Channel(tx) => {
                let _ = tx.send(text.to_string());
            }
            LogTarget::Quiet => {}
        }
    }
}

impl fmt::Debug for ServerLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match self.target {
            LogTarget::Stderr => "stderr",
            LogTarget::Channel(_) => "channel",
            LogTarget::Quiet => "quiet",
        };
        f.debug_tuple("ServerLog").field(&target).finish()
    }
}

/// Everything the server can be told.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The folder files are saved in (created if missing).
    pub dir: PathBuf,
    /// The connection cap, the per-address share, the deadline per message,
    /// the minimum data rate for a file's bytes, the idle timeout: see
    /// [`common::accept`].
    pub limits: Limits,
    /// Largest `filesize` accepted, in bytes.
    pub max_file_size: u64,
    /// Largest file info JSON accepted, in bytes (the length header's cap).
    pub max_info_len: usize,
    /// Bytes received and hashed per step (see [`crate::hashing`]); memory
    /// per upload in progress is three times this.
    pub chunk_size: usize,
    /// Where log lines go.
    pub log: ServerLog,
}

impl ServerConfig {
    /// The defaults (common's connection limits, 8 GiB files, 64 KiB file
    /// info, log on standard error), saving into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            limits: Limits::default(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            max_info_len: DEFAULT_MAX_INFO_LEN,
            chunk_size: SERVER_CHUNK_SIZE,
            log: ServerLog::stderr(),
        }
    }
}

/// How one connection went, for the demo and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionReport {
    /// Files answered `203` and saved.
    pub verified: usize,
    /// Files answered `204` and discarded.
    pub mismatched: usize,
    /// Why the server closed the connection, when it was not the client
    /// closing cleanly between files.
    pub error: Option<String>,
}

/// Accepts connections for ever, one thread each, under
/// `config.limits`: at most so many at once (room is made by dropping the
/// connection that has waited longest without completing a message), each
/// header and JSON within the message deadline, each file's bytes at the
/// minimum rate. Every answer the server writes (`OK`, `203`, `204`) marks
/// the end of the message it answers. Returns only if the upload folder
/// cannot be created; a failed `accept` is logged and the server goes on.
///
/// Before accepting, it deletes the temporary files an earlier run left in
/// the folder when it was killed mid-upload.
pub fn serve(listener: TcpListener, config: ServerConfig) -> io::Result<()> {
    std::fs::create_dir_all(&config.dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot create the upload folder {}: {e}; pick another with --dir",
                config.dir.display()
            ),
        )
    })?;
    match IncomingFile::sweep(&config.dir) {
        Ok(0) => {}
        Ok(n) => config.log.line(format_args!(
            "deleted {n} unfinished upload(s) an earlier run left in {}",
            config.dir.display()
        )),
        Err(e) => config.log.line(format_args!(
            "could not clear old unfinished uploads from {}: {e}; carrying on",
            config.dir.display()
        )),
    }
    let log = config.log.clone();
    let acceptor = Acceptor::new(config.limits).log_with(move |line| log.line(line));
    acceptor.serve(listener, move |mut stream| {
        let peer = stream.peer();
        // Every answer is a whole message of its own; never hold one back
        // waiting for an acknowledgement.
        if let Err(e) = stream.get_ref().set_nodelay(true) {
            config
                .log
                .line(format_args!("{peer}: cannot set up the socket: {e}"));
            return;
        }
        config.log.line(format_args!("{peer}: connected"));
        handle_connection(&mut stream, &config, &peer.to_string());
        config.log.line(format_args!("{peer}: gone"));
    })
}

/// Serves one connection until the client closes it between files, or
/// until something goes wrong; logs every file and the reason for closing.
/// `peer` names the client in the log.
///
/// Generic over the stream so the demo can watch the bytes go by; the
/// caller sets timeouts on the real socket.
pub fn handle_connection<S: Read + Write>(
    stream: &mut S,
    config: &ServerConfig,
    peer: &str,
) -> ConnectionReport {
    let mut report = ConnectionReport::default();
    loop {
        match receive_one(stream, config) {
            Ok(Step::Finished) => {
                config.log.line(format_args!(
                    "{peer}: closed by the client after {} file(s)",
                    report.verified + report.mismatched
                ));
                return report;
            }
            Ok(Step::File(outcome)) => {
                config.log.line(format_args!("{peer}: {outcome}"));
                match outcome.verdict {
                    FileVerdict::Saved => report.verified += 1,
                    FileVerdict::Discarded => report.mismatched += 1,
                }
            }
            Err(refusal) => {
                config
                    .log
                    .line(format_args!("{peer}: closing the connection: {refusal}"));
                report.error = Some(refusal.to_string());
                return report;
            }
        }
    }
}

enum Step {
    /// The client closed the connection between files.
    Finished,
    /// One file went through the whole conversation.
    File(FileOutcome),
}

struct FileOutcome {
    name: String,
    size: u64,
    received_md5: String,
    client_md5: String,
    verdict: FileVerdict,
}

enum FileVerdict {
    Saved,
    Discarded,
}

impl fmt::Display for FileOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.verdict {
            FileVerdict::Saved => write!(
                f,
                "{:?}: {} bytes, md5 {} matches the client's; saved (203)",
                self.name, self.size, self.received_md5
            ),
            FileVerdict::Discarded => write!(
                f,
                "{:?}: {} bytes, md5 {} but the client's is {}; discarded, any earlier \
                 {:?} is untouched (204)",
                self.name, self.size, self.received_md5, self.client_md5, self.name
            ),
        }
    }
}

/// Why the server gave up on a connection. Each says what the client should
/// do differently, and every one of them leaves nothing behind.
#[derive(Debug)]
enum Refusal {
    Header(FrameError),
    Info(InfoError),
    TooLarge {
        name: String,
        size: u64,
        max: u64,
    },
    DataClosed {
        name: String,
        got: u64,
        size: u64,
    },
    DataIo {
        name: String,
        got: u64,
        size: u64,
        error: io::Error,
    },
    DigestClosed {
        name: String,
        got: usize,
    },
    DigestIo {
        name: String,
        error: io::Error,
    },
    NotHex {
        name: String,
        digest: Vec<u8>,
    },
    Storage {
        name: String,
        error: io::Error,
    },
    Reply(io::Error),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NOTHING: &str = "nothing was written";
        match self {
            Refusal::Header(FrameError::Io(e)) if wire::is_timeout(e) => {
                write!(f, "waiting for a file info header: {e}; {NOTHING}")
            }
            Refusal::Header(e) => write!(
                f,
                "bad file info header: {e}; a client must send a 4-byte little-endian length \
                 (struct.pack(\"i\", n)) and then that many bytes of JSON"
            ),
            Refusal::Info(e) => write!(f, "bad file info: {e}; {NOTHING}"),
            Refusal::TooLarge { name, size, max } => write!(
                f,
                "{name:?} is {size} bytes, over this server's limit of {max} bytes \
                 (--max-file-size); refused before reading any of it"
            ),
            Refusal::DataClosed { name, got, size } => write!(
                f,
                "the client closed the connection after {got} of the {size} bytes of \
                 {name:?}; the partial file was deleted, {NOTHING}"
            ),
            Refusal::DataIo {
                name,
                got,
                size,
                error,
            } if wire::is_timeout(error) => write!(
                f,
                "the client sent only {got} of the {size} bytes of {name:?} in time: {error}; \
                 the partial file was deleted, {NOTHING}"
            ),
            Refusal::DataIo {
                name,
                got,
                size,
                error,
            } => write!(
                f,
                "receiving {name:?} failed after {got} of {size} bytes: {error}; the partial \
                 file was deleted, {NOTHING}"
            ),
            Refusal::DigestClosed { name, got } => write!(
                f,
                "the client closed the connection after {got} of the {DIGEST_HEX_LEN} \
                 characters of the MD5 of {name:?}; the file was deleted, {NOTHING}"
            ),
            Refusal::DigestIo { name, error } if wire::is_timeout(error) => write!(
                f,
                "the client never sent the MD5 of {name:?}: {error}; the file was deleted, \
                 {NOTHING}"
            ),
            Refusal::DigestIo { name, error } => write!(
                f,
                "reading the MD5 of {name:?} failed: {error}; the file was deleted, {NOTHING}"
            ),
            Refusal::NotHex { name, digest } => write!(
                f,
                "the MD5 of {name:?} should be {DIGEST_HEX_LEN} hex characters, got {}; \
                 the file was deleted, {NOTHING}",
                wire::show_bytes(digest)
            ),
            Refusal::Storage { name, error } => write!(
                f,
                "cannot store {name:?} in the upload folder: {error}; check that the folder \
                 is writable and the disk is not full; {NOTHING}"
            ),
            Refusal::Reply(e) => write!(f, "cannot answer the client: {e}"),
        }
    }
}

/// Files at least this large are written to disk while they arrive, one
/// step of this many bytes at a time.
pub const WRITEBACK_STEP: u64 = 16 * 1024 * 1024;

/// Gets the disk writing while the bytes still arrive.
///
/// The server syncs a verified file before it answers `203` (a `203` is a
/// promise that the file survives a power cut). Left to the end, that sync
/// writes the whole file while the client waits (`strace -T -e fsync` on the
/// server shows how long: Linux starts writing on its own only once dirty
/// pages pass `vm.dirty_background_ratio`, 10% of memory by default, see the
/// kernel's `Documentation/admin-guide/sysctl/vm.rst`). So a helper
/// thread syncs what has been written so far every [`WRITEBACK_STEP`] bytes,
/// while the socket and the hasher keep going, and the final sync finds
/// little left to write. If the disk is slower than the network, a sync is
/// still running when the next step is due and the step is simply folded
/// into the next sync: the receiving loop never waits for the disk here.
struct Writeback {
    steps: Option<mpsc::SyncSender<()>>,
    worker: Option<thread::JoinHandle<io::Result<()>>>,
    unsynced: u64,
}

impl Writeback {
    /// A helper for a file of `size` bytes; none for a file of less than two
    /// steps, which the final sync writes quickly anyway.
    fn start(file: &std::fs::File, size: u64) -> io::Result<Self> {
        let mut writeback = Self {
            steps: None,
            worker: None,
            unsynced: 0,
        };
        if size >= 2 * WRITEBACK_STEP {
            let file = file.try_clone()?;
            let (steps, due) = mpsc::sync_channel::<()>(1);
            let worker = thread::Builder::new()
                .name("md5-upload writeback".into())
                .spawn(move || {
                    for () in due {
                        // Kept, not logged: a failed sync may not fail again
                        // later (the OS may forget the error once reported),
                        // so `finish` must hand this one on.
                        file.sync_data()?;
                    }
                    Ok(())
                })?;
            writeback.steps = Some(steps);
            writeback.worker = Some(worker);
        }
        Ok(writeback)
    }

    /// Counts `n` more bytes written, and asks for a sync once a step is full.
    fn wrote(&mut self, n: usize) {
        self.unsynced += n as u64;
        if self.unsynced >= WRITEBACK_STEP {
            if let Some(steps) = &self.steps {
                // Full means a sync is queued already; it covers these bytes.
                let _ = steps.try_send(());
            }
            self.unsynced = 0;
        }
    }

    /// Waits for the helper and reports the first sync that failed.
    fn finish(mut self) -> io::Result<()> {
        self.steps = None;
        match self.worker.take().map(thread::JoinHandle::join) {
            None => Ok(()),
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other(
                "the writeback thread stopped unexpectedly",
            )),
        }
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        // An upload that ends early stops its helper too (after at most the
        // sync in progress), so no thread outlives the connection.
        self.steps = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

// ANCHOR: receive_one
/// Reads one file's whole conversation, or learns that the client is done.
fn receive_one<S: Read + Write>(stream: &mut S, config: &ServerConfig) -> Result<Step, Refusal> {
    // 1. The length header and the JSON: stage 4's frame, capped small so a
    //    hostile header cannot make us allocate much.
    let Some(json) = read_frame(stream, config.max_info_len).map_err(Refusal::Header)? else {
        return Ok(Step::Finished);
    };
    let info = FileInfo::from_json(&json).map_err(Refusal::Info)?;
    let (name, size) = (info.filename, info.filesize);
    if size > config.max_file_size {
        return Err(Refusal::TooLarge {
            name,
            size,
            max: config.max_file_size,
        });
    }

    // 2. Exactly `size` bytes into a temporary file, hashed on the way. The
    //    temporary file is deleted when `incoming` is dropped, on every path
    //    below that does not end in `finish()`.
    let storage = |error| Refusal::Storage {
        name: name.clone(),
        error,
    };
    let mut incoming = IncomingFile::create(&config.dir, &name).map_err(storage)?;
    let mut hasher = HashPipeline::new(config.chunk_size, PIPELINE_DEPTH).map_err(storage)?;
    let mut writeback = Writeback::start(incoming.as_file(), size).map_err(storage)?;
    let mut got: u64 = 0;
    while got < size {
        // Never ask for a byte past this file: the next file's header may
        // already be behind it in the stream.
        let want = (size - got).min(config.chunk_size as u64) as usize;
        let mut buf = hasher.buffer(want).map_err(storage)?;
        let mut filled = 0;
        while filled < want {
            match stream.read(&mut buf[filled..]) {
                Ok(0) => {
                    return Err(Refusal::DataClosed {
                        name,
                        got: got + filled as u64,
                        size,
                    })
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    return Err(Refusal::DataIo {
                        name,
                        got: got + filled as u64,
                        size,
                        error,
                    })
                }
            }
        }
        incoming.write_all(&buf).map_err(storage)?;
        hasher.hash(buf).map_err(storage)?;
        got += want as u64;
        writeback.wrote(want);
    }

    // 3. "OK": all bytes are here. The hasher may still be on the last chunk;
    //    it finishes while the client's digest travels.
    stream.write_all(wire::OK).map_err(Refusal::Reply)?;
    stream.flush().map_err(Refusal::Reply)?;

    // 4. The client's digest: exactly 32 bytes, then checked to be hex.
    let mut digest = [0u8; DIGEST_HEX_LEN];
    read_token(stream, &mut digest).map_err(|e| match e {
        TokenError::Closed { got, .. } => Refusal::DigestClosed {
            name: name.clone(),
            got,
        },
        TokenError::Io(error) => Refusal::DigestIo {
            name: name.clone(),
            error,
        },
    })?;
    if !wire::is_hex_digest(&digest) {
        return Err(Refusal::NotHex {
            name,
            digest: digest.to_vec(),
        });
    }
    let received_md5 = to_hex(&hasher.finish().map_err(storage)?);
    let client_md5 = String::from_utf8_lossy(&digest).to_ascii_lowercase();

    // 5. The verdict. On a match the file is renamed into place *before*
    //    `203` goes out, so a client that sees `203` can rely on the file
    //    being there. On a mismatch, dropping `incoming` deletes it.
    let (verdict, answer) = if received_md5 == client_md5 {
        writeback.finish().map_err(storage)?;
        incoming.finish().map_err(storage)?;
        (FileVerdict::Saved, wire::VERIFIED)
    } else {
        drop(incoming);
        (FileVerdict::Discarded, wire::MISMATCH)
    };
    stream.write_all(answer).map_err(Refusal::Reply)?;
    stream.flush().map_err(Refusal::Reply)?;
    Ok(Step::File(FileOutcome {
        name,
        size,
        received_md5,
        client_md5,
        verdict,
    }))
}
// ANCHOR_END: receive_one
