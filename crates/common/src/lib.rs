//! Demo infrastructure that is no stage's lesson.
//!
//! Every stage crate teaches one technique for carrying messages over a socket;
//! everything a stage needs *besides* its lesson lives here, so that a student
//! reading a stage sees only the technique:
//!
//! - [`accept`]: the one accept loop every TCP server uses, with its
//!   defences: a connection cap with a per-address share that makes room by
//!   dropping the connection that has waited longest, a deadline per message,
//!   a minimum data rate, an idle timeout.
//! - [`server`]: bind `127.0.0.1:0` first, read back the port, then start the
//!   server thread, so a demo or a test never races a server that is not yet
//!   listening and never needs a fixed port.
//! - [`timeline`]: the **boundary timeline**, the teaching device that shows,
//!   for every read, which message's bytes it returned, and marks sticky reads
//!   (bytes of two messages in one read) and split messages (one message cut
//!   across reads).
//! - [`shell`]: run a command line with `sh -c` (or `cmd /C`), stdout then
//!   stderr, with a timeout that kills every process the command started
//!   (those that left its process group included) and an output cap, so the
//!   remote-execution stages cannot be hung, flooded or outlived.
//! - [`builtin`]: the built-in command set (`echo`, `seq`, `true`, ...) the
//!   demos run instead of the system shell, so that their bytes are the same
//!   on every OS and with an empty `PATH`.
//! - [`cli`]: the command-line pieces every stage shares: address parsing,
//!   `--lang`, binding a server with its first line `listening on ADDR`, the
//!   flags and the loopback guard of remote-execution servers, printing a
//!   demo, reading client input with a prompt only on a terminal.
//! - [`weather`]: **network weather**, a loopback proxy that re-chunks the
//!   stream on purpose (split, fixed sizes, coalesce, delay, seeded random).
//! - [`demo`]: the scripted conversation the exec stages share, and [`demo::Verdict`].
//! - [`encoding`]: decoding what a server sent for the terminal (`--encoding
//!   gbk`), never dying on bytes that are not UTF-8.
//! - [`lang`]: the language a transcript is told in ([`lang::Lang`]: English or
//!   简体中文), chosen by `--lang` or the environment, and padding by display width.
//! - [`text`]: showing bytes, previewing a long reply and wrapping a line,
//!   written once for every transcript.
//! - [`netio`]: which socket errors are a read timeout, which a peer that hung up.
//! - [`process`]: running a stage's server and client binaries from a test, as a
//!   student does in two terminals, with every wait bounded.
//! - [`testing`]: what tests share to pass on a loaded machine: a loopback
//!   port where nobody listens and nobody can start to, and the named waits.
//! - [`sync`]: waiting, in demo mode, until bytes the other end already wrote
//!   have reached this end, so that demo transcripts are identical on every run.

pub mod accept;
pub mod builtin;
pub mod cli;
pub mod demo;
pub mod encoding;
pub mod lang;
pub mod netio;
pub mod process;
pub mod server;
pub mod shell;
pub mod sync;
pub mod testing;
pub mod text;
pub mod timeline;
pub mod weather;

pub use accept::{Acceptor, Guarded, LimitArgs, Limits, Marks};
pub use builtin::{run_builtin, run_command, Interpreter};
pub use server::{bind_loopback_tcp, bind_loopback_udp, spawn_loopback, LoopbackServer};
pub use shell::{run_shell, ShellLimits, ShellOutput};
pub use timeline::{Tap, Timeline};
