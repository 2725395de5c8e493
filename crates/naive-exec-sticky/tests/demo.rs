//! The demo's transcript, pinned.

/// The demo shows seq's tail glued to `echo hi`'s answer and the silent `true`, identically on every run.
#[cfg(unix)]
#[test]
fn demo() {
    insta::assert_snapshot!("demo", naive_exec_sticky::demo_transcript().unwrap());
}
