//! Turning the bytes a server sent into text a terminal can show.
//!
//! A remote shell answers in its own encoding: UTF-8 on Linux and macOS, but
//! GBK (code page 936) on a Chinese Windows, where `dir` prints `不是` as the
//! four bytes `b2 bb ca c7`. The classic tutorial's client calls
//! `.decode("gbk")`; the clients here offer the same with `--encoding gbk`.
//!
//! They never write the received bytes raw: a Windows console refuses bytes
//! that are not UTF-8 (Rust's console standard output returns an error), so a
//! client that wrote them would die. Bytes that do not decode are shown as
//! `�` (U+FFFD), and [`Decoded::note`] says how many there were.
//!
//! Decoding is done per reply (or, for stage 2, per read), on purpose: a
//! character cut across two reads is two undecodable halves, which is one
//! more thing a stream without boundaries does to a naive client.
//!
//! The decoders are `encoding_rs`'s, the ones Firefox uses; its GBK is the
//! WHATWG Encoding Standard's, which decodes every GBK byte sequence Python's
//! `gbk` codec decodes (and GB18030's four-byte sequences besides).

use std::io::{self, Write};

use encoding_rs::DecoderResult;

/// How a client decodes what the server sent (`--encoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8, what a shell on Linux or macOS prints.
    #[default]
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK, what a shell on a Chinese Windows prints (Python's `.decode("gbk")`).
    #[value(name = "gbk", alias = "cp936")]
    Gbk,
}

impl Encoding {
    /// The name `--encoding` takes.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Gbk => "gbk",
        }
    }

    fn decoder(self) -> &'static encoding_rs::Encoding {
        match self {
            Encoding::Utf8 => encoding_rs::UTF_8,
            Encoding::Gbk => encoding_rs::GBK,
        }
    }

    /// Decodes `bytes` as one whole piece: a sequence cut off at the end is
    /// malformed, since nothing else of it will be decoded with it.
    pub fn decode(self, bytes: &[u8]) -> Decoded {
        let mut decoder = self.decoder().new_decoder_without_bom_handling();
        let capacity = decoder
            .max_utf8_buffer_length_without_replacement(bytes.len())
            .unwrap_or(bytes.len().saturating_mul(3));
        let mut text = String::with_capacity(capacity);
        let mut malformed = 0;
        let mut rest = bytes;
        loop {
            let (result, read) =
                decoder.decode_to_string_without_replacement(rest, &mut text, true);
            rest = &rest[read..];
            match result {
                DecoderResult::InputEmpty => break,
                DecoderResult::Malformed(bad, _) => {
                    malformed += usize::from(bad);
                    text.push(char::REPLACEMENT_CHARACTER);
                }
                // The capacity above is the decoder's own bound; should it
                // ever fall short, grow and go on.
                DecoderResult::OutputFull => text.reserve(rest.len().saturating_mul(3) + 4),
            }
        }
        Decoded {
            text,
            malformed,
            encoding: self,
        }
    }
}

/// Bytes decoded for showing: the text, with `�` for every malformed
/// sequence, and how many bytes those were.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The text to show.
    pub text: String,
    /// Bytes that did not decode (each run is shown as one `�`).
    pub malformed: usize,
    /// The encoding it was decoded with.
    pub encoding: Encoding,
}

impl Decoded {
    /// The one-line note for text with malformed bytes, naming `what` was
    /// decoded ("this read", "this reply"); `None` when every byte decoded.
    pub fn note(&self, what: &str) -> Option<String> {
        if self.malformed == 0 {
            return None;
        }
        let n = self.malformed;
        let (bytes, are) = if n == 1 {
            ("byte", "is")
        } else {
            ("bytes", "are")
        };
        Some(match self.encoding {
            Encoding::Utf8 => format!(
                "({n} {bytes} of {what} {are} not UTF-8 and {are} shown as \u{fffd}; a Chinese \
                 Windows shell answers in GBK: try --encoding gbk)"
            ),
            Encoding::Gbk => format!(
                "({n} {bytes} of {what} {are} not GBK and {are} shown as \u{fffd}; a shell on Linux \
                 or macOS answers in UTF-8: try --encoding utf-8)"
            ),
        })
    }

    /// Writes the text as a client shows it: with a line ending added when
    /// it stopped mid-line, so the next line starts on its own, then the
    /// [`note`](Self::note), if any, on a line of its own.
    pub fn show<W: Write + ?Sized>(&self, out: &mut W, what: &str) -> io::Result<()> {
        out.write_all(self.text.as_bytes())?;
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        if let Some(note) = self.note(what) {
            writeln!(out, "{note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classic tutorial's example: GBK `b2 bb ca c7` is 不是; as UTF-8 it is four bad bytes.
    #[test]
    fn gbk_bu_shi() {
        let bytes = [0xb2, 0xbb, 0xca, 0xc7];
        let gbk = Encoding::Gbk.decode(&bytes);
        assert_eq!(gbk.text, "不是");
        assert_eq!(gbk.note("this reply"), None);
        let utf8 = Encoding::Utf8.decode(&bytes);
        assert!(!utf8.text.contains('不'), "{:?}", utf8.text);
        assert_eq!(utf8.malformed, 4);
        let note = utf8.note("this reply").unwrap();
        assert!(
            note.starts_with("(4 bytes of this reply are not UTF-8"),
            "{note}"
        );
        assert!(note.contains("--encoding gbk"), "{note}");
    }

    /// A character cut in two decodes as replacement characters at the cut, never as an error.
    #[test]
    fn a_cut_character_is_malformed() {
        let bu = "不".as_bytes();
        let head = Encoding::Utf8.decode(&[b'a', bu[0]]);
        assert_eq!(head.text, "a\u{fffd}");
        assert_eq!(head.malformed, 1);
        let tail = Encoding::Utf8.decode(&bu[1..]);
        assert_eq!(tail.text, "\u{fffd}\u{fffd}");
        assert_eq!(tail.malformed, 2);
    }

    /// Showing adds a line ending to a line cut short and puts the note after it.
    #[test]
    fn show_ends_the_line_then_notes() {
        let mut out = Vec::new();
        Encoding::Gbk
            .decode(&[b'x', 0xb2])
            .show(&mut out, "this read")
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "x\u{fffd}\n(1 byte of this read is not GBK and is shown as \u{fffd}; a shell on \
             Linux or macOS answers in UTF-8: try --encoding utf-8)\n"
        );
    }
}
