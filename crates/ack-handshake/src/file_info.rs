//! The file info both upload stages send before a file's bytes, and the rules
//! for accepting the name in it.
//!
//! The classic programs build the path as `os.path.join(dir, filename)` from
//! whatever the client sent: `../../.bashrc` or `/etc/passwd` then writes
//! outside the upload folder. A server must accept one plain file name and
//! nothing else, on every platform its files may end up on.
//!
//! # The handshake
//!
//! The file info has no length prefix: the server takes it from ONE read of
//! up to [`INFO_READ_SIZE`] bytes and answers [`ACK`], `200`; the client
//! waits for those 3 bytes ([`wait_for_ack`]) before it sends the file's
//! bytes, so nothing is behind the info when the server reads it. When the
//! one read still goes wrong, [`info_shape`] tells a cut JSON (split, 拆包)
//! from a glued one (sticky, 粘包). The two sides that use these pieces are
//! [`crate::server::receive_file`] and [`crate::client::upload`].

use crate::client::UploadError;
use common::netio::is_hang_up;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{self, Read};

/// Longest accepted file name, in bytes: the common file-system limit.
pub const MAX_NAME_LEN: usize = 255;

/// `{"action":"put","filename":NAME,"filesize":N}`, in this field order.
///
/// `deny_unknown_fields` and the unsigned `filesize` make serde refuse extra
/// fields, negative, fractional and non-numeric sizes with a clear message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileInfo {
    /// Always `put` in these stages.
    pub action: String,
    /// A plain file name (see [`validate_filename`]).
    pub filename: String,
    /// The number of bytes that follow.
    pub filesize: u64,
}

impl FileInfo {
    /// The info for uploading `filesize` bytes as `filename`.
    pub fn put(filename: impl Into<String>, filesize: u64) -> Self {
        Self {
            action: "put".to_string(),
            filename: filename.into(),
            filesize,
        }
    }

    /// The compact JSON the classic client sends.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising a struct of strings and an integer cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses and checks file info received from a client: valid UTF-8 JSON
    /// with exactly the three fields, `action` equal to `put`, and a plain
    /// file name.
    pub fn from_json(bytes: &[u8]) -> Result<Self, InfoError> {
        let text = std::str::from_utf8(bytes).map_err(|e| InfoError::NotUtf8(e.valid_up_to()))?;
        let info: FileInfo =
            serde_json::from_str(text).map_err(|e| InfoError::BadJson(e.to_string()))?;
        if info.action != "put" {
            return Err(InfoError::UnknownAction(info.action));
        }
        validate_filename(&info.filename).map_err(InfoError::BadName)?;
        Ok(info)
    }
}

/// Why file info was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InfoError {
    /// The bytes are not UTF-8 (valid up to this offset).
    NotUtf8(usize),
    /// Not JSON, or not the three expected fields with the expected types.
    BadJson(String),
    /// An `action` other than `put`.
    UnknownAction(String),
    /// The file name is not one plain name.
    BadName(NameError),
}

impl fmt::Display for InfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InfoError::NotUtf8(at) => write!(f, "file info is not UTF-8 (bad byte at offset {at})"),
            InfoError::BadJson(e) => write!(
                f,
                "file info is not {{\"action\":\"put\",\"filename\":NAME,\"filesize\":N}}: {e}"
            ),
            InfoError::UnknownAction(a) => {
                write!(f, "unknown action {a:?}: only \"put\" is understood")
            }
            InfoError::BadName(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for InfoError {}

/// Why a file name was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Empty.
    Empty,
    /// Longer than [`MAX_NAME_LEN`] bytes.
    TooLong(usize),
    /// `.` or `..`.
    DotName,
    /// Holds `/`, `\` or `:` (a path, a drive, or an NTFS stream).
    Separator(char),
    /// Holds NUL or another control character.
    Control(u32),
    /// A name Windows reserves for a device (`CON`, `NUL`, `COM1`, ...).
    Reserved(String),
    /// Ends in a dot or a space, which Windows silently strips.
    TrailingDotOrSpace,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "refused file name: it is empty"),
            NameError::TooLong(n) => {
                write!(
                    f,
                    "refused file name: {n} bytes long, the limit is {MAX_NAME_LEN}"
                )
            }
            NameError::DotName => write!(f, "refused file name: `.` and `..` are not file names"),
            NameError::Separator(c) => write!(
                f,
                "refused file name: it contains {c:?}, so it is a path, not a plain file name"
            ),
            NameError::Control(c) => {
                write!(
                    f,
                    "refused file name: it contains the control character U+{c:04X}"
                )
            }
            NameError::Reserved(n) => {
                write!(
                    f,
                    "refused file name: {n:?} is a device name reserved by Windows"
                )
            }
            NameError::TrailingDotOrSpace => {
                write!(
                    f,
                    "refused file name: it ends in a dot or a space, which Windows strips"
                )
            }
        }
    }
}

impl std::error::Error for NameError {}

// ANCHOR: validate_filename
/// Accepts one plain file name: not empty, at most [`MAX_NAME_LEN`] bytes,
/// not `.` or `..`, no `/`, `\` or `:` (so no absolute, drive or relative
/// paths), no control characters (NUL included), no Windows device names
/// (with or without an extension), no trailing dot or space.
pub fn validate_filename(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    if name == "." || name == ".." {
        return Err(NameError::DotName);
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '/' | '\\' | ':')) {
        return Err(NameError::Separator(c));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(NameError::Control(c as u32));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err(NameError::TrailingDotOrSpace);
    }
    // Windows treats `NUL.txt` like `NUL`: compare the part before the first dot.
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    let reserved = matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((upper.starts_with("COM") || upper.starts_with("LPT"))
        && upper.len() == 4
        && upper[3..]
            .chars()
            .all(|c| matches!(c, '1'..='9' | '¹' | '²' | '³')));
    if reserved || is_superscript_device(&upper) {
        return Err(NameError::Reserved(stem.to_string()));
    }
    Ok(())
}
// ANCHOR_END: validate_filename

fn is_superscript_device(upper: &str) -> bool {
    // COM¹, LPT² ...: Windows reserves the superscript digits too.
    let mut chars = upper.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let rest: Vec<char> = chars.collect();
    (prefix == "COM" || prefix == "LPT") && rest.len() == 1 && matches!(rest[0], '¹' | '²' | '³')
}

// ---------------------------------------------------------------------------
// The handshake
// ---------------------------------------------------------------------------

/// The most bytes the server's single read for a file info returns, like
/// Python's `conn.recv(1024)`.
pub const INFO_READ_SIZE: usize = 1024;

/// The server's answer that lets the client send the file's bytes.
pub const ACK: &[u8; 3] = b"200";

/// What the bytes of the one read look like when they are not acceptable
/// file info: the two ways this stage's single read goes wrong, or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoShape {
    /// The start of a JSON value that stops before its end: the read returned
    /// only part of the message (split, 拆包).
    Cut,
    /// A complete JSON value followed by more bytes: the read returned the file
    /// info glued to whatever came after it (sticky, 粘包).
    Glued {
        /// Bytes of the JSON value.
        json_len: usize,
        /// Bytes after it.
        extra: usize,
    },
    /// Neither: not JSON at all, or JSON with the wrong fields.
    Other,
}

/// Tells a cut JSON from a glued one, so that the server's log names the
/// weakness of this stage when it strikes instead of only saying "bad JSON".
pub fn info_shape(bytes: &[u8]) -> InfoShape {
    // A stream deserializer stops after the first complete value and says
    // where it stopped; a plain `from_slice` would only say "trailing characters".
    let mut values =
        serde_json::Deserializer::from_slice(bytes).into_iter::<serde::de::IgnoredAny>();
    match values.next() {
        Some(Ok(_)) => {
            let end = values.byte_offset();
            let rest = &bytes[end.min(bytes.len())..];
            if rest.iter().all(u8::is_ascii_whitespace) {
                InfoShape::Other
            } else {
                InfoShape::Glued {
                    json_len: end,
                    extra: bytes.len() - end,
                }
            }
        }
        Some(Err(e)) if e.is_eof() => InfoShape::Cut,
        _ => InfoShape::Other,
    }
}

// ANCHOR: wait_for_ack
/// Reads the server's answer to a file info: exactly 3 bytes, in a loop,
/// because even a 3-byte answer may arrive in pieces.
pub fn wait_for_ack<S: Read + ?Sized>(stream: &mut S) -> Result<(), UploadError> {
    let mut answer = [0u8; ACK.len()];
    let mut got = 0;
    while got < answer.len() {
        match stream.read(&mut answer[got..]) {
            Ok(0) => {
                return Err(UploadError::Closed {
                    got: answer[..got].to_vec(),
                })
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A server that refuses closes the socket; if our bytes were still
            // unread there, the kernel says so with a reset instead of a close.
            Err(e) if is_hang_up(&e) => {
                return Err(UploadError::Closed {
                    got: answer[..got].to_vec(),
                })
            }
            Err(e) if common::netio::is_timeout(&e) => return Err(UploadError::NoAnswer),
            Err(e) => return Err(e.into()),
        }
    }
    if &answer == ACK {
        Ok(())
    } else {
        Err(UploadError::Unexpected(with_refusal_line(stream, &answer)))
    }
}
// ANCHOR_END: wait_for_ack

/// A busy server words its refusal as a line, `[server: ...]`, where `200`
/// would be: read the rest of that line (bounded) so the user sees why.
/// Any other answer is returned as it came.
fn with_refusal_line<S: Read + ?Sized>(stream: &mut S, answer: &[u8]) -> Vec<u8> {
    let mut answer = answer.to_vec();
    if !answer.starts_with(b"[se") {
        return answer;
    }
    let mut byte = [0u8; 1];
    while answer.len() < 512 && !answer.ends_with(b"\n") {
        match stream.read(&mut byte) {
            Ok(1) => answer.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON cut short is Cut, a JSON with bytes behind it is Glued, garbage is neither.
    #[test]
    fn shapes() {
        let json = FileInfo::put("a.bin", 5).to_json();
        assert_eq!(info_shape(&json[..20]), InfoShape::Cut);
        let mut glued = json.clone();
        glued.extend_from_slice(b"\x00\xffhello");
        assert_eq!(
            info_shape(&glued),
            InfoShape::Glued {
                json_len: json.len(),
                extra: 7
            }
        );
        assert_eq!(info_shape(&json), InfoShape::Other);
        assert_eq!(info_shape(b"{\"a\":1}\n"), InfoShape::Other);
        assert_eq!(info_shape(b"hello"), InfoShape::Other);
        assert_eq!(info_shape(b""), InfoShape::Other);
    }

    /// The JSON is byte-for-byte what the classic client sends.
    #[test]
    fn json_shape() {
        assert_eq!(
            FileInfo::put("a.bin", 5).to_json(),
            br#"{"action":"put","filename":"a.bin","filesize":5}"#
        );
    }

    /// Python's json.dumps, with its spaces, is accepted too.
    #[test]
    fn python_json_is_accepted() {
        let info = FileInfo::from_json(br#"{"action": "put", "filename": "a.bin", "filesize": 5}"#)
            .unwrap();
        assert_eq!(info, FileInfo::put("a.bin", 5));
    }

    /// Every hostile category of file name is refused, and ordinary names pass.
    #[test]
    fn hostile_names() {
        let refused = [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            "..\\x",
            "C:\\x",
            "C:x",
            "a:b",
            "nul\0.txt",
            "a\nb",
            "\u{7f}",
            "CON",
            "con.txt",
            "Nul",
            "COM1",
            "lpt9.log",
            "COM¹",
            "CONIN$",
            "x.",
            "x ",
        ];
        for name in refused {
            assert!(validate_filename(name).is_err(), "{name:?} was accepted");
        }
        assert!(validate_filename(&"a".repeat(256)).is_err());
        for name in [
            "a.bin",
            "README",
            "..hidden",
            ".bashrc",
            "报告.txt",
            "COM10",
            "console",
        ] {
            assert_eq!(validate_filename(name), Ok(()), "{name:?}");
        }
        assert_eq!(validate_filename(&"a".repeat(255)), Ok(()));
    }

    /// Extra fields, missing fields, negative or fractional sizes and other actions are refused.
    #[test]
    fn bad_info() {
        for json in [
            r#"{"action":"put","filename":"a","filesize":-1}"#,
            r#"{"action":"put","filename":"a","filesize":1.5}"#,
            r#"{"action":"put","filename":"a","filesize":"1"}"#,
            r#"{"action":"put","filename":"a"}"#,
            r#"{"action":"put","filename":"a","filesize":1,"x":1}"#,
            r#"{"action":"get","filename":"a","filesize":1}"#,
            r#"{"action":"put","filename":"../a","filesize":1}"#,
            "not json",
        ] {
            assert!(FileInfo::from_json(json.as_bytes()).is_err(), "{json}");
        }
        assert!(matches!(
            FileInfo::from_json(b"\xff"),
            Err(InfoError::NotUtf8(0))
        ));
    }
}
