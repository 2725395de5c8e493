//! The decoder verifier: hand it a decoder (or a `Read`-based frame reader)
//! and an input, and it checks that the frames do not depend on how the
//! bytes were cut. SwiftNIO's `ByteToMessageDecoderVerifier` does the same
//! for NIO decoders; this one also shrinks a failure to the smallest split.
//!
//! The same input is fed
//!
//! 1. **whole**, in one piece;
//! 2. **in seeded random pieces** (proptest, [`Verifier::cases`] cases from
//!    [`Verifier::seed`]): a split is a list of piece sizes, the rest of the
//!    input arriving as one last piece. A failing split is *shrunk*: fewer
//!    pieces, smaller pieces, until no smaller split fails, and that split is
//!    what [`Failure`] shows;
//! 3. **one byte at a time**,
//!
//! and every feeding must give the expected frames and end the same way.
//! After the last byte a decoder gets [`Decoder::decode_eof`]: bytes left
//! over at the end of the stream are an error, never silently dropped. A
//! reader (stage 4's `read_frame` loop, stage 6's wire) is given a `Read`
//! that returns the input in the split's pieces, and must have read every
//! byte when it returns.
//!
//! From a student's test:
//!
//! ```
//! use framing_gallery::{lines::Lines, verify::Verifier};
//! let frames = vec![b"hi".to_vec(), Vec::new()];
//! Verifier::new()
//!     .check_decoder(|| Lines::new(64), b"hi\n\n", &frames)
//!     .unwrap_or_else(|failure| panic!("{failure}"));
//! ```

use std::fmt;
use std::io::{self, Read};

use proptest::collection::vec;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::codec::{Buffer, Decoder};

/// How a stream was cut: the sizes of its first pieces, in order; whatever
/// the pieces do not cover arrives as one last piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// The piece sizes, each at least 1.
    pub pieces: Vec<usize>,
}

impl Split {
    /// The whole input in one piece.
    pub fn whole() -> Self {
        Split { pieces: Vec::new() }
    }

    /// One byte per piece.
    pub fn bytewise(len: usize) -> Self {
        Split {
            pieces: vec![1; len],
        }
    }

    /// The pieces `input` is cut into.
    pub fn cut<'a>(&self, input: &'a [u8]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = input;
        for &n in &self.pieces {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at(n.clamp(1, rest.len()));
            out.push(piece);
            rest = tail;
        }
        if !rest.is_empty() {
            out.push(rest);
        }
        out
    }
}

impl fmt::Display for Split {
    /// Runs of equal sizes are shown once with a count: `4, 1 x 3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pieces.is_empty() {
            return write!(f, "[whole]");
        }
        let mut parts = Vec::new();
        let mut i = 0;
        while i < self.pieces.len() {
            let n = self.pieces[i];
            let run = self.pieces[i..].iter().take_while(|&&m| m == n).count();
            parts.push(if run > 1 {
                format!("{n} x {run}")
            } else {
                n.to_string()
            });
            i += run;
        }
        write!(f, "[{}, then the rest]", parts.join(", "))
    }
}

/// What a decoder or reader made of an input: the frames, then how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Every frame, in order.
    pub frames: Vec<Vec<u8>>,
    /// `Ok` at a clean end of stream, else the error's text.
    pub end: Result<(), String>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sizes: Vec<String> = self
            .frames
            .iter()
            .take(8)
            .map(|fr| format!("{} B", fr.len()))
            .collect();
        let more = if self.frames.len() > 8 { ", ..." } else { "" };
        write!(
            f,
            "{} frame(s) [{}{more}], ",
            self.frames.len(),
            sizes.join(", ")
        )?;
        match &self.end {
            Ok(()) => write!(f, "clean end"),
            Err(e) => write!(f, "error: {e}"),
        }
    }
}

// ANCHOR: feed_decoder
/// Feeds `input` to `decoder` in the pieces of `split`: after each piece,
/// every whole frame is pulled; after the last, [`Decoder::decode_eof`].
pub fn feed_decoder<D: Decoder>(mut decoder: D, input: &[u8], split: &Split) -> Outcome {
    let mut buf = Buffer::new();
    let mut frames = Vec::new();
    for piece in split.cut(input) {
        buf.push(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => {
                    return Outcome {
                        frames,
                        end: Err(e.to_string()),
                    }
                }
            }
        }
    }
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => {
                return Outcome {
                    frames,
                    end: Ok(()),
                }
            }
            Err(e) => {
                return Outcome {
                    frames,
                    end: Err(e.to_string()),
                }
            }
        }
    }
}
// ANCHOR_END: feed_decoder

/// A `Read` that returns `input` in the pieces of a split: one read never
/// returns more than the rest of the current piece.
#[derive(Debug)]
pub struct PieceReader<'a> {
    pieces: std::collections::VecDeque<&'a [u8]>,
    unread: usize,
}

impl<'a> PieceReader<'a> {
    /// A reader of `input` cut as `split` says.
    pub fn new(input: &'a [u8], split: &Split) -> Self {
        Self {
            pieces: split.cut(input).into(),
            unread: input.len(),
        }
    }

    /// Bytes not read yet.
    pub fn unread(&self) -> usize {
        self.unread
    }
}

impl Read for PieceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(piece) = self.pieces.front_mut() else {
            return Ok(0);
        };
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        *piece = &piece[n..];
        if piece.is_empty() {
            self.pieces.pop_front();
        }
        self.unread -= n;
        Ok(n)
    }
}

/// Feeds `input` to a frame reader through a [`PieceReader`]: `read` reads
/// frames until it sees the end of the stream; bytes it left unread are an
/// error.
pub fn feed_reader<E, F>(read: F, input: &[u8], split: &Split) -> Outcome
where
    E: fmt::Display,
    F: Fn(&mut dyn Read) -> Result<Vec<Vec<u8>>, E>,
{
    let mut reader = PieceReader::new(input, split);
    match read(&mut reader) {
        Ok(frames) if reader.unread() == 0 => Outcome {
            frames,
            end: Ok(()),
        },
        Ok(frames) => Outcome {
            frames,
            end: Err(format!(
                "the reader returned with {} byte(s) unread",
                reader.unread()
            )),
        },
        Err(e) => Outcome {
            frames: Vec::new(),
            end: Err(e.to_string()),
        },
    }
}

/// A split under which the subject's outcome differed from the expected one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// How the input was fed: "whole", "one byte at a time", or "random
    /// pieces (seed S), shrunk".
    pub feeding: String,
    /// The split that failed; after shrinking, the smallest one found.
    pub split: Split,
    /// What should have come out.
    pub expected: Box<Outcome>,
    /// What came out.
    pub got: Box<Outcome>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the decoder depends on how the bytes were cut: fed {}, smallest failing split \
             {}\n  expected: {}\n  got:      {}",
            self.feeding, self.split, self.expected, self.got
        )
    }
}

impl std::error::Error for Failure {}

/// The verifier's settings. [`Verifier::new`] is modest enough for a
/// workspace's `cargo test`; raise [`Verifier::cases`] for a long hunt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verifier {
    cases: u32,
    seed: u64,
    max_piece: usize,
    max_pieces: usize,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// 64 random splits from seed 7, pieces of 1-64 bytes, up to 64 of them.
    pub fn new() -> Self {
        Self {
            cases: 64,
            seed: 7,
            max_piece: 64,
            max_pieces: 64,
        }
    }

    /// How many random splits to try.
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases.max(1);
        self
    }

    /// The seed of the random splits: the same seed, the same splits.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks that a decoder from `make` turns `input` into `expected`, and
    /// ends cleanly, however the input is cut.
    pub fn check_decoder<D: Decoder>(
        &self,
        make: impl Fn() -> D,
        input: &[u8],
        expected: &[Vec<u8>],
    ) -> Result<(), Failure> {
        let expected = Outcome {
            frames: expected.to_vec(),
            end: Ok(()),
        };
        self.check(
            |split| feed_decoder(make(), input, split),
            input.len(),
            expected,
        )
    }

    /// Checks that a decoder from `make` gives the same frames and the same
    /// error however `input` is cut, and that it does stop with an error
    /// (for hostile or broken inputs). Returns what it made of the input.
    pub fn check_decoder_refuses<D: Decoder>(
        &self,
        make: impl Fn() -> D,
        input: &[u8],
    ) -> Result<Outcome, Failure> {
        let whole = feed_decoder(make(), input, &Split::whole());
        if whole.end.is_ok() {
            return Err(Failure {
                feeding: "whole (expected an error)".into(),
                split: Split::whole(),
                expected: Box::new(Outcome {
                    frames: whole.frames.clone(),
                    end: Err("an error".into()),
                }),
                got: Box::new(whole),
            });
        }
        self.check(
            |split| feed_decoder(make(), input, split),
            input.len(),
            whole.clone(),
        )?;
        Ok(whole)
    }

    /// Checks that a `Read`-based frame reader turns `input` into
    /// `expected`, however the reads are cut, and reads every byte.
    pub fn check_reader<E, F>(
        &self,
        read: F,
        input: &[u8],
        expected: &[Vec<u8>],
    ) -> Result<(), Failure>
    where
        E: fmt::Display,
        F: Fn(&mut dyn Read) -> Result<Vec<Vec<u8>>, E>,
    {
        let expected = Outcome {
            frames: expected.to_vec(),
            end: Ok(()),
        };
        self.check(
            |split| feed_reader(&read, input, split),
            input.len(),
            expected,
        )
    }

    // ANCHOR: check
    /// Whole, then random pieces (shrunk on failure), then one byte at a time.
    fn check(
        &self,
        run: impl Fn(&Split) -> Outcome,
        len: usize,
        expected: Outcome,
    ) -> Result<(), Failure> {
        let fail = |feeding: String, split: Split, got: Outcome| Failure {
            feeding,
            split,
            expected: Box::new(expected.clone()),
            got: Box::new(got),
        };
        let whole = run(&Split::whole());
        if whole != expected {
            return Err(fail("whole".into(), Split::whole(), whole));
        }
        if let Some(split) = self.shrunk_failure(&run, &expected) {
            let got = run(&split);
            return Err(fail(
                format!("random pieces (seed {}), shrunk", self.seed),
                split,
                got,
            ));
        }
        let bytewise = Split::bytewise(len);
        let got = run(&bytewise);
        if got != expected {
            return Err(fail("one byte at a time".into(), bytewise, got));
        }
        Ok(())
    }
    // ANCHOR_END: check

    /// proptest's runner, seeded, without failure files: the smallest split
    /// it could shrink a failure to, if any random split failed.
    fn shrunk_failure(
        &self,
        run: &impl Fn(&Split) -> Outcome,
        expected: &Outcome,
    ) -> Option<Split> {
        let config = Config {
            cases: self.cases,
            failure_persistence: None,
            ..Config::default()
        };
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let splits = vec(1..=self.max_piece, 1..=self.max_pieces);
        let result = runner.run(&splits, |pieces| {
            if run(&Split { pieces }) == *expected {
                Ok(())
            } else {
                Err(TestCaseError::fail("the outcome differs"))
            }
        });
        match result {
            Ok(()) => None,
            Err(TestError::Fail(_, pieces)) => Some(Split { pieces }),
            // Abort: too many rejected cases, which this strategy never
            // rejects; treat it as no evidence either way.
            Err(TestError::Abort(_)) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::DecodeError;
    use crate::length4::Length4;
    use crate::lines::Lines;

    // ANCHOR: OneReadIsOneFrame
    /// The mistake of stage 2, as a decoder: it reads the 4-byte header,
    /// then takes whatever else has arrived as the whole body, as if one
    /// read were one frame.
    struct OneReadIsOneFrame;
    // ANCHOR_END: OneReadIsOneFrame

    impl Decoder for OneReadIsOneFrame {
        fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
            if buf.len() < 4 {
                return Ok(None);
            }
            buf.consume(4);
            Ok(Some(buf.take(buf.len())))
        }
    }

    fn hello_frame() -> Vec<u8> {
        let mut input = Vec::new();
        crate::Encoder::encode(&mut Length4::new(64), b"hello", &mut input).unwrap();
        input
    }

    /// The broken decoder passes when fed whole and fails with the smallest split: 4 bytes, then the rest.
    #[test]
    fn broken_decoder_fails_with_the_smallest_split() {
        let input = hello_frame();
        let expected = vec![b"hello".to_vec()];
        let whole = feed_decoder(OneReadIsOneFrame, &input, &Split::whole());
        assert_eq!(whole.frames, expected, "fed whole, the mistake hides");
        let failure = Verifier::new()
            .check_decoder(|| OneReadIsOneFrame, &input, &expected)
            .unwrap_err();
        assert_eq!(failure.split.pieces, vec![4], "{failure}");
        assert_eq!(failure.feeding, "random pieces (seed 7), shrunk");
        // The 4-byte piece became an empty frame; the next 5 bytes were
        // taken for another header and a 1-byte body.
        assert_eq!(
            failure.got.frames,
            vec![Vec::new(), b"o".to_vec()],
            "{failure}"
        );
        let shown = failure.to_string();
        assert!(
            shown.contains("smallest failing split [4, then the rest]"),
            "{shown}"
        );
        assert!(
            shown.contains("expected: 1 frame(s) [5 B], clean end"),
            "{shown}"
        );
        insta::assert_snapshot!("broken_decoder", shown);
    }

    /// A correct decoder passes; the same decoder with a dangling half line fails on the leftover.
    #[test]
    fn leftovers_are_an_error() {
        let v = Verifier::new().cases(16);
        let frames = vec![b"one".to_vec(), b"two".to_vec()];
        v.check_decoder(|| Lines::new(16), b"one\ntwo\n", &frames)
            .unwrap();
        let failure = v
            .check_decoder(|| Lines::new(16), b"one\ntwo\nthr", &frames)
            .unwrap_err();
        assert_eq!(failure.feeding, "whole");
        assert_eq!(
            failure.got.end,
            Err("the stream ended with 3 byte(s) of an unfinished frame".into())
        );
    }

    /// The piece reader hands out at most one piece per read, and no more than asked.
    #[test]
    fn piece_reader_respects_pieces() {
        let split = Split { pieces: vec![2, 3] };
        let mut r = PieceReader::new(b"abcdefgh", &split);
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf).unwrap(), 2);
        assert_eq!(r.read(&mut buf[..1]).unwrap(), 1);
        assert_eq!(r.read(&mut buf).unwrap(), 2);
        assert_eq!(r.read(&mut buf).unwrap(), 3);
        assert_eq!(r.read(&mut buf).unwrap(), 0);
        assert_eq!(split.to_string(), "[2, 3, then the rest]");
        assert_eq!(Split::bytewise(3).to_string(), "[1 x 3, then the rest]");
    }
}
