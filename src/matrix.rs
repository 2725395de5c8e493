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

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::demo::Verdict;
use common::lang::Lang;
use common::weather::{Counted, Direction, ReadCounter, Weather, WeatherProxy};
use common::Interpreter;
use common::{spawn_loopback, LoopbackServer, ShellLimits};

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
    if lang == Lang::En {
        return heading();
    }
    let title = "对照矩阵：每个 TCP 阶段各经过每种网络天气";
    let rule = "=".repeat(common::lang::width(title));
    format!("{rule}\n{title}\n{rule}\n")
}

/// The heading the tour prints above the matrix.
pub fn heading() -> String {
    let title = "The story matrix: each TCP stage through each network weather";
    format!(
        "{}\n{title}\n{}\n",
        "=".repeat(title.len()),
        "=".repeat(title.len())
    )
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
    let zh = lang.is_zh();
    let measure = |cell: &str| {
        if zh {
            common::lang::width(cell)
        } else {
            cell.chars().count()
        }
    };
    let columns = columns();
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut header = vec![lang.pick("stage", "阶段").to_string()];
    header.extend(
        columns
            .iter()
            .map(|c| lang.pick(c.name, c.name_zh).to_string()),
    );
    table.push(header);
    for row in rows {
        let mut line = vec![row.stage.to_string()];
        line.extend(row.cells.iter().map(|cell| match cell {
            Verdict::Intact => "✓".to_string(),
            Verdict::Broken(why) => format!("✗ {}", reason_in(why, lang)),
        }));
        table.push(line);
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|i| {
            table
                .iter()
                .map(|r| r.get(i).map_or(0, |c| measure(c)))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    out.push_str(lang.pick(
        "✓ every message arrived intact and in order; ✗ the first thing that went wrong\n\n",
        "✓ 每条消息都完整、按顺序到达；✗ 第一处出错的地方\n\n",
    ));
    for (n, line) in table.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| {
                let mut cell = cell.clone();
                cell.push_str(&" ".repeat(w.saturating_sub(measure(&cell))));
                cell
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join(" | ").trim_end());
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
            let _ = writeln!(out, "{}", rule.join("-+-"));
        }
    }
    out.push_str(if zh {
        "\n脚本：`seq 1 400` 然后 `echo hi`（第 2-4 阶段）；两个小文件（第 5-6 阶段）。\n\
         在三个终端里复现任意一格（第 2-4 阶段监听 8008，第 5-6 阶段监听 8080）：\n  \
         1. cargo run -p <stage> -- server\n  \
         2. cargo run -- weather --listen 127.0.0.1:9008 --upstream 127.0.0.1:8008 <flags> --lockstep --verbose\n  \
         3. printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p <stage> -- client --addr 127.0.0.1:9008\n\
         PowerShell 里：第 1 步的服务端加上 --builtin；第 2 步用 --delay-ms 5 代替只在 Linux 上有效的 --lockstep；第 3 步写成\n  \
         3. 'seq 1 400', 'echo hi', 'exit' | cargo run -p <stage> -- client --addr 127.0.0.1:9008\n\
         每一列的选项："
    } else {
        "\nScript: `seq 1 400` then `echo hi` (stages 2-4); two small files (stages 5-6).\n\
         Reproduce a cell in three terminals (stages 2-4 listen on 8008, stages 5-6 on 8080):\n  \
         1. cargo run -p <stage> -- server\n  \
         2. cargo run -- weather --listen 127.0.0.1:9008 --upstream 127.0.0.1:8008 <flags> --lockstep --verbose\n  \
         3. printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p <stage> -- client --addr 127.0.0.1:9008\n\
         In PowerShell: add --builtin to the server (1), use --delay-ms 5 for --lockstep, which needs Linux (2), and\n  \
         3. 'seq 1 400', 'echo hi', 'exit' | cargo run -p <stage> -- client --addr 127.0.0.1:9008\n\
         Flags per column:"
    });
    for column in &columns {
        let flags = match &column.weather {
            None => lang
                .pick(
                    "no proxy: the client talks to the server directly",
                    "不经代理：客户端直接连服务端",
                )
                .to_string(),
            Some(w) => w.describe(),
        };
        if zh {
            let name = common::lang::pad(column.name_zh, 14);
            let _ = write!(out, "\n  {name}  {flags}");
        } else {
            let _ = write!(out, "\n  {:<14}  {flags}", column.name);
        }
    }
    out.push('\n');
    if zh {
        let _ = writeln!(
            out,
            "画廊各行（第二部分，`cargo run -p framing-gallery`）：{}。",
            framing_gallery::wire::MATRIX_SCRIPT_ZH
        );
    } else {
        let _ = writeln!(
            out,
            "Gallery rows (Part II, `cargo run -p framing-gallery`): {}.",
            framing_gallery::wire::MATRIX_SCRIPT
        );
    }
    out
}

/// What went wrong in a cell, told in `lang`. The trials (here, in the
/// gallery and in tokio-length) word their verdicts in English; each wording
/// is matched against its template below and retold in Chinese, so both
/// tables come from the same run. A wording with no template (an OS error's
/// own text, say) stays as it is: the Chinese snapshot shows it if a trial's
/// words change without this table.
fn reason_in(why: &str, lang: Lang) -> String {
    if !lang.is_zh() {
        return why.to_string();
    }
    REASONS_ZH
        .iter()
        .find_map(|(en, zh)| retell(why, en, zh))
        .unwrap_or_else(|| why.to_string())
}

/// Each English wording of a broken cell (`{}` stands for a value) and its
/// Chinese form (`{0}`, `{1}` for the values, in the English order). More
/// specific wordings come before the general ones that would also match.
const REASONS_ZH: &[(&str, &str)] = &[
    // Stages 2-4 (this file).
    (
        "command {} cut: ran {}",
        "命令 {0} 被拆包：服务端执行的是 {1}",
    ),
    (
        "reply {} shows reply {}'s tail",
        "回复 {0} 开头是回复 {1} 的尾巴（粘包）",
    ),
    (
        "reply {} cut at {} bytes",
        "回复 {0} 在第 {1} 字节处被拆开（拆包）",
    ),
    ("reply {} never came", "回复 {0} 一直没到"),
    ("reply {} wrong", "回复 {0} 内容不对"),
    ("reply {} cut short", "回复 {0} 没收全"),
    (
        "length cut: read {} of {}",
        "长度头被拆包：只读到 {0}（应为 {1}）",
    ),
    ("length glued to output", "长度头和输出粘包"),
    ("length did not parse", "长度头解析失败"),
    // Stages 5-6.
    (
        "JSON cut: read {} of {} B",
        "JSON 报文被拆包：{1} 字节只读到 {0} 字节",
    ),
    ("file {} saved wrong", "文件 {0} 存下的内容不对"),
    ("file {} not saved", "文件 {0} 没有存下"),
    ("file {}: {}", "文件 {0}：{1}"),
    // The gallery (`framing_gallery::wire`).
    (
        "message {} holds {} at byte {}",
        "消息 {0} 的第 {2} 字节是 {1}",
    ),
    ("message {} refused: {}", "消息 {0} 被拒绝：{1}"),
    ("message {} arrived as {} B", "消息 {0} 到达时成了 {1} 字节"),
    ("message {} lost: {}", "消息 {0} 丢失：{1}"),
    // Stage 4 on tokio (`tokio_length::rows`).
    ("reply {}: {}", "回复 {0}：{1}"),
    ("server task: {}", "服务端任务：{0}"),
    ("server never saw the close", "服务端没等到连接关闭"),
    ("server: {}", "服务端：{0}"),
];

/// `text` retold as `zh` when it has the form of `en`: each `{}` of `en`
/// takes the shortest run of text up to the next fixed words (the last one
/// takes the rest), and `{N}` in `zh` gives back the N-th value.
fn retell(text: &str, en: &str, zh: &str) -> Option<String> {
    let mut parts = en.split("{}");
    let mut rest = text.strip_prefix(parts.next()?)?;
    let mut values = Vec::new();
    let literals: Vec<&str> = parts.collect();
    for (i, literal) in literals.iter().enumerate() {
        let value = if i + 1 == literals.len() && literal.is_empty() {
            std::mem::take(&mut rest)
        } else {
            let at = rest.find(literal)?;
            let value = &rest[..at];
            rest = &rest[at + literal.len()..];
            value
        };
        if value.is_empty() {
            return None;
        }
        values.push(value);
    }
    if !rest.is_empty() {
        return None;
    }
    let mut out = zh.to_string();
    for (i, value) in values.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), value);
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// The network of one cell
// ---------------------------------------------------------------------------

/// One piece the proxy delivered.
struct Delivered {
    direction: Direction,
    offset: u64,
    bytes: Vec<u8>,
}

/// Where a cell's client connects, and what the proxy (if any) delivered.
struct Route {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Delivered>>>,
    client_reads: ReadCounter,
    server_reads: ReadCounter,
    /// Kept running for the cell's lifetime; `None` in the first column.
    proxy: Option<WeatherProxy>,
}

/// Starts one cell's network: the stage's server (`serve`, given the one
/// connection it will get, its reads counted) and, for a weather column, a
/// proxy in exact lockstep with both ends' reads.
fn cell<T, F>(column: &Column, serve: F) -> io::Result<(Route, LoopbackServer<T>)>
where
    F: FnOnce(Counted<TcpStream>) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    cell_with_client_reads(column, ReadCounter::new(), serve)
}

/// [`cell`], with the counter of the client's reads made beforehand, for a
/// server that needs to know how far the client has read.
fn cell_with_client_reads<T, F>(
    column: &Column,
    client_reads: ReadCounter,
    serve: F,
) -> io::Result<(Route, LoopbackServer<T>)>
where
    F: FnOnce(Counted<TcpStream>) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let server_reads = ReadCounter::new();
    let counter = server_reads.clone();
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        serve(counter.wrap(stream))
    })?;
    let log = Arc::new(Mutex::new(Vec::new()));
    let Some(weather) = column.weather.clone() else {
        let route = Route {
            addr: server.addr(),
            log,
            client_reads,
            server_reads,
            proxy: None,
        };
        return Ok((route, server));
    };
    let sink = Arc::clone(&log);
    let proxy = WeatherProxy::spawn_gated(
        server.addr(),
        weather,
        client_reads.clone(),
        server_reads.clone(),
        move |delivery, bytes| {
            if let Ok(mut log) = sink.lock() {
                log.push(Delivered {
                    direction: delivery.direction,
                    offset: delivery.offset,
                    bytes: bytes.to_vec(),
                });
            }
        },
    )?;
    let route = Route {
        addr: proxy.addr(),
        log,
        client_reads,
        server_reads,
        proxy: Some(proxy),
    };
    Ok((route, server))
}

impl Route {
    fn connect(&self) -> io::Result<Counted<TcpStream>> {
        let stream = TcpStream::connect(self.addr)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        // The clients' own small writes should leave at once, as in the
        // stages' two-terminal clients; Nagle is not what this table is about.
        stream.set_nodelay(true)?;
        Ok(self.client_reads.wrap(stream))
    }

    /// The piece that started at stream `offset` in `direction`: under
    /// lockstep, exactly what one read of the receiver returned there.
    fn piece_at(&self, direction: Direction, offset: usize) -> Option<Vec<u8>> {
        self.wait_for_record(direction);
        let log = self.log.lock().ok()?;
        log.iter()
            .find(|d| d.direction == direction && d.offset == offset as u64)
            .map(|d| d.bytes.clone())
    }

    /// Waits until the proxy's record holds every piece the receiver in
    /// `direction` has read. The proxy records a piece just after writing
    /// it, so on a loaded machine the receiver can read it, answer, and the
    /// trial look for it before it is recorded; a piece that was read is
    /// recorded a moment later, bounded by [`REPLY_TIMEOUT`].
    fn wait_for_record(&self, direction: Direction) {
        if self.proxy.is_none() {
            return;
        }
        let reader = match direction {
            Direction::ClientToUpstream => &self.server_reads,
            Direction::UpstreamToClient => &self.client_reads,
        };
        let recorded = || -> u64 {
            self.log.lock().map_or(0, |log| {
                log.iter()
                    .filter(|d| d.direction == direction)
                    .map(|d| d.bytes.len() as u64)
                    .sum()
            })
        };
        let deadline = Instant::now() + REPLY_TIMEOUT;
        while recorded() < reader.total() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// When the message of `len` bytes at `offset` reached the server cut,
    /// the part a one-read server took for the whole message.
    fn cut_request(&self, offset: usize, len: usize) -> Option<Vec<u8>> {
        self.piece_at(Direction::ClientToUpstream, offset)
            .filter(|piece| piece.len() < len)
    }
}

/// Bytes as a short quoted string for a cell.
fn quote(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(bytes).escape_default().collect();
    if text.chars().count() > 12 {
        format!("`{}...`", text.chars().take(10).collect::<String>())
    } else {
        format!("`{text}`")
    }
}

/// What each command's reply must be: the built-in set's answer, which is
/// what every stage's demo server runs, on every OS.
fn expected_outputs() -> Vec<Vec<u8>> {
    COMMANDS
        .iter()
        .map(|c| common::run_builtin(c, ShellLimits::default()).reply())
        .collect()
}

fn broken(words: impl Into<String>) -> io::Result<Verdict> {
    Ok(Verdict::Broken(words.into()))
}

// ---------------------------------------------------------------------------
// The trials
// ---------------------------------------------------------------------------

/// Stage 2: one read is one command, one read is one reply.
fn naive_exec_trial(column: &Column) -> io::Result<Verdict> {
    let expected = expected_outputs();
    let (route, _server) = cell(column, |stream| {
        naive_exec_sticky::handle_connection(
            stream,
            &naive_exec_sticky::ServerConfig {
                interpreter: Interpreter::Builtin,
                ..Default::default()
            },
        )
    })?;
    let mut client = route.connect()?;
    let mut sent = 0;
    let mut cut_at: Option<(usize, usize)> = None;
    for (i, command) in COMMANDS.iter().enumerate() {
        naive_exec_sticky::send_command(&mut client, command)?;
        let reply = naive_exec_sticky::recv_reply(&mut client)?;
        if let Some(got) = route.cut_request(sent, command.len()) {
            return broken(format!("command {} cut: ran {}", i + 1, quote(&got)));
        }
        sent += command.len();
        let Some(reply) = reply else {
            return broken(format!("reply {} never came", i + 1));
        };
        if let Some((previous, n)) = cut_at {
            // The reply before was cut: does this one start with its rest?
            let rest = &expected[previous][n..];
            if !reply.is_empty() && rest.starts_with(&reply[..reply.len().min(rest.len())]) {
                return broken(format!(
                    "reply {} shows reply {}'s tail",
                    i + 1,
                    previous + 1
                ));
            }
            return broken(format!("reply {} cut at {n} bytes", previous + 1));
        }
        if reply == expected[i] {
            continue;
        }
        if expected[i].starts_with(&reply) {
            cut_at = Some((i, reply.len()));
            continue;
        }
        return broken(format!("reply {} wrong", i + 1));
    }
    if let Some((previous, n)) = cut_at {
        return broken(format!("reply {} cut at {n} bytes", previous + 1));
    }
    Ok(Verdict::Intact)
}

/// How many times a stage-3 cell of the coalescing column is run before its
/// verdict is taken as it stands. The column shows that a 200 ms window glues
/// the length and the output of a server that pauses 100 ms; when the proxy's
/// record shows a length delivered alone, the output missed the window, which
/// with these figures only a machine that stalled the server for over 100 ms
/// can do: that run measured the machine, not the lesson, so it is run again.
/// One stall at that instant is rare (the test process stopped for 150 ms at
/// random moments broke this cell in one run of eight before the retry, and
/// in none of 25 runs with it, stops of 250 ms included); three in a row do
/// not happen. An output that missed the window for any other reason misses
/// it every time, and the cell shows it.
pub const COALESCE_ATTEMPTS: usize = 3;

/// Stage 3: the length's digits with one read, a pause, then the output.
fn sleep_fix_trial(column: &Column) -> io::Result<Verdict> {
    let expected = expected_outputs();
    let coalescing = column
        .weather
        .as_ref()
        .is_some_and(|w| w.coalesce.is_some());
    let mut attempt = 1;
    loop {
        let (verdict, route) = sleep_fix_attempt(column, &expected)?;
        if coalescing && attempt < COALESCE_ATTEMPTS && length_delivered_alone(&route, &expected) {
            attempt += 1;
            continue;
        }
        return Ok(verdict);
    }
}

/// Whether the proxy delivered some reply's digits alone, without the output
/// behind them.
fn length_delivered_alone(route: &Route, expected: &[Vec<u8>]) -> bool {
    let mut offset = 0;
    for output in expected {
        let digits = output.len().to_string();
        if route
            .piece_at(Direction::UpstreamToClient, offset)
            .as_deref()
            == Some(digits.as_bytes())
        {
            return true;
        }
        offset += digits.len() + output.len();
    }
    false
}

/// One run of a stage-3 cell: its verdict, and the route for the record of
/// what the proxy delivered.
fn sleep_fix_attempt(column: &Column, expected: &[Vec<u8>]) -> io::Result<(Verdict, Route)> {
    let client_reads = ReadCounter::new();
    let config = sleep_fix::ServerConfig {
        interpreter: Interpreter::Builtin,
        ..Default::default()
    };
    // A quiet loopback's client reads the digits within the pause; on a
    // busy machine it may not, so there the server's writes also wait until
    // it has.
    let lucky = column.weather.is_none().then(|| client_reads.clone());
    let (route, _server) =
        cell_with_client_reads(column, client_reads, move |stream| match lucky {
            Some(reads) => sleep_fix::serve_connection(
                sleep_fix::LuckyTiming::new(stream, reads, REPLY_TIMEOUT),
                &config,
            ),
            None => sleep_fix::serve_connection(stream, &config),
        })?;
    let verdict = sleep_fix_conversation(&route, expected)?;
    Ok((verdict, route))
}

/// Stage 3's conversation over a cell's route, and what went wrong in it.
fn sleep_fix_conversation(route: &Route, expected: &[Vec<u8>]) -> io::Result<Verdict> {
    let mut client = route.connect()?;
    let (mut sent, mut received) = (0, 0);
    for (i, command) in COMMANDS.iter().enumerate() {
        sleep_fix::send_command(&mut client, command)?;
        let reply = sleep_fix::recv_reply(&mut client);
        if let Some(got) = route.cut_request(sent, command.len()) {
            return broken(format!("command {} cut: ran {}", i + 1, quote(&got)));
        }
        sent += command.len();
        let digits = expected[i].len().to_string();
        match reply {
            Ok(reply) if reply == expected[i] => {
                received += digits.len() + reply.len();
            }
            Ok(_) => {
                // A length that parsed but was wrong: the one read for the
                // digits got only some of them.
                let first = route.piece_at(Direction::UpstreamToClient, received);
                return match first {
                    Some(piece) if digits.as_bytes().starts_with(&piece) => {
                        broken(format!("length cut: read {} of `{digits}`", quote(&piece)))
                    }
                    _ => broken(format!("reply {} wrong", i + 1)),
                };
            }
            Err(sleep_fix::ReplyError::BadLength { received: got }) => {
                return if got.starts_with(digits.as_bytes()) && got.len() > digits.len() {
                    broken("length glued to output")
                } else {
                    broken("length did not parse")
                };
            }
            Err(sleep_fix::ReplyError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return broken(format!("reply {} never came", i + 1));
            }
            Err(_) => return broken(format!("reply {} cut short", i + 1)),
        }
    }
    Ok(Verdict::Intact)
}

/// Stage 4: a 4-byte length header on every message, both ways.
fn length_header_trial(column: &Column) -> io::Result<Verdict> {
    let expected = expected_outputs();
    let (route, _server) = cell(column, |mut stream| {
        length_header_fix::serve_connection(
            &mut stream,
            &length_header_fix::ServerConfig {
                interpreter: Interpreter::Builtin,
                ..Default::default()
            },
        )
        .map_err(io::Error::from)
    })?;
    let mut client = route.connect()?;
    for (i, command) in COMMANDS.iter().enumerate() {
        length_header_fix::send_command(&mut client, command)?;
        match length_header_fix::recv_reply(&mut client, length_header_fix::DEFAULT_MAX_FRAME) {
            Ok(reply) if reply == expected[i] => {}
            Ok(_) => return broken(format!("reply {} wrong", i + 1)),
            Err(e) => return broken(format!("reply {}: {e}", i + 1)),
        }
    }
    Ok(Verdict::Intact)
}

/// The files the upload stages send: small, fixed, one of them binary.
fn upload_files() -> [(&'static str, Vec<u8>); 2] {
    [
        (
            "notes.txt",
            b"sticky packets, told in six stages\n".repeat(3),
        ),
        ("table.bin", (0..=255u8).rev().chain(0..=43).collect()),
    ]
}

/// The uploaded files as the server saved them, compared with the originals.
fn check_saved(dir: &Path) -> io::Result<Verdict> {
    for (i, (name, data)) in upload_files().iter().enumerate() {
        match fs::read(dir.join(name)) {
            Ok(saved) if &saved == data => {}
            Ok(_) => return broken(format!("file {} saved wrong", i + 1)),
            Err(_) => return broken(format!("file {} not saved", i + 1)),
        }
    }
    Ok(Verdict::Intact)
}

/// Stage 5: JSON file info in one read, `200`, then exactly the bytes.
fn ack_handshake_trial(column: &Column) -> io::Result<Verdict> {
    let dir = tempfile::tempdir()?;
    let config = ack_handshake::ServerConfig {
        dir: dir.path().to_path_buf(),
        ..ack_handshake::ServerConfig::default()
    };
    let (route, server) = cell(column, move |stream| {
        // A refused info is the lesson, not a failure of the trial.
        let _ = ack_handshake::handle_connection(stream, &config);
        Ok(())
    })?;
    let mut client = route.connect()?;
    let mut sent = 0;
    for (i, (name, data)) in upload_files().iter().enumerate() {
        let info_len = ack_handshake::FileInfo::put(*name, data.len() as u64)
            .to_json()
            .len();
        let result = ack_handshake::upload(&mut client, name, &data[..], data.len() as u64);
        if let Some(got) = route.cut_request(sent, info_len) {
            return broken(format!("JSON cut: read {} of {info_len} B", got.len()));
        }
        if let Err(e) = result {
            return broken(format!("file {}: {}", i + 1, first_words(&e.to_string())));
        }
        sent += info_len + data.len();
    }
    let _ = client.get_ref().shutdown(Shutdown::Write);
    drain(&mut client);
    server.join()?;
    check_saved(dir.path())
}

/// Stage 6: length-prefixed file info, the bytes, and an MD5 check.
fn md5_upload_trial(column: &Column) -> io::Result<Verdict> {
    let dir = tempfile::tempdir()?;
    let mut config = md5_upload::ServerConfig::new(dir.path());
    config.log = md5_upload::ServerLog::quiet();
    let (route, server) = cell(column, move |mut stream| {
        Ok(md5_upload::handle_connection(
            &mut stream,
            &config,
            "matrix",
        ))
    })?;
    let mut client = route.connect()?;
    for (i, (name, data)) in upload_files().iter().enumerate() {
        match md5_upload::upload(&mut client, name, &data[..], data.len() as u64) {
            Ok(receipt) if receipt.verdict == md5_upload::Verdict::Verified => {}
            Ok(receipt) => return broken(format!("file {}: {}", i + 1, receipt.verdict)),
            Err(e) => return broken(format!("file {}: {}", i + 1, first_words(&e.to_string()))),
        }
    }
    let _ = client.get_ref().shutdown(Shutdown::Write);
    drain(&mut client);
    server.join()?;
    check_saved(dir.path())
}

/// Reads until the server closes, so it has finished before the files are
/// checked.
fn drain(stream: &mut Counted<TcpStream>) {
    let mut buf = [0u8; 1024];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    let _ = stream.flush();
}

/// The first few words of an error, short enough for a cell.
fn first_words(text: &str) -> String {
    text.split_whitespace()
        .take(5)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Part II: stage 4's protocol on tokio and `LengthDelimitedCodec`. The
/// cell's network (async server, gated proxy, async client) is built in the
/// crate itself, since its ends are async.
fn tokio_length_trial(column: &Column) -> io::Result<Verdict> {
    tokio_length::rows::weather_trial(column.weather.clone(), &COMMANDS, REPLY_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wordings the matrix snapshot does not show (the cells are
    /// fixed) are retold too, and text no template fits stays as it was.
    #[test]
    fn reasons_are_retold_in_chinese() {
        let zh = |why: &str| reason_in(why, Lang::Zh);
        assert_eq!(
            zh("reply 1 cut at 1024 bytes"),
            "回复 1 在第 1024 字节处被拆开（拆包）"
        );
        assert_eq!(zh("reply 2: frame too large"), "回复 2：frame too large");
        assert_eq!(zh("file 1: checksum mismatch"), "文件 1：checksum mismatch");
        assert_eq!(zh("message 2 arrived as 7 B"), "消息 2 到达时成了 7 字节");
        assert_eq!(zh("server never saw the close"), "服务端没等到连接关闭");
        assert_eq!(zh("server task: panicked"), "服务端任务：panicked");
        assert_eq!(zh("something new"), "something new");
        assert_eq!(reason_in("reply 2 wrong", Lang::En), "reply 2 wrong");
        // A template matches the whole text, not a prefix of it.
        assert_eq!(retell("reply 2 wrong again", "reply {} wrong", "{0}"), None);
    }
}
