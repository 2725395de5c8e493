//! The six demos in order, each under a heading.

use std::io;

/// One stage as the tour presents it.
pub struct Stage {
    /// 1 to 6.
    pub number: u8,
    /// The crate, which is also what `cargo run -p` takes.
    pub crate_name: &'static str,
    /// What the stage shows, in a few words.
    pub shows: &'static str,
    /// The stage's demo.
    pub demo: fn() -> io::Result<String>,
    /// Its chapter in the docs, relative to the repository root.
    pub chapter: &'static str,
}

/// Every stage, in the order a student meets them.
pub const STAGES: [Stage; 6] = [
    Stage {
        number: 1,
        crate_name: "udp-echo",
        shows: "UDP keeps each datagram whole",
        demo: udp_echo::demo_transcript,
        chapter: "docs/1-udp-echo.md",
    },
    Stage {
        number: 2,
        crate_name: "naive-exec-sticky",
        shows: "naive remote execution over TCP: replies run together",
        demo: naive_exec_sticky::demo_transcript,
        chapter: "docs/2-naive-exec-sticky.md",
    },
    Stage {
        number: 3,
        crate_name: "sleep-fix",
        shows: "a pause between length and output: works only by luck of timing",
        demo: sleep_fix::demo_transcript,
        chapter: "docs/3-sleep-fix.md",
    },
    Stage {
        number: 4,
        crate_name: "length-header-fix",
        shows: "a 4-byte length header on every message: fixed",
        demo: length_header_fix::demo_transcript,
        chapter: "docs/4-length-header-fix.md",
    },
    Stage {
        number: 5,
        crate_name: "ack-handshake",
        shows: "uploads with an ACK handshake: the header is still one read",
        demo: ack_handshake::demo_transcript,
        chapter: "docs/5-ack-handshake.md",
    },
    Stage {
        number: 6,
        crate_name: "md5-upload",
        shows: "length-prefixed file info, the bytes, and an MD5 check",
        demo: md5_upload::demo_transcript,
        chapter: "docs/6-md5-upload.md",
    },
];

/// The heading the tour prints above a stage's demo.
pub fn heading(stage: &Stage) -> String {
    let title = format!(
        "Stage {} of {}: {} ({})",
        stage.number,
        STAGES.len(),
        stage.crate_name,
        stage.shows
    );
    let rule = "=".repeat(title.chars().count());
    format!("{rule}\n{title}\n{rule}\n")
}

/// The closing words of the tour: where to read next.
pub fn epilogue() -> String {
    let mut out = String::from("Where to read next\n------------------\n");
    out.push_str("  the course, stage by stage:   docs/README.md\n");
    out.push_str("  课程（简体中文）:              docs/zh-CN/README.md\n");
    out.push_str(
        "  one stage at a time:          cargo run -p <stage>   (then -- server / -- client)\n",
    );
    out.push_str("  what each fix costs:          cargo run --release -- costs\n");
    out
}
