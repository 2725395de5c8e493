//! Unit tests of the checker's private parts (the `--watch` snapshot, the
//! byte previews); the checker as a whole is tested in `tests/exercises.rs`.

use super::*;

/// `--watch` sees a new file and an edited one (a longer file has a new
/// length even where the clock is too coarse to move the mtime).
#[test]
fn watch_snapshot_sees_changes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("ex01.rs");
    std::fs::write(&file, "todo!()").expect("write the file");
    let before = snapshot(dir.path());
    assert_eq!(before, snapshot(dir.path()));
    std::fs::write(dir.path().join("ex02.rs"), "x").expect("write a second file");
    assert_ne!(before, snapshot(dir.path()));
}

/// Text is shown as text, binary bytes escaped, long messages cut.
#[test]
fn show_previews() {
    assert_eq!(show("粘包".as_bytes()), "6 B \"粘包\"");
    assert_eq!(show(&[0xd4, 0x05, 0, 0]), "4 B \"\\xd4\\x05\\x00\\x00\"");
    assert!(show(&[b'a'; 100]).ends_with("...\""));
}
