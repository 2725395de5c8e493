//! Stage 1, `udp-echo`: UDP keeps message boundaries.
//!
//! # The lesson
//!
//! UDP sends *datagrams*. One `send` is one message, and one receive returns
//! exactly one message: never half of one, never two glued together, however
//! fast they were sent and whatever else is waiting in the socket. That is the
//! property TCP does not have, and the rest of this workspace is about living
//! without it. The price shows up here too: a datagram larger than the
//! receiver's buffer is cut, and the rest of it is gone for good.
//!
//! # Wire format
//!
//! - Client -> server: one datagram holding the message's bytes (the classic
//!   tutorial sends `hello`; the two-terminal client sends each line it reads,
//!   without the line ending).
//! - The server receives with a 1,024-byte buffer ([`RECV_BUFFER`], Python's
//!   `recvfrom(1024)`), logs the message with the sender's address, and
//!   answers every datagram with the 2-byte datagram `hi` ([`REPLY`]).
//!
//! # Known weaknesses
//!
//! - A datagram longer than the receive buffer is cut to the buffer's size and
//!   the rest is discarded. On Unix std's `recv_from` does this *silently*
//!   (it returns `Ok(1024)`); Windows reports an error (`WSAEMSGSIZE`) with
//!   the buffer filled, which [`receive`] turns into a [`Received`] with
//!   `cut_reported` set.
//! - No delivery or order guarantee, and no connection: a client learns that
//!   nobody listens only because loopback happens to send back an ICMP "port
//!   unreachable" (`ConnectionRefused` on the next receive), or from its read
//!   timeout. A lost datagram is never resent.
//!
//! # Layout
//!
//! - [`datagram`]: the technique, read it first: [`RECV_BUFFER`],
//!   [`receive`] (one datagram, one receive) and [`Received`].
//! - [`server`]: [`answer`], [`describe`] and [`serve`], the loop the
//!   `server` subcommand runs (it logs to stderr).
//! - [`client`]: [`connect`], [`send`], [`receive_reply`], [`exchange`],
//!   each with errors that say what probably went wrong, and [`run_client`],
//!   the two-terminal client loop.
//! - [`demo`]: [`demo_transcript`], the three experiments of the demo.

pub mod client;
pub mod datagram;
pub mod demo;
pub mod server;

pub use client::{connect, exchange, receive_reply, run_client, send, DEFAULT_READ_TIMEOUT};
pub use datagram::{receive, Received, MAX_DATAGRAM, RECV_BUFFER};
pub use demo::{demo_transcript, demo_transcript_in};
pub use server::{answer, describe, serve, DEFAULT_ADDR, REPLY};
