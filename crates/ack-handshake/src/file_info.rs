//! The file info both upload stages send before a file's bytes, and the rules
//! for accepting the name in it.
//!
//! The classic programs build the path as `os.path.join(dir, filename)` from
//! whatever the client sent: `../../.bashrc` or `/etc/passwd` then writes
//! outside the upload folder. A server must accept one plain file name and
//! nothing else, on every platform its files may end up on.

use serde::{Deserialize, Serialize};
use std::fmt;

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

#[cfg(test)]
mod tests {
    use super::*;

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
