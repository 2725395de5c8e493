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
//! # Layout
//!
//! - [`file_info`]: **the technique**, read it first: the JSON
//!   ([`FileInfo`]), the file-name rules ([`validate_filename`]), the one
//!   read's size and the `200` ([`INFO_READ_SIZE`], [`ACK`]), the client's
//!   wait for it ([`wait_for_ack`]), and [`info_shape`], how the server tells
//!   a cut JSON from a glued one so that its log names the weakness when it
//!   strikes. Stage 6 reuses the JSON and the name rules.
//! - [`server`]: [`receive_file`], **the server's side of the lesson** (one
//!   read for the info, `200`, then exactly N bytes with [`std::io::Read::take`]),
//!   [`handle_connection`] and [`serve`]: several files per connection, a
//!   thread per connection, a log line per file or refusal.
//! - [`incoming`]: [`IncomingFile`], receiving into a temporary file; stage 6
//!   reuses it.
//! - [`client`]: [`upload`] and [`upload_file`], **the client's side**: info,
//!   wait for `200`, bytes; and [`run_client`], the two-terminal client.
//! - [`demo`]: the scripted demo ([`demo_transcript`]) with its boundary
//!   timelines; the synchronisation that keeps it identical on every run
//!   wraps the streams there, away from the lesson code.

pub mod client;
pub mod demo;
pub mod file_info;
pub mod incoming;
pub mod server;

pub use client::{
    connect, run_client, upload, upload_file, ClientLine, UploadError, ACCEPTED_LINES,
    CLIENT_TIMEOUT,
};
pub use demo::{demo_transcript, demo_transcript_in};
pub use file_info::{
    info_shape, validate_filename, wait_for_ack, FileInfo, InfoError, InfoShape, NameError, ACK,
    INFO_READ_SIZE, MAX_NAME_LEN,
};
pub use incoming::IncomingFile;
pub use server::{
    handle_connection, receive_file, serve, serve_with, ReceiveError, Received, ServerConfig,
    DEFAULT_ADDR, DEFAULT_DIR, DEFAULT_MAX_FILE_SIZE,
};
