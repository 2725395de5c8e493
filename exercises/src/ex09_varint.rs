//! # Exercise 9: a varint length prefix (Part II, chapter 7)
//!
//! Protobuf's length-delimited streams put the length first as a *varint*
//! (LEB128): 7 bits per byte, least significant group first, the top bit set
//! on every byte but the last. Short messages pay one byte of header
//! instead of stage 4's four.
//!
//! ```text
//! 05 68 65 6c 6c 6f          "hello"        (5 < 128: one byte)
//! ac 02 <300 bytes>          300 bytes      (300 = 0b10_0101100: ac 02)
//! 00                         ""
//! ```
//!
//! **Task.** Implement `decode` for `VarintDecoder` (the decoder contract is
//! in exercise 7's comment):
//! - wait (`Ok(None)`) until the whole varint and the whole body are
//!   buffered, then return the body and consume both;
//! - a varint longer than 10 bytes: `DecodeError::Malformed { offset, why }`;
//! - a length over `max`: `DecodeError::TooLarge { what: "message", len,
//!   at_least: false, max }` as soon as the varint is complete, before the
//!   body arrives.
//!
//! **任务。** Protobuf 的定界流把长度写成 *varint*（LEB128）放在最前面：每字节
//! 7 位，低位组在前，除最后一个字节外最高位都置 1。短消息的报头只要 1 个字节，
//! 而第 4 阶段要 4 个。请为 `VarintDecoder` 实现 `decode`（解码器的约定见练习 7
//! 开头的注释）：varint 和正文都到齐之前返回 `Ok(None)`，到齐后返回正文并一起
//! 消耗；varint 超过 10 个字节返回 `DecodeError::Malformed { offset, why }`；
//! 长度超过 `max`，varint 一完整就返回
//! `DecodeError::TooLarge { what: "message", len, at_least: false, max }`，不等正文。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

use crate::{Buffer, DecodeError, Decoder};

/// Varint-length-prefixed messages of at most `max` bytes.
#[derive(Debug)]
pub struct VarintDecoder {
    max: usize,
}

impl VarintDecoder {
    /// A decoder of messages of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl Decoder for VarintDecoder {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        todo!("decode the varint (7 bits a byte), check it, then wait for the body")
    }
}
