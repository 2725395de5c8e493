//! The story matrix, pinned: which stage survives which network weather.

use common::demo::Verdict;
use sticky_packets::matrix;

/// The whole table is the same on every run, and reads as the story: stages 4 and 6, and stage 4 on tokio, survive everything.
#[test]
fn story_matrix() {
    let rows = matrix::run().unwrap();
    let by_stage = |name: &str| {
        rows.iter()
            .find(|r| r.stage == name)
            .unwrap_or_else(|| panic!("no row for {name}"))
    };
    for fixed in ["length-header-fix", "md5-upload", "tokio-length"] {
        assert!(
            by_stage(fixed).cells.iter().all(Verdict::is_intact),
            "{fixed} must survive every weather: {:?}",
            by_stage(fixed).cells
        );
    }
    // The naive stage breaks even on a quiet loopback; the sleep and the
    // handshake survive there and break once the stream is cut.
    assert!(!by_stage("naive-exec-sticky").cells[0].is_intact());
    for lucky in ["sleep-fix", "ack-handshake"] {
        let row = by_stage(lucky);
        assert!(row.cells[0].is_intact(), "{lucky}: {:?}", row.cells);
        assert!(!row.cells[1].is_intact(), "{lucky}: {:?}", row.cells);
    }
    // Part II: every framing of the gallery survives every weather, except
    // lines, which fail in every column for the reason the lesson gives
    // (a binary message holds a newline), not because of the weather.
    for strategy in framing_gallery::Strategy::ALL {
        let row = by_stage(strategy.row_name());
        if strategy == framing_gallery::Strategy::Lines {
            for cell in &row.cells {
                assert!(
                    matches!(cell, Verdict::Broken(why) if why.contains("holds `\\n`")),
                    "lines: {:?}",
                    row.cells
                );
            }
        } else {
            assert!(
                row.cells.iter().all(Verdict::is_intact),
                "{} must survive every weather: {:?}",
                row.stage,
                row.cells
            );
        }
    }
    insta::assert_snapshot!("matrix", matrix::render(&rows));
    // The same run told in Chinese: no cell keeps an English reason.
    let zh = matrix::render_in(&rows, common::lang::Lang::Zh);
    for english in ["reply", "command", "cut", "message", "holds", "glued"] {
        assert!(!zh.contains(english), "`{english}` left in:\n{zh}");
    }
    insta::assert_snapshot!("matrix_zh", zh);
}
