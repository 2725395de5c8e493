//! The boundary timeline: which message's bytes did each read return?
//!
//! TCP carries a stream of bytes; the boundaries between the messages one end
//! wrote are not in that stream. In demo mode both ends live in one process,
//! so the demo *can* know them: the writing end records every message it
//! writes, the reading end records how many bytes every read returned, and the
//! timeline lines the two up. A read that holds bytes of two messages is
//! **sticky** (粘包); a message cut across two or more reads is **split**
//! (拆包). Fixed stages show the same picture, and then say how their reader
//! put every message back together.
//!
//! [`Tap`] wraps a stream and records into a timeline without the stage's own
//! code knowing: the lesson code stays exactly what a student would write.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::lang::Lang;

/// One direction of a byte stream as the demo saw it: the messages one end
/// wrote and the reads the other end made. Cloning shares the same record, so
/// the writing thread and the reading thread can each hold one.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    inner: Arc<Mutex<Record>>,
}

#[derive(Debug, Default)]
struct Record {
    title: String,
    pending_labels: VecDeque<String>,
    messages: Vec<Message>,
    reads: Vec<usize>,
}

/// A message as written: one `write` call, or one explicitly recorded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// What the message is in the story, such as "reply to `echo hi`".
    pub label: String,
    /// Its length in bytes.
    pub len: usize,
}

/// The part of one message that one read returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Index of the message in [`Timeline::messages`].
    pub message: usize,
    /// First byte of the message this read returned.
    pub start: usize,
    /// One past the last byte of the message this read returned.
    pub end: usize,
}

/// One read and the pieces of messages it returned, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadView {
    /// How many bytes the read returned.
    pub len: usize,
    /// The message pieces, in order. Bytes beyond every recorded message
    /// (which a correct demo never produces) are not listed.
    pub pieces: Vec<Piece>,
}

impl ReadView {
    /// A read is sticky when it holds bytes of more than one message.
    pub fn is_sticky(&self) -> bool {
        self.pieces.len() > 1
    }
}

/// What the timeline found, in numbers a test can assert on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    /// Every read, with the message pieces it returned.
    pub reads: Vec<ReadView>,
    /// For every message, the (1-based) numbers of the reads that carried it.
    pub carried_by: Vec<Vec<usize>>,
    /// How many reads held bytes of two or more messages.
    pub sticky_reads: usize,
    /// How many messages arrived cut across two or more reads.
    pub split_messages: usize,
    /// Bytes written but not (yet) read.
    pub unread: usize,
}

impl Timeline {
    /// An empty timeline; `title` names the direction, such as "server -> client".
    pub fn new(title: impl Into<String>) -> Self {
        let timeline = Self::default();
        timeline.lock().title = title.into();
        timeline
    }

    /// An empty timeline whose next messages take these labels, in order.
    /// Useful when a [`Tap`] records the writes: the demo knows its script.
    pub fn with_labels<I, L>(title: impl Into<String>, labels: I) -> Self
    where
        I: IntoIterator<Item = L>,
        L: Into<String>,
    {
        let timeline = Self::new(title);
        timeline
            .lock()
            .pending_labels
            .extend(labels.into_iter().map(Into::into));
        timeline
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        // A panic while holding this lock can only come from a bug in this
        // module; the record is still consistent, so keep using it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a label for the next message recorded with [`Timeline::sent`].
    pub fn push_label(&self, label: impl Into<String>) {
        self.lock().pending_labels.push_back(label.into());
    }

    /// Records a message of `len` bytes, labelled with the next queued label,
    /// or "write N" when none is queued.
    pub fn sent(&self, len: usize) {
        let mut record = self.lock();
        let label = match record.pending_labels.pop_front() {
            Some(label) => label,
            None => format!("write {}", record.messages.len() + 1),
        };
        record.messages.push(Message { label, len });
    }

    /// Records a message of `len` bytes with an explicit label.
    pub fn sent_labeled(&self, label: impl Into<String>, len: usize) {
        self.lock().messages.push(Message {
            label: label.into(),
            len,
        });
    }

    /// Records a read that returned `len` bytes (zero-byte reads are end of
    /// stream, not data, and are not recorded).
    pub fn read(&self, len: usize) {
        if len > 0 {
            self.lock().reads.push(len);
        }
    }

    /// The messages recorded so far.
    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    /// The lengths of the reads recorded so far.
    pub fn reads(&self) -> Vec<usize> {
        self.lock().reads.clone()
    }

    /// Lines the reads up against the messages.
    pub fn analysis(&self) -> Analysis {
        let record = self.lock();
        analyse(&record.messages, &record.reads)
    }

    /// The timeline as text for a transcript: the messages, every read with
    /// the message bytes it returned, and the sticky and split marks. It holds
    /// only lengths and labels, so it is identical on every run of a
    /// synchronised demo.
    pub fn render(&self) -> String {
        self.render_in(Lang::En)
    }

    /// [`Timeline::render`] told in `lang`. The title and the labels are
    /// printed as recorded: a demo records them in the language it tells.
    pub fn render_in(&self, lang: Lang) -> String {
        let zh = lang.is_zh();
        let record = self.lock();
        let analysis = analyse(&record.messages, &record.reads);
        let mut out = String::new();
        if zh {
            let _ = writeln!(out, "边界时间线，{}：", record.title);
            let _ = writeln!(out, "  写出的消息：");
        } else {
            let _ = writeln!(out, "boundary timeline, {}:", record.title);
            let _ = writeln!(out, "  messages written:");
        }
        let bytes = lang.pick("bytes", "字节");
        let width = record
            .messages
            .iter()
            .map(|m| m.len.to_string().len())
            .chain(record.reads.iter().map(|n| n.to_string().len()))
            .max()
            .unwrap_or(1);
        for (i, m) in record.messages.iter().enumerate() {
            let _ = writeln!(
                out,
                "    M{:<3} {:>width$} {bytes}  {}",
                i + 1,
                m.len,
                m.label
            );
        }
        let _ = writeln!(out, "  {}", lang.pick("reads:", "读取："));
        if analysis.reads.is_empty() {
            let _ = writeln!(out, "    {}", lang.pick("(none)", "（无）"));
        }
        let read_word = lang.pick("read", "读取");
        for (i, read) in analysis.reads.iter().enumerate() {
            let pieces: Vec<String> = read
                .pieces
                .iter()
                .map(|p| format!("M{}[{}..{})", p.message + 1, p.start, p.end))
                .collect();
            let mut line = format!(
                "    {read_word} {:<3} {:>width$} {bytes}  {}",
                i + 1,
                read.len,
                pieces.join(" + ")
            );
            if read.is_sticky() {
                line.push_str(lang.pick(
                    "  <- STICKY: one read, bytes of several messages",
                    "  <- 粘包：一次读取里有多条消息的字节",
                ));
            }
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "  {}",
            lang.pick("where each message went:", "每条消息落在哪次读取：")
        );
        for (i, (m, reads)) in record.messages.iter().zip(&analysis.carried_by).enumerate() {
            let place = match reads.as_slice() {
                [] if m.len == 0 => lang
                    .pick(
                        "nothing to read (an empty write sends no bytes)",
                        "没有可读的（空的 write 不发送任何字节）",
                    )
                    .to_string(),
                [] => lang.pick("not read", "未被读取").to_string(),
                [one] => format!("{read_word} {one}"),
                many => {
                    let list: Vec<String> = many.iter().map(|r| r.to_string()).collect();
                    if zh {
                        format!(
                            "读取 {}  <- 拆包：被切成 {} 次读取",
                            list.join(", "),
                            many.len()
                        )
                    } else {
                        format!(
                            "reads {}  <- SPLIT across {} reads",
                            list.join(", "),
                            many.len()
                        )
                    }
                }
            };
            let _ = writeln!(out, "    M{:<3} {place}", i + 1);
        }
        if zh {
            let _ = writeln!(
                out,
                "  粘包读取 {} 次，拆开的消息 {} 条，未读字节 {} 个",
                analysis.sticky_reads, analysis.split_messages, analysis.unread
            );
        } else {
            let _ = writeln!(
                out,
                "  {} sticky read(s), {} split message(s), {} byte(s) unread",
                analysis.sticky_reads, analysis.split_messages, analysis.unread
            );
        }
        out
    }
}

fn analyse(messages: &[Message], reads: &[usize]) -> Analysis {
    // Each message occupies [starts[i], starts[i] + len) of the stream.
    let mut starts = Vec::with_capacity(messages.len());
    let mut total = 0usize;
    for m in messages {
        starts.push(total);
        total += m.len;
    }
    let mut carried_by = vec![Vec::new(); messages.len()];
    let mut views = Vec::with_capacity(reads.len());
    let mut pos = 0usize;
    for (r, &len) in reads.iter().enumerate() {
        let (from, to) = (pos, pos + len);
        let mut pieces = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let (m_from, m_to) = (starts[i], starts[i] + m.len);
            let (lo, hi) = (from.max(m_from), to.min(m_to));
            if lo < hi {
                pieces.push(Piece {
                    message: i,
                    start: lo - m_from,
                    end: hi - m_from,
                });
                carried_by[i].push(r + 1);
            }
        }
        views.push(ReadView { len, pieces });
        pos = to;
    }
    Analysis {
        sticky_reads: views.iter().filter(|v| v.is_sticky()).count(),
        split_messages: carried_by.iter().filter(|r| r.len() > 1).count(),
        unread: total.saturating_sub(pos),
        reads: views,
        carried_by,
    }
}

/// A stream wrapper that records into timelines: every `write` as a message,
/// every `read` as a read. It can also cap each read, the way Python's
/// `recv(1024)` asks for at most 1,024 bytes, so that a demo's reader makes
/// the same reads whatever buffer size the stage's code passes.
#[derive(Debug)]
pub struct Tap<S> {
    inner: S,
    writes: Option<Timeline>,
    reads: Option<Timeline>,
    max_read: Option<usize>,
}

impl<S> Tap<S> {
    /// Wraps `inner`; nothing is recorded until a timeline is attached.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            writes: None,
            reads: None,
            max_read: None,
        }
    }

    /// Records every successful `write` into `timeline` as one message.
    pub fn record_writes(mut self, timeline: Timeline) -> Self {
        self.writes = Some(timeline);
        self
    }

    /// Records every successful `read` into `timeline`.
    pub fn record_reads(mut self, timeline: Timeline) -> Self {
        self.reads = Some(timeline);
        self
    }

    /// Asks the inner stream for at most `max` bytes a read.
    pub fn max_read(mut self, max: usize) -> Self {
        self.max_read = Some(max.max(1));
        self
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Read> Read for Tap<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let cap = self.max_read.map_or(buf.len(), |m| m.min(buf.len()));
        let n = self.inner.read(&mut buf[..cap])?;
        if let Some(t) = &self.reads {
            t.read(n);
        }
        Ok(n)
    }
}

impl<S: Write> Write for Tap<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(t) = &self.writes {
            if n > 0 {
                t.sent(n);
            }
        }
        Ok(n)
    }

    // Passed through, so one vectored write (a stage-4 frame) stays one
    // write on the socket and one message on the timeline.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.inner.write_vectored(bufs)?;
        if let Some(t) = &self.writes {
            if n > 0 {
                t.sent(n);
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(messages: &[usize], reads: &[usize]) -> Timeline {
        let t = Timeline::new("test");
        for &m in messages {
            t.sent(m);
        }
        for &r in reads {
            t.read(r);
        }
        t
    }

    /// A read spanning the end of one message and the start of the next is sticky; the first message is split.
    #[test]
    fn sticky_and_split_are_found() {
        let a = timeline(&[1492, 3], &[1024, 471]).analysis();
        assert_eq!(a.sticky_reads, 1);
        assert_eq!(a.split_messages, 1);
        assert_eq!(a.carried_by, vec![vec![1, 2], vec![2]]);
        assert_eq!(
            a.reads[1].pieces,
            vec![
                Piece {
                    message: 0,
                    start: 1024,
                    end: 1492
                },
                Piece {
                    message: 1,
                    start: 0,
                    end: 3
                }
            ]
        );
        assert_eq!(a.unread, 0);
    }

    /// One read per message: neither sticky nor split.
    #[test]
    fn clean_stream_has_no_marks() {
        let t = timeline(&[5, 7], &[5, 7]);
        let a = t.analysis();
        assert_eq!((a.sticky_reads, a.split_messages, a.unread), (0, 0, 0));
        assert!(!t.render().contains("STICKY"));
        assert!(!t.render().contains("SPLIT"));
    }

    /// Bytes written and never read are counted as unread.
    #[test]
    fn unread_bytes_are_counted() {
        let a = timeline(&[10, 10], &[4]).analysis();
        assert_eq!(a.unread, 16);
        assert_eq!(a.carried_by, vec![vec![1], vec![]]);
    }

    /// Labels queued up front name the messages a Tap records, in order.
    #[test]
    fn tap_records_writes_and_capped_reads() {
        let sent = Timeline::with_labels("w", ["first", "second"]);
        let mut tap = Tap::new(Vec::new()).record_writes(sent.clone());
        tap.write_all(b"hello").unwrap();
        tap.write_all(b"world!").unwrap();
        tap.write_all(b"x").unwrap();
        let labels: Vec<String> = sent.messages().into_iter().map(|m| m.label).collect();
        assert_eq!(labels, ["first", "second", "write 3"]);

        let got = Timeline::new("r");
        let bytes = tap.into_inner();
        let mut reader = Tap::new(&bytes[..]).record_reads(got.clone()).max_read(4);
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"helloworld!x");
        assert_eq!(got.reads(), vec![4, 4, 4]);
    }

    /// The rendering marks the sticky read and the split message in words.
    #[test]
    fn render_marks_sticky_and_split() {
        let text = timeline(&[1492, 3], &[1024, 471]).render();
        assert!(text.contains("read 2"), "{text}");
        assert!(
            text.contains("M1[1024..1492) + M2[0..3)  <- STICKY"),
            "{text}"
        );
        assert!(
            text.contains("reads 1, 2  <- SPLIT across 2 reads"),
            "{text}"
        );
    }
}
