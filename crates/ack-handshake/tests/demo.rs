//! The demo transcript, pinned: what `cargo run -p ack-handshake` prints.
//! The docs quote `tests/snapshots/demo__demo.snap`.

/// The demo prints the same transcript on every run: three files at one round trip each, then the cut and the glued file info.
#[test]
fn demo() {
    insta::assert_snapshot!("demo", ack_handshake::demo_transcript().unwrap());
}

/// The same demo told in Chinese: the same uploads, the same split and glued file info.
#[test]
fn demo_zh() {
    let text = ack_handshake::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    assert!(text.contains("粘包") && text.contains("拆包"), "{text}");
    insta::assert_snapshot!("demo_zh", text);
}
