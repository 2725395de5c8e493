//! The demo's transcript, pinned: what stage 6 prints, byte for byte.

/// The demo transcript matches the committed snapshot (and so is identical on every run).
#[test]
fn demo() {
    insta::assert_snapshot!("demo", md5_upload::demo_transcript().unwrap());
}

/// The demo ends verified: two 203s, the damaged upload caught as 204, nothing left behind.
#[test]
fn demo_tells_the_story() {
    let text = md5_upload::demo_transcript().unwrap();
    assert_eq!(text.matches("<- 203 verified").count(), 3, "{text}");
    assert_eq!(
        text.matches("<- 204 checksum mismatch").count(),
        1,
        "{text}"
    );
    assert!(text.contains("(no temporary files left behind)"), "{text}");
    assert!(text.contains("0 sticky read(s)"), "{text}");
    assert!(text.contains("verdict: FIXED AND VERIFIED"), "{text}");
}

/// The same demo told in Chinese: the same uploads, the same 203s and 204, the same timeline.
#[test]
fn demo_zh() {
    let text = md5_upload::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    assert_eq!(text.matches("<- 203 verified").count(), 3, "{text}");
    assert!(text.contains("结论：已修好"), "{text}");
    insta::assert_snapshot!("demo_zh", text);
}
