//! Stage 5, `ack-handshake`: upload files with JSON file info, wait for the
//! server's `200`, then send the bytes.
//!
//! # The lesson
//!
//! Stage 2 showed that two writes can arrive glued in one read (粘包, sticky).
//! An upload sends two things per file, a description and the file's bytes;
//! sent back to back they would glue, and the server could not tell where the
//! description ends. The classic fix this stage teaches is a **handshake**:
//! the client sends the description, then *waits* until the server answers
//! `200`, and only then sends the bytes. While the client waits, nothing is
//! behind the description in the stream, so the server's read cannot return
//! the two glued. After the bytes the client may send the next file's
//! description right away: the server knows the file's size and reads exactly
//! that many bytes, never one more, so the next description stays in the
//! socket for the next read.
//!
//! # Wire format (per file, several files on one connection)
//!
//! ```text
//! client -> server   {"action":"put","filename":NAME,"filesize":N}   no length prefix
//! server -> client   200                                              3 bytes
//! client -> server   exactly N bytes of the file
//! ```
//!
//! The server takes the file info from **one read of up to 1,024 bytes**
//! ([`INFO_READ_SIZE`]), like the classic Python server's `conn.recv(1024)`.
//! End of stream where a file info would start closes the connection cleanly.
//!
//! # The known weakness
//!
//! The handshake fixes gluing *behind* the file info, but the info itself is
//! still taken from a single read. Nothing guarantees that one read returns one
//! whole message: a network that delivers the JSON in two pieces makes the
//! server see half a JSON ("cut in half", 拆包), and a client that does not wait
//! for `200` makes it see the JSON glued to the file's bytes. The demo shows
//! both, deterministically, with the boundary timeline. And it costs one round
//! trip per file. Note too what `200` answers: the file *info*. Nothing
//! answers the file's bytes, so a client cannot tell whether its last file was
//! saved, or arrived intact. Stage 6 (`md5-upload`) puts a length header in front of the
//! JSON and reads every piece with a read-exactly loop.
//!
//! # Receiving safely
//!
//! The classic server writes to `os.path.join(dir, filename)`, which lets a
//! client write anywhere (`../../.bashrc`). Here the name must be one plain
//! file name ([`validate_filename`]), the size is capped
//! ([`ServerConfig::max_file_size`]), and the bytes go to a temporary file that
//! is renamed into place only once complete ([`IncomingFile`]): a client that
//! vanishes mid-file leaves nothing under the final name and never damages an
//! existing file. Any refusal closes that one connection; the server goes on.
//!
//! # Layout: which item shows which idea
//!
//! - [`file_info`]: the JSON ([`FileInfo`]) and the file-name rules
//!   ([`validate_filename`]); stage 6 reuses both.
//! - [`incoming`]: [`IncomingFile`], receiving into a temporary file; stage 6
//!   reuses it.
//! - [`receive_file`]: **the server's side of the lesson**: one read for the
//!   info, `200`, then exactly N bytes with [`Read::take`].
//! - [`handle_connection`] and [`serve`]: several files per connection, a
//!   thread per connection, a log line per file or refusal.
//! - [`upload`] and [`upload_file`]: **the client's side**: info, wait for
//!   `200`, bytes.
//! - [`info_shape`]: how the server tells a cut JSON from a glued one, so its
//!   log names the weakness when it strikes.
//! - [`demo`]: the scripted demo ([`demo_transcript`]) with its boundary
//!   timelines; the synchronisation that keeps it identical on every run
//!   lives there, away from the lesson code.

pub mod demo;
pub mod file_info;
pub mod incoming;

pub use demo::{demo_transcript, demo_transcript_in};
pub use file_info::{validate_filename, FileInfo, InfoError, NameError, MAX_NAME_LEN};
pub use incoming::IncomingFile;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::netio::is_hang_up;
use common::{Acceptor, Guarded, Limits};

/// The most bytes the server's single read for a file info returns, like
/// Python's `conn.recv(1024)`.
pub const INFO_READ_SIZE: usize = 1024;

/// The server's answer that lets the client send the file's bytes.
pub const ACK: &[u8; 3] = b"200";

/// The classic tutorial's upload address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The folder uploads go to unless `--dir` says otherwise.
pub const DEFAULT_DIR: &str = "put";

/// Files larger than this are refused unless `--max-file-size` says
/// otherwise: 1 GiB, so that a typo in a client cannot fill the disk.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1024 * 1024 * 1024;

/// How long the command-line client waits for `200`, or for the server to
/// take more bytes, before it gives up instead of hanging.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// File bytes are copied in pieces of this size: never the whole file in memory.
const COPY_CHUNK: usize = 64 * 1024;

/// The copy buffer for a file of `size` bytes: no larger than the file (a
/// small file costs a small buffer), at least 1 byte, at most [`COPY_CHUNK`].
/// Computed without `as`, which would wrap a size over 4 GiB on 32-bit.
fn chunk_len(size: u64) -> usize {
    usize::try_from(size).map_or(COPY_CHUNK, |n| n.clamp(1, COPY_CHUNK))
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// Where and how much the server receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// The folder files are saved into (created if missing).
    pub dir: PathBuf,
    /// Larger files are refused before a single byte of them is read.
    pub max_file_size: u64,
}

impl ServerConfig {
    /// Saves into `dir`, with the default size cap.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

impl Default for ServerConfig {
    /// `put` in the current directory, files up to 1 GiB.
    fn default() -> Self {
        Self::new(DEFAULT_DIR)
    }
}

/// A file the server received completely and saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Its plain file name, as the client sent it.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where it was saved.
    pub path: PathBuf,
}

/// What the bytes of the one read look like when they are not acceptable
/// file info: the two ways this stage's single read goes wrong, or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoShape {
    /// The start of a JSON value that stops before its end: the read returned
    /// only part of the message (split, 拆包).
    Cut,
    /// A complete JSON value followed by more bytes: the read returned the file
    /// info glued to whatever came after it (sticky, 粘包).
    Glued {
        /// Bytes of the JSON value.
        json_len: usize,
        /// Bytes after it.
        extra: usize,
    },
    /// Neither: not JSON at all, or JSON with the wrong fields.
    Other,
}

/// Tells a cut JSON from a glued one, so that the server's log names the
/// weakness of this stage when it strikes instead of only saying "bad JSON".
pub fn info_shape(bytes: &[u8]) -> InfoShape {
    // A stream deserializer stops after the first complete value and says
    // where it stopped; a plain `from_slice` would only say "trailing characters".
    let mut values =
        serde_json::Deserializer::from_slice(bytes).into_iter::<serde::de::IgnoredAny>();
    match values.next() {
        Some(Ok(_)) => {
            let end = values.byte_offset();
            let rest = &bytes[end.min(bytes.len())..];
            if rest.iter().all(u8::is_ascii_whitespace) {
                InfoShape::Other
            } else {
                InfoShape::Glued {
                    json_len: end,
                    extra: bytes.len() - end,
                }
            }
        }
        Some(Err(e)) if e.is_eof() => InfoShape::Cut,
        _ => InfoShape::Other,
    }
}

/// Why the server closed a connection before the client had finished.
/// Every variant means: nothing was saved for the file in question.
#[derive(Debug)]
pub enum ReceiveError {
    /// The socket failed.
    Io(io::Error),
    /// The one read's bytes are not acceptable file info.
    Info {
        /// What is wrong with them.
        error: InfoError,
        /// Whether they look cut or glued.
        shape: InfoShape,
        /// How many bytes the one read returned.
        read_len: usize,
    },
    /// The file is larger than [`ServerConfig::max_file_size`].
    TooLarge {
        /// Its name.
        name: String,
        /// The size the client announced.
        size: u64,
        /// The server's cap.
        max: u64,
    },
    /// The client closed the connection before all the file's bytes arrived.
    Truncated {
        /// Its name.
        name: String,
        /// Bytes that arrived.
        got: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// The file could not be written into the upload folder.
    Save {
        /// Its name.
        name: String,
        /// The upload folder.
        dir: PathBuf,
        /// What the file system said.
        error: io::Error,
    },
}

impl fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceiveError::Io(e) => write!(f, "the connection failed: {e}"),
            ReceiveError::Info {
                error,
                shape,
                read_len,
            } => {
                // For a cut or glued JSON the boundary is the story; the
                // parser's own words come last, as evidence.
                let detail = match error {
                    InfoError::BadJson(detail) => detail.clone(),
                    other => other.to_string(),
                };
                match shape {
                    InfoShape::Cut => write!(
                        f,
                        "refused the file info: JSON cut in half: the one read returned \
                         {read_len} bytes and the JSON does not end in them (a split message, \
                         拆包); the JSON parser says: {detail}"
                    ),
                    InfoShape::Glued { json_len, extra } => write!(
                        f,
                        "refused the file info: JSON glued to what follows: the one read \
                         returned {json_len} bytes of JSON and {extra} more bytes (a sticky \
                         read, 粘包): did the client send the file's bytes without waiting for \
                         200? The JSON parser says: {detail}"
                    ),
                    InfoShape::Other if *read_len == INFO_READ_SIZE => write!(
                        f,
                        "refused the file info: the one read is full ({INFO_READ_SIZE} bytes), \
                         so the info may be longer than this stage can take: {error}"
                    ),
                    // A name error already starts with "refused file name".
                    InfoShape::Other if matches!(error, InfoError::BadName(_)) => {
                        write!(f, "{error}")
                    }
                    InfoShape::Other => write!(f, "refused the file info: {error}"),
                }
            }
            ReceiveError::TooLarge { name, size, max } => write!(
                f,
                "refused {name}: {size} bytes is over this server's limit of {max} bytes \
                 (start the server with a larger --max-file-size to accept it)"
            ),
            ReceiveError::Truncated {
                name,
                got,
                expected,
            } => write!(
                f,
                "the client closed the connection after {got} of {expected} bytes of {name}; \
                 the partial file was discarded (an earlier {name}, if any, is untouched)"
            ),
            ReceiveError::Save { name, dir, error } => {
                write!(f, "could not save {name} in {}: {error}", dir.display())
            }
        }
    }
}

impl std::error::Error for ReceiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReceiveError::Io(e) | ReceiveError::Save { error: e, .. } => Some(e),
            ReceiveError::Info { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for ReceiveError {
    fn from(e: io::Error) -> Self {
        ReceiveError::Io(e)
    }
}

// ANCHOR: receive_file
/// Receives one file: **the server's side of the lesson**.
///
/// One read of up to [`INFO_READ_SIZE`] bytes is taken as the file info
/// (that single read is this stage's weakness), the info is checked, `200` is
/// answered, and then exactly `filesize` bytes are read through
/// [`Read::take`]: never one more, because the client may already have sent
/// the next file's info behind them. Returns `Ok(None)` when the client closed
/// the connection where a file info would start: it has simply finished.
///
/// Nothing is written unless the info is accepted, and a file appears under
/// its name only once all its bytes have arrived ([`IncomingFile`]).
pub fn receive_file<S: Read + Write>(
    stream: &mut S,
    config: &ServerConfig,
) -> Result<Option<Received>, ReceiveError> {
    let mut buf = [0u8; INFO_READ_SIZE];
    let read_len = loop {
        match stream.read(&mut buf) {
            Ok(n) => break n,
            // A signal is not data: ask again, it is still one read.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if read_len == 0 {
        return Ok(None);
    }
    let bytes = &buf[..read_len];
    let info = FileInfo::from_json(bytes).map_err(|error| ReceiveError::Info {
        error,
        shape: info_shape(bytes),
        read_len,
    })?;
    if info.filesize > config.max_file_size {
        return Err(ReceiveError::TooLarge {
            name: info.filename,
            size: info.filesize,
            max: config.max_file_size,
        });
    }
    // Create the temporary file before answering 200: if the folder is not
    // writable, the client hears "closed" instead of sending bytes for nothing.
    let save_error = |error| ReceiveError::Save {
        name: info.filename.clone(),
        dir: config.dir.clone(),
        error,
    };
    let mut file = IncomingFile::create(&config.dir, &info.filename).map_err(save_error)?;
    stream.write_all(ACK)?;
    stream.flush()?;

    // `take` is what keeps the next file's info out of this file: the reader
    // cannot return more than the bytes still owed, whatever has arrived.
    let mut body = Read::take(&mut *stream, info.filesize);
    let mut chunk = vec![0u8; chunk_len(info.filesize)];
    let mut got = 0u64;
    while got < info.filesize {
        let n = match body.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The client vanished: the same outcome as a clean close mid-file.
            Err(e) if is_hang_up(&e) => 0,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            // Dropping `file` deletes the temporary file.
            return Err(ReceiveError::Truncated {
                name: info.filename,
                got,
                expected: info.filesize,
            });
        }
        file.write_all(&chunk[..n]).map_err(save_error)?;
        got += n as u64;
    }
    let path = file.finish().map_err(save_error)?;
    Ok(Some(Received {
        name: info.filename,
        size: info.filesize,
        path,
    }))
}
// ANCHOR_END: receive_file

/// Receives files on one connection until the client closes it: every file
/// it received, or why the connection was cut short (the files received
/// before that are saved all the same).
pub fn handle_connection<S: Read + Write>(
    mut stream: S,
    config: &ServerConfig,
) -> Result<Vec<Received>, ReceiveError> {
    let mut received = Vec::new();
    while let Some(file) = receive_file(&mut stream, config)? {
        received.push(file);
    }
    Ok(received)
}

/// Accepts connections forever, each on a thread of its own, and logs one
/// line per file received or refused to standard error, under common's
/// default connection limits ([`serve_with`] takes others).
///
/// A bad client only ever ends its own connection; a failed `accept` is
/// logged and the server keeps listening. Returns an error only when the
/// upload folder cannot be created at the start.
pub fn serve(listener: TcpListener, config: ServerConfig) -> io::Result<()> {
    serve_with(listener, config, Acceptor::new(Limits::default()))
}

/// [`serve`] under the limits of `acceptor`. Before accepting anything it
/// deletes the temporary files an earlier run left in the upload folder
/// when it was killed mid-upload ([`IncomingFile::sweep`]).
pub fn serve_with(
    listener: TcpListener,
    config: ServerConfig,
    acceptor: Acceptor,
) -> io::Result<()> {
    fs::create_dir_all(&config.dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot create the upload folder {}: {e}",
                config.dir.display()
            ),
        )
    })?;
    match IncomingFile::sweep(&config.dir) {
        Ok(0) => {}
        Ok(n) => eprintln!(
            "deleted {n} unfinished upload(s) an earlier run left in {}",
            config.dir.display()
        ),
        Err(e) => eprintln!(
            "could not clear old unfinished uploads from {}: {e}; carrying on",
            config.dir.display()
        ),
    }
    acceptor.serve(listener, move |stream| serve_connection(stream, &config))
}

/// One connection of [`serve`]: like [`handle_connection`], but logging each
/// file as it arrives, so that a student watching the server's terminal sees
/// every upload at once, not when the client leaves.
fn serve_connection(mut stream: Guarded, config: &ServerConfig) {
    let peer = stream.peer();
    // The file's bytes get no answer, so no write marks their end: the
    // boundary is marked here, or the wait for the next file info would
    // count against this file's deadline.
    let marks = stream.marks();
    // The server's only writes are `200`s, each answering a message, so Nagle
    // never holds them; set anyway so that no answer can ever wait for an ACK.
    let _ = stream.get_ref().set_nodelay(true);
    eprintln!("[{peer}] connected");
    let mut files = 0usize;
    loop {
        match receive_file(&mut stream, config) {
            Ok(Some(file)) => {
                marks.message_done();
                files += 1;
                eprintln!(
                    "[{peer}] received {} ({} bytes) -> {}",
                    file.name,
                    file.size,
                    file.path.display()
                );
            }
            Ok(None) => {
                eprintln!("[{peer}] closed the connection after {files} file(s)");
                return;
            }
            Err(e) => {
                eprintln!("[{peer}] {e}; connection closed, nothing saved for this file");
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

/// Why an upload failed.
#[derive(Debug)]
pub enum UploadError {
    /// The local file could not be opened. Nothing was sent.
    OpenFile {
        /// The path as given.
        path: PathBuf,
        /// What the file system said.
        error: io::Error,
    },
    /// The path does not end in a file name (`.`, `..`, `/`), or that name
    /// is not UTF-8, which the JSON cannot carry. Nothing was sent.
    NoFileName(PathBuf),
    /// The name is not one plain file name, so the server would refuse it.
    /// Nothing was sent.
    BadName {
        /// The name.
        name: String,
        /// Why.
        error: NameError,
    },
    /// The server closed the connection instead of answering `200`: it
    /// refused the file info.
    Closed {
        /// The part of an answer that came before the close, if any.
        got: Vec<u8>,
    },
    /// The server answered something other than `200`.
    Unexpected(Vec<u8>),
    /// The server did not answer within the stream's read timeout.
    NoAnswer,
    /// The local data ended, or failed, before the announced size was sent.
    Source {
        /// Bytes sent.
        sent: u64,
        /// Bytes announced.
        expected: u64,
        /// The read error, when it was one (`None`: the data just ended).
        error: Option<io::Error>,
    },
    /// The connection failed.
    Io(io::Error),
}

impl UploadError {
    /// True when the error came before anything was sent, so the connection
    /// can still carry the next file. After any other error the server and
    /// the client no longer agree where the next file info starts: close the
    /// connection.
    pub fn nothing_sent(&self) -> bool {
        matches!(
            self,
            UploadError::OpenFile { .. } | UploadError::NoFileName(_) | UploadError::BadName { .. }
        )
    }
}

/// Shows bytes received from the network as printable text.
fn show_bytes(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadError::OpenFile { path, error } => write!(
                f,
                "cannot open {}: {error} (check the path; it is relative to the folder the \
                 client runs in)",
                path.display()
            ),
            UploadError::NoFileName(path) => write!(
                f,
                "{} does not end in a UTF-8 file name; write `put PATH/TO/FILE`",
                path.display()
            ),
            UploadError::BadName { name, error } => {
                write!(f, "cannot upload {name:?}: {error}; rename the file first")
            }
            UploadError::Closed { got } if got.is_empty() => write!(
                f,
                "the server closed the connection instead of answering 200: it refused the \
                 file info (its log says why: a name that is not a plain file name, a file \
                 over its size limit, ...)"
            ),
            UploadError::Closed { got } => write!(
                f,
                "the server closed the connection after answering only \"{}\" of 200",
                show_bytes(got)
            ),
            UploadError::Unexpected(got) if got.starts_with(b"[server:") => write!(
                f,
                "the server refused the connection: {}",
                String::from_utf8_lossy(got).trim_end()
            ),
            UploadError::Unexpected(got) => write!(
                f,
                "the server answered \"{}\" where \"200\" was expected; is it a stage-5 upload \
                 server?",
                show_bytes(got)
            ),
            UploadError::NoAnswer => write!(
                f,
                "the server did not answer the file info with 200 in time; is it a stage-5 \
                 upload server?"
            ),
            UploadError::Source {
                sent,
                expected,
                error: None,
            } => write!(
                f,
                "the local data ended after {sent} of the {expected} bytes announced (did the \
                 file shrink while it was sent?); the server still waits for the rest, so \
                 this connection is done"
            ),
            UploadError::Source {
                sent,
                expected,
                error: Some(e),
            } => write!(
                f,
                "reading the local data failed after {sent} of {expected} bytes: {e}; the \
                 server still waits for the rest, so this connection is done"
            ),
            UploadError::Io(e) => write!(f, "the connection failed: {e}"),
        }
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UploadError::OpenFile { error, .. }
            | UploadError::Source {
                error: Some(error), ..
            }
            | UploadError::Io(error) => Some(error),
            UploadError::BadName { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for UploadError {
    fn from(e: io::Error) -> Self {
        UploadError::Io(e)
    }
}

/// Uploads `size` bytes read from `data` as `name`: **the client's side of
/// the lesson**. Sends the file info, waits for `200`, then sends exactly
/// `size` bytes (a longer `data` is not read past `size`).
///
/// The stream is flushed after the info and after the bytes, so a buffered
/// stream works too: a client that waits for `200` while its info still sits
/// in its own buffer would wait forever.
///
/// On a `TcpStream`, set `set_nodelay(true)` first: a file's last bytes and
/// the next file's info leave back to back, and Nagle's algorithm would hold
/// the info until the bytes are acknowledged, which the receiver delays
/// (about 40 ms per file on Linux).
pub fn upload<S: Read + Write>(
    stream: &mut S,
    name: &str,
    data: impl Read,
    size: u64,
) -> Result<(), UploadError> {
    validate_filename(name).map_err(|error| UploadError::BadName {
        name: name.to_string(),
        error,
    })?;
    stream.write_all(&FileInfo::put(name, size).to_json())?;
    stream.flush()?;
    wait_for_ack(stream)?;

    let mut data = data.take(size);
    let mut chunk = vec![0u8; chunk_len(size)];
    let mut sent = 0u64;
    while sent < size {
        let n = match data.read(&mut chunk) {
            Ok(0) => {
                return Err(UploadError::Source {
                    sent,
                    expected: size,
                    error: None,
                })
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(UploadError::Source {
                    sent,
                    expected: size,
                    error: Some(e),
                })
            }
        };
        stream.write_all(&chunk[..n])?;
        sent += n as u64;
    }
    stream.flush()?;
    Ok(())
}

// ANCHOR: wait_for_ack
/// Reads the server's answer to a file info: exactly 3 bytes, in a loop,
/// because even a 3-byte answer may arrive in pieces.
fn wait_for_ack<S: Read>(stream: &mut S) -> Result<(), UploadError> {
    let mut answer = [0u8; ACK.len()];
    let mut got = 0;
    while got < answer.len() {
        match stream.read(&mut answer[got..]) {
            Ok(0) => {
                return Err(UploadError::Closed {
                    got: answer[..got].to_vec(),
                })
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A server that refuses closes the socket; if our bytes were still
            // unread there, the kernel says so with a reset instead of a close.
            Err(e) if is_hang_up(&e) => {
                return Err(UploadError::Closed {
                    got: answer[..got].to_vec(),
                })
            }
            Err(e) if common::netio::is_timeout(&e) => return Err(UploadError::NoAnswer),
            Err(e) => return Err(e.into()),
        }
    }
    if &answer == ACK {
        Ok(())
    } else {
        Err(UploadError::Unexpected(with_refusal_line(stream, &answer)))
    }
}
// ANCHOR_END: wait_for_ack

/// A busy server words its refusal as a line, `[server: ...]`, where `200`
/// would be: read the rest of that line (bounded) so the user sees why.
/// Any other answer is returned as it came.
fn with_refusal_line<S: Read>(stream: &mut S, answer: &[u8]) -> Vec<u8> {
    let mut answer = answer.to_vec();
    if !answer.starts_with(b"[se") {
        return answer;
    }
    let mut byte = [0u8; 1];
    while answer.len() < 512 && !answer.ends_with(b"\n") {
        match stream.read(&mut byte) {
            Ok(1) => answer.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    answer
}

/// Uploads the file at `path` under its base name, as the classic client
/// does, and returns the file info it sent.
pub fn upload_file<S: Read + Write>(stream: &mut S, path: &Path) -> Result<FileInfo, UploadError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| UploadError::NoFileName(path.to_path_buf()))?;
    let open_error = |error| UploadError::OpenFile {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(open_error)?;
    let meta = file.metadata().map_err(open_error)?;
    if !meta.is_file() {
        return Err(open_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        )));
    }
    let size = meta.len();
    upload(
        stream,
        name,
        io::BufReader::with_capacity(COPY_CHUNK, file),
        size,
    )?;
    Ok(FileInfo::put(name, size))
}

/// One line the command-line client reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientLine {
    /// `put PATH`: upload that file.
    Put(PathBuf),
    /// `exit`: close the connection.
    Exit,
    /// A blank line: nothing to do.
    Blank,
    /// Anything else, as typed.
    Unknown(String),
}

/// What the client says about a line it does not understand.
pub const ACCEPTED_LINES: &str = "write `put PATH` to upload a file, or `exit` to quit";

impl ClientLine {
    /// Reads one input line: `put PATH` (the path is the rest of the line, so
    /// it may hold spaces), `exit`, or a blank line.
    pub fn parse(line: &str) -> Self {
        let line = line.trim();
        if line.is_empty() {
            return ClientLine::Blank;
        }
        if line == "exit" {
            return ClientLine::Exit;
        }
        match line.strip_prefix("put") {
            Some(rest) if rest.starts_with(char::is_whitespace) && !rest.trim().is_empty() => {
                ClientLine::Put(PathBuf::from(rest.trim()))
            }
            _ => ClientLine::Unknown(line.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON cut short is Cut, a JSON with bytes behind it is Glued, garbage is neither.
    #[test]
    fn shapes() {
        let json = FileInfo::put("a.bin", 5).to_json();
        assert_eq!(info_shape(&json[..20]), InfoShape::Cut);
        let mut glued = json.clone();
        glued.extend_from_slice(b"\x00\xffhello");
        assert_eq!(
            info_shape(&glued),
            InfoShape::Glued {
                json_len: json.len(),
                extra: 7
            }
        );
        assert_eq!(info_shape(&json), InfoShape::Other);
        assert_eq!(info_shape(b"{\"a\":1}\n"), InfoShape::Other);
        assert_eq!(info_shape(b"hello"), InfoShape::Other);
        assert_eq!(info_shape(b""), InfoShape::Other);
    }

    /// Client lines: put with a path (spaces kept), exit, blank, and everything else.
    #[test]
    fn client_lines() {
        assert_eq!(
            ClientLine::parse("put a.bin"),
            ClientLine::Put("a.bin".into())
        );
        assert_eq!(
            ClientLine::parse("  put my file.txt \r"),
            ClientLine::Put("my file.txt".into())
        );
        assert_eq!(ClientLine::parse("exit"), ClientLine::Exit);
        assert_eq!(ClientLine::parse("   "), ClientLine::Blank);
        for other in ["put", "put   ", "putx a", "get a.bin", "EXIT"] {
            assert!(
                matches!(ClientLine::parse(other), ClientLine::Unknown(_)),
                "{other}"
            );
        }
    }

    /// The client refuses to send a name the server would refuse, and sends nothing.
    #[test]
    fn client_checks_the_name() {
        let mut wire = io::Cursor::new(Vec::new());
        let err = upload(&mut wire, "../x", &b"abc"[..], 3).unwrap_err();
        assert!(matches!(err, UploadError::BadName { .. }), "{err}");
        assert!(err.nothing_sent());
        assert!(wire.into_inner().is_empty());
    }

    /// A fake server: answers with fixed bytes, swallows whatever it is sent.
    struct FakeServer(io::Cursor<Vec<u8>>);

    impl Read for FakeServer {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl Write for FakeServer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// An answer other than 200 is shown to the user, escaped; a short answer then a close is Closed.
    #[test]
    fn unexpected_answer_is_shown() {
        let mut server = FakeServer(io::Cursor::new(b"no\xff".to_vec()));
        let err = upload(&mut server, "a.bin", &b"abc"[..], 3).unwrap_err();
        assert!(err.to_string().contains(r#""no\xff""#), "{err}");
        let mut server = FakeServer(io::Cursor::new(b"20".to_vec()));
        let err = upload(&mut server, "a.bin", &b"abc"[..], 3).unwrap_err();
        assert!(
            matches!(&err, UploadError::Closed { got } if got == b"20"),
            "{err}"
        );
        assert!(!err.nothing_sent());
    }

    /// A busy server's refusal line is read whole and shown in its own words.
    #[test]
    fn refusal_line_is_shown() {
        let line = b"[server: busy: every connection is being served right now; try again]\nrest";
        let mut server = FakeServer(io::Cursor::new(line.to_vec()));
        let err = upload(&mut server, "a.bin", &b"abc"[..], 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the server refused the connection: [server: busy: every connection is being \
             served right now; try again]"
        );
    }
}
