//! Tests of reading timelines back and of the boundary picture; every picture
//! as a whole is compared byte for byte by `tests/docs.rs`.

use super::*;

fn sample() -> Timeline {
    let t = Timeline::new("server -> client");
    t.sent_labeled("reply to `seq 1 400`", 1492);
    t.sent_labeled("reply to `echo hi`", 3);
    t.sent_labeled("reply to `true` (no output: nothing sent)", 0);
    t.sent_labeled("reply to `echo bye`", 4);
    for r in [1024, 471, 4] {
        t.read(r);
    }
    t
}

/// A rendered timeline read back gives the same messages and reads.
#[test]
fn a_rendered_timeline_reads_back() {
    let t = sample();
    let text = format!("before\n{}after\n", t.render());
    let back = timelines_in(&text).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].messages(), t.messages());
    assert_eq!(back[0].reads(), t.reads());
}

/// A block whose numbers do not add up is refused, not drawn.
#[test]
fn a_tampered_block_is_refused() {
    let text = sample().render().replace("471 bytes", "472 bytes");
    let err = timelines_in(&text).unwrap_err();
    assert!(err.to_string().contains("renders differently"), "{err}");
}

/// The drawing marks the sticky read and the split message, and is the same twice.
#[test]
fn the_drawing_marks_glue_and_cuts() {
    let svg = boundary_svg(&sample(), "test", None);
    assert!(
        svg.contains("STICKY 粘包: read 2 holds 2 messages"),
        "{svg}"
    );
    assert!(svg.contains("SPLIT 拆包: 2 reads"), "{svg}");
    assert_eq!(
        svg.matches("stroke-dasharray=\"5 3\"").count(),
        1,
        "one cut: {svg}"
    );
    assert!(svg.contains("M1[1024..1492)"), "{svg}");
    assert_eq!(svg, boundary_svg(&sample(), "test", None));
}
