//! # Exercise 1: a read-exactly loop (stage 4)
//!
//! One `read` on a TCP stream returns *at least one* byte, not the number
//! you asked for: a 10-byte message may come as 3 bytes, then 7. Every fix
//! in this course starts with a loop that keeps reading until it has exactly
//! what it needs.
//!
//! **Task.** Fill `buf` completely from `r`, calling `r.read(..)` as often as
//! it takes. If `read` returns 0 (the peer closed) before `buf` is full,
//! return an error of kind `io::ErrorKind::UnexpectedEof` whose message says
//! how many bytes of how many arrived (for example "3 of 10 bytes"). Retry a
//! read that fails with `io::ErrorKind::Interrupted`. Write the loop
//! yourself: do not call `Read::read_exact`.
//!
//! **任务。** TCP 上的一次 `read` 至少返回 1 个字节，但不一定是你要的那么多：
//! 一条 10 字节的消息可能先到 3 个字节，再到 7 个。请反复调用 `r.read(..)`，
//! 直到把 `buf` 填满。如果 `buf` 填满之前 `read` 返回 0（对端已关闭），返回
//! `io::ErrorKind::UnexpectedEof` 类型的错误，错误信息里写明收到了多少字节、
//! 一共需要多少（例如 "3 of 10 bytes"）。遇到 `io::ErrorKind::Interrupted`
//! 要重试。请自己写这个循环，不要调用 `Read::read_exact`。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

use std::io::{self, Read};

/// Fills `buf` from `r`, or fails with `UnexpectedEof` saying how many bytes arrived.
pub fn read_exact(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<()> {
    todo!("loop on r.read(&mut buf[filled..]) until buf is full")
}
