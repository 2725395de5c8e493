//! What the demos share: the scripted conversation of the remote-execution
//! stages, and the verdict a stage gives when it is put through a network.

use std::time::Duration;

/// The conversation stages 2, 3 and 4 all run, so that their transcripts can
/// be read side by side: one reply longer than a 1,024-byte read, then short
/// ones, and a command with no output at all (a stream has no empty message).
pub const EXEC_SCRIPT: &[&str] = &["seq 1 400", "echo hi", "true", "echo bye"];

/// How long a demo client waits for a reply that may never come (stage 2's
/// command with no output). Short, so demos finish in well under a second;
/// the two-terminal client uses a couple of seconds instead.
pub const DEMO_READ_TIMEOUT: Duration = Duration::from_millis(150);

/// Did every message of a conversation arrive intact and in order?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every message arrived whole, in order.
    Intact,
    /// Something went wrong, in a few words: "reply 2 shows reply 1's tail".
    Broken(String),
}

impl Verdict {
    /// True when every message arrived whole.
    pub fn is_intact(&self) -> bool {
        matches!(self, Verdict::Intact)
    }
}
