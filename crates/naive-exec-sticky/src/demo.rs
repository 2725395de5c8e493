//! The demo: the shared script ([`EXEC_SCRIPT`]) through this stage's real
//! server and client on `127.0.0.1`, with the boundary timeline and a
//! verdict read from it, and the popular non-fixes ([`Tweaks`]) a student
//! can switch on to see them fail the same way.
//!
//! Nothing here is the lesson; it is how the lesson is shown the same way
//! on every run and every OS. The server answers with the built-in command
//! set ([`Interpreter::Builtin`]), so `seq 1 400` is 1,492 bytes everywhere.
//! The server's stream is wrapped in [`ServerEnd`], which records each reply
//! in the timeline and tells the client how many bytes are on their way;
//! the client waits until they have reached its socket before its one naive
//! read. The lesson's server and client know nothing of it.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;

use common::demo::{Verdict, DEMO_READ_TIMEOUT, EXEC_SCRIPT};
use common::lang::Lang;
use common::sync::{wait_for_bytes, DEFAULT_SYNC_TIMEOUT};
use common::timeline::{Analysis, Piece};
use common::{Interpreter, Tap, Timeline};

use crate::client::no_reply_line_in;
use crate::naive::{recv_reply_up_to, send_command, READ_SIZE};
use crate::server::{handle_connection, ServerConfig};

/// Writes a reply as the user sees it: the bytes as they came, plus a line
/// ending when the read stopped mid-line, so the next prompt starts on its
/// own line.
fn show_reply<W: Write + ?Sized>(out: &mut W, reply: &[u8]) -> io::Result<()> {
    out.write_all(reply)?;
    if !reply.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The popular non-fixes a student can switch on in the demo (and, for the
/// read size, in the client), to see that they do not frame anything.
///
/// [`Tweaks::default`] is the classic tutorial: one `recv(1024)`, Nagle's
/// algorithm left on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tweaks {
    /// The size of the client's one read per reply (`--read-size`).
    pub read_size: usize,
    /// Set `TCP_NODELAY` on both ends' sockets (`--nodelay`): Nagle's
    /// algorithm is switched off, so small writes leave at once.
    pub nodelay: bool,
}

impl Default for Tweaks {
    fn default() -> Self {
        Tweaks {
            read_size: READ_SIZE,
            nodelay: false,
        }
    }
}

impl Tweaks {
    /// True for the classic tutorial's settings.
    pub fn is_default(&self) -> bool {
        *self == Tweaks::default()
    }
}

/// One turn of the demo's conversation.
struct Turn {
    command: &'static str,
    /// The reply's message number in the timeline.
    message: usize,
    /// The client's read for this turn, if it returned bytes.
    read: Option<usize>,
}

/// The scripted conversation ([`EXEC_SCRIPT`]) through a real server and a
/// real client on `127.0.0.1`, then the boundary timeline and a verdict
/// derived from it.
///
/// Synchronised turn by turn so that every read returns the same bytes on
/// every run: after each command the server's stream (`ServerEnd`) reports
/// (over a channel) how long the reply it has finished writing was, and the
/// client waits until `min(1024, bytes written - bytes read)` bytes have
/// reached its socket before it makes its one naive read. A turn with nothing outstanding just
/// times out after [`DEMO_READ_TIMEOUT`], which is the point of `true`.
pub fn conversation_transcript() -> io::Result<String> {
    conversation_transcript_with(Tweaks::default())
}

/// [`conversation_transcript`] with the popular non-fixes of `tweaks`
/// switched on: a client read of another size, `TCP_NODELAY` on both ends.
/// Still synchronised turn by turn, so it is identical on every run too.
pub fn conversation_transcript_with(tweaks: Tweaks) -> io::Result<String> {
    conversation_transcript_in(tweaks, Lang::En)
}

/// [`conversation_transcript_with`] told in `lang`.
pub fn conversation_transcript_in(tweaks: Tweaks, lang: Lang) -> io::Result<String> {
    let zh = lang.is_zh();
    let read_size = tweaks.read_size.max(1);
    let timeline = Timeline::new(lang.pick("server -> client", "服务端 -> 客户端"));
    let (written_tx, written_rx) = mpsc::channel::<usize>();
    let server_timeline = timeline.clone();
    let server = common::spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(tweaks.nodelay)?;
        let config = ServerConfig {
            interpreter: Interpreter::Builtin,
            ..ServerConfig::default()
        };
        let server_end = ServerEnd {
            stream,
            timeline: server_timeline,
            lang,
            answering: None,
            written: 0,
            reply_done: written_tx,
        };
        handle_connection(server_end, &config)
    })?;

    let stream = TcpStream::connect(server.addr())?;
    stream.set_read_timeout(Some(DEMO_READ_TIMEOUT))?;
    stream.set_nodelay(tweaks.nodelay)?;
    let mut client = Tap::new(stream)
        .record_reads(timeline.clone())
        .max_read(read_size);

    let mut out = String::new();
    let mut turns = Vec::new();
    let (mut written, mut consumed, mut reads) = (0usize, 0usize, 0usize);
    for (message, &command) in EXEC_SCRIPT.iter().enumerate() {
        let _ = writeln!(out, "> {command}");
        send_command(&mut client, command)?;
        let Ok(reply_len) = written_rx.recv_timeout(DEFAULT_SYNC_TIMEOUT) else {
            drop(client);
            return Err(match server.join() {
                Err(e) => e,
                Ok(()) => io::Error::other("demo: the server stopped without replying"),
            });
        };
        written += reply_len;
        let outstanding = written - consumed;
        wait_for_bytes(
            client.get_ref(),
            outstanding.min(read_size),
            DEFAULT_SYNC_TIMEOUT,
        )?;
        let read = match recv_reply_up_to(&mut client, read_size)? {
            Some(reply) => {
                let mut shown = Vec::new();
                show_reply(&mut shown, &reply)?;
                out.push_str(&String::from_utf8_lossy(&shown));
                consumed += reply.len();
                reads += 1;
                Some(reads - 1)
            }
            None => {
                let _ = writeln!(out, "{}", no_reply_line_in(DEMO_READ_TIMEOUT, lang));
                None
            }
        };
        turns.push(Turn {
            command,
            message,
            read,
        });
    }
    // End of input, then wait for the server: with a small read size some
    // reply bytes are still unread here, and closing a socket with unread
    // bytes resets the connection, which the server would report as an
    // error. A half-close first lets it finish cleanly.
    client.get_ref().shutdown(Shutdown::Write)?;
    server.join()?;
    drop(client);

    let _ = writeln!(out);
    out.push_str(&timeline.render_in(lang));
    let analysis = timeline.analysis();
    let lengths: Vec<usize> = timeline.messages().iter().map(|m| m.len).collect();
    let (verdict, lines) = judge(&turns, &lengths, &analysis, read_size, lang);
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", lang.pick("What the user saw:", "用户看到的："));
    for line in lines {
        out.push_str(&common::text::wrap(&line, 88, "  - ", "    "));
    }
    match (verdict, zh) {
        (Verdict::Intact, false) => {
            let _ = writeln!(
                out,
                "Verdict: every reply arrived whole, in its own read; this time, by luck."
            );
        }
        (Verdict::Intact, true) => {
            let _ = writeln!(
                out,
                "结论：每条回复都完整地落在自己的那次读取里；这次全凭运气。"
            );
        }
        (Verdict::Broken(why), false) => {
            let _ = writeln!(out, "Verdict: broken: {why}.");
            let _ = writeln!(
                out,
                "One write is not one read: TCP carries bytes, not messages, and nothing in this"
            );
            let _ = writeln!(
                out,
                "protocol says where a reply ends. Stage 3 (sleep-fix) sends the length first."
            );
        }
        (Verdict::Broken(why), true) => {
            let _ = writeln!(out, "结论：出错了：{why}。");
            let _ = writeln!(
                out,
                "一次 write 不等于一次 read：TCP 传的是字节流，不是消息，这个协议里也没有任何东西"
            );
            let _ = writeln!(
                out,
                "标出一条回复在哪里结束（没有消息边界）。第 3 阶段（sleep-fix）先发送长度。"
            );
        }
    }
    Ok(out)
}

/// Reads the timeline turn by turn and says, in words, what each answer
/// the user saw really was.
fn judge(
    turns: &[Turn],
    lengths: &[usize],
    analysis: &Analysis,
    read_size: usize,
    lang: Lang,
) -> (Verdict, Vec<String>) {
    let zh = lang.is_zh();
    let command_of = |message: usize| {
        turns
            .iter()
            .find(|t| t.message == message)
            .map_or("?", |t| t.command)
    };
    let mut lines = Vec::new();
    for turn in turns {
        let own_len = lengths.get(turn.message).copied().unwrap_or(0);
        let Some(read) = turn.read.and_then(|r| analysis.reads.get(r)) else {
            lines.push(if zh && own_len == 0 {
                format!(
                    "`{}` 什么也没输出，所以服务端什么也没发，这次读取只能超时：TCP 字节流里\
                     没有“空消息”。",
                    turn.command
                )
            } else if zh {
                format!(
                    "读取放弃时，`{}` 的回复一个字节也还没到；它的 {own_len} 字节会出现在后面\
                     某次回答里。",
                    turn.command
                )
            } else if own_len == 0 {
                format!(
                    "`{}` printed nothing, so the server sent nothing and the read could only \
                     time out: a TCP stream has no empty message.",
                    turn.command
                )
            } else {
                format!(
                    "nothing had arrived for `{}` when the read gave up; its {own_len} bytes \
                     will turn up in a later answer.",
                    turn.command
                )
            });
            continue;
        };
        let parts: Vec<String> = read
            .pieces
            .iter()
            .map(|p| {
                let whose = match (p.message == turn.message, zh) {
                    (true, false) => "its own".to_string(),
                    (false, false) => format!("`{}`'s", command_of(p.message)),
                    (true, true) => "它自己".to_string(),
                    (false, true) => format!(" `{}` ", command_of(p.message)),
                };
                let len = lengths.get(p.message).copied().unwrap_or(0);
                if zh {
                    describe_piece_zh(p, len, &whose)
                } else {
                    describe_piece(p, len, &whose)
                }
            })
            .collect();
        let shown = match (parts.as_slice(), zh) {
            ([], true) => "是时间线无法归属的字节".to_string(),
            ([one], true) => format!("是{one}"),
            ([first, rest @ ..], true) => {
                format!("开头是{first}，接着是{}", rest.join("，接着是")).replace("  ", " ")
            }
            (parts, false) => shown_en(parts),
        };
        let mut why = Vec::new();
        if read.is_sticky() {
            why.push(if zh {
                format!("一次读取返回了 {} 条回复的字节（粘包）", read.pieces.len())
            } else {
                format!(
                    "one read returned bytes of {} replies (sticky)",
                    in_words(read.pieces.len())
                )
            });
        }
        for p in &read.pieces {
            let carriers = analysis
                .carried_by
                .get(p.message)
                .map_or(0, |reads| reads.len());
            let len = lengths.get(p.message).copied().unwrap_or(0);
            if carriers > 1 && p.end < len && p.message == turn.message {
                why.push(if zh {
                    format!(
                        "一次读取最多 {read_size} 字节，其余 {} 字节留在接收缓冲区里等下一次读取（拆包）",
                        len - p.end
                    )
                } else {
                    format!(
                        "one read stops at {read_size} bytes, so the other {} wait in the socket \
                         for the next read (split)",
                        len - p.end
                    )
                });
            } else if carriers > 1 && p.end == len && p.start > 0 {
                why.push(if zh {
                    format!(
                        "`{}` 的回复被切成了 {carriers} 次读取（拆包）",
                        command_of(p.message)
                    )
                } else {
                    format!(
                        "`{}`'s reply was cut across {} reads (split)",
                        command_of(p.message),
                        in_words(carriers)
                    )
                });
            }
        }
        if !read.pieces.iter().any(|p| p.message == turn.message) {
            why.push(match (own_len > 0, zh) {
                (true, false) => {
                    format!("its own {own_len} bytes are still waiting for a later read")
                }
                (false, false) => {
                    "it printed nothing itself: every byte shown belongs to an earlier reply"
                        .to_string()
                }
                (true, true) => format!("它自己的 {own_len} 字节还在等后面的读取"),
                (false, true) => "它自己什么也没输出：显示的每个字节都属于更早的回复".to_string(),
            });
        }
        let line = match (why.is_empty(), zh) {
            (true, false) => format!(
                "the answer shown for `{}` {shown}: nothing was left over from earlier replies, \
                 so this one is right.",
                turn.command
            ),
            (false, false) => format!(
                "the answer shown for `{}` {shown}: {}.",
                turn.command,
                why.join(", and ")
            ),
            (true, true) => format!(
                "给 `{}` 显示的回答{shown}：之前的回复没有剩下字节，所以这次是对的。",
                turn.command
            ),
            (false, true) => format!(
                "给 `{}` 显示的回答{shown}：{}。",
                turn.command,
                why.join("；而且").replace("而且`", "而且 `")
            ),
        };
        lines.push(line);
    }
    let verdict = if analysis.sticky_reads == 0 && analysis.split_messages == 0 {
        Verdict::Intact
    } else if zh {
        Verdict::Broken(format!(
            "粘包读取 {} 次，拆开的回复 {} 条",
            analysis.sticky_reads, analysis.split_messages
        ))
    } else {
        Verdict::Broken(format!(
            "{} sticky {}, {} split {}",
            analysis.sticky_reads,
            plural(analysis.sticky_reads, "read", "reads"),
            analysis.split_messages,
            plural(analysis.split_messages, "reply", "replies")
        ))
    };
    (verdict, lines)
}

/// What the answer shown was, in English: "is its own 3 bytes, whole".
fn shown_en(parts: &[String]) -> String {
    match parts {
        [] => "is bytes the timeline cannot place".to_string(),
        [one] => format!("is {one}"),
        [first, rest @ ..] => format!("starts with {first}, then {}", rest.join(", then ")),
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn in_words(n: usize) -> String {
    const WORDS: [&str; 9] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    ];
    WORDS
        .get(n)
        .map_or_else(|| n.to_string(), |w| w.to_string())
}

/// "the first 1024 of its own 1492 bytes", "the last 468 bytes of `seq 1
/// 400`'s output", ...
fn describe_piece(p: &Piece, len: usize, whose: &str) -> String {
    if p.start == 0 && p.end == len {
        format!("{whose} {len} bytes, whole")
    } else if p.start == 0 {
        format!("only the first {} of {whose} {len} bytes", p.end)
    } else if p.end == len {
        format!("the last {} bytes of {whose} output", p.end - p.start)
    } else {
        format!("bytes {}..{} of {whose} output", p.start, p.end)
    }
}

/// The same in Chinese: "它自己的 1492 字节中的前 1024 字节", ...; `whose`
/// is "它自己" or a command in backticks with a space either side.
fn describe_piece_zh(p: &Piece, len: usize, whose: &str) -> String {
    if p.start == 0 && p.end == len {
        format!("{whose}的全部 {len} 字节")
    } else if p.start == 0 {
        format!("{whose}的 {len} 字节中的前 {} 字节", p.end)
    } else if p.end == len {
        format!("{whose}输出的最后 {} 字节", p.end - p.start)
    } else {
        format!("{whose}输出的第 {}..{} 字节", p.start, p.end)
    }
}

/// The demo: what the stage is, the conversation with its timeline and
/// verdict, and what to try next.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_with(Tweaks::default())
}

/// [`demo_transcript`] with the popular non-fixes of `tweaks` switched on
/// (`--read-size N`, `--nodelay`), and a note on what each really changes.
pub fn demo_transcript_with(tweaks: Tweaks) -> io::Result<String> {
    demo_transcript_in(tweaks, Lang::En)
}

/// [`demo_transcript_with`] told in `lang`.
pub fn demo_transcript_in(tweaks: Tweaks, lang: Lang) -> io::Result<String> {
    let zh = lang.is_zh();
    let read_size = tweaks.read_size.max(1);
    let mut out = String::new();
    if zh {
        let _ = writeln!(
            out,
            "第 2 阶段，naive-exec-sticky：远程执行命令，每个回复只 recv({read_size}) 一次"
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "客户端发送一行命令；服务端执行它，把命令打印的内容原样发回，前后不加任何东西；"
        );
        let _ = writeln!(
            out,
            "客户端显示的是“一次”最多 {read_size} 字节的读取所返回的内容。"
        );
        if tweaks.nodelay {
            let _ = writeln!(
                out,
                "两端的套接字都设置了 TCP_NODELAY（--nodelay）：Nagle 算法已关闭。"
            );
        }
        let _ = writeln!(
            out,
            "127.0.0.1 上真实的服务端和客户端依次执行 {} 条命令：",
            EXEC_SCRIPT.len()
        );
    } else {
        let _ = writeln!(
            out,
            "Stage 2, naive-exec-sticky: remote command execution, one recv({read_size}) per reply"
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "The client sends a command line; the server runs it and sends back what it printed,"
        );
        let _ = writeln!(
            out,
            "with nothing around it; the client shows what ONE read of up to {read_size} bytes returns."
        );
        if tweaks.nodelay {
            let _ = writeln!(
                out,
                "Both sockets have TCP_NODELAY set (--nodelay): Nagle's algorithm is off."
            );
        }
        let _ = writeln!(
            out,
            "A real server and client on 127.0.0.1 run {} commands:",
            EXEC_SCRIPT.len()
        );
    }
    let _ = writeln!(out);
    out.push_str(&conversation_transcript_in(tweaks, lang)?);
    if !tweaks.is_default() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            lang.pick("What the flags changed:", "这些选项改变了什么：")
        );
        if tweaks.nodelay {
            out.push_str(&common::text::wrap(
                lang.pick(
                    "--nodelay: small writes now leave at once instead of waiting for the ACK of \
                     earlier data (RFC 896). That changes when bytes are sent, not where a reader's \
                     read stops: a read still returns whatever is waiting, up to its size, and \
                     nothing on the wire says where a reply ends.",
                    "--nodelay：小块写入现在立刻发出，不再等前面数据的 ACK（RFC 896）。这改变的是\
                     字节什么时候发出，而不是读取在哪里停下：一次读取仍然返回接收缓冲区里已有的\
                     全部字节（不超过它的大小），线路上也仍然没有任何东西标出一条回复在哪里结束。",
                ),
                88,
                "  - ",
                "    ",
            ));
        }
        if read_size != READ_SIZE {
            let text = if zh {
                format!(
                    "--read-size {read_size}：每次回答是一次最多 {read_size} 字节的读取，而不是 \
                     1024。这只是挪动了切口，并没有去掉它：超过 {read_size} 字节的回答照样被拆开；\
                     分几次到达的回答（天气：--split 1）不管读多大都会被拆开；读得越大，也会顺带\
                     拿走更多已在等待的字节，包括下一条回复。"
                )
            } else {
                format!(
                    "--read-size {read_size}: each answer is one read of up to {read_size} \
                     bytes instead of 1024. That moves the cut, it does not remove it: an \
                     answer longer than {read_size} bytes is split, and one that arrives in \
                     pieces (weather: --split 1) is split whatever the size; a bigger read \
                     also takes more of whatever is waiting, the next reply included."
                )
            };
            out.push_str(&common::text::wrap(&text, 88, "  - ", "    "));
        }
    }
    let mut flags = String::new();
    if read_size != READ_SIZE {
        flags.push_str(&format!(" --read-size {read_size}"));
    }
    if tweaks.nodelay {
        flags.push_str(" --nodelay");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}",
        lang.pick("Try it in two terminals:", "在两个终端里亲手试试：")
    );
    let _ = writeln!(out, "    cargo run -p naive-exec-sticky -- server");
    let _ = writeln!(
        out,
        "    printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p naive-exec-sticky -- client{flags}"
    );
    if read_size >= 1492 {
        // seq 1 400's 1,492 bytes fit in one read: nothing is left over to
        // glue on a quiet loopback, so send the student to the weather.
        if zh {
            let _ = writeln!(
                out,
                "然后在中间放上天气代理（docs/zh-CN/weather.md，--split 1 --lockstep）：同一个客户端"
            );
            let _ = writeln!(
                out,
                "会把 `echo hi` 的 3 个字节拆开，因为一次读取返回的是已经到达的字节。"
            );
        } else {
            let _ = writeln!(
                out,
                "Then put the weather proxy in between (docs/weather.md, --split 1 --lockstep): the"
            );
            let _ = writeln!(
                out,
                "same client cuts `echo hi`'s 3 bytes, because a read returns what has arrived."
            );
        }
    } else {
        let _ = writeln!(
            out,
            "{}",
            lang.pick(
                "The tail of seq's output appears where `hi` was expected. Then type commands yourself.",
                "seq 输出的尾巴出现在本该是 `hi` 的地方。然后自己输入命令试试。",
            )
        );
    }
    Ok(out)
}

/// The server's stream in the demo. The lesson's server knows nothing of
/// the demo; this wrapper watches it. It counts what the server writes, and
/// when the server comes back to read the next command, its reply to the
/// last one is finished: the wrapper records that reply in the timeline as
/// one message (whatever number of write calls `write_all` needed, and also
/// when it was empty, which no write would show) and tells the client how
/// many bytes are on their way.
struct ServerEnd {
    stream: TcpStream,
    timeline: Timeline,
    lang: Lang,
    /// The command being answered, as the server's last read returned it.
    answering: Option<String>,
    /// Bytes the server has written since that read.
    written: usize,
    /// "That reply is finished; it was this many bytes", to the client.
    reply_done: mpsc::Sender<usize>,
}

impl Read for ServerEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(command) = self.answering.take() {
            let label = match (self.written == 0, self.lang.is_zh()) {
                (true, false) => format!("reply to `{command}` (no output: nothing sent)"),
                (false, false) => format!("reply to `{command}`"),
                (true, true) => format!("`{command}` 的回复（没有输出：什么也没发）"),
                (false, true) => format!("`{command}` 的回复"),
            };
            self.timeline.sent_labeled(label, self.written);
            // The client may already have gone after an error; nothing to tell then.
            let _ = self.reply_done.send(self.written);
            self.written = 0;
        }
        let n = self.stream.read(buf)?;
        if n > 0 {
            self.answering = Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        Ok(n)
    }
}

impl Write for ServerEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
