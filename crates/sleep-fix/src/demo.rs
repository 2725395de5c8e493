//! The demo: stage 2's conversation through this stage's server and client,
//! once without the pause and once with it, each with its boundary timeline.
//!
//! Nothing here is the lesson; it is how the lesson is shown the same way on
//! every run. Both ends live in this process and take turns:
//!
//! - The server's stream is wrapped in [`ServerEnd`], which counts the bytes
//!   the server writes and records each message into the timeline by hand
//!   (an empty output is a message of 0 bytes that no `write` call would
//!   show). When the server's turn is over, it tells the client how many
//!   bytes it has written in all.
//! - The client's stream is wrapped in [`ClientEnd`]: before each read it
//!   waits for the server's word and then until those bytes have reached the
//!   socket ([`wait_for_bytes`]), so every read returns the same bytes on
//!   every run; after each read it tells the server how far it has read.
//! - Without a pause the server's turn is the whole reply, so the client's
//!   one read for the length always finds the digits and the output glued.
//!   With a pause the server's [`ServerConfig::pause_hook`] ends its turn
//!   after the digits, sleeps the pause, and also waits until the client has
//!   read them: the "lucky timing" the classic program hopes for, made
//!   certain, so that even a machine under heavy load prints the same thing.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{wrap, Verdict, EXEC_SCRIPT};
use common::sync::{wait_for_bytes, DEFAULT_SYNC_TIMEOUT};
use common::{spawn_loopback, Tap, Timeline};

use crate::{recv_reply, send_command, serve_connection, ReplyError, ServerConfig, RECV_SIZE};

/// The complete demo: the same conversation without and with the pause,
/// what the pause cost, and how to try it in two terminals.
pub fn demo_transcript() -> io::Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Stage 3, sleep-fix: the length as digits, a pause, then the output\n\n\
         The server answers each command with the output's length as ASCII digits, pauses,\n\
         then sends the output. The client takes ONE read of up to 1024 bytes as the length,\n\
         then reads until it has that many bytes. A real server and client on 127.0.0.1 run\n\
         stage 2's 4 commands twice: without the pause, then with it."
    );
    let _ = writeln!(out);

    let unpaused = run_conversation(Duration::ZERO)?;
    out.push_str(&unpaused.transcript());
    let _ = writeln!(out);

    let pause = crate::DEFAULT_PAUSE;
    let paused = run_conversation(pause)?;
    out.push_str(&paused.transcript());
    let _ = writeln!(out);

    // Computed from the configuration, not measured: a measured duration
    // would differ on every run, and the cost is simply the pause times the
    // number of replies, whatever the machine.
    let cost = pause.as_millis() * paused.replies as u128;
    let _ = writeln!(
        out,
        "What the pause cost: {} replies x {} ms = {cost} ms spent sleeping, on top of\n\
         running the commands; the empty reply to `true` paid it too.",
        paused.replies,
        pause.as_millis()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Why this is not a fix: the pause is a bet on timing. It works only if the client\n\
         reads the digits before the output arrives; a slower or busier network, a client\n\
         that is not scheduled in time, or a proxy that buffers loses the bet, and the reply\n\
         is misread as it was without the pause. The digits are also read with a single\n\
         recv: a network that delivers \"14\" and \"92\" separately (a split) breaks the\n\
         client too. Stage 4 (length-header-fix) replaces the bet with a 4-byte header read\n\
         in a loop."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Try it in two terminals:");
    let _ = writeln!(out, "    cargo run -p sleep-fix -- server --pause-ms 0");
    let _ = writeln!(
        out,
        "    printf 'seq 1 400\\necho hi\\nexit\\n' | cargo run -p sleep-fix -- client"
    );
    let _ = writeln!(
        out,
        "Without the pause, whether the digits glue depends on timing: run the client a few\n\
         times. Then restart the server without --pause-ms (100 ms) and run it again."
    );
    Ok(out)
}

/// One run of the conversation with this pause: what the client printed,
/// the boundary timeline (server -> client) and the verdict.
pub fn conversation_transcript(pause: Duration) -> io::Result<String> {
    Ok(run_conversation(pause)?.transcript())
}

/// What one run produced.
struct Run {
    pause: Duration,
    /// What the client printed, one line per event.
    client: String,
    timeline: Timeline,
    /// Replies the client read whole.
    replies: usize,
}

impl Run {
    fn transcript(&self) -> String {
        let mut out = String::new();
        let heading = format!("--- with --pause-ms {} ---", self.pause.as_millis());
        let _ = writeln!(out, "{heading}");
        out.push_str(&self.client);
        let _ = writeln!(out);
        out.push_str(&self.timeline.render());
        match self.verdict() {
            (Verdict::Intact, why) => {
                out.push_str(&wrap(&format!("Verdict: intact: {why}"), 84, "", "  "));
            }
            (Verdict::Broken(why), _) => {
                out.push_str(&wrap(&format!("Verdict: broken: {why}"), 84, "", "  "));
            }
        }
        out
    }

    /// The verdict, from the timeline's analysis (never hard-coded), and for
    /// an intact run the reason it is intact.
    fn verdict(&self) -> (Verdict, String) {
        let messages = self.timeline.messages();
        let analysis = self.timeline.analysis();
        // The server records every reply as two messages: its length, then
        // its output. Even indices are lengths.
        let is_length = |i: usize| i % 2 == 0;
        let name = |i: usize| format!("the {}", messages[i].label);

        let mut problems = Vec::new();
        if let Some((r, read)) = analysis
            .reads
            .iter()
            .enumerate()
            .find(|(_, v)| v.is_sticky())
        {
            let parts: Vec<String> = read
                .pieces
                .iter()
                .map(|p| {
                    let len = messages[p.message].len;
                    if p.start == 0 && p.end == len {
                        format!("all {len} bytes of {}", name(p.message))
                    } else {
                        format!("bytes {}..{} of {}", p.start, p.end, name(p.message))
                    }
                })
                .collect();
            problems.push(format!(
                "read {} returned {}: the digits and the output glued, so the length no longer \
                 parses",
                r + 1,
                parts.join(" and ")
            ));
        }
        for (i, reads) in analysis.carried_by.iter().enumerate() {
            if is_length(i) && reads.len() > 1 {
                problems.push(format!(
                    "{} was cut across reads {}: the client took the first piece for the whole \
                     length",
                    name(i),
                    join_numbers(reads)
                ));
            }
        }
        if analysis.unread > 0 {
            problems.push(format!("{} bytes were never read", analysis.unread));
        }
        if problems.is_empty() && self.replies < EXEC_SCRIPT.len() {
            problems.push(format!(
                "the conversation stopped after {} of {} replies",
                self.replies,
                EXEC_SCRIPT.len()
            ));
        }
        if !problems.is_empty() {
            return (Verdict::Broken(problems.join("; ")), String::new());
        }

        let reassembled: Vec<String> = analysis
            .carried_by
            .iter()
            .enumerate()
            .filter(|(i, reads)| !is_length(*i) && reads.len() > 1)
            .map(|(i, reads)| format!("{} took reads {}", name(i), join_numbers(reads)))
            .collect();
        let mut why = String::from("every length arrived alone in a read of its own");
        if !reassembled.is_empty() {
            why.push_str(&format!(
                ", and the client's loop put every reply back together ({})",
                reassembled.join(", ")
            ));
        }
        (Verdict::Intact, why)
    }
}

fn join_numbers(numbers: &[usize]) -> String {
    let list: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
    list.join(", ")
}

/// Runs [`EXEC_SCRIPT`] against a fresh server with this pause, both ends
/// synchronised turn by turn.
fn run_conversation(pause: Duration) -> io::Result<Run> {
    let timeline = Timeline::new("server -> client");
    let (turn_tx, turn_rx) = mpsc::channel();
    let (ack_tx, ack_rx) = mpsc::channel();
    let side = Arc::new(Mutex::new(ServerSide {
        timeline: timeline.clone(),
        written: 0,
        recorded: 0,
        command: String::new(),
        output_pending: false,
        turn_over: turn_tx,
        client_read: ack_rx,
    }));
    let hook_side = Arc::clone(&side);
    let config = ServerConfig {
        pause,
        pause_hook: Some(Arc::new(move |pause| pause_in_turns(&hook_side, pause))),
        ..ServerConfig::default()
    };
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        serve_connection(ServerEnd { stream, side }, &config)
    })?;

    let stream = TcpStream::connect(server.addr())?;
    let writer = stream.try_clone()?;
    let mut reader = ClientEnd {
        tap: Tap::new(stream)
            .record_reads(timeline.clone())
            .max_read(RECV_SIZE),
        written: 0,
        consumed: 0,
        turns: turn_rx,
        read_so_far: ack_tx,
    };

    let mut client = String::new();
    let mut replies = 0;
    for (i, cmd) in EXEC_SCRIPT.iter().enumerate() {
        let _ = writeln!(client, "> {cmd}");
        send_command(&writer, cmd)?;
        match recv_reply(&mut reader) {
            Ok(reply) => {
                replies += 1;
                client.push_str(&show_reply(&reply));
            }
            // The demo's own plumbing failed: that is not the lesson, so
            // it is an error rather than a line in the transcript.
            Err(ReplyError::Io(e)) => return Err(e),
            Err(e) => {
                // The error is one long line; break it after its first
                // clause so the transcript stays readable.
                let message = e.to_string().replacen("; ", ";\n        ", 1);
                let _ = writeln!(client, "client: {message}");
                let _ = writeln!(
                    client,
                    "client: the conversation cannot go on: the client no longer knows where a \
                     reply starts\n        (whatever it reads next could be digits or output), \
                     so it closes the connection."
                );
                let rest: Vec<String> = EXEC_SCRIPT[i + 1..]
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect();
                if !rest.is_empty() {
                    let _ = writeln!(client, "client: never sent: {}", rest.join(", "));
                }
                break;
            }
        }
    }
    // Closing both handles of the client's socket ends the server's
    // connection; joining makes sure it has recorded everything it wrote.
    drop(reader);
    drop(writer);
    server.join()?;
    Ok(Run {
        pause,
        client,
        timeline,
        replies,
    })
}

/// A reply as the demo client shows it: the text (a long one shortened to
/// its first and last lines) and how many bytes it was.
fn show_reply(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    if lines.len() > 8 {
        for line in &lines[..3] {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "... ({} more lines) ...", lines.len() - 6);
        for line in &lines[lines.len() - 3..] {
            let _ = writeln!(out, "{line}");
        }
    } else {
        for line in &lines {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = match reply.len() {
        0 => writeln!(
            out,
            "(the length was \"0\": the command printed nothing, and this time the client \
             knew not to wait)"
        ),
        n => writeln!(out, "({n} bytes, as many as the length said)"),
    };
    out
}

/// The server end's half of the turn-taking, shared by [`ServerEnd`] and
/// the pause hook (both run on the server's thread).
struct ServerSide {
    timeline: Timeline,
    /// Bytes the server has written in all.
    written: usize,
    /// Bytes already recorded as messages in the timeline.
    recorded: usize,
    /// The command being answered, for the messages' labels.
    command: String,
    /// The digits are recorded, the output not yet.
    output_pending: bool,
    /// "My turn is over; I have written this many bytes in all."
    turn_over: Sender<usize>,
    /// "I have read this many bytes in all", from the client.
    client_read: Receiver<usize>,
}

impl ServerSide {
    fn record(&mut self, label: String) {
        self.timeline
            .sent_labeled(label, self.written - self.recorded);
        self.recorded = self.written;
    }

    fn end_turn(&self) {
        // The client may already be gone (run 1 hangs up): nothing to tell.
        let _ = self.turn_over.send(self.written);
    }
}

fn lock(side: &Mutex<ServerSide>) -> MutexGuard<'_, ServerSide> {
    // Only this module's code runs under the lock; keep going after a panic.
    side.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The demo's pause: the digits are written; record them, and if there is a
/// pause, end the server's turn, sleep the pause, and also wait (bounded)
/// until the client has read the digits, which the classic program only
/// hopes for.
fn pause_in_turns(side: &Mutex<ServerSide>, pause: Duration) {
    let mut side = lock(side);
    let label = format!("length of reply to `{}`", side.command);
    side.record(label);
    side.output_pending = true;
    if pause.is_zero() {
        // No pause: the turn goes on with the output, so the client reads
        // only once both are written.
        return;
    }
    side.end_turn();
    thread::sleep(pause);
    let deadline = Instant::now() + DEFAULT_SYNC_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match side.client_read.recv_timeout(left) {
            // Reports from earlier reads are stale; wait for the one that
            // covers everything written so far, the digits included.
            Ok(read) if read >= side.written => break,
            Ok(_) => {}
            // The client is gone or far too slow: carry on like the classic
            // server would; the transcript will show what happened.
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// The server's stream in the demo: counts what the server writes and ends
/// its turn when it goes back to reading the next command.
struct ServerEnd {
    stream: TcpStream,
    side: Arc<Mutex<ServerSide>>,
}

impl Read for ServerEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        {
            let mut side = lock(&self.side);
            if side.output_pending {
                let label = format!("reply to `{}`", side.command);
                side.record(label);
                side.output_pending = false;
                side.end_turn();
            }
        }
        let n = self.stream.read(buf)?;
        if n > 0 {
            lock(&self.side).command = String::from_utf8_lossy(&buf[..n]).into_owned();
        }
        Ok(n)
    }
}

impl Write for ServerEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        lock(&self.side).written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The client's stream in the demo: every read waits for the server's turn
/// to end and for its bytes to arrive, then reads through the timeline tap.
struct ClientEnd {
    tap: Tap<TcpStream>,
    /// Bytes the server has written in all, as far as it has told us.
    written: usize,
    /// Bytes the client has read in all.
    consumed: usize,
    turns: Receiver<usize>,
    read_so_far: Sender<usize>,
}

impl Read for ClientEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.written <= self.consumed {
            match self.turns.recv_timeout(DEFAULT_SYNC_TIMEOUT) {
                Ok(total) => self.written = self.written.max(total),
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "demo sync: the server never ended its turn",
                    ))
                }
            }
        }
        let want = buf.len().min(RECV_SIZE).min(self.written - self.consumed);
        wait_for_bytes(self.tap.get_ref(), want, DEFAULT_SYNC_TIMEOUT)?;
        let n = self.tap.read(buf)?;
        self.consumed += n;
        // The server may have stopped listening for this (no pause): fine.
        let _ = self.read_so_far.send(self.consumed);
        Ok(n)
    }
}
