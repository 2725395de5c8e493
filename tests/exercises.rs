//! The exercise checker grades honestly: every reference solution passes,
//! every untouched stub fails, a stub that never returns is cut off by the
//! deadline, and a half-done set shows the next exercise's real failure.

use std::io::{self, Read};
use std::time::Duration;

use exercises::{Conn, Decoder, Set, Student};
use exercises_solutions::Solutions;
use sticky_packets::checker::{self, Lang, Status};

static SOLUTIONS: Solutions = Solutions;
static STUDENT: Student = Student;

/// Every reference solution passes every check.
#[test]
fn every_solution_passes() {
    let report = checker::check(&SOLUTIONS);
    for (ex, status) in &report.statuses {
        assert_eq!(
            *status,
            Status::Passed,
            "exercise {} ({}) failed on the reference solution",
            ex.number,
            ex.name
        );
    }
    assert_eq!(report.done(), checker::EXERCISES.len());
    assert!(checker::EXERCISES.len() >= 10);
}

/// Every untouched stub fails, and the report a student sees first is
/// the one the docs quote.
#[test]
fn every_stub_fails() {
    let report = checker::check(&STUDENT);
    for (ex, status) in &report.statuses {
        assert_ne!(
            *status,
            Status::Passed,
            "exercise {} ({}) passed untouched: the checker accepts a stub",
            ex.number,
            ex.name
        );
    }
    insta::assert_snapshot!("stubs_en", checker::render(&report, Lang::En));
    insta::assert_snapshot!("stubs_zh", checker::render(&report, Lang::Zh));
}

/// The answers so far: the solutions for exercises 1 to 9, the student's
/// untouched file for exercise 10, the decoder that passes on loopback.
struct UpToTen;

impl Set for UpToTen {
    fn read_exact(&self, r: &mut dyn Read, buf: &mut [u8]) -> io::Result<()> {
        SOLUTIONS.read_exact(r, buf)
    }
    fn read_frame(&self, r: &mut dyn Read, max: usize) -> io::Result<Option<Vec<u8>>> {
        SOLUTIONS.read_frame(r, max)
    }
    fn run_command(&self, stream: &mut dyn Conn, command: &str) -> io::Result<Vec<u8>> {
        SOLUTIONS.run_command(stream, command)
    }
    fn read_file_info(&self, r: &mut dyn Read) -> io::Result<Vec<u8>> {
        SOLUTIONS.read_file_info(r)
    }
    fn check_filename(&self, name: &str) -> Result<(), String> {
        SOLUTIONS.check_filename(name)
    }
    fn read_records(&self, r: &mut dyn Read, record: usize) -> io::Result<Vec<Vec<u8>>> {
        SOLUTIONS.read_records(r, record)
    }
    fn line_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        SOLUTIONS.line_decoder(max)
    }
    fn netstring_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        SOLUTIONS.netstring_decoder(max)
    }
    fn varint_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        SOLUTIONS.varint_decoder(max)
    }
    fn length_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        STUDENT.length_decoder(max)
    }
}

static UP_TO_TEN: UpToTen = UpToTen;

/// The "find the bug" decoder passes the loopback round trips and is caught
/// by the verifier, which names the smallest split that broke it.
#[test]
fn the_buggy_decoder_is_caught_by_the_verifier() {
    let report = checker::check(&UP_TO_TEN);
    assert_eq!(report.done(), 9);
    let (ex, status) = &report.statuses[9];
    assert_eq!(ex.number, 10);
    let Status::Failed(fail) = status else {
        panic!("exercise 10 should fail, got {status:?}");
    };
    assert!(fail.check.en.contains("decoder verifier"), "{fail:?}");
    assert!(fail.detail.contains("smallest split"), "{fail:?}");
    insta::assert_snapshot!("find_the_bug_en", checker::render(&report, Lang::En));
    insta::assert_snapshot!("find_the_bug_zh", checker::render(&report, Lang::Zh));
}

/// Answers that never return: every method sleeps forever.
struct Hangs;

fn forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

impl Set for Hangs {
    fn read_exact(&self, _: &mut dyn Read, _: &mut [u8]) -> io::Result<()> {
        forever()
    }
    fn read_frame(&self, _: &mut dyn Read, _: usize) -> io::Result<Option<Vec<u8>>> {
        forever()
    }
    fn run_command(&self, _: &mut dyn Conn, _: &str) -> io::Result<Vec<u8>> {
        forever()
    }
    fn read_file_info(&self, _: &mut dyn Read) -> io::Result<Vec<u8>> {
        forever()
    }
    fn check_filename(&self, _: &str) -> Result<(), String> {
        forever()
    }
    fn read_records(&self, _: &mut dyn Read, _: usize) -> io::Result<Vec<Vec<u8>>> {
        forever()
    }
    fn line_decoder(&self, _: usize) -> Box<dyn Decoder + Send> {
        forever()
    }
    fn netstring_decoder(&self, _: usize) -> Box<dyn Decoder + Send> {
        forever()
    }
    fn varint_decoder(&self, _: usize) -> Box<dyn Decoder + Send> {
        forever()
    }
    fn length_decoder(&self, _: usize) -> Box<dyn Decoder + Send> {
        forever()
    }
}

static HANGS: Hangs = Hangs;

/// A loop that never ends is reported as timed out, within the deadline.
#[test]
fn a_hanging_answer_times_out() {
    let started = std::time::Instant::now();
    let report = checker::check_within(&HANGS, Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(5));
    for (ex, status) in &report.statuses {
        assert_eq!(*status, Status::TimedOut, "exercise {}", ex.number);
    }
    assert!(checker::render(&report, Lang::En).contains("timed out"));
}

/// `--lang` wins over `LANG`, and any `zh` variant picks Chinese.
#[test]
fn language_choice() {
    assert_eq!(Lang::choose(Some("zh-CN")), Lang::Zh);
    assert_eq!(Lang::choose(Some("zh_CN.UTF-8")), Lang::Zh);
    assert_eq!(Lang::choose(Some("en")), Lang::En);
}

/// Plausible wrong answers, the ones students write first: one `read` taken
/// as the whole thing, decoders that wait for the end before checking the
/// size, a file-name rule that is too broad.
struct Plausible;

fn one_read(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let got = r.read(&mut buf)?;
    buf.truncate(got);
    Ok(buf)
}

/// Where a whole buffered frame's body starts, how long it is, and where
/// the frame ends; `None` until the whole frame is buffered.
type FrameEnd = fn(&[u8]) -> Option<(usize, usize, usize)>;

/// Waits for the whole frame, then checks: the size limit comes too late.
struct LateCheck {
    frame_end: FrameEnd,
    max: usize,
}

impl Decoder for LateCheck {
    fn decode(
        &mut self,
        buf: &mut exercises::Buffer,
    ) -> Result<Option<Vec<u8>>, exercises::DecodeError> {
        let Some((start, len, end)) = (self.frame_end)(buf.as_slice()) else {
            return Ok(None);
        };
        if len > self.max {
            return Err(exercises::DecodeError::TooLarge {
                what: "frame",
                len: len as u64,
                at_least: false,
                max: self.max as u64,
            });
        }
        let frame = buf.as_slice()[start..start + len].to_vec();
        buf.consume(end);
        Ok(Some(frame))
    }
}

fn line_end(b: &[u8]) -> Option<(usize, usize, usize)> {
    let n = b.iter().position(|&c| c == b'\n')?;
    Some((0, n, n + 1))
}

fn netstring_end(b: &[u8]) -> Option<(usize, usize, usize)> {
    let colon = b.iter().position(|&c| c == b':')?;
    let len: usize = std::str::from_utf8(&b[..colon]).ok()?.parse().ok()?;
    (b.len() > colon + len + 1).then_some((colon + 1, len, colon + len + 2))
}

fn varint_end(b: &[u8]) -> Option<(usize, usize, usize)> {
    let (len, n) = framing_gallery::varint::get_varint(b).ok()??;
    let len = len as usize;
    (b.len() >= n + len).then_some((n, len, n + len))
}

impl Set for Plausible {
    fn read_exact(&self, r: &mut dyn Read, buf: &mut [u8]) -> io::Result<()> {
        let n = r.read(buf)?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
    fn read_frame(&self, r: &mut dyn Read, max: usize) -> io::Result<Option<Vec<u8>>> {
        let header = one_read(r, 4)?;
        if header.is_empty() {
            return Ok(None);
        }
        let len = u32::from_le_bytes(header.try_into().map_err(|_| io::ErrorKind::InvalidData)?);
        if len as usize > max {
            return Err(io::ErrorKind::InvalidData.into());
        }
        one_read(r, len as usize).map(Some)
    }
    fn run_command(&self, stream: &mut dyn Conn, command: &str) -> io::Result<Vec<u8>> {
        STUDENT.run_command(stream, command)
    }
    fn read_file_info(&self, r: &mut dyn Read) -> io::Result<Vec<u8>> {
        one_read(r, 1024)
    }
    fn check_filename(&self, name: &str) -> Result<(), String> {
        if name.is_empty() || name.contains("..") || name.contains('/') {
            Err("refused".into())
        } else {
            Ok(())
        }
    }
    fn read_records(&self, r: &mut dyn Read, record: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut records = Vec::new();
        loop {
            let rec = one_read(r, record)?;
            if rec.is_empty() {
                return Ok(records);
            }
            records.push(rec);
        }
    }
    fn line_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(LateCheck {
            frame_end: line_end,
            max,
        })
    }
    fn netstring_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(LateCheck {
            frame_end: netstring_end,
            max,
        })
    }
    fn varint_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        Box::new(LateCheck {
            frame_end: varint_end,
            max,
        })
    }
    fn length_decoder(&self, max: usize) -> Box<dyn Decoder + Send> {
        STUDENT.length_decoder(max)
    }
}

static PLAUSIBLE: Plausible = Plausible;

/// The checker fails the answers students write first, not only stubs:
/// each plausible wrong answer fails a check (it does not merely panic or
/// time out).
#[test]
fn plausible_wrong_answers_fail() {
    let report = checker::check(&PLAUSIBLE);
    for (ex, status) in &report.statuses {
        assert!(
            matches!(status, Status::Failed(_)),
            "exercise {} ({}): a plausible wrong answer got {status:?}",
            ex.number,
            ex.name
        );
    }
}
