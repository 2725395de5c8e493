//! Broken and fixed, side by side: the same scripted conversation
//! (`seq 1 400`, `echo hi`, `true`, `echo bye`) through stage 2, stage 3
//! without and with its pause, and stage 4. Read the snapshot files in
//! `tests/snapshots/` in order: they are the story.

use std::time::Duration;

/// Stage 2: the long reply spills into the next answer (sticky and split).
#[test]
fn story_1_naive_exec_sticky() {
    let text = naive_exec_sticky::conversation_transcript().unwrap();
    assert!(text.contains("STICKY"), "{text}");
    insta::assert_snapshot!("1-naive-exec-sticky", text);
}

/// Stage 3 without its pause: the length's digits glue to the output and no longer parse.
#[test]
fn story_2_sleep_fix_without_pause() {
    let text = sleep_fix::conversation_transcript(Duration::ZERO).unwrap();
    insta::assert_snapshot!("2-sleep-fix-no-pause", text);
}

/// Stage 3 with its pause: every reply arrives whole, on a quiet loopback.
#[test]
fn story_3_sleep_fix_with_pause() {
    let text = sleep_fix::conversation_transcript(Duration::from_millis(100)).unwrap();
    insta::assert_snapshot!("3-sleep-fix-with-pause", text);
}

/// Stage 4: the length header puts every reply back together.
#[test]
fn story_4_length_header_fix() {
    let text = length_header_fix::conversation_transcript().unwrap();
    assert!(!text.contains("STICKY"), "{text}");
    insta::assert_snapshot!("4-length-header-fix", text);
}

/// Stage 2 told in Chinese: the same reads, the same glue (粘包) and cut (拆包).
#[test]
fn story_zh_1_naive_exec_sticky() {
    let text = naive_exec_sticky::conversation_transcript_in(
        naive_exec_sticky::Tweaks::default(),
        common::lang::Lang::Zh,
    )
    .unwrap();
    assert!(text.contains("粘包") && text.contains("拆包"), "{text}");
    insta::assert_snapshot!("zh-1-naive-exec-sticky", text);
}

/// Stage 3 without its pause, told in Chinese: the digits glue to the output.
#[test]
fn story_zh_2_sleep_fix_without_pause() {
    let text =
        sleep_fix::conversation_transcript_in(Duration::ZERO, common::lang::Lang::Zh).unwrap();
    assert!(text.contains("粘包"), "{text}");
    insta::assert_snapshot!("zh-2-sleep-fix-no-pause", text);
}

/// Stage 3 with its pause, told in Chinese: every reply whole, on a quiet loopback.
#[test]
fn story_zh_3_sleep_fix_with_pause() {
    let text =
        sleep_fix::conversation_transcript_in(Duration::from_millis(100), common::lang::Lang::Zh)
            .unwrap();
    insta::assert_snapshot!("zh-3-sleep-fix-with-pause", text);
}

/// Stage 4 told in Chinese: the length header puts every reply back together.
#[test]
fn story_zh_4_length_header_fix() {
    let text = length_header_fix::conversation_transcript_in(common::lang::Lang::Zh).unwrap();
    assert!(!text.contains("<- 粘包"), "{text}");
    insta::assert_snapshot!("zh-4-length-header-fix", text);
}
