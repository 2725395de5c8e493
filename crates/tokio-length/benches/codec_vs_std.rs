//! Stage 4's hand-written framing against `LengthDelimitedCodec`, one way on
//! loopback, for small, medium and large frames, both measured in the same
//! run: `cargo bench -p tokio-length`. A plain `main` that prints a table
//! (median of several runs); no figure is asserted anywhere.

use std::io;
use tokio_length::rows::{codec_frames_one_way, stage4_frames_one_way};

/// Bodies and how many frames of each to send (3 MB, 51 MB and 66 MB of
/// bodies): the small frames measure the cost per frame, the large ones
/// bandwidth.
const CASES: [(usize, usize); 3] = [(16, 200_000), (1024, 50_000), (64 * 1024, 1_000)];
const RUNS: usize = 7;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> io::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "One way on loopback, {cpus} CPUs, median of {RUNS} runs, 256 KiB buffers on both sides\n"
    );
    println!("| body | framing | frames/s | MB/s (bodies) |");
    println!("|---:|---|---:|---:|");
    for (body, n) in CASES {
        // Runs alternate between the two, so both see the same machine conditions.
        let (mut stage4, mut codec) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            stage4.push(stage4_frames_one_way(n, body)?);
            codec.push(codec_frames_one_way(n, body)?);
        }
        let (stage4, codec) = (median(stage4), median(codec));
        for (name, rate) in [
            ("stage 4 read_frame/write_frame", stage4),
            ("LengthDelimitedCodec", codec),
        ] {
            println!(
                "| {body} B | {name} | {rate:.0} | {:.1} |",
                rate * body as f64 / 1e6
            );
        }
    }
    Ok(())
}
