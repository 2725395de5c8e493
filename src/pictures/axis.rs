//! The byte axis under the boundary timelines and the datagram pictures: it
//! maps stream offsets to x. Its own file because two pictures lay their boxes
//! out on it, and its column rules are the subtle part of the drawing.

use common::timeline::Message;

pub(super) const LEFT: f64 = 104.0; // where the byte axis starts: room for the lane names
const RIGHT_PAD: f64 = 16.0;
const MIN_COL: f64 = 46.0; // narrowest span of bytes, so "M12" and "1024" fit
const MIN_WIDTH: f64 = 900.0;

/// One column of the byte axis: a span of stream bytes that no message start
/// or end and no read start or end cuts, or the empty slot of a message of
/// zero bytes (which sends nothing, yet is part of the story).
#[derive(Clone, Copy, Debug)]
pub(super) struct Column {
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) empty_message: Option<usize>,
    pub(super) x0: f64,
    pub(super) x1: f64,
}

impl Column {
    /// Bytes `from..to`, before the axis has given them an x.
    fn unplaced(from: usize, to: usize, empty_message: Option<usize>) -> Self {
        Self {
            from,
            to,
            empty_message,
            x0: 0.0,
            x1: 0.0,
        }
    }

    /// The slot of message `message`, which has no bytes, at offset `at`.
    fn empty_slot(at: usize, message: usize) -> Self {
        Self::unplaced(at, at, Some(message))
    }
}

/// Maps stream offsets to x. Widths grow with the bytes a column holds, but
/// never below [`MIN_COL`], so a 3-byte reply beside a 1,492-byte one is
/// still drawn wide enough to read its label.
pub(super) struct Axis {
    pub(super) columns: Vec<Column>,
    pub(super) width: f64,
}

impl Axis {
    pub(super) fn new(messages: &[Message], reads: &[usize], header: Option<usize>) -> Self {
        let mut cuts = vec![0usize];
        let mut empty_at = Vec::new();
        let mut pos = 0;
        for (i, m) in messages.iter().enumerate() {
            if m.len == 0 {
                empty_at.push((pos, i));
            }
            if let Some(h) = header {
                if m.len > h {
                    cuts.push(pos + h);
                }
            }
            pos += m.len;
            cuts.push(pos);
        }
        let mut read_pos = 0;
        for &r in reads {
            read_pos += r;
            cuts.push(read_pos);
        }
        cuts.sort_unstable();
        cuts.dedup();
        let total = cuts.last().copied().unwrap_or(0);

        // Columns in stream order; an empty message's slot goes after the
        // bytes that end where it was written.
        let mut columns = Vec::new();
        let mut empties = empty_at.iter().peekable();
        for pair in cuts.windows(2) {
            while let Some(&&(at, i)) = empties.peek() {
                if at > pair[0] {
                    break;
                }
                columns.push(Column::empty_slot(at, i));
                empties.next();
            }
            columns.push(Column::unplaced(pair[0], pair[1], None));
        }
        for &(at, i) in empties {
            columns.push(Column::empty_slot(at, i));
        }

        let n = columns.len() as f64;
        let width = MIN_WIDTH.max(LEFT + RIGHT_PAD + n * MIN_COL + 240.0);
        let spare = width - LEFT - RIGHT_PAD - n * MIN_COL;
        let mut x = LEFT;
        for c in &mut columns {
            let share = if total == 0 {
                0.0
            } else {
                (c.to - c.from) as f64 / total as f64
            };
            c.x0 = x;
            x += MIN_COL + spare * share;
            c.x1 = x;
        }
        Self { columns, width }
    }

    /// Left edge of the bytes starting at `offset`.
    pub(super) fn start(&self, offset: usize) -> f64 {
        self.columns
            .iter()
            .find(|c| c.empty_message.is_none() && c.from == offset)
            .map_or_else(|| self.end_x(), |c| c.x0)
    }

    /// Right edge of the bytes ending at `offset`.
    pub(super) fn end(&self, offset: usize) -> f64 {
        self.columns
            .iter()
            .rev()
            .find(|c| c.empty_message.is_none() && c.to == offset)
            .map_or(LEFT, |c| c.x1)
    }

    pub(super) fn end_x(&self) -> f64 {
        self.columns.last().map_or(LEFT, |c| c.x1)
    }
}
