//! The stage-5 client: the file info, a wait for `200`, then the bytes
//! ([`upload`]); and the two-terminal client that reads `put PATH` lines
//! ([`run_client`]).

use crate::file_info::{validate_filename, wait_for_ack, FileInfo, NameError};
use crate::server::{chunk_len, COPY_CHUNK};
use common::cli::InputLines;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the command-line client waits for `200`, or for the server to
/// take more bytes, before it gives up instead of hanging.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Connects to an upload server with the client's socket options.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot connect to {addr}: {e}; is the server running? start it with \
                 `cargo run -p ack-handshake -- server`"
            ),
        )
    })?;
    // A file's last bytes and the next file's info go out back to back; with
    // Nagle's algorithm the info would wait for the bytes' acknowledgement,
    // which the receiver delays (about 40 ms a file on Linux).
    stream.set_nodelay(true)?;
    // Never hang on a server that stops answering.
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    Ok(stream)
}

/// The two-terminal client: connects to `addr`, reads `put PATH` lines from
/// `input` until `exit` or the end of input, uploads each file and writes a
/// line per file sent to `out`; errors and hints go to `diag`. Returns how
/// many lines did not upload a file (the exit status says so).
///
/// After a failed upload the old connection is out of step with the server
/// (or closed by it): the next file gets a fresh one.
pub fn run_client<B: BufRead, O: Write + ?Sized, D: Write + ?Sized>(
    addr: SocketAddr,
    input: &mut InputLines<B>,
    out: &mut O,
    diag: &mut D,
) -> io::Result<usize> {
    let mut connection = Some(connect(addr)?);
    let mut failures = 0usize;
    while let Some(line) = input.next_line()? {
        let path = match ClientLine::parse(&line) {
            ClientLine::Exit => break,
            ClientLine::Blank => continue,
            ClientLine::Unknown(text) => {
                writeln!(diag, "unknown command `{text}`: {ACCEPTED_LINES}")?;
                failures += 1;
                continue;
            }
            ClientLine::Put(path) => path,
        };
        let stream = match connection.as_mut() {
            Some(stream) => stream,
            None => {
                writeln!(diag, "reconnecting to {addr}")?;
                match connect(addr) {
                    Ok(stream) => connection.insert(stream),
                    Err(e) => {
                        writeln!(diag, "put {}: {e}", path.display())?;
                        failures += 1;
                        continue;
                    }
                }
            }
        };
        match upload_file(stream, &path) {
            // Nothing answers a file's bytes in this protocol (`200` answered
            // the info), so the client cannot know whether they were saved,
            // and says only what it knows.
            Ok(info) => {
                writeln!(
                    out,
                    "sent {} bytes of {}; this stage cannot confirm they were saved",
                    info.filesize, info.filename
                )?;
                out.flush()?;
            }
            Err(e) => {
                writeln!(diag, "put {}: {e}", path.display())?;
                failures += 1;
                if !e.nothing_sent() {
                    connection = None;
                }
            }
        }
    }
    Ok(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

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
