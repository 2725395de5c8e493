//! Section 3 of the demo: endianness, computed. The same 4 bytes of a
//! header read little-endian (as both ends of this protocol do) and
//! big-endian (as a reader expecting network order would), and what the
//! frame guard says to each reading.
//!
//! It is separate from `demo.rs` because it runs nothing over a socket: it
//! is arithmetic on one header, told in either language, beside the parts
//! that run the server and the client.

use super::hex;
use crate::framing::{decode_header, encode_header, FrameError, DEFAULT_MAX_FRAME};
use common::lang::Lang;
use common::text::wrap;
use std::fmt::Write as _;

/// The endianness lesson, computed: the same 4 bytes read both ways.
pub(super) fn endianness_transcript(lang: Lang) -> String {
    let bytes = encode_header(1492).unwrap_or_default();
    let le = i32::from_le_bytes(bytes);
    let be_u32 = u32::from_be_bytes(bytes);
    let be_i32 = i32::from_be_bytes(bytes);
    let too_large = FrameError::TooLarge {
        len: u64::from(be_u32),
        max: DEFAULT_MAX_FRAME,
    };
    let negative = match decode_header(be_i32.to_le_bytes(), DEFAULT_MAX_FRAME) {
        Err(e) => e.to_string(),
        Ok(len) => format!("accepted as {len} (unexpected)"),
    };
    let small = encode_header(1024).unwrap_or_default();
    let small_be = u32::from_be_bytes(small);

    let mut out = String::new();
    let bytes = hex(&bytes);
    let _ = match lang {
        Lang::En => writeln!(
            out,
            "struct.pack(\"i\", 1492) = {bytes}   (little-endian: the low byte first)"
        ),
        Lang::Zh => writeln!(
            out,
            "struct.pack(\"i\", 1492) = {bytes}   （小端：低位字节在前）"
        ),
    };
    // The rows' labels and the column the numbers start at. The English
    // labels carry their own spacing; the Chinese ones are padded by display
    // width, so the numbers line up.
    let ([little, big_u32, big_i32], column) = match lang {
        Lang::En => (
            [
                "read little-endian, as both ends of this protocol do:   ",
                "read big-endian as u32 (Python's \"!I\", network order): ",
                "read big-endian as i32 (Python's \"!i\"):                ",
            ],
            0,
        ),
        Lang::Zh => (
            [
                "按小端读，本协议两端都这样读：",
                "按大端读成 u32（Python 的 \"!I\"，网络字节序）：",
                "按大端读成 i32（Python 的 \"!i\"）：",
            ],
            50,
        ),
    };
    let row =
        |label: &str, value: String| format!("  {}{value}\n", common::lang::pad(label, column));
    out.push_str(&row(little, le.to_string()));
    out.push_str(&row(big_u32, be_u32.to_string()));
    out.push_str(&wrap(&format!("-> {too_large}"), 88, "    ", "       "));
    out.push_str(&row(big_i32, be_i32.to_string()));
    out.push_str(&wrap(&format!("-> {negative}"), 88, "    ", "       "));
    let small = hex(&small);
    let _ = match lang {
        Lang::En => writeln!(
            out,
            "So a reader that expects network (big-endian) order is usually stopped by the\n\
             maximum-frame guard or the negative check, but not always: struct.pack(\"i\", 1024) =\n\
             {small} reads big-endian as {small_be}, under the maximum, and that reader would wait for\n\
             {small_be} bytes that never come. The guard is a seatbelt, not a translator: both ends\n\
             must agree, which is why this format says little-endian and the code writes\n\
             to_le_bytes, never the machine's native order."
        ),
        Lang::Zh => writeln!(
            out,
            "所以期待网络字节序（大端）的读取方，多数时候会被最大帧长的检查或负数检查拦下，\n\
             但不总是：struct.pack(\"i\", 1024) = {small} 按大端读是 {small_be}，没超过上限，\n\
             那个读取方就会去等永远不会来的 {small_be} 字节。这道检查是安全带，不是翻译：\n\
             两端必须约定一致，所以这个格式规定小端，代码写的是 to_le_bytes，从不用本机字节序。"
        ),
    };
    out
}
