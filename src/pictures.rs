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

use std::fmt::Write as _;
use std::io;

use common::timeline::{Analysis, Message};
use common::weather::{Direction, Weather};
use common::{Tap, Timeline};

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
    let stage5_text = ack_handshake::demo_transcript()?;
    let answers = replies_in(&stage5_text);
    let mut answer = answers.iter();
    let mut steps = Vec::new();
    for (i, m) in upload.messages().into_iter().enumerate() {
        let is_info = m.label.starts_with("file info for");
        steps.push(Step::sent(i, m));
        if is_info {
            let code = answer.next().ok_or_else(|| too_few_answers("stage 5"))?;
            steps.push(Step::answer(code));
        }
    }
    pictures.push(Picture {
        file: "stage5-sequence.svg",
        svg: sequence_svg(
            &steps,
            "Stage 5 · the upload, both directions · 第 5 阶段：上传的往返顺序",
        ),
    });

    let stage6_text = md5_upload::demo_transcript()?;
    let stage6 = timelines_in(&stage6_text)?;
    let answers = replies_in(&stage6_text);
    let mut answer = answers.iter();
    let mut steps = Vec::new();
    for (i, m) in pick(&stage6, 0, "stage 6")?
        .messages()
        .into_iter()
        .enumerate()
    {
        // The server says OK once it has every byte of the file, which is
        // just before the client sends the file's MD5; then its verdict.
        let is_digest = m.label.ends_with("md5, 32 hex characters");
        if is_digest {
            steps.push(Step::answer(&String::from_utf8_lossy(md5_upload::wire::OK)));
        }
        steps.push(Step::sent(i, m));
        if is_digest {
            let code = answer.next().ok_or_else(|| too_few_answers("stage 6"))?;
            steps.push(Step::answer(code));
        }
    }
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

/// The datagrams one part of stage 1's transcript shows: the sizes the client
/// sent and the sizes the server's receives returned, in order.
fn datagrams_in(transcript: &str, part: &str) -> io::Result<(Vec<usize>, Vec<usize>)> {
    let mut lines = transcript.lines().skip_while(|l| !l.starts_with(part));
    if lines.next().is_none() {
        return Err(io::Error::other(format!(
            "stage 1's transcript has no part {part}; the datagram pictures need it"
        )));
    }
    let (mut sent, mut received) = (Vec::new(), Vec::new());
    for line in lines.take_while(|l| !l.trim().is_empty()) {
        let size = |rest: &str| -> Option<usize> {
            rest.split_whitespace().next().and_then(|n| n.parse().ok())
        };
        let t = line.trim_start();
        if let Some(n) = t.strip_prefix("client sends").and_then(size) {
            sent.push(n);
        } else if let Some(rest) = t.strip_prefix("server receive ") {
            // `server receive 1   1024 bytes`: skip the receive's number.
            if let Some(n) = rest.split_whitespace().nth(1).and_then(|n| n.parse().ok()) {
                received.push(n);
            }
        }
    }
    if sent.is_empty() || sent.len() != received.len() {
        return Err(io::Error::other(format!(
            "stage 1's part {part} shows {} datagram(s) sent and {} received; the picture \
             pairs them one to one",
            sent.len(),
            received.len()
        )));
    }
    Ok((sent, received))
}

/// Draws datagrams sent (above) and what each receive returned (below): one
/// receive per datagram, and the part of a datagram the buffer had no room
/// for, lost.
pub fn datagram_svg(sent: &[usize], received: &[usize], caption: &str) -> String {
    let messages: Vec<Message> = sent
        .iter()
        .map(|&len| Message {
            label: String::new(),
            len,
        })
        .collect();
    // Cut points: each datagram's end, and where its receive stopped.
    let cuts: Vec<usize> = sent
        .iter()
        .zip(received)
        .flat_map(|(&s, &r)| if r < s { vec![r, s - r] } else { vec![s] })
        .collect();
    let axis = Axis::new(&messages, &cuts, None);
    let width = axis.width;
    let (w_top, w_h, r_top, r_h) = (50.0, 38.0, 120.0, 38.0);
    let height = 210.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONTS}\" font-size=\"12\" role=\"img\" \
         aria-labelledby=\"title\">"
    );
    let _ = writeln!(s, "<title id=\"title\">{}</title>", esc(caption));
    let _ = writeln!(
        s,
        "<metadata>Drawn by src/pictures.rs from stage 1's demo transcript; do not edit: \
         redraw with UPDATE_DOCS=1 cargo test --test docs</metadata>"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        esc(caption)
    );
    for (y, en, zh) in [
        (w_top + w_h / 2.0, "sent", "发送"),
        (r_top + r_h / 2.0, "received", "接收"),
    ] {
        let _ = writeln!(
            s,
            "<text x=\"12\" y=\"{:.1}\" font-weight=\"bold\">{en}</text>\
             <text x=\"12\" y=\"{:.1}\" fill=\"#555555\">{zh}</text>",
            y - 2.0,
            y + 13.0
        );
    }
    let mut start = 0usize;
    for (i, (&len, &got)) in sent.iter().zip(received).enumerate() {
        let (x0, x1) = (axis.start(start) + 2.0, axis.end(start + len) - 2.0);
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{w_top}\" width=\"{:.1}\" height=\"{w_h}\" fill=\"{}\" \
             stroke=\"#333333\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
             font-weight=\"bold\" {HALO}>{}</text>",
            x1 - x0,
            fill(i),
            (x0 + x1) / 2.0,
            w_top + w_h / 2.0 + 4.0,
            esc(&fitting(
                format!("datagram {} · {}", i + 1, bytes(len)),
                bytes(len),
                x1 - x0
            ))
        );
        let kept = got.min(len);
        let xr = if kept < len {
            axis.end(start + kept)
        } else {
            x1
        };
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{r_top}\" width=\"{:.1}\" height=\"{r_h}\" fill=\"{}\" \
             stroke=\"#222222\" stroke-width=\"1.2\"/><text x=\"{:.1}\" y=\"{:.1}\" \
             text-anchor=\"middle\" font-weight=\"bold\" {HALO}>{}</text>",
            xr - x0,
            fill(i),
            (x0 + xr) / 2.0,
            r_top + r_h / 2.0 + 4.0,
            esc(&fitting(
                format!("receive {} · {}", i + 1, bytes(got)),
                bytes(got),
                xr - x0
            ))
        );
        let note = if kept < len {
            let _ = writeln!(
                s,
                "<rect x=\"{xr:.1}\" y=\"{r_top}\" width=\"{:.1}\" height=\"{r_h}\" fill=\"#f2f2f2\" \
                 stroke=\"{CUT}\" stroke-dasharray=\"5 3\"/><text x=\"{:.1}\" y=\"{:.1}\" \
                 text-anchor=\"middle\" fill=\"{CUT}\" font-weight=\"bold\">{} lost · 丢弃</text>",
                x1 - xr,
                (xr + x1) / 2.0,
                r_top + r_h / 2.0 + 4.0,
                bytes(len - kept)
            );
            "cut: the rest is gone · 被截断"
        } else {
            "whole · 完整"
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333333\">{note}</text>",
            (x0 + x1) / 2.0,
            r_top + r_h + 18.0
        );
        start += len;
    }
    s.push_str("</svg>\n");
    s
}

/// The path of a byte from the server's `write` to the client's `read`: five
/// places, with what each keeps and what it forgets. The sizes are stage 2's
/// first reply and the first read the demo made of it.
pub fn byte_path_svg(written: usize, read: usize) -> String {
    let caption = "The path of a byte · 一个字节走过的路";
    let stages: [(&str, &str, [String; 3]); 5] = [
        (
            "server program",
            "服务端程序",
            [
                format!("write_all({})", bytes(written)),
                "one write, one call".into(),
                "一次写入".into(),
            ],
        ),
        (
            "server kernel",
            "服务端内核",
            [
                "send buffer · 发送缓冲区".into(),
                "copied, then returns".into(),
                "拷贝进去就返回".into(),
            ],
        ),
        (
            "TCP segments",
            "TCP 报文段",
            [
                "each ≤ MSS · 每段 ≤ MSS".into(),
                "Nagle may hold small ones".into(),
                "Nagle 可能攒住小段".into(),
            ],
        ),
        (
            "client kernel",
            "客户端内核",
            [
                "receive buffer · 接收缓冲区".into(),
                "bytes only, no boundary".into(),
                "只有字节，没有边界".into(),
            ],
        ),
        (
            "client program",
            "客户端程序",
            [
                format!("read(buf of {read})"),
                "returns what is waiting".into(),
                "返回当时已到的数据".into(),
            ],
        ),
    ];
    let (width, height) = (900.0, 170.0);
    let (box_w, gap, top, box_h) = (160.0, 20.0, 44.0, 110.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONTS}\" font-size=\"12\" role=\"img\" \
         aria-labelledby=\"title\">"
    );
    let _ = writeln!(s, "<title id=\"title\">{}</title>", esc(caption));
    let _ = writeln!(
        s,
        "<metadata>Drawn by src/pictures.rs with stage 2's first reply and read; do not edit: \
         redraw with UPDATE_DOCS=1 cargo test --test docs</metadata>"
    );
    let _ = writeln!(
        s,
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
         markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"context-stroke\"/></marker></defs>"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        esc(caption)
    );
    for (i, (en, zh, lines)) in stages.iter().enumerate() {
        let x = 14.0 + (box_w + gap) * i as f64;
        let cx = x + box_w / 2.0;
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{top}\" width=\"{box_w}\" height=\"{box_h}\" rx=\"6\" fill=\"{}\" \
             stroke=\"#333333\"/><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
             font-weight=\"bold\">{en}</text><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
             font-weight=\"bold\">{zh}</text>",
            fill(i),
            top + 20.0,
            top + 38.0
        );
        for (k, line) in lines.iter().enumerate() {
            let _ = writeln!(
                s,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                top + 62.0 + 17.0 * k as f64,
                esc(line)
            );
        }
        if i + 1 < stages.len() {
            let _ = writeln!(
                s,
                "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333333\" \
                 stroke-width=\"1.6\" marker-end=\"url(#arrow)\"/>",
                x + box_w + 1.0,
                top + box_h / 2.0,
                x + box_w + gap - 1.0,
                top + box_h / 2.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// `long` when it fits in `room` pixels of bold 12 px text, else `short`.
fn fitting(long: String, short: String, room: f64) -> String {
    if text_width(&long, 12.0) <= room - 6.0 {
        long
    } else {
        short
    }
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

/// The Nagle/delayed-ACK ladder: the same reply written in two writes (left)
/// and in one (right). The write sizes are recorded from stage 4's framing
/// code; the waiting is the rule of RFC 896 and RFC 1122, with the delayed-ACK
/// timer's documented values (Linux `TCP_DELACK_MIN`, Windows' default).
pub fn nagle_svg(request: &[usize], two: &[usize], one: &[usize]) -> String {
    let caption = "Nagle + delayed ACK: the reply to `echo hi` · Nagle 算法 + 延迟确认";
    let (width, height) = (900.0, 420.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONTS}\" font-size=\"12\" role=\"img\" \
         aria-labelledby=\"title\">"
    );
    let _ = writeln!(s, "<title id=\"title\">{}</title>", esc(caption));
    let _ = writeln!(
        s,
        "<metadata>Drawn by src/pictures.rs from the writes stage 4's framing code makes; do not \
         edit: redraw with UPDATE_DOCS=1 cargo test --test docs</metadata>"
    );
    let _ = writeln!(
        s,
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
         markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"context-stroke\"/></marker></defs>"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"24\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        esc(caption)
    );
    let request_len: usize = request.iter().sum();
    let arrow = |s: &mut String, x0: f64, y0: f64, x1: f64, y1: f64, colour: &str, label: &str| {
        let _ = writeln!(
            s,
            "<line x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\" stroke=\"{colour}\" \
             stroke-width=\"1.6\" marker-end=\"url(#arrow)\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{colour}\" {HALO}>{}</text>",
            (x0 + x1) / 2.0,
            (y0 + y1) / 2.0 - 8.0,
            esc(label)
        );
    };
    for (panel, (title, writes)) in [
        (format!("{} writes · {} 次写入", two.len(), two.len()), two),
        (format!("{} write · {} 次写入", one.len(), one.len()), one),
    ]
    .into_iter()
    .enumerate()
    {
        let x = 12.0 + 444.0 * panel as f64;
        let (client_x, server_x) = (x + 60.0, x + 370.0);
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"52\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{}</text>",
            x + 215.0,
            esc(&title)
        );
        for (lx, name) in [(client_x, "client 客户端"), (server_x, "server 服务端")] {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"62\" width=\"100\" height=\"22\" fill=\"#f2f2f2\" stroke=\"#333333\"/>\
                 <text x=\"{lx:.1}\" y=\"77\" text-anchor=\"middle\" font-weight=\"bold\">{name}</text>\
                 <line x1=\"{lx:.1}\" y1=\"84\" x2=\"{lx:.1}\" y2=\"{:.1}\" stroke=\"#888888\" \
                 stroke-dasharray=\"2 3\"/>",
                lx - 50.0,
                height - 16.0
            );
        }
        let blue = "#1f5fa8";
        let orange = "#b35900";
        arrow(
            &mut s,
            client_x,
            104.0,
            server_x,
            124.0,
            blue,
            &format!("request `echo hi` · {}", bytes(request_len)),
        );
        let mut y = 140.0;
        for (w, &len) in writes.iter().enumerate() {
            let label = format!("write {} · {}", w + 1, bytes(len));
            if w == 0 {
                arrow(&mut s, server_x, y, client_x, y + 20.0, orange, &label);
                y += 36.0;
                continue;
            }
            // A later small write while the first is unacknowledged: held.
            let wait = 150.0;
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"14\" height=\"{wait:.1}\" fill=\"#f6cfe0\" stroke=\"{STICKY}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{STICKY}\">{} held: Nagle</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{STICKY}\">waits for the ACK</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{STICKY}\">Nagle 攒住，等确认</text>",
                server_x - 7.0,
                server_x - 12.0,
                y + 18.0,
                esc(&label),
                server_x - 12.0,
                y + 34.0,
                server_x - 12.0,
                y + 50.0
            );
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"14\" height=\"{:.1}\" fill=\"#fff1a8\" stroke=\"#8a6d00\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a6d00\">delayed ACK · 延迟确认</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a6d00\">Linux ≥ 40 ms (TCP_DELACK_MIN)</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a6d00\">Windows 200 ms · RFC 1122 &lt; 500 ms</text>",
                client_x - 7.0,
                y - 16.0,
                wait - 4.0,
                client_x + 14.0,
                y + 66.0,
                client_x + 14.0,
                y + 82.0,
                client_x + 14.0,
                y + 98.0
            );
            arrow(
                &mut s,
                client_x,
                y + wait - 20.0,
                server_x,
                y + wait - 4.0,
                "#555555",
                "ACK · 0 B",
            );
            arrow(
                &mut s,
                server_x,
                y + wait + 4.0,
                client_x,
                y + wait + 24.0,
                orange,
                &label,
            );
            y += wait + 40.0;
        }
        if writes.len() == 1 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#2e7d32\" font-weight=\"bold\">\
                 header + body in one write: nothing to wait for</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#2e7d32\" font-weight=\"bold\">\
                 报头和数据一起写出：不用等</text>",
                (client_x + server_x) / 2.0,
                y + 10.0,
                (client_x + server_x) / 2.0,
                y + 28.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn too_few_answers(stage: &str) -> io::Error {
    io::Error::other(format!(
        "the {stage} demo's transcript shows fewer server answers (`<- CODE` lines) than \
         the sequence picture needs"
    ))
}

/// The server's answers a transcript shows, in order: the code of every line
/// that starts with `<- ` and three digits, such as `  <- 203 verified`.
fn replies_in(transcript: &str) -> Vec<String> {
    transcript
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("<- "))
        .filter_map(|rest| rest.get(..3))
        .filter(|code| code.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// One arrow of a sequence picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// True from client to server, false from server to client.
    pub from_client: bool,
    /// What the arrow says.
    pub label: String,
}

impl Step {
    fn sent(index: usize, m: Message) -> Self {
        Self {
            from_client: true,
            label: format!("M{} · {} · {}", index + 1, bytes(m.len), m.label),
        }
    }

    fn answer(code: &str) -> Self {
        Self {
            from_client: false,
            label: format!("\"{code}\" · {}", bytes(code.len())),
        }
    }
}

/// Draws a client/server sequence: time runs down, every step an arrow.
pub fn sequence_svg(steps: &[Step], caption: &str) -> String {
    let width = 900.0;
    let (client_x, server_x) = (170.0, 730.0);
    let top = 74.0;
    let step_h = 26.0;
    let height = top + step_h * steps.len() as f64 + 30.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONTS}\" font-size=\"12\" role=\"img\" \
         aria-labelledby=\"title\">"
    );
    let _ = writeln!(s, "<title id=\"title\">{}</title>", esc(caption));
    let _ = writeln!(
        s,
        "<metadata>Drawn by src/pictures.rs from the demo's timeline and transcript; do not \
         edit: redraw with UPDATE_DOCS=1 cargo test --test docs</metadata>"
    );
    let _ = writeln!(
        s,
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
         markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"context-stroke\"/></marker></defs>"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        esc(caption)
    );
    for (x, en, zh) in [
        (client_x, "client", "客户端"),
        (server_x, "server", "服务端"),
    ] {
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"36\" width=\"120\" height=\"26\" fill=\"#f2f2f2\" stroke=\"#333333\"/>\
             <text x=\"{x:.1}\" y=\"54\" text-anchor=\"middle\" font-weight=\"bold\">{en} {zh}</text>\
             <line x1=\"{x:.1}\" y1=\"62\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#888888\" \
             stroke-dasharray=\"2 3\"/>",
            x - 60.0,
            height - 12.0
        );
    }
    for (i, step) in steps.iter().enumerate() {
        let y = top + step_h * i as f64;
        let (x0, x1, colour) = if step.from_client {
            (client_x, server_x, "#1f5fa8")
        } else {
            (server_x, client_x, "#b35900")
        };
        let _ = writeln!(
            s,
            "<line x1=\"{x0:.1}\" y1=\"{y:.1}\" x2=\"{x1:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" \
             stroke-width=\"1.6\" marker-end=\"url(#arrow)\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{colour}\" {HALO}>{}</text>",
            y + 12.0,
            (client_x + server_x) / 2.0,
            y + 1.0,
            esc(&step.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

// ---------------------------------------------------------------------------
// Reading timelines back out of a transcript
// ---------------------------------------------------------------------------

const HEADER_PREFIX: &str = "boundary timeline, ";

/// Every boundary timeline printed in `transcript`, rebuilt as [`Timeline`]s.
///
/// Each block is checked by rendering the rebuilt timeline again: it must give
/// back the block exactly, or this fails saying which block and line differ.
pub fn timelines_in(transcript: &str) -> io::Result<Vec<Timeline>> {
    let lines: Vec<&str> = transcript.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(title) = lines[i]
            .strip_prefix(HEADER_PREFIX)
            .and_then(|t| t.strip_suffix(':'))
        else {
            i += 1;
            continue;
        };
        let start = i;
        let Some(end) = lines[start..]
            .iter()
            .position(|l| l.starts_with("  ") && l.contains(" sticky read(s), "))
            .map(|p| start + p)
        else {
            return Err(bad_block(start, "it never ends with its summary line"));
        };
        let timeline = Timeline::new(title);
        let mut section = "";
        for (n, line) in lines.iter().enumerate().take(end).skip(start + 1) {
            match line.trim() {
                "messages written:" | "reads:" | "where each message went:" => {
                    section = line.trim();
                    continue;
                }
                "(none)" if section == "reads:" => continue,
                _ => {}
            }
            match section {
                "messages written:" => {
                    let (len, label) = numbered_line(line, "M").ok_or_else(|| {
                        bad_block(n, "a message line is not `M<n> <len> bytes  <label>`")
                    })?;
                    timeline.sent_labeled(label, len);
                }
                "reads:" => {
                    let (len, _) = numbered_line(line, "read ").ok_or_else(|| {
                        bad_block(n, "a read line is not `read <n> <len> bytes  ...`")
                    })?;
                    timeline.read(len);
                }
                // Derived from the two lists above; the comparison below checks it.
                _ => {}
            }
        }
        let block: String = lines[start..=end]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        let again = timeline.render();
        if again != block {
            let differs = block
                .lines()
                .zip(again.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(bad_block(
                start + differs,
                "the timeline rebuilt from this block renders differently: \
                 has the timeline's text format changed? Update `pictures::timelines_in`",
            ));
        }
        found.push(timeline);
        i = end + 1;
    }
    Ok(found)
}

fn bad_block(line: usize, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "boundary timeline in the transcript, line {}: {why}",
            line + 1
        ),
    )
}

/// Parses `    <prefix><n>  <len> bytes  <rest>` into `(len, rest)`.
fn numbered_line<'a>(line: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = line.strip_prefix("    ")?.strip_prefix(prefix)?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let rest = rest[digits..].trim_start();
    let len_digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let len = rest[..len_digits].parse().ok()?;
    let rest = rest[len_digits..].strip_prefix(" bytes")?;
    Some((len, rest.strip_prefix("  ").unwrap_or(rest)))
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

/// Fonts for Latin and CJK text, the first one installed wins.
const FONTS: &str = "'DejaVu Sans', 'Noto Sans', 'Noto Sans CJK SC', 'Source Han Sans SC', \
                     'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif";

/// Fill colours of messages M1, M2, ... (cycled): light, so black text reads on them.
const FILLS: &[&str] = &[
    "#cfe2ff", "#ffe1b0", "#cdeccf", "#f6cfe0", "#e0d6f5", "#fff1a8", "#c9eef0", "#eadccb",
];
const STICKY: &str = "#c62828";
const CUT: &str = "#c62828";
/// A white outline under a label, so a dashed cut line crossing it does not hide it.
const HALO: &str = "stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"";

const LEFT: f64 = 104.0; // where the byte axis starts: room for the lane names
const RIGHT_PAD: f64 = 16.0;
const MIN_COL: f64 = 46.0; // narrowest span of bytes, so "M12" and "1024" fit
const MIN_WIDTH: f64 = 900.0;

/// One column of the byte axis: a span of stream bytes that no message start
/// or end and no read start or end cuts, or the empty slot of a message of
/// zero bytes (which sends nothing, yet is part of the story).
#[derive(Clone, Copy, Debug)]
struct Column {
    from: usize,
    to: usize,
    empty_message: Option<usize>,
    x0: f64,
    x1: f64,
}

/// Maps stream offsets to x. Widths grow with the bytes a column holds, but
/// never below [`MIN_COL`], so a 3-byte reply beside a 1,492-byte one is
/// still drawn wide enough to read its label.
struct Axis {
    columns: Vec<Column>,
    width: f64,
}

impl Axis {
    fn new(messages: &[Message], reads: &[usize], header: Option<usize>) -> Self {
        let mut cuts = vec![0usize];
        let mut empty_at = Vec::new();
        let mut pos = 0;
        for (i, m) in messages.iter().enumerate() {
            if m.len == 0 {
                empty_at.push((pos, i));
            }
            if let Some(h) = header {
                if m.len > h {
                    cuts.push(pos + h);
                }
            }
            pos += m.len;
            cuts.push(pos);
        }
        let mut read_pos = 0;
        for &r in reads {
            read_pos += r;
            cuts.push(read_pos);
        }
        cuts.sort_unstable();
        cuts.dedup();
        let total = cuts.last().copied().unwrap_or(0);

        // Columns in stream order; an empty message's slot goes after the
        // bytes that end where it was written.
        let mut columns = Vec::new();
        let mut empties = empty_at.iter().peekable();
        for pair in cuts.windows(2) {
            while let Some(&&(at, i)) = empties.peek() {
                if at > pair[0] {
                    break;
                }
                columns.push(Column {
                    from: at,
                    to: at,
                    empty_message: Some(i),
                    x0: 0.0,
                    x1: 0.0,
                });
                empties.next();
            }
            columns.push(Column {
                from: pair[0],
                to: pair[1],
                empty_message: None,
                x0: 0.0,
                x1: 0.0,
            });
        }
        for &(at, i) in empties {
            columns.push(Column {
                from: at,
                to: at,
                empty_message: Some(i),
                x0: 0.0,
                x1: 0.0,
            });
        }

        let n = columns.len() as f64;
        let width = MIN_WIDTH.max(LEFT + RIGHT_PAD + n * MIN_COL + 240.0);
        let spare = width - LEFT - RIGHT_PAD - n * MIN_COL;
        let mut x = LEFT;
        for c in &mut columns {
            let share = if total == 0 {
                0.0
            } else {
                (c.to - c.from) as f64 / total as f64
            };
            c.x0 = x;
            x += MIN_COL + spare * share;
            c.x1 = x;
        }
        Self { columns, width }
    }

    /// Left edge of the bytes starting at `offset`.
    fn start(&self, offset: usize) -> f64 {
        self.columns
            .iter()
            .find(|c| c.empty_message.is_none() && c.from == offset)
            .map_or_else(|| self.end_x(), |c| c.x0)
    }

    /// Right edge of the bytes ending at `offset`.
    fn end(&self, offset: usize) -> f64 {
        self.columns
            .iter()
            .rev()
            .find(|c| c.empty_message.is_none() && c.to == offset)
            .map_or(LEFT, |c| c.x1)
    }

    fn end_x(&self) -> f64 {
        self.columns.last().map_or(LEFT, |c| c.x1)
    }
}

/// Rough width of `text` at `size` px: CJK characters are square, Latin ones
/// about 0.6 of the size. Used only to decide whether a label fits.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| {
            if (c as u32) >= 0x2E80 {
                size
            } else {
                size * 0.6
            }
        })
        .sum()
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn fill(message: usize) -> &'static str {
    FILLS[message % FILLS.len()]
}

/// Plural-free byte count: `1 B`, `1492 B`.
fn bytes(n: usize) -> String {
    format!("{n} B")
}

/// Draws a boundary timeline as an SVG document.
///
/// `header`, when given, is the length of a frame header at the start of
/// every message (stage 4): those bytes get their own column and are shaded.
pub fn boundary_svg(timeline: &Timeline, caption: &str, header: Option<usize>) -> String {
    let messages = timeline.messages();
    let reads = timeline.reads();
    let analysis: Analysis = timeline.analysis();
    let axis = Axis::new(&messages, &reads, header);
    let width = axis.width;

    // Rows, top to bottom.
    let y_caption = 24.0;
    let y_marks = 50.0; // SPLIT marks above the writes
    let (w_top, w_h) = (58.0, 38.0); // writes
    let y_axis = 122.0; // the byte axis, offsets below it
    let (r_top, r_h) = (154.0, 38.0); // reads
    let y_ranges = 208.0; // M1[0..1024) under every piece
    let y_sticky = 226.0; // STICKY marks under the reads
    let legend_top = 256.0;
    let line_h = 18.0;
    let height = legend_top + line_h * (messages.len() as f64 + 1.0) + 14.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONTS}\" font-size=\"12\" role=\"img\" \
         aria-labelledby=\"title desc\">"
    );
    let _ = writeln!(s, "<title id=\"title\">{}</title>", esc(caption));
    let _ = writeln!(
        s,
        "<desc id=\"desc\">{}</desc>",
        esc(timeline.render().trim_end())
    );
    let _ = writeln!(
        s,
        "<metadata>Drawn by src/pictures.rs from the demo's boundary timeline; do not edit: \
         redraw with UPDATE_DOCS=1 cargo test --test docs</metadata>"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"{y_caption}\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        esc(caption)
    );

    // Lane names.
    for (y, en, zh) in [
        (w_top + w_h / 2.0, "writes", "写出"),
        (y_axis, "bytes", "字节"),
        (r_top + r_h / 2.0, "reads", "读取"),
    ] {
        let _ = writeln!(
            s,
            "<text x=\"12\" y=\"{:.1}\" font-weight=\"bold\">{en}</text>\
             <text x=\"12\" y=\"{:.1}\" fill=\"#555555\">{zh}</text>",
            y - 2.0,
            y + 13.0
        );
    }

    // Writes: one box per message, header shaded, cuts dashed.
    let mut start = 0usize;
    for (i, m) in messages.iter().enumerate() {
        let (x0, x1) = if m.len == 0 {
            let c = axis
                .columns
                .iter()
                .find(|c| c.empty_message == Some(i))
                .map_or((LEFT, LEFT), |c| (c.x0, c.x1));
            (c.0 + 3.0, c.1 - 3.0)
        } else {
            (axis.start(start), axis.end(start + m.len))
        };
        let dash = if m.len == 0 {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        };
        let box_fill = if m.len == 0 { "#ffffff" } else { fill(i) };
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{w_top}\" width=\"{:.1}\" height=\"{w_h}\" fill=\"{box_fill}\" \
             stroke=\"#333333\"{dash}/>",
            x1 - x0
        );
        let mut text_from = x0;
        if let Some(h) = header.filter(|&h| m.len > h) {
            let hx = axis.end(start + h);
            let _ = writeln!(
                s,
                "<rect x=\"{x0:.1}\" y=\"{w_top}\" width=\"{:.1}\" height=\"{w_h}\" fill=\"#555555\" \
                 fill-opacity=\"0.25\" stroke=\"#333333\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">len {h}</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">报头</text>",
                hx - x0,
                (x0 + hx) / 2.0,
                w_top + 16.0,
                (x0 + hx) / 2.0,
                w_top + 30.0
            );
            text_from = hx;
        }
        let name = format!("M{}", i + 1);
        let long = match header.filter(|&h| m.len > h) {
            Some(h) => format!("M{} · body {}", i + 1, bytes(m.len - h)),
            None => format!("M{} · {}", i + 1, bytes(m.len)),
        };
        let room = x1 - text_from - 6.0;
        let label = if text_width(&long, 12.0) <= room {
            Some(long)
        } else if text_width(&name, 12.0) <= room {
            Some(name)
        } else {
            None
        };
        if let Some(label) = label {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\" {HALO}>{}</text>",
                (text_from + x1) / 2.0,
                w_top + w_h / 2.0 + 4.0,
                esc(&label)
            );
        }
        // Cuts: every read boundary strictly inside this message.
        let carried = &analysis.carried_by[i];
        if carried.len() > 1 {
            let mut at = 0usize;
            for (r, &len) in reads.iter().enumerate() {
                at += len;
                if at > start && at < start + m.len {
                    let x = axis.end(at);
                    // The read that ends here cut the message: a dashed
                    // line from the writes through to the reads.
                    let _ = r;
                    let _ = writeln!(
                        s,
                        "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{CUT}\" \
                         stroke-width=\"2\" stroke-dasharray=\"5 3\"/>",
                        w_top - 4.0,
                        r_top + r_h + 4.0,
                    );
                }
            }
            let long = format!("SPLIT 拆包: {} reads", carried.len());
            let mark = if text_width(&long, 12.0) <= x1 - x0 {
                long
            } else {
                format!("拆包 ×{}", carried.len())
            };
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{y_marks}\" fill=\"{CUT}\" font-weight=\"bold\">{mark}</text>",
                x0 + 2.0,
            );
        }
        start += m.len;
    }

    // The byte axis: a tick and the stream offset at every cut.
    let end_x = axis.end_x();
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{y_axis}\" x2=\"{end_x:.1}\" y2=\"{y_axis}\" stroke=\"#333333\"/>"
    );
    let mut ticks: Vec<(f64, usize)> = Vec::new();
    for c in axis.columns.iter().filter(|c| c.empty_message.is_none()) {
        for (x, offset) in [(c.x0, c.from), (c.x1, c.to)] {
            if ticks.last().is_none_or(|&(_, o)| o != offset) {
                ticks.push((x, offset));
            }
        }
    }
    for (x, offset) in ticks {
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333333\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" \
             fill=\"#333333\" {HALO}>{offset}</text>",
            y_axis - 4.0,
            y_axis + 4.0,
            y_axis + 16.0
        );
    }

    // Reads: one box per read, split into the pieces of messages it holds.
    let mut pos = 0usize;
    for (r, view) in analysis.reads.iter().enumerate() {
        let (x0, x1) = (axis.start(pos), axis.end(pos + view.len));
        let mut piece_at = pos;
        for piece in &view.pieces {
            let len = piece.end - piece.start;
            let (p0, p1) = (axis.start(piece_at), axis.end(piece_at + len));
            let _ = writeln!(
                s,
                "<rect x=\"{p0:.1}\" y=\"{r_top}\" width=\"{:.1}\" height=\"{r_h}\" fill=\"{}\" \
                 stroke=\"#888888\"/>",
                p1 - p0,
                fill(piece.message)
            );
            let range = format!("M{}[{}..{})", piece.message + 1, piece.start, piece.end);
            let size = if text_width(&range, 10.0) <= p1 - p0 - 2.0 {
                10.0
            } else {
                8.0
            };
            if text_width(&range, size) <= p1 - p0 + 2.0 {
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{y_ranges}\" text-anchor=\"middle\" font-size=\"{size}\" \
                     fill=\"#333333\">{}</text>",
                    (p0 + p1) / 2.0,
                    esc(&range)
                );
            }
            piece_at += len;
        }
        let (stroke, stroke_w) = if view.is_sticky() {
            (STICKY, 3.0)
        } else {
            ("#222222", 1.2)
        };
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{r_top}\" width=\"{:.1}\" height=\"{r_h}\" fill=\"none\" \
             stroke=\"{stroke}\" stroke-width=\"{stroke_w}\"/>",
            x1 - x0
        );
        let long = format!("read {} · {}", r + 1, bytes(view.len));
        let short = format!("r{}", r + 1);
        let room = x1 - x0 - 6.0;
        let label = if text_width(&long, 12.0) <= room {
            Some(long)
        } else if text_width(&short, 12.0) <= room {
            Some(short)
        } else {
            None
        };
        if let Some(label) = label {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\" {HALO}>{}</text>",
                (x0 + x1) / 2.0,
                r_top + r_h / 2.0 + 4.0,
                esc(&label)
            );
        }
        if view.is_sticky() {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{y_sticky}\" fill=\"{STICKY}\" font-weight=\"bold\">\
                 STICKY 粘包: read {} holds {} messages</text>",
                x0 + 2.0,
                r + 1,
                view.pieces.len()
            );
        }
        pos += view.len;
    }
    if analysis.unread > 0 {
        let (x0, x1) = (axis.start(pos), end_x);
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{r_top}\" width=\"{:.1}\" height=\"{r_h}\" fill=\"#f2f2f2\" \
             stroke=\"#888888\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555555\">\
             {} never read · 未读</text>",
            x1 - x0,
            (x0 + x1) / 2.0,
            r_top + r_h / 2.0 + 4.0,
            bytes(analysis.unread)
        );
    }

    // Legend: what every message is, and the totals.
    for (i, m) in messages.iter().enumerate() {
        let y = legend_top + line_h * i as f64;
        let where_ = match analysis.carried_by[i].as_slice() {
            [] if m.len == 0 => "nothing sent · 未发送".to_string(),
            [] => "not read · 未读".to_string(),
            [one] => format!("read {one}"),
            many => {
                let list: Vec<String> = many.iter().map(|r| r.to_string()).collect();
                format!("reads {} · 拆包", list.join(", "))
            }
        };
        let _ = writeln!(
            s,
            "<rect x=\"12\" y=\"{:.1}\" width=\"14\" height=\"12\" fill=\"{}\" stroke=\"#333333\"/>\
             <text x=\"32\" y=\"{y:.1}\"><tspan font-weight=\"bold\">M{}</tspan> {} · {} → {}</text>",
            y - 10.0,
            if m.len == 0 { "#ffffff" } else { fill(i) },
            i + 1,
            bytes(m.len),
            esc(&m.label),
            esc(&where_)
        );
    }
    let y = legend_top + line_h * messages.len() as f64 + 4.0;
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"{y:.1}\" fill=\"#333333\">{} sticky read(s) 粘包 · {} split message(s) \
         拆包 · {} unread · 未读 · from: {}</text>",
        analysis.sticky_reads,
        analysis.split_messages,
        bytes(analysis.unread),
        esc(&title_of(timeline))
    );
    s.push_str("</svg>\n");
    s
}

/// The timeline's title, as its rendering's first line names it.
fn title_of(timeline: &Timeline) -> String {
    let text = timeline.render();
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix(HEADER_PREFIX)
        .and_then(|t| t.strip_suffix(':'))
        .unwrap_or(first)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Timeline {
        let t = Timeline::new("server -> client");
        t.sent_labeled("reply to `seq 1 400`", 1492);
        t.sent_labeled("reply to `echo hi`", 3);
        t.sent_labeled("reply to `true` (no output: nothing sent)", 0);
        t.sent_labeled("reply to `echo bye`", 4);
        for r in [1024, 471, 4] {
            t.read(r);
        }
        t
    }

    /// A rendered timeline read back gives the same messages and reads.
    #[test]
    fn a_rendered_timeline_reads_back() {
        let t = sample();
        let text = format!("before\n{}after\n", t.render());
        let back = timelines_in(&text).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].messages(), t.messages());
        assert_eq!(back[0].reads(), t.reads());
    }

    /// A block whose numbers do not add up is refused, not drawn.
    #[test]
    fn a_tampered_block_is_refused() {
        let text = sample().render().replace("471 bytes", "472 bytes");
        let err = timelines_in(&text).unwrap_err();
        assert!(err.to_string().contains("renders differently"), "{err}");
    }

    /// The drawing marks the sticky read and the split message, and is the same twice.
    #[test]
    fn the_drawing_marks_glue_and_cuts() {
        let svg = boundary_svg(&sample(), "test", None);
        assert!(
            svg.contains("STICKY 粘包: read 2 holds 2 messages"),
            "{svg}"
        );
        assert!(svg.contains("SPLIT 拆包: 2 reads"), "{svg}");
        assert_eq!(
            svg.matches("stroke-dasharray=\"5 3\"").count(),
            1,
            "one cut: {svg}"
        );
        assert!(svg.contains("M1[1024..1492)"), "{svg}");
        assert_eq!(svg, boundary_svg(&sample(), "test", None));
    }
}
