//! The verdict on one run of the demo, and its words in both languages.
//!
//! The verdict is computed from the timeline's analysis, never hard-coded:
//! which read glued the digits to the output, which length was cut across
//! reads, which replies the client's loop put back together. That analysis
//! is the same in every language, so it is written once, here, and only the
//! words differ: one const table per language. It is separate from
//! `demo.rs` because it is the one part of the demo that reasons about the
//! timeline rather than running or printing the conversation.

use common::demo::{Verdict, EXEC_SCRIPT};
use common::lang::Lang;

use super::Run;

impl Run {
    /// The verdict, from the timeline's analysis (never hard-coded), and for
    /// an intact run the reason it is intact, in the run's language.
    pub(super) fn verdict(&self) -> (Verdict, String) {
        let words = match self.lang {
            Lang::En => &VERDICT_EN,
            Lang::Zh => &VERDICT_ZH,
        };
        let messages = self.timeline.messages();
        let analysis = self.timeline.analysis();
        // The server records every reply as two messages: its length, then
        // its output. Even indices are lengths.
        let is_length = |i: usize| i % 2 == 0;
        let name = |i: usize| (words.name)(&messages[i].label);

        let mut problems = Vec::new();
        if let Some((r, read)) = analysis
            .reads
            .iter()
            .enumerate()
            .find(|(_, v)| v.is_sticky())
        {
            let parts: Vec<String> = read
                .pieces
                .iter()
                .map(|p| {
                    let len = messages[p.message].len;
                    if p.start == 0 && p.end == len {
                        (words.whole)(&name(p.message), len)
                    } else {
                        (words.part)(&name(p.message), p.start, p.end)
                    }
                })
                .collect();
            problems.push((words.glued)(r + 1, &parts.join(words.and)));
        }
        for (i, reads) in analysis.carried_by.iter().enumerate() {
            if is_length(i) && reads.len() > 1 {
                problems.push((words.cut)(&name(i), &join_numbers(reads)));
            }
        }
        if analysis.unread > 0 {
            problems.push((words.unread)(analysis.unread));
        }
        if problems.is_empty() && self.replies < EXEC_SCRIPT.len() {
            problems.push((words.stopped)(self.replies, EXEC_SCRIPT.len()));
        }
        if !problems.is_empty() {
            return (Verdict::Broken(problems.join(words.then)), String::new());
        }

        let reassembled: Vec<String> = analysis
            .carried_by
            .iter()
            .enumerate()
            .filter(|(i, reads)| !is_length(*i) && reads.len() > 1)
            .map(|(i, reads)| (words.took)(&name(i), &join_numbers(reads)))
            .collect();
        let mut why = String::from(words.alone);
        if !reassembled.is_empty() {
            why.push_str(&(words.reassembled)(&reassembled.join(words.list)));
        }
        (Verdict::Intact, why)
    }
}

/// The words of a verdict in one language. The analysis behind them is the
/// same in every language, so only these differ.
struct VerdictWords {
    name: fn(&str) -> String,
    whole: fn(&str, usize) -> String,
    part: fn(&str, usize, usize) -> String,
    and: &'static str,
    glued: fn(usize, &str) -> String,
    cut: fn(&str, &str) -> String,
    unread: fn(usize) -> String,
    stopped: fn(usize, usize) -> String,
    then: &'static str,
    took: fn(&str, &str) -> String,
    list: &'static str,
    alone: &'static str,
    reassembled: fn(&str) -> String,
}

const VERDICT_EN: VerdictWords = VerdictWords {
    name: |label| format!("the {label}"),
    whole: |name, len| format!("all {len} bytes of {name}"),
    part: |name, start, end| format!("bytes {start}..{end} of {name}"),
    and: " and ",
    glued: |read, parts| {
        format!(
            "read {read} returned {parts}: the digits and the output glued, so the length no \
             longer parses"
        )
    },
    cut: |name, reads| {
        format!("{name} was cut across reads {reads}: the client took the first piece for the whole length")
    },
    unread: |n| format!("{n} bytes were never read"),
    stopped: |replies, total| {
        format!("the conversation stopped after {replies} of {total} replies")
    },
    then: "; ",
    took: |name, reads| format!("{name} took reads {reads}"),
    list: ", ",
    alone: "every length arrived alone in a read of its own",
    reassembled: |list| format!(", and the client's loop put every reply back together ({list})"),
};

const VERDICT_ZH: VerdictWords = VerdictWords {
    name: |label| label.to_string(),
    whole: |name, len| format!("{name}（全部 {len} 字节）"),
    part: |name, start, end| format!("{name}的第 {start}..{end} 字节"),
    and: "，以及 ",
    glued: |read, parts| {
        format!("第 {read} 次读取返回了 {parts}：数字和输出粘在一起（粘包），长度再也解析不出来")
    },
    cut: |name, reads| {
        format!("{name}被切在第 {reads} 次读取里（拆包）：客户端把第一段当成了完整的长度")
    },
    unread: |n| format!("有 {n} 字节始终没有被读取"),
    stopped: |replies, total| format!("对话在 {replies} 条回复（共 {total} 条）之后中断"),
    then: "；",
    took: |name, reads| format!("{name}用了第 {reads} 次读取"),
    list: "，",
    alone: "每个长度都单独落在自己的一次读取里",
    reassembled: |list| format!("，客户端的循环把每条回复重新拼完整了（{list}）"),
};

fn join_numbers(numbers: &[usize]) -> String {
    let list: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
    list.join(", ")
}
