//! The gallery's demo, pinned: the same messages and hostile inputs through every framing.

/// The side-by-side run and the decision table are the same on every run.
#[test]
fn demo() {
    let text = framing_gallery::demo_transcript().unwrap();
    insta::assert_snapshot!("demo", text);
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
