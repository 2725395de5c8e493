//! Stage 1's datagram pictures: what UDP keeps (one receive per datagram)
//! and what it loses (the part of a datagram the buffer had no room for).

use std::fmt::Write as _;

use common::timeline::Message;

use super::axis::Axis;
use super::canvas::{bytes, esc, fill, fitting, CUT, FONTS, HALO};

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
