//! The two-terminal client against a tiny server that answers with bytes the
//! test chooses, so these tests run the same on every OS (no shell).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use common::cli::InputLines;
use common::encoding::Encoding;
use naive_exec_sticky::{connect, run_client_reading, READ_SIZE};

/// `不是` as a Chinese Windows shell prints it: GBK.
const BU_SHI_GBK: [u8; 4] = [0xb2, 0xbb, 0xca, 0xc7];

/// A server speaking stage 2's protocol (one read is the command, the reply
/// is unframed) that answers its first command with `reply` and never
/// answers another: the client's second read then holds exactly the first
/// reply's tail, whatever the timing.
fn serve_once(reply: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        if stream.read(&mut buf).unwrap_or(0) > 0 {
            // One write: on loopback the whole reply arrives at once.
            stream.write_all(&reply).unwrap();
        }
        // Swallow later commands until the client closes.
        while stream.read(&mut buf).unwrap_or(0) > 0 {}
    });
    addr
}

fn run(addr: SocketAddr, input: &[u8], read_size: usize, encoding: Encoding) -> String {
    let stream = connect(addr, Duration::from_millis(500)).unwrap();
    let mut input = InputLines::from_reader(input);
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    run_client_reading(
        &mut input,
        stream,
        Duration::from_millis(500),
        read_size,
        encoding,
        &mut out,
        &mut diag,
    )
    .unwrap();
    // What the client writes is always UTF-8, whatever the server sent.
    String::from_utf8(out).unwrap()
}

/// With `--encoding gbk`, 不是 cut by the 1,024-byte read decodes as `�` at the cut and `皇�` in the next read.
#[test]
fn gbk_character_cut_between_reads() {
    let mut reply = vec![b'a'; READ_SIZE - 1];
    reply.extend_from_slice(&BU_SHI_GBK);
    reply.push(b'\n');
    let addr = serve_once(reply);
    let out = run(addr, b"dir\nver\nexit\n", READ_SIZE, Encoding::Gbk);
    let a = "a".repeat(READ_SIZE - 1);
    assert_eq!(
        out,
        format!(
            "── read 1: 1024 B, waiting for the reply to `dir` ──\n\
             {a}\u{fffd}\n\
             (1 byte of this read is not GBK and is shown as \u{fffd}; a shell on Linux or macOS \
             answers in UTF-8: try --encoding utf-8)\n\
             ── read 2: 4 B, waiting for the reply to `ver` ──\n\
             皇\u{fffd}\n\
             (1 byte of this read is not GBK and is shown as \u{fffd}; a shell on Linux or macOS \
             answers in UTF-8: try --encoding utf-8)\n\
             ── connection closed after 2 read(s); whatever the server sent after the last one \
             is never read ──\n"
        )
    );
    assert!(!out.contains("不是"));
}

/// The same bytes in one read decode to 不是 with `--encoding gbk`, and to a note (never a crash) as UTF-8.
#[test]
fn gbk_reply_in_one_read() {
    let mut reply = BU_SHI_GBK.to_vec();
    reply.push(b'\n');
    let out = run(
        serve_once(reply.clone()),
        b"dir\n",
        READ_SIZE,
        Encoding::Gbk,
    );
    assert_eq!(
        out.lines().nth(1),
        Some("不是"),
        "the reply's line should be 不是: {out}"
    );
    let out = run(serve_once(reply), b"dir\n", READ_SIZE, Encoding::Utf8);
    assert!(
        out.contains("(4 bytes of this read are not UTF-8 and are shown as \u{fffd}"),
        "{out}"
    );
    assert!(out.contains("try --encoding gbk"), "{out}");
}
