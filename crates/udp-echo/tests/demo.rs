//! The demo's transcript, pinned.

/// The demo shows one datagram per receive and a cut oversized datagram, identically on every run.
// The same snapshot on every OS: Windows reports the cut datagram as an
// error (WSAEMSGSIZE), and `receive` keeps its bytes as Unix does, so the
// transcript does not change (checked under Wine too).
#[test]
fn demo() {
    insta::assert_snapshot!("demo", udp_echo::demo_transcript().unwrap());
}

/// The same demo told in Chinese: the same experiments, the same bytes.
#[test]
fn demo_zh() {
    let text = udp_echo::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    assert!(text.contains("\"onetwothree\""), "{text}");
    insta::assert_snapshot!("demo_zh", text);
}
