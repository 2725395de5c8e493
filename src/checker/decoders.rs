//! Exercises 7 to 10: incremental decoders behind the gallery's `Decoder`
//! trait, checked with the decoder verifier, pushed input they must refuse
//! early, and real sockets read with the gallery's `FrameReader`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

use common::weather::Weather;
use exercises::Set;
use framing_gallery::verify::Verifier;
use framing_gallery::{Buffer, DecodeError, Decoder, FrameReader};

use super::harness::{
    over_socket, sample_frames, show, show_failure, show_frames, socket_error, stage4_wire,
    weathers, READ_TIMEOUT,
};
use super::{fail, t, Checked, Text};

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

/// What a decoder driven by `FrameReader` made of a stream: its frames, or
/// the error it stopped with.
fn show_decoded(got: &Result<Vec<Vec<u8>>, String>) -> String {
    match got {
        Ok(f) => show_frames(f),
        Err(e) => format!("the error: {e}"),
    }
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
            return Err(fail(
                check,
                format!(
                    "weather: {}\nexpected: {}\nreceived: {}",
                    weather.describe(),
                    show_frames(frames),
                    show_decoded(&got)
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

pub(super) fn ex07(set: &'static dyn Set) -> Checked {
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

pub(super) fn ex08(set: &'static dyn Set) -> Checked {
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

pub(super) fn ex09(set: &'static dyn Set) -> Checked {
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

pub(super) fn ex10(set: &'static dyn Set) -> Checked {
    let frames = sample_frames();
    let check = t(
        "one frame per round trip over clear loopback (the test this decoder was written against)",
        "在晴朗的回环上每次往返一帧（这个解码器当初通过的测试）",
    );
    let got = round_trips(set.length_decoder(1024), &frames).map_err(|e| socket_error(check, e))?;
    if got.as_deref() != Ok(&frames[..]) {
        return Err(fail(
            check,
            format!(
                "expected: {}\nreceived: {}",
                show_frames(&frames),
                show_decoded(&got)
            ),
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
    let many: Vec<Vec<u8>> = (0..50usize).map(|i| vec![b'q'; i * 3]).collect();
    check_decoder_sockets(
        || set.length_decoder(1024),
        &stage4_wire(&many),
        &many,
        t(
            "When a read carries a frame and a half, where does the half go?",
            "一次读带来一帧半时，那半帧去哪了？",
        ),
    )?;
    Ok(())
}
