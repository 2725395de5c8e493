//! # Exercise 6: fixed-length records (Part II, chapter 7)
//!
//! The oldest framing of all: every message is exactly `record` bytes, so
//! there is nothing to parse, only to count. Card readers, market-data feeds
//! and many serial devices still work this way.
//!
//! **Task.** Read records of exactly `record` bytes from `r` until the stream
//! ends, and return them in order. The stream must end on a record boundary:
//! if it ends in the middle of a record, return an error of kind
//! `UnexpectedEof` that says how many bytes of the record arrived.
//! `record` is at least 1.
//!
//! **任务。** 最古老的分帧方式：每条消息正好 `record` 字节，不用解析，只需计数。
//! 请从 `r` 读出一条条正好 `record` 字节的记录，直到流结束，按顺序返回。流必须
//! 在记录边界处结束；若在某条记录中途结束，返回 `UnexpectedEof` 错误，并写明
//! 这条记录收到了多少字节。`record` 至少为 1。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

use std::io::{self, Read};

/// Every record of `record` bytes until the end of the stream.
pub fn read_records(r: &mut dyn Read, record: usize) -> io::Result<Vec<Vec<u8>>> {
    todo!("fill one record at a time; 0 bytes at a record's start is the end")
}
