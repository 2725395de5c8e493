//! The demo transcript, pinned.

/// The whole demo is pinned byte for byte: conversation and timeline, interop, hostile lengths, defaults, LinesCodec.
#[test]
fn demo() {
    insta::assert_snapshot!("demo", tokio_length::demo_transcript().unwrap());
}

/// The same demo in 简体中文, pinned the same way.
#[test]
fn demo_zh() {
    let text = tokio_length::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    insta::assert_snapshot!("demo_zh", text);
}

/// Both languages tell the same conversation: every reply intact, the same wire bytes.
#[test]
fn both_languages_tell_the_same_story() {
    let en = tokio_length::demo_transcript().unwrap();
    let zh = tokio_length::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    assert!(en.contains("Verdict: intact: 4 of 4"), "{en}");
    assert!(zh.contains("结论：完好：4 条回复"), "{zh}");
    for bytes in ["d4 05 00 00 + 1492", "ff ff ff 7f", "00 00 a0 00"] {
        assert!(en.contains(bytes) && zh.contains(bytes), "{bytes}");
    }
}
