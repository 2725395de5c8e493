//! The gallery's demo, pinned: the same messages and hostile inputs through every framing.

/// The side-by-side run and the decision table are the same on every run.
#[test]
fn demo() {
    let text = framing_gallery::demo_transcript().unwrap();
    insta::assert_snapshot!("demo", text);
}

/// The same demo in 简体中文, pinned the same way.
#[test]
fn demo_zh() {
    let text = framing_gallery::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    insta::assert_snapshot!("demo_zh", text);
}

/// The Chinese transcript tells the same lessons with the same numbers.
#[test]
fn demo_zh_tells_the_lessons() {
    let text = framing_gallery::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    assert!(text.contains("消息的第 10 字节就是结束符 `\\n`"), "{text}");
    assert_eq!(text.matches("✓ 完整到达").count(), 1 + 1 + 4 * 6, "{text}");
    assert_eq!(text.matches("-> 拒绝：").count(), 8, "{text}");
}

/// The transcript says what each lesson predicts: lines cannot carry a newline, every
/// length-prefixed framing carries all four messages, every hostile input is refused.
#[test]
fn demo_tells_the_lessons() {
    let text = framing_gallery::demo_transcript().unwrap();
    assert!(
        text.contains("holds the end marker `\\n` at byte 10"),
        "{text}"
    );
    assert!(
        text.contains("line of at least 8193 bytes, the maximum is 8192"),
        "{text}"
    );
    assert_eq!(
        text.matches("✓ arrived whole").count(),
        1 + 1 + 4 * 6,
        "{text}"
    );
    assert_eq!(text.matches("-> refused:").count(), 8, "{text}");
}
