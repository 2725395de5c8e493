//! The Nagle/delayed-ACK ladder of `pitfalls.md`: one reply written in two
//! writes beside the same reply in one.

use std::fmt::Write as _;

use super::canvas::{bytes, esc, FONTS, HALO, STICKY};

/// The Nagle/delayed-ACK ladder: the same reply written in two writes (left)
/// and in one (right). The write sizes are recorded from stage 4's framing
/// code; the waiting is the rule of RFC 896 and RFC 1122, with the delayed-ACK
/// timer's documented values (Linux `TCP_DELACK_MIN`, Windows' default).
pub fn nagle_svg(request: &[usize], two: &[usize], one: &[usize]) -> String {
    let caption = "Nagle + delayed ACK: the reply to `echo hi` · Nagle 算法 + 延迟确认";
    let (width, height) = (900.0, 420.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONTS}\" font-size=\"12\" role=\"img\" \
         aria-labelledby=\"title\">"
    );
    let _ = writeln!(s, "<title id=\"title\">{}</title>", esc(caption));
    let _ = writeln!(
        s,
        "<metadata>Drawn by src/pictures.rs from the writes stage 4's framing code makes; do not \
         edit: redraw with UPDATE_DOCS=1 cargo test --test docs</metadata>"
    );
    let _ = writeln!(
        s,
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
         markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"context-stroke\"/></marker></defs>"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"24\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        esc(caption)
    );
    let request_len: usize = request.iter().sum();
    let arrow = |s: &mut String, x0: f64, y0: f64, x1: f64, y1: f64, colour: &str, label: &str| {
        let _ = writeln!(
            s,
            "<line x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\" stroke=\"{colour}\" \
             stroke-width=\"1.6\" marker-end=\"url(#arrow)\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{colour}\" {HALO}>{}</text>",
            (x0 + x1) / 2.0,
            (y0 + y1) / 2.0 - 8.0,
            esc(label)
        );
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
        for (lx, name) in [(client_x, "client 客户端"), (server_x, "server 服务端")] {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"62\" width=\"100\" height=\"22\" fill=\"#f2f2f2\" stroke=\"#333333\"/>\
                 <text x=\"{lx:.1}\" y=\"77\" text-anchor=\"middle\" font-weight=\"bold\">{name}</text>\
                 <line x1=\"{lx:.1}\" y1=\"84\" x2=\"{lx:.1}\" y2=\"{:.1}\" stroke=\"#888888\" \
                 stroke-dasharray=\"2 3\"/>",
                lx - 50.0,
                height - 16.0
            );
        }
        let blue = "#1f5fa8";
        let orange = "#b35900";
        arrow(
            &mut s,
            client_x,
            104.0,
            server_x,
            124.0,
            blue,
            &format!("request `echo hi` · {}", bytes(request_len)),
        );
        let mut y = 140.0;
        for (w, &len) in writes.iter().enumerate() {
            let label = format!("write {} · {}", w + 1, bytes(len));
            if w == 0 {
                arrow(&mut s, server_x, y, client_x, y + 20.0, orange, &label);
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
                client_x,
                y + wait - 20.0,
                server_x,
                y + wait - 4.0,
                "#555555",
                "ACK · 0 B",
            );
            arrow(
                &mut s,
                server_x,
                y + wait + 4.0,
                client_x,
                y + wait + 24.0,
                orange,
                &label,
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
    s.push_str("</svg>\n");
    s
}
