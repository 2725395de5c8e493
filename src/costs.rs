//! What each fix costs, measured on loopback. (Being written.)

use std::io;

/// Arguments of `cargo run --release -- costs`.
#[derive(clap::Args, Debug)]
pub struct CostsArgs {
    /// How many times each figure is measured; the table shows the median.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

/// Measures every figure and returns the table.
pub fn run(_args: &CostsArgs) -> io::Result<String> {
    Ok(String::new())
}
