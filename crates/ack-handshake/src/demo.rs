//! The demo: three files uploaded over one connection with the handshake, then
//! the weakness it leaves (the file info is taken from ONE read), then a name
//! the server refuses.
//!
//! Both ends run in this process on `127.0.0.1:0`, and the server's side is
//! the real [`handle_connection`]. What one read returns depends on what has
//! arrived, so the demo synchronises the two ends turn by turn with
//! [`common::sync`]'s wrappers: the client's end ([`ReportFlushes`]) reports
//! how many bytes it has finished writing (on `flush`, so that a client that
//! writes two pieces back to back reports them together), and before every
//! read the server's end ([`AwaitReported`]) waits until those bytes are all
//! in its socket. A read then returns the same bytes on every
//! run, and so does the transcript. None of this is part of the lesson: a real
//! server has no idea what the client wrote, which is the whole problem.

use crate::client::{upload, UploadError};
use crate::file_info::{info_shape, wait_for_ack, FileInfo, InfoShape, INFO_READ_SIZE};
use crate::server::{handle_connection, ReceiveError, Received, ServerConfig};
use common::lang::Lang;
use common::sync::{AwaitReported, ReportFlushes, DEFAULT_SYNC_TIMEOUT};
use common::{spawn_loopback, Tap, Timeline};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver};

/// The three files of part 1: fixed contents of three different small sizes,
/// one of them larger than a 1,024-byte read.
fn demo_files() -> Vec<(&'static str, Vec<u8>)> {
    let notes: String = (1..=8)
        .map(|i| format!("note {i}: the size goes first, the bytes follow\n"))
        .collect();
    vec![
        ("hello.txt", b"hello, world\n".to_vec()),
        ("notes.txt", notes.into_bytes()),
        (
            "data.bin",
            (0..1500u32).map(|i| (i * 7 % 251) as u8).collect(),
        ),
    ]
}

/// The client's end of one demo connection.
struct ClientEnd {
    /// Writes recorded into the client -> server timeline, one message per write.
    stream: Tap<ReportFlushes<TcpStream>>,
    /// One report per server read.
    server_reads: Receiver<usize>,
}

impl ClientEnd {
    /// Blocks until the server has made its next read.
    fn wait_for_server_read(&self) -> io::Result<()> {
        self.server_reads
            .recv_timeout(DEFAULT_SYNC_TIMEOUT)
            .map(|_| ())
            .map_err(|_| io::Error::other("demo sync: the server never made its read"))
    }
}

/// What one demo connection produced.
struct Outcome<T> {
    client: T,
    server: Result<Vec<Received>, ReceiveError>,
    /// Client -> server: the messages and the server's reads.
    c2s: Timeline,
    /// Server -> client: the server's answers.
    s2c: Timeline,
}

/// Runs one connection: the real [`handle_connection`] on a server thread,
/// `client` on this one, both synchronised as the module explains.
fn run_connection<T>(
    config: &ServerConfig,
    lang: Lang,
    labels: Vec<String>,
    client: impl FnOnce(&mut ClientEnd) -> io::Result<T>,
) -> io::Result<Outcome<T>> {
    let c2s = Timeline::with_labels(lang.pick("client -> server", "客户端 -> 服务端"), labels);
    let s2c = Timeline::new(lang.pick("server -> client", "服务端 -> 客户端"));
    let (reports, flushes) = mpsc::channel();
    let (reads_tx, reads_rx) = mpsc::channel();
    let server_config = config.clone();
    let (server_c2s, server_s2c) = (c2s.clone(), s2c.clone());
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        let synced = AwaitReported::new(stream, flushes).notify_reads(reads_tx);
        let tapped = Tap::new(synced)
            .record_reads(server_c2s)
            .record_writes(server_s2c)
            .max_read(INFO_READ_SIZE);
        Ok(handle_connection(tapped, &server_config))
    })?;
    let stream = TcpStream::connect(server.addr())?;
    // The client writes a file's bytes and the next info back to back; Nagle
    // would hold the info until the bytes are acknowledged.
    stream.set_nodelay(true)?;
    let mut end = ClientEnd {
        stream: Tap::new(ReportFlushes::new(stream, reports)).record_writes(c2s.clone()),
        server_reads: reads_rx,
    };
    let result = client(&mut end);
    // Hanging up (and dropping the report channel) lets the server's last
    // read return end of stream even when the client failed half way.
    drop(end);
    let server = server.join()?;
    Ok(Outcome {
        client: result?,
        server,
        c2s,
        s2c,
    })
}

/// Writes `who: text`, wrapped at [`WIDTH`] columns, continuation lines
/// indented under the text, so long log lines stay readable in a terminal.
fn say(out: &mut String, who: &str, text: &str) {
    let indent = common::lang::width(who) + 2;
    let wide_extra = common::lang::width(who) - who.chars().count();
    let mut line = format!("{who}:");
    let mut empty = true;
    for word in text.split_whitespace() {
        // Measured in chars, as the English transcript always was; a Chinese
        // name is two columns a character, so it leaves less room.
        if !empty && line.chars().count() + 1 + word.chars().count() + wide_extra > WIDTH {
            let _ = writeln!(out, "{line}");
            line = " ".repeat(indent - 1);
        }
        line.push(' ');
        line.push_str(word);
        empty = false;
    }
    let _ = writeln!(out, "{line}");
}

/// Transcript lines are wrapped at this many columns.
const WIDTH: usize = 88;

fn demo_error(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("demo: {what}: {e}"))
}

/// The complete demo output, identical on every run.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_in(Lang::En)
}

/// [`demo_transcript`] told in `lang`. The server's and the client's own
/// messages (a refusal, an error) are quoted as the programs print them.
pub fn demo_transcript_in(lang: Lang) -> io::Result<String> {
    let folder = tempfile::tempdir()?;
    let config = ServerConfig::new(folder.path().join("put"));
    let mut out = String::new();
    intro(&mut out, lang);
    let part1_ok = three_files(&mut out, &config, lang)?;
    let cut = info_cut_in_half(&mut out, &config, lang)?;
    let glued = client_does_not_wait(&mut out, &config, lang)?;
    let refused = path_as_name(&mut out, &config, lang)?;
    folder_contents(&mut out, &config, lang)?;
    if lang.is_zh() {
        let _ = writeln!(out, "\n结论");
        let _ = writeln!(
            out,
            "  握手：    {}",
            if part1_ok {
                "3 个文件经同一条连接逐字节原样到达，每个文件一次往返"
            } else {
                "失败：文件没有完整到达"
            }
        );
        let broke = |yes: bool| {
            if yes {
                "让它出错了"
            } else {
                "没能让它出错"
            }
        };
        let _ = writeln!(
            out,
            "  弱点：    文件信息仍然只读一次：被切开的信息{}（2a），\n\
             \x20           不等 200 的客户端{}（2b）",
            broke(cut),
            broke(glued)
        );
        let _ = writeln!(
            out,
            "  安全：    拿路径当文件名{}",
            if refused {
                "被拒绝了，什么也没写"
            } else {
                "没有被拒绝"
            }
        );
        let _ = writeln!(
            out,
            "  下一步：  第 6 阶段（md5-upload）先发文件信息的长度，并用循环读满每一段"
        );
        return Ok(out);
    }

    let _ = writeln!(out, "\nVerdict");
    let _ = writeln!(
        out,
        "  handshake: {}",
        if part1_ok {
            "3 files on one connection arrived byte-identical, 1 round trip each"
        } else {
            "FAILED: the files did not arrive intact"
        }
    );
    let broke = |yes: bool| if yes { "broke it" } else { "did NOT break it" };
    let _ = writeln!(
        out,
        "  weakness:  the info is still taken from one read: a split info {} (2a),\n\
         \x20            a client that does not wait {} (2b)",
        broke(cut),
        broke(glued)
    );
    let _ = writeln!(
        out,
        "  safety:    a path as a file name was {}",
        if refused {
            "refused, nothing written"
        } else {
            "NOT refused"
        }
    );
    let _ = writeln!(
        out,
        "  next:      stage 6 (md5-upload) sends the info's length first and reads every\n\
         \x20            piece with a read-exactly loop"
    );
    Ok(out)
}

fn intro(out: &mut String, lang: Lang) {
    if lang.is_zh() {
        let _ = writeln!(
            out,
            "第 5 阶段，ack-handshake：先发文件信息，等服务端回 200，再发文件字节。\n\
             \n\
             线上格式，每个文件一轮，一条连接上传多个文件：\n\
             \x20 客户端 -> 服务端  {{\"action\":\"put\",\"filename\":NAME,\"filesize\":N}}  （没有长度前缀）\n\
             \x20 服务端 -> 客户端  200  （3 字节）\n\
             \x20 客户端 -> 服务端  恰好 N 字节的文件内容\n\
             服务端用“一次”最多 {INFO_READ_SIZE} 字节的读取拿文件信息，然后恰好读 N 字节，一个也不多读：\n\
             下一个文件的信息可能已经紧跟在后面了。"
        );
        return;
    }
    let _ = writeln!(
        out,
        "Stage 5, ack-handshake: send the file info, wait for the server's 200, then the bytes.\n\
         \n\
         Wire format, per file, several files on one connection:\n\
         \x20 client -> server  {{\"action\":\"put\",\"filename\":NAME,\"filesize\":N}}  (no length prefix)\n\
         \x20 server -> client  200  (3 bytes)\n\
         \x20 client -> server  exactly N bytes of the file\n\
         The server takes the file info from ONE read of up to {INFO_READ_SIZE} bytes, then reads\n\
         exactly N bytes, never one more: the next file's info may already be behind them."
    );
}

/// Part 1: the handshake at work.
fn three_files(out: &mut String, config: &ServerConfig, lang: Lang) -> io::Result<bool> {
    let zh = lang.is_zh();
    let files = demo_files();
    let _ = writeln!(
        out,
        "\n{}",
        lang.pick(
            "1. Three files on one connection",
            "1. 一条连接上传三个文件"
        )
    );
    let labels = files
        .iter()
        .flat_map(|(name, _)| {
            if zh {
                [format!("{name} 的文件信息"), format!("{name} 的文件字节")]
            } else {
                [format!("file info for {name}"), format!("bytes of {name}")]
            }
        })
        .collect();
    let uploads = files.clone();
    let outcome = run_connection(config, lang, labels, move |client| {
        for (name, data) in &uploads {
            upload(&mut client.stream, name, &data[..], data.len() as u64)
                .map_err(|e| demo_error(&format!("uploading {name}"), e))?;
        }
        Ok(())
    })?;
    let received = outcome
        .server
        .map_err(|e| demo_error("the server refused a good upload", e))?;
    for ((name, data), file) in files.iter().zip(&received) {
        let info = FileInfo::put(*name, data.len() as u64);
        let json = String::from_utf8_lossy(&info.to_json()).into_owned();
        if zh {
            let _ = writeln!(out, "客户端：put {name}（{} 字节）", data.len());
            let _ = writeln!(out, "  -> 文件信息 {json}");
            let _ = writeln!(out, "  <- 200");
            let _ = writeln!(out, "  -> {} 字节", data.len());
            let _ = writeln!(out, "服务端：收到 {}（{} 字节）", file.name, file.size);
        } else {
            let _ = writeln!(out, "client: put {name} ({} bytes)", data.len());
            let _ = writeln!(out, "  -> file info {json}");
            let _ = writeln!(out, "  <- 200");
            let _ = writeln!(out, "  -> {} bytes", data.len());
            let _ = writeln!(out, "server: received {} ({} bytes)", file.name, file.size);
        }
    }
    let acks = outcome.s2c.messages().len();
    if zh {
        let _ = writeln!(
            out,
            "代价：每个文件的字节发出之前都要一次往返（信息 -> 200）：{} 个文件，{acks} 次往返",
            files.len()
        );
    } else {
        let _ = writeln!(
            out,
            "cost: 1 round trip (info -> 200) before each file's bytes: {} files, {acks} round trips",
            files.len()
        );
    }
    let _ = writeln!(out);
    out.push_str(&outcome.c2s.render_in(lang));

    // Every file info (the even messages) must have come alone in one read.
    let analysis = outcome.c2s.analysis();
    let info_alone = analysis
        .carried_by
        .iter()
        .step_by(2)
        .all(|reads| matches!(reads.as_slice(), [r] if !analysis.reads[r - 1].is_sticky()));
    if zh {
        let _ = writeln!(
            out,
            "每个文件信息都{}落在自己的一次读取里：客户端等到了 200，所以信息后面还没有\n\
             别的字节。1500 字节的文件用了两次最多 {INFO_READ_SIZE} 字节的读取（拆包）：无害，\n\
             因为服务端一直数字节，直到收满 1500 个（并且就此停下）。",
            if info_alone {
                "完整地"
            } else {
                "没有完整地"
            }
        );
    } else {
        let _ = writeln!(
            out,
            "Each file info {} in a read of its own: the client waited for 200, so nothing\n\
             was behind the info yet. The 1500-byte file took two reads of at most {INFO_READ_SIZE}: harmless,\n\
             because the server counts the bytes until it has all 1500 (and stops there).",
            if info_alone { "arrived whole" } else { "did NOT arrive whole" }
        );
    }

    let _ = writeln!(
        out,
        "\n{}",
        lang.pick("Read back from the upload folder:", "从上传目录读回来：")
    );
    let mut identical = received.len() == files.len();
    for (name, data) in &files {
        let back = fs::read(config.dir.join(name)).unwrap_or_default();
        let same = back == *data;
        identical &= same;
        let _ = writeln!(
            out,
            "  {name:<10} {:>5} {}  {}",
            back.len(),
            lang.pick("bytes", "字节"),
            match (same, zh) {
                (true, false) => "identical",
                (false, false) => "DIFFERENT",
                (true, true) => "完全相同",
                (false, true) => "不一样",
            }
        );
    }
    Ok(identical && info_alone)
}

/// Writes the lines of a refused connection and says whether it was refused
/// the way the part predicts.
fn report_refusal(
    out: &mut String,
    lang: Lang,
    server: &Result<Vec<Received>, ReceiveError>,
    client: &Result<(), UploadError>,
) {
    let (server_name, client_name) = (lang.pick("server", "服务端"), lang.pick("client", "客户端"));
    match server {
        Err(e) => say(
            out,
            server_name,
            &format!("{e}; connection closed, nothing saved for this file"),
        ),
        Ok(files) => say(
            out,
            server_name,
            &format!("accepted {} file(s)", files.len()),
        ),
    }
    match client {
        Err(e) => say(out, client_name, &e.to_string()),
        Ok(()) => say(out, client_name, "<- 200"),
    }
}

/// Part 2a: a network that delivers the info in two pieces.
fn info_cut_in_half(out: &mut String, config: &ServerConfig, lang: Lang) -> io::Result<bool> {
    let zh = lang.is_zh();
    let info = FileInfo::put("cut.txt", 5).to_json();
    let first = 20;
    if zh {
        let _ = writeln!(
            out,
            "\n2. 弱点：文件信息仍然只读一次\n\
             \n\
             2a. 网络把文件信息分两段送到\n\
             客户端 {} 字节的文件信息像真实网络可能做的那样分成 {first} + {} 字节送达；\n\
             服务端做那唯一一次读取时，只有第一段到了。",
            info.len(),
            info.len() - first
        );
    } else {
        let _ = writeln!(
        out,
        "\n2. The weakness: the file info is still taken from ONE read\n\
         \n\
         2a. A network that delivers the file info in two pieces\n\
         The client's {} bytes of file info travel as {first} + {} bytes, as a network may deliver\n\
         them; the server makes its one read when only the first piece has arrived.",
        info.len(),
        info.len() - first
    );
    }
    let outcome = run_connection(config, lang, Vec::new(), |client| {
        // One message in the story, two pieces on the wire: written past the
        // tap, and recorded below by hand as ONE message, so that the timeline
        // shows the server taking only part of it.
        raw_write(client, &info[..first])?;
        client.wait_for_server_read()?;
        // The server has already given up and may have closed: the rest can
        // meet a closed socket, which is the point, not a demo failure.
        let _ = raw_write(client, &info[first..]);
        Ok(wait_for_ack(&mut client.stream))
    })?;
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "client: put cut.txt (5 bytes), the info in two pieces",
            "客户端：put cut.txt（5 字节），信息分两段",
        )
    );
    report_refusal(out, lang, &outcome.server, &outcome.client);
    let _ = writeln!(out);
    let timeline = Timeline::new(lang.pick("client -> server", "客户端 -> 服务端"));
    timeline.sent_labeled(
        lang.pick(
            "file info for cut.txt (sent as 2 pieces)",
            "cut.txt 的文件信息（分 2 段发出）",
        ),
        info.len(),
    );
    for n in outcome.c2s.reads() {
        timeline.read(n);
    }
    out.push_str(&timeline.render_in(lang));
    if zh {
        let _ = writeln!(
            out,
            "一次读取只返回了 {} 字节中的 {first} 字节，服务端却把它当成完整的信息来解析（拆包）：\n\
             字节流里没有任何东西标出信息在哪里结束。",
            info.len()
        );
    } else {
        let _ = writeln!(
        out,
        "One read returned {first} of the {} bytes, and the server parsed them as the whole info:\n\
         nothing in the stream says where the info ends.",
        info.len()
    );
    }
    Ok(matches!(
        &outcome.server,
        Err(ReceiveError::Info {
            shape: InfoShape::Cut,
            ..
        })
    ))
}

fn raw_write(client: &mut ClientEnd, bytes: &[u8]) -> io::Result<()> {
    let raw = client.stream.get_mut();
    raw.write_all(bytes)?;
    raw.flush()
}

/// Part 2b: a client that sends the bytes without waiting for 200.
fn client_does_not_wait(out: &mut String, config: &ServerConfig, lang: Lang) -> io::Result<bool> {
    let zh = lang.is_zh();
    let data = b"in a hurry\n";
    let info = FileInfo::put("rush.txt", data.len() as u64).to_json();
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "\n2b. A client that does not wait for 200\n\
             It writes the file info and the file's bytes back to back; both have arrived\n\
             when the server makes its one read.",
            "\n2b. 不等 200 的客户端\n\
             它把文件信息和文件字节连着写出；服务端做那唯一一次读取时，两者都已到达。",
        )
    );
    let labels = if zh {
        vec![
            "rush.txt 的文件信息".to_string(),
            "rush.txt 的文件字节".to_string(),
        ]
    } else {
        vec![
            "file info for rush.txt".to_string(),
            "bytes of rush.txt".to_string(),
        ]
    };
    let outcome = run_connection(config, lang, labels, |client| {
        client.stream.write_all(&info)?;
        client.stream.write_all(data)?;
        // One flush for both writes: they are on their way together.
        client.stream.flush()?;
        Ok(wait_for_ack(&mut client.stream))
    })?;
    if zh {
        let _ = writeln!(
            out,
            "客户端：put rush.txt（{} 字节），信息和字节连着发",
            data.len()
        );
    } else {
        let _ = writeln!(
            out,
            "client: put rush.txt ({} bytes), info and bytes back to back",
            data.len()
        );
    }
    report_refusal(out, lang, &outcome.server, &outcome.client);
    let _ = writeln!(out);
    out.push_str(&outcome.c2s.render_in(lang));
    let _ = writeln!(
        out,
        "{}",
        lang.pick(
            "One read returned the info and the file's bytes glued together: the handshake only\n\
             protects a client that waits, and nothing in the stream says where the info ends.",
            "一次读取把信息和文件字节粘在一起返回（粘包）：握手只保护肯等的客户端，\n\
             字节流里也没有任何东西标出信息在哪里结束。",
        )
    );
    let mut glued = info.clone();
    glued.extend_from_slice(data);
    Ok(matches!(info_shape(&glued), InfoShape::Glued { .. })
        && matches!(
            &outcome.server,
            Err(ReceiveError::Info {
                shape: InfoShape::Glued { .. },
                ..
            })
        ))
}

/// Part 3: the server accepts one plain file name and nothing else.
fn path_as_name(out: &mut String, config: &ServerConfig, lang: Lang) -> io::Result<bool> {
    let name = "../../.bashrc";
    let info = FileInfo::put(name, 4).to_json();
    if lang.is_zh() {
        let _ = writeln!(
            out,
            "\n3. 安全地接收：只接受一个普通文件名，否则什么也不写\n\
             一个客户端要求写入 {name:?}（手工发送：真正的客户端自己就会拒绝这种名字）。\n\
             经典教程的服务端会写到它的目录外面去。"
        );
    } else {
        let _ = writeln!(
            out,
            "\n3. Receiving safely: one plain file name, or nothing\n\
         A client asks to write {name:?} (sent by hand: the real client refuses\n\
         such a name itself). The classic server would write outside its folder."
        );
    }
    let label = match lang {
        Lang::En => format!("file info for {name}"),
        Lang::Zh => format!("{name} 的文件信息"),
    };
    let outcome = run_connection(config, lang, vec![label], |client| {
        client.stream.write_all(&info)?;
        client.stream.flush()?;
        Ok(wait_for_ack(&mut client.stream))
    })?;
    match lang {
        Lang::En => {
            let _ = writeln!(out, "client: put {name} (4 bytes)");
        }
        Lang::Zh => {
            let _ = writeln!(out, "客户端：put {name}（4 字节）");
        }
    }
    report_refusal(out, lang, &outcome.server, &outcome.client);
    Ok(matches!(
        &outcome.server,
        Err(ReceiveError::Info {
            error: crate::file_info::InfoError::BadName(_),
            ..
        })
    ) && outcome.s2c.messages().is_empty())
}

/// The upload folder after all parts: only part 1's files, no leftovers.
fn folder_contents(out: &mut String, config: &ServerConfig, lang: Lang) -> io::Result<()> {
    let mut names: Vec<String> = fs::read_dir(&config.dir)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if lang.is_zh() {
        let _ = writeln!(
            out,
            "\n上传目录里现在有：{}\n\
             （只有第 1 部分的文件：被拒绝的上传什么也没留下，也没有临时文件）",
            names.join(", ")
        );
        return Ok(());
    }
    let _ = writeln!(
        out,
        "\nThe upload folder now holds: {}\n\
         (part 1's files only: nothing from the refused uploads, no temporary files)",
        names.join(", ")
    );
    Ok(())
}
