//! What the demos share: the scripted conversation of the remote-execution
//! stages, and the verdict a stage gives when it is put through a network.

use std::time::Duration;

/// The conversation stages 2, 3 and 4 all run, so that their transcripts can
/// be read side by side: one reply longer than a 1,024-byte read, then short
/// ones, and a command with no output at all (a stream has no empty message).
pub const EXEC_SCRIPT: &[&str] = &["seq 1 400", "echo hi", "true", "echo bye"];

/// How long a demo client waits for a reply that may never come (stage 2's
/// command with no output). Short, so demos finish in well under a second;
/// the two-terminal client uses a couple of seconds instead.
pub const DEMO_READ_TIMEOUT: Duration = Duration::from_millis(150);

/// Did every message of a conversation arrive intact and in order?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every message arrived whole, in order.
    Intact,
    /// Something went wrong, in a few words: "reply 2 shows reply 1's tail".
    Broken(String),
}

impl Verdict {
    /// True when every message arrived whole.
    pub fn is_intact(&self) -> bool {
        matches!(self, Verdict::Intact)
    }
}

/// Wraps `text` at spaces into lines of at most `width` characters for a
/// transcript: `first` starts the first line, `rest` every other one, and a
/// word longer than a line stays whole on a line of its own.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
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
}
