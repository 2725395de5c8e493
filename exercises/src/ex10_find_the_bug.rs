//! # Exercise 10: find the bug (Part II, chapter 8)
//!
//! This decoder reads stage 4's frames (4-byte little-endian signed length,
//! then the body). It was tested on loopback, one frame per round trip, and
//! it passed every time. It is wrong all the same.
//!
//! **Task.** Run the checker and read what the decoder verifier found: the
//! smallest split of the bytes that breaks it. Then fix `decode` so that it
//! gives the same frames however the bytes are cut (whole, one byte at a
//! time, in random pieces, through the network weather), keeps bytes of the
//! next frame for the next call, and still refuses a negative length or one
//! over `max` before the body arrives.
//!
//! **任务。** 这个解码器读取第 4 阶段的帧（4 字节小端有符号长度，再跟正文）。
//! 它在回环地址上测过，每次往返一帧，次次都通过。可它还是错的。请运行检查器，
//! 看解码器校验器找到了什么：能让它出错的最小切分。然后修好 `decode`：不管字节
//! 怎么切（整块、逐字节、随机分段、经过网络天气），都要得到同样的帧；属于下一
//! 帧的字节要留给下一次调用；长度为负或超过 `max` 时仍要在正文到达之前拒绝。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

use crate::{Buffer, DecodeError, Decoder};

/// Stage 4's frames, with bodies of at most `max` bytes.
#[derive(Debug)]
pub struct LengthDecoder {
    max: usize,
}

impl LengthDecoder {
    /// A decoder of frames of at most `max` body bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl Decoder for LengthDecoder {
    fn decode(&mut self, buf: &mut Buffer) -> Result<Option<Vec<u8>>, DecodeError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let b = buf.as_slice();
        let len = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if len < 0 {
            return Err(DecodeError::Malformed {
                offset: 0,
                why: format!("negative length {len}"),
            });
        }
        if len as usize > self.max {
            return Err(DecodeError::TooLarge {
                what: "frame",
                len: len as u64,
                at_least: false,
                max: self.max as u64,
            });
        }
        // The header has arrived, so the body is what came with it.
        let frame = buf.take(buf.len());
        Ok(Some(frame[4..].to_vec()))
    }
}
