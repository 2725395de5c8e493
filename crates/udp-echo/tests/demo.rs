//! The demo's transcript, pinned.

/// The demo shows one datagram per receive and a cut oversized datagram, identically on every run.
// Windows reports the cut datagram differently (WSAEMSGSIZE), so the
// transcript is pinned where it is taught: on Unix.
#[cfg(unix)]
#[test]
fn demo() {
    insta::assert_snapshot!("demo", udp_echo::demo_transcript().unwrap());
}

/// The same demo told in Chinese: the same experiments, the same bytes.
#[cfg(unix)]
#[test]
fn demo_zh() {
    let text = udp_echo::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    assert!(text.contains("\"onetwothree\""), "{text}");
    insta::assert_snapshot!("demo_zh", text);
}
