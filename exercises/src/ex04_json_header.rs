//! # Exercise 4: read stage 5's JSON file info whole (stage 5)
//!
//! Stage 5's server takes one `read` of up to 1024 bytes as the JSON
//! `{"action":"put","filename":"a.txt","filesize":5}`. When the JSON arrives
//! in two pieces, the first read holds half of it and the upload fails.
//! There is no length prefix, so the only way to know where the JSON ends is
//! to read it: it ends at the `}` that closes the first `{`.
//!
//! **Task.** Read from `r` until you have one complete JSON object and return
//! its bytes, from `{` to the matching `}`.
//! - Never read a byte past the closing `}`: the bytes behind it belong to
//!   someone else. (Reading one byte at a time is fine here: the JSON is
//!   short.)
//! - A `}` or `{` inside a string does not count, and neither does `\"`
//!   (an escaped quote, which does not end the string). File names can hold
//!   braces.
//! - More than 1024 bytes without the end: an error of kind `InvalidData`.
//! - The stream ends first: an error of kind `UnexpectedEof`.
//! - Anything before the `{` other than whitespace: `InvalidData`.
//!
//! **任务。** 第 5 阶段的服务器把一次最多 1024 字节的 `read` 当成整个 JSON。
//! JSON 分两段到达时，第一次读只拿到一半，上传就失败了。这里没有长度前缀，
//! 要知道 JSON 在哪里结束，只能边读边看：它结束于与第一个 `{` 配对的 `}`。
//! 请从 `r` 读出一个完整的 JSON 对象，返回从 `{` 到配对 `}` 的字节。
//! - 绝不能读过结尾的 `}`：后面的字节属于别人。（这里逐字节读没问题，JSON 很短。）
//! - 字符串里的 `{`、`}` 不算数，转义的引号 `\"` 也不结束字符串；文件名里可以有花括号。
//! - 超过 1024 字节还没结束：返回 `InvalidData` 错误。
//! - 流先结束了：返回 `UnexpectedEof` 错误。
//! - `{` 之前出现空白以外的字符：返回 `InvalidData`。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

use std::io::{self, Read};

/// The longest file info accepted, as stage 5's one read of 1024 bytes.
pub const MAX_INFO: usize = 1024;

/// One whole JSON object's bytes, read without reading past its end.
pub fn read_file_info(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    todo!("read one byte at a time; track depth, inside-a-string and escapes")
}
