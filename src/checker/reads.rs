//! Exercises 1, 2, 3 and 6: reading a byte stream with `Read` (exactly N
//! bytes, stage-4 frames, stage 2's fixed exec client, fixed-length
//! records). Each check feeds the student's function the decoder
//! verifier's pieces, refusals, and a real socket through the weather.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::thread;

use common::weather::Weather;
use exercises::Set;
use framing_gallery::verify::{PieceReader, Split};

use super::harness::{
    connect, describe_result, expect_error_kind, kind_is, over_socket, read_in_every_weather,
    sample_frames, show, show_frames, socket_error, stage4_wire, verify_reader, weathers,
    READ_TIMEOUT,
};
use super::{fail, t, Checked, Text};

// -- 1 ----------------------------------------------------------------------

pub(super) fn ex01(set: &'static dyn Set) -> Checked {
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
    verify_reader(
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
        check,
        t(
            "After a `read` that returned fewer bytes than you asked for, do you read again into the rest of the buffer?",
            "`read` 返回的字节比你要的少时，你有没有接着往缓冲区剩下的部分再读？",
        ),
    )?;

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

pub(super) fn ex02(set: &'static dyn Set) -> Checked {
    let frames = sample_frames();
    let wire = stage4_wire(&frames);
    verify_reader(
        |r| read_all_frames(set, r, 1024),
        &wire,
        &frames,
        t(
            "reading frames (5, 0, 300 and 14 bytes) until the end, the bytes cut every way (the decoder verifier)",
            "一直读帧（5、0、300、14 字节）直到结束，字节按各种方式切分（解码器校验器）",
        ),
        t(
            "Is the header read with a loop too? What do you return at the end of the stream, and for an empty body?",
            "报头也用循环读了吗？流结束时返回什么？正文为空时呢？",
        ),
    )?;

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
        expect_error_kind(
            &got,
            kind,
            |f| format!("{:?}", f.as_deref().map(show)),
            check,
            hint,
        )?;
    }

    read_in_every_weather(
        &wire,
        |s| read_all_frames(set, s, 1024),
        &frames,
        t(
            "reading the same frames over a real socket, in clear weather, `--split 1` and `--sizes 3,1,7`",
            "经过真实套接字读同样的帧：晴天、`--split 1`、`--sizes 3,1,7`",
        ),
        t(
            "What differs between the verifier's pieces and a socket's reads? Does anything assume one read is one frame?",
            "校验器的分段和套接字的读取有什么不同？有没有哪里假设一次读就是一帧？",
        ),
    )
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

pub(super) fn ex03(set: &'static dyn Set) -> Checked {
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

// -- 6 ----------------------------------------------------------------------

pub(super) fn ex06(set: &'static dyn Set) -> Checked {
    let records: Vec<Vec<u8>> = (0..4u8).map(|i| vec![b'A' + i; 8]).collect();
    let wire = records.concat();
    verify_reader(
        |r| set.read_records(r, 8),
        &wire,
        &records,
        t(
            "reading four 8-byte records, the bytes cut every way (the decoder verifier)",
            "读取四条 8 字节记录，字节按各种方式切分（解码器校验器）",
        ),
        t(
            "Does one read ever hold exactly one record? What do you do with a record's first 3 bytes?",
            "一次读正好是一条记录吗？一条记录的前 3 个字节你怎么处理？",
        ),
    )?;

    let cut = &wire[..11];
    let mut r = PieceReader::new(cut, &Split::whole());
    let got = set.read_records(&mut r, 8);
    expect_error_kind(
        &got,
        io::ErrorKind::UnexpectedEof,
        |f| show_frames(f),
        t(
            "a stream that ends 3 bytes into the second 8-byte record",
            "流在第二条 8 字节记录的第 3 个字节后结束",
        ),
        t(
            "Is a stream that ends inside a record a clean end?",
            "流在记录中间结束，算正常结束吗？",
        ),
    )?;

    let many: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 16]).collect();
    read_in_every_weather(
        &many.concat(),
        |s| set.read_records(s, 16),
        &many,
        t(
            "reading 50 records of 16 bytes over a real socket, in clear weather, `--split 1` and `--sizes 3,1,7`",
            "经过真实套接字读 50 条 16 字节记录：晴天、`--split 1`、`--sizes 3,1,7`",
        ),
        t(
            "Does anything assume that one read is one record?",
            "有没有哪里假设一次读就是一条记录？",
        ),
    )
}
