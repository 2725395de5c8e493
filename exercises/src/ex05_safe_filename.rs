//! # Exercise 5: an upload refuses `../` (stages 5 and 6)
//!
//! The upload's JSON names the file the server writes. A client that sends
//! `../../.bashrc` writes outside the upload folder unless the server
//! refuses it. The server must accept a *plain file name* only.
//!
//! **Task.** Return `Ok(())` for a plain file name and `Err(reason)` for
//! anything else. Refuse:
//! - an empty name, or one longer than 255 bytes;
//! - `.` and `..`;
//! - any `/`, `\` or `:` (paths, drives like `C:x`, NTFS streams);
//! - any control character, NUL included;
//! - a name ending in `.` or a space (Windows strips them);
//! - a Windows device name, in any case, with or without an extension:
//!   `CON`, `PRN`, `AUX`, `NUL`, `COM1`-`COM9`, `LPT1`-`LPT9` (`nul.txt` too).
//!
//! Accept everything else: `a.txt`, `.hidden`, `a..b`, `report 2024.pdf`,
//! `粘包.txt`.
//!
//! **任务。** 上传的 JSON 里写着服务器要写的文件名。客户端发来
//! `../../.bashrc`，服务器若不拒绝，就会写到上传目录之外。服务器只能接受
//! *纯文件名*：是纯文件名返回 `Ok(())`，否则返回 `Err(原因)`。要拒绝：
//! 空名字或超过 255 字节；`.` 和 `..`；含 `/`、`\` 或 `:`；含控制字符（包括
//! NUL）；以 `.` 或空格结尾（Windows 会把它们去掉）；Windows 设备名，不分
//! 大小写，带不带扩展名都算：`CON`、`PRN`、`AUX`、`NUL`、`COM1`-`COM9`、
//! `LPT1`-`LPT9`（`nul.txt` 也算）。其余都接受，例如 `a.txt`、`.hidden`、
//! `a..b`、`report 2024.pdf`、`粘包.txt`。
//!
//! Check your answer / 检查答案: `cargo run -- exercises`

/// `Ok(())` for a plain file name, else why it is refused.
pub fn check_filename(name: &str) -> Result<(), String> {
    todo!("refuse empty, too long, . and .., separators, control characters, ...")
}
