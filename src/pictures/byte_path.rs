//! The path of a byte, from the server's `write` to the client's `read`: a
//! row of boxes, drawn with stage 2's own sizes.

use std::fmt::Write as _;

use super::canvas::{bytes, close, esc, fill, Head};

/// The path of a byte from the server's `write` to the client's `read`: five
/// places, with what each keeps and what it forgets. The sizes are stage 2's
/// first reply and the first read the demo made of it.
pub fn byte_path_svg(written: usize, read: usize) -> String {
    let caption = "The path of a byte · 一个字节走过的路";
    let stages: [(&str, &str, [String; 3]); 5] = [
        (
            "server program",
            "服务端程序",
            [
                format!("write_all({})", bytes(written)),
                "one write, one call".into(),
                "一次写入".into(),
            ],
        ),
        (
            "server kernel",
            "服务端内核",
            [
                "send buffer · 发送缓冲区".into(),
                "copied, then returns".into(),
                "拷贝进去就返回".into(),
            ],
        ),
        (
            "TCP segments",
            "TCP 报文段",
            [
                "each ≤ MSS · 每段 ≤ MSS".into(),
                "Nagle may hold small ones".into(),
                "Nagle 可能攒住小段".into(),
            ],
        ),
        (
            "client kernel",
            "客户端内核",
            [
                "receive buffer · 接收缓冲区".into(),
                "bytes only, no boundary".into(),
                "只有字节，没有边界".into(),
            ],
        ),
        (
            "client program",
            "客户端程序",
            [
                format!("read(buf of {read})"),
                "returns what is waiting".into(),
                "返回当时已到的数据".into(),
            ],
        ),
    ];
    let (width, height) = (900.0, 170.0);
    let (box_w, gap, top, box_h) = (160.0, 20.0, 44.0, 110.0);
    let mut s = Head::new(
        (width, height),
        caption,
        "with stage 2's first reply and read",
    )
    .with_arrows()
    .open();
    for (i, (en, zh, lines)) in stages.iter().enumerate() {
        let x = 14.0 + (box_w + gap) * i as f64;
        let cx = x + box_w / 2.0;
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{top}\" width=\"{box_w}\" height=\"{box_h}\" rx=\"6\" fill=\"{}\" \
             stroke=\"#333333\"/><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
             font-weight=\"bold\">{en}</text><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
             font-weight=\"bold\">{zh}</text>",
            fill(i),
            top + 20.0,
            top + 38.0
        );
        for (k, line) in lines.iter().enumerate() {
            let _ = writeln!(
                s,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                top + 62.0 + 17.0 * k as f64,
                esc(line)
            );
        }
        if i + 1 < stages.len() {
            let _ = writeln!(
                s,
                "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333333\" \
                 stroke-width=\"1.6\" marker-end=\"url(#arrow)\"/>",
                x + box_w + 1.0,
                top + box_h / 2.0,
                x + box_w + gap - 1.0,
                top + box_h / 2.0
            );
        }
    }
    close(s)
}
