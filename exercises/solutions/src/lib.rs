//! Reference solutions to the graded exercises, kept apart from the files a
//! student edits so that the checker can be pointed at either.
//!
//! The lesson is the same as the exercises': each answer is the shortest
//! correct one, written as the stage crates write it. The workspace's tests
//! run the checker on [`Solutions`] (every exercise must pass) and on the
//! untouched student files (every exercise must fail), so the checker is
//! shown to tell a right answer from a stub. `cargo run -- exercises
//! --solutions` shows the same from the command line.

use std::io::{self, Read};

use exercises::{Conn, Set};
use framing_gallery::{Buffer, DecodeError, Decoder};

/// The reference answers, through the same [`Set`] the checker grades.
#[derive(Clone, Copy, Debug, Default)]
pub struct Solutions;

/// Exercise 1.
pub fn read_exact(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the stream ended after {filled} of {} bytes", buf.len()),
                ))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Exercise 2.
pub fn read_frame(r: &mut dyn Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    // The first byte alone tells a clean end from a cut header.
    let first = loop {
        match r.read(&mut header[..1]) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    if first == 0 {
        return Ok(None);
    }
    read_exact(r, &mut header[1..])?;
    let len = i32::from_le_bytes(header);
    let len = usize::try_from(len).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidData, format!("negative length {len}"))
    })?;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes announced, the maximum is {max}"),
        ));
    }
    let mut body = vec![0u8; len];
    read_exact(r, &mut body)?;
    Ok(Some(body))
}

/// Exercise 3.
pub fn run_command(stream: &mut dyn Conn, command: &str) -> io::Result<Vec<u8>> {
    let len = i32::try_from(command.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "command too long"))?;
    let mut request = len.to_le_bytes().to_vec();
    request.extend_from_slice(command.as_bytes());
    stream.write_all(&request)?;
    read_frame(stream, 1 << 20)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed before replying",
        )
    })
}

/// Exercise 4.
pub fn read_file_info(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    let mut json = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    loop {
        let mut byte = [0u8; 1];
        match read_exact(r, &mut byte) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the stream ended after {} bytes of JSON", json.len()),
                ))
            }
            other => other?,
        }
        let b = byte[0];
        if depth == 0 {
            if b.is_ascii_whitespace() {
                continue;
            }
            if b != b'{' {
                return Err(invalid(format!(
                    "expected `{{`, got `{}`",
                    [b].escape_ascii()
                )));
            }
        }
        json.push(b);
        if json.len() > exercises::ex04_json_header::MAX_INFO {
            return Err(invalid(format!(
                "no end of the JSON within {} bytes",
                exercises::ex04_json_header::MAX_INFO
            )));
        }
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(json);
                }
            }
            _ => {}
        }
    }
}

/// Exercise 5.
pub fn check_filename(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.len() > 255 {
        return Err(format!("{} bytes, the limit is 255", name.len()));
    }
    if name == "." || name == ".." {
        return Err("`.` and `..` are not file names".into());
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '/' | '\\' | ':')) {
        return Err(format!("holds {c:?}: a path, not a plain name"));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!("holds the control character {c:?}"));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err("ends in a dot or a space".into());
    }
    let stem = name.split('.').next().unwrap_or(name).to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && matches!(stem.as_bytes()[3], b'1'..=b'9'));
    if device {
        return Err(format!("{stem} is a Windows device name"));
    }
    Ok(())
}

/// Exercise 6.
pub fn read_records(r: &mut dyn Read, record: usize) -> io::Result<Vec<Vec<u8>>> {
    let mut records = Vec::new();
    loop {
        let mut buf = vec![0u8; record];
        let mut filled = 0;
        while filled < record {
            match r.read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(records),
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the stream ended {filled} bytes into a {record}-byte record"),
                    ))
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        records.push(buf);
    }
}

/// Exercise 7: newline-delimited frames of at most `max` bytes.
#[derive(Debug)]
pub struct LineDecoder {
    max: usize,
}

impl Decoder for LineDecoder {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        let window = &buf.as_slice()[..buf.len().min(self.max + 1)];
        match window.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let line = buf.take(end);
                buf.consume(1);
                Ok(Some(line))
            }
            None if buf.len() > self.max => Err(DecodeError::TooLarge {
                what: "line",
                len: buf.len() as u64,
                at_least: true,
                max: self.max as u64,
            }),
            None => Ok(None),
        }
    }
}

/// Exercise 8: netstrings.
#[derive(Debug)]
pub struct NetstringDecoder {
    max: usize,
}

/// The most digits a netstring's length may have.
const MAX_DIGITS: usize = 10;

impl Decoder for NetstringDecoder {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        let bytes = buf.as_slice();
        let malformed = |offset: usize, why: &str| DecodeError::Malformed {
            offset,
            why: why.to_string(),
        };
        let mut len: u64 = 0;
        let mut colon = None;
        for (i, &b) in bytes.iter().enumerate().take(MAX_DIGITS + 1) {
            match b {
                b':' if i == 0 => return Err(malformed(0, "no digits before `:`")),
                b':' => {
                    colon = Some(i);
                    break;
                }
                b'0' if i == 0 && bytes.get(1).is_some_and(|&c| c != b':') => {
                    return Err(malformed(0, "a leading zero"))
                }
                b'0'..=b'9' => len = len * 10 + u64::from(b - b'0'),
                _ => return Err(malformed(i, "not a digit")),
            }
        }
        let Some(colon) = colon else {
            if bytes.len() > MAX_DIGITS {
                return Err(DecodeError::TooLarge {
                    what: "netstring",
                    len: 10u64.pow(MAX_DIGITS as u32),
                    at_least: true,
                    max: self.max as u64,
                });
            }
            return Ok(None);
        };
        if len > self.max as u64 {
            return Err(DecodeError::TooLarge {
                what: "netstring",
                len,
                at_least: false,
                max: self.max as u64,
            });
        }
        let body_start = colon + 1;
        let comma = body_start + len as usize;
        if bytes.len() <= comma {
            return Ok(None);
        }
        if bytes[comma] != b',' {
            return Err(malformed(comma, "no `,` after the body"));
        }
        buf.consume(body_start);
        let body = buf.take(len as usize);
        buf.consume(1);
        Ok(Some(body))
    }
}

/// Exercise 9: varint-length-prefixed messages.
#[derive(Debug)]
pub struct VarintDecoder {
    max: usize,
}

impl Decoder for VarintDecoder {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        let bytes = buf.as_slice();
        let mut len: u64 = 0;
        let mut header = None;
        for (i, &b) in bytes.iter().enumerate().take(10) {
            len |= u64::from(b & 0x7f).checked_shl(7 * i as u32).unwrap_or(0);
            if b & 0x80 == 0 {
                header = Some(i + 1);
                break;
            }
        }
        let Some(header) = header else {
            if bytes.len() >= 10 {
                return Err(DecodeError::Malformed {
                    offset: 9,
                    why: "a varint longer than 10 bytes".into(),
                });
            }
            return Ok(None);
        };
        if len > self.max as u64 {
            return Err(DecodeError::TooLarge {
                what: "message",
                len,
                at_least: false,
                max: self.max as u64,
            });
        }
        let len = len as usize;
        if bytes.len() < header + len {
            return Ok(None);
        }
        buf.consume(header);
        Ok(Some(buf.take(len)))
    }
}

/// Exercise 10: stage 4's frames, the body waited for.
#[derive(Debug)]
pub struct LengthDecoder {
    max: usize,
}

impl Decoder for LengthDecoder {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let b = buf.as_slice();
        let len = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let Ok(len) = usize::try_from(len) else {
            return Err(DecodeError::Malformed {
                offset: 0,
                why: format!("negative length {len}"),
            });
        };
        if len > self.max {
            return Err(DecodeError::TooLarge {
                what: "frame",
                len: len as u64,
                at_least: false,
                max: self.max as u64,
            });
        }
        if buf.len() < 4 + len {
            return Ok(None);
        }
        buf.consume(4);
        Ok(Some(buf.take(len)))
    }
}

impl Set for Solutions {
    fn read_exact(&self, r: &mut dyn Read, buf: &mut [u8]) -> io::Result<()> {
        read_exact(r, buf)
    }
    fn read_frame(&self, r: &mut dyn Read, max: usize) -> io::Result<Option<Vec<u8>>> {
        read_frame(r, max)
    }
    fn run_command(&self, stream: &mut dyn Conn, command: &str) -> io::Result<Vec<u8>> {
        run_command(stream, command)
    }
    fn read_file_info(&self, r: &mut dyn Read) -> io::Result<Vec<u8>> {
        read_file_info(r)
    }
    fn check_filename(&self, name: &str) -> Result<(), String> {
        check_filename(name)
    }
    fn read_records(&self, r: &mut dyn Read, record: usize) -> io::Result<Vec<Vec<u8>>> {
        read_records(r, record)
    }
    fn line_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(LineDecoder { max })
    }
    fn netstring_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(NetstringDecoder { max })
    }
    fn varint_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(VarintDecoder { max })
    }
    fn length_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(LengthDecoder { max })
    }
}
