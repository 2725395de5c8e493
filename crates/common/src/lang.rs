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
