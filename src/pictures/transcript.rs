//! Reading the demos' transcripts back: the boundary timelines, stage 1's
//! datagrams and the servers' answers. Kept apart from the drawing because a
//! change to a transcript's format must fail here, loudly, not draw wrong.

use std::io;

use common::Timeline;

/// The datagrams one part of stage 1's transcript shows: the sizes the client
/// sent and the sizes the server's receives returned, in order.
pub(super) fn datagrams_in(transcript: &str, part: &str) -> io::Result<(Vec<usize>, Vec<usize>)> {
    let mut lines = transcript.lines().skip_while(|l| !l.starts_with(part));
    if lines.next().is_none() {
        return Err(io::Error::other(format!(
            "stage 1's transcript has no part {part}; the datagram pictures need it"
        )));
    }
    let (mut sent, mut received) = (Vec::new(), Vec::new());
    for line in lines.take_while(|l| !l.trim().is_empty()) {
        let size = |rest: &str| -> Option<usize> {
            rest.split_whitespace().next().and_then(|n| n.parse().ok())
        };
        let t = line.trim_start();
        if let Some(n) = t.strip_prefix("client sends").and_then(size) {
            sent.push(n);
        } else if let Some(rest) = t.strip_prefix("server receive ") {
            // `server receive 1   1024 bytes`: skip the receive's number.
            if let Some(n) = rest.split_whitespace().nth(1).and_then(|n| n.parse().ok()) {
                received.push(n);
            }
        }
    }
    if sent.is_empty() || sent.len() != received.len() {
        return Err(io::Error::other(format!(
            "stage 1's part {part} shows {} datagram(s) sent and {} received; the picture \
             pairs them one to one",
            sent.len(),
            received.len()
        )));
    }
    Ok((sent, received))
}
/// The server's answers a transcript shows, in order: the code of every line
/// that starts with `<- ` and three digits, such as `  <- 203 verified`.
pub(super) fn replies_in(transcript: &str) -> Vec<String> {
    transcript
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("<- "))
        .filter_map(|rest| rest.get(..3))
        .filter(|code| code.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}
pub(super) const HEADER_PREFIX: &str = "boundary timeline, ";

/// Every boundary timeline printed in `transcript`, rebuilt as [`Timeline`]s.
///
/// Each block is checked by rendering the rebuilt timeline again: it must give
/// back the block exactly, or this fails saying which block and line differ.
pub fn timelines_in(transcript: &str) -> io::Result<Vec<Timeline>> {
    let lines: Vec<&str> = transcript.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(title) = lines[i]
            .strip_prefix(HEADER_PREFIX)
            .and_then(|t| t.strip_suffix(':'))
        else {
            i += 1;
            continue;
        };
        let start = i;
        let Some(end) = lines[start..]
            .iter()
            .position(|l| l.starts_with("  ") && l.contains(" sticky read(s), "))
            .map(|p| start + p)
        else {
            return Err(bad_block(start, "it never ends with its summary line"));
        };
        let timeline = Timeline::new(title);
        let mut section = "";
        for (n, line) in lines.iter().enumerate().take(end).skip(start + 1) {
            match line.trim() {
                "messages written:" | "reads:" | "where each message went:" => {
                    section = line.trim();
                    continue;
                }
                "(none)" if section == "reads:" => continue,
                _ => {}
            }
            match section {
                "messages written:" => {
                    let (len, label) = numbered_line(line, "M").ok_or_else(|| {
                        bad_block(n, "a message line is not `M<n> <len> bytes  <label>`")
                    })?;
                    timeline.sent_labeled(label, len);
                }
                "reads:" => {
                    let (len, _) = numbered_line(line, "read ").ok_or_else(|| {
                        bad_block(n, "a read line is not `read <n> <len> bytes  ...`")
                    })?;
                    timeline.read(len);
                }
                // Derived from the two lists above; the comparison below checks it.
                _ => {}
            }
        }
        let block: String = lines[start..=end]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        let again = timeline.render();
        if again != block {
            let differs = block
                .lines()
                .zip(again.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(bad_block(
                start + differs,
                "the timeline rebuilt from this block renders differently: \
                 has the timeline's text format changed? Update `pictures::timelines_in`",
            ));
        }
        found.push(timeline);
        i = end + 1;
    }
    Ok(found)
}

fn bad_block(line: usize, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "boundary timeline in the transcript, line {}: {why}",
            line + 1
        ),
    )
}

/// Parses `    <prefix><n>  <len> bytes  <rest>` into `(len, rest)`.
fn numbered_line<'a>(line: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = line.strip_prefix("    ")?.strip_prefix(prefix)?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let rest = rest[digits..].trim_start();
    let len_digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let len = rest[..len_digits].parse().ok()?;
    let rest = rest[len_digits..].strip_prefix(" bytes")?;
    Some((len, rest.strip_prefix("  ").unwrap_or(rest)))
}
