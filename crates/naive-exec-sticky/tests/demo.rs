//! The demo's transcript, pinned.

/// The demo shows seq's tail glued to `echo hi`'s answer and the silent `true`, identically on every run.
#[test]
fn demo() {
    insta::assert_snapshot!("demo", naive_exec_sticky::demo_transcript().unwrap());
}

/// The same demo told in Chinese: the same reads, the same glue, in the field's words.
#[test]
fn demo_zh() {
    let text = naive_exec_sticky::demo_transcript_in(
        naive_exec_sticky::Tweaks::default(),
        common::lang::Lang::Zh,
    )
    .unwrap();
    assert!(text.contains("粘包"), "{text}");
    insta::assert_snapshot!("demo_zh", text);
}
