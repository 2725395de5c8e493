//! The table itself: a key, then one line per row and one cell per column,
//! padded into columns in either language. Kept apart from the words under
//! it (`reproduce`): this part shows a run's verdicts, which the snapshots
//! pin and the docs quote row by row.

use std::fmt::Write as _;

use common::demo::Verdict;
use common::lang::Lang;

use super::reasons::reason_in;
use super::{Column, Row};

/// How many columns `text` takes in `lang`'s table. Chinese is measured by
/// display width (two columns a Chinese character); English by characters,
/// the measure of `format!("{:<N}")`.
pub(super) fn measure(text: &str, lang: Lang) -> usize {
    if lang.is_zh() {
        common::lang::width(text)
    } else {
        text.chars().count()
    }
}

/// `text` followed by spaces up to `width` columns as `lang` measures them.
pub(super) fn pad(text: &str, width: usize, lang: Lang) -> String {
    let mut out = text.to_string();
    out.push_str(&" ".repeat(width.saturating_sub(measure(text, lang))));
    out
}

/// The key, the heading line, its rule and one line per row, told in
/// `lang`. The stages keep their crate names in both languages.
pub(super) fn table(rows: &[Row], columns: &[Column], lang: Lang) -> String {
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut header = vec![lang.pick("stage", "阶段").to_string()];
    header.extend(
        columns
            .iter()
            .map(|c| lang.pick(c.name, c.name_zh).to_string()),
    );
    table.push(header);
    for row in rows {
        let mut line = vec![row.stage.to_string()];
        line.extend(row.cells.iter().map(|cell| match cell {
            Verdict::Intact => "✓".to_string(),
            Verdict::Broken(why) => format!("✗ {}", reason_in(why, lang)),
        }));
        table.push(line);
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|i| {
            table
                .iter()
                .map(|r| r.get(i).map_or(0, |c| measure(c, lang)))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    out.push_str(lang.pick(
        "✓ every message arrived intact and in order; ✗ the first thing that went wrong\n\n",
        "✓ 每条消息都完整、按顺序到达；✗ 第一处出错的地方\n\n",
    ));
    for (n, line) in table.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| pad(cell, w, lang))
            .collect();
        let _ = writeln!(out, "{}", cells.join(" | ").trim_end());
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
            let _ = writeln!(out, "{}", rule.join("-+-"));
        }
    }
    out
}
