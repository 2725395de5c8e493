//! The six demos in order, each under a heading.

use std::io;

use common::lang::Lang;

/// One stage as the tour presents it.
pub struct Stage {
    /// 1 to 6.
    pub number: u8,
    /// The crate, which is also what `cargo run -p` takes.
    pub crate_name: &'static str,
    /// What the stage shows, in a few words.
    pub shows: &'static str,
    /// The same in Chinese.
    pub shows_zh: &'static str,
    /// The stage's demo, told in the language given (a stage whose demo
    /// speaks English only ignores it).
    pub demo: fn(Lang) -> io::Result<String>,
    /// Its chapter in the docs, relative to the repository root.
    pub chapter: &'static str,
}

/// Every stage, in the order a student meets them.
pub const STAGES: [Stage; 6] = [
    Stage {
        number: 1,
        crate_name: "udp-echo",
        shows: "UDP keeps each datagram whole",
        shows_zh: "UDP 让每个数据报保持完整",
        demo: udp_echo::demo_transcript_in,
        chapter: "docs/1-udp-echo.md",
    },
    Stage {
        number: 2,
        crate_name: "naive-exec-sticky",
        shows: "naive remote execution over TCP: replies run together",
        shows_zh: "在 TCP 上天真地远程执行命令：回复粘在一起",
        demo: |lang| naive_exec_sticky::demo_transcript_in(Default::default(), lang),
        chapter: "docs/2-naive-exec-sticky.md",
    },
    Stage {
        number: 3,
        crate_name: "sleep-fix",
        shows: "a pause between length and output: works only by luck of timing",
        shows_zh: "长度和输出之间停顿一下：能不能行全凭时机",
        demo: sleep_fix::demo_transcript_in,
        chapter: "docs/3-sleep-fix.md",
    },
    Stage {
        number: 4,
        crate_name: "length-header-fix",
        shows: "a 4-byte length header on every message: fixed",
        shows_zh: "每条消息带 4 字节长度头：问题解决",
        demo: length_header_fix::demo_transcript_in,
        chapter: "docs/4-length-header-fix.md",
    },
    Stage {
        number: 5,
        crate_name: "ack-handshake",
        shows: "uploads with an ACK handshake: the header is still one read",
        shows_zh: "带 ACK 握手的上传：文件信息仍然只读一次",
        demo: ack_handshake::demo_transcript_in,
        chapter: "docs/5-ack-handshake.md",
    },
    Stage {
        number: 6,
        crate_name: "md5-upload",
        shows: "length-prefixed file info, the bytes, and an MD5 check",
        shows_zh: "带长度前缀的文件信息、文件字节，再加 MD5 校验",
        demo: md5_upload::demo_transcript_in,
        chapter: "docs/6-md5-upload.md",
    },
];

/// The heading the tour prints above a stage's demo.
pub fn heading(stage: &Stage) -> String {
    heading_in(stage, Lang::En)
}

/// [`heading`] told in `lang`; the rule under a Chinese title is as wide as
/// the title on a terminal (two columns a Chinese character).
pub fn heading_in(stage: &Stage, lang: Lang) -> String {
    let title = match lang {
        Lang::En => format!(
            "Stage {} of {}: {} ({})",
            stage.number,
            STAGES.len(),
            stage.crate_name,
            stage.shows
        ),
        Lang::Zh => format!(
            "第 {} 阶段（共 {} 个）：{}（{}）",
            stage.number,
            STAGES.len(),
            stage.crate_name,
            stage.shows_zh
        ),
    };
    let rule = "=".repeat(common::lang::width(&title));
    format!("{rule}\n{title}\n{rule}\n")
}

/// The closing words of the tour in `lang`.
pub fn epilogue_in(lang: Lang) -> String {
    if lang == Lang::En {
        return epilogue();
    }
    let mut out = String::from("接下来读什么\n------------\n");
    out.push_str("  课程（简体中文），逐个阶段：  docs/zh-CN/README.md\n");
    out.push_str("  the course (English):         docs/README.md\n");
    out.push_str(
        "  一次只跑一个阶段：            cargo run -p <stage> -- --lang zh-CN   （再试 -- server / -- client）\n",
    );
    out.push_str("  每种修法的代价：              cargo run --release -- costs\n");
    out
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
