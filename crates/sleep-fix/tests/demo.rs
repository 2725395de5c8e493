//! The demo transcript, pinned: both runs, their timelines and verdicts.

use std::time::Duration;

/// The whole demo, byte for byte (it must be identical on every run).
#[test]
fn demo() {
    insta::assert_snapshot!("demo", sleep_fix::demo_transcript().unwrap());
}

/// The verdicts come from the timeline: glued without the pause, intact with it.
#[test]
fn verdicts_follow_the_pause() {
    let unpaused = sleep_fix::conversation_transcript(Duration::ZERO).unwrap();
    assert!(unpaused.contains("<- STICKY"), "{unpaused}");
    assert!(
        unpaused.contains("Verdict: broken: read 1 returned"),
        "{unpaused}"
    );
    let paused = sleep_fix::conversation_transcript(Duration::from_millis(20)).unwrap();
    assert!(!paused.contains("<- STICKY"), "{paused}");
    assert!(paused.contains("Verdict: intact"), "{paused}");
}

/// The same demo told in Chinese: the same runs, the same glue without the pause.
#[test]
fn demo_zh() {
    let text = sleep_fix::demo_transcript_in(common::lang::Lang::Zh).unwrap();
    assert!(text.contains("粘包"), "{text}");
    insta::assert_snapshot!("demo_zh", text);
}
