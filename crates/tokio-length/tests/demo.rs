//! The demo transcript, pinned.

/// The whole demo is pinned byte for byte: conversation and timeline, interop, hostile lengths, defaults, LinesCodec.
#[test]
fn demo() {
    insta::assert_snapshot!("demo", tokio_length::demo_transcript().unwrap());
}
