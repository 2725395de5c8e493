//! The client/server sequence pictures of stages 5 and 6: time runs down,
//! every message or answer one arrow.

use common::timeline::Message;

use super::canvas::{arrow, bytes, close, Head, Lifelines, TO_CLIENT, TO_SERVER};

/// One arrow of a sequence picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// True from client to server, false from server to client.
    pub from_client: bool,
    /// What the arrow says.
    pub label: String,
}

impl Step {
    pub(super) fn sent(index: usize, m: Message) -> Self {
        Self {
            from_client: true,
            label: format!("M{} · {} · {}", index + 1, bytes(m.len), m.label),
        }
    }

    pub(super) fn answer(code: &str) -> Self {
        Self {
            from_client: false,
            label: format!("\"{code}\" · {}", bytes(code.len())),
        }
    }
}

/// Draws a client/server sequence: time runs down, every step an arrow.
pub fn sequence_svg(steps: &[Step], caption: &str) -> String {
    let width = 900.0;
    let (client_x, server_x) = (170.0, 730.0);
    let top = 74.0;
    let step_h = 26.0;
    let height = top + step_h * steps.len() as f64 + 30.0;
    let mut s = Head::new(
        (width, height),
        caption,
        "from the demo's timeline and transcript",
    )
    .with_arrows()
    .open();
    let lifelines = Lifelines {
        top: 36.0,
        box_w: 120.0,
        box_h: 26.0,
        baseline: 54.0,
        bottom: height - 12.0,
    };
    lifelines.draw(&mut s, client_x, "client 客户端");
    lifelines.draw(&mut s, server_x, "server 服务端");
    for (i, step) in steps.iter().enumerate() {
        let y = top + step_h * i as f64;
        let (x0, x1, colour) = if step.from_client {
            (client_x, server_x, TO_SERVER)
        } else {
            (server_x, client_x, TO_CLIENT)
        };
        // The label sits 5 px above the arrow's middle: 1 px below where it starts.
        arrow(&mut s, (x0, y), (x1, y + 12.0), colour, &step.label, 5.0);
    }
    close(s)
}
