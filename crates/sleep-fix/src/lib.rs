//! Stage 3, `sleep-fix`: send the reply's length first, then pause, then the
//! output, and hope the pause keeps them apart.
//!
//! # The lesson
//!
//! Stage 2's client read every reply with one `recv(1024)`, so a long output
//! spilled into the next command's answer. The classic tutorial's first
//! repair is to tell the client how long the reply is: the server sends the
//! output's length as ASCII digits, **sleeps a little**, then sends the
//! output. The client reads the length, then keeps reading until it has
//! that many bytes. With the pause, on a quiet loopback, the digits arrive
//! alone and every reply is read whole. Take the pause away
//! (`--pause-ms 0`) and the digits and the output glue in one read:
//! `"1492"` followed by `"1\n2\n3..."` reads as `"14921\n2\n3..."`, which is no
//! length at all.
//!
//! # Why this is not a fix
//!
//! The pause is a **bet on timing**: it assumes the client reads the digits
//! before the output arrives. A slower or busier network, a client that is
//! not scheduled in time, or a proxy that buffers loses the bet, and the
//! result is exactly stage 2's sticky read. Nothing in the bytes marks where
//! the digits end. The bet also **costs the pause on every reply**, even
//! a reply of `0` bytes: four replies at 100 ms are 400 ms spent sleeping.
//! And the digits themselves are read with a single `recv`: a network that
//! delivers `"14"` and `"92"` separately (a split, 拆包) makes the client
//! believe the reply is 14 bytes long, and every later reply is then read
//! from the wrong place. Stage 4 (`length-header-fix`) removes the bet: a
//! fixed-size header read with a loop.
//!
//! # Wire format
//!
//! - request: the command line's bytes, no newline, no framing; the server
//!   takes **one read of up to 1,024 bytes** as the command.
//! - reply: the output's length as ASCII decimal digits (`b"1492"`), a pause
//!   ([`ServerConfig::pause`], 100 ms by default), then the output
//!   (standard output, then standard error, then a note line if the command
//!   was killed or cut). A command with no output gets the digits `0` and
//!   nothing else. [`ServerConfig::interpreter`] says who runs the command:
//!   the system shell, or the built-in set that prints the same bytes on
//!   every OS (the demo, and `server --builtin`).
//! - the client takes **one read of up to 1,024 bytes** as the length, then
//!   reads until it has that many bytes.
//!
//! # Layout
//!
//! - `pause.rs`, the technique, to read first: [`send_reply`] is the whole
//!   trick (digits, pause, output); [`send_command`] and [`recv_reply`] are
//!   the client's side, where the single read for the length is the
//!   weakness; [`ReplyError`] says what went wrong in words a student can
//!   act on.
//! - `server.rs`: [`ServerConfig`], [`serve`] / [`serve_with`] (common's
//!   accept loop) and [`serve_connection`] (one client: read a command, run
//!   it, send the reply).
//! - `client.rs`: [`connect`] and [`run_client`], the two-terminal loop,
//!   which marks every reply with what its reads gave ([`reply_mark`]).
//! - `demo.rs`: [`demo_transcript`] and [`conversation_transcript`], the
//!   same conversation as stage 2 with the built-in command set, run once
//!   without and once with the pause, with the boundary timeline of every
//!   run; it gets its determinism by wrapping the server's stream, never
//!   from the lesson's code. [`LuckyTiming`] is that wrapper made small, for
//!   the story matrix and the tests.
//! - `main.rs`: the command line (the demo, `server`, `client`).

mod client;
mod demo;
mod pause;
mod server;

pub use client::{connect, reply_mark, run_client};
pub use demo::{
    conversation_transcript, conversation_transcript_in, demo_transcript, demo_transcript_in,
    LuckyTiming,
};
pub use pause::{
    parse_length, recv_reply, send_command, send_reply, ReplyError, DEFAULT_PAUSE, RECV_SIZE,
};
pub use server::{serve, serve_connection, serve_with, ServerConfig};
