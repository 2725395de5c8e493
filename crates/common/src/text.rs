//! Text helpers every transcript shares: showing bytes, previewing a long
//! reply, wrapping a line, so that each is written once and every stage's
//! transcript shows bytes the same way.

use crate::lang::Lang;
use std::fmt::Write as _;

/// `bytes` as a quoted, escaped string (`"hi\n"`), at most `max` of them,
/// then how many more there were: for a transcript that shows what a read
/// returned, control characters included.
pub fn escaped(bytes: &[u8], max: usize) -> String {
    let shown = &bytes[..bytes.len().min(max)];
    let mut out = format!("\"{}\"", shown.escape_ascii());
    if bytes.len() > shown.len() {
        let _ = write!(out, "... ({} more bytes)", bytes.len() - shown.len());
    }
    out
}

/// `bytes` quoted and escaped, the middle elided when longer than
/// `head + tail + 3`: `"1\n2\n3\n4\n5\n...400\n"`.
pub fn head_tail(bytes: &[u8], head: usize, tail: usize) -> String {
    if bytes.len() <= head + tail + 3 {
        format!("\"{}\"", bytes.escape_ascii())
    } else {
        format!(
            "\"{}...{}\"",
            bytes[..head].escape_ascii(),
            bytes[bytes.len() - tail..].escape_ascii()
        )
    }
}

/// A reply's text, each line behind `prefix`; one of more than seven lines
/// shows its first and last three and says how many are left out, in `lang`.
pub fn lines_preview(reply: &[u8], prefix: &str, lang: Lang) -> String {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    if lines.len() <= 7 {
        for line in &lines {
            let _ = writeln!(out, "{prefix}{line}");
        }
    } else {
        for line in &lines[..3] {
            let _ = writeln!(out, "{prefix}{line}");
        }
        let more = lines.len() - 6;
        let _ = match lang {
            Lang::En => writeln!(out, "{prefix}... ({more} more lines) ..."),
            Lang::Zh => writeln!(out, "{prefix}...（省略 {more} 行）..."),
        };
        for line in &lines[lines.len() - 3..] {
            let _ = writeln!(out, "{prefix}{line}");
        }
    }
    out
}

/// Wraps `text` into lines of at most `columns` display columns, for a transcript in
/// either language: a Chinese line may
/// break between any two Chinese characters (never before a closing
/// punctuation mark), an ASCII word stays whole. ASCII text wraps at spaces only, so English transcripts do not change.
pub fn wrap(text: &str, columns: usize, first: &str, rest: &str) -> String {
    if text.is_ascii() {
        return wrap_ascii(text, columns, first, rest);
    }
    // Tokens: an ASCII word with the spaces before it, or one other
    // character with any closing punctuation that follows it.
    // A `code span` is one token too: a command is never cut in two.
    let mut tokens: Vec<String> = Vec::new();
    let mut in_code = false;
    for c in text.chars() {
        let ascii_word = c.is_ascii() && c != ' ';
        let closing = "，。：；、）！？”』」".contains(c);
        let code_goes_on = in_code;
        if c == '`' {
            in_code = !in_code;
        }
        match tokens.last_mut() {
            Some(last) if code_goes_on => last.push(c),
            Some(last) if closing => last.push(c),
            // An opening mark never ends a line: it goes with what follows.
            Some(last) if last.ends_with(['（', '“', '「', '『']) => last.push(c),
            Some(last)
                if ascii_word
                    && last
                        .chars()
                        .last()
                        .is_some_and(|p| p.is_ascii() && p != ' ') =>
            {
                last.push(c)
            }
            Some(last) if c == ' ' => last.push(c),
            _ => tokens.push(c.to_string()),
        }
    }
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for token in tokens {
        let shown = if empty { token.trim_start() } else { &token };
        if !empty
            && crate::lang::width(line.trim_end()) + crate::lang::width(shown.trim_end()) > columns
        {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            line.push_str(token.trim_start());
        } else {
            line.push_str(shown);
        }
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// ASCII text wrapped at spaces into lines of at most `width` characters: `first` starts the first line, `rest` every other one, and a
/// word longer than a line stays whole on a line of its own.
fn wrap_ascii(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long text wraps at spaces under a hanging indent; short text stays one line; long words stay whole.
    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(wrap("short one", 20, "", "  "), "short one\n");
        assert_eq!(
            wrap("aaa bbb ccc ddd", 8, "", "  "),
            "aaa bbb\n  ccc\n  ddd\n"
        );
        assert_eq!(
            wrap("unbreakablewordhere x", 5, "", "  "),
            "unbreakablewordhere\n  x\n"
        );
        let text = "word ".repeat(30);
        let wrapped = wrap(&text, 88, "  ", "    ");
        assert!(wrapped.lines().all(|l| l.len() <= 88), "{wrapped}");
        assert!(wrapped.starts_with("  word"));
        assert!(wrapped.lines().nth(1).unwrap().starts_with("    word"));
        assert_eq!(wrapped.split_whitespace().count(), 30);
    }

    /// Bytes are escaped and cut with a count; a long run keeps its two ends.
    #[test]
    fn bytes_are_shown_escaped() {
        assert_eq!(escaped(b"hi\n", 10), "\"hi\\n\"");
        assert_eq!(escaped(b"abcdef", 2), "\"ab\"... (4 more bytes)");
        assert_eq!(head_tail(b"short", 10, 4), "\"short\"");
        assert_eq!(head_tail(b"0123456789abcdefghij", 3, 2), "\"012...ij\"");
    }

    /// Up to seven lines are shown whole; more keep three at each end.
    #[test]
    fn long_replies_keep_their_ends() {
        let seq: String = (1..=400).map(|n| format!("{n}\n")).collect();
        let p = lines_preview(seq.as_bytes(), "  ", Lang::En);
        assert_eq!(
            p,
            "  1\n  2\n  3\n  ... (394 more lines) ...\n  398\n  399\n  400\n"
        );
        assert!(lines_preview(seq.as_bytes(), "", Lang::Zh).contains("（省略 394 行）"));
        assert_eq!(lines_preview(b"a\nb\n", "> ", Lang::En), "> a\n> b\n");
    }

    /// Chinese wraps by display width, keeps ASCII words whole and never starts a line with a comma.
    #[test]
    fn wraps_chinese_by_width() {
        let text = "一次读取返回了两条回复的字节，也就是粘包：`seq 1 400` 的尾巴。";
        let wrapped = wrap(text, 20, "  - ", "    ");
        assert!(
            wrapped.lines().all(|l| crate::lang::width(l) <= 20),
            "{wrapped}"
        );
        assert!(
            wrapped.lines().all(|l| !l.trim_start().starts_with('，')),
            "{wrapped}"
        );
        let joined: String = wrapped
            .lines()
            .map(|l| l.trim_start_matches([' ', '-']))
            .collect();
        assert_eq!(joined.replace(' ', ""), text.replace(' ', ""));
        assert_eq!(wrap("aaa bbb ccc", 8, "", ""), "aaa bbb\nccc\n");
        let code = wrap("读取返回了 `seq 1 400` 的回复", 16, "", "");
        assert!(code.contains("`seq 1 400`"), "{code}");
    }
}
