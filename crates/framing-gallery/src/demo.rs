//! The side-by-side run: the same awkward messages through every framing
//! over a real loopback connection, the same hostile inputs against every
//! decoder, and the decision table. Identical on every run: what is printed
//! is which frames came out and what was refused, never timings or ports.

use std::fmt::Write as _;
use std::io;

use crate::strategies::{Limits, Strategy};
use crate::verify::Verifier;
use crate::wire::{exchange, Fate};

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
fn summary(strategy: Strategy) -> &'static str {
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

fn fate_words(fate: &Fate) -> String {
    match fate {
        Fate::Intact => "✓ arrived whole".into(),
        Fate::Refused(e) => format!("✗ not sent: {e}"),
        Fate::Garbled(n) => format!("✗ a frame of {n} B arrived instead"),
        Fate::Lost(why) => format!("✗ lost: {why}"),
    }
}

/// The side-by-side run over real sockets, one block per strategy.
pub fn side_by_side() -> io::Result<String> {
    let messages = awkward_messages();
    let bodies: Vec<Vec<u8>> = messages.iter().map(|(_, m)| m.clone()).collect();
    let mut out = String::new();
    for strategy in Strategy::ALL {
        let _ = writeln!(out, "{}: {}", strategy.name(), summary(strategy));
        let result = exchange(strategy, &Limits::GALLERY, &bodies, None)?;
        for (i, (name, body)) in messages.iter().enumerate() {
            let wire = match result.wire_len[i] {
                Some(n) => format!("{n} B (+{})", n - body.len()),
                None => "-".into(),
            };
            let _ = writeln!(
                out,
                "  {}. {:<10} {:>14}  {}",
                i + 1,
                name,
                wire,
                fate_words(&result.fates[i])
            );
        }
        let (what, input) = hostile_input(strategy);
        let verifier = Verifier::new().cases(16);
        let line =
            match verifier.check_decoder_refuses(|| strategy.decoder(&HOSTILE_LIMITS), &input) {
                Ok(outcome) => match outcome.end {
                    Err(e) => format!("refused: {e}"),
                    Ok(()) => "accepted".into(),
                },
                Err(failure) => format!("the decoder depends on the cuts: {failure}"),
            };
        let _ = writeln!(out, "  hostile: {what}\n    -> {line}");
        let _ = writeln!(out);
    }
    Ok(out)
}

/// The decision table.
pub fn decision_table() -> String {
    let header = [
        "strategy",
        "binary-safe",
        "empty",
        "unknown length",
        "resync after garbage",
        "overhead",
        "hostile-input guard",
    ];
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
            .map(|s| s.to_string())
            .collect(),
        );
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell:<w$}"))
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
    let mut out = String::new();
    let title = "Part II, the framing gallery: eight ways to find where a message ends";
    let _ = writeln!(out, "{title}\n{}", "=".repeat(title.chars().count()));
    let _ = writeln!(
        out,
        "The same messages through every framing, each over a real connection on 127.0.0.1\n\
         (half-close: one connection per message). The server decodes whatever each read\n\
         returned with the strategy's incremental decoder; wire sizes are the frame's bytes\n\
         (+ the framing's overhead)."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "The messages");
    let _ = writeln!(out, "------------");
    for (i, (name, body)) in awkward_messages().iter().enumerate() {
        let shown = if body.len() > 48 {
            match *name {
                "binary" => "every byte value, 00 to ff".to_string(),
                _ => format!(
                    "`{}...` (letters, no newline)",
                    &body.escape_ascii().to_string()[..10]
                ),
            }
        } else {
            format!("`{}`", body.escape_ascii())
        };
        let _ = writeln!(
            out,
            "  {}. {:<10} {:>6} B  {shown}",
            i + 1,
            name,
            body.len()
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Side by side");
    let _ = writeln!(out, "------------");
    let _ = writeln!(
        out,
        "Each block ends with a hostile input against the decoder limited to 1 KiB, checked by\n\
         the decoder verifier: refused the same way fed whole, in 16 random splits, byte by byte.\n"
    );
    out.push_str(&side_by_side()?);
    let _ = writeln!(out, "The decision table");
    let _ = writeln!(out, "------------------");
    out.push_str(&decision_table());
    let _ = writeln!(
        out,
        "\nunknown length: can the sender start before it knows how long the message is?\n\
         resync: after garbage, can a reader find where the next frame starts?\n\
         Read the strategies in crates/framing-gallery/src/strategies/, one module each;\n\
         test your own decoder with framing_gallery::verify::Verifier (docs/8-decoder-verifier.md)."
    );
    Ok(out)
}
