//! Stage 5, `ack-handshake`. (Stub: the stage is being written; the file
//! info and the safe receiving below are its public API.)
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod file_info;
pub mod incoming;

pub use file_info::{validate_filename, FileInfo, InfoError, NameError, MAX_NAME_LEN};
pub use incoming::IncomingFile;
