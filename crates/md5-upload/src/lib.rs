//! Stage 6, `md5-upload`: the capstone. Upload files over one connection,
//! framed so that no chunking of the stream can confuse either end, and
//! checked end to end with MD5.
//!
//! # The lesson
//!
//! Stage 5 sent the file info as bare JSON and read it with one
//! `recv(1024)`: glued to the file's first bytes, or cut in two, it broke.
//! Stage 6 puts together everything the earlier stages taught:
//!
//! - the file info is a **stage-4 frame** (a length header, then exactly that
//!   much JSON), so the server knows where it ends;
//! - every other token has a **size both ends know** (`filesize` bytes of
//!   data, `OK`, 32 hex characters, `203`/`204`), and is read with a loop
//!   that stops at exactly that size, never one byte later;
//! - an **MD5 of the bytes**, computed by the client from what it sent and
//!   by the server from what it received, catches damage nothing else sees,
//!   and the file is renamed into place only when the two agree.
//!
//! # Wire format (byte-compatible with the classic Python programs)
//!
//! ```text
//! client -> server   struct.pack("i", len(json)) + json     {"action":"put","filename":NAME,"filesize":N}
//! client -> server   exactly N bytes of the file
//! server -> client   b"OK"
//! client -> server   hashlib.md5(data).hexdigest()          32 lowercase hex characters
//! server -> client   b"203" (match: saved) or b"204" (mismatch: discarded)
//! ... the next file, on the same connection, until the client closes it
//! ```
//!
//! # Known weaknesses (what it costs, what it still cannot do)
//!
//! - One round trip (`OK`) and two hashes per file; MD5 is the speed limit
//!   (see [`hashing`] for how each side hashes on its own core).
//! - The protocol cannot say *why* it refuses: a bad name or an oversized
//!   file is answered by closing the connection, and the reason is only in
//!   the server's log.
//! - MD5 detects accidental damage, not an attacker: anyone who can change
//!   the bytes can change the digest too. Use TLS for that.
//! - A slow client costs a thread while it is connected. Common's accept
//!   loop ([`common::accept`]) bounds what slow clients can hold: a deadline
//!   for each header and JSON however they are dripped, a minimum rate for
//!   the file's bytes, and a connection cap that makes room by dropping the
//!   connection that has waited longest. Memory stays bounded per connection
//!   (three buffers of 128 KiB per upload in progress, whatever the file
//!   size), so the whole server is bounded by the cap times that.
//!
//! # Layout
//!
//! - [`wire`]: the tokens and [`wire::read_token`], the read-exactly loop.
//! - [`hashing`]: hashing on a second thread while the bytes move, in a
//!   bounded set of reused buffers (speed, and memory independent of the
//!   file size).
//! - [`server`]: [`serve`] (common's accept loop: a thread per connection
//!   under its limits) and [`handle_connection`], which checks every field
//!   and writes to a temporary file that only `203` renames into place.
//! - [`client`]: [`upload`], which streams and hashes in one pass, and
//!   [`upload_file`] with its progress bar.
//! - [`demo`]: [`demo_transcript`], four uploads, one damaged on the way.

pub mod client;
pub mod demo;
pub mod hashing;
pub mod server;
pub mod wire;

pub use client::{
    replies_mark, run_client, upload, upload_file, upload_with_progress, Phase, Receipt,
    SessionSummary, UploadError, Verdict,
};
pub use demo::{demo_transcript, demo_transcript_in};
pub use server::{
    handle_connection, serve, ConnectionReport, ServerConfig, ServerLog, DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_INFO_LEN,
};
