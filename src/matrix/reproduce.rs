//! The words under the table: the script every cell runs, how to
//! reproduce any cell by hand in three terminals (PowerShell too), and the
//! weather flags of each column. Kept apart from the table: these words
//! follow the command line, not a run's verdicts.

use std::fmt::Write as _;

use common::lang::Lang;

use super::table::pad;
use super::Column;

/// The script and the reproduce lines, told in `lang`. The commands stay
/// as they are typed in both languages.
pub(super) fn reproduce(columns: &[Column], lang: Lang) -> String {
    let mut out = String::from(if lang.is_zh() {
        "\n脚本：`seq 1 400` 然后 `echo hi`（第 2-4 阶段）；两个小文件（第 5-6 阶段）。\n\
         在三个终端里复现任意一格（第 2-4 阶段监听 8008，第 5-6 阶段监听 8080）：\n  \
         1. cargo run -p <stage> -- server\n  \
         2. cargo run -- weather --listen 127.0.0.1:9008 --upstream 127.0.0.1:8008 <flags> --lockstep --verbose\n  \
         3. printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p <stage> -- client --addr 127.0.0.1:9008\n\
         PowerShell 里：第 1 步的服务端加上 --builtin；第 2 步用 --delay-ms 5 代替只在 Linux 上有效的 --lockstep；第 3 步写成\n  \
         3. 'seq 1 400', 'echo hi', 'exit' | cargo run -p <stage> -- client --addr 127.0.0.1:9008\n\
         每一列的选项："
    } else {
        "\nScript: `seq 1 400` then `echo hi` (stages 2-4); two small files (stages 5-6).\n\
         Reproduce a cell in three terminals (stages 2-4 listen on 8008, stages 5-6 on 8080):\n  \
         1. cargo run -p <stage> -- server\n  \
         2. cargo run -- weather --listen 127.0.0.1:9008 --upstream 127.0.0.1:8008 <flags> --lockstep --verbose\n  \
         3. printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p <stage> -- client --addr 127.0.0.1:9008\n\
         In PowerShell: add --builtin to the server (1), use --delay-ms 5 for --lockstep, which needs Linux (2), and\n  \
         3. 'seq 1 400', 'echo hi', 'exit' | cargo run -p <stage> -- client --addr 127.0.0.1:9008\n\
         Flags per column:"
    });
    for column in columns {
        let flags = match &column.weather {
            None => lang
                .pick(
                    "no proxy: the client talks to the server directly",
                    "不经代理：客户端直接连服务端",
                )
                .to_string(),
            Some(w) => w.describe(),
        };
        let name = pad(lang.pick(column.name, column.name_zh), 14, lang);
        let _ = write!(out, "\n  {name}  {flags}");
    }
    out.push('\n');
    if lang.is_zh() {
        let _ = writeln!(
            out,
            "画廊各行（第二部分，`cargo run -p framing-gallery`）：{}。",
            framing_gallery::wire::MATRIX_SCRIPT_ZH
        );
    } else {
        let _ = writeln!(
            out,
            "Gallery rows (Part II, `cargo run -p framing-gallery`): {}.",
            framing_gallery::wire::MATRIX_SCRIPT
        );
    }
    out
}
