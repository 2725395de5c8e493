//! # Exercise 3: fix stage 2's client (stages 2 and 4)
//!
//! Stage 2's client takes one `read` of up to 1024 bytes as the whole reply.
//! The output of `seq 1 400` is 1,492 bytes, so it cannot fit, and what is
//! left of it glues onto the reply to the next command, `echo hi`.
//!
//! In this exercise the server speaks stage 4's protocol both ways: the
//! request is a frame holding the command line, and the reply is a frame
//! holding the command's output (4-byte little-endian signed length, then
//! the bytes). Sending is already right below. Reading is stage 2's.
//!
//! **Task.** Fix the reading so that every reply comes back whole: the
//! output of `seq 1 400` (all 1,492 bytes), then `hi\n` for `echo hi`, on the
//! same connection, however the network cuts the bytes. Return only the
//! output, not the header. A reply with no output is an empty frame: return
//! an empty `Vec`. A reply over 1 MiB is an error of kind `InvalidData`.
//!
//! **任务。** 第 2 阶段的客户端把一次最多 1024 字节的 `read` 当成完整回复。
//! `seq 1 400` 的输出有 1492 字节，一次装不下，剩下的部分会粘到下一条命令
//! `echo hi` 的回复前面。本练习的服务器两个方向都用第 4 阶段的协议：请求是
//! 一帧命令行，回复是一帧命令输出（4 字节小端有符号长度，再跟正文）。下面的
//! 发送部分已经是对的，读取部分还是第 2 阶段的写法。请修好读取：同一个连接上，
//! 不管网络把字节怎么切，`seq 1 400` 的 1492 字节和 `echo hi` 的 `hi\n` 都要
//! 完整取回。只返回输出，不要报头；没有输出的回复是空帧，返回空 `Vec`；超过
//! 1 MiB 的回复返回 `InvalidData` 错误。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

use std::io::{self, Read, Write};

use crate::Conn;

/// Sends `command` as one frame and returns the output in the reply's frame.
pub fn run_command(stream: &mut dyn Conn, command: &str) -> io::Result<Vec<u8>> {
    // Sending is already right: the 4-byte header and the command in one write.
    let len = i32::try_from(command.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "command too long"))?;
    let mut request = len.to_le_bytes().to_vec();
    request.extend_from_slice(command.as_bytes());
    stream.write_all(&request)?;

    // Stage 2's read: one read of up to 1024 bytes, taken as the whole reply.
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf)?;
    Ok(buf[..n].to_vec())
}
