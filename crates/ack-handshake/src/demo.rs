//! The demo: three files uploaded over one connection with the handshake, then
//! the weakness it leaves (the file info is taken from ONE read), then a name
//! the server refuses.
//!
//! Both ends run in this process on `127.0.0.1:0`, and the server's side is
//! the real [`handle_connection`]. What one read returns depends on what has
//! arrived, so the demo synchronises the two ends turn by turn (see
//! [`common::sync`]): the client reports how many bytes it has finished
//! writing (on `flush`, so that a client that writes two pieces back to back
//! reports them together), and before every read the server waits until those
//! bytes are all in its socket. A read then returns the same bytes on every
//! run, and so does the transcript. None of this is part of the lesson: a real
//! server has no idea what the client wrote, which is the whole problem.

use crate::{
    handle_connection, info_shape, upload, wait_for_ack, FileInfo, InfoShape, ReceiveError,
    Received, ServerConfig, UploadError, INFO_READ_SIZE,
};
use common::sync::{wait_for_bytes, DEFAULT_SYNC_TIMEOUT};
use common::{spawn_loopback, Tap, Timeline};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};

/// The three files of part 1: fixed contents of three different small sizes,
/// one of them larger than a 1,024-byte read.
fn demo_files() -> Vec<(&'static str, Vec<u8>)> {
    let notes: String = (1..=8)
        .map(|i| format!("note {i}: the size goes first, the bytes follow\n"))
        .collect();
    vec![
        ("hello.txt", b"hello, world\n".to_vec()),
        ("notes.txt", notes.into_bytes()),
        (
            "data.bin",
            (0..1500u32).map(|i| (i * 7 % 251) as u8).collect(),
        ),
    ]
}

/// The client's end: writes go to the socket and are reported to the server's
/// end when flushed.
struct ReportWrites {
    stream: TcpStream,
    unreported: usize,
    written: Sender<usize>,
}

impl Read for ReportWrites {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for ReportWrites {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.unreported += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()?;
        if self.unreported > 0 {
            // The server's end may be gone already (it refused and closed):
            // then nobody needs the report.
            let _ = self.written.send(self.unreported);
            self.unreported = 0;
        }
        Ok(())
    }
}

/// The server's end: before every read, waits until every byte the client has
/// reported is in the socket, then tells the client the read is done.
struct AwaitWrites {
    stream: TcpStream,
    written: Receiver<usize>,
    reported: usize,
    consumed: usize,
    reads: Sender<usize>,
}

impl Read for AwaitWrites {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while let Ok(n) = self.written.try_recv() {
            self.reported += n;
        }
        // Nothing reported that is not read yet: the client's next turn has
        // not come. Wait for it, or for the client to hang up (then the read
        // below returns end of stream).
        while self.reported == self.consumed {
            match self.written.recv_timeout(DEFAULT_SYNC_TIMEOUT) {
                Ok(n) => self.reported += n,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "demo sync: the client never took its turn",
                    ))
                }
            }
        }
        let want = buf.len().min(self.reported - self.consumed);
        wait_for_bytes(&self.stream, want, DEFAULT_SYNC_TIMEOUT)?;
        let n = self.stream.read(buf)?;
        self.consumed += n;
        let _ = self.reads.send(n);
        Ok(n)
    }
}

impl Write for AwaitWrites {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The client's end of one demo connection.
struct ClientEnd {
    /// Writes recorded into the client -> server timeline, one message per write.
    stream: Tap<ReportWrites>,
    /// One report per server read.
    server_reads: Receiver<usize>,
}

impl ClientEnd {
    /// Blocks until the server has made its next read.
    fn wait_for_server_read(&self) -> io::Result<()> {
        self.server_reads
            .recv_timeout(DEFAULT_SYNC_TIMEOUT)
            .map(|_| ())
            .map_err(|_| io::Error::other("demo sync: the server never made its read"))
    }
}

/// What one demo connection produced.
struct Outcome<T> {
    client: T,
    server: Result<Vec<Received>, ReceiveError>,
    /// Client -> server: the messages and the server's reads.
    c2s: Timeline,
    /// Server -> client: the server's answers.
    s2c: Timeline,
}

/// Runs one connection: the real [`handle_connection`] on a server thread,
/// `client` on this one, both synchronised as the module explains.
fn run_connection<T>(
    config: &ServerConfig,
    labels: Vec<String>,
    client: impl FnOnce(&mut ClientEnd) -> io::Result<T>,
) -> io::Result<Outcome<T>> {
    let c2s = Timeline::with_labels("client -> server", labels);
    let s2c = Timeline::new("server -> client");
    let (written_tx, written_rx) = mpsc::channel();
    let (reads_tx, reads_rx) = mpsc::channel();
    let server_config = config.clone();
    let (server_c2s, server_s2c) = (c2s.clone(), s2c.clone());
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        let synced = AwaitWrites {
            stream,
            written: written_rx,
            reported: 0,
            consumed: 0,
            reads: reads_tx,
        };
        let tapped = Tap::new(synced)
            .record_reads(server_c2s)
            .record_writes(server_s2c)
            .max_read(INFO_READ_SIZE);
        Ok(handle_connection(tapped, &server_config))
    })?;
    let stream = TcpStream::connect(server.addr())?;
    // The client writes a file's bytes and the next info back to back; Nagle
    // would hold the info until the bytes are acknowledged.
    stream.set_nodelay(true)?;
    let mut end = ClientEnd {
        stream: Tap::new(ReportWrites {
            stream,
            unreported: 0,
            written: written_tx,
        })
        .record_writes(c2s.clone()),
        server_reads: reads_rx,
    };
    let result = client(&mut end);
    // Hanging up (and dropping the report channel) lets the server's last
    // read return end of stream even when the client failed half way.
    drop(end);
    let server = server.join()?;
    Ok(Outcome {
        client: result?,
        server,
        c2s,
        s2c,
    })
}

/// Writes `who: text`, wrapped at [`WIDTH`] columns, continuation lines
/// indented under the text, so long log lines stay readable in a terminal.
fn say(out: &mut String, who: &str, text: &str) {
    let indent = who.chars().count() + 2;
    let mut line = format!("{who}:");
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            let _ = writeln!(out, "{line}");
            line = " ".repeat(indent - 1);
        }
        line.push(' ');
        line.push_str(word);
        empty = false;
    }
    let _ = writeln!(out, "{line}");
}

/// Transcript lines are wrapped at this many columns.
const WIDTH: usize = 88;

fn demo_error(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("demo: {what}: {e}"))
}

/// The complete demo output, identical on every run.
pub fn demo_transcript() -> io::Result<String> {
    let folder = tempfile::tempdir()?;
    let config = ServerConfig::new(folder.path().join("put"));
    let mut out = String::new();
    intro(&mut out);
    let part1_ok = three_files(&mut out, &config)?;
    let cut = info_cut_in_half(&mut out, &config)?;
    let glued = client_does_not_wait(&mut out, &config)?;
    let refused = path_as_name(&mut out, &config)?;
    folder_contents(&mut out, &config)?;

    let _ = writeln!(out, "\nVerdict");
    let _ = writeln!(
        out,
        "  handshake: {}",
        if part1_ok {
            "3 files on one connection arrived byte-identical, 1 round trip each"
        } else {
            "FAILED: the files did not arrive intact"
        }
    );
    let broke = |yes: bool| if yes { "broke it" } else { "did NOT break it" };
    let _ = writeln!(
        out,
        "  weakness:  the info is still taken from one read: a split info {} (2a),\n\
         \x20            a client that does not wait {} (2b)",
        broke(cut),
        broke(glued)
    );
    let _ = writeln!(
        out,
        "  safety:    a path as a file name was {}",
        if refused {
            "refused, nothing written"
        } else {
            "NOT refused"
        }
    );
    let _ = writeln!(
        out,
        "  next:      stage 6 (md5-upload) sends the info's length first and reads every\n\
         \x20            piece with a read-exactly loop"
    );
    Ok(out)
}

fn intro(out: &mut String) {
    let _ = writeln!(
        out,
        "Stage 5, ack-handshake: send the file info, wait for the server's 200, then the bytes.\n\
         \n\
         Wire format, per file, several files on one connection:\n\
         \x20 client -> server  {{\"action\":\"put\",\"filename\":NAME,\"filesize\":N}}  (no length prefix)\n\
         \x20 server -> client  200  (3 bytes)\n\
         \x20 client -> server  exactly N bytes of the file\n\
         The server takes the file info from ONE read of up to {INFO_READ_SIZE} bytes, then reads\n\
         exactly N bytes, never one more: the next file's info may already be behind them."
    );
}

/// Part 1: the handshake at work.
fn three_files(out: &mut String, config: &ServerConfig) -> io::Result<bool> {
    let files = demo_files();
    let _ = writeln!(out, "\n1. Three files on one connection");
    let labels = files
        .iter()
        .flat_map(|(name, _)| [format!("file info for {name}"), format!("bytes of {name}")])
        .collect();
    let uploads = files.clone();
    let outcome = run_connection(config, labels, move |client| {
        for (name, data) in &uploads {
            upload(&mut client.stream, name, &data[..], data.len() as u64)
                .map_err(|e| demo_error(&format!("uploading {name}"), e))?;
        }
        Ok(())
    })?;
    let received = outcome
        .server
        .map_err(|e| demo_error("the server refused a good upload", e))?;
    for ((name, data), file) in files.iter().zip(&received) {
        let info = FileInfo::put(*name, data.len() as u64);
        let _ = writeln!(out, "client: put {name} ({} bytes)", data.len());
        let _ = writeln!(
            out,
            "  -> file info {}",
            String::from_utf8_lossy(&info.to_json())
        );
        let _ = writeln!(out, "  <- 200");
        let _ = writeln!(out, "  -> {} bytes", data.len());
        let _ = writeln!(out, "server: received {} ({} bytes)", file.name, file.size);
    }
    let acks = outcome.s2c.messages().len();
    let _ = writeln!(
        out,
        "cost: 1 round trip (info -> 200) before each file's bytes: {} files, {acks} round trips",
        files.len()
    );
    let _ = writeln!(out);
    out.push_str(&outcome.c2s.render());

    // Every file info (the even messages) must have come alone in one read.
    let analysis = outcome.c2s.analysis();
    let info_alone = analysis
        .carried_by
        .iter()
        .step_by(2)
        .all(|reads| matches!(reads.as_slice(), [r] if !analysis.reads[r - 1].is_sticky()));
    let _ = writeln!(
        out,
        "Each file info {} in a read of its own: the client waited for 200, so nothing\n\
         was behind the info yet. The 1500-byte file took two reads of at most {INFO_READ_SIZE}: harmless,\n\
         because the server counts the bytes until it has all 1500 (and stops there).",
        if info_alone { "arrived whole" } else { "did NOT arrive whole" }
    );

    let _ = writeln!(out, "\nRead back from the upload folder:");
    let mut identical = received.len() == files.len();
    for (name, data) in &files {
        let back = fs::read(config.dir.join(name)).unwrap_or_default();
        let same = back == *data;
        identical &= same;
        let _ = writeln!(
            out,
            "  {name:<10} {:>5} bytes  {}",
            back.len(),
            if same { "identical" } else { "DIFFERENT" }
        );
    }
    Ok(identical && info_alone)
}

/// Writes the lines of a refused connection and says whether it was refused
/// the way the part predicts.
fn report_refusal(
    out: &mut String,
    server: &Result<Vec<Received>, ReceiveError>,
    client: &Result<(), UploadError>,
) {
    match server {
        Err(e) => say(
            out,
            "server",
            &format!("{e}; connection closed, nothing saved for this file"),
        ),
        Ok(files) => say(out, "server", &format!("accepted {} file(s)", files.len())),
    }
    match client {
        Err(e) => say(out, "client", &e.to_string()),
        Ok(()) => say(out, "client", "<- 200"),
    }
}

/// Part 2a: a network that delivers the info in two pieces.
fn info_cut_in_half(out: &mut String, config: &ServerConfig) -> io::Result<bool> {
    let info = FileInfo::put("cut.txt", 5).to_json();
    let first = 20;
    let _ = writeln!(
        out,
        "\n2. The weakness: the file info is still taken from ONE read\n\
         \n\
         2a. A network that delivers the file info in two pieces\n\
         The client's {} bytes of file info travel as {first} + {} bytes, as a network may deliver\n\
         them; the server makes its one read when only the first piece has arrived.",
        info.len(),
        info.len() - first
    );
    let outcome = run_connection(config, Vec::new(), |client| {
        // One message in the story, two pieces on the wire: written past the
        // tap, and recorded below by hand as ONE message, so that the timeline
        // shows the server taking only part of it.
        raw_write(client, &info[..first])?;
        client.wait_for_server_read()?;
        // The server has already given up and may have closed: the rest can
        // meet a closed socket, which is the point, not a demo failure.
        let _ = raw_write(client, &info[first..]);
        Ok(wait_for_ack(&mut client.stream))
    })?;
    let _ = writeln!(out, "client: put cut.txt (5 bytes), the info in two pieces");
    report_refusal(out, &outcome.server, &outcome.client);
    let _ = writeln!(out);
    let timeline = Timeline::new("client -> server");
    timeline.sent_labeled("file info for cut.txt (sent as 2 pieces)", info.len());
    for n in outcome.c2s.reads() {
        timeline.read(n);
    }
    out.push_str(&timeline.render());
    let _ = writeln!(
        out,
        "One read returned {first} of the {} bytes, and the server parsed them as the whole info:\n\
         nothing in the stream says where the info ends.",
        info.len()
    );
    Ok(matches!(
        &outcome.server,
        Err(ReceiveError::Info {
            shape: InfoShape::Cut,
            ..
        })
    ))
}

fn raw_write(client: &mut ClientEnd, bytes: &[u8]) -> io::Result<()> {
    let raw = client.stream.get_mut();
    raw.write_all(bytes)?;
    raw.flush()
}

/// Part 2b: a client that sends the bytes without waiting for 200.
fn client_does_not_wait(out: &mut String, config: &ServerConfig) -> io::Result<bool> {
    let data = b"in a hurry\n";
    let info = FileInfo::put("rush.txt", data.len() as u64).to_json();
    let _ = writeln!(
        out,
        "\n2b. A client that does not wait for 200\n\
         It writes the file info and the file's bytes back to back; both have arrived\n\
         when the server makes its one read."
    );
    let labels = vec![
        "file info for rush.txt".to_string(),
        "bytes of rush.txt".to_string(),
    ];
    let outcome = run_connection(config, labels, |client| {
        client.stream.write_all(&info)?;
        client.stream.write_all(data)?;
        // One flush for both writes: they are on their way together.
        client.stream.flush()?;
        Ok(wait_for_ack(&mut client.stream))
    })?;
    let _ = writeln!(
        out,
        "client: put rush.txt ({} bytes), info and bytes back to back",
        data.len()
    );
    report_refusal(out, &outcome.server, &outcome.client);
    let _ = writeln!(out);
    out.push_str(&outcome.c2s.render());
    let _ = writeln!(
        out,
        "One read returned the info and the file's bytes glued together: the handshake only\n\
         protects a client that waits, and nothing in the stream says where the info ends."
    );
    let mut glued = info.clone();
    glued.extend_from_slice(data);
    Ok(matches!(info_shape(&glued), InfoShape::Glued { .. })
        && matches!(
            &outcome.server,
            Err(ReceiveError::Info {
                shape: InfoShape::Glued { .. },
                ..
            })
        ))
}

/// Part 3: the server accepts one plain file name and nothing else.
fn path_as_name(out: &mut String, config: &ServerConfig) -> io::Result<bool> {
    let name = "../../.bashrc";
    let info = FileInfo::put(name, 4).to_json();
    let _ = writeln!(
        out,
        "\n3. Receiving safely: one plain file name, or nothing\n\
         A client asks to write {name:?} (sent by hand: the real client refuses\n\
         such a name itself). The classic server would write outside its folder."
    );
    let outcome = run_connection(config, vec![format!("file info for {name}")], |client| {
        client.stream.write_all(&info)?;
        client.stream.flush()?;
        Ok(wait_for_ack(&mut client.stream))
    })?;
    let _ = writeln!(out, "client: put {name} (4 bytes)");
    report_refusal(out, &outcome.server, &outcome.client);
    Ok(matches!(
        &outcome.server,
        Err(ReceiveError::Info {
            error: crate::InfoError::BadName(_),
            ..
        })
    ) && outcome.s2c.messages().is_empty())
}

/// The upload folder after all parts: only part 1's files, no leftovers.
fn folder_contents(out: &mut String, config: &ServerConfig) -> io::Result<()> {
    let mut names: Vec<String> = fs::read_dir(&config.dir)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let _ = writeln!(
        out,
        "\nThe upload folder now holds: {}\n\
         (part 1's files only: nothing from the refused uploads, no temporary files)",
        names.join(", ")
    );
    Ok(())
}
