//! The Nagle/delayed-ACK ladder of `pitfalls.md`: one reply written in two
//! writes beside the same reply in one.

use std::fmt::Write as _;

use super::canvas::{arrow, bytes, close, esc, Head, Lifelines, STICKY, TO_CLIENT, TO_SERVER};

/// The Nagle/delayed-ACK ladder: the same reply written in two writes (left)
/// and in one (right). The write sizes are recorded from stage 4's framing
/// code; the waiting is the rule of RFC 896 and RFC 1122, with the delayed-ACK
/// timer's documented values (Linux `TCP_DELACK_MIN`, Windows' default).
pub fn nagle_svg(request: &[usize], two: &[usize], one: &[usize]) -> String {
    let caption = "Nagle + delayed ACK: the reply to `echo hi` · Nagle 算法 + 延迟确认";
    let (width, height) = (900.0, 420.0);
    let mut s = Head::new(
        (width, height),
        caption,
        "from the writes stage 4's framing code makes",
    )
    .with_arrows()
    .with_caption_px(14)
    .open();
    let request_len: usize = request.iter().sum();
    // Arrows here slope over a long way: their labels sit higher above them.
    let lift = 8.0;
    let lifelines = Lifelines {
        top: 62.0,
        box_w: 100.0,
        box_h: 22.0,
        baseline: 77.0,
        bottom: height - 16.0,
    };
    for (panel, (title, writes)) in [
        (format!("{} writes · {} 次写入", two.len(), two.len()), two),
        (format!("{} write · {} 次写入", one.len(), one.len()), one),
    ]
    .into_iter()
    .enumerate()
    {
        let x = 12.0 + 444.0 * panel as f64;
        let (client_x, server_x) = (x + 60.0, x + 370.0);
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"52\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{}</text>",
            x + 215.0,
            esc(&title)
        );
        lifelines.draw(&mut s, client_x, "client 客户端");
        lifelines.draw(&mut s, server_x, "server 服务端");
        arrow(
            &mut s,
            (client_x, 104.0),
            (server_x, 124.0),
            TO_SERVER,
            &format!("request `echo hi` · {}", bytes(request_len)),
            lift,
        );
        let mut y = 140.0;
        for (w, &len) in writes.iter().enumerate() {
            let label = format!("write {} · {}", w + 1, bytes(len));
            if w == 0 {
                arrow(
                    &mut s,
                    (server_x, y),
                    (client_x, y + 20.0),
                    TO_CLIENT,
                    &label,
                    lift,
                );
                y += 36.0;
                continue;
            }
            // A later small write while the first is unacknowledged: held.
            let wait = 150.0;
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"14\" height=\"{wait:.1}\" fill=\"#f6cfe0\" stroke=\"{STICKY}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{STICKY}\">{} held: Nagle</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{STICKY}\">waits for the ACK</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{STICKY}\">Nagle 攒住，等确认</text>",
                server_x - 7.0,
                server_x - 12.0,
                y + 18.0,
                esc(&label),
                server_x - 12.0,
                y + 34.0,
                server_x - 12.0,
                y + 50.0
            );
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"14\" height=\"{:.1}\" fill=\"#fff1a8\" stroke=\"#8a6d00\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a6d00\">delayed ACK · 延迟确认</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a6d00\">Linux ≥ 40 ms (TCP_DELACK_MIN)</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a6d00\">Windows 200 ms · RFC 1122 &lt; 500 ms</text>",
                client_x - 7.0,
                y - 16.0,
                wait - 4.0,
                client_x + 14.0,
                y + 66.0,
                client_x + 14.0,
                y + 82.0,
                client_x + 14.0,
                y + 98.0
            );
            arrow(
                &mut s,
                (client_x, y + wait - 20.0),
                (server_x, y + wait - 4.0),
                "#555555",
                "ACK · 0 B",
                lift,
            );
            arrow(
                &mut s,
                (server_x, y + wait + 4.0),
                (client_x, y + wait + 24.0),
                TO_CLIENT,
                &label,
                lift,
            );
            y += wait + 40.0;
        }
        if writes.len() == 1 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#2e7d32\" font-weight=\"bold\">\
                 header + body in one write: nothing to wait for</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#2e7d32\" font-weight=\"bold\">\
                 报头和数据一起写出：不用等</text>",
                (client_x + server_x) / 2.0,
                y + 10.0,
                (client_x + server_x) / 2.0,
                y + 28.0
            );
        }
    }
    close(s)
}
