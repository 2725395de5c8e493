//! Part II, `tokio-length`: the production path for stage 4's protocol.
//!
//! # The lesson
//!
//! Stage 4 fixed sticky and split messages with a 4-byte length header and a
//! reading loop written by hand. In production Rust nobody writes that loop:
//! tokio-util's `LengthDelimitedCodec` is it, driven by `Framed`, which keeps
//! one buffer per connection, reads whatever the socket has into it, and cuts
//! out every whole frame. This crate serves and consumes stage 4's exact
//! protocol with it, so a student can see what the library takes over
//! (the loop, buffer reuse, backpressure on writes, many connections on a
//! few threads) and what it does not (its defaults do not match stage 4).
//!
//! # Wire format (both directions), identical to stage 4
//!
//! ```text
//! +----------------------+---------------------+
//! | length: i32, LE (4)  | body: length bytes  |
//! +----------------------+---------------------+
//! ```
//!
//! A request is one frame holding the command line; a reply is one frame
//! holding the command's stdout then stderr. This crate's server answers
//! stage 4's client and this crate's client talks to stage 4's server, byte
//! for byte (the tests show both).
//!
//! # Where the library's defaults bite
//!
//! - `LengthDelimitedCodec::new()` reads the length **big-endian**; stage 4
//!   writes it little-endian (Python's `struct.pack("i", n)`).
//! - Its maximum frame is **8 MiB**; stage 4 accepts 16 MiB.
//! - Its lengths are **unsigned**: a negative length reads as about 4 GiB and
//!   is refused as "frame size too big", without numbers.
//! - It reserves room for the whole announced frame as soon as it has read
//!   the header; stage 4 grows its buffer only as the bytes arrive.
//!
//! # The server's defences
//!
//! The same as every other server of the workspace: `common`'s policy and
//! flags ([`common::LimitArgs`]: a connection cap with a per-address share,
//! a deadline per message, a minimum data rate, an idle timeout), with the
//! same log and busy lines. `common`'s accept loop gives each connection a
//! thread and blocks in it, which an async server cannot do, so [`accept`]
//! is its twin for tasks. It lives here rather than in `common` so that
//! stages 1 to 6, which teach with std alone, never build tokio.
//!
//! # Layout
//!
//! - [`codec`]: the technique: [`length_codec`] configures the library to
//!   stage 4's format; [`FrameCodec`] gives its refusals stage 4's words.
//! - [`server`]: the async server, one task per connection.
//! - [`client`]: the async client and its two-terminal loop, which marks
//!   every whole reply as stage 4's client does.
//! - [`demo`]: the one-process demo, pinned by a snapshot in each language.
//! - [`accept`]: the workspace's accept loop and its limits, for tasks.
//! - [`tap`]: a watched async stream, for the demo and the matrix.
//! - [`rows`]: the story matrix's row and the costs table's row.

pub mod accept;
pub mod client;
pub mod codec;
pub mod demo;
pub mod rows;
pub mod server;
pub mod tap;

pub use accept::AsyncAcceptor;
pub use client::{framed, recv_reply, run_client, send_command, Connection};
pub use codec::{length_codec, FrameCodec, DEFAULT_MAX_FRAME};
pub use demo::{
    conversation_transcript, conversation_transcript_in, demo_transcript, demo_transcript_in,
    run_conversation, run_conversation_in, Conversation,
};
pub use server::{serve, serve_connection, serve_std, serve_with, ServerConfig};
