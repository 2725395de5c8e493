//! The course in `docs/` cannot drift from the code.
//!
//! Every transcript and every code excerpt in the docs is a *quote*: an HTML
//! comment line naming its source, immediately followed by a fenced block:
//!
//! ````markdown
//! <!-- quote: crates/udp-echo/tests/snapshots/demo__demo.snap -->
//! ```text
//! ...the snapshot body, exactly...
//! ```
//! ````
//!
//! The source is a path relative to the repository root, optionally followed
//! by `#NAME` to quote the part of a Rust file between the comments
//! `// ANCHOR: NAME` and `// ANCHOR_END: NAME` (mdBook's anchor syntax), so
//! the docs never depend on how Rust is parsed. What a source quotes as:
//!
//! - an insta `.snap` file: its body, without the `---` front matter;
//! - `file.rs#name`: the lines between its two anchor comments, without
//!   other anchor lines, dedented by their least indentation;
//! - any other path: the whole file.
//!
//! `cargo test --test docs` compares every block with its source and reports
//! every mismatch at once (doc file, line, source). `UPDATE_DOCS=1 cargo test
//! --test docs` rewrites the blocks from their sources instead. A quote whose
//! file or item is missing fails in both modes: it is never skipped.
//!
//! The root `README.md` is checked the same way.
//!
//! The same test checks that every relative link in `docs/` and in the root
//! `README.md` points at a file that exists, that every `#fragment` names a
//! heading of its page, and that no chapter links out of the two books (see
//! `every_relative_link_resolves`). With `BOOK_DIR` set to a built book
//! (`target/book`), it also scans the built HTML for dead links.

use std::fmt::Write as _;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The repository root: the root package's manifest directory.
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The command that refreshes every quote, named in every failure message.
const UPDATE_HINT: &str = "UPDATE_DOCS=1 cargo test --test docs";

// ---------------------------------------------------------------------------
// Markdown: fenced blocks and quote markers
// ---------------------------------------------------------------------------

/// An opening code fence: its character (`` ` `` or `~`) and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fence {
    ch: char,
    len: usize,
}

/// If `line` opens a fenced code block, its fence and info string.
fn opening_fence(line: &str) -> Option<(Fence, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = rest.chars().next()?;
    if ch != '`' && ch != '~' {
        return None;
    }
    let len = rest.len() - rest.trim_start_matches(ch).len();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    // CommonMark: a backtick fence's info string holds no backtick.
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((Fence { ch, len }, info))
}

/// Does `line` close a block opened with `fence`?
fn closes(line: &str, fence: Fence) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return false;
    }
    let rest = &line[indent..];
    let len = rest.len() - rest.trim_start_matches(fence.ch).len();
    len >= fence.len && rest[len..].trim().is_empty()
}

/// One `<!-- quote: ... -->` marker and the fenced block under it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct QuoteBlock {
    /// 1-based line of the marker.
    line: usize,
    /// What follows `quote:`, such as `crates/x/src/lib.rs#write_frame`.
    source: String,
    /// The fence's info string (`text`, `rust`, ...).
    info: String,
    /// 0-based index of the opening fence line.
    open: usize,
    /// 0-based index of the closing fence line.
    close: usize,
    /// The lines between the fences, joined with `\n`.
    content: String,
}

/// The text of a quote marker line, if `line` is one (possibly malformed).
fn quote_marker(line: &str) -> Option<Result<String, String>> {
    let t = line.trim();
    let rest = t.strip_prefix("<!--")?.trim_start();
    let rest = rest.strip_prefix("quote:")?;
    Some(match rest.trim_end().strip_suffix("-->") {
        Some(src) if !src.trim().is_empty() => Ok(src.trim().to_string()),
        Some(_) => Err("the quote marker names no source".to_string()),
        None => Err("a quote marker must be one line ending in `-->`".to_string()),
    })
}

/// Finds every quote block of a Markdown text. Markers inside fenced blocks
/// (examples of the syntax) are not quotes. Errors carry their 1-based line.
fn parse_quotes(text: &str) -> Result<Vec<QuoteBlock>, Vec<(usize, String)>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut quotes = Vec::new();
    let mut errors = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some((fence, _)) = opening_fence(lines[i]) {
            // An ordinary code block: skip it whole.
            let mut j = i + 1;
            while j < lines.len() && !closes(lines[j], fence) {
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let Some(marker) = quote_marker(lines[i]) else {
            i += 1;
            continue;
        };
        let source = match marker {
            Ok(source) => source,
            Err(e) => {
                errors.push((i + 1, e));
                i += 1;
                continue;
            }
        };
        let Some((fence, info)) = lines.get(i + 1).and_then(|l| opening_fence(l)) else {
            errors.push((
                i + 1,
                format!(
                    "the quote of `{source}` must be followed, on the very next line, by a \
                     fenced code block (```text ... ```)"
                ),
            ));
            i += 1;
            continue;
        };
        let open = i + 1;
        let mut close = open + 1;
        while close < lines.len() && !closes(lines[close], fence) {
            close += 1;
        }
        if close >= lines.len() {
            errors.push((
                open + 1,
                format!("the fenced block quoting `{source}` is never closed"),
            ));
            break;
        }
        quotes.push(QuoteBlock {
            line: i + 1,
            source,
            info: info.to_string(),
            open,
            close,
            content: lines[open + 1..close].join("\n"),
        });
        i = close + 1;
    }
    if errors.is_empty() {
        Ok(quotes)
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------------------
// Sources: snapshots, Rust items, whole files
// ---------------------------------------------------------------------------

/// Line endings normalised, trailing blank lines dropped: neither is content.
fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n")
        .trim_end_matches('\n')
        .to_string()
}

/// The body of an insta snapshot: everything after the `---` front matter.
fn snapshot_body(text: &str) -> Result<String, String> {
    let text = text.replace("\r\n", "\n");
    let Some(rest) = text.strip_prefix("---\n") else {
        // No front matter: the whole file is the body.
        return Ok(normalise(&text));
    };
    match rest.find("\n---\n") {
        Some(end) => Ok(normalise(&rest[end + 5..])),
        None if rest.ends_with("\n---") => Ok(String::new()),
        None => Err("the snapshot's `---` front matter is never closed".to_string()),
    }
}

/// Extracts the lines between `ANCHOR: name` and `ANCHOR_END: name`
/// comments in a source file, as mdBook's anchors do: other anchor lines
/// inside are dropped, and the text is dedented by its least indentation.
fn extract_anchor(source: &str, name: &str) -> Result<String, String> {
    let source = source.replace("\r\n", "\n");
    let lines: Vec<&str> = source.lines().collect();
    let is_marker = |line: &str, word: &str| {
        line.trim_start()
            .strip_prefix("//")
            .map(str::trim)
            .and_then(|rest| rest.strip_prefix(word))
            .is_some_and(|rest| rest.trim() == name)
    };
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| is_marker(lines[i], "ANCHOR:"))
        .collect();
    let start = match starts.as_slice() {
        [one] => *one,
        [] => return Err(format!("no `// ANCHOR: {name}` in it")),
        _ => {
            return Err(format!(
                "`// ANCHOR: {name}` appears {} times",
                starts.len()
            ))
        }
    };
    let Some(end) = (start + 1..lines.len()).find(|&i| is_marker(lines[i], "ANCHOR_END:")) else {
        return Err(format!(
            "`// ANCHOR: {name}` on line {} is never closed by `// ANCHOR_END: {name}`",
            start + 1
        ));
    };
    let body: Vec<&str> = lines[start + 1..end]
        .iter()
        .copied()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("// ANCHOR:") || t.starts_with("// ANCHOR_END:"))
        })
        .collect();
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let out: Vec<&str> = body
        .iter()
        .map(|l| &l[indent.min(l.len() - l.trim_start_matches(' ').len())..])
        .collect();
    Ok(normalise(&out.join("\n")))
}

/// What a quote's source says now, or why it cannot be read.
fn resolve_source(root: &Path, spec: &str) -> Result<String, String> {
    let (path, item) = match spec.split_once('#') {
        Some((p, i)) => (p.trim(), Some(i.trim())),
        None => (spec.trim(), None),
    };
    if path.is_empty() {
        return Err("the quote names no file".to_string());
    }
    let full = root.join(path);
    let text = fs::read_to_string(&full).map_err(|e| {
        format!("cannot read `{path}` ({e}); the path is relative to the repository root")
    })?;
    match item {
        None if path.ends_with(".snap") => {
            snapshot_body(&text).map_err(|e| format!("`{path}`: {e}"))
        }
        None => Ok(normalise(&text)),
        Some(item) if path.ends_with(".snap") => {
            let body = snapshot_body(&text).map_err(|e| format!("`{path}`: {e}"))?;
            let Some(stage) = item.strip_prefix("row ") else {
                return Err(format!(
                    "`{path}#{item}`: a snapshot is quoted whole, or one table row as `#row NAME`"
                ));
            };
            table_row(&body, stage.trim()).map_err(|e| format!("`{path}`: {e}"))
        }
        Some(anchor) => {
            if !path.ends_with(".rs") {
                return Err(format!(
                    "`{path}#{anchor}`: only Rust sources (.rs) are quoted by anchor"
                ));
            }
            extract_anchor(&text, anchor).map_err(|e| format!("`{path}`: {e}"))
        }
    }
}

/// One row of a table in a snapshot (the story matrix), under the table's
/// heading and rule lines, so a chapter can quote its own stage's row.
fn table_row(body: &str, name: &str) -> Result<String, String> {
    let lines: Vec<&str> = body.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.contains(" | ") && !l.starts_with(name))
        .ok_or("no table (a line with ` | `) in it")?;
    let rule = lines.get(header + 1).ok_or("a table without a rule line")?;
    let row = lines
        .iter()
        .find(|l| l.split(" | ").next().map(str::trim) == Some(name))
        .ok_or_else(|| format!("no table row named `{name}`"))?;
    Ok(normalise(&[lines[header], rule, row].join("\n")))
}

// ---------------------------------------------------------------------------
// Checking and updating a doc file
// ---------------------------------------------------------------------------

/// The first line where two texts differ, for a short failure message.
fn first_difference(doc: &str, source: &str) -> String {
    let (d, s): (Vec<&str>, Vec<&str>) = (doc.lines().collect(), source.lines().collect());
    for i in 0..d.len().max(s.len()) {
        let (a, b) = (d.get(i), s.get(i));
        if a != b {
            return format!(
                "first difference at line {} of the block:\n      docs:   {}\n      source: {}",
                i + 1,
                a.map_or("(block ends)".to_string(), |l| format!("{l:?}")),
                b.map_or("(source ends)".to_string(), |l| format!("{l:?}")),
            );
        }
    }
    "they differ only in trailing whitespace".to_string()
}

/// A fence long enough that no line of `content` can close it.
fn fence_for(content: &str) -> String {
    let longest = content
        .lines()
        .map(|l| {
            let t = l.trim_start();
            t.len() - t.trim_start_matches('`').len()
        })
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Checks (or, with `update`, rewrites) the quotes of one Markdown text.
/// Returns the new text when anything changed, and every problem found,
/// each as `doc:line: message`.
fn process_doc(
    root: &Path,
    doc_name: &str,
    text: &str,
    update: bool,
) -> (Option<String>, Vec<String>) {
    let mut problems = Vec::new();
    let quotes = match parse_quotes(text) {
        Ok(q) => q,
        Err(errors) => {
            for (line, e) in errors {
                problems.push(format!("{doc_name}:{line}: {e}"));
            }
            return (None, problems);
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut copied = 0;
    let mut changed = false;
    for q in &quotes {
        let current = match resolve_source(root, &q.source) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!(
                    "{doc_name}:{}: the quote of `{}` has no source: {e}",
                    q.line, q.source
                ));
                continue;
            }
        };
        if normalise(&q.content) == current {
            continue;
        }
        if update {
            out.extend(lines[copied..q.open].iter().map(|l| l.to_string()));
            let fence = fence_for(&current);
            out.push(format!("{fence}{}", q.info));
            if !current.is_empty() {
                out.extend(current.lines().map(str::to_string));
            }
            out.push(fence);
            copied = q.close + 1;
            changed = true;
        } else {
            problems.push(format!(
                "{doc_name}:{}: out of date: the block no longer matches its source `{}`; \
                 {}\n    refresh every quote with `{UPDATE_HINT}`, then reread the prose around it",
                q.line,
                q.source,
                first_difference(&q.content, &current)
            ));
        }
    }
    if !changed {
        return (None, problems);
    }
    out.extend(lines[copied..].iter().map(|l| l.to_string()));
    let mut new_text = out.join("\n");
    if text.ends_with('\n') {
        new_text.push('\n');
    }
    (Some(new_text), problems)
}

// ---------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------

/// Removes inline code spans, whose brackets are not links.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let fence = &rest[start..start + ticks];
        let after = &rest[start + ticks..];
        match after.find(fence) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                out.push_str(fence);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every link target of a Markdown text, with its 1-based line: inline links
/// and images `[text](target)` and reference definitions `[id]: target`.
/// Fenced code blocks and code spans are skipped.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut targets = Vec::new();
    let mut fence: Option<Fence> = None;
    for (n, raw) in text.lines().enumerate() {
        if let Some(f) = fence {
            if closes(raw, f) {
                fence = None;
            }
            continue;
        }
        if let Some((f, _)) = opening_fence(raw) {
            fence = Some(f);
            continue;
        }
        let line = without_code_spans(raw);
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if let Some(close) = trimmed.find("]:") {
                let target = trimmed[close + 2..].split_whitespace().next().unwrap_or("");
                targets.push((n + 1, target.trim_matches(['<', '>']).to_string()));
                continue;
            }
        }
        let mut rest = line.as_str();
        while let Some(pos) = rest.find("](") {
            let after = &rest[pos + 2..];
            // The target runs to the matching `)`, allowing one level of
            // parentheses inside it.
            let mut depth = 0;
            let mut end = None;
            for (i, c) in after.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            let Some(end) = end else { break };
            let inner = after[..end].trim();
            let target = if let Some(angle) = inner.strip_prefix('<') {
                angle.split('>').next().unwrap_or("")
            } else {
                inner.split_whitespace().next().unwrap_or("")
            };
            targets.push((n + 1, target.to_string()));
            rest = &after[end..];
        }
    }
    targets
}

/// The file a relative link points at, or `None` for links that are not
/// checked (web addresses, mail, in-page anchors).
fn link_path(doc_dir: &Path, target: &str) -> Option<PathBuf> {
    let lower = target.to_ascii_lowercase();
    if target.is_empty()
        || target.starts_with('#')
        || lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("mailto:")
    {
        return None;
    }
    let path = target.split(['#', '?']).next().unwrap_or("");
    if path.is_empty() {
        return None;
    }
    Some(doc_dir.join(path.replace("%20", " ")))
}

/// Normalises `a/b/../c` without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The files
// ---------------------------------------------------------------------------

/// Every Markdown file under `dir`, sorted, as paths relative to `root`.
fn markdown_files(root: &Path, dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join(dir), &mut out);
    let mut out: Vec<PathBuf> = out
        .into_iter()
        .filter_map(|p| p.strip_prefix(root).ok().map(Path::to_path_buf))
        .collect();
    out.sort();
    out
}

fn display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Every quote in `docs/` matches its source (or, with `UPDATE_DOCS=1`, is rewritten from it).
#[test]
fn every_quote_matches_its_source() {
    let root = repo_root();
    let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| !v.is_empty() && v != "0");
    let mut docs = markdown_files(&root, "docs");
    assert!(!docs.is_empty(), "no Markdown files under docs/");
    // The README quotes the two-terminal transcript too.
    docs.push(PathBuf::from("README.md"));
    let mut problems = Vec::new();
    let mut quotes = 0;
    let mut rewritten = Vec::new();
    for doc in &docs {
        let name = display(doc);
        let text = fs::read_to_string(root.join(doc)).unwrap();
        quotes += parse_quotes(&text).map_or(0, |q| q.len());
        let (new_text, found) = process_doc(&root, &name, &text, update);
        problems.extend(found);
        if let Some(new_text) = new_text {
            fs::write(root.join(doc), new_text).unwrap();
            rewritten.push(name);
        }
    }
    if !rewritten.is_empty() {
        eprintln!("UPDATE_DOCS: rewrote quotes in {}", rewritten.join(", "));
    }
    assert!(
        quotes > 0,
        "docs/ holds no quotes at all; the check would prove nothing"
    );
    if !problems.is_empty() {
        let mut msg = format!("{} problem(s) with quotes in docs/:\n", problems.len());
        for p in &problems {
            let _ = writeln!(msg, "  {p}");
        }
        panic!("{msg}");
    }
}

/// The two books: each one's folder (its mdBook `src`) and the folder of
/// the other book, which it must not swallow.
const BOOKS: &[(&str, Option<&str>)] = &[("docs", Some("docs/zh-CN")), ("docs/zh-CN", None)];

/// The book a Markdown file under `docs/` belongs to: the deepest book folder holding it.
fn book_of(file: &Path) -> Option<&'static str> {
    BOOKS
        .iter()
        .filter(|(dir, _)| file.starts_with(dir))
        .max_by_key(|(dir, _)| dir.len())
        .map(|(dir, _)| *dir)
}

/// Every relative link and every `#fragment` in `docs/` and the root README
/// works on a plain repository view (the file exists, the heading exists) and
/// in the built books (a link from a chapter stays inside the books' folders,
/// and never names `SUMMARY.md`, which mdBook does not render).
#[test]
fn every_relative_link_resolves() {
    let root = repo_root();
    let mut files = markdown_files(&root, "docs");
    files.push(PathBuf::from("README.md"));
    let mut anchors = std::collections::HashMap::new();
    let mut broken = Vec::new();
    let mut fragments = 0;
    for file in &files {
        let text = fs::read_to_string(root.join(file)).unwrap();
        let dir = file.parent().unwrap_or(Path::new(""));
        let in_book = file.starts_with("docs");
        for (line, target) in link_targets(&text) {
            let here = format!("  {}:{line}: link `{target}`", display(file));
            let local = if target.starts_with('#') {
                Some(file.clone())
            } else {
                link_path(dir, &target).map(|p| lexical(&p))
            };
            let Some(path) = local else {
                continue;
            };
            if !root.join(&path).exists() {
                broken.push(format!(
                    "{here} points at `{}`, which does not exist",
                    display(&path)
                ));
                continue;
            }
            if in_book && !path.starts_with("docs") {
                broken.push(format!(
                    "{here} leaves the book (`{}` is outside docs/), so it is dead in the built HTML; \
                     name the file as code instead",
                    display(&path)
                ));
            }
            if in_book && path.file_name().is_some_and(|n| n == "SUMMARY.md") {
                broken.push(format!(
                    "{here} points at SUMMARY.md, which mdBook does not render"
                ));
            }
            let Some((_, fragment)) = target.split_once('#') else {
                continue;
            };
            if path.extension().is_none_or(|e| e != "md") {
                continue;
            }
            fragments += 1;
            let ids = anchors.entry(path.clone()).or_insert_with(|| {
                fs::read_to_string(root.join(&path))
                    .map(|t| heading_ids(&t))
                    .unwrap_or_default()
            });
            let fragment = fragment.replace("%20", " ");
            if !ids.contains(&fragment) {
                broken.push(format!(
                    "{here}: `{}` has no heading with the id `{fragment}`",
                    display(&path)
                ));
            }
        }
    }
    assert!(
        fragments > 0,
        "no #fragment link checked; the check would prove nothing"
    );
    assert!(
        broken.is_empty(),
        "{} broken relative link(s):\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// Every picture in `docs/pictures/` is exactly what the demos draw today (or,
/// with `UPDATE_DOCS=1`, is rewritten from them), nothing there is drawn by
/// hand, and every picture is shown in both languages' chapters.
#[test]
fn every_picture_is_drawn_from_the_demos() {
    let root = repo_root();
    let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| !v.is_empty() && v != "0");
    let dir = root.join(sticky_packets::pictures::PICTURES_DIR);
    let pictures = sticky_packets::pictures::all().expect("drawing the pictures from the demos");
    let mut problems = Vec::new();
    if update {
        fs::create_dir_all(&dir).unwrap();
    }
    for picture in &pictures {
        let path = dir.join(picture.file);
        let shown = format!(
            "{}/{}",
            sticky_packets::pictures::PICTURES_DIR,
            picture.file
        );
        // A checkout that turned line ends into CRLF has not changed a picture.
        match fs::read_to_string(&path).map(|t| t.replace("\r\n", "\n")) {
            Ok(on_disk) if on_disk == picture.svg => {}
            _ if update => {
                fs::write(&path, &picture.svg).unwrap();
                eprintln!("UPDATE_DOCS: redrew {shown}");
            }
            Ok(_) => problems.push(format!(
                "{shown} differs from what the demos draw now (edited by hand, or a demo \
                 changed): refresh it with `{UPDATE_HINT}` and look at the result"
            )),
            Err(e) => problems.push(format!(
                "{shown} cannot be read ({e}): draw it with `{UPDATE_HINT}`"
            )),
        }
    }
    let drawn: Vec<&str> = pictures.iter().map(|p| p.file).collect();
    for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !drawn.contains(&name.as_str()) {
            problems.push(format!(
                "docs/pictures/{name} is not drawn by src/pictures.rs: pictures there are \
                 generated, so draw it in `pictures::all` or remove it"
            ));
        }
    }
    let chapters: Vec<(String, String)> = markdown_files(&root, "docs")
        .iter()
        .map(|p| (display(p), fs::read_to_string(root.join(p)).unwrap()))
        .collect();
    for file in &drawn {
        for (lang, in_lang) in [
            (
                "English",
                &(|d: &str| !d.starts_with("docs/zh-CN/")) as &dyn Fn(&str) -> bool,
            ),
            ("中文", &|d: &str| d.starts_with("docs/zh-CN/")),
        ] {
            let target = format!("pictures/{file})");
            if !chapters
                .iter()
                .any(|(d, t)| in_lang(d) && t.contains(&target))
            {
                problems.push(format!(
                    "docs/pictures/{file} is shown in no {lang} chapter (`![...](.../{file})`)"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) with docs/pictures:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// The ids a page's headings get, the way GitHub and mdBook both make them:
/// the heading's text without Markdown, lower-cased, every character that is
/// not a letter, a digit, `_` or `-` dropped, each space turned into `-`, and
/// `-1`, `-2`, ... added to repeats. Explicit `id="..."` anchors count too.
fn heading_ids(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut fence: Option<Fence> = None;
    for line in text.lines() {
        if let Some(f) = fence {
            if closes(line, f) {
                fence = None;
            }
            continue;
        }
        if let Some((f, _)) = opening_fence(line) {
            fence = Some(f);
            continue;
        }
        let mut rest = line;
        while let Some(pos) = rest.find("id=\"") {
            let after = &rest[pos + 4..];
            if let Some(end) = after.find('"') {
                ids.push(after[..end].to_string());
            }
            rest = after;
        }
        let trimmed = line.trim_start();
        let hashes = trimmed.len() - trimmed.trim_start_matches('#').len();
        if !(1..=6).contains(&hashes) || line.len() - trimmed.len() > 3 {
            continue;
        }
        let Some(title) = trimmed[hashes..].strip_prefix(' ') else {
            continue;
        };
        let title = title.trim().trim_end_matches('#').trim_end();
        let base = slug(&heading_text(title));
        let mut id = base.clone();
        let mut n = 0;
        while ids.contains(&id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        ids.push(id);
    }
    ids
}

/// A heading's visible text: link targets, code ticks and emphasis removed.
fn heading_text(title: &str) -> String {
    let mut out = String::new();
    let mut rest = title;
    while let Some(pos) = rest.find("](") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        rest = after.find(')').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out.replace(['`', '*', '['], "")
}

/// GitHub's and mdBook's heading id for a heading's text.
fn slug(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().collect::<String>())
            } else if c == ' ' {
                Some("-".to_string())
            } else {
                None
            }
        })
        .collect()
}

/// Each book's `SUMMARY.md` lists every page of its own folder and no page of
/// the other book, so that each book has its own numbering and language.
#[test]
fn each_book_lists_its_own_pages() {
    let root = repo_root();
    let mut problems = Vec::new();
    for (dir, other) in BOOKS {
        let summary = Path::new(dir).join("SUMMARY.md");
        let Ok(text) = fs::read_to_string(root.join(&summary)) else {
            problems.push(format!("  {} is missing", display(&summary)));
            continue;
        };
        if !fs::read_to_string(root.join(dir).join("book.toml"))
            .is_ok_and(|t| t.contains("src = \".\""))
        {
            problems.push(format!(
                "  {dir}/book.toml is missing or its src is not its own folder"
            ));
        }
        let listed: Vec<PathBuf> = link_targets(&text)
            .into_iter()
            .filter_map(|(_, t)| link_path(Path::new(dir), &t).map(|p| lexical(&p)))
            .collect();
        for page in &listed {
            if book_of(page) != Some(*dir) {
                problems.push(format!(
                    "  {} lists {}, a page of another book",
                    display(&summary),
                    display(page)
                ));
            }
        }
        for page in markdown_files(&root, dir) {
            let own = book_of(&page) == Some(*dir) && other.is_none_or(|o| !page.starts_with(o));
            if own && page != summary && !listed.contains(&page) {
                problems.push(format!(
                    "  {} does not list {}",
                    display(&summary),
                    display(&page)
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the books' tables of contents:\n{}",
        problems.join("\n")
    );
}

/// The class plan in each README: its minutes add up to the total its text
/// states, and to the two sessions it offers to split into.
#[test]
fn lesson_plan_minutes_add_up() {
    let root = repo_root();
    for (readme, unit) in [
        ("docs/README.md", " min"),
        ("docs/zh-CN/README.md", " 分钟"),
    ] {
        let text = fs::read_to_string(root.join(readme)).unwrap();
        let rows: Vec<(u32, &str)> = text
            .lines()
            .filter_map(|l| {
                let cell = l.strip_prefix("| ")?.split(" |").next()?;
                let n = cell.strip_suffix(unit)?.trim().parse().ok()?;
                Some((n, l))
            })
            .collect();
        assert!(rows.len() >= 5, "{readme}: no lesson plan table found");
        let total: u32 = rows.iter().map(|(n, _)| n).sum();
        // The stated total is the first number of minutes in the plan's lead-in.
        let lead = if unit == " min" {
            "The plan below takes "
        } else {
            "下面的安排共 "
        };
        let stated: u32 = text
            .split_once(lead)
            .and_then(|(_, r)| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{readme}: the plan states no total (`{lead}N`)"));
        assert_eq!(
            total, stated,
            "{readme}: the plan's rows add up to {total} minutes, its text says {stated}"
        );
        // The split after stage 4: the first session ends with the stage-4 row.
        let split = rows
            .iter()
            .position(|(_, l)| l.contains("(4-length-header-fix.md)"))
            .unwrap_or_else(|| panic!("{readme}: no stage-4 row"));
        let first: u32 = rows[..=split].iter().map(|(n, _)| n).sum();
        // The lead-in, up to the table, states the two sessions' lengths.
        let lead_in = text
            .split_once(lead)
            .and_then(|(_, r)| r.split("\n|").next())
            .unwrap_or("");
        let numbers: Vec<u32> = lead_in
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        for part in [first, total - first] {
            assert!(
                numbers.contains(&part),
                "{readme}: the rows make a session of {part} minutes, which the plan's lead-in does not state"
            );
        }
    }
}

/// With `BOOK_DIR` set to a built book (`mdbook build docs && mdbook build
/// docs/zh-CN`, then `BOOK_DIR=target/book cargo test --test docs`), every
/// `href` and `src` in its HTML that stays on the site points at a file that
/// exists, and every `#fragment` at an `id` in that file. Without `BOOK_DIR`
/// there is nothing to scan: mdBook is not a dependency of this workspace.
#[test]
fn built_book_has_no_dead_link() {
    let Some(dir) = std::env::var_os("BOOK_DIR") else {
        eprintln!("BOOK_DIR is not set; the built HTML is not scanned");
        return;
    };
    let root = repo_root().join(dir);
    let mut pages = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "html") {
                out.push(path);
            }
        }
    }
    walk(&root, &mut pages);
    assert!(
        !pages.is_empty(),
        "BOOK_DIR={} holds no HTML page",
        root.display()
    );
    let mut ids = std::collections::HashMap::new();
    let mut dead = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut links = 0;
    for page in &pages {
        let html = fs::read_to_string(page).unwrap();
        let from = display(page.strip_prefix(&root).unwrap_or(page));
        for target in html_attributes(&html, &["href=\"", "src=\""]) {
            let lower = target.to_ascii_lowercase();
            if [
                "http://",
                "https://",
                "mailto:",
                "javascript:",
                "data:",
                "//",
            ]
            .iter()
            .any(|p| lower.starts_with(p))
            {
                continue;
            }
            links += 1;
            let target = percent_decode(&target);
            let (path, fragment) = match target.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (target.as_str(), None),
            };
            let path = path.split('?').next().unwrap_or("");
            let file = if path.is_empty() {
                page.clone()
            } else if let Some(from_root) = path.strip_prefix('/') {
                // mdBook's `site-url`, `/` by default: the book's root.
                root.join(from_root)
            } else {
                lexical(&page.parent().unwrap_or(&root).join(path))
            };
            let file = if file.is_dir() {
                file.join("index.html")
            } else {
                file
            };
            let ok = file.is_file()
                && fragment.is_none_or(|f| {
                    f.is_empty()
                        || ids
                            .entry(file.clone())
                            .or_insert_with(|| {
                                fs::read_to_string(&file)
                                    .map(|h| html_attributes(&h, &["id=\""]))
                                    .unwrap_or_default()
                            })
                            .iter()
                            .any(|id| id == f)
                });
            if !ok {
                dead.entry(target.clone()).or_default().push(from.clone());
            }
        }
    }
    assert!(links > 0, "no link found in the built book");
    eprintln!(
        "scanned {links} links in {} pages of {}",
        pages.len(),
        root.display()
    );
    let mut msg = String::new();
    for (target, from) in &dead {
        let _ = writeln!(
            msg,
            "  `{target}` ({} page(s), e.g. {})",
            from.len(),
            from[0]
        );
    }
    assert!(
        dead.is_empty(),
        "{} dead link(s) to {} target(s) among {links} links in {} pages:\n{msg}",
        dead.values().map(Vec::len).sum::<usize>(),
        dead.len(),
        pages.len()
    );
}

/// The values of the given attributes (`href="`), in order, HTML entities for
/// `&` decoded.
fn html_attributes(html: &str, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        let mut rest = html;
        while let Some(pos) = rest.find(name) {
            let before = rest[..pos].chars().last();
            let after = &rest[pos + name.len()..];
            let Some(end) = after.find('"') else { break };
            // `data-id="` or `xid="` are not the attribute asked for.
            if before.is_none_or(|c| c.is_whitespace()) {
                out.push(after[..end].replace("&amp;", "&"));
            }
            rest = &after[end..];
        }
    }
    out
}

/// Decodes `%XX` escapes (UTF-8), as a browser does before finding a file or an id.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The six stages, by crate, and the chapter that teaches each.
const STAGE_CHAPTERS: &[(&str, &str)] = &[
    ("udp-echo", "1-udp-echo.md"),
    ("naive-exec-sticky", "2-naive-exec-sticky.md"),
    ("sleep-fix", "3-sleep-fix.md"),
    ("length-header-fix", "4-length-header-fix.md"),
    ("ack-handshake", "5-ack-handshake.md"),
    ("md5-upload", "6-md5-upload.md"),
    ("tokio-length", "9-production-path.md"),
];

/// Every stage chapter, in both languages, quotes that stage's real demo
/// transcript: the Chinese chapter the Chinese one, where the demo tells it.
#[test]
fn every_stage_chapter_quotes_its_demo() {
    let root = repo_root();
    let mut missing = Vec::new();
    for (stage, chapter) in STAGE_CHAPTERS {
        for dir in ["docs", "docs/zh-CN"] {
            let en = format!("crates/{stage}/tests/snapshots/demo__demo.snap");
            let zh = format!("crates/{stage}/tests/snapshots/demo__demo_zh.snap");
            let snap = if dir == "docs/zh-CN" && root.join(&zh).exists() {
                zh
            } else {
                en
            };
            let doc = format!("{dir}/{chapter}");
            let quoted = fs::read_to_string(root.join(&doc))
                .ok()
                .and_then(|t| parse_quotes(&t).ok())
                .is_some_and(|q| q.iter().any(|q| q.source == snap));
            if !quoted {
                missing.push(format!("  {doc} does not quote {snap}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "stage chapters without their transcript:\n{}",
        missing.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Unit tests of the mechanism itself
// ---------------------------------------------------------------------------

mod mechanism {
    use super::*;

    const RUST: &str = "//! A module.\n\
        impl Thing {\n\
        \x20   // ANCHOR: method\n\
        \x20   /// A method.\n\
        \x20   pub fn method(&self) -> u8 {\n\
        \x20       // ANCHOR: inner\n\
        \x20       1\n\
        \x20       // ANCHOR_END: inner\n\
        \x20   }\n\
        \x20   // ANCHOR_END: method\n\
        }\n\
        // ANCHOR: open\n";

    /// A snapshot quotes as its body, front matter removed.
    #[test]
    fn snapshot_front_matter_is_stripped() {
        let snap = "---\nsource: crates/x/tests/demo.rs\nexpression: t\n---\nline 1\nline 2\n";
        assert_eq!(snapshot_body(snap).unwrap(), "line 1\nline 2");
        assert_eq!(snapshot_body("no header\n").unwrap(), "no header");
        assert!(snapshot_body("---\nsource: x\n").is_err());
    }

    /// An anchor quotes what lies between its comments, dedented, without nested anchors.
    #[test]
    fn anchors_quote_their_lines() {
        assert_eq!(
            extract_anchor(RUST, "method").unwrap(),
            "/// A method.\npub fn method(&self) -> u8 {\n    1\n}"
        );
        assert_eq!(extract_anchor(RUST, "inner").unwrap(), "1");
    }

    /// A table row is quoted under its heading and rule lines.
    #[test]
    fn table_rows_are_quoted_with_their_heading() {
        let body = "intro\n\nstage | a | b\n------+---+---\nx     | ✓ | ✗ no\nyz    | ✓ | ✓\n";
        assert_eq!(
            table_row(body, "x").unwrap(),
            "stage | a | b\n------+---+---\nx     | ✓ | ✗ no"
        );
        assert!(table_row(body, "q").is_err());
    }

    /// A missing, unclosed or repeated anchor is an error; names match whole.
    #[test]
    fn missing_anchors_fail() {
        assert!(extract_anchor(RUST, "meth").is_err());
        assert!(extract_anchor(RUST, "open").is_err());
        let twice = "// ANCHOR: a\nx\n// ANCHOR_END: a\n// ANCHOR: a\n// ANCHOR_END: a\n";
        assert!(extract_anchor(twice, "a").is_err());
    }

    /// Markers are found with their fenced block; markers inside code blocks are examples, not quotes.
    #[test]
    fn quotes_are_parsed() {
        let md = "# T\n\n<!-- quote: a.snap -->\n```text\nx\ny\n```\n\n````markdown\n<!-- quote: \
                  b.snap -->\n```text\n```\n````\n";
        let q = parse_quotes(md).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].source, "a.snap");
        assert_eq!(q[0].content, "x\ny");
        assert_eq!((q[0].line, q[0].open, q[0].close), (3, 3, 6));
    }

    /// A marker without a fenced block right under it is an error with its line.
    #[test]
    fn marker_without_block_fails() {
        let errors = parse_quotes("<!-- quote: a.snap -->\n\n```text\nx\n```\n").unwrap_err();
        assert_eq!(errors[0].0, 1);
        assert!(parse_quotes("<!-- quote: a.snap\n").is_err());
    }

    fn scratch() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src")).unwrap();
        fs::write(dir.path().join("src/lib.rs"), RUST).unwrap();
        fs::write(
            dir.path().join("demo.snap"),
            "---\nsource: x\n---\nnew line\n",
        )
        .unwrap();
        dir
    }

    /// A stale block is reported with doc, line and source; a missing source is a failure, not a skip.
    #[test]
    fn stale_and_missing_are_reported() {
        let dir = scratch();
        let md = "intro\n<!-- quote: demo.snap -->\n```text\nold line\n```\n<!-- quote: \
                  src/lib.rs#nope -->\n```rust\n```\n<!-- quote: gone.snap -->\n```text\n```\n";
        let (new, problems) = process_doc(dir.path(), "docs/x.md", md, false);
        assert!(new.is_none());
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(
            problems[0].starts_with("docs/x.md:2: out of date"),
            "{}",
            problems[0]
        );
        assert!(problems[0].contains("`demo.snap`"), "{}", problems[0]);
        assert!(problems[0].contains("\"old line\""), "{}", problems[0]);
        assert!(
            problems[1].contains("no `// ANCHOR: nope`"),
            "{}",
            problems[1]
        );
        assert!(problems[2].starts_with("docs/x.md:9:"), "{}", problems[2]);
    }

    /// Update mode rewrites stale blocks in place, keeps the info string, and leaves the rest alone.
    #[test]
    fn update_rewrites_blocks() {
        let dir = scratch();
        let md = "intro\n<!-- quote: demo.snap -->\n```text\nold\nlines\n```\nmiddle\n<!-- quote: \
                  src/lib.rs#inner -->\n```rust\n```\nend\n";
        let (new, problems) = process_doc(dir.path(), "docs/x.md", md, true);
        assert!(problems.is_empty(), "{problems:#?}");
        let new = new.unwrap();
        assert_eq!(
            new,
            "intro\n<!-- quote: demo.snap -->\n```text\nnew line\n```\nmiddle\n<!-- quote: \
             src/lib.rs#inner -->\n```rust\n1\n```\nend\n"
        );
        // Once updated, the check passes and nothing changes.
        let (again, problems) = process_doc(dir.path(), "docs/x.md", &new, false);
        assert!(again.is_none() && problems.is_empty(), "{problems:#?}");
    }

    /// Quoted text holding a code fence gets a longer fence, so the block still parses.
    #[test]
    fn update_lengthens_the_fence() {
        let dir = scratch();
        fs::write(dir.path().join("f.txt"), "a\n```rust\nx\n```\n").unwrap();
        let md = "<!-- quote: f.txt -->\n```text\n```\n";
        let (new, _) = process_doc(dir.path(), "d.md", md, true);
        let new = new.unwrap();
        assert!(
            new.starts_with("<!-- quote: f.txt -->\n````text\na\n```rust\n"),
            "{new}"
        );
        assert_eq!(parse_quotes(&new).unwrap()[0].content, "a\n```rust\nx\n```");
    }

    /// Links in code are ignored; fragments and web links are handled.
    #[test]
    fn links_are_found_and_resolved() {
        let md = "see [a](a.md#top) and ![img](img/x.png \"t\") and `[no](code.md)`\n\
                  [ref]: ../README.md\n```\n[no](block.md)\n```\n[web](https://x.org/y.md) \
                  [here](#anchor) [paren](<sp ace.md>)\n";
        let targets: Vec<String> = link_targets(md).into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            targets,
            [
                "a.md#top",
                "img/x.png",
                "../README.md",
                "https://x.org/y.md",
                "#anchor",
                "sp ace.md"
            ]
        );
        let dir = Path::new("docs/zh-CN");
        assert_eq!(
            link_path(dir, "a.md#top").unwrap(),
            Path::new("docs/zh-CN/a.md")
        );
        assert!(link_path(dir, "https://x.org/y.md").is_none());
        assert!(link_path(dir, "#anchor").is_none());
        assert_eq!(
            lexical(&link_path(dir, "../../README.md").unwrap()),
            Path::new("README.md")
        );
    }

    /// Heading ids follow GitHub: punctuation dropped (also Chinese), spaces to
    /// hyphens, repeats numbered, code and link syntax ignored.
    #[test]
    fn heading_ids_follow_github() {
        let md = "# Endianness: `struct.pack(\"i\")` versus `\"!I\"`\n## MD5 是完整性校验，不是安全措施\n\
                  ```\n# not a heading\n```\n## Exercises\n## Exercises\n### [Link](x.md) 第 1 阶段：udp-echo\n";
        assert_eq!(
            heading_ids(md),
            [
                "endianness-structpacki-versus-i",
                "md5-是完整性校验不是安全措施",
                "exercises",
                "exercises-1",
                "link-第-1-阶段udp-echo"
            ]
        );
    }
}

/// A command line that PowerShell runs exactly as a Unix shell does: a
/// program of the course's toolchain with plain arguments, no pipe,
/// redirection, variable, subshell or `VAR=value` prefix.
fn runs_the_same_in_powershell(line: &str) -> bool {
    let line = line.split(" #").next().unwrap_or(line).trim();
    if line.is_empty() || line.starts_with('#') {
        return true;
    }
    let program = line.split_whitespace().next().unwrap_or("");
    ["cargo", "mdbook", "rustup", "git", "python3", "python"].contains(&program)
        && !line.contains(['|', ';', '&', '$', '<', '>', '(', ')', '`'])
}

/// Fenced shell blocks (`sh`, `bash`, `shell`), with the line each opens on,
/// and whether a `powershell` block follows before the next heading.
fn shell_blocks(text: &str) -> Vec<(usize, String, bool)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((fence, info)) = opening_fence(lines[i]) else {
            i += 1;
            continue;
        };
        let start = i;
        let mut body = String::new();
        i += 1;
        while i < lines.len() && !closes(lines[i], fence) {
            body.push_str(lines[i]);
            body.push('\n');
            i += 1;
        }
        i += 1;
        if ["sh", "bash", "shell"].contains(&info.trim()) {
            let powershell = lines[i.min(lines.len())..]
                .iter()
                .take_while(|l| !l.starts_with('#'))
                .any(|l| {
                    opening_fence(l).is_some_and(|(_, info)| {
                        let info = info.trim();
                        info == "powershell" || info == "pwsh" || info == "ps1"
                    })
                });
            out.push((start + 1, body, powershell));
        }
    }
    out
}

/// Students run the course on Windows too: every shell block in the docs
/// whose commands PowerShell would not run as written is followed, in the
/// same section, by its PowerShell form (a ```powershell block).
#[test]
fn every_unix_command_has_a_powershell_form() {
    let root = repo_root();
    let mut files = markdown_files(&root, "docs");
    files.push(PathBuf::from("README.md"));
    let mut missing = Vec::new();
    for file in &files {
        let text = fs::read_to_string(root.join(file)).unwrap();
        for (line, body, has_powershell) in shell_blocks(&text) {
            let unix_only: Vec<&str> = body
                .lines()
                .filter(|l| !runs_the_same_in_powershell(l))
                .collect();
            if !unix_only.is_empty() && !has_powershell {
                missing.push(format!(
                    "  {}:{line}: no ```powershell block follows, for: {}",
                    display(file),
                    unix_only.join(" / ")
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} shell block(s) without their PowerShell form:\n{}",
        missing.len(),
        missing.join("\n")
    );
}
