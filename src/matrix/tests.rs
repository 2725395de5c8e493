//! The Chinese retelling of the wordings the matrix snapshot cannot show:
//! the run's cells are fixed, so the other templates are tried here.

use super::reasons::{reason_in, retell};
use common::lang::Lang;

/// The wordings the matrix snapshot does not show (the cells are
/// fixed) are retold too, and text no template fits stays as it was.
#[test]
fn reasons_are_retold_in_chinese() {
    let zh = |why: &str| reason_in(why, Lang::Zh);
    assert_eq!(
        zh("reply 1 cut at 1024 bytes"),
        "回复 1 在第 1024 字节处被拆开（拆包）"
    );
    assert_eq!(zh("reply 2: frame too large"), "回复 2：frame too large");
    assert_eq!(zh("file 1: checksum mismatch"), "文件 1：checksum mismatch");
    assert_eq!(zh("message 2 arrived as 7 B"), "消息 2 到达时成了 7 字节");
    assert_eq!(zh("server never saw the close"), "服务端没等到连接关闭");
    assert_eq!(zh("server task: panicked"), "服务端任务：panicked");
    assert_eq!(zh("something new"), "something new");
    assert_eq!(reason_in("reply 2 wrong", Lang::En), "reply 2 wrong");
    // A template matches the whole text, not a prefix of it.
    assert_eq!(retell("reply 2 wrong again", "reply {} wrong", "{0}"), None);
}
