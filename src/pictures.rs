//! The course's pictures, drawn from the demos' own events.
//!
//! Every picture under `docs/pictures/` is an SVG drawn here from the same
//! [`Timeline`] a demo prints in its transcript: the messages one end wrote
//! (above), the reads the other end made (below), the stream's byte offsets
//! between them, every sticky read (粘包) and every cut inside a message
//! (拆包) marked. Nothing in a picture is typed by hand, so a demo that
//! changes changes its picture, and `tests/docs.rs` fails until the committed
//! file is regenerated with `UPDATE_DOCS=1 cargo test --test docs`.
//!
//! Where a stage exposes its timeline ([`length_header_fix::run_conversation`])
//! the picture takes it directly; otherwise it takes the timeline block out of
//! the demo's transcript and rebuilds the [`Timeline`] from it, and refuses
//! the block unless the rebuilt timeline renders back to exactly the same
//! text, so a change to the transcript's format cannot be misread silently.
//!
//! The SVG is written by hand as text: integer or one-decimal coordinates, no
//! timestamps, no randomness, so the same events give the same bytes on every
//! machine. Labels are numbers, byte ranges and short English + 中文 words, so
//! one file serves both books; the font list names CJK fonts for the 中文.

use std::io;

use common::timeline::Message;
use common::weather::{Direction, Weather};
use common::{Tap, Timeline};

// One file per kind of picture, beside the two things they share: the SVG
// vocabulary (`canvas`) and the byte axis (`axis`). Reading the demos'
// transcripts back is a job of its own (`transcript`), kept apart from drawing.
mod axis;
mod boundary;
mod byte_path;
mod canvas;
mod datagrams;
mod nagle;
mod sequence;
mod transcript;

#[cfg(test)]
mod tests;

pub use boundary::boundary_svg;
pub use byte_path::byte_path_svg;
pub use datagrams::datagram_svg;
pub use nagle::nagle_svg;
pub use sequence::{sequence_svg, Step};
pub use transcript::timelines_in;

use transcript::{datagrams_in, replies_in};

/// One generated picture: where it lives under `docs/pictures/` and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// File name inside `docs/pictures/`, such as `stage2-timeline.svg`.
    pub file: &'static str,
    /// The whole SVG document.
    pub svg: String,
}

/// The directory, relative to the repository root, that holds the pictures.
pub const PICTURES_DIR: &str = "docs/pictures";

/// Runs the demos and draws every picture of the course, in a fixed order.
pub fn all() -> io::Result<Vec<Picture>> {
    let mut pictures = Vec::new();

    let stage1 = udp_echo::demo_transcript()?;
    for (part, file, caption) in [
        (
            "(b)",
            "stage1-datagrams.svg",
            "Stage 1 · three datagrams waiting, three receives · 第 1 阶段：三个数据报，三次接收",
        ),
        (
            "(c)",
            "stage1-truncated.svg",
            "Stage 1 · a datagram larger than the buffer · 第 1 阶段：数据报大于接收缓冲区",
        ),
    ] {
        let (sent, received) = datagrams_in(&stage1, part)?;
        pictures.push(Picture {
            file,
            svg: datagram_svg(&sent, &received, caption),
        });
    }

    let stage2 = timelines_in(&naive_exec_sticky::demo_transcript()?)?;
    pictures.push(Picture {
        file: "stage2-timeline.svg",
        svg: boundary_svg(
            &pick(&stage2, 0, "stage 2")?,
            "Stage 2 · one recv(1024) per reply · 第 2 阶段：每个回复只读一次",
            None,
        ),
    });

    // The path of a byte, with stage 2's first reply and first read.
    let reply = pick(&stage2, 0, "stage 2")?;
    let first_len = reply.messages().first().map_or(0, |m| m.len);
    let first_read = reply.reads().first().copied().unwrap_or(0);
    pictures.push(Picture {
        file: "byte-path.svg",
        svg: byte_path_svg(first_len, first_read),
    });

    let stage3 = timelines_in(&sleep_fix::demo_transcript()?)?;
    pictures.push(Picture {
        file: "stage3-no-pause-timeline.svg",
        svg: boundary_svg(
            &pick(&stage3, 0, "stage 3")?,
            "Stage 3 without the pause · 第 3 阶段，不停顿",
            None,
        ),
    });
    pictures.push(Picture {
        file: "stage3-pause-timeline.svg",
        svg: boundary_svg(
            &pick(&stage3, 1, "stage 3")?,
            "Stage 3 with the pause · 第 3 阶段，停顿之后",
            None,
        ),
    });

    let stage4 = length_header_fix::run_conversation()?;
    pictures.push(Picture {
        file: "stage4-timeline.svg",
        svg: boundary_svg(
            &stage4.timeline,
            "Stage 4 · 4-byte length header, then the body · 第 4 阶段：4 字节长度报头 + 数据",
            Some(length_header_fix::HEADER_LEN),
        ),
    });

    // The Nagle/delayed-ACK ladder: the writes stage 4's own framing code
    // makes for the reply to `echo hi` (the demo's second reply), recorded
    // as it makes them, once in two writes and once in one.
    let body = stage4.replies.get(1).cloned().ok_or_else(|| {
        io::Error::other(
            "the stage 4 demo returned fewer than 2 replies; the ladder needs `echo hi`'s",
        )
    })?;
    let request = recorded_writes(|w| length_header_fix::send_command(w, "echo hi"))?;
    let two = recorded_writes(|w| length_header_fix::write_frame_in_two_writes(w, &body))?;
    let one = recorded_writes(|w| {
        length_header_fix::write_frame(w, &body, length_header_fix::DEFAULT_MAX_FRAME)
    })?;
    pictures.push(Picture {
        file: "nagle-ladder.svg",
        svg: nagle_svg(&request, &two, &one),
    });

    let stage5 = timelines_in(&ack_handshake::demo_transcript()?)?;
    for (i, file, caption) in [
        (
            0,
            "stage5-timeline.svg",
            "Stage 5 · info, wait for 200, then the bytes · 第 5 阶段：先发信息，等 200，再发数据",
        ),
        (
            1,
            "stage5-cut-timeline.svg",
            "Stage 5 · the info cut (拆包) · 第 5 阶段：文件信息被切开",
        ),
        (
            2,
            "stage5-glued-timeline.svg",
            "Stage 5 · a client that does not wait (粘包) · 第 5 阶段：不等 200 的客户端",
        ),
    ] {
        pictures.push(Picture {
            file,
            svg: boundary_svg(&pick(&stage5, i, "stage 5")?, caption, None),
        });
    }

    // The weather's re-chunking: stage 5's first upload (its file info and
    // the file's bytes, as the demo wrote them) cut by the matrix's
    // `--sizes 3,7` weather. With `--lockstep` every piece reaches the
    // server as a read of its own, so the pieces are the reads.
    let upload = pick(&stage5, 0, "stage 5")?;
    let first: Vec<Message> = upload.messages().into_iter().take(2).collect();
    let lens: Vec<usize> = first.iter().map(|m| m.len).collect();
    let weather = Weather::sizes(&[3, 7]);
    let rechunked = Timeline::new(format!(
        "client -> server through the weather {}, each piece one read (--lockstep)",
        weather.describe()
    ));
    for m in &first {
        rechunked.sent_labeled(m.label.clone(), m.len);
    }
    for piece in weather.piece_plan(Direction::ClientToUpstream, &lens) {
        rechunked.read(piece.len);
    }
    pictures.push(Picture {
        file: "weather-sizes-timeline.svg",
        svg: boundary_svg(
            &rechunked,
            "Weather --sizes 3,7 re-chunks stage 5's first upload · 网络天气按 3、7 字节重新切分",
            None,
        ),
    });

    // The upload's sequence: the client's messages are stage 5's timeline;
    // the server's answers are the ones the transcript shows, in order.
    let steps = sequence_steps(
        upload.messages(),
        &ack_handshake::demo_transcript()?,
        "stage 5",
        |m| m.label.starts_with("file info for"),
        None,
    )?;
    pictures.push(Picture {
        file: "stage5-sequence.svg",
        svg: sequence_svg(
            &steps,
            "Stage 5 · the upload, both directions · 第 5 阶段：上传的往返顺序",
        ),
    });

    let stage6_text = md5_upload::demo_transcript()?;
    let stage6 = timelines_in(&stage6_text)?;
    // The server says OK once it has every byte of the file, which is just
    // before the client sends the file's MD5; then its verdict.
    let steps = sequence_steps(
        pick(&stage6, 0, "stage 6")?.messages(),
        &stage6_text,
        "stage 6",
        |m| m.label.ends_with("md5, 32 hex characters"),
        Some(&String::from_utf8_lossy(md5_upload::wire::OK)),
    )?;
    pictures.push(Picture {
        file: "stage6-sequence.svg",
        svg: sequence_svg(
            &steps,
            "Stage 6 · four uploads, both directions · 第 6 阶段：四次上传的往返顺序",
        ),
    });
    pictures.push(Picture {
        file: "stage6-timeline.svg",
        svg: boundary_svg(
            &pick(&stage6, 0, "stage 6")?,
            "Stage 6 · every token read exactly · 第 6 阶段：每个字段都按长度读满",
            None,
        ),
    });

    Ok(pictures)
}

fn pick(timelines: &[Timeline], index: usize, stage: &str) -> io::Result<Timeline> {
    timelines.get(index).cloned().ok_or_else(|| {
        io::Error::other(format!(
            "the {stage} demo printed {} boundary timeline(s); the pictures need timeline {}",
            timelines.len(),
            index + 1
        ))
    })
}

/// The steps of an upload's sequence picture: the client's `messages` in
/// order and, after each one `answered` picks, the server's next answer that
/// `transcript` shows. `said_before` is an answer the transcript does not
/// print, which the server gives just before each picked message.
fn sequence_steps(
    messages: Vec<Message>,
    transcript: &str,
    stage: &str,
    answered: impl Fn(&Message) -> bool,
    said_before: Option<&str>,
) -> io::Result<Vec<Step>> {
    let answers = replies_in(transcript);
    let mut answer = answers.iter();
    let mut steps = Vec::new();
    for (i, m) in messages.into_iter().enumerate() {
        let is_answered = answered(&m);
        if let Some(code) = said_before.filter(|_| is_answered) {
            steps.push(Step::answer(code));
        }
        steps.push(Step::sent(i, m));
        if is_answered {
            let code = answer.next().ok_or_else(|| too_few_answers(stage))?;
            steps.push(Step::answer(code));
        }
    }
    Ok(steps)
}

fn too_few_answers(stage: &str) -> io::Error {
    io::Error::other(format!(
        "the {stage} demo's transcript shows fewer server answers (`<- CODE` lines) than \
         the sequence picture needs"
    ))
}

/// The sizes of the `write` calls `write` makes on a stream, recorded by a [`Tap`].
fn recorded_writes<F>(write: F) -> io::Result<Vec<usize>>
where
    F: FnOnce(&mut Tap<Vec<u8>>) -> io::Result<()>,
{
    let timeline = Timeline::new("writes");
    let mut tap = Tap::new(Vec::new()).record_writes(timeline.clone());
    write(&mut tap)?;
    Ok(timeline.messages().into_iter().map(|m| m.len).collect())
}
