//! The exercise checker: `cargo run -- exercises` runs every exercise in
//! `exercises/` over real sockets on `127.0.0.1:0`, through the network
//! weather and the decoder verifier, and says per exercise whether it
//! passed, or what was tried, what came back, and a hint as a question.
//!
//! Every check grades an [`exercises::Set`]: the student's files
//! ([`exercises::Student`]) or the reference solutions
//! (`exercises_solutions::Solutions`), so the workspace's tests can show
//! that the checker passes every answer and fails every untouched stub.
//! Each exercise runs on a thread of its own with a deadline: a `todo!()`
//! is caught as "not done yet", a loop that never ends as "timed out".
//!
//! This file holds what the rest of the project calls (the report, its
//! rendering, the command line) and the list of exercises; the checks
//! themselves live in `reads` (1, 2, 3, 6), `upload` (4, 5) and `decoders`
//! (7 to 10), built from the sockets and previews of `harness`.

mod decoders;
mod harness;
mod reads;
mod upload;

use std::fmt::Write as _;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use exercises::Set;

use decoders::{ex07, ex08, ex09, ex10};
pub use harness::show;
pub use reads::command_output;
use reads::{ex01, ex02, ex03, ex06};
use upload::{ex04, ex05};

/// How long one exercise may run before it is reported as timed out.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// The language of the report: the same choice as the tour's and the demos'
/// (`--lang`, else `STICKY_LANG`, `LC_ALL` or `LANG` starting with `zh`).
pub use common::lang::Lang;

/// A sentence in both languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text {
    /// English.
    pub en: &'static str,
    /// 简体中文.
    pub zh: &'static str,
}

impl Text {
    /// The sentence in `lang`.
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Zh => self.zh,
        }
    }
}

const fn t(en: &'static str, zh: &'static str) -> Text {
    Text { en, zh }
}

/// Why a check failed: what was tried, what came of it, and a question to
/// ask oneself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fail {
    /// What the check did.
    pub check: Text,
    /// What came back, against what was expected.
    pub detail: String,
    /// A hint, phrased as a question.
    pub hint: Text,
}

type Checked = Result<(), Fail>;

fn fail(check: Text, detail: impl Into<String>, hint: Text) -> Fail {
    Fail {
        check,
        detail: detail.into(),
        hint,
    }
}

/// One exercise: its file, what it is about, and its checks.
pub struct Exercise {
    /// 1 to 10, the order of the course.
    pub number: u8,
    /// The function or type the student writes.
    pub name: &'static str,
    /// The file, relative to the repository root.
    pub file: &'static str,
    /// Where in the course it belongs.
    pub chapter: Text,
    /// The task in one line.
    pub title: Text,
    /// The hint shown while the stub is untouched.
    pub start: Text,
    run: fn(&'static dyn Set) -> Checked,
}

/// What became of one exercise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every check passed.
    Passed,
    /// The stub's `todo!()` was reached.
    NotDone,
    /// A check failed.
    Failed(Fail),
    /// The code panicked (other than `todo!()`), with the panic's message.
    Panicked(String),
    /// It did not finish within [`DEADLINE`].
    TimedOut,
}

/// The checker's verdict on a whole set.
pub struct Report {
    /// One status per exercise, in the order of [`EXERCISES`].
    pub statuses: Vec<(&'static Exercise, Status)>,
}

impl Report {
    /// How many exercises passed.
    pub fn done(&self) -> usize {
        self.statuses
            .iter()
            .filter(|(_, s)| *s == Status::Passed)
            .count()
    }
}

/// Runs every exercise of `set`, each on its own thread with [`DEADLINE`].
pub fn check(set: &'static dyn Set) -> Report {
    check_within(set, DEADLINE)
}

/// [`check`] with another deadline: an exercise still running after it is
/// reported as timed out (its thread is left behind, asleep or spinning,
/// until the process ends).
pub fn check_within(set: &'static dyn Set, deadline: Duration) -> Report {
    let started = Instant::now();
    let pending: Vec<_> = EXERCISES
        .iter()
        .map(|ex| {
            let (tx, rx) = mpsc::channel();
            let spawned = thread::Builder::new()
                .name(format!("exercise {}", ex.number))
                .spawn(move || {
                    let result = panic::catch_unwind(AssertUnwindSafe(|| (ex.run)(set)));
                    let _ = tx.send(result);
                });
            (ex, rx, spawned.is_ok())
        })
        .collect();
    let statuses = pending
        .into_iter()
        .map(|(ex, rx, spawned)| {
            if !spawned {
                return (ex, Status::Panicked("could not start a thread".into()));
            }
            let left = deadline.saturating_sub(started.elapsed());
            let status = match rx.recv_timeout(left) {
                Ok(Ok(Ok(()))) => Status::Passed,
                Ok(Ok(Err(f))) => Status::Failed(f),
                Ok(Err(payload)) => {
                    let msg = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    if msg.starts_with("not yet implemented") {
                        Status::NotDone
                    } else {
                        Status::Panicked(msg)
                    }
                }
                Err(_) => Status::TimedOut,
            };
            (ex, status)
        })
        .collect();
    Report { statuses }
}

/// The report as the checker prints it: a line per exercise, the progress,
/// and the details of the first exercise not passed (the next one to do).
pub fn render(report: &Report, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let mut out = String::new();
    let total = report.statuses.len();
    let done = report.done();
    let _ = writeln!(
        out,
        "{}",
        if zh {
            format!("练习进度：{done}/{total} 已完成")
        } else {
            format!("Exercises: {done}/{total} done")
        }
    );
    for (ex, status) in &report.statuses {
        let (mark, what) = match status {
            Status::Passed => ("[pass]", t("passed", "通过")),
            Status::NotDone => ("[todo]", t("not done yet", "尚未完成")),
            Status::Failed(_) => ("[fail]", t("failed", "未通过")),
            Status::Panicked(_) => ("[fail]", t("panicked", "panic 了")),
            Status::TimedOut => ("[fail]", t("timed out", "超时")),
        };
        let _ = writeln!(
            out,
            "  {mark} {:02} {:<18} {:<40} {}",
            ex.number,
            ex.name,
            ex.file,
            what.get(lang)
        );
    }
    let Some((ex, status)) = report.statuses.iter().find(|(_, s)| *s != Status::Passed) else {
        let _ = writeln!(
            out,
            "\n{}",
            t(
                "Every exercise passes. Well done: now break one on purpose and watch the checker catch it.",
                "全部练习通过，干得好！不妨故意改坏一个，看看检查器能否发现。"
            )
            .get(lang)
        );
        return out;
    };
    let _ = if zh {
        writeln!(
            out,
            "\n下一个：练习 {:02}：{}（{}）",
            ex.number,
            ex.file,
            ex.chapter.get(lang)
        )
    } else {
        writeln!(
            out,
            "\nNext: exercise {:02}: {} ({})",
            ex.number,
            ex.file,
            ex.chapter.get(lang)
        )
    };
    let _ = writeln!(out, "  {}", ex.title.get(lang));
    let (tried, detail, hint) = match status {
        Status::Passed => unreachable_passed(),
        Status::NotDone => (
            t("calling it", "调用它"),
            t(
                "it reached `todo!()`: the stub is still there. Read the task at the top of the file and replace the `todo!()` with your answer.",
                "执行到了 `todo!()`：桩代码还在。请读文件开头的任务说明，把 `todo!()` 换成你的答案。",
            )
            .get(lang)
            .to_string(),
            ex.start,
        ),
        Status::Failed(f) => (f.check, f.detail.clone(), f.hint),
        Status::Panicked(msg) => (
            t("calling it", "调用它"),
            format!("panicked: {msg}"),
            t(
                "Which indexing or `unwrap` can fail on bytes from the network? Bad input deserves an error, not a panic.",
                "哪一处下标或 `unwrap` 会在网络来的字节上失败？坏输入应当返回错误，而不是 panic。",
            ),
        ),
        Status::TimedOut => (
            t("calling it", "调用它"),
            format!("it did not finish within {} s", DEADLINE.as_secs()),
            t(
                "Is there a loop that never ends, or a read that waits for bytes that never come? What does `read` return when the peer has closed?",
                "是不是有个永远不结束的循环，或者在等永远不会来的字节？对端关闭后 `read` 返回什么？",
            ),
        ),
    };
    let _ = writeln!(
        out,
        "  {}{}",
        if zh { "检查：" } else { "what was tried: " },
        tried.get(lang)
    );
    let _ = writeln!(out, "  {}", if zh { "结果：" } else { "what went wrong:" });
    for line in detail.lines() {
        let _ = writeln!(out, "    {line}");
    }
    let _ = writeln!(
        out,
        "  {}{}",
        if zh { "提示：" } else { "hint: " },
        hint.get(lang)
    );
    let _ = writeln!(
        out,
        "\n{}",
        t(
            "Edit the file and run `cargo run -- exercises` again, or leave `cargo run -- exercises --watch` running.",
            "修改文件后重新运行 `cargo run -- exercises`，或者一直开着 `cargo run -- exercises --watch`。"
        )
        .get(lang)
    );
    out
}

fn unreachable_passed() -> (Text, String, Text) {
    // `find` above skips passed exercises; keep the match total without a panic.
    (t("", ""), String::new(), t("", ""))
}

// ---------------------------------------------------------------------------
// The exercises
// ---------------------------------------------------------------------------

/// The exercises, in the order of the course.
pub static EXERCISES: [Exercise; 10] = [
    Exercise {
        number: 1,
        name: "read_exact",
        file: "exercises/src/ex01_read_exact.rs",
        chapter: t("stage 4", "第 4 阶段"),
        title: t(
            "A read-exactly loop: fill the buffer, however the bytes arrive.",
            "读满循环：不管字节怎么到达，都把缓冲区填满。",
        ),
        start: t(
            "How many bytes can one `read` return, and what should you do with the part of the buffer it did not fill?",
            "一次 `read` 可能返回多少字节？它没填满的那部分缓冲区该怎么办？",
        ),
        run: ex01,
    },
    Exercise {
        number: 2,
        name: "read_frame",
        file: "exercises/src/ex02_read_frame.rs",
        chapter: t("stage 4", "第 4 阶段"),
        title: t(
            "Read one stage-4 frame: a 4-byte little-endian length, then the body, with a maximum size.",
            "读一帧第 4 阶段的数据：4 字节小端长度，再读正文，并限制最大长度。",
        ),
        start: t(
            "Which bytes tell you how much to read next, and what must you check about that number before you trust it?",
            "哪些字节告诉你接下来要读多少？在相信这个数之前，要先检查什么？",
        ),
        run: ex02,
    },
    Exercise {
        number: 3,
        name: "run_command",
        file: "exercises/src/ex03_exec_client.rs",
        chapter: t("stages 2 and 4", "第 2、4 阶段"),
        title: t(
            "Fix stage 2's client: `seq 1 400` (1,492 bytes) and `echo hi` must come back whole.",
            "修好第 2 阶段的客户端：`seq 1 400`（1492 字节）和 `echo hi` 都要完整取回。",
        ),
        start: t(
            "The reply starts with a header: what does it tell you, and how many reads can the body take?",
            "回复以报头开头：它告诉你什么？正文可能要读几次？",
        ),
        run: ex03,
    },
    Exercise {
        number: 4,
        name: "read_file_info",
        file: "exercises/src/ex04_json_header.rs",
        chapter: t("stage 5", "第 5 阶段"),
        title: t(
            "Read stage 5's JSON file info whole, even in two pieces, and not one byte past its end.",
            "完整读出第 5 阶段的 JSON 文件信息，即使它分两段到达，也不能多读一个字节。",
        ),
        start: t(
            "Without a length prefix, which byte tells you the JSON is over, and when is a `}` not that byte?",
            "没有长度前缀时，哪个字节说明 JSON 结束了？什么时候 `}` 并不是结尾？",
        ),
        run: ex04,
    },
    Exercise {
        number: 5,
        name: "check_filename",
        file: "exercises/src/ex05_safe_filename.rs",
        chapter: t("stages 5 and 6", "第 5、6 阶段"),
        title: t(
            "An upload accepts a plain file name only: no `../`, no paths, no device names.",
            "上传只接受纯文件名：不许 `../`、不许路径、不许设备名。",
        ),
        start: t(
            "Where would the server write `../../.bashrc`, and on which systems is `nul.txt` not a file at all?",
            "服务器会把 `../../.bashrc` 写到哪里？在哪种系统上 `nul.txt` 根本不是文件？",
        ),
        run: ex05,
    },
    Exercise {
        number: 6,
        name: "read_records",
        file: "exercises/src/ex06_fixed_records.rs",
        chapter: t("Part II, chapter 7", "第二部分第 7 章"),
        title: t(
            "Fixed-length records: read records of exactly N bytes until the stream ends.",
            "定长记录：一条条读出正好 N 字节的记录，直到流结束。",
        ),
        start: t(
            "How do you tell a stream that ended between two records from one that ended inside a record?",
            "流在两条记录之间结束，和在一条记录中间结束，怎么区分？",
        ),
        run: ex06,
    },
    Exercise {
        number: 7,
        name: "LineDecoder",
        file: "exercises/src/ex07_line_decoder.rs",
        chapter: t("Part II, chapter 7", "第二部分第 7 章"),
        title: t(
            "A line decoder with a maximum length, as an incremental decoder over a growing buffer.",
            "带最大长度的行解码器：在不断增长的缓冲区上增量解码。",
        ),
        start: t(
            "What should `decode` answer when the buffer holds half a line, and when it holds a line and a half?",
            "缓冲区里只有半行时 `decode` 该返回什么？有一行半时呢？",
        ),
        run: ex07,
    },
    Exercise {
        number: 8,
        name: "NetstringDecoder",
        file: "exercises/src/ex08_netstring.rs",
        chapter: t("Part II, chapter 7", "第二部分第 7 章"),
        title: t(
            "A netstring decoder: `5:hello,`, refused early when too large or malformed.",
            "netstring 解码器：`5:hello,`，过大或格式错误时尽早拒绝。",
        ),
        start: t(
            "Until the `:` has arrived, do you know the length yet? And after it, how many more bytes do you need?",
            "`:` 到达之前，你知道长度了吗？到达之后，还需要多少字节？",
        ),
        run: ex08,
    },
    Exercise {
        number: 9,
        name: "VarintDecoder",
        file: "exercises/src/ex09_varint.rs",
        chapter: t("Part II, chapter 7", "第二部分第 7 章"),
        title: t(
            "A varint (LEB128) length prefix, as protobuf's length-delimited streams use.",
            "varint（LEB128）长度前缀，即 protobuf 定界流所用的格式。",
        ),
        start: t(
            "Which bit of a varint byte says \"more bytes follow\", and what if the header itself is cut in two?",
            "varint 字节的哪一位表示“后面还有”？如果报头本身被切成两半呢？",
        ),
        run: ex09,
    },
    Exercise {
        number: 10,
        name: "LengthDecoder",
        file: "exercises/src/ex10_find_the_bug.rs",
        chapter: t("Part II, chapter 8", "第二部分第 8 章"),
        title: t(
            "Find the bug: a decoder that passes on loopback and fails under weather.",
            "找 bug：一个在回环上通过、遇到网络天气就失败的解码器。",
        ),
        start: t(
            "What does this decoder assume about the bytes that arrived together with the header?",
            "这个解码器对和报头一起到达的那些字节做了什么假设？",
        ),
        run: ex10,
    },
];

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

/// `cargo run -- exercises`: check the exercises in `exercises/`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExercisesArgs {
    /// The report's language: `en` or `zh-CN` (default: from `LANG`).
    #[arg(long)]
    pub lang: Option<String>,
    /// Re-run the checker whenever a file under `exercises/` changes.
    #[arg(long)]
    pub watch: bool,
    /// Check the reference solutions instead of your files (every exercise
    /// should pass).
    #[arg(long)]
    pub solutions: bool,
}

static STUDENT: exercises::Student = exercises::Student;
static SOLUTIONS: exercises_solutions::Solutions = exercises_solutions::Solutions;

/// Runs the checker once and prints its report, or watches and re-runs it.
pub fn run(args: &ExercisesArgs) -> io::Result<()> {
    if args.watch {
        return watch(args);
    }
    // A stub's `todo!()` is reported as "not done yet"; the default hook's
    // backtrace note on standard error would only drown that out.
    panic::set_hook(Box::new(|_| {}));
    let set: &'static dyn Set = if args.solutions { &SOLUTIONS } else { &STUDENT };
    let report = check(set);
    print!("{}", render(&report, Lang::choose(args.lang.as_deref())));
    Ok(())
}

/// The folder the student edits.
pub fn exercises_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises")
}

/// Every file under `dir` with its modification time, in a stable order.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    stack.push(path);
                }
            } else {
                out.push((path, meta.modified().ok()));
            }
        }
    }
    out.sort();
    out
}

/// Runs `cargo run -- exercises` as a child (so every edit is compiled),
/// then polls the files' modification times and runs it again on a change.
/// Polling keeps it portable: no file-system notification crate.
fn watch(args: &ExercisesArgs) -> io::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let dir = exercises_dir();
    loop {
        let before = snapshot(&dir);
        let mut cmd = std::process::Command::new(&cargo);
        cmd.args(["run", "--quiet", "--", "exercises"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if let Some(lang) = &args.lang {
            cmd.args(["--lang", lang]);
        }
        if args.solutions {
            cmd.arg("--solutions");
        }
        let status = cmd.status()?;
        if !status.success() {
            eprintln!("(the build or the checker failed: fix the error above and save again)");
        }
        eprintln!(
            "-- watching {} for changes (Ctrl-C to stop) --",
            dir.display()
        );
        while snapshot(&dir) == before {
            thread::sleep(Duration::from_millis(500));
        }
        println!("\n==================== re-running ====================\n");
    }
}

#[cfg(test)]
mod tests;
