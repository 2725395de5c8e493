//! The demo transcript, pinned.

/// The whole stage-4 demo is pinned byte for byte: framed conversation, hostile lengths, endianness.
#[test]
fn demo() {
    insta::assert_snapshot!("demo", length_header_fix::demo_transcript().unwrap());
}

/// The same demo told in Chinese: the same frames, the same bytes, every reply whole.
#[test]
fn demo_zh() {
    let text = length_header_fix::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    assert!(text.contains("结论：完好"), "{text}");
    insta::assert_snapshot!("demo_zh", text);
}
