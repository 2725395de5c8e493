//! The side-by-side run: the same awkward messages through every framing
//! over a real loopback connection, the same hostile inputs against every
//! decoder, and the decision table. Identical on every run: what is printed
//! is which frames came out and what was refused, never timings or ports.
//! Told in English or 简体中文 ([`demo_transcript_in`]); the bytes shown,
//! the strategies' names and the limits are the same in both.

use std::fmt::Write as _;
use std::io;

use common::lang::{pad, Lang};

use crate::codec::{Buffer, DecodeError, Decoder, EncodeError};
use crate::strategies::{Limits, Strategy};
use crate::verify::Verifier;
use crate::wire::{exchange, Fate, Loss};

/// The awkward messages, with a name each.
pub fn awkward_messages() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", Vec::new()),
        (
            "delimiters",
            b"two\nlines, NUL \x00, 5:colon, and \r\n\r\n".to_vec(),
        ),
        ("binary", (0..=255u8).collect()),
        (
            "large",
            (0..64 * 1024u32).map(|i| b'a' + (i % 26) as u8).collect(),
        ),
    ]
}

/// The limits of the hostile-input section: small, so the numbers are short.
pub const HOSTILE_LIMITS: Limits = Limits {
    record: 256,
    max_line: 1024,
    max_header: 1024,
    max_frame: 1024,
};

/// An awkward message's name in `lang`.
fn message_name(name: &str, lang: Lang) -> &str {
    match (lang, name) {
        (Lang::Zh, "empty") => "空消息",
        (Lang::Zh, "delimiters") => "满是分隔符",
        (Lang::Zh, "binary") => "二进制",
        (Lang::Zh, "large") => "大消息",
        _ => name,
    }
}

/// What [`hostile_input`] sends, said in Chinese.
fn hostile_words_zh(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::FixedLength => "300 字节：一条记录加一截残片",
        Strategy::Lines => "2,000 字节，没有换行符",
        Strategy::Cobs => "05 11 22 00：一个越过分隔符的编码字节",
        Strategy::Netstring => "4294967296:...",
        Strategy::Length4 => "ff ff ff 7f：i32::MAX",
        Strategy::Varint => "ff ff ff ff 0f：2^32 - 1",
        Strategy::ContentLength => "Content-Length: 4294967296",
        Strategy::HalfClose => "2,000 字节，然后 FIN",
    }
}

/// A hostile or broken input for each decoder, and what it is.
pub fn hostile_input(strategy: Strategy) -> (&'static str, Vec<u8>) {
    match strategy {
        Strategy::FixedLength => ("300 bytes: a record and a stub", vec![b'r'; 300]),
        Strategy::Lines => ("2,000 bytes, no newline", vec![b'a'; 2000]),
        Strategy::Cobs => (
            "05 11 22 00: a code that runs past the delimiter",
            vec![0x05, 0x11, 0x22, 0x00],
        ),
        Strategy::Netstring => ("4294967296:...", b"4294967296:abc".to_vec()),
        Strategy::Length4 => ("ff ff ff 7f: i32::MAX", vec![0xff, 0xff, 0xff, 0x7f]),
        Strategy::Varint => (
            "ff ff ff ff 0f: 2^32 - 1",
            vec![0xff, 0xff, 0xff, 0xff, 0x0f],
        ),
        Strategy::ContentLength => (
            "Content-Length: 4294967296",
            b"Content-Length: 4294967296\r\n\r\n".to_vec(),
        ),
        Strategy::HalfClose => ("2,000 bytes, then the FIN", vec![b'a'; 2000]),
    }
}

/// One line of what a strategy is, for its heading.
fn summary(strategy: Strategy, lang: Lang) -> &'static str {
    if lang.is_zh() {
        return match strategy {
            Strategy::FixedLength => "每帧恰好 256 字节",
            Strategy::Lines => "以 \\n 结尾，每行最多 8 KiB",
            Strategy::Cobs => "COBS 转义，以 00 结尾",
            Strategy::Netstring => "5:hello,",
            Strategy::Length4 => "第 4 阶段：i32 小端长度头，然后是消息体",
            Strategy::Varint => "LEB128 长度，然后是消息体（protobuf）",
            Strategy::ContentLength => "Content-Length: N\\r\\n\\r\\n，然后是消息体（HTTP/1.1）",
            Strategy::HalfClose => "一条连接一条消息，以 shutdown(Write) 结束",
        };
    }
    match strategy {
        Strategy::FixedLength => "every frame exactly 256 bytes",
        Strategy::Lines => "ended by \\n, at most 8 KiB a line",
        Strategy::Cobs => "COBS-escaped, ended by 00",
        Strategy::Netstring => "5:hello,",
        Strategy::Length4 => "stage 4: i32 little-endian length, then the body",
        Strategy::Varint => "LEB128 length, then the body (protobuf)",
        Strategy::ContentLength => "Content-Length: N\\r\\n\\r\\n, then the body (HTTP/1.1)",
        Strategy::HalfClose => "one message per connection, ended by shutdown(Write)",
    }
}

fn fate_words(fate: &Fate, lang: Lang) -> String {
    match (lang, fate) {
        (Lang::En, Fate::Intact) => "✓ arrived whole".into(),
        (Lang::En, Fate::Refused(e)) => format!("✗ not sent: {e}"),
        (Lang::En, Fate::Garbled(n)) => format!("✗ a frame of {n} B arrived instead"),
        (Lang::En, Fate::Lost(why)) => format!("✗ lost: {why}"),
        (Lang::Zh, Fate::Intact) => "✓ 完整到达".into(),
        (Lang::Zh, Fate::Refused(e)) => format!("✗ 没发出去：{}", encode_error_zh(e)),
        (Lang::Zh, Fate::Garbled(n)) => format!("✗ 到达的却是一个 {n} 字节的帧"),
        (Lang::Zh, Fate::Lost(why)) => format!("✗ 丢了：{}", loss_zh(why)),
    }
}

/// The error `strategy`'s decoder refuses `input` with, fed whole.
fn refusal(strategy: Strategy, input: &[u8]) -> Option<DecodeError> {
    let mut decoder = strategy.decoder(&HOSTILE_LIMITS);
    let mut buf = Buffer::new();
    buf.push(input);
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => return Some(e),
        }
    }
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
}

/// Why an encoder would not write a message, in Chinese.
fn encode_error_zh(e: &EncodeError) -> String {
    match e {
        EncodeError::Contains { byte, at } => {
            format!("消息的第 {at} 字节就是结束符 `{}`", byte.escape_ascii())
        }
        EncodeError::WrongLength { len, record } => {
            format!("消息有 {len} 字节，而一条记录必须恰好 {record} 字节")
        }
        EncodeError::TooLong { len, max } => {
            format!("消息有 {len} 字节，这种格式最多只能宣布 {max} 字节")
        }
    }
}

/// Why no frame arrived, in Chinese.
fn loss_zh(loss: &Loss) -> String {
    match loss {
        Loss::Refused(e) => decode_error_zh(e),
        Loss::Io(e) => format!("套接字出错：{e}"),
        Loss::EndedBefore => "还没轮到它，字节流就结束了".into(),
    }
}

/// Why a decoder refused the stream, in Chinese: the numbers are the
/// error's own, the words are said again.
fn decode_error_zh(e: &DecodeError) -> String {
    match e {
        DecodeError::TooLarge {
            what,
            len,
            at_least: true,
            max,
        } => format!(
            "{}至少 {len} 字节，上限是 {max}；没等缓冲剩下的字节就拒绝了",
            what_zh(what).trim_start()
        ),
        DecodeError::TooLarge {
            what,
            len,
            at_least: false,
            max,
        } => format!(
            "宣布的{}有 {len} 字节，上限是 {max}；没分配内存就拒绝了",
            what_zh(what)
        ),
        DecodeError::Malformed { offset, why } => {
            format!("帧内第 {offset} 字节处格式不对：{}", why_zh(why))
        }
        DecodeError::Leftover { bytes } => {
            format!("字节流结束时，还剩 {bytes} 字节凑不成一个完整的帧")
        }
    }
}

/// The thing a [`DecodeError::TooLarge`] names, in Chinese.
fn what_zh(what: &str) -> String {
    match what {
        "line" => "一行".into(),
        "frame" => "帧".into(),
        "encoded frame" => "编码后的帧".into(),
        "body" => "消息体".into(),
        "header block" => "头部块".into(),
        "message" => "消息".into(),
        other => format!(" {other} "),
    }
}

/// A malformed frame's reason in Chinese, where the demo shows it; any other
/// reason keeps its English words.
fn why_zh(why: &str) -> String {
    // "code 0x05 promises 4 data bytes, the frame has 2 left" (COBS).
    let cobs = why
        .strip_prefix("code ")
        .and_then(|rest| rest.split_once(" promises "))
        .and_then(|(code, rest)| {
            let (promised, rest) = rest.split_once(" data bytes, the frame has ")?;
            let left = rest.strip_suffix(" left")?;
            Some(format!(
                "编码字节 {code} 承诺后面有 {promised} 个数据字节，帧里只剩 {left} 个"
            ))
        });
    cobs.unwrap_or_else(|| why.to_string())
}

/// The side-by-side run over real sockets, one block per strategy.
pub fn side_by_side() -> io::Result<String> {
    side_by_side_in(Lang::En)
}

/// [`side_by_side`] told in `lang`.
pub fn side_by_side_in(lang: Lang) -> io::Result<String> {
    let messages = awkward_messages();
    let bodies: Vec<Vec<u8>> = messages.iter().map(|(_, m)| m.clone()).collect();
    let mut out = String::new();
    for strategy in Strategy::ALL {
        let colon = lang.pick(": ", "：");
        let _ = writeln!(out, "{}{colon}{}", strategy.name(), summary(strategy, lang));
        let result = exchange(strategy, &Limits::GALLERY, &bodies, None)?;
        for (i, (name, body)) in messages.iter().enumerate() {
            let wire = match result.wire_len[i] {
                Some(n) => format!("{n} B (+{})", n - body.len()),
                None => "-".into(),
            };
            let _ = writeln!(
                out,
                "  {}. {} {:>14}  {}",
                i + 1,
                pad(message_name(name, lang), 10),
                wire,
                fate_words(&result.fates[i], lang)
            );
        }
        let (what, input) = hostile_input(strategy);
        let verifier = Verifier::new().cases(16);
        let line =
            match verifier.check_decoder_refuses(|| strategy.decoder(&HOSTILE_LIMITS), &input) {
                Ok(outcome) => match (lang, outcome.end) {
                    (Lang::En, Err(e)) => format!("refused: {e}"),
                    // The verifier keeps the error as text (a student's
                    // decoder may have any error type); the gallery's own
                    // decoders are fed the input once more to word it again.
                    (Lang::Zh, Err(e)) => match refusal(strategy, &input) {
                        Some(refused) => format!("拒绝：{}", decode_error_zh(&refused)),
                        None => format!("拒绝：{e}"),
                    },
                    (Lang::En, Ok(())) => "accepted".into(),
                    (Lang::Zh, Ok(())) => "接受了".into(),
                },
                Err(failure) => match lang {
                    Lang::En => format!("the decoder depends on the cuts: {failure}"),
                    Lang::Zh => format!("解码结果取决于切法：{failure}"),
                },
            };
        match lang {
            Lang::En => {
                let _ = writeln!(out, "  hostile: {what}\n    -> {line}");
            }
            Lang::Zh => {
                let what = hostile_words_zh(strategy);
                let _ = writeln!(out, "  恶意输入：{what}\n    -> {line}");
            }
        }
        let _ = writeln!(out);
    }
    Ok(out)
}

/// A decision-table cell in Chinese (the strategies' names, sizes and
/// bytes stay as they are).
fn cell_zh(cell: &str) -> &str {
    match cell {
        "yes" => "是",
        "no" => "否",
        "no (\\n)" => "否（\\n）",
        "none needed" => "不需要",
        "254 B ahead" => "提前 254 B",
        "yes: next \\n" => "能：下一个 \\n",
        "yes: next 00" => "能：下一个 00",
        "per connection" => "按连接",
        "no (chunked)" => "否（chunked 可以）",
        "digits + 2 B" => "数字 + 2 B",
        "20 B + digits" => "20 B + 数字",
        "a connection" => "一条连接",
        "max line" => "行长上限",
        "max frame" => "帧长上限",
        "digits, max" => "位数、上限",
        "sign, max" => "符号、上限",
        "10 bytes, max" => "10 字节、上限",
        "header, max" => "头部、上限",
        "max message" => "消息上限",
        other => other,
    }
}

/// The decision table.
pub fn decision_table() -> String {
    decision_table_in(Lang::En)
}

/// [`decision_table`] in `lang`: columns padded by display width, since a
/// Chinese character takes two columns.
pub fn decision_table_in(lang: Lang) -> String {
    let header = match lang {
        Lang::En => [
            "strategy",
            "binary-safe",
            "empty",
            "unknown length",
            "resync after garbage",
            "overhead",
            "hostile-input guard",
        ],
        Lang::Zh => [
            "策略",
            "二进制安全",
            "空消息",
            "长度未知",
            "乱码后重新同步",
            "开销",
            "防恶意输入",
        ],
    };
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for strategy in Strategy::ALL {
        let t = strategy.traits();
        rows.push(
            [
                strategy.name(),
                t.binary_safe,
                t.empty,
                t.streaming,
                t.resync,
                t.overhead,
                t.guard,
            ]
            .iter()
            .enumerate()
            .map(|(c, s)| match lang {
                Lang::Zh if c > 0 => cell_zh(s).to_string(),
                _ => s.to_string(),
            })
            .collect(),
        );
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| common::lang::width(&r[c]))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| pad(cell, w))
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
            let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
        }
    }
    out
}

/// The whole demo: messages, the side-by-side run, the decision table.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_in(Lang::En)
}

/// [`demo_transcript`] told in `lang`.
pub fn demo_transcript_in(lang: Lang) -> io::Result<String> {
    let mut out = String::new();
    let title = lang.pick(
        "Part II, the framing gallery: eight ways to find where a message ends",
        "第二部分，分帧画廊：找出消息在哪里结束的八种办法",
    );
    let _ = writeln!(out, "{title}\n{}", "=".repeat(common::lang::width(title)));
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "The same messages through every framing, each over a real connection on 127.0.0.1\n\
             (half-close: one connection per message). The server decodes whatever each read\n\
             returned with the strategy's incremental decoder; wire sizes are the frame's bytes\n\
             (+ the framing's overhead).",
            "同样几条消息，依次用每种分帧方式发送，每种都走 127.0.0.1 上一条真实的连接\n\
             （half-close 则是一条消息一条连接）。服务端每次读到多少字节，就交给该策略的\n\
             增量解码器去拆帧；每行的字节数是整帧在线上的大小（括号里是分帧额外花掉的字节）。"
        )
    );
    let _ = writeln!(out);
    let heading = |out: &mut String, text: &str| {
        let _ = writeln!(out, "{text}\n{}", "-".repeat(common::lang::width(text)));
    };
    heading(&mut out, lang.pick("The messages", "这几条消息"));
    for (i, (name, body)) in awkward_messages().iter().enumerate() {
        let shown = if body.len() > 48 {
            match (lang, *name) {
                (Lang::En, "binary") => "every byte value, 00 to ff".to_string(),
                (Lang::Zh, "binary") => "每一种字节取值，00 到 ff".to_string(),
                (Lang::En, _) => format!(
                    "`{}...` (letters, no newline)",
                    &body.escape_ascii().to_string()[..10]
                ),
                (Lang::Zh, _) => format!(
                    "`{}...`（全是字母，没有换行符）",
                    &body.escape_ascii().to_string()[..10]
                ),
            }
        } else {
            format!("`{}`", body.escape_ascii())
        };
        let _ = writeln!(
            out,
            "  {}. {} {:>6} B  {shown}",
            i + 1,
            pad(message_name(name, lang), 10),
            body.len()
        );
    }
    let _ = writeln!(out);
    heading(&mut out, lang.pick("Side by side", "并排比较"));
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "Each block ends with a hostile input against the decoder limited to 1 KiB, checked by\n\
             the decoder verifier: refused the same way fed whole, in 16 random splits, byte by byte.\n",
            "每一块最后都拿一段恶意输入去喂上限为 1 KiB 的解码器，并由解码器校验器检查：\n\
             整段喂、随机切成 16 种碎块喂、一个字节一个字节地喂，拒绝的方式都必须一样。\n"
        )
    );
    out.push_str(&side_by_side_in(lang)?);
    heading(&mut out, lang.pick("The decision table", "选型对照表"));
    out.push_str(&decision_table_in(lang));
    let _ = writeln!(
        out,
        "\n{}",
        lang.pick(
            "unknown length: can the sender start before it knows how long the message is?\n\
             resync: after garbage, can a reader find where the next frame starts?\n\
             Read the strategies in crates/framing-gallery/src/strategies/, one module each;\n\
             test your own decoder with framing_gallery::verify::Verifier (docs/8-decoder-verifier.md).",
            "长度未知：发送方还不知道消息多长的时候，能不能先开始发？\n\
             重新同步：收到一段乱码之后，读取方能不能找到下一帧从哪里开始？\n\
             每种策略的代码在 crates/framing-gallery/src/strategies/ 里，一个模块一种；\n\
             自己写的解码器可以用 framing_gallery::verify::Verifier 来检验（docs/zh-CN/8-decoder-verifier.md）。"
        )
    );
    Ok(out)
}
