//! The gallery over real sockets: a client that encodes messages and writes
//! them to `127.0.0.1`, a server that decodes them with a [`FrameReader`],
//! and, between them if asked, the network-weather proxy in lockstep, as
//! the story matrix runs every stage.
//!
//! The client writes each frame with one `write_all` and then half-closes;
//! the server reads until the end of the stream, so a half-close is how
//! every strategy's conversation ends (and, for [`Strategy::HalfClose`],
//! how each message ends: one connection per message).

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use common::demo::Verdict;
use common::spawn_loopback;
use common::weather::{ReadCounter, Weather, WeatherProxy};

use crate::codec::{DecodeError, EncodeError, FrameReader, ReadError};
use crate::strategies::{Limits, Strategy};

/// How long either end waits for the other before it calls the exchange lost.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// What became of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// It arrived whole, in order.
    Intact,
    /// The encoder would not write it: the format cannot carry it.
    Refused(EncodeError),
    /// A frame arrived in its place with other bytes (this many).
    Garbled(usize),
    /// No frame arrived for it; why the server's reading stopped.
    Lost(Loss),
}

/// Why no frame arrived for a message: kept whole, so that a transcript can
/// word it in either language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loss {
    /// The server's decoder refused the stream.
    Refused(DecodeError),
    /// The server's socket failed.
    Io(String),
    /// The stream ended cleanly before this message's frame.
    EndedBefore,
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loss::Refused(e) => write!(f, "{e}"),
            Loss::Io(e) => write!(f, "{e}"),
            Loss::EndedBefore => write!(f, "the stream ended before it"),
        }
    }
}

/// One exchange: every message's frame size on the wire and its fate.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// Bytes on the wire per message (`None` when the encoder refused it).
    pub wire_len: Vec<Option<usize>>,
    /// What became of each message.
    pub fates: Vec<Fate>,
}

impl Exchange {
    /// Intact, or the first thing that went wrong, in a few words.
    pub fn verdict(&self) -> Verdict {
        for (i, fate) in self.fates.iter().enumerate() {
            let n = i + 1;
            let words = match fate {
                Fate::Intact => continue,
                Fate::Refused(EncodeError::Contains { byte, at }) => {
                    format!("message {n} holds `{}` at byte {at}", byte.escape_ascii())
                }
                Fate::Refused(e) => format!("message {n} refused: {e}"),
                Fate::Garbled(len) => format!("message {n} arrived as {len} B"),
                Fate::Lost(why) => format!("message {n} lost: {why}"),
            };
            return Verdict::Broken(words);
        }
        Verdict::Intact
    }
}

/// The frames one connection's server decoded, and how its reading ended.
struct Received {
    frames: Vec<Vec<u8>>,
    end: Result<(), Loss>,
}

/// Sends `messages` with `strategy` from a client to a server on
/// `127.0.0.1:0`, through `weather` (in lockstep) when one is given, and
/// says what became of each.
pub fn exchange(
    strategy: Strategy,
    limits: &Limits,
    messages: &[Vec<u8>],
    weather: Option<&Weather>,
) -> io::Result<Exchange> {
    let mut encoder = strategy.encoder(limits);
    let mut frames = Vec::new();
    let mut wire_len = Vec::new();
    let mut fates = vec![Fate::Intact; messages.len()];
    for (i, message) in messages.iter().enumerate() {
        let mut frame = Vec::new();
        match encoder.encode(message, &mut frame) {
            Ok(()) => {
                wire_len.push(Some(frame.len()));
                frames.push((i, frame));
            }
            Err(e) => {
                wire_len.push(None);
                fates[i] = Fate::Refused(e);
            }
        }
    }
    let connections: Vec<Vec<(usize, Vec<u8>)>> = if strategy.one_message_per_connection() {
        frames.into_iter().map(|f| vec![f]).collect()
    } else {
        vec![frames]
    };
    for connection in connections {
        let writes: Vec<&[u8]> = connection.iter().map(|(_, f)| &f[..]).collect();
        let received = converse(strategy, limits, &writes, weather)?;
        for (k, (i, _)) in connection.iter().enumerate() {
            fates[*i] = match received.frames.get(k) {
                Some(frame) if *frame == messages[*i] => Fate::Intact,
                Some(frame) => Fate::Garbled(frame.len()),
                None => Fate::Lost(match &received.end {
                    Err(why) => why.clone(),
                    Ok(()) => Loss::EndedBefore,
                }),
            };
        }
    }
    Ok(Exchange { wire_len, fates })
}

/// One connection: the client writes `writes` (one write each) and
/// half-closes; the server decodes until the end of the stream or an error.
fn converse(
    strategy: Strategy,
    limits: &Limits,
    writes: &[&[u8]],
    weather: Option<&Weather>,
) -> io::Result<Received> {
    let server_reads = ReadCounter::new();
    let counter = server_reads.clone();
    let limits = *limits;
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(EXCHANGE_TIMEOUT))?;
        let mut reader = FrameReader::new(counter.wrap(stream), strategy.decoder(&limits));
        let mut frames = Vec::new();
        let end = loop {
            match reader.next_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break Ok(()),
                Err(ReadError::Decode { error, .. }) => break Err(Loss::Refused(error)),
                Err(ReadError::Io(e)) => break Err(Loss::Io(e.to_string())),
            }
        };
        Ok(Received { frames, end })
    })?;
    let proxy = match weather {
        Some(weather) => Some(WeatherProxy::spawn_gated(
            server.addr(),
            weather.clone().with_lockstep(),
            ReadCounter::new(),
            server_reads,
            |_, _| {},
        )?),
        None => None,
    };
    let addr = proxy.as_ref().map_or(server.addr(), WeatherProxy::addr);
    let mut client = TcpStream::connect(addr)?;
    client.set_write_timeout(Some(EXCHANGE_TIMEOUT))?;
    client.set_nodelay(true)?;
    for bytes in writes {
        // A server that refused a frame closes its end; writing on into a
        // closed connection fails, and the server's result says why.
        if client.write_all(bytes).is_err() {
            break;
        }
    }
    let _ = client.shutdown(Shutdown::Write);
    let received = server.join();
    drop(client);
    drop(proxy);
    received
}

/// The messages every strategy but fixed-length carries in the story
/// matrix: empty, text, binary (every byte value, so `\n` at byte 10 and
/// `00` at byte 0), and 2,000 bytes (longer than a `recv(1024)`).
pub fn matrix_messages(strategy: Strategy) -> Vec<Vec<u8>> {
    if strategy == Strategy::FixedLength {
        // Fixed-length carries only records of its size: four binary ones.
        let record: Vec<u8> = (0..=255u8).collect();
        return (0..4)
            .map(|k| record.iter().map(|b| b.wrapping_add(k)).collect())
            .collect();
    }
    vec![
        Vec::new(),
        b"sticky packets".to_vec(),
        (0..=255u8).collect(),
        (0..2000u32).map(|i| b'a' + (i % 26) as u8).collect(),
    ]
}

/// One cell of the story matrix: [`matrix_messages`] through `weather` (or
/// a direct connection), over real sockets.
pub fn matrix_trial(strategy: Strategy, weather: Option<&Weather>) -> io::Result<Verdict> {
    let messages = matrix_messages(strategy);
    Ok(exchange(strategy, &Limits::GALLERY, &messages, weather)?.verdict())
}

/// What the matrix legend says about the gallery rows' script.
pub const MATRIX_SCRIPT: &str = "an empty message, 14 bytes of text, 256 bytes of every value \
(a `\\n` at byte 10) and 2,000 letters (fixed-length: four 256-byte binary records), client to \
server, then a half-close";

/// [`MATRIX_SCRIPT`] in Chinese.
pub const MATRIX_SCRIPT_ZH: &str = "一条空消息、14 字节文本、含全部 256 种取值的 256 字节\
（第 10 字节是 `\\n`）和 2,000 个字母（fixed-length 则为四条 256 字节的二进制记录），\
由客户端发往服务端，最后半关闭连接";
