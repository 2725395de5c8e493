//! The stage-4 demo: the conversation of stages 2 and 3 through a real
//! stage-4 server and client on `127.0.0.1`, with the boundary timeline of
//! the replies; then hostile lengths, endianness, and how to try it in two
//! terminals. Everything here is the demo's, none of it is the lesson: the
//! server's and the client's code run unchanged inside wrappers that record
//! the timeline ([`Tap`]) and pace the reads ([`ReportFlushes`],
//! [`AwaitReported`]), and the commands run with the built-in set, so the
//! transcript is the same bytes on every run and every OS.

use crate::client::{recv_reply, send_command};
use crate::framing::{encode_header, HEADER_LEN};
use crate::server::{describe_outcome, serve_connection, ServerConfig, MAX_REQUEST};
use common::demo::{Verdict, EXEC_SCRIPT};
use common::lang::Lang;
use common::sync::{AwaitReported, ReportFlushes, DEFAULT_SYNC_TIMEOUT};
use common::text::wrap;
use common::timeline::Analysis;
use common::{run_command, spawn_loopback, Interpreter, Tap, Timeline};
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;

// Section 3, endianness, is arithmetic on one header rather than a run over
// sockets, so it lives apart.
mod endianness;

use endianness::endianness_transcript;

/// The reads of the demo client are capped at this many bytes, like the
/// classic tutorial's `recv(1024)`.
pub const DEMO_READ_SIZE: usize = 1024;

/// What the demo conversation produced, for the transcript and for tests.
#[derive(Clone, Debug)]
pub struct Conversation {
    /// The commands sent, in order ([`EXEC_SCRIPT`]).
    pub commands: Vec<String>,
    /// The reply bodies the client received, in order.
    pub replies: Vec<Vec<u8>>,
    /// What running each command locally printed: what each reply should be.
    pub expected: Vec<Vec<u8>>,
    /// The server -> client direction: one message per reply frame, and the
    /// client's reads (at most [`DEMO_READ_SIZE`] bytes each).
    pub timeline: Timeline,
    /// Did every reply arrive whole and in order?
    pub verdict: Verdict,
}

/// Runs the shared script of stages 2-4 ([`EXEC_SCRIPT`]) through a real
/// stage-4 server and client on `127.0.0.1`, synchronised turn by turn.
pub fn run_conversation() -> io::Result<Conversation> {
    run_conversation_in(Lang::En)
}

/// [`run_conversation`] with the timeline's title and labels in `lang`.
pub fn run_conversation_in(lang: Lang) -> io::Result<Conversation> {
    let commands: Vec<String> = EXEC_SCRIPT.iter().map(|c| c.to_string()).collect();
    let config = ServerConfig {
        interpreter: Interpreter::Builtin,
        ..ServerConfig::default()
    };
    let timeline = Timeline::with_labels(
        lang.pick("server -> client", "服务端 -> 客户端"),
        commands.iter().map(|c| match lang {
            Lang::En => format!("reply frame to `{c}`"),
            Lang::Zh => format!("`{c}` 的回复帧"),
        }),
    );

    // The demo's own synchronisation, around the lesson code: the server's
    // end reports every flush (the end of each reply frame), and before
    // every read the client's end waits until the bytes that read may take
    // have all arrived, so every read returns the same bytes on every run.
    let (reports, flushes) = mpsc::channel();
    let server_timeline = timeline.clone();
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        let tap = Tap::new(stream).record_writes(server_timeline);
        let mut conn = ReportFlushes::new(tap, reports);
        serve_connection(&mut conn, &config).map_err(io::Error::from)
    })?;

    let client = (|| -> io::Result<Vec<Vec<u8>>> {
        let stream = TcpStream::connect(server.addr())?;
        let mut conn = Tap::new(AwaitReported::new(stream, flushes))
            .record_reads(timeline.clone())
            .max_read(DEMO_READ_SIZE);
        let mut replies = Vec::new();
        for command in &commands {
            send_command(&mut conn, command)?;
            replies.push(recv_reply(&mut conn, config.max_frame)?);
        }
        Ok(replies)
        // `conn` is dropped here: the client closes between frames, which
        // the server takes as a clean end.
    })();
    let served = server.join();
    let replies = client?;
    let answered = served?;

    let mut expected = Vec::new();
    for command in &commands {
        expected.push(run_command(command, config.interpreter, config.limits)?.reply());
    }
    let verdict = judge(&commands, &replies, &expected, answered);
    Ok(Conversation {
        commands,
        replies,
        expected,
        timeline,
        verdict,
    })
}

fn judge(
    commands: &[String],
    replies: &[Vec<u8>],
    expected: &[Vec<u8>],
    answered: usize,
) -> Verdict {
    if replies.len() != commands.len() || answered != commands.len() {
        return Verdict::Broken(format!(
            "{} command(s) sent, {answered} answered, {} reply(ies) received",
            commands.len(),
            replies.len()
        ));
    }
    for (i, ((command, got), want)) in commands.iter().zip(replies).zip(expected).enumerate() {
        if got != want {
            return Verdict::Broken(format!(
                "reply {} (to `{command}`) is {} bytes where running it locally gives {}",
                i + 1,
                got.len(),
                want.len()
            ));
        }
    }
    Verdict::Intact
}

/// The conversation part of the demo: every command with its request frame
/// and its reply, the boundary timeline of the replies, how `read_frame` put
/// them back together, and the verdict.
pub fn conversation_transcript() -> io::Result<String> {
    conversation_transcript_in(Lang::En)
}

/// [`conversation_transcript`] told in `lang`.
pub fn conversation_transcript_in(lang: Lang) -> io::Result<String> {
    let conv = run_conversation_in(lang)?;
    Ok(render_conversation(&conv, lang))
}

fn render_conversation(conv: &Conversation, lang: Lang) -> String {
    let mut out = String::new();
    let count = conv.commands.len();
    let intro = match lang {
        Lang::En => format!(
            "The client sends each command line as one frame; the server runs it and answers with\n\
             one frame holding what it printed. Frame = 4-byte little-endian length, then that\n\
             many bytes. A real server and client on 127.0.0.1 run {count} commands:"
        ),
        Lang::Zh => format!(
            "客户端把每行命令作为一帧发出；服务端执行它，用一帧装着命令打印的内容作答。\n\
             帧 = 4 字节小端长度头，后面跟这么多字节的消息体。127.0.0.1 上真实的服务端和\n\
             客户端依次执行 {count} 条命令："
        ),
    };
    let _ = writeln!(out, "{intro}\n");
    for (command, reply) in conv.commands.iter().zip(&conv.replies) {
        let request = hex(&encode_header(command.len()).unwrap_or_default());
        let _ = writeln!(out, "> {command}");
        let framing = if reply.is_empty() {
            let _ = writeln!(out, "{}", lang.pick("(empty reply)", "（空回复）"));
            match lang {
                Lang::En => format!(
                    "(request: {request} + {command:?}; reply: 00 00 00 00 and no body: a length of 0 is a\n\
                     \x20message a stream can carry, so the client knew `{command}` had answered, with nothing)"
                ),
                Lang::Zh => format!(
                    "（请求：{request} + {command:?}；回复：00 00 00 00，没有消息体：长度 0 也是字节流能\n\
                     \x20承载的一条消息，所以客户端知道 `{command}` 已经回答了，只是什么也没有）"
                ),
            }
        } else {
            out.push_str(&common::text::lines_preview(reply, "", lang));
            let header = hex(&encode_header(reply.len()).unwrap_or_default());
            let len = reply.len();
            match lang {
                Lang::En => {
                    format!("(request: {request} + {command:?}; reply: {header} + {len} bytes)")
                }
                Lang::Zh => {
                    format!("（请求：{request} + {command:?}；回复：{header} + {len} 字节）")
                }
            }
        };
        let _ = writeln!(out, "{framing}");
    }
    let _ = writeln!(out);
    out.push_str(&conv.timeline.render_in(lang));
    let _ = writeln!(out);
    let how = match lang {
        Lang::En => format!(
            "How read_frame put every reply back together (each read asks for at most {DEMO_READ_SIZE} \
             bytes,\nlike recv({DEMO_READ_SIZE})): first exactly the {HEADER_LEN} header bytes, then \
             exactly the body they announce."
        ),
        Lang::Zh => format!(
            "read_frame 怎样把每条回复重新拼完整（每次读取最多要 {DEMO_READ_SIZE} 字节，\n\
             就像 recv({DEMO_READ_SIZE})）：先读满 {HEADER_LEN} 字节的长度头，再读满它宣布的消息体。"
        ),
    };
    let _ = writeln!(out, "{how}");
    let analysis = conv.timeline.analysis();
    let reads_words = match lang {
        Lang::En => ["read", "reads", "no read"],
        Lang::Zh => ["读取", "读取", "没有读取"],
    };
    for (i, (reads, reply)) in analysis.carried_by.iter().zip(&conv.replies).enumerate() {
        let ReplyReads {
            sizes,
            place,
            body_reads,
        } = reply_reads(&analysis, reads, reads_words);
        let body = match (lang, reply.len(), body_reads > 1) {
            (Lang::En, 0, _) => {
                "the header says 0, so there is no body to read: an empty reply".into()
            }
            (Lang::En, len, true) => format!(
                "the header says {len}, and read_frame\n         put the body's {body_reads} pieces \
                 back together into one {len}-byte reply"
            ),
            (Lang::En, len, false) => format!("the header says {len}, the body came in one read"),
            (Lang::Zh, 0, _) => "长度头说 0，所以没有消息体要读：一条空回复".into(),
            (Lang::Zh, len, true) => format!(
                "长度头说 {len}，read_frame\n         把消息体的 {body_reads} 段重新拼成一条 {len} 字节的回复"
            ),
            (Lang::Zh, len, false) => format!("长度头说 {len}，消息体一次就读完了"),
        };
        let (m, sizes) = (i + 1, sizes.join(" + "));
        let _ = match lang {
            Lang::En => writeln!(out, "  M{m} = {place} ({sizes} bytes): {body}"),
            Lang::Zh => writeln!(out, "  M{m} = {place}（{sizes} 字节）：{body}"),
        };
    }
    let (sticky, split) = (analysis.sticky_reads, analysis.split_messages);
    let (received, sent) = (conv.replies.len(), conv.commands.len());
    let end = match lang {
        Lang::En => format!(
            "No read ever asked for more than the current frame still needed, so no read could\n\
             take bytes of the next reply ({sticky} sticky), and every frame cut across reads was joined\n\
             again ({split} split, all whole)."
        ),
        Lang::Zh => format!(
            "每次读取要的字节都不超过当前这一帧还缺的数量，所以没有哪次读取能拿走下一条回复的\n\
             字节（粘包 {sticky} 次）；每个被切到几次读取里的帧也都重新拼好了（拆包 {split} 次，全部完整）。"
        ),
    };
    let verdict = match (lang, &conv.verdict) {
        (Lang::En, Verdict::Intact) => format!(
            "Verdict: intact: {received} of {sent} replies arrived whole and in order, each byte for byte\n\
             \x20 what running its command locally prints, the empty one included."
        ),
        (Lang::Zh, Verdict::Intact) => format!(
            "结论：完好：{received} 条回复（共 {sent} 条）都完整、按顺序到达，每条都和在本机执行该命令\n\
             \x20 的输出逐字节相同，空回复也不例外。"
        ),
        (_, Verdict::Broken(why)) => {
            format!("{}{why}", lang.pick("Verdict: broken: ", "结论：出错了："))
        }
    };
    let _ = writeln!(out, "{end}\n\n{verdict}");
    out
}

/// How one reply came in: the size of each read that carried it, where
/// those reads were (`read 3`, `reads 4-7`), and how many of them held body
/// bytes (the first one starts with the header).
struct ReplyReads {
    sizes: Vec<String>,
    place: String,
    body_reads: usize,
}

/// [`ReplyReads`] for the reply carried by `reads` (1-based read numbers),
/// with the words for one read, several reads and none in `words`.
fn reply_reads(analysis: &Analysis, reads: &[usize], words: [&str; 3]) -> ReplyReads {
    let sizes: Vec<String> = reads
        .iter()
        .filter_map(|r| analysis.reads.get(r - 1))
        .map(|r| r.len.to_string())
        .collect();
    let [one_read, several, none] = words;
    let place = match reads {
        [one] => format!("{one_read} {one}"),
        [first, .., last] => format!("{several} {first}-{last}"),
        [] => none.to_string(),
    };
    let body_reads = sizes.len().saturating_sub(1);
    ReplyReads {
        sizes,
        place,
        body_reads,
    }
}

/// The bytes as `d4 05 00 00`.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The hostile-length lesson: two clients send lengths no honest peer would,
/// the server refuses each before allocating anything, and a third client is
/// served normally afterwards.
fn hostile_transcript(lang: Lang) -> io::Result<String> {
    let config = ServerConfig {
        interpreter: Interpreter::Builtin,
        ..ServerConfig::default()
    };
    // Sequential on purpose: one client at a time keeps the transcript's
    // order fixed. `serve` does the same per connection, on threads.
    let server = spawn_loopback(move |listener| {
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let (mut stream, _) = listener.accept()?;
            outcomes.push(describe_outcome(&serve_connection(&mut stream, &config)));
        }
        Ok(outcomes)
    })?;

    let huge = i32::MAX.to_le_bytes();
    let negative = (-1i32).to_le_bytes();
    let mut closed = Vec::new();
    for header in [huge, negative] {
        let mut stream = TcpStream::connect(server.addr())?;
        stream.set_read_timeout(Some(DEFAULT_SYNC_TIMEOUT))?;
        // Only the header: the server must refuse without waiting for a body.
        stream.write_all(&header)?;
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest)?;
        closed.push(rest.len());
    }
    let mut stream = TcpStream::connect(server.addr())?;
    stream.set_read_timeout(Some(DEFAULT_SYNC_TIMEOUT))?;
    send_command(&mut stream, "echo still serving")?;
    let reply = recv_reply(&mut stream, config.max_frame)?;
    drop(stream);
    let outcomes = server.join()?;

    let mut out = String::new();
    let intro = match lang {
        Lang::En => format!(
            "A length header is a promise the reader cannot check until the bytes come. A reader\n\
         that believed it would allocate whatever it is told; this server checks the length\n\
         against a maximum (a request is at most {MAX_REQUEST} bytes = 128 KiB, what a command\n\
         line can be; --max-frame) and refuses a negative one, before it allocates anything\n\
         and without waiting for a body."
        ),
        Lang::Zh => format!(
            "长度头是一个承诺，字节到齐之前读取方无法验证它。轻信它的读取方会照着长度分配\n\
         内存；这个服务端先把长度和上限比较（一个请求最多 {MAX_REQUEST} 字节 = 128 KiB，即一行\n\
         命令能有的长度；--max-frame），并拒绝负数长度，这一切都在分配任何内存之前，\n\
         也不等消息体。"
        ),
    };
    let _ = writeln!(out, "{intro}\n");
    let clients = [
        (
            "client A",
            huge,
            "2^31 - 1, struct.pack(\"i\", 2**31 - 1): \"2 GiB coming\"",
        ),
        ("client B", negative, "-1, struct.pack(\"i\", -1)"),
    ];
    let server_log = |out: &mut String, name: &str, log: &str| {
        let line = format!("{}{name}: {log}", lang.pick("server log: ", "服务端日志："));
        out.push_str(&wrap(&line, 88, "  ", "    "));
    };
    for (i, (name, header, what)) in clients.iter().enumerate() {
        let log = outcomes.get(i).map_or("(no log)", String::as_str);
        let closed_after = closed.get(i).copied().unwrap_or_default();
        let header = hex(header);
        let _ = match lang {
            Lang::En => writeln!(out, "{name} sends only a header: {header}  ({what})"),
            Lang::Zh => writeln!(out, "{name} 只发一个长度头：{header}  （{what}）"),
        };
        server_log(&mut out, name, log);
        let _ = match lang {
            Lang::En => writeln!(
                out,
                "  {name} sees the connection closed after {closed_after} reply bytes"
            ),
            Lang::Zh => writeln!(
                out,
                "  {name} 收到 {closed_after} 字节回复后，看到连接被关闭"
            ),
        };
    }
    let _ = writeln!(out, "client C: > echo still serving");
    out.push_str(&common::text::lines_preview(&reply, "  ", lang));
    server_log(
        &mut out,
        "client C",
        outcomes.get(2).map_or("(no log)", String::as_str),
    );
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "A bad client costs the server one closed connection, never its memory and never its\n\
             other clients. (After a bad header the stream cannot be trusted: where would the next\n\
             frame start? So closing is the only safe answer.)",
            "一个坏客户端只让服务端关掉一条连接，既耗不掉它的内存，也影响不到别的客户端。\n\
             （长度头一旦不可信，这条字节流就再也不可信：下一帧从哪里开始？所以关闭连接\n\
             是唯一安全的做法。）"
        )
    );
    Ok(out)
}

/// The whole demo: heading, the conversation with its timeline, hostile
/// lengths, endianness, and how to try it in two terminals.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_in(Lang::En)
}

/// [`demo_transcript`] told in `lang`.
pub fn demo_transcript_in(lang: Lang) -> io::Result<String> {
    let mut out = String::new();
    let title = lang.pick(
        "Stage 4, length-header-fix: put a length in front of every message",
        "第 4 阶段，length-header-fix：在每条消息前面加上长度",
    );
    let _ = writeln!(out, "{title}\n{}", "=".repeat(common::lang::width(title)));
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "Wire format, both directions: 4-byte little-endian signed length (struct.pack(\"i\", n)),\n\
             then that many bytes. Request = the command line; reply = its stdout + stderr.",
            "线上格式，两个方向都一样：4 字节小端有符号长度（struct.pack(\"i\", n)），\n\
             后面跟这么多字节。请求 = 命令行；回复 = 它的 stdout + stderr。"
        )
    );
    let section = |out: &mut String, en: &str, zh: &str| {
        let title = lang.pick(en, zh);
        let _ = writeln!(out, "\n{title}\n{}", "-".repeat(common::lang::width(title)));
    };
    section(
        &mut out,
        "1. The conversation of stages 2 and 3, framed",
        "1. 第 2、3 阶段的对话，加上帧",
    );
    out.push_str(&conversation_transcript_in(lang)?);
    section(
        &mut out,
        "2. Hostile lengths: refused before anything is allocated",
        "2. 恶意长度：在分配任何内存之前就拒绝",
    );
    out.push_str(&hostile_transcript(lang)?);
    section(
        &mut out,
        "3. Endianness: the same 4 bytes, read both ways",
        "3. 字节序：同样 4 个字节，两种读法",
    );
    out.push_str(&endianness_transcript(lang));
    section(
        &mut out,
        "4. Try it in two terminals",
        "4. 在两个终端里亲手试试",
    );
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "  terminal 1: cargo run -p length-header-fix -- server\n\
             \x20 terminal 2: cargo run -p length-header-fix -- client\n\
             \x20             > seq 1 400        (every line, whole)\n\
             \x20             > true             (empty reply)\n\
             \x20 A hostile client, from a third terminal (the server logs the refusal, keeps serving):\n\
             \x20   python3 -c 'import socket, struct; s = socket.create_connection((\"127.0.0.1\", 8008)); \
             s.sendall(struct.pack(\"i\", 2**31 - 1)); print(s.recv(1))'\n\
             \x20   prints b'' (the server closed the connection) and the server's terminal says why.\n\
             \x20 The 40 ms stall of two writes: restart the server with --two-writes, then compare\n\
             \x20   time (yes 'echo hi' | head -n 50 | cargo run -q -p length-header-fix -- client > /dev/null)\n\
             \x20 with the server in its normal one-write mode.",
            "  终端 1：cargo run -p length-header-fix -- server\n\
             \x20 终端 2：cargo run -p length-header-fix -- client\n\
             \x20         > seq 1 400        （每一行，完整）\n\
             \x20         > true             （空回复）\n\
             \x20 在第三个终端里当一回恶意客户端（服务端记录拒绝原因，继续服务）：\n\
             \x20   python3 -c 'import socket, struct; s = socket.create_connection((\"127.0.0.1\", 8008)); \
             s.sendall(struct.pack(\"i\", 2**31 - 1)); print(s.recv(1))'\n\
             \x20   打印 b''（服务端关闭了连接），服务端的终端会说明原因。\n\
             \x20 两次 write 带来的 40 ms 停顿（Nagle 算法遇上延迟确认）：用 --two-writes 重启服务端，\n\
             \x20 再把\n\
             \x20   time (yes 'echo hi' | head -n 50 | cargo run -q -p length-header-fix -- client > /dev/null)\n\
             \x20 和正常的一次 write 模式比一比。"
        )
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long reply is previewed by its first and last three lines.
    #[test]
    fn preview_shortens_long_replies() {
        let text: String = (1..=10).map(|i| format!("{i}\n")).collect();
        let shown = common::text::lines_preview(text.as_bytes(), "  ", Lang::En);
        assert_eq!(
            shown,
            "  1\n  2\n  3\n  ... (4 more lines) ...\n  8\n  9\n  10\n"
        );
    }

    /// The endianness section shows both big-endian readings and the guard's refusal of each.
    #[test]
    fn endianness_numbers() {
        let text = endianness_transcript(Lang::En);
        assert!(text.contains("d4 05 00 00"), "{text}");
        assert!(text.contains("3557097472"), "{text}");
        assert!(text.contains("-737869824"), "{text}");
        assert!(text.contains("cannot be negative"), "{text}");
        assert!(
            text.contains("over the maximum frame size of 16777216"),
            "{text}"
        );
    }

    /// A reply that differs from the local run is judged broken, with the reply named.
    #[test]
    fn judge_names_the_bad_reply() {
        let cmds = vec!["a".to_string(), "b".to_string()];
        let good = vec![b"x".to_vec(), b"y".to_vec()];
        assert_eq!(judge(&cmds, &good, &good, 2), Verdict::Intact);
        let bad = vec![b"x".to_vec(), b"yy".to_vec()];
        assert!(
            matches!(judge(&cmds, &bad, &good, 2), Verdict::Broken(w) if w.contains("reply 2"))
        );
    }
}
