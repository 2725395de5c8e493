//! The SVG vocabulary every picture shares: fonts, colours, escaping, label
//! sizes. Kept apart so each picture's file holds only its own layout, and
//! all pictures look alike.

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
/// A white outline under a label, so a dashed cut line crossing it does not hide it.
pub(super) const HALO: &str = "stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"";
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
/// `long` when it fits in `room` pixels of bold 12 px text, else `short`.
pub(super) fn fitting(long: String, short: String, room: f64) -> String {
    if text_width(&long, 12.0) <= room - 6.0 {
        long
    } else {
        short
    }
}
