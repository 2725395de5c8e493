//! The story matrix: each TCP stage through each network weather.
//!
//! Every cell is a real conversation: the stage's own server on
//! `127.0.0.1:0`, the weather proxy in front of it (except in the first
//! column), and the stage's own client, with the same fixed script every
//! time. A cell says ✓ when every message arrived intact and in order, and
//! otherwise ✗ with the first thing that went wrong.
//!
//! Why the cells are the same on every run: the proxy runs in *lockstep*
//! ([`Weather::with_lockstep`]): it delivers a piece only once the receiving
//! program has read the previous one, so every piece it cuts is exactly one
//! read on the other side, however busy the machine. What a naive reader got
//! is then known, and the words can name it ("the server ran `seq`").
//!
//! Two of stage 3's cells are about timing itself, and are kept the same on
//! a loaded machine as follows. In the first column the pause works as it
//! does on a quiet loopback: the server sleeps its pause and then also waits
//! until the client has read the digits, as the stage's own demo does (a
//! busy machine can keep the client from reading for longer than the pause).
//! In the coalescing column the 200 ms window glues the length and the
//! output because it is longer than the 100 ms pause; a machine that stalls
//! the server for over 100 ms can make the output miss the window, which
//! the proxy's record shows, and then the cell is run again (see
//! [`COALESCE_ATTEMPTS`]).
//!
//! This file holds what the rest of the project calls (the columns, the
//! run, the heading and the rendering) and the list of rows; the network of
//! one cell lives in `cell`, the trials in `commands` (stages 2-4, and
//! stage 4 on tokio) and `uploads` (stages 5-6), and the rendering's parts
//! in `table`, `reasons` (a cell's words in Chinese) and `reproduce` (the
//! words under the table).

mod cell;
mod commands;
mod reasons;
mod reproduce;
mod table;
#[cfg(test)]
mod tests;
mod uploads;

use std::io;
use std::thread;
use std::time::Duration;

use common::demo::Verdict;
use common::lang::Lang;
use common::weather::Weather;

pub use commands::COALESCE_ATTEMPTS;
use commands::{length_header_trial, naive_exec_trial, sleep_fix_trial, tokio_length_trial};
use uploads::{ack_handshake_trial, md5_upload_trial};

/// A column of the matrix: a network weather, or none at all.
#[derive(Clone, Debug)]
pub struct Column {
    /// The column's heading.
    pub name: &'static str,
    /// The column's heading in Chinese.
    pub name_zh: &'static str,
    /// The weather between client and server; `None` is a direct connection.
    pub weather: Option<Weather>,
}

/// The fixed set of weathers, in the order the table shows them.
pub fn columns() -> Vec<Column> {
    let lockstep = |w: Weather| Some(w.with_lockstep());
    vec![
        Column {
            name: "no proxy",
            name_zh: "不经代理",
            weather: None,
        },
        Column {
            name: "split 1",
            name_zh: "每次 1 字节",
            weather: lockstep(Weather::split(1)),
        },
        Column {
            name: "sizes 3,7",
            name_zh: "按 3,7 字节切",
            weather: lockstep(Weather::sizes(&[3, 7])),
        },
        Column {
            name: "coalesce 200ms",
            name_zh: "合并 200ms",
            weather: lockstep(Weather::coalesce(Duration::from_millis(200))),
        },
        Column {
            name: "seed 7",
            name_zh: "随机种子 7",
            weather: lockstep(Weather::seeded(7)),
        },
        Column {
            name: "seed 42",
            name_zh: "随机种子 42",
            weather: lockstep(Weather::seeded(42)),
        },
    ]
}

/// One row: a stage and its verdict under every column's weather.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The stage's crate name.
    pub stage: &'static str,
    /// One verdict per column, in [`columns`] order.
    pub cells: Vec<Verdict>,
}

type Trial = fn(&Column) -> io::Result<Verdict>;

/// The TCP stages, in story order, with the trial that puts each through a
/// column's weather.
const STAGES: [(&str, Trial); 5] = [
    ("naive-exec-sticky", naive_exec_trial),
    ("sleep-fix", sleep_fix_trial),
    ("length-header-fix", length_header_trial),
    ("ack-handshake", ack_handshake_trial),
    ("md5-upload", md5_upload_trial),
];

/// The commands every remote-execution stage runs in the matrix: one reply
/// longer than a 1,024-byte read, then a short one.
const COMMANDS: [&str; 2] = ["seq 1 400", "echo hi"];

/// How long a matrix client waits for a reply before it calls it lost. No
/// cell's verdict is a lost reply, so this only bounds a failure: long,
/// because a `split 1` cell moves a 1,496-byte reply one byte per lockstep
/// turn, which took over 10 s for the async client in a Windows build under
/// Wine with two tours running at once.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs every cell, all at once: each has its own server and proxy, and
/// lockstep keeps them from depending on each other's timing (most of a
/// cell's time is the coalescing window, spent waiting).
pub fn run() -> io::Result<Vec<Row>> {
    let columns = columns();
    let trials = trials();
    let results = thread::scope(|scope| {
        let handles: Vec<Vec<_>> = trials
            .iter()
            .map(|(_, trial)| {
                columns
                    .iter()
                    .map(|column| scope.spawn(move || trial(column)))
                    .collect()
            })
            .collect();
        handles
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(io::Error::other("a matrix cell panicked")))
                    })
                    .collect::<io::Result<Vec<Verdict>>>()
            })
            .collect::<io::Result<Vec<Vec<Verdict>>>>()
    })?;
    Ok(trials
        .iter()
        .zip(results)
        .map(|((stage, _), cells)| Row { stage, cells })
        .collect())
}

type RowTrial = Box<dyn Fn(&Column) -> io::Result<Verdict> + Sync>;

/// The stages' trials, then Part II's: every framing of the gallery, whose
/// rows are produced by the gallery crate itself over the same weathers, and
/// stage 4's protocol on tokio.
fn trials() -> Vec<(&'static str, RowTrial)> {
    let stages = STAGES
        .iter()
        .map(|&(stage, trial)| (stage, Box::new(trial) as RowTrial));
    let gallery = framing_gallery::Strategy::ALL.map(|strategy| {
        let trial =
            move |column: &Column| framing_gallery::matrix_trial(strategy, column.weather.as_ref());
        (strategy.row_name(), Box::new(trial) as RowTrial)
    });
    let tokio = std::iter::once(("tokio-length", Box::new(tokio_length_trial) as RowTrial));
    stages.chain(gallery).chain(tokio).collect()
}

/// [`heading`] told in `lang`.
pub fn heading_in(lang: Lang) -> String {
    let title = lang.pick(
        "The story matrix: each TCP stage through each network weather",
        "对照矩阵：每个 TCP 阶段各经过每种网络天气",
    );
    // As wide as the title on screen: a Chinese character takes two columns.
    let rule = "=".repeat(common::lang::width(title));
    format!("{rule}\n{title}\n{rule}\n")
}

/// The heading the tour prints above the matrix.
pub fn heading() -> String {
    heading_in(Lang::En)
}

/// The table, with a legend that says how to reproduce any cell by hand.
pub fn render(rows: &[Row]) -> String {
    render_in(rows, Lang::En)
}

/// [`render`] with its headings, cells and legend told in `lang`. The
/// stages keep their crate names and the commands stay as they are typed.
/// Chinese columns are padded by display width (two columns a Chinese
/// character).
pub fn render_in(rows: &[Row], lang: Lang) -> String {
    let columns = columns();
    let mut out = table::table(rows, &columns, lang);
    out.push_str(&reproduce::reproduce(&columns, lang));
    out
}

/// A broken cell's verdict, in the English words of its trial (`reasons`
/// retells them in Chinese).
fn broken(words: impl Into<String>) -> io::Result<Verdict> {
    Ok(Verdict::Broken(words.into()))
}
