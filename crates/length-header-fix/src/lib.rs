//! Stage 4, `length-header-fix`: put a length in front of every message.
//!
//! # The lesson
//!
//! TCP carries bytes, not messages: stage 2 showed one reply spilling into the
//! next, stage 3 hid the problem behind a pause that only works by luck of
//! timing. The fix every real protocol uses is to say, in front of each
//! message, how long it is. The reader first reads exactly the header, then
//! exactly as many bytes as the header announced, looping over short reads
//! both times. No read can then take bytes of the next message (it never asks
//! for them), and a message cut across several reads is put back together.
//!
//! # Wire format (both directions)
//!
//! ```text
//! +----------------------+---------------------+
//! | length: i32, LE (4)  | body: length bytes  |
//! +----------------------+---------------------+
//! ```
//!
//! The length is what Python's `struct.pack("i", n)` writes on x86 and ARM.
//! A request is one frame holding the command line; a reply is one frame
//! holding the command's stdout then stderr
//! ([`common::ShellOutput::reply`]). An empty body is a real message: the
//! reply to `true` is the 4 bytes `00 00 00 00`, which stage 2 could not send.
//!
//! # Known weaknesses, and what this stage does about them
//!
//! - A length is a promise the reader cannot check until the bytes come. A
//!   hostile or confused peer can claim 2 GiB or a negative length: the reader
//!   refuses both before allocating anything ([`framing::decode_header`]).
//! - Both ends must agree on the byte order. Read big-endian, the 1,492 of
//!   `d4 05 00 00` becomes 3,557,097,472; the maximum-frame guard catches most
//!   such mix-ups, not all of them (the demo shows one it misses).
//! - Header and body must leave in one write: as two small writes they meet
//!   Nagle's algorithm and delayed ACK and every reply stalls about 40 ms on
//!   Linux ([`framing::write_frame_in_two_writes`] keeps the mistake for the
//!   cost table; [`ServerConfig::two_writes`] turns it on).
//!
//! # Layout
//!
//! - [`framing`]: **the technique**, read it first; reused by stage 6:
//!   [`write_frame`] (one write per frame, never a flush: the caller flushes
//!   when it waits for an answer), [`read_frame`] and [`read_frame_into`]
//!   (one buffer for every frame), the header codec and [`FrameError`].
//! - [`reader`]: [`FrameReader`], the same frames read for speed: each body
//!   a slice of one read buffer, as tokio-util's `FramedRead` does.
//! - [`server`]: [`ServerConfig`], [`serve`] (common's accept loop, a thread
//!   per connection) and [`serve_connection`], which runs each request and
//!   answers it with one frame; a bad client is logged and never stops it.
//! - [`client`]: [`send_command`], [`recv_reply`] and [`run_client`], the
//!   two-terminal client that marks every reply ([`reply_mark`]).
//! - [`demo`]: [`demo_transcript`], the scripted demo with the boundary
//!   timeline that shows the long reply arriving in three reads; its
//!   synchronisation wraps the streams and stays out of the lesson code.

pub mod client;
pub mod demo;
pub mod framing;
pub mod reader;
pub mod server;

pub use client::{recv_reply, reply_mark, run_client, send_command, CLIENT_REPLY_TIMEOUT};
pub use demo::{
    conversation_transcript, conversation_transcript_in, demo_transcript, demo_transcript_in,
    run_conversation, run_conversation_in, Conversation, DEMO_READ_SIZE,
};
pub use framing::{
    decode_header, encode_header, read_frame, read_frame_into, read_header, write_frame,
    write_frame_in_two_writes, FrameError, Part, DEFAULT_MAX_FRAME, HEADER_LEN,
};
pub use reader::{FrameReader, DEFAULT_READ_BUFFER};
pub use server::{
    describe_outcome, serve, serve_connection, serve_with, ServerConfig, MAX_REQUEST,
};
