//! The language a transcript is told in: English or 简体中文.
//!
//! Every demo and the tour can tell its story in either language. The text is
//! chosen where it is produced (`lang.pick(en, zh)` or a `match`), so the
//! sentences of one language sit beside those of the other and no
//! translation catalogue can drift from the code that prints them. Byte
//! previews, wire bytes, identifiers and command lines are the same in both.
//!
//! Chinese characters take two columns on a terminal, so a column that holds
//! Chinese is padded by display width ([`pad`]), never by `char` count.

use unicode_width::UnicodeWidthStr;

/// The language of a transcript.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// 简体中文.
    Zh,
}

impl Lang {
    /// The language a user asked for: `flag` (`--lang`) if given, else the
    /// `STICKY_LANG` environment variable, else `LC_ALL`, else `LANG`. A
    /// value starting with `zh` (`zh`, `zh-CN`, `zh_CN.UTF-8`) picks Chinese;
    /// anything else, or nothing, picks English.
    pub fn choose(flag: Option<&str>) -> Lang {
        let env = ["STICKY_LANG", "LC_ALL", "LANG"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|v| !v.is_empty());
        match flag.or(env.as_deref()) {
            Some(v) if v.to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }

    /// `en` in English, `zh` in Chinese.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }

    /// True for Chinese.
    pub fn is_zh(self) -> bool {
        self == Lang::Zh
    }
}

/// How many terminal columns `text` takes: two for a Chinese character, one
/// for ASCII.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` followed by spaces up to `columns` display columns (nothing is
/// added when it is already as wide): `format!("{:<18}")` for text that may
/// hold Chinese.
pub fn pad(text: &str, columns: usize) -> String {
    let mut out = text.to_string();
    out.push_str(&" ".repeat(columns.saturating_sub(width(text))));
    out
}

/// Wraps `text` into lines of at most `columns` display columns, like
/// [`crate::demo::wrap`] but for text in either language: a Chinese line may
/// break between any two Chinese characters (never before a closing
/// punctuation mark), an ASCII word stays whole. ASCII text wraps exactly
/// as [`crate::demo::wrap`] wraps it, so English transcripts do not change.
pub fn wrap(text: &str, columns: usize, first: &str, rest: &str) -> String {
    if text.is_ascii() {
        return crate::demo::wrap(text, columns, first, rest);
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
        if !empty && width(line.trim_end()) + width(shown.trim_end()) > columns {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Chinese characters count two columns, ASCII one; padding follows the display width.
    #[test]
    fn pads_by_display_width() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("粘包"), 4);
        assert_eq!(pad("粘包", 6), "粘包  ");
        assert_eq!(pad("ab", 4), format!("{:<4}", "ab"));
        assert_eq!(pad("toolong", 3), "toolong");
    }

    /// Chinese wraps by display width, keeps ASCII words whole and never starts a line with a comma.
    #[test]
    fn wraps_chinese_by_width() {
        let text = "一次读取返回了两条回复的字节，也就是粘包：`seq 1 400` 的尾巴。";
        let wrapped = wrap(text, 20, "  - ", "    ");
        assert!(wrapped.lines().all(|l| width(l) <= 20), "{wrapped}");
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

    /// A flag naming Chinese in any common spelling picks Chinese; anything else English.
    #[test]
    fn flag_spellings() {
        assert_eq!(Lang::choose(Some("zh-CN")), Lang::Zh);
        assert_eq!(Lang::choose(Some("zh_CN.UTF-8")), Lang::Zh);
        assert_eq!(Lang::choose(Some("ZH")), Lang::Zh);
        assert_eq!(Lang::choose(Some("en")), Lang::En);
        assert_eq!(Lang::Zh.pick("a", "甲"), "甲");
    }
}
