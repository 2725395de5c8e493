//! # Exercise 8: a netstring decoder (Part II, chapter 7)
//!
//! D. J. Bernstein's netstrings announce the length in ASCII digits, then
//! a colon, the bytes, and a comma that proves the length was right:
//!
//! ```text
//! 5:hello,      "hello"
//! 0:,           ""
//! ```
//!
//! **Task.** Implement `decode` for `NetstringDecoder` (the decoder contract
//! is in exercise 7's comment):
//! - wait (`Ok(None)`) until the digits, the `:`, the body and the `,` are
//!   all buffered, then return the body and consume the whole netstring;
//! - a length over `max`: `DecodeError::TooLarge { what: "netstring", len,
//!   at_least: false, max }` as soon as the `:` is seen, before the body
//!   arrives; more than 10 digits with no `:` is too large as well
//!   (`at_least: true`);
//! - anything else that breaks the format (no digits, a byte other than a
//!   digit before the `:`, a leading zero as in `05:`, no `,` after the
//!   body): `DecodeError::Malformed { offset, why }` with the offset of the
//!   bad byte from the start of the netstring.
//!
//! **任务。** D. J. Bernstein 的 netstring 先用 ASCII 数字写长度，然后是冒号、
//! 正文，最后一个逗号证明长度没错（`5:hello,`，空串是 `0:,`）。请为
//! `NetstringDecoder` 实现 `decode`（解码器的约定见练习 7 开头的注释）：
//! 数字、`:`、正文、`,` 都到齐之前返回 `Ok(None)`，到齐后返回正文并消耗整个
//! netstring；长度超过 `max`，一看到 `:` 就返回
//! `DecodeError::TooLarge { what: "netstring", len, at_least: false, max }`，
//! 不等正文；超过 10 位数字还没有 `:` 也算过大（`at_least: true`）；其他格式
//! 错误（没有数字、`:` 前有非数字、像 `05:` 这样的前导零、正文后不是 `,`）
//! 返回 `DecodeError::Malformed { offset, why }`，`offset` 是坏字节相对
//! netstring 开头的位置。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

use crate::{Buffer, DecodeError, Decoder};

/// Netstrings with bodies of at most `max` bytes.
#[derive(Debug)]
pub struct NetstringDecoder {
    max: usize,
}

impl NetstringDecoder {
    /// A decoder of netstrings of at most `max` body bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl Decoder for NetstringDecoder {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        todo!("parse the digits up to ':', check the length, then wait for body and ','")
    }
}
