//! The graded exercises: small files a student edits, each with a task in
//! its opening comment and a stub, checked over real sockets, through the
//! network weather and the decoder verifier by `cargo run -- exercises`.
//!
//! The lesson is the whole course in one's own hands: a read loop, a
//! length-prefixed frame, stage 2's client made whole, stage 5's JSON read
//! safely, a safe file name, and four of the gallery's decoders, one of
//! them with a bug that only weather shows.
//!
//! # Layout
//!
//! Work through the files in order, `ex01_read_exact.rs` to
//! `ex10_find_the_bug.rs`. This file only lists them and forwards the
//! checker to them through [`Set`]; there is nothing to edit here.
//! The reference answers live in `exercises/solutions/`, a crate of their
//! own: try first, peek later.
// A stub names its parameters, fields and imports for the student and uses
// none of them until the exercise is done; without this, every untouched
// stub would be a warning, and the workspace's lints deny warnings.
#![allow(unused_variables, unused_mut, dead_code, unused_imports)]

use std::io::{self, Read, Write};

pub use framing_gallery::{Buffer, DecodeError, Decoder};

pub mod ex01_read_exact;
pub mod ex02_read_frame;
pub mod ex03_exec_client;
pub mod ex04_json_header;
pub mod ex05_safe_filename;
pub mod ex06_fixed_records;
pub mod ex07_line_decoder;
pub mod ex08_netstring;
pub mod ex09_varint;
pub mod ex10_find_the_bug;

/// A connection a function can both read and write: a `TcpStream`, or one
/// wrapped by the checker.
pub trait Conn: Read + Write {}
impl<T: Read + Write + ?Sized> Conn for T {}

/// One method per exercise: what the checker calls. [`Student`] forwards to
/// the files in this crate; the reference solutions implement it too, so the
/// same checks grade both.
pub trait Set: Sync {
    /// Exercise 1: [`ex01_read_exact::read_exact`].
    fn read_exact(&self, r: &mut dyn Read, buf: &mut [u8]) -> io::Result<()>;
    /// Exercise 2: [`ex02_read_frame::read_frame`].
    fn read_frame(&self, r: &mut dyn Read, max: usize) -> io::Result<Option<Vec<u8>>>;
    /// Exercise 3: [`ex03_exec_client::run_command`].
    fn run_command(&self, stream: &mut dyn Conn, command: &str) -> io::Result<Vec<u8>>;
    /// Exercise 4: [`ex04_json_header::read_file_info`].
    fn read_file_info(&self, r: &mut dyn Read) -> io::Result<Vec<u8>>;
    /// Exercise 5: [`ex05_safe_filename::check_filename`].
    fn check_filename(&self, name: &str) -> Result<(), String>;
    /// Exercise 6: [`ex06_fixed_records::read_records`].
    fn read_records(&self, r: &mut dyn Read, record: usize) -> io::Result<Vec<Vec<u8>>>;
    /// Exercise 7: [`ex07_line_decoder::LineDecoder`].
    fn line_decoder(&self, max: usize) -> Box<dyn Decoder + Send>;
    /// Exercise 8: [`ex08_netstring::NetstringDecoder`].
    fn netstring_decoder(&self, max: usize) -> Box<dyn Decoder + Send>;
    /// Exercise 9: [`ex09_varint::VarintDecoder`].
    fn varint_decoder(&self, max: usize) -> Box<dyn Decoder + Send>;
    /// Exercise 10: [`ex10_find_the_bug::LengthDecoder`].
    fn length_decoder(&self, max: usize) -> Box<dyn Decoder + Send>;
}

/// The student's answers: the files in this crate.
#[derive(Clone, Copy, Debug, Default)]
pub struct Student;

impl Set for Student {
    fn read_exact(&self, r: &mut dyn Read, buf: &mut [u8]) -> io::Result<()> {
        ex01_read_exact::read_exact(r, buf)
    }
    fn read_frame(&self, r: &mut dyn Read, max: usize) -> io::Result<Option<Vec<u8>>> {
        ex02_read_frame::read_frame(r, max)
    }
    fn run_command(&self, stream: &mut dyn Conn, command: &str) -> io::Result<Vec<u8>> {
        ex03_exec_client::run_command(stream, command)
    }
    fn read_file_info(&self, r: &mut dyn Read) -> io::Result<Vec<u8>> {
        ex04_json_header::read_file_info(r)
    }
    fn check_filename(&self, name: &str) -> Result<(), String> {
        ex05_safe_filename::check_filename(name)
    }
    fn read_records(&self, r: &mut dyn Read, record: usize) -> io::Result<Vec<Vec<u8>>> {
        ex06_fixed_records::read_records(r, record)
    }
    fn line_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(ex07_line_decoder::LineDecoder::new(max))
    }
    fn netstring_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(ex08_netstring::NetstringDecoder::new(max))
    }
    fn varint_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(ex09_varint::VarintDecoder::new(max))
    }
    fn length_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(ex10_find_the_bug::LengthDecoder::new(max))
    }
}
