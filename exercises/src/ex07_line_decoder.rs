//! # Exercise 7: a line decoder with a maximum length (Part II, chapter 7)
//!
//! Text protocols (SMTP, Redis's inline commands, JSON Lines) end every
//! message with `\n`. A reader that waits for the newline with no limit can
//! be made to buffer forever by a peer that never sends one.
//!
//! The gallery's decoders work over a growing buffer: `decode` is called
//! whenever more bytes arrived; it returns `Ok(Some(frame))` and consumes
//! the frame's bytes when a whole frame is buffered, `Ok(None)` when it
//! needs more (leaving the buffer as it is), and `Err` when the bytes can
//! never become a valid frame. `buf.as_slice()`, `buf.len()` and
//! `buf.take(n)` / `buf.consume(n)` are all you need.
//!
//! **Task.** Implement `decode` for `LineDecoder`:
//! - a frame is the bytes before a `\n`; the `\n` is consumed but not part
//!   of the frame (`"hi\n\n"` is two frames, `hi` and the empty one);
//! - a line may hold at most `max` bytes: as soon as more than `max` bytes
//!   are buffered with no `\n` among the first `max + 1`, return
//!   `DecodeError::TooLarge { what: "line", len, at_least: true, max }`
//!   at once, without waiting for more bytes.
//!
//! **任务。** 文本协议（SMTP、Redis 内联命令、JSON Lines）用 `\n` 结束每条消息。
//! 不设上限地等换行，对端只要一直不发换行，就能让你无限缓存。画廊的解码器都在
//! 一个不断增长的缓冲区上工作：每到一些字节就调用 `decode`；缓冲区里有完整一帧
//! 时返回 `Ok(Some(帧))` 并消耗这帧的字节，需要更多字节时返回 `Ok(None)`（缓冲区
//! 保持不变），字节永远不可能成为合法帧时返回 `Err`。请为 `LineDecoder` 实现
//! `decode`：帧是 `\n` 之前的字节，`\n` 要消耗掉但不属于帧（`"hi\n\n"` 是 `hi`
//! 和空帧两帧）；一行最多 `max` 字节：一旦缓冲了超过 `max` 字节而前 `max + 1`
//! 个字节里没有 `\n`，立即返回
//! `DecodeError::TooLarge { what: "line", len, at_least: true, max }`，不要再等。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

use crate::{Buffer, DecodeError, Decoder};

/// Newline-delimited frames of at most `max` bytes.
#[derive(Debug)]
pub struct LineDecoder {
    max: usize,
}

impl LineDecoder {
    /// A decoder of lines of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl Decoder for LineDecoder {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        todo!("find b'\\n' within the first max + 1 bytes")
    }
}
