//! `cargo run -p framing-gallery`: the side-by-side run and the decision table.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        if arg == "--help" || arg == "-h" {
            println!(
                "framing-gallery: Part II of sticky-packets. Puts the same awkward messages \
                 (empty, full of delimiters, binary, 64 KiB) through eight framings over real \
                 loopback connections: fixed-length records, lines, COBS, netstrings, stage 4's \
                 length header, varint lengths, a Content-Length header block and half-close. \
                 Prints what arrived, what each decoder refuses, and a decision table. \
                 No arguments."
            );
            return ExitCode::SUCCESS;
        }
        eprintln!("framing-gallery takes no arguments (try --help)");
        return ExitCode::from(2);
    }
    match framing_gallery::demo_transcript() {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("the gallery could not run: {e}");
            ExitCode::FAILURE
        }
    }
}
