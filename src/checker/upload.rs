//! Exercises 4 and 5: stage 5's upload, the JSON file info read whole and
//! not one byte further, and the file name a hostile client may send.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

use common::weather::{Weather, WeatherProxy};
use exercises::Set;
use framing_gallery::verify::{PieceReader, Split};

use super::harness::{
    describe_result, expect_error_kind, show, socket_error, verify_reader, READ_TIMEOUT,
};
use super::{fail, t, Checked, Text};

// -- 4 ----------------------------------------------------------------------

const INFO: &[u8] = br#"{"action":"put","filename":"a.txt","filesize":5}"#;
const TRICKY_INFO: &[u8] = br#"{"action":"put","filename":"a}{b\".txt","filesize":5}"#;

pub(super) fn ex04(set: &'static dyn Set) -> Checked {
    let read_one = |r: &mut dyn Read| set.read_file_info(r).map(|j| vec![j]);
    verify_reader(
        read_one,
        INFO,
        &[INFO.to_vec()],
        t(
            "reading the JSON file info cut every way (the decoder verifier)",
            "读取按各种方式切分的 JSON 文件信息（解码器校验器）",
        ),
        t(
            "Does one read ever hold the whole JSON for sure? What tells you that it is complete?",
            "一次读一定能拿到整个 JSON 吗？什么能告诉你它已经完整了？",
        ),
    )?;

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

    verify_reader(
        read_one,
        TRICKY_INFO,
        &[TRICKY_INFO.to_vec()],
        t(
            "reading a JSON whose file name is `a}{b\".txt`",
            "读取文件名为 `a}{b\".txt` 的 JSON",
        ),
        t(
            "Are you inside a string when you meet that `}`? And does `\\\"` end the string?",
            "遇到那个 `}` 时你是否在字符串里面？`\\\"` 会结束字符串吗？",
        ),
    )?;

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
        expect_error_kind(&got, kind, |b| show(b), check, hint)?;
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

pub(super) fn ex05(set: &'static dyn Set) -> Checked {
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
