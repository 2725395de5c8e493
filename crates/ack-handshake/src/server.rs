//! The stage-5 server: for each file, one read taken as the file info, `200`,
//! then exactly `filesize` bytes into a temporary file that becomes the file
//! only once complete. Several files per connection, a thread per connection
//! under common's accept loop, a log line per file or refusal.

use crate::file_info::{info_shape, FileInfo, InfoError, InfoShape, ACK, INFO_READ_SIZE};
use crate::incoming::IncomingFile;
use common::netio::is_hang_up;
use common::{Acceptor, Guarded, Limits};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;

/// The classic tutorial's upload address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The folder uploads go to unless `--dir` says otherwise.
pub const DEFAULT_DIR: &str = "put";

/// Files larger than this are refused unless `--max-file-size` says
/// otherwise: 1 GiB, so that a typo in a client cannot fill the disk.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1024 * 1024 * 1024;

/// File bytes are copied in pieces of this size: never the whole file in memory.
pub(crate) const COPY_CHUNK: usize = 64 * 1024;

/// The copy buffer for a file of `size` bytes: no larger than the file (a
/// small file costs a small buffer), at least 1 byte, at most [`COPY_CHUNK`].
/// Computed without `as`, which would wrap a size over 4 GiB on 32-bit.
pub(crate) fn chunk_len(size: u64) -> usize {
    usize::try_from(size).map_or(COPY_CHUNK, |n| n.clamp(1, COPY_CHUNK))
}

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
