//! The demo: four uploads on one connection, one of them damaged on the way.
//!
//! Which damage teaches best? A client that simply sends a wrong digest
//! would only show that the server compares two strings. Here the client
//! hashes the right bytes, and a faulty link flips one byte *after* the
//! client handed it to the socket, the way a broken proxy, NIC or RAM stick
//! does (TCP's own 16-bit checksum is recomputed by every middlebox, so it
//! cannot see damage done inside one). The server's MD5 of what arrived then
//! differs from the client's MD5 of what was sent: `204`, the damaged copy is
//! deleted, and the earlier good file of the same name is untouched.
//!
//! Determinism: the server's reads go through a tap capped at 1,024 bytes
//! (Python's `recv(1024)`), and before each read the demo waits until the
//! bytes the client has already written have arrived (see
//! [`common::sync`]). Every read then returns the same bytes on every run,
//! and the boundary timeline is identical too.

use crate::client::{upload, Receipt, Verdict};
use crate::hashing::md5_hex;
use crate::server::{handle_connection, ServerConfig, ServerLog};
use ack_handshake::FileInfo;
use common::lang::Lang;
use common::sync::{wait_for_bytes, DEFAULT_SYNC_TIMEOUT};
use common::{spawn_loopback, Tap, Timeline};
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What one read may return in the demo, like Python's `recv(1024)`.
const RECV_SIZE: usize = 1024;

/// Where in the damaged file the faulty link flips a byte.
const FLIPPED_BYTE: usize = 1500;

/// One scripted upload.
struct Upload {
    name: &'static str,
    contents: Vec<u8>,
    /// A note for the transcript, such as "(new contents)".
    note: &'static str,
    /// Flip this byte of the file's data on the wire.
    flip: Option<usize>,
}

fn script() -> Vec<Upload> {
    let numbers_v1: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let numbers_v2: Vec<u8> = (0..3000u32).map(|i| (i * 13 % 256) as u8).collect();
    vec![
        Upload {
            name: "hello.txt",
            contents: b"Hello from stage 6!\n".to_vec(),
            note: "",
            flip: None,
        },
        Upload {
            name: "numbers.bin",
            contents: numbers_v1,
            note: "",
            flip: None,
        },
        Upload {
            name: "numbers.bin",
            contents: numbers_v2,
            note: " (new contents)",
            flip: Some(FLIPPED_BYTE),
        },
        Upload {
            name: "empty.txt",
            contents: Vec::new(),
            note: "",
            flip: None,
        },
    ]
}

/// The complete demo output: the conversation as the client saw it, the
/// server's log, the upload folder afterwards, and the boundary timeline of
/// the client -> server stream. Identical on every run.
pub fn demo_transcript() -> io::Result<String> {
    demo_transcript_in(Lang::En)
}

/// [`demo_transcript`] told in `lang`. The server's log is quoted as the
/// server prints it.
pub fn demo_transcript_in(lang: Lang) -> io::Result<String> {
    let zh = lang.is_zh();
    let folder = tempfile::tempdir()?;
    let dir = folder.path().join("put");
    let (log, log_lines) = ServerLog::channel();
    let config = ServerConfig {
        log,
        ..ServerConfig::new(&dir)
    };
    let timeline = Timeline::new(lang.pick(
        "client -> server, as the server read it (each read capped at 1,024 bytes, like recv(1024))",
        "客户端 -> 服务端，按服务端读到的样子（每次读取最多 1024 字节，就像 recv(1024)）",
    ));
    let written = Arc::new(Written::default());

    let server = {
        let timeline = timeline.clone();
        let written = Arc::clone(&written);
        spawn_loopback(move |listener| {
            let (stream, _) = listener.accept()?;
            // Only a safety net: every read below waits for bytes already sent.
            stream.set_read_timeout(Some(DEFAULT_SYNC_TIMEOUT))?;
            let tap = Tap::new(stream).record_reads(timeline).max_read(RECV_SIZE);
            let mut conn = SyncedReads {
                tap,
                written,
                consumed: 0,
            };
            Ok(handle_connection(&mut conn, &config, "client"))
        })?
    };

    let stream = TcpStream::connect(server.addr())?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(DEFAULT_SYNC_TIMEOUT))?;
    let mut wire = FaultyLink {
        stream,
        written: Arc::clone(&written),
        sent: 0,
        flip_at: None,
    };

    let mut out = String::new();
    let script = script();
    out.push_str(lang.pick(INTRO, INTRO_ZH));
    if zh {
        let _ = writeln!(out, "客户端在一条连接上上传 {} 个文件：", script.len());
    } else {
        let _ = writeln!(
            out,
            "the client uploads {} files on one connection:",
            script.len()
        );
    }
    let mut results = Vec::new();
    for file in &script {
        let json_len = FileInfo::put(file.name, file.contents.len() as u64)
            .to_json()
            .len();
        let label = |part: &str| format!("{}: {part}", file.name);
        timeline.sent_labeled(label(lang.pick("length header", "长度头")), 4);
        timeline.sent_labeled(
            label(lang.pick("file info JSON", "文件信息 JSON")),
            json_len,
        );
        if !file.contents.is_empty() {
            let len = file.contents.len();
            let what = match (file.flip, zh) {
                (Some(at), false) => format!("the file's {len} bytes, byte {at} flipped"),
                (None, false) => format!("the file's {len} bytes"),
                (Some(at), true) => format!("文件的 {len} 字节，第 {at} 字节被翻转"),
                (None, true) => format!("文件的 {len} 字节"),
            };
            timeline.sent_labeled(label(&what), file.contents.len());
        }
        timeline.sent_labeled(
            label(lang.pick("md5, 32 hex characters", "md5，32 个十六进制字符")),
            32,
        );

        wire.flip_at = file.flip.map(|at| wire.sent + (4 + json_len + at) as u64);
        if let Some(at) = file.flip {
            if zh {
                let _ = writeln!(
                    out,
                    "  （一条有故障的链路会在路上翻转下一个文件的第 {at} 字节，此时客户端已经算完了哈希）"
                );
            } else {
                let _ = writeln!(
                    out,
                    "  (a faulty link now flips byte {at} of the next file on the way, after the \
                     client has hashed it)"
                );
            }
        }
        let result = upload(
            &mut wire,
            file.name,
            &file.contents[..],
            file.contents.len() as u64,
        );
        let note = match (file.note.is_empty(), zh) {
            (true, _) => "",
            (false, false) => file.note,
            (false, true) => "（新内容）",
        };
        let _ = writeln!(
            out,
            "  put {:<12} {:>5} {}, md5 {}{note}",
            file.name,
            file.contents.len(),
            lang.pick("bytes", "字节"),
            md5_hex(&file.contents),
        );
        match &result {
            Ok(Receipt { verdict, .. }) => {
                let meaning = match (verdict, zh) {
                    (Verdict::Verified, false) => {
                        "the server's md5 of what arrived equals the client's: saved"
                    }
                    (Verdict::Mismatch, false) => {
                        "the server's md5 of what arrived differs: discarded"
                    }
                    (Verdict::Verified, true) => {
                        "服务端对收到内容算出的 md5 与客户端的相同：已保存"
                    }
                    (Verdict::Mismatch, true) => {
                        "服务端对收到内容算出的 md5 与客户端的不同：已丢弃"
                    }
                };
                let _ = writeln!(out, "    <- {verdict}; {meaning}");
            }
            Err(e) => {
                let _ = writeln!(out, "    <- {}: {e}", lang.pick("failed", "失败"));
            }
        }
        results.push(result.map(|r| r.verdict).ok());
    }
    wire.close();
    let report = server.join()?;

    out.push_str(lang.pick("\nserver log:\n", "\n服务端日志：\n"));
    for line in log_lines.try_iter() {
        let _ = writeln!(out, "  {line}");
    }

    out.push_str(lang.pick(
        "\nthe server's folder afterwards:\n",
        "\n之后服务端的目录：\n",
    ));
    let first_numbers = md5_hex(&script[1].contents);
    out.push_str(&describe_folder(&dir, &first_numbers, lang)?);

    out.push('\n');
    out.push_str(&timeline.render_in(lang));
    let analysis = timeline.analysis();
    if zh {
        let _ = writeln!(
            out,
            "  每个片段都读完整了：{} 个片段被切到几次读取里（拆包），读满循环把它们重新拼好；\n  \
             没有一次读取是粘包，因为没有哪次读取会要比当前片段剩下的更多的字节",
            analysis.split_messages
        );
    } else {
        let _ = writeln!(
            out,
            "  every token was read whole: {} token(s) arrived split across reads and the\n  \
         read-exactly loops put them back together; no read is sticky, because no read\n  \
         ever asks for more than the rest of the token it is reading",
            analysis.split_messages
        );
    }

    let expected = [
        Some(Verdict::Verified),
        Some(Verdict::Verified),
        Some(Verdict::Mismatch),
        Some(Verdict::Verified),
    ];
    let intact = results == expected
        && report.verified == 3
        && report.mismatched == 1
        && report.error.is_none()
        && analysis.sticky_reads == 0
        && analysis.unread == 0;
    out.push('\n');
    out.push_str(if zh && intact {
        "结论：已修好，并经过校验。每个片段都完整到达；被损坏的上传被 MD5 发现（204），\n\
         没有留下任何东西；完好的 numbers.bin 没被动过。\n"
    } else if zh {
        "结论：意外。演示没有按脚本进行；见上文。\n"
    } else if intact {
        "verdict: FIXED AND VERIFIED. Every token arrived whole; the damaged upload was caught\n\
         by MD5 (204) and left nothing behind; the good numbers.bin stayed untouched.\n"
    } else {
        "verdict: UNEXPECTED. The demo did not go as scripted; see above.\n"
    });
    Ok(out)
}

const INTRO: &str = "\
stage 6, md5-upload: length-prefixed file info, the bytes, and an MD5 check
per file, on one connection:
  client -> server  [4-byte length][JSON file info][exactly filesize bytes]
  server -> client  OK
  client -> server  [MD5 of the bytes, 32 lowercase hex characters]
  server -> client  203 (the digests match: saved) or 204 (they differ: discarded)

";

const INTRO_ZH: &str = "\
第 6 阶段，md5-upload：带长度前缀的文件信息、文件字节，再加 MD5 校验
每个文件一轮，同一条连接上：
  客户端 -> 服务端  [4 字节长度][JSON 文件信息][恰好 filesize 字节]
  服务端 -> 客户端  OK
  客户端 -> 服务端  [文件字节的 MD5，32 个小写十六进制字符]
  服务端 -> 客户端  203（摘要一致：保存）或 204（摘要不同：丢弃）

";

/// Lists the upload folder: name, size and MD5 of every file, and whether
/// any temporary file was left behind.
fn describe_folder(dir: &Path, first_numbers: &str, lang: Lang) -> io::Result<String> {
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        entries.push((name, std::fs::read(entry.path())?));
    }
    entries.sort();
    let mut out = String::new();
    let mut temporaries = 0;
    for (name, contents) in &entries {
        let md5 = md5_hex(contents);
        let note = if name.starts_with(".upload-") {
            temporaries += 1;
            lang.pick(
                "  <- a temporary file left behind!",
                "  <- 留下了一个临时文件！",
            )
        } else if name == "numbers.bin" && md5 == first_numbers {
            lang.pick(
                "  <- the first upload's bytes: the damaged one changed nothing",
                "  <- 第一次上传的字节：被损坏的那次什么也没改变",
            )
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {name:<12} {:>5} {}, md5 {md5}{note}",
            contents.len(),
            lang.pick("bytes", "字节")
        );
    }
    if temporaries == 0 {
        out.push_str(lang.pick(
            "  (no temporary files left behind)\n",
            "  （没有留下临时文件）\n",
        ));
    }
    Ok(out)
}

/// How many bytes the client has handed to its socket, and whether it is done.
#[derive(Default)]
struct Written {
    state: Mutex<(u64, bool)>,
    changed: Condvar,
}

impl Written {
    fn lock(&self) -> MutexGuard<'_, (u64, bool)> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn add(&self, n: usize) {
        self.lock().0 += n as u64;
        self.changed.notify_all();
    }

    fn close(&self) {
        self.lock().1 = true;
        self.changed.notify_all();
    }

    /// Waits until the client has written past `consumed` (returns how many
    /// bytes are ready) or has closed its side (returns `None`).
    fn wait_beyond(&self, consumed: u64) -> io::Result<Option<u64>> {
        let deadline = Instant::now() + DEFAULT_SYNC_TIMEOUT;
        let mut state = self.lock();
        loop {
            if state.0 > consumed {
                return Ok(Some(state.0 - consumed));
            }
            if state.1 {
                return Ok(None);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left == Duration::ZERO {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "demo sync: the client wrote nothing for too long",
                ));
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }
}

/// The server's end in the demo: before each read, wait until the bytes it
/// may return have all arrived, so the read returns the same bytes every run.
struct SyncedReads {
    tap: Tap<TcpStream>,
    written: Arc<Written>,
    consumed: u64,
}

impl Read for SyncedReads {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let cap = buf.len().min(RECV_SIZE);
        match self.written.wait_beyond(self.consumed)? {
            Some(ready) => {
                let want = cap.min(usize::try_from(ready).unwrap_or(usize::MAX));
                wait_for_bytes(self.tap.get_ref(), want, DEFAULT_SYNC_TIMEOUT)?;
                let n = self.tap.read(&mut buf[..want])?;
                self.consumed += n as u64;
                Ok(n)
            }
            // The client has shut down its side: this read sees the end.
            None => self.tap.read(&mut buf[..cap]),
        }
    }
}

impl Write for SyncedReads {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tap.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tap.flush()
    }
}

/// The client's end in the demo: counts the bytes it hands to the socket
/// (for [`SyncedReads`]) and, when told to, flips one of them on the way,
/// after the client's hasher has seen the original.
struct FaultyLink {
    stream: TcpStream,
    written: Arc<Written>,
    sent: u64,
    flip_at: Option<u64>,
}

impl FaultyLink {
    fn close(self) {
        // Shut down first, then tell the server's reader: its next read then
        // sees the end of the stream instead of waiting for more.
        let _ = self.stream.shutdown(Shutdown::Write);
        self.written.close();
    }
}

impl Read for FaultyLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for FaultyLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match self.flip_at {
            Some(at) if at >= self.sent && at < self.sent + buf.len() as u64 => {
                let mut damaged = buf.to_vec();
                damaged[(at - self.sent) as usize] ^= 0x01;
                self.stream.write(&damaged)?
            }
            _ => self.stream.write(buf)?,
        };
        self.sent += n as u64;
        self.written.add(n);
        Ok(n)
    }

    // A frame (header and JSON) stays one write on the socket, as it is
    // without the demo in between; a write that holds the byte to flip goes
    // through `write`, one slice at a time.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        match self.flip_at {
            Some(at) if at >= self.sent && at < self.sent + total as u64 => {
                let first = bufs
                    .iter()
                    .find(|b| !b.is_empty())
                    .map_or(&[][..], |b| &b[..]);
                self.write(first)
            }
            _ => {
                let n = self.stream.write_vectored(bufs)?;
                self.sent += n as u64;
                self.written.add(n);
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
