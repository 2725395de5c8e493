//! Retelling a broken cell's English words in Chinese, so one run gives
//! both tables. Kept apart from the table's layout: this is a list of
//! wordings that grows with every trial's words, not a part of the drawing.

use common::lang::Lang;

/// What went wrong in a cell, told in `lang`. The trials (the matrix's, the
/// gallery's and tokio-length's) word their verdicts in English; each wording
/// is matched against its template below and retold in Chinese, so both
/// tables come from the same run. A wording with no template (an OS error's
/// own text, say) stays as it is: the Chinese snapshot shows it if a trial's
/// words change without this table.
pub(super) fn reason_in(why: &str, lang: Lang) -> String {
    if !lang.is_zh() {
        return why.to_string();
    }
    REASONS_ZH
        .iter()
        .find_map(|(en, zh)| retell(why, en, zh))
        .unwrap_or_else(|| why.to_string())
}

/// Each English wording of a broken cell (`{}` stands for a value) and its
/// Chinese form (`{0}`, `{1}` for the values, in the English order). More
/// specific wordings come before the general ones that would also match.
const REASONS_ZH: &[(&str, &str)] = &[
    // Stages 2-4 (`commands`).
    (
        "command {} cut: ran {}",
        "命令 {0} 被拆包：服务端执行的是 {1}",
    ),
    (
        "reply {} shows reply {}'s tail",
        "回复 {0} 开头是回复 {1} 的尾巴（粘包）",
    ),
    (
        "reply {} cut at {} bytes",
        "回复 {0} 在第 {1} 字节处被拆开（拆包）",
    ),
    ("reply {} never came", "回复 {0} 一直没到"),
    ("reply {} wrong", "回复 {0} 内容不对"),
    ("reply {} cut short", "回复 {0} 没收全"),
    (
        "length cut: read {} of {}",
        "长度头被拆包：只读到 {0}（应为 {1}）",
    ),
    ("length glued to output", "长度头和输出粘包"),
    ("length did not parse", "长度头解析失败"),
    // Stages 5-6 (`uploads`).
    (
        "JSON cut: read {} of {} B",
        "JSON 报文被拆包：{1} 字节只读到 {0} 字节",
    ),
    ("file {} saved wrong", "文件 {0} 存下的内容不对"),
    ("file {} not saved", "文件 {0} 没有存下"),
    ("file {}: {}", "文件 {0}：{1}"),
    // The gallery (`framing_gallery::wire`).
    (
        "message {} holds {} at byte {}",
        "消息 {0} 的第 {2} 字节是 {1}",
    ),
    ("message {} refused: {}", "消息 {0} 被拒绝：{1}"),
    ("message {} arrived as {} B", "消息 {0} 到达时成了 {1} 字节"),
    ("message {} lost: {}", "消息 {0} 丢失：{1}"),
    // Stage 4 on tokio (`tokio_length::rows`).
    ("reply {}: {}", "回复 {0}：{1}"),
    ("server task: {}", "服务端任务：{0}"),
    ("server never saw the close", "服务端没等到连接关闭"),
    ("server: {}", "服务端：{0}"),
];

/// `text` retold as `zh` when it has the form of `en`: each `{}` of `en`
/// takes the shortest run of text up to the next fixed words (the last one
/// takes the rest), and `{N}` in `zh` gives back the N-th value.
pub(super) fn retell(text: &str, en: &str, zh: &str) -> Option<String> {
    let mut parts = en.split("{}");
    let mut rest = text.strip_prefix(parts.next()?)?;
    let mut values = Vec::new();
    let literals: Vec<&str> = parts.collect();
    for (i, literal) in literals.iter().enumerate() {
        let value = if i + 1 == literals.len() && literal.is_empty() {
            std::mem::take(&mut rest)
        } else {
            let at = rest.find(literal)?;
            let value = &rest[..at];
            rest = &rest[at + literal.len()..];
            value
        };
        if value.is_empty() {
            return None;
        }
        values.push(value);
    }
    if !rest.is_empty() {
        return None;
    }
    let mut out = zh.to_string();
    for (i, value) in values.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), value);
    }
    Some(out)
}
