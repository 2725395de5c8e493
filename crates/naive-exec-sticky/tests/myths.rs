//! The popular non-fixes, tried in the demo: they do not frame anything.

use naive_exec_sticky::{conversation_transcript, conversation_transcript_with, Tweaks, READ_SIZE};

/// The part of a conversation from the boundary timeline on.
fn timeline_part(transcript: &str) -> &str {
    let at = transcript
        .find("boundary timeline")
        .expect("every conversation prints its timeline");
    &transcript[at..]
}

/// `--nodelay`, from the timeline on: the same sticky read and the same split reply as without it.
#[test]
fn nodelay_demo() {
    let text = naive_exec_sticky::demo_transcript_with(Tweaks {
        nodelay: true,
        ..Tweaks::default()
    })
    .unwrap();
    assert!(text.contains("Both sockets have TCP_NODELAY set"), "{text}");
    insta::assert_snapshot!("nodelay_demo", timeline_part(&text));
}

/// Nagle's algorithm off changes nothing in what the reads return.
#[test]
fn nodelay_leaves_the_timeline_as_it_was() {
    let plain = conversation_transcript().unwrap();
    let nodelay = conversation_transcript_with(Tweaks {
        nodelay: true,
        ..Tweaks::default()
    })
    .unwrap();
    assert_eq!(timeline_part(&plain), timeline_part(&nodelay));
    assert!(nodelay.contains("1 sticky read(s), 1 split message(s)"));
}

/// `--read-size 4096`, from the timeline on: seq's 1,492 bytes fit in one read, so this script comes out whole, by luck.
#[test]
fn bigger_read_demo() {
    let text = naive_exec_sticky::demo_transcript_with(Tweaks {
        read_size: 4096,
        ..Tweaks::default()
    })
    .unwrap();
    assert!(text.contains("one recv(4096) per reply"), "{text}");
    insta::assert_snapshot!("bigger_read_demo", timeline_part(&text));
}

/// `--read-size 100`: the cut is wherever the read size says, not at any packet size.
#[test]
fn smaller_read_cuts_at_the_read_size() {
    let text = conversation_transcript_with(Tweaks {
        read_size: 100,
        ..Tweaks::default()
    })
    .unwrap();
    assert!(text.contains("read 1    100 bytes  M1[0..100)"), "{text}");
    assert!(text.contains("read 2    100 bytes  M1[100..200)"), "{text}");
    assert_ne!(READ_SIZE, 100);
}
