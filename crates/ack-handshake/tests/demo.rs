//! The demo transcript, pinned: what `cargo run -p ack-handshake` prints.
//! The docs quote `tests/snapshots/demo__demo.snap`.

/// The demo prints the same transcript on every run: three files at one round trip each, then the cut and the glued file info.
#[test]
fn demo() {
    insta::assert_snapshot!("demo", ack_handshake::demo_transcript().unwrap());
}
