//! Tests of reading timelines back, of the shared canvas and of the boundary
//! picture; every picture as a whole is compared byte for byte by `tests/docs.rs`.

use super::canvas::{first_that_fits, Head};
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

/// The head names a description only when there is one, and escapes what it quotes.
#[test]
fn the_head_names_its_description_only_when_given() {
    let plain = Head::new((900.0, 100.0), "a < b", "from a test").open();
    assert!(plain.contains("aria-labelledby=\"title\""), "{plain}");
    assert!(!plain.contains("<desc"), "{plain}");
    assert!(!plain.contains("<defs>"), "{plain}");
    assert!(
        plain.contains("<title id=\"title\">a &lt; b</title>"),
        "{plain}"
    );
    assert!(
        plain.contains("Drawn by src/pictures.rs from a test; do not edit"),
        "{plain}"
    );

    let full = Head::new((900.0, 100.0), "c", "from a test")
        .with_desc("M1 & M2")
        .with_arrows()
        .open();
    assert!(full.contains("aria-labelledby=\"title desc\""), "{full}");
    assert!(
        full.contains("<desc id=\"desc\">M1 &amp; M2</desc>"),
        "{full}"
    );
    assert!(full.contains("<marker id=\"arrow\""), "{full}");
}

/// A label is the first that fits its box; a box too narrow for all of them stays bare.
#[test]
fn labels_fall_back_to_shorter_ones_then_to_none() {
    let labels = || ["read 1 · 1024 B".to_string(), "r1".to_string()];
    assert_eq!(
        first_that_fits(labels(), 200.0).as_deref(),
        Some("read 1 · 1024 B")
    );
    assert_eq!(first_that_fits(labels(), 30.0).as_deref(), Some("r1"));
    assert_eq!(first_that_fits(labels(), 10.0), None);
}
