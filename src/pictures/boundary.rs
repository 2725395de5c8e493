//! The boundary timeline picture: writes above, reads below, every sticky
//! read and every cut marked. Most of the course's pictures are this one.

use std::fmt::Write as _;

use common::timeline::Analysis;
use common::Timeline;

use super::axis::{Axis, LEFT};
use super::canvas::{
    bold_label, bytes, close, esc, fill, first_that_fits, lane_name, text_width, Head, CUT, HALO,
    STICKY,
};
use super::transcript::HEADER_PREFIX;

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

    // Rows, top to bottom, under the caption the head draws at y = 24.
    let y_marks = 50.0; // SPLIT marks above the writes
    let (w_top, w_h) = (58.0, 38.0); // writes
    let y_axis = 122.0; // the byte axis, offsets below it
    let (r_top, r_h) = (154.0, 38.0); // reads
    let y_ranges = 208.0; // M1[0..1024) under every piece
    let y_sticky = 226.0; // STICKY marks under the reads
    let legend_top = 256.0;
    let line_h = 18.0;
    let height = legend_top + line_h * (messages.len() as f64 + 1.0) + 14.0;

    let mut s = Head::new(
        (width, height),
        caption,
        "from the demo's boundary timeline",
    )
    .with_desc(timeline.render().trim_end())
    .open();
    for (y, en, zh) in [
        (w_top + w_h / 2.0, "writes", "写出"),
        (y_axis, "bytes", "字节"),
        (r_top + r_h / 2.0, "reads", "读取"),
    ] {
        lane_name(&mut s, y, en, zh);
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
        let long = match header.filter(|&h| m.len > h) {
            Some(h) => format!("M{} · body {}", i + 1, bytes(m.len - h)),
            None => format!("M{} · {}", i + 1, bytes(m.len)),
        };
        if let Some(label) = first_that_fits([long, format!("M{}", i + 1)], x1 - text_from) {
            bold_label(
                &mut s,
                (text_from + x1) / 2.0,
                w_top + w_h / 2.0 + 4.0,
                &label,
            );
        }
        // Cuts: every read boundary strictly inside this message.
        let carried = &analysis.carried_by[i];
        if carried.len() > 1 {
            let mut at = 0usize;
            for &len in &reads {
                at += len;
                if at > start && at < start + m.len {
                    let x = axis.end(at);
                    // The read that ends here cut the message: a dashed
                    // line from the writes through to the reads.
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
        if let Some(label) = first_that_fits([long, format!("r{}", r + 1)], x1 - x0) {
            bold_label(&mut s, (x0 + x1) / 2.0, r_top + r_h / 2.0 + 4.0, &label);
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
    close(s)
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
