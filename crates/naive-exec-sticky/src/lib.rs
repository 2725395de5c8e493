//! Stage 2, `naive-exec-sticky`: remote command execution whose output runs together.
//!
//! # The lesson
//!
//! TCP is a byte stream, not a sequence of messages. The server below writes
//! each command's output with one `write_all`, and the client reads each
//! answer with one read of up to 1,024 bytes, exactly as the classic Python
//! tutorial does with `recv(1024)`. That works for short outputs on a quiet
//! loopback, and breaks as soon as an output is longer than one read:
//!
//! - `seq 1 400` prints 1,492 bytes; one read returns at most 1,024 of them,
//!   so the reply is cut across reads (**split**, 拆包);
//! - the other 468 bytes wait in the socket, so the read made for the *next*
//!   command returns them, glued to that command's own reply (**sticky**,
//!   粘包): the answer shown for `echo hi` starts with `284`;
//! - a command that prints nothing (`true`) sends no bytes at all, because a
//!   stream has no empty message: the client can only give up after a read
//!   timeout, and cannot tell "no output" from "slow output".
//!
//! # Wire format
//!
//! - Request: the command line's bytes, no newline, no framing. The server
//!   takes ONE read of up to 1,024 bytes ([`READ_SIZE`]) as the command.
//! - Reply: the command's output as [`common::run_command`] gives it
//!   (standard output, then standard error, plus a note line when the
//!   command was killed at the timeout or cut at the output cap), no
//!   framing, written with one `write_all`. A command with no output gets
//!   no reply at all. [`ServerConfig::interpreter`] says who runs it: the
//!   system shell, or the built-in set that prints the same bytes on every
//!   OS (the demo, and `server --builtin`).
//! - The client prints whatever ONE read of up to 1,024 bytes returns; a read
//!   timeout (2 s by default) ends the wait with a line that says why.
//!
//! # Known weakness (the lesson)
//!
//! Nothing on the wire says where a reply ends, so a reply longer than one
//! read spills into the next answer, and the client's answers drift further
//! out of step with every long output. The same holds in the other direction:
//! two commands written quickly can reach the server's single read glued, and
//! a command over 1,024 bytes is cut. Stage 3 (`sleep-fix`) sends the length
//! first; stage 4 (`length-header-fix`) frames every message.
//!
//! # Layout
//!
//! - `naive.rs`, the technique, to read first: [`send_command`] (a command
//!   is its bytes) and [`recv_reply`] / [`recv_reply_up_to`] (a reply is
//!   whatever ONE read returns).
//! - `server.rs`: [`ServerConfig`], [`serve`] / [`serve_with`] (common's
//!   accept loop), [`handle_connection`] (one connection: one read taken as
//!   the command, run it, one write, again) and [`reply_to`] (what the
//!   server answers to one command's bytes).
//! - `client.rs`: [`connect`], [`run_client`] / [`run_client_reading`] (the
//!   two-terminal loop), the marks it prints around every read
//!   ([`read_mark`], [`close_mark`]) and [`no_reply_line`].
//! - `demo.rs`: [`demo_transcript`] and [`conversation_transcript`] run
//!   [`common::demo::EXEC_SCRIPT`] through a real server and client with the
//!   built-in command set, synchronised turn by turn by a wrapper around the
//!   server's stream so that it is identical on every run and every OS, and
//!   show the boundary timeline and a verdict derived from it; [`Tweaks`]
//!   switches on the popular non-fixes (`--read-size N`, `--nodelay`).
//! - `main.rs`: the command line (the demo, `server`, `client`).

mod client;
mod demo;
mod naive;
mod server;

pub use client::{
    close_mark, connect, no_reply_line, no_reply_line_in, read_mark, run_client,
    run_client_reading, DEFAULT_READ_TIMEOUT,
};
pub use demo::{
    conversation_transcript, conversation_transcript_in, conversation_transcript_with,
    demo_transcript, demo_transcript_in, demo_transcript_with, Tweaks,
};
pub use naive::{recv_reply, recv_reply_up_to, send_command, READ_SIZE};
pub use server::{handle_connection, reply_to, serve, serve_with, ServerConfig, DEFAULT_ADDR};
