//! The client/server sequence pictures of stages 5 and 6: time runs down,
//! every message or answer one arrow.

use std::fmt::Write as _;

use common::timeline::Message;

use super::canvas::{bytes, esc, FONTS, HALO};

/// One arrow of a sequence picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// True from client to server, false from server to client.
    pub from_client: bool,
    /// What the arrow says.
    pub label: String,
}

impl Step {
    pub(super) fn sent(index: usize, m: Message) -> Self {
        Self {
            from_client: true,
            label: format!("M{} · {} · {}", index + 1, bytes(m.len), m.label),
        }
    }

    pub(super) fn answer(code: &str) -> Self {
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
