//! The SVG vocabulary every picture shares: the document's head, fonts,
//! colours, escaping, labels that fit, arrows and lifelines. Kept apart so
//! each picture's file holds only its own layout, and all pictures look alike.

use std::fmt::Write as _;

/// Fonts for Latin and CJK text, the first one installed wins.
pub(super) const FONTS: &str =
    "'DejaVu Sans', 'Noto Sans', 'Noto Sans CJK SC', 'Source Han Sans SC', \
     'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif";

/// Fill colours of messages M1, M2, ... (cycled): light, so black text reads on them.
const FILLS: &[&str] = &[
    "#cfe2ff", "#ffe1b0", "#cdeccf", "#f6cfe0", "#e0d6f5", "#fff1a8", "#c9eef0", "#eadccb",
];
pub(super) const STICKY: &str = "#c62828";
pub(super) const CUT: &str = "#c62828";
/// Arrows from the client to the server, and back: one colour a direction in every picture.
pub(super) const TO_SERVER: &str = "#1f5fa8";
pub(super) const TO_CLIENT: &str = "#b35900";
/// A white outline under a label, so a dashed cut line crossing it does not hide it.
pub(super) const HALO: &str = "stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"";

/// What every picture opens with, in this order: the `<svg>` element, the
/// title (and description) a screen reader announces, where the picture was
/// drawn from, the arrow head if it draws arrows, a white page and the caption.
pub(super) struct Head<'a> {
    width: f64,
    height: f64,
    caption: &'a str,
    /// Caption size in px: 15, or 14 where a long caption must fit.
    caption_px: u32,
    /// Announced after the title; the boundary timelines give their own text.
    desc: Option<&'a str>,
    /// Ends "Drawn by src/pictures.rs ...": what the picture is drawn from.
    drawn_from: &'a str,
    /// Whether the picture uses `marker-end="url(#arrow)"`.
    arrows: bool,
}

impl<'a> Head<'a> {
    /// A picture `width` x `height` px, without arrows or a description.
    pub(super) fn new((width, height): (f64, f64), caption: &'a str, drawn_from: &'a str) -> Self {
        Self {
            width,
            height,
            caption,
            caption_px: 15,
            desc: None,
            drawn_from,
            arrows: false,
        }
    }

    /// Defines the arrow head that `marker-end="url(#arrow)"` names.
    pub(super) fn with_arrows(self) -> Self {
        Self {
            arrows: true,
            ..self
        }
    }

    /// A description for screen readers, after the title.
    pub(super) fn with_desc(self, desc: &'a str) -> Self {
        Self {
            desc: Some(desc),
            ..self
        }
    }

    /// A smaller caption, for one too long at 15 px.
    pub(super) fn with_caption_px(self, caption_px: u32) -> Self {
        Self { caption_px, ..self }
    }

    /// The document so far; the picture appends its shapes, then [`close`]s it.
    pub(super) fn open(&self) -> String {
        let Self {
            width,
            height,
            caption,
            caption_px,
            desc,
            drawn_from,
            arrows,
        } = self;
        let labelled_by = if desc.is_some() {
            "title desc"
        } else {
            "title"
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
             viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONTS}\" font-size=\"12\" \
             role=\"img\" aria-labelledby=\"{labelled_by}\">"
        );
        let _ = writeln!(s, "<title id=\"title\">{}</title>", esc(caption));
        if let Some(desc) = desc {
            let _ = writeln!(s, "<desc id=\"desc\">{}</desc>", esc(desc));
        }
        let _ = writeln!(
            s,
            "<metadata>Drawn by src/pictures.rs {drawn_from}; do not edit: \
             redraw with UPDATE_DOCS=1 cargo test --test docs</metadata>"
        );
        if *arrows {
            let _ = writeln!(
                s,
                "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
                 markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">\
                 <path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>"
            );
        }
        let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
        let _ = writeln!(
            s,
            "<text x=\"12\" y=\"24\" font-size=\"{caption_px}\" font-weight=\"bold\">{}</text>",
            esc(caption)
        );
        s
    }
}

/// Ends a document [`Head::open`] began.
pub(super) fn close(mut s: String) -> String {
    s.push_str("</svg>\n");
    s
}

/// A lane's name at the left edge, English in bold over the 中文, around `y`.
pub(super) fn lane_name(s: &mut String, y: f64, en: &str, zh: &str) {
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"{:.1}\" font-weight=\"bold\">{en}</text>\
         <text x=\"12\" y=\"{:.1}\" fill=\"#555555\">{zh}</text>",
        y - 2.0,
        y + 13.0
    );
}

/// A bold label centred on `x`, haloed so a line crossing it does not hide it.
pub(super) fn bold_label(s: &mut String, x: f64, y: f64, label: &str) {
    let _ = writeln!(
        s,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\" font-weight=\"bold\" {HALO}>{}</text>",
        esc(label)
    );
}

/// The first of `labels` that fits in a box `width` px wide as bold 12 px
/// text with a little room to spare, or none: a narrow box stays unlabelled
/// rather than overflowing into its neighbours.
pub(super) fn first_that_fits<const N: usize>(labels: [String; N], width: f64) -> Option<String> {
    labels
        .into_iter()
        .find(|label| text_width(label, 12.0) <= width - 6.0)
}

/// An arrow from `from` to `to` with its label centred `lift` px above its
/// middle, both in `colour`.
pub(super) fn arrow(
    s: &mut String,
    (x0, y0): (f64, f64),
    (x1, y1): (f64, f64),
    colour: &str,
    label: &str,
    lift: f64,
) {
    let _ = writeln!(
        s,
        "<line x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\" stroke=\"{colour}\" \
         stroke-width=\"1.6\" marker-end=\"url(#arrow)\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{colour}\" {HALO}>{}</text>",
        (x0 + x1) / 2.0,
        (y0 + y1) / 2.0 - lift,
        esc(label)
    );
}

/// Where the ends of a conversation stand: a named box on top, a dashed line
/// down to `bottom`, one per end, for the pictures where time runs down.
pub(super) struct Lifelines {
    pub(super) top: f64,
    pub(super) box_w: f64,
    pub(super) box_h: f64,
    /// The name's baseline, inside the box.
    pub(super) baseline: f64,
    pub(super) bottom: f64,
}

impl Lifelines {
    /// The end called `name`, its line at `x`.
    pub(super) fn draw(&self, s: &mut String, x: f64, name: &str) {
        let Self {
            top,
            box_w,
            box_h,
            baseline,
            bottom,
        } = self;
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{top}\" width=\"{box_w}\" height=\"{box_h}\" fill=\"#f2f2f2\" \
             stroke=\"#333333\"/>\
             <text x=\"{x:.1}\" y=\"{baseline}\" text-anchor=\"middle\" font-weight=\"bold\">{name}</text>\
             <line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#888888\" \
             stroke-dasharray=\"2 3\"/>",
            x - box_w / 2.0,
            top + box_h
        );
    }
}

/// Rough width of `text` at `size` px: CJK characters are square, Latin ones
/// about 0.6 of the size. Used only to decide whether a label fits.
pub(super) fn text_width(text: &str, size: f64) -> f64 {
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

pub(super) fn esc(text: &str) -> String {
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

pub(super) fn fill(message: usize) -> &'static str {
    FILLS[message % FILLS.len()]
}

/// Plural-free byte count: `1 B`, `1492 B`.
pub(super) fn bytes(n: usize) -> String {
    format!("{n} B")
}
