//! # Exercise 2: read one stage-4 frame, with a maximum size (stage 4)
//!
//! Stage 4's wire format: a 4-byte header holding the body's length as a
//! little-endian signed 32-bit integer (Python's `struct.pack("i", n)`),
//! then the body.
//!
//! ```text
//! 05 00 00 00  68 65 6c 6c 6f      "hello"
//! 00 00 00 00                      ""  (an empty message is a frame too)
//! ```
//!
//! **Task.** Read one frame from `r` and return its body.
//! - The stream ends cleanly before the first header byte: return `Ok(None)`.
//! - A negative length, or one larger than `max`: an error of kind
//!   `InvalidData`, *before* reading or allocating the body (a hostile
//!   header must not make you allocate 2 GiB).
//! - The stream ends inside the header or the body: an error of kind
//!   `UnexpectedEof`.
//!
//! Your loop from exercise 1 helps: `crate::ex01_read_exact::read_exact`.
//!
//! **任务。** 第 4 阶段的线路格式：4 字节报头，内容是正文长度（小端、有符号
//! 32 位整数，即 Python 的 `struct.pack("i", n)`），后面跟正文。从 `r` 读出
//! 一帧并返回正文。
//! - 第一个报头字节之前流就正常结束：返回 `Ok(None)`。
//! - 长度为负数或大于 `max`：返回 `InvalidData` 错误，而且要在读取或分配正文
//!   *之前*就拒绝（恶意报头不能让你分配 2 GiB 内存）。
//! - 流在报头或正文中途结束：返回 `UnexpectedEof` 错误。
//!
//! 练习 1 的循环可以直接用：`crate::ex01_read_exact::read_exact`。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

use std::io::{self, Read};

/// One frame's body, `Ok(None)` at a clean end of stream.
pub fn read_frame(r: &mut dyn Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    todo!("read 4 header bytes, check the length, then read the body")
}
