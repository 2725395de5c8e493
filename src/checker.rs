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

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use common::weather::{Weather, WeatherProxy};
use exercises::Set;
use framing_gallery::verify::{Failure, Outcome, PieceReader, Split, Verifier};
use framing_gallery::{Buffer, DecodeError, Decoder, FrameReader};

/// How long one exercise may run before it is reported as timed out.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// How long a socket read waits before the check gives up on it: a stub
/// that waits for bytes that never come fails instead of hanging.
const READ_TIMEOUT: Duration = Duration::from_secs(4);

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
// Showing bytes and verifier failures
// ---------------------------------------------------------------------------

/// A message as a reader sees it: its length and its first bytes, escaped.
pub fn show(bytes: &[u8]) -> String {
    const PREVIEW: usize = 40;
    // Text is shown as text (粘包 stays readable); anything else byte by byte.
    let (head, cut) = match std::str::from_utf8(bytes) {
        Ok(text) => (
            text.chars()
                .take(PREVIEW)
                .flat_map(char::escape_debug)
                .collect::<String>(),
            text.chars().count() > PREVIEW,
        ),
        Err(_) => (
            bytes
                .iter()
                .take(PREVIEW)
                .flat_map(|b| b.escape_ascii())
                .map(char::from)
                .collect(),
            bytes.len() > PREVIEW,
        ),
    };
    let more = if cut { "..." } else { "" };
    format!("{} B \"{head}{more}\"", bytes.len())
}

fn show_frames(frames: &[Vec<u8>]) -> String {
    let shown: Vec<String> = frames.iter().take(4).map(|f| show(f)).collect();
    let more = if frames.len() > 4 { ", ..." } else { "" };
    format!("{} message(s): {}{more}", frames.len(), shown.join(", "))
}

fn show_outcome(o: &Outcome) -> String {
    let end = match &o.end {
        Ok(()) => "then a clean end".to_string(),
        Err(e) => format!("then the error: {e}"),
    };
    format!("{}; {end}", show_frames(&o.frames))
}

fn show_failure(f: &Failure) -> String {
    format!(
        "fed {}; the smallest split that broke it: {}\nexpected: {}\nreceived: {}",
        f.feeding,
        f.split,
        show_outcome(&f.expected),
        show_outcome(&f.got)
    )
}

// ---------------------------------------------------------------------------
// Sockets: a server that sends bytes, a client through the weather
// ---------------------------------------------------------------------------

/// A loopback server that accepts one connection, writes `bytes` in one
/// write, half-closes, and drains what the client sends until it closes.
fn serve_bytes(bytes: Vec<u8>) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::Builder::new()
        .name("exercise server".into())
        .spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.set_read_timeout(Some(READ_TIMEOUT));
                let _ = s.write_all(&bytes);
                let _ = s.shutdown(Shutdown::Write);
                let _ = io::copy(&mut s, &mut io::sink());
            }
        })?;
    Ok(addr)
}

/// Connects to `addr` directly in clear weather, or through a weather proxy
/// (returned too, so it lives as long as the connection).
fn connect(addr: SocketAddr, weather: &Weather) -> io::Result<(TcpStream, Option<WeatherProxy>)> {
    let (target, proxy) = if weather.is_clear() {
        (addr, None)
    } else {
        let proxy = WeatherProxy::spawn(addr, weather.clone())?;
        (proxy.addr(), Some(proxy))
    };
    let stream = TcpStream::connect(target)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    Ok((stream, proxy))
}

fn socket_error(check: Text, e: io::Error) -> Fail {
    fail(
        check,
        format!("the checker could not set up the sockets: {e}"),
        t(
            "Is something on this machine refusing loopback connections? Try again.",
            "这台机器是否拒绝了回环连接？请再试一次。",
        ),
    )
}

/// The weathers every socket check runs through.
fn weathers() -> [Weather; 3] {
    [
        Weather::clear(),
        Weather::split(1),
        Weather::sizes(&[3, 1, 7]),
    ]
}

/// Sends `wire` from a server through `weather` and collects what `read`
/// makes of it on the client.
fn over_socket<T>(
    wire: &[u8],
    weather: &Weather,
    read: impl FnOnce(&mut TcpStream) -> io::Result<T>,
) -> io::Result<io::Result<T>> {
    let addr = serve_bytes(wire.to_vec())?;
    let (mut stream, _proxy) = connect(addr, weather)?;
    Ok(read(&mut stream))
}

fn stage4_wire(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for f in frames {
        wire.extend_from_slice(&(f.len() as i32).to_le_bytes());
        wire.extend_from_slice(f);
    }
    wire
}

fn sample_frames() -> Vec<Vec<u8>> {
    vec![
        b"hello".to_vec(),
        Vec::new(),
        b"x".repeat(300),
        "粘包 sticky".as_bytes().to_vec(),
    ]
}

fn kind_is(r: &io::Result<impl Sized>, kind: io::ErrorKind) -> bool {
    matches!(r, Err(e) if e.kind() == kind)
}

fn describe_result<T>(r: &io::Result<T>, show_ok: impl Fn(&T) -> String) -> String {
    match r {
        Ok(v) => format!("Ok({})", show_ok(v)),
        Err(e) => format!("Err(kind {:?}: {e})", e.kind()),
    }
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

// -- 1 ----------------------------------------------------------------------

fn ex01(set: &'static dyn Set) -> Checked {
    let input: Vec<u8> = (0..30u8).map(|i| b'a' + i % 26).collect();
    let sizes = [5usize, 10, 15];
    let expected: Vec<Vec<u8>> = vec![
        input[..5].to_vec(),
        input[5..15].to_vec(),
        input[15..].to_vec(),
    ];
    let check = t(
        "reading buffers of 5, 10 and 15 bytes from 30 bytes cut every way (the decoder verifier)",
        "从 30 字节里依次读满 5、10、15 字节的缓冲区，字节按各种方式切分（解码器校验器）",
    );
    Verifier::new()
        .check_reader(
            |r| {
                sizes
                    .iter()
                    .map(|&n| {
                        let mut buf = vec![0u8; n];
                        set.read_exact(r, &mut buf).map(|()| buf)
                    })
                    .collect::<io::Result<Vec<_>>>()
            },
            &input,
            &expected,
        )
        .map_err(|f| {
            fail(
                check,
                show_failure(&f),
                t(
                    "After a `read` that returned fewer bytes than you asked for, do you read again into the rest of the buffer?",
                    "`read` 返回的字节比你要的少时，你有没有接着往缓冲区剩下的部分再读？",
                ),
            )
        })?;

    let check = t(
        "asking for 10 bytes from a stream that ends after 3",
        "向一个只发 3 个字节就结束的流要 10 个字节",
    );
    let mut short = PieceReader::new(b"abc", &Split::bytewise(3));
    let mut buf = [0u8; 10];
    let got = set.read_exact(&mut short, &mut buf);
    let msg_ok =
        matches!(&got, Err(e) if e.to_string().contains('3') && e.to_string().contains("10"));
    if !kind_is(&got, io::ErrorKind::UnexpectedEof) || !msg_ok {
        return Err(fail(
            check,
            format!(
                "expected: Err(kind UnexpectedEof) saying \"3 of 10 bytes\"\nreceived: {}",
                describe_result(&got, |()| "()".into())
            ),
            t(
                "What does `read` returning 0 mean, and does your error say how many bytes of how many arrived?",
                "`read` 返回 0 意味着什么？你的错误信息有没有写明收到了多少字节、一共要多少？",
            ),
        ));
    }

    let check = t(
        "reading 2,000 bytes over a real socket through the weather `--split 1`",
        "经过网络天气 `--split 1`，从真实套接字读 2000 字节",
    );
    let big: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
    let got = over_socket(&big, &Weather::split(1), |s| {
        let mut buf = vec![0u8; big.len()];
        set.read_exact(s, &mut buf).map(|()| buf)
    })
    .map_err(|e| socket_error(check, e))?;
    if got.as_ref().ok() != Some(&big) {
        return Err(fail(
            check,
            format!(
                "expected: Ok({})\nreceived: {}",
                show(&big),
                describe_result(&got, |b| show(b))
            ),
            t(
                "When each read returns one byte, where does the next byte go in your buffer?",
                "每次 read 只返回一个字节时，下一个字节该放到缓冲区的哪里？",
            ),
        ));
    }
    Ok(())
}

// -- 2 ----------------------------------------------------------------------

fn read_all_frames(set: &dyn Set, r: &mut dyn Read, max: usize) -> io::Result<Vec<Vec<u8>>> {
    let mut frames = Vec::new();
    while let Some(f) = set.read_frame(r, max)? {
        frames.push(f);
        if frames.len() > 10_000 {
            return Err(io::Error::other("more than 10,000 frames: a loop?"));
        }
    }
    Ok(frames)
}

fn ex02(set: &'static dyn Set) -> Checked {
    let frames = sample_frames();
    let wire = stage4_wire(&frames);
    Verifier::new()
        .check_reader(|r| read_all_frames(set, r, 1024), &wire, &frames)
        .map_err(|f| {
            fail(
                t(
                    "reading frames (5, 0, 300 and 14 bytes) until the end, the bytes cut every way (the decoder verifier)",
                    "一直读帧（5、0、300、14 字节）直到结束，字节按各种方式切分（解码器校验器）",
                ),
                show_failure(&f),
                t(
                    "Is the header read with a loop too? What do you return at the end of the stream, and for an empty body?",
                    "报头也用循环读了吗？流结束时返回什么？正文为空时呢？",
                ),
            )
        })?;

    let refusals: [(&[u8], usize, io::ErrorKind, Text, Text); 4] = [
        (
            &[0xff, 0xff, 0xff, 0xff, b'a', b'b', b'c'],
            1024,
            io::ErrorKind::InvalidData,
            t(
                "a header holding -1 (ff ff ff ff)",
                "报头内容是 -1（ff ff ff ff）",
            ),
            t(
                "Is the length signed? What does -1 become if you cast it straight to `usize`?",
                "长度是有符号的吗？-1 直接转成 `usize` 会变成多少？",
            ),
        ),
        (
            &[0x40, 0x42, 0x0f, 0x00, b'a', b'b'],
            1024,
            io::ErrorKind::InvalidData,
            t(
                "a header announcing 1,000,000 bytes with a maximum of 1,024",
                "报头声称 1000000 字节，而最大值是 1024",
            ),
            t(
                "Do you compare the length with `max` before you allocate or read the body?",
                "你是在分配或读取正文之前就和 `max` 比较的吗？",
            ),
        ),
        (
            &[5, 0],
            1024,
            io::ErrorKind::UnexpectedEof,
            t(
                "a stream that ends after 2 bytes of the header",
                "报头只到了 2 个字节流就结束了",
            ),
            t(
                "Is a stream that ends inside a header a clean end?",
                "流在报头中途结束，算正常结束吗？",
            ),
        ),
        (
            &[5, 0, 0, 0, b'h', b'e'],
            1024,
            io::ErrorKind::UnexpectedEof,
            t(
                "a stream that ends after 2 bytes of a 5-byte body",
                "5 字节的正文只到了 2 个字节流就结束了",
            ),
            t(
                "What does your body loop do when `read` returns 0?",
                "`read` 返回 0 时，你读正文的循环怎么处理？",
            ),
        ),
    ];
    for (input, max, kind, check, hint) in refusals {
        let mut r = PieceReader::new(input, &Split::whole());
        let got = set.read_frame(&mut r, max);
        if !kind_is(&got, kind) {
            return Err(fail(
                check,
                format!(
                    "expected: Err(kind {kind:?})\nreceived: {}",
                    describe_result(&got, |f| format!("{:?}", f.as_deref().map(show)))
                ),
                hint,
            ));
        }
    }

    for weather in weathers() {
        let check = t(
            "reading the same frames over a real socket, in clear weather, `--split 1` and `--sizes 3,1,7`",
            "经过真实套接字读同样的帧：晴天、`--split 1`、`--sizes 3,1,7`",
        );
        let got = over_socket(&wire, &weather, |s| read_all_frames(set, s, 1024))
            .map_err(|e| socket_error(check, e))?;
        if got.as_ref().ok() != Some(&frames) {
            return Err(fail(
                check,
                format!(
                    "weather: {}\nexpected: Ok({})\nreceived: {}",
                    weather.describe(),
                    show_frames(&frames),
                    describe_result(&got, |f| show_frames(f))
                ),
                t(
                    "What differs between the verifier's pieces and a socket's reads? Does anything assume one read is one frame?",
                    "校验器的分段和套接字的读取有什么不同？有没有哪里假设一次读就是一帧？",
                ),
            ));
        }
    }
    Ok(())
}

// -- 3 ----------------------------------------------------------------------

/// What the exercise's server answers: the built-in command set, the same
/// bytes on every OS, with no shell and no `seq` needed.
pub fn command_output(command: &str) -> Vec<u8> {
    common::run_builtin(command, common::ShellLimits::default()).reply()
}

/// A stage-4 server on loopback for one connection: a frame in, the
/// command's built-in output as a frame out, until the client closes.
fn serve_commands() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::Builder::new()
        .name("exercise exec server".into())
        .spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let _ = s.set_read_timeout(Some(READ_TIMEOUT));
            while let Ok(Some(request)) = length_header_fix::read_frame(&mut s, 128 * 1024) {
                let output = command_output(&String::from_utf8_lossy(&request));
                if length_header_fix::write_frame(
                    &mut s,
                    &output,
                    length_header_fix::DEFAULT_MAX_FRAME,
                )
                .is_err()
                {
                    return;
                }
            }
        })?;
    Ok(addr)
}

fn ex03(set: &'static dyn Set) -> Checked {
    let commands = ["seq 1 400", "echo hi", "true", "echo hi"];
    for weather in weathers() {
        let check = t(
            "running `seq 1 400`, `echo hi`, `true`, `echo hi` on one connection to a stage-4 server, in clear weather, `--split 1` and `--sizes 3,1,7`",
            "在同一个连接上向第 4 阶段的服务器依次执行 `seq 1 400`、`echo hi`、`true`、`echo hi`：晴天、`--split 1`、`--sizes 3,1,7`",
        );
        let addr = serve_commands().map_err(|e| socket_error(check, e))?;
        let (mut stream, _proxy) = connect(addr, &weather).map_err(|e| socket_error(check, e))?;
        for command in commands {
            let expected = command_output(command);
            let got = set.run_command(&mut stream, command);
            if got.as_ref().ok() != Some(&expected) {
                return Err(fail(
                    check,
                    format!(
                        "weather: {}, command `{command}`\nexpected: Ok({})\nreceived: {}",
                        weather.describe(),
                        show(&expected),
                        describe_result(&got, |b| show(b))
                    ),
                    t(
                        "Does your reply still start with the 4 header bytes? How many bytes does the header say, and did you read exactly that many?",
                        "你返回的回复是不是还带着 4 字节报头？报头说有多少字节，你是否正好读了那么多？",
                    ),
                ));
            }
        }
    }
    Ok(())
}

// -- 4 ----------------------------------------------------------------------

const INFO: &[u8] = br#"{"action":"put","filename":"a.txt","filesize":5}"#;
const TRICKY_INFO: &[u8] = br#"{"action":"put","filename":"a}{b\".txt","filesize":5}"#;

fn ex04(set: &'static dyn Set) -> Checked {
    let read_one = |r: &mut dyn Read| set.read_file_info(r).map(|j| vec![j]);
    Verifier::new()
        .check_reader(read_one, INFO, &[INFO.to_vec()])
        .map_err(|f| {
            fail(
                t(
                    "reading the JSON file info cut every way (the decoder verifier)",
                    "读取按各种方式切分的 JSON 文件信息（解码器校验器）",
                ),
                show_failure(&f),
                t(
                    "Does one read ever hold the whole JSON for sure? What tells you that it is complete?",
                    "一次读一定能拿到整个 JSON 吗？什么能告诉你它已经完整了？",
                ),
            )
        })?;

    let check = t(
        "reading the JSON when 5 bytes of the file already follow it in the same piece",
        "JSON 后面同一段里已经跟着文件的 5 个字节时读取 JSON",
    );
    let mut input = INFO.to_vec();
    input.extend_from_slice(b"hello");
    let mut r = PieceReader::new(&input, &Split::whole());
    let got = set.read_file_info(&mut r);
    if got.as_deref().ok() != Some(INFO) || r.unread() != 5 {
        return Err(fail(
            check,
            format!(
                "expected: Ok({}) and the 5 bytes after it left unread\nreceived: {}, {} byte(s) left unread",
                show(INFO),
                describe_result(&got, |b| show(b)),
                r.unread()
            ),
            t(
                "How many bytes may one `read` take from the stream, if the byte after the `}` is not yours?",
                "如果 `}` 之后的字节不归你，一次 `read` 最多能从流里拿多少字节？",
            ),
        ));
    }

    Verifier::new()
        .check_reader(read_one, TRICKY_INFO, &[TRICKY_INFO.to_vec()])
        .map_err(|f| {
            fail(
                t(
                    "reading a JSON whose file name is `a}{b\".txt`",
                    "读取文件名为 `a}{b\".txt` 的 JSON",
                ),
                show_failure(&f),
                t(
                    "Are you inside a string when you meet that `}`? And does `\\\"` end the string?",
                    "遇到那个 `}` 时你是否在字符串里面？`\\\"` 会结束字符串吗？",
                ),
            )
        })?;

    let mut long = br#"{"filename":""#.to_vec();
    long.extend(std::iter::repeat_n(b'a', 3000));
    let refusals: [(Vec<u8>, io::ErrorKind, Text, Text); 3] = [
        (
            long,
            io::ErrorKind::InvalidData,
            t(
                "a JSON that is still open after 3,000 bytes",
                "3000 字节之后仍未结束的 JSON",
            ),
            t(
                "What stops your loop if the `}` never comes?",
                "如果 `}` 永远不来，什么能让你的循环停下？",
            ),
        ),
        (
            br#"{"action":"put""#.to_vec(),
            io::ErrorKind::UnexpectedEof,
            t(
                "a stream that ends in the middle of the JSON",
                "流在 JSON 中途结束",
            ),
            t(
                "What does `read` returning 0 mean in the middle of the JSON?",
                "在 JSON 中途 `read` 返回 0 意味着什么？",
            ),
        ),
        (
            br#"GET / HTTP/1.1{}"#.to_vec(),
            io::ErrorKind::InvalidData,
            t("bytes that do not start with `{`", "不以 `{` 开头的字节"),
            t("What may come before the `{`?", "`{` 之前允许出现什么？"),
        ),
    ];
    for (input, kind, check, hint) in refusals {
        let mut r = PieceReader::new(&input, &Split::bytewise(input.len().min(64)));
        let got = set.read_file_info(&mut r);
        if !kind_is(&got, kind) {
            return Err(fail(
                check,
                format!(
                    "expected: Err(kind {kind:?})\nreceived: {}",
                    describe_result(&got, |b| show(b))
                ),
                hint,
            ));
        }
    }

    // Stage 5's server, with the student's read: the JSON arrives in pieces.
    let check = t(
        "stage 5's upload over a real socket through `--sizes 7`: JSON, `200`, then the 5 file bytes",
        "经过 `--sizes 7` 的真实套接字做第 5 阶段上传：JSON、`200`，然后 5 字节文件内容",
    );
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| socket_error(check, e))?;
    let addr = listener.local_addr().map_err(|e| socket_error(check, e))?;
    let proxy =
        WeatherProxy::spawn(addr, Weather::sizes(&[7])).map_err(|e| socket_error(check, e))?;
    let proxy_addr = proxy.addr();
    let client = thread::Builder::new()
        .name("exercise upload client".into())
        .spawn(move || -> io::Result<Vec<u8>> {
            let mut s = TcpStream::connect(proxy_addr)?;
            s.set_read_timeout(Some(READ_TIMEOUT))?;
            s.write_all(INFO)?;
            let mut answer = [0u8; 3];
            s.read_exact(&mut answer)?;
            if &answer == b"200" {
                s.write_all(b"hello")?;
            }
            s.shutdown(Shutdown::Write)?;
            Ok(answer.to_vec())
        })
        .map_err(|e| socket_error(check, e))?;
    let (mut server, _) = listener.accept().map_err(|e| socket_error(check, e))?;
    server
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| socket_error(check, e))?;
    let got = set.read_file_info(&mut server);
    let mut body = [0u8; 5];
    let body_ok = got.as_deref().ok() == Some(INFO)
        && server.write_all(b"200").is_ok()
        && server.read_exact(&mut body).is_ok()
        && &body == b"hello";
    drop(server);
    let _ = client.join();
    if !body_ok {
        return Err(fail(
            check,
            format!(
                "expected: Ok({}), then the file's 5 bytes \"hello\"\nreceived: {}, then {}",
                show(INFO),
                describe_result(&got, |b| show(b)),
                show(&body)
            ),
            t(
                "On a socket, does your reader behave as it did on the verifier's pieces?",
                "在真实套接字上，你的读取和在校验器的分段上表现一样吗？",
            ),
        ));
    }
    Ok(())
}

// -- 5 ----------------------------------------------------------------------

fn ex05(set: &'static dyn Set) -> Checked {
    let long = "x".repeat(256);
    let refused: [&str; 22] = [
        "",
        ".",
        "..",
        "../x",
        "../../.bashrc",
        "a/b",
        "/etc/passwd",
        "..\\x",
        "C:\\x",
        "C:x",
        "a:stream",
        "a\0b",
        "a\nb",
        "CON",
        "nul.txt",
        "com1",
        "LPT9.log",
        "Aux",
        "a.",
        "a ",
        "prn.tar.gz",
        &long,
    ];
    let plain_max = "y".repeat(255);
    let accepted: [&str; 8] = [
        "a.txt",
        ".hidden",
        "a..b",
        "report 2024.pdf",
        "粘包.txt",
        "console.log",
        "com10",
        &plain_max,
    ];
    for name in refused {
        if let Ok(()) = set.check_filename(name) {
            return Err(fail(
                t("checking file names a hostile client might send", "检查恶意客户端可能发来的文件名"),
                format!(
                    "expected: Err(..) for {:?}\nreceived: Ok(())",
                    show_name(name)
                ),
                t(
                    "Where would the server write this name, and on which system is it not a plain file?",
                    "服务器会把这个名字写到哪里？在哪种系统上它不是普通文件？",
                ),
            ));
        }
    }
    for name in accepted {
        if let Err(why) = set.check_filename(name) {
            return Err(fail(
                t("checking ordinary file names", "检查普通文件名"),
                format!(
                    "expected: Ok(()) for {:?}\nreceived: Err({why:?})",
                    show_name(name)
                ),
                t(
                    "Is this name really a path or a device, or is your rule broader than the danger?",
                    "这个名字真的是路径或设备吗？还是你的规则比危险本身更宽？",
                ),
            ));
        }
    }
    Ok(())
}

fn show_name(name: &str) -> String {
    if name.len() > 40 {
        let head: String = name.chars().take(20).collect();
        format!("{head}... ({} bytes)", name.len())
    } else {
        name.to_string()
    }
}

// -- 6 ----------------------------------------------------------------------

fn ex06(set: &'static dyn Set) -> Checked {
    let records: Vec<Vec<u8>> = (0..4u8).map(|i| vec![b'A' + i; 8]).collect();
    let wire = records.concat();
    Verifier::new()
        .check_reader(|r| set.read_records(r, 8), &wire, &records)
        .map_err(|f| {
            fail(
                t(
                    "reading four 8-byte records, the bytes cut every way (the decoder verifier)",
                    "读取四条 8 字节记录，字节按各种方式切分（解码器校验器）",
                ),
                show_failure(&f),
                t(
                    "Does one read ever hold exactly one record? What do you do with a record's first 3 bytes?",
                    "一次读正好是一条记录吗？一条记录的前 3 个字节你怎么处理？",
                ),
            )
        })?;

    let check = t(
        "a stream that ends 3 bytes into the second 8-byte record",
        "流在第二条 8 字节记录的第 3 个字节后结束",
    );
    let cut = &wire[..11];
    let mut r = PieceReader::new(cut, &Split::whole());
    let got = set.read_records(&mut r, 8);
    if !kind_is(&got, io::ErrorKind::UnexpectedEof) {
        return Err(fail(
            check,
            format!(
                "expected: Err(kind UnexpectedEof)\nreceived: {}",
                describe_result(&got, |f| show_frames(f))
            ),
            t(
                "Is a stream that ends inside a record a clean end?",
                "流在记录中间结束，算正常结束吗？",
            ),
        ));
    }

    let many: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 16]).collect();
    let wire = many.concat();
    for weather in weathers() {
        let check = t(
            "reading 50 records of 16 bytes over a real socket, in clear weather, `--split 1` and `--sizes 3,1,7`",
            "经过真实套接字读 50 条 16 字节记录：晴天、`--split 1`、`--sizes 3,1,7`",
        );
        let got = over_socket(&wire, &weather, |s| set.read_records(s, 16))
            .map_err(|e| socket_error(check, e))?;
        if got.as_ref().ok() != Some(&many) {
            return Err(fail(
                check,
                format!(
                    "weather: {}\nexpected: Ok({})\nreceived: {}",
                    weather.describe(),
                    show_frames(&many),
                    describe_result(&got, |f| show_frames(f))
                ),
                t(
                    "Does anything assume that one read is one record?",
                    "有没有哪里假设一次读就是一条记录？",
                ),
            ));
        }
    }
    Ok(())
}

// -- 7 to 10: decoders ---------------------------------------------------------

/// The frames a decoder makes of `wire` sent over a real socket through
/// `weather`, read with the gallery's driver.
fn decode_over_socket(
    decoder: Box<dyn Decoder + Send>,
    wire: &[u8],
    weather: &Weather,
) -> io::Result<Result<Vec<Vec<u8>>, String>> {
    over_socket(wire, weather, |s| {
        let mut reader = FrameReader::new(s, decoder);
        let mut frames = Vec::new();
        loop {
            match reader.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => return Ok(Ok(frames)),
                Err(e) => return Ok(Err(e.to_string())),
            }
            if frames.len() > 10_000 {
                return Ok(Err("more than 10,000 frames: a loop?".into()));
            }
        }
    })
    .and_then(|r| r)
}

fn check_decoder_sockets(
    make: impl Fn() -> Box<dyn Decoder + Send>,
    wire: &[u8],
    frames: &[Vec<u8>],
    hint: Text,
) -> Checked {
    for weather in weathers() {
        let check = t(
            "decoding over a real socket with the gallery's FrameReader, in clear weather, `--split 1` and `--sizes 3,1,7`",
            "用画廊的 FrameReader 经过真实套接字解码：晴天、`--split 1`、`--sizes 3,1,7`",
        );
        let got = decode_over_socket(make(), wire, &weather).map_err(|e| socket_error(check, e))?;
        if got.as_deref() != Ok(frames) {
            let received = match &got {
                Ok(f) => show_frames(f),
                Err(e) => format!("the error: {e}"),
            };
            return Err(fail(
                check,
                format!(
                    "weather: {}\nexpected: {}\nreceived: {received}",
                    weather.describe(),
                    show_frames(frames)
                ),
                hint,
            ));
        }
    }
    Ok(())
}

fn check_verifier(
    make: impl Fn() -> Box<dyn Decoder + Send>,
    wire: &[u8],
    frames: &[Vec<u8>],
    check: Text,
    hint: Text,
) -> Checked {
    Verifier::new()
        .check_decoder(make, wire, frames)
        .map_err(|f| fail(check, show_failure(&f), hint))
}

/// Pushes `input` in one piece and calls `decode` once: a decoder that
/// must refuse early says `Err` here, not "need more".
fn check_refuses_early(
    mut decoder: Box<dyn Decoder + Send>,
    input: &[u8],
    want_too_large: bool,
    check: Text,
    hint: Text,
) -> Checked {
    let mut buf = Buffer::new();
    buf.push(input);
    let got = decoder.decode(&mut buf);
    let ok = match &got {
        Err(DecodeError::TooLarge { .. }) => want_too_large,
        Err(DecodeError::Malformed { .. }) => !want_too_large,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let got = match got {
        Ok(None) => "Ok(None): it waited for more bytes".to_string(),
        Ok(Some(f)) => format!("Ok(Some({}))", show(&f)),
        Err(e) => format!("Err({e:?})"),
    };
    Err(fail(
        check,
        format!(
            "input: {}\nexpected: Err(DecodeError::{})\nreceived: {got}",
            show(input),
            if want_too_large {
                "TooLarge { .. }"
            } else {
                "Malformed { .. }"
            }
        ),
        hint,
    ))
}

fn ex07(set: &'static dyn Set) -> Checked {
    let frames: Vec<Vec<u8>> = vec![
        b"hello".to_vec(),
        Vec::new(),
        "world 粘包".as_bytes().to_vec(),
        b"x".repeat(16),
    ];
    let wire: Vec<u8> = frames
        .iter()
        .flat_map(|f| [f.as_slice(), b"\n"].concat())
        .collect();
    check_verifier(
        || set.line_decoder(16),
        &wire,
        &frames,
        t(
            "decoding `hello\\n`, `\\n`, `world 粘包\\n` and a 16-byte line (the maximum) cut every way (the decoder verifier)",
            "解码按各种方式切分的 `hello\\n`、`\\n`、`world 粘包\\n` 和一行 16 字节（正好是上限）的数据（解码器校验器）",
        ),
        t(
            "When the buffer holds no `\\n` yet, what do you return, and do you leave the buffer as it is?",
            "缓冲区里还没有 `\\n` 时你返回什么？缓冲区有没有保持原样？",
        ),
    )?;
    check_refuses_early(
        set.line_decoder(16),
        &[b'a'; 40],
        true,
        t(
            "pushing 40 bytes with no `\\n` into a decoder whose maximum is 16",
            "向最大长度为 16 的解码器推入 40 个不含 `\\n` 的字节",
        ),
        t(
            "If a peer never sends `\\n`, how much will your decoder buffer before it says no?",
            "如果对端永远不发 `\\n`，你的解码器要缓存多少字节才会拒绝？",
        ),
    )?;
    let many: Vec<Vec<u8>> = (0..100).map(|i| format!("line {i}").into_bytes()).collect();
    let wire: Vec<u8> = many
        .iter()
        .flat_map(|f| [f.as_slice(), b"\n"].concat())
        .collect();
    check_decoder_sockets(
        || set.line_decoder(16),
        &wire,
        &many,
        t(
            "Several lines can arrive in one read: does `decode` leave the ones it did not return in the buffer?",
            "一次读可能带来好几行：`decode` 有没有把还没返回的行留在缓冲区里？",
        ),
    )
}

fn ex08(set: &'static dyn Set) -> Checked {
    let frames: Vec<Vec<u8>> = vec![b"hello".to_vec(), Vec::new(), b"hello world!".to_vec()];
    let wire = b"5:hello,0:,12:hello world!,".to_vec();
    check_verifier(
        || set.netstring_decoder(1000),
        &wire,
        &frames,
        t(
            "decoding `5:hello,0:,12:hello world!,` cut every way (the decoder verifier)",
            "解码按各种方式切分的 `5:hello,0:,12:hello world!,`（解码器校验器）",
        ),
        t(
            "If the bytes stop after `1`, is that the length 1 or the start of 12?",
            "如果字节停在 `1` 之后，长度是 1 还是 12 的开头？",
        ),
    )?;
    check_refuses_early(
        set.netstring_decoder(1000),
        b"99999:",
        true,
        t(
            "pushing `99999:` into a decoder whose maximum is 1,000",
            "向最大长度为 1000 的解码器推入 `99999:`",
        ),
        t(
            "Once you have the length, why wait for 99,999 bytes you will refuse anyway?",
            "已经知道长度了，为什么还要等那 99999 个反正要拒绝的字节？",
        ),
    )?;
    check_refuses_early(
        set.netstring_decoder(1000),
        b"123456789012",
        true,
        t("pushing 12 digits and no `:`", "推入 12 位数字且没有 `:`"),
        t(
            "How many digits can a length of at most `max` have?",
            "不超过 `max` 的长度最多有几位数字？",
        ),
    )?;
    for (input, what) in [
        (
            &b"5:hello;"[..],
            t("`5:hello;` (no comma)", "`5:hello;`（没有逗号）"),
        ),
        (&b"x:"[..], t("`x:` (not a digit)", "`x:`（不是数字）")),
        (&b":,"[..], t("`:,` (no digits)", "`:,`（没有数字）")),
        (
            &b"05:hello,"[..],
            t("`05:hello,` (a leading zero)", "`05:hello,`（前导零）"),
        ),
    ] {
        check_refuses_early(
            set.netstring_decoder(1000),
            input,
            false,
            what,
            t(
                "Which byte breaks the format here, and does your decoder look at it?",
                "这里是哪个字节违反了格式？你的解码器检查它了吗？",
            ),
        )?;
    }
    let many: Vec<Vec<u8>> = (0..60)
        .map(|i| format!("message {i}").into_bytes())
        .collect();
    let wire: Vec<u8> = many
        .iter()
        .flat_map(|f| [format!("{}:", f.len()).as_bytes(), f, b","].concat())
        .collect();
    check_decoder_sockets(
        || set.netstring_decoder(1000),
        &wire,
        &many,
        t(
            "Does `decode` consume exactly one netstring, digits, colon and comma included?",
            "`decode` 是否正好消耗一个 netstring，包括数字、冒号和逗号？",
        ),
    )
}

fn varint_wire(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for f in frames {
        framing_gallery::varint::put_varint(f.len() as u64, &mut wire);
        wire.extend_from_slice(f);
    }
    wire
}

fn ex09(set: &'static dyn Set) -> Checked {
    let frames = vec![b"hello".to_vec(), Vec::new(), b"v".repeat(300)];
    check_verifier(
        || set.varint_decoder(1000),
        &varint_wire(&frames),
        &frames,
        t(
            "decoding messages of 5, 0 and 300 bytes (a 2-byte varint) cut every way (the decoder verifier)",
            "解码按各种方式切分的 5、0、300 字节消息（300 需要 2 字节 varint）（解码器校验器）",
        ),
        t(
            "300 needs two varint bytes: what if only the first has arrived?",
            "300 要两个 varint 字节：如果只到了第一个呢？",
        ),
    )?;
    check_refuses_early(
        set.varint_decoder(1000),
        &[0x88, 0x27],
        true,
        t(
            "pushing the varint 5,000 (88 27) into a decoder whose maximum is 1,000",
            "向最大长度为 1000 的解码器推入 varint 5000（88 27）",
        ),
        t(
            "Once the varint is complete, why wait for a body you will refuse?",
            "varint 已经完整了，为什么还要等一个反正要拒绝的正文？",
        ),
    )?;
    check_refuses_early(
        set.varint_decoder(1000),
        &[0xff; 11],
        false,
        t(
            "pushing 11 bytes that all say \"more follows\" (ff x 11)",
            "推入 11 个都表示“后面还有”的字节（ff x 11）",
        ),
        t(
            "How many 7-bit groups does a 64-bit number need at most?",
            "一个 64 位数最多需要几个 7 位组？",
        ),
    )?;
    let many: Vec<Vec<u8>> = (0..40usize).map(|i| vec![b'z'; i * 7]).collect();
    check_decoder_sockets(
        || set.varint_decoder(1000),
        &varint_wire(&many),
        &many,
        t(
            "Does `decode` consume the varint and the body together, and only when both are there?",
            "`decode` 是否只在 varint 和正文都到齐时才把它们一起消耗掉？",
        ),
    )
}

/// The exercise thread plays the server: it decodes with the student's
/// decoder and answers every frame with one byte, so the client sends the
/// next frame only after the previous one was decoded: one frame per round
/// trip, the way a quick loopback test runs.
fn round_trips(
    decoder: Box<dyn Decoder + Send>,
    frames: &[Vec<u8>],
) -> io::Result<Result<Vec<Vec<u8>>, String>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let wires: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| stage4_wire(std::slice::from_ref(f)))
        .collect();
    let client = thread::Builder::new()
        .name("exercise round-trip client".into())
        .spawn(move || -> io::Result<()> {
            let mut s = TcpStream::connect(addr)?;
            s.set_read_timeout(Some(READ_TIMEOUT))?;
            s.set_nodelay(true)?;
            for w in wires {
                s.write_all(&w)?;
                let mut ack = [0u8; 1];
                s.read_exact(&mut ack)?;
            }
            s.shutdown(Shutdown::Write)
        })?;
    let (server, _) = listener.accept()?;
    server.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut writer = server.try_clone()?;
    let mut reader = FrameReader::new(server, decoder);
    let mut got = Vec::new();
    let result = loop {
        match reader.next_frame() {
            Ok(Some(f)) => {
                got.push(f);
                if writer.write_all(b"k").is_err() || got.len() > frames.len() {
                    break Ok(got);
                }
            }
            Ok(None) => break Ok(got),
            Err(e) => break Err(e.to_string()),
        }
    };
    drop(reader);
    drop(writer);
    let _ = client.join();
    Ok(result)
}

fn ex10(set: &'static dyn Set) -> Checked {
    let frames = sample_frames();
    let check = t(
        "one frame per round trip over clear loopback (the test this decoder was written against)",
        "在晴朗的回环上每次往返一帧（这个解码器当初通过的测试）",
    );
    let got = round_trips(set.length_decoder(1024), &frames).map_err(|e| socket_error(check, e))?;
    if got.as_deref() != Ok(&frames[..]) {
        let received = match &got {
            Ok(f) => show_frames(f),
            Err(e) => format!("the error: {e}"),
        };
        return Err(fail(
            check,
            format!("expected: {}\nreceived: {received}", show_frames(&frames)),
            t(
                "Even the easy case fails: what does `decode` return for a whole frame, and what does it consume?",
                "连最简单的情况都失败了：拿到完整一帧时 `decode` 返回什么、消耗了什么？",
            ),
        ));
    }
    let one = vec![b"hello".to_vec()];
    check_verifier(
        || set.length_decoder(1024),
        &stage4_wire(&one),
        &one,
        t(
            "decoding one frame, `hello`, cut every way (the decoder verifier)",
            "解码按各种方式切分的一帧 `hello`（解码器校验器）",
        ),
        t(
            "It passed on loopback. In the smallest split above, what had arrived when `decode` first saw the header, and what did it return?",
            "它在回环上通过了。在上面最小的切分里，`decode` 第一次看到报头时到了哪些字节？它返回了什么？",
        ),
    )?;
    let wire = stage4_wire(&frames);
    check_verifier(
        || set.length_decoder(1024),
        &wire,
        &frames,
        t(
            "decoding the same frames cut every way (the decoder verifier)",
            "解码按各种方式切分的同样的帧（解码器校验器）",
        ),
        t(
            "When two frames arrive in one read, which bytes does `decode` hand out as the first frame, and whose are the rest?",
            "两帧在一次读里一起到达时，`decode` 把哪些字节当成第一帧交出去？剩下的属于谁？",
        ),
    )?;
    check_refuses_early(
        set.length_decoder(1024),
        &[0x88, 0x13, 0, 0],
        true,
        t(
            "pushing a header announcing 5,000 bytes into a decoder whose maximum is 1,024",
            "向最大长度为 1024 的解码器推入声称 5000 字节的报头",
        ),
        t(
            "Did the fix move the size check after the wait for the body?",
            "修改之后，长度检查是不是被挪到了等待正文之后？",
        ),
    )?;
    check_decoder_sockets(
        || set.length_decoder(1024),
        &stage4_wire(&(0..50usize).map(|i| vec![b'q'; i * 3]).collect::<Vec<_>>()),
        &(0..50usize).map(|i| vec![b'q'; i * 3]).collect::<Vec<_>>(),
        t(
            "When a read carries a frame and a half, where does the half go?",
            "一次读带来一帧半时，那半帧去哪了？",
        ),
    )?;
    Ok(())
}

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
mod tests {
    use super::*;

    /// `--watch` sees a new file and an edited one (a longer file has a new
    /// length even where the clock is too coarse to move the mtime).
    #[test]
    fn watch_snapshot_sees_changes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("ex01.rs");
        std::fs::write(&file, "todo!()").expect("write the file");
        let before = snapshot(dir.path());
        assert_eq!(before, snapshot(dir.path()));
        std::fs::write(dir.path().join("ex02.rs"), "x").expect("write a second file");
        assert_ne!(before, snapshot(dir.path()));
    }

    /// Text is shown as text, binary bytes escaped, long messages cut.
    #[test]
    fn show_previews() {
        assert_eq!(show("粘包".as_bytes()), "6 B \"粘包\"");
        assert_eq!(show(&[0xd4, 0x05, 0, 0]), "4 B \"\\xd4\\x05\\x00\\x00\"");
        assert!(show(&[b'a'; 100]).ends_with("...\""));
    }
}
