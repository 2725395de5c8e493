//! Network weather: a loopback proxy that re-chunks a byte stream on purpose.
//!
//! # Why
//!
//! On a quiet loopback a small `write` nearly always arrives as one `read` on
//! the other side, so a naive protocol ("one `recv(1024)` is one message")
//! looks correct on the student's machine and breaks on a real network, where
//! routers, congestion, retransmissions and busy receivers cut and glue the
//! stream. Network weather brings that behaviour to loopback: the proxy sits
//! between a client and a server, forwards every byte, in order, in both
//! directions, but decides itself *how* the bytes are written:
//!
//! - `--split N`: every chunk the proxy reads is cut into pieces of at most
//!   `N` bytes, each delivered as a separate write (拆包 on demand);
//! - `--sizes 1,3,7`: the stream is cut into pieces of these sizes, in turn,
//!   cycling (the cut positions are positions *in the stream*, so they do not
//!   move when the proxy's reads happen to return different chunks; where a
//!   read ends inside a planned piece, the proxy delivers what it has rather
//!   than wait for more, which adds a cut of its own);
//! - `--coalesce-ms N`: what arrives within `N` ms of the first byte is held
//!   and delivered as one write (粘包 on demand);
//! - `--delay-ms N`: every piece waits `N` ms before it is written;
//! - `--seed S`: random piece sizes and random short delays, from a seed, so
//!   that any failure can be replayed exactly (see [the seeded
//!   weather](#the-seeded-weather)).
//! - `--lockstep`: deliver each piece only once the receiving program has
//!   read the one before, so every piece is a read of its own whatever the
//!   machine's load. Between two programs this works on Linux only; on
//!   Windows and macOS the proxy says so and carries on without it (see
//!   `lockstep.rs` for why).
//!
//! They combine in this order: glue (coalesce), then cut (sizes, else seeded
//! sizes, else one piece per chunk read), then cap every piece at `--split`,
//! then wait (`--delay-ms` plus the seeded delay), then write.
//!
//! # By hand, in three terminals
//!
//! ```text
//! # 1: the server of a stage
//! cargo run -p naive-exec-sticky -- server
//! # 2: the weather, between port 9008 and the server's 8008, showing every cut
//! cargo run -- weather --listen 127.0.0.1:9008 --upstream 127.0.0.1:8008 --split 1 --verbose
//! # 3: the client, talking to the proxy instead of the server
//! printf 'seq 1 400\necho hi\nexit\n' | cargo run -p naive-exec-sticky -- client --addr 127.0.0.1:9008
//! # 3, in PowerShell (start the server in 1 with --builtin there: Windows has no `seq`)
//! 'seq 1 400', 'echo hi', 'exit' | cargo run -p naive-exec-sticky -- client --addr 127.0.0.1:9008
//! ```
//!
//! The proxy prints `listening on ADDR` on standard error first; with
//! `--verbose` it then prints one line per piece it delivers (connection,
//! direction, size, stream offset, delay, the first bytes escaped).
//!
//! # What weather can and cannot promise
//!
//! The proxy controls its own writes, not the other side's reads. It sets
//! `TCP_NODELAY` on both of its sockets, so every piece leaves as a segment of
//! its own instead of waiting for Nagle's algorithm to bundle it with the
//! next; but the receiving kernel puts arriving segments into one receive
//! buffer, and a reader that calls `read` *after* two pieces have arrived gets
//! both in one read, glued back together. `--split` alone writes the pieces
//! back to back, so a slow reader may still see whole messages; a delay
//! (`--delay-ms`, or the seeded weather's occasional pause) gives the reader
//! time to wake up between pieces and makes the split very likely to show.
//! Likewise `--coalesce-ms` glues only what reaches the proxy within its window.
//!
//! So weather changes the *odds* and the chunking the kernel sees; it does not
//! script the other side's reads. What is guaranteed, and what the tests of
//! this module check: every byte arrives, in order, in both directions; a
//! half-close is passed on; the proxy's own piece plan is a pure function of
//! the weather and of the lengths of the chunks it read ([`Weather::piece_plan`]);
//! and the proxy's deliveries follow that plan ([`WeatherProxy::spawn_observed`]).
//! A test of a fixed stage may assert "intact under every weather"; a test of a
//! broken stage should only assert what its own lesson makes certain.
//!
//! # The seeded weather
//!
//! The generator is a splitmix64 written out in this file, not a crate, so the
//! sequence for a seed never changes with a dependency update: a seed written
//! in a bug report today replays the same cuts next year. Each planned piece
//! draws, in this order:
//!
//! - its size (unless `--sizes` is given): half the pieces are 1-4 bytes, a
//!   quarter 5-16, a quarter 17-64, uniform within each band; small pieces
//!   are the ones that cut headers and length digits in half;
//! - its pause: one piece in eight waits 1-3 ms (uniform) before it is
//!   written, the others do not wait.
//!
//! The client-to-upstream direction uses the seed as given; the other
//! direction a fixed variation of it, so the two directions are cut
//! differently. Every connection starts from the seed afresh, so a replay
//! with the same seed and the same traffic is cut at the same stream
//! positions; only where one of the proxy's reads ends inside a planned piece
//! is there an extra cut, and on loopback those reads nearly always match the
//! sender's writes.
//!
//! # Safety and bounds
//!
//! The proxy only listens on, and only connects to, loopback addresses: the
//! traffic it cuts up never leaves the machine. It accepts through common's
//! one accept loop ([`crate::accept`]) and serves at most [`MAX_CONNECTIONS`]
//! connections at once (the oldest makes room for a newcomer), with two
//! threads each that end when the connection closes; a [`WeatherProxy`] stops accepting and cuts
//! its open connections when it is dropped.
//!
//! # Layout
//!
//! Read in this order:
//!
//! - `plan.rs`: [`Weather`], what the proxy does to the stream, with
//!   [`Weather::describe`] giving the exact flags that reproduce it; and the
//!   piece plan ([`PiecePlanner`], [`Piece`], [`Weather::piece_plan`]), pure
//!   and testable without sockets, with the seeded generator.
//! - `forward.rs`: one direction of one connection: read, cut as planned,
//!   wait, write; [`Delivery`] is what an observer sees of each piece.
//! - `proxy.rs`: [`WeatherProxy`], the proxy on `127.0.0.1:0` for tests and
//!   demos, and [`run`] for the command line: accepting, connecting
//!   upstream, stopping.
//! - `lockstep.rs`: [`ReadCounter`] and [`Counted`] for lockstep in one
//!   process, `--lockstep` between programs (Linux), and what Windows and
//!   macOS lack for it ([`lockstep_available`]).
//! - `args.rs`: [`WeatherArgs`], the clap arguments the root binary flattens.

mod args;
mod forward;
mod lockstep;
mod plan;
mod proxy;
#[cfg(test)]
mod test_support;

pub use args::WeatherArgs;
pub use forward::{describe_delivery, Delivery};
pub use lockstep::{lockstep_available, Counted, ReadCounter, LOCKSTEP_UNAVAILABLE};
pub use plan::{Direction, Piece, PiecePlanner, Weather, MAX_PAUSE};
pub use proxy::{run, WeatherProxy, MAX_CONNECTIONS};
