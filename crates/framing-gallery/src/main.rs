//! `cargo run -p framing-gallery`: the side-by-side run and the decision table.

use std::process::ExitCode;

use clap::Parser;
use common::cli::LangArg;
use common::lang::Lang;

#[derive(Parser)]
#[command(
    name = "framing-gallery",
    about = "Part II: eight framings side by side, over real loopback connections",
    long_about = "framing-gallery: Part II of sticky-packets. Puts the same awkward messages \
(empty, full of delimiters, binary, 64 KiB) through eight framings over real loopback \
connections: fixed-length records, lines, COBS, netstrings, stage 4's length header, varint \
lengths, a Content-Length header block and half-close. Prints what arrived, what each decoder \
refuses, and a decision table, in English or (with --lang zh-CN) in Chinese. The command is the \
same in bash and PowerShell:\n\n\
\x20 cargo run -p framing-gallery -- --lang zh-CN"
)]
struct Cli {
    #[command(flatten)]
    lang: LangArg,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    demo(cli.lang.choose())
}

fn demo(lang: Lang) -> ExitCode {
    match framing_gallery::demo::demo_transcript_in(lang) {
        Ok(text) => match common::cli::print_transcript(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!("the gallery could not run: {e}");
            ExitCode::FAILURE
        }
    }
}
