//! The demo transcript, pinned.

/// The whole stage-4 demo is pinned byte for byte: framed conversation, hostile lengths, endianness.
#[test]
fn demo() {
    insta::assert_snapshot!("demo", length_header_fix::demo_transcript().unwrap());
}
