//! Telling apart the socket errors every stage meets: a read timeout that
//! expired, and a peer that has gone. Which is which differs by platform
//! (`WouldBlock` on Unix, `TimedOut` on Windows, for the same timeout), so
//! the stages ask here instead of matching kinds each on their own.

use std::io;

/// True for the errors a socket read returns when its read timeout expired.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// True for the errors that mean the peer hung up on a live connection: a
/// reset, an abort, a broken pipe.
pub fn is_hang_up(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}
