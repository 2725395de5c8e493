//! Every Python snippet in the docs is valid Python.
//!
//! The course quotes the classic tutorial's programs and gives Python
//! answers to its exercises; a snippet that does not even parse teaches the
//! wrong thing. This test takes every ```` ```python ```` block from `docs/`
//! (both languages) and the root README, and has `python3` parse it with
//! `ast.parse`. Without python3 it prints a note and checks only that the
//! blocks were found, unless `CI` is set, where python3 must be present.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// One fenced Python block: where it starts and what it holds.
struct Snippet {
    file: PathBuf,
    line: usize,
    code: String,
}

/// Every ```` ```python ```` (or ```` ```py ````) block of `text`. A block
/// ends at a line that is only the same fence (three or more backticks). A
/// block indented under a list item loses the fence's indentation, as
/// Markdown renders it.
fn python_blocks(file: &Path, text: &str) -> Vec<Snippet> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        let fence_len = trimmed.chars().take_while(|&c| c == '`').count();
        if fence_len < 3 {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let info = trimmed[fence_len..].trim();
        let is_python = matches!(info, "python" | "py" | "python3");
        let mut code = String::new();
        for (_, inner) in lines.by_ref() {
            let t = inner.trim();
            if t.len() >= fence_len && t.chars().all(|c| c == '`') {
                break;
            }
            let spaces = inner.len() - inner.trim_start_matches(' ').len();
            code.push_str(&inner[spaces.min(indent)..]);
            code.push('\n');
        }
        if is_python {
            out.push(Snippet {
                file: file.to_path_buf(),
                line: i + 1,
                code,
            });
        }
    }
    out
}

fn all_snippets() -> Vec<Snippet> {
    let root = repo_root();
    let mut files = Vec::new();
    markdown_files(&root.join("docs"), &mut files);
    files.push(root.join("README.md"));
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(&root).unwrap_or(&file).to_path_buf();
        out.extend(python_blocks(&rel, &text));
    }
    out
}

fn python3_available() -> bool {
    common::testing::python3_available("docs' Python snippets")
}

/// What python3 runs: `ast.parse` on each NUL-separated snippet of standard
/// input, one line `INDEX: ERROR` per snippet that does not parse. One
/// process for all snippets, because starting python3 is the slow part.
const PARSE_EACH: &str = r#"import ast, sys
for i, code in enumerate(sys.stdin.read().split("\0")):
    try:
        ast.parse(code)
    except SyntaxError as e:
        print(f"{i}: {type(e).__name__}: {e}")
"#;

/// Parses every snippet with `ast.parse`; one entry per snippet, `Err`
/// carrying Python's error message.
fn parse_with_python(codes: &[&str]) -> Result<Vec<Result<(), String>>, String> {
    let mut child = Command::new("python3")
        .args(["-c", PARSE_EACH])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start python3: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("python3 has no standard input")?
        .write_all(codes.join("\0").as_bytes())
        .map_err(|e| format!("could not write to python3: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("python3 did not finish: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let mut results = vec![Ok(()); codes.len()];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (index, error) = line.split_once(": ").ok_or(format!("odd line: {line}"))?;
        let index: usize = index.parse().map_err(|_| format!("odd line: {line}"))?;
        let slot = results
            .get_mut(index)
            .ok_or(format!("python3 named snippet {index} of {}", codes.len()))?;
        *slot = Err(error.to_string());
    }
    Ok(results)
}

/// The docs quote Python (the tutorial annotated, the solutions), so the scan finds blocks at all.
#[test]
fn the_docs_hold_python_snippets() {
    let snippets = all_snippets();
    assert!(
        snippets
            .iter()
            .any(|s| s.file.ends_with("tutorial-annotated.md")),
        "no ```python block found in docs/tutorial-annotated.md: is the scan broken?"
    );
    assert!(
        snippets.iter().any(|s| s.file.ends_with("solutions.md")),
        "no ```python block found in docs/solutions.md: is the scan broken?"
    );
}

/// Every ```python block in docs/ and the README parses with python3's `ast.parse`.
#[test]
fn every_python_snippet_parses() {
    if !python3_available() {
        return;
    }
    let snippets = all_snippets();
    let codes: Vec<&str> = snippets.iter().map(|s| s.code.as_str()).collect();
    let results = parse_with_python(&codes).unwrap();
    let failures: Vec<String> = snippets
        .iter()
        .zip(results)
        .filter_map(|(s, r)| {
            r.err()
                .map(|e| format!("  {}:{}: {e}", s.file.display(), s.line))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} Python snippet(s) in the docs do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The scanner finds a python block, skips others, and the parser rejects the old one-liner.
#[test]
fn the_checker_can_fail() {
    let text = "x\n```python\nprint(1)\n```\n```rust\nfn f() {}\n```\n````python\na = 1\n````\n\
                1. item\n   ```python\n   if a:\n       b()\n   ```\n";
    let blocks = python_blocks(Path::new("t.md"), text);
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0].line, 2);
    assert_eq!(blocks[0].code, "print(1)\n");
    assert_eq!(blocks[1].code, "a = 1\n");
    assert_eq!(blocks[2].code, "if a:\n    b()\n");
    if !python3_available() {
        return;
    }
    let one_liner = "def recv_exact(s, n): buf = b\"\"; while len(buf) < n: chunk = s.recv(n)\n";
    let results = parse_with_python(&[one_liner, "print('ok')\n"]).unwrap();
    assert!(results[0].is_err(), "{results:?}");
    assert!(results[1].is_ok(), "{results:?}");
}
