//! The client: stream a file while hashing it, then let the server judge.
//!
//! The bytes are read once, in large chunks: each chunk goes to the socket
//! and then to the hasher thread ([`crate::hashing`]), so the digest is of
//! exactly the bytes that were sent, the file is never read twice, and never
//! held whole in memory.

use crate::hashing::{to_hex, HashPipeline, CHUNK_SIZE, PIPELINE_DEPTH};
use crate::server::DEFAULT_MAX_INFO_LEN;
use crate::wire::{self, read_token, TokenError};
use ack_handshake::{validate_filename, FileInfo, NameError};
use length_header_fix::write_frame;
use std::fmt;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;

/// Files at least this large get a progress bar (when standard error is a terminal).
pub const PROGRESS_MIN_SIZE: u64 = 8 * 1024 * 1024;

/// What the server said about a complete upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `203`: the server's MD5 of what arrived equals ours; the file is saved.
    Verified,
    /// `204`: the digests differ; the server discarded the upload.
    Mismatch,
}

impl Verdict {
    /// The three characters the server sent.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Verified => "203",
            Verdict::Mismatch => "204",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Verified => write!(f, "203 verified"),
            Verdict::Mismatch => write!(f, "204 checksum mismatch"),
        }
    }
}

/// A finished upload: the verdict, and what the client sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// `203` or `204`.
    pub verdict: Verdict,
    /// Bytes sent.
    pub size: u64,
    /// The client's MD5 of those bytes, 32 lowercase hex characters.
    pub md5: String,
}

/// Where in a file's conversation something went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Sending the length header and the JSON file info.
    SendingInfo,
    /// Sending the file's bytes.
    SendingData,
    /// Waiting for `OK`.
    WaitingForOk,
    /// Sending the MD5 digest.
    SendingDigest,
    /// Waiting for `203` or `204`.
    WaitingForVerdict,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::SendingInfo => "while sending the file info",
            Phase::SendingData => "while sending the file's bytes",
            Phase::WaitingForOk => "before answering OK",
            Phase::SendingDigest => "while sending the MD5",
            Phase::WaitingForVerdict => "before answering 203 or 204",
        })
    }
}

/// Why an upload did not end in a verdict.
#[derive(Debug)]
pub enum UploadError {
    /// The name is not one plain file name; nothing was sent.
    BadName(NameError),
    /// The local file could not be opened or read.
    Source(io::Error),
    /// The local data ended before the announced size (a file that shrank
    /// while being sent). The connection is unusable afterwards.
    SourceShort {
        /// Bytes the data held.
        sent: u64,
        /// Bytes announced in the file info.
        size: u64,
    },
    /// The server closed the connection (or reset it) mid-conversation. The
    /// protocol has no refusal message: closing *is* how a server refuses.
    ServerClosed(Phase),
    /// The server answered something that is not a token of this protocol.
    Garbage {
        /// What we were waiting for.
        phase: Phase,
        /// What arrived instead.
        got: Vec<u8>,
    },
    /// The server did not answer within the read timeout.
    Timeout(Phase),
    /// Another socket error.
    Io(Phase, io::Error),
}

impl UploadError {
    /// True when the connection can carry the next file: only errors found
    /// before anything was sent leave it usable.
    pub fn connection_usable(&self) -> bool {
        matches!(self, UploadError::BadName(_) | UploadError::Source(_))
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadError::BadName(e) => {
                write!(f, "{e}; rename the file to a plain name (nothing was sent)")
            }
            UploadError::Source(e) => write!(f, "cannot read the file: {e} (nothing was sent)"),
            UploadError::SourceShort { sent, size } => write!(
                f,
                "the file ended after {sent} of {size} bytes: did it change while it was being \
                 sent? The connection is unusable now"
            ),
            UploadError::ServerClosed(phase) => write!(
                f,
                "the server closed the connection {phase}: it refused the upload (a bad name, a \
                 file over its size limit, ...) or dropped a connection it found too slow; its \
                 log says why"
            ),
            UploadError::Garbage { phase, got } => write!(
                f,
                "the server answered {} {phase}; it does not speak this protocol (is it really \
                 an md5-upload server?)",
                wire::show_bytes(got)
            ),
            UploadError::Timeout(phase) => write!(
                f,
                "the server did not answer {phase} within the timeout; is it stuck, or not an \
                 md5-upload server?"
            ),
            UploadError::Io(phase, e) => write!(f, "connection failed {phase}: {e}"),
        }
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UploadError::BadName(e) => Some(e),
            UploadError::Source(e) | UploadError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

/// Maps a socket error to the story: a reset or broken pipe means the server
/// hung up on us, a timeout means it never answered.
fn socket_error(phase: Phase, e: io::Error) -> UploadError {
    if wire::is_disconnect(&e) {
        UploadError::ServerClosed(phase)
    } else if wire::is_timeout(&e) {
        UploadError::Timeout(phase)
    } else {
        UploadError::Io(phase, e)
    }
}

fn token_error(phase: Phase, e: TokenError) -> UploadError {
    match e {
        TokenError::Closed { .. } => UploadError::ServerClosed(phase),
        TokenError::Io(e) => socket_error(phase, e),
    }
}

/// Uploads `size` bytes read from `data` as `name` over `stream`, one
/// file's whole conversation, and returns the server's verdict.
///
/// `204` is a verdict, not an error: the connection carries on. After an
/// `Err`, only [`UploadError::connection_usable`] errors leave the
/// connection in a known state.
pub fn upload<S: Read + Write + ?Sized>(
    stream: &mut S,
    name: &str,
    data: impl Read,
    size: u64,
) -> Result<Receipt, UploadError> {
    upload_with_progress(stream, name, data, size, |_| {})
}

/// [`upload`], calling `progress` with the number of bytes sent so far after
/// every chunk.
pub fn upload_with_progress<S: Read + Write + ?Sized>(
    stream: &mut S,
    name: &str,
    mut data: impl Read,
    size: u64,
    mut progress: impl FnMut(u64),
) -> Result<Receipt, UploadError> {
    validate_filename(name).map_err(UploadError::BadName)?;
    let mut hasher = HashPipeline::new(CHUNK_SIZE, PIPELINE_DEPTH).map_err(UploadError::Source)?;

    // The header and the JSON in one write (stage 4's lesson: two small
    // writes meet Nagle's algorithm and stall), not flushed: the file's
    // bytes follow at once, and the flush comes before waiting for `OK`.
    let info = FileInfo::put(name, size).to_json();
    write_frame(stream, &info, DEFAULT_MAX_INFO_LEN)
        .map_err(|e| socket_error(Phase::SendingInfo, e))?;

    let mut sent: u64 = 0;
    while sent < size {
        let want = (size - sent).min(CHUNK_SIZE as u64) as usize;
        let mut buf = hasher.buffer(want).map_err(UploadError::Source)?;
        let mut filled = 0;
        while filled < want {
            match data.read(&mut buf[filled..]) {
                Ok(0) => {
                    return Err(UploadError::SourceShort {
                        sent: sent + filled as u64,
                        size,
                    })
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(UploadError::Source(e)),
            }
        }
        stream
            .write_all(&buf)
            .map_err(|e| socket_error(Phase::SendingData, e))?;
        // Hashed after it was handed to the socket: the hasher works on this
        // chunk while the next one is read and sent.
        hasher.hash(buf).map_err(UploadError::Source)?;
        sent += want as u64;
        progress(sent);
    }
    stream
        .flush()
        .map_err(|e| socket_error(Phase::SendingData, e))?;

    let mut ok = [0u8; 2];
    read_token(stream, &mut ok).map_err(|e| token_error(Phase::WaitingForOk, e))?;
    if &ok != wire::OK {
        return Err(UploadError::Garbage {
            phase: Phase::WaitingForOk,
            got: ok.to_vec(),
        });
    }

    let md5 = to_hex(&hasher.finish().map_err(UploadError::Source)?);
    stream
        .write_all(md5.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|e| socket_error(Phase::SendingDigest, e))?;

    let mut answer = [0u8; 3];
    read_token(stream, &mut answer).map_err(|e| token_error(Phase::WaitingForVerdict, e))?;
    let verdict = match &answer {
        wire::VERIFIED => Verdict::Verified,
        wire::MISMATCH => Verdict::Mismatch,
        _ => {
            return Err(UploadError::Garbage {
                phase: Phase::WaitingForVerdict,
                got: answer.to_vec(),
            })
        }
    };
    Ok(Receipt { verdict, size, md5 })
}

/// Uploads the file at `path` under its base name. With `progress` set, a
/// file of at least [`PROGRESS_MIN_SIZE`] bytes shows a progress bar on
/// standard error, if standard error is a terminal.
pub fn upload_file<S: Read + Write + ?Sized>(
    stream: &mut S,
    path: &Path,
    progress: bool,
) -> Result<Receipt, UploadError> {
    let name = base_name(path)?;
    // Checked before opening, so a bad name is reported as such even when
    // the file also does not exist.
    validate_filename(&name).map_err(UploadError::BadName)?;
    let file = File::open(path).map_err(UploadError::Source)?;
    let meta = file.metadata().map_err(UploadError::Source)?;
    if !meta.is_file() {
        return Err(UploadError::Source(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (only files can be uploaded)",
        )));
    }
    let size = meta.len();
    if progress && size >= PROGRESS_MIN_SIZE && io::stderr().is_terminal() {
        let bar = progress_bar(size, &name);
        let result = upload_with_progress(stream, &name, file, size, |sent| bar.set_position(sent));
        bar.finish_and_clear();
        result
    } else {
        upload(stream, &name, file, size)
    }
}

/// The name the server will see: the path's last component, which must be
/// UTF-8 because the file info is JSON.
fn base_name(path: &Path) -> Result<String, UploadError> {
    let Some(name) = path.file_name() else {
        return Err(UploadError::Source(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` does not end in a file name", path.display()),
        )));
    };
    name.to_str().map(str::to_string).ok_or_else(|| {
        UploadError::Source(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the file name {} is not valid UTF-8, so it cannot go into the JSON file info; \
                 rename the file",
                name.to_string_lossy()
            ),
        ))
    })
}

fn progress_bar(size: u64, name: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(size);
    // A template is static text; should it ever fail to parse, the default
    // bar is still a bar.
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    bar
}

/// How a client session went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionSummary {
    /// Files answered `203`.
    pub verified: usize,
    /// Files that were not verified (`204`, refused, unreadable, ...), and
    /// lines that were not commands.
    pub failed: usize,
}

impl SessionSummary {
    /// True when nothing failed: the exit status is zero only then.
    pub fn all_verified(&self) -> bool {
        self.failed == 0
    }
}

/// The two-terminal client: reads `put PATH` lines until `exit` or the end
/// of input, uploads each file over `stream`, and writes one line per file
/// to `out`. Stops early when the connection is lost. `diag` gets hints that
/// are not part of the transcript.
pub fn run_client<S, R, W, D>(
    stream: &mut S,
    input: &mut common::cli::InputLines<R>,
    out: &mut W,
    diag: &mut D,
    progress: bool,
) -> io::Result<SessionSummary>
where
    S: Read + Write + ?Sized,
    R: io::BufRead,
    W: Write + ?Sized,
    D: Write + ?Sized,
{
    let mut summary = SessionSummary::default();
    while let Some(line) = input.next_line()? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "exit" {
            break;
        }
        let Some(path) = line.strip_prefix("put ").map(str::trim) else {
            summary.failed += 1;
            writeln!(
                diag,
                "unknown command {line:?}: write `put PATH` to upload a file, or `exit`"
            )?;
            continue;
        };
        match upload_file(stream, Path::new(path), progress) {
            Ok(receipt) => {
                let what = match receipt.verdict {
                    Verdict::Verified => {
                        summary.verified += 1;
                        "the server saved it"
                    }
                    Verdict::Mismatch => {
                        summary.failed += 1;
                        "the server discarded it: the bytes were damaged on the way; try again"
                    }
                };
                writeln!(
                    out,
                    "put {path}: {} ({} bytes, md5 {}); {what}",
                    receipt.verdict, receipt.size, receipt.md5
                )?;
            }
            Err(e) => {
                summary.failed += 1;
                writeln!(out, "put {path}: not uploaded: {e}")?;
                if !e.connection_usable() {
                    writeln!(
                        diag,
                        "the connection is no longer usable; stopping (the remaining lines are \
                         not sent)"
                    )?;
                    break;
                }
            }
        }
        out.flush()?;
    }
    Ok(summary)
}
