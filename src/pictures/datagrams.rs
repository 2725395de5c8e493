//! Stage 1's datagram pictures: what UDP keeps (one receive per datagram)
//! and what it loses (the part of a datagram the buffer had no room for).

use std::fmt::Write as _;

use common::timeline::Message;

use super::axis::Axis;
use super::canvas::{bold_label, bytes, close, fill, first_that_fits, lane_name, Head, CUT};

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
    let mut s = Head::new((width, height), caption, "from stage 1's demo transcript").open();
    for (y, en, zh) in [
        (w_top + w_h / 2.0, "sent", "发送"),
        (r_top + r_h / 2.0, "received", "接收"),
    ] {
        lane_name(&mut s, y, en, zh);
    }
    let mut start = 0usize;
    for (i, (&len, &got)) in sent.iter().zip(received).enumerate() {
        let (x0, x1) = (axis.start(start) + 2.0, axis.end(start + len) - 2.0);
        datagram_box(
            &mut s,
            (x0, x1),
            (w_top, w_h),
            (fill(i), "stroke=\"#333333\""),
            format!("datagram {} · {}", i + 1, bytes(len)),
            bytes(len),
        );
        let kept = got.min(len);
        let xr = if kept < len {
            axis.end(start + kept)
        } else {
            x1
        };
        datagram_box(
            &mut s,
            (x0, xr),
            (r_top, r_h),
            (fill(i), "stroke=\"#222222\" stroke-width=\"1.2\""),
            format!("receive {} · {}", i + 1, bytes(got)),
            bytes(got),
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
    close(s)
}

/// A datagram, or what a receive returned of it, as a box in its lane: the
/// long label when it fits, else the short one (the byte count is never left
/// out: it is the point of the picture).
fn datagram_box(
    s: &mut String,
    (x0, x1): (f64, f64),
    (top, h): (f64, f64),
    (colour, stroke): (&str, &str),
    long: String,
    short: String,
) {
    let _ = write!(
        s,
        "<rect x=\"{x0:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{h}\" fill=\"{colour}\" {stroke}/>",
        x1 - x0
    );
    let label = first_that_fits([long], x1 - x0).unwrap_or(short);
    bold_label(s, (x0 + x1) / 2.0, top + h / 2.0 + 4.0, &label);
}
