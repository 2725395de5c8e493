//! What every exercise's check is built from: previews of bytes and of the
//! decoder verifier's failures, and the loopback sockets (a server that
//! sends bytes, a client through the network weather). Kept apart from the
//! checks so that each exercise's file reads as its checks alone.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::weather::{Weather, WeatherProxy};
use framing_gallery::verify::{Failure, Outcome, Verifier};

use super::{fail, t, Checked, Fail, Text};

/// How long a socket read waits before the check gives up on it: a stub
/// that waits for bytes that never come fails instead of hanging.
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(4);

// ---------------------------------------------------------------------------
// Showing bytes and verifier failures
// ---------------------------------------------------------------------------

/// A message as a reader sees it: its length and its first bytes, escaped.
pub fn show(bytes: &[u8]) -> String {
    const PREVIEW: usize = 40;
    // Text is shown as text (粘包 stays readable); anything else byte by byte.
    let (head, cut) = match std::str::from_utf8(bytes) {
        Ok(text) => (
            text.chars()
                .take(PREVIEW)
                .flat_map(char::escape_debug)
                .collect::<String>(),
            text.chars().count() > PREVIEW,
        ),
        Err(_) => (
            bytes
                .iter()
                .take(PREVIEW)
                .flat_map(|b| b.escape_ascii())
                .map(char::from)
                .collect(),
            bytes.len() > PREVIEW,
        ),
    };
    let more = if cut { "..." } else { "" };
    format!("{} B \"{head}{more}\"", bytes.len())
}

pub(super) fn show_frames(frames: &[Vec<u8>]) -> String {
    let shown: Vec<String> = frames.iter().take(4).map(|f| show(f)).collect();
    let more = if frames.len() > 4 { ", ..." } else { "" };
    format!("{} message(s): {}{more}", frames.len(), shown.join(", "))
}

pub(super) fn show_outcome(o: &Outcome) -> String {
    let end = match &o.end {
        Ok(()) => "then a clean end".to_string(),
        Err(e) => format!("then the error: {e}"),
    };
    format!("{}; {end}", show_frames(&o.frames))
}

pub(super) fn show_failure(f: &Failure) -> String {
    format!(
        "fed {}; the smallest split that broke it: {}\nexpected: {}\nreceived: {}",
        f.feeding,
        f.split,
        show_outcome(&f.expected),
        show_outcome(&f.got)
    )
}

// ---------------------------------------------------------------------------
// Sockets: a server that sends bytes, a client through the weather
// ---------------------------------------------------------------------------

/// A loopback server that accepts one connection, writes `bytes` in one
/// write, half-closes, and drains what the client sends until it closes.
pub(super) fn serve_bytes(bytes: Vec<u8>) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::Builder::new()
        .name("exercise server".into())
        .spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.set_read_timeout(Some(READ_TIMEOUT));
                let _ = s.write_all(&bytes);
                let _ = s.shutdown(Shutdown::Write);
                let _ = io::copy(&mut s, &mut io::sink());
            }
        })?;
    Ok(addr)
}

/// Connects to `addr` directly in clear weather, or through a weather proxy
/// (returned too, so it lives as long as the connection).
pub(super) fn connect(
    addr: SocketAddr,
    weather: &Weather,
) -> io::Result<(TcpStream, Option<WeatherProxy>)> {
    let (target, proxy) = if weather.is_clear() {
        (addr, None)
    } else {
        let proxy = WeatherProxy::spawn(addr, weather.clone())?;
        (proxy.addr(), Some(proxy))
    };
    let stream = TcpStream::connect(target)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    Ok((stream, proxy))
}

pub(super) fn socket_error(check: Text, e: io::Error) -> Fail {
    fail(
        check,
        format!("the checker could not set up the sockets: {e}"),
        t(
            "Is something on this machine refusing loopback connections? Try again.",
            "这台机器是否拒绝了回环连接？请再试一次。",
        ),
    )
}

/// The weathers every socket check runs through.
pub(super) fn weathers() -> [Weather; 3] {
    [
        Weather::clear(),
        Weather::split(1),
        Weather::sizes(&[3, 1, 7]),
    ]
}

/// Sends `wire` from a server through `weather` and collects what `read`
/// makes of it on the client.
pub(super) fn over_socket<T>(
    wire: &[u8],
    weather: &Weather,
    read: impl FnOnce(&mut TcpStream) -> io::Result<T>,
) -> io::Result<io::Result<T>> {
    let addr = serve_bytes(wire.to_vec())?;
    let (mut stream, _proxy) = connect(addr, weather)?;
    Ok(read(&mut stream))
}

pub(super) fn stage4_wire(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for f in frames {
        wire.extend_from_slice(&(f.len() as i32).to_le_bytes());
        wire.extend_from_slice(f);
    }
    wire
}

pub(super) fn sample_frames() -> Vec<Vec<u8>> {
    vec![
        b"hello".to_vec(),
        Vec::new(),
        b"x".repeat(300),
        "粘包 sticky".as_bytes().to_vec(),
    ]
}

pub(super) fn kind_is(r: &io::Result<impl Sized>, kind: io::ErrorKind) -> bool {
    matches!(r, Err(e) if e.kind() == kind)
}

pub(super) fn describe_result<T>(r: &io::Result<T>, show_ok: impl Fn(&T) -> String) -> String {
    match r {
        Ok(v) => format!("Ok({})", show_ok(v)),
        Err(e) => format!("Err(kind {:?}: {e})", e.kind()),
    }
}

// ---------------------------------------------------------------------------
// Checks more than one exercise makes
// ---------------------------------------------------------------------------

/// Runs the decoder verifier on a `Read`-based reader: `input` cut every
/// way must come out as `expected`.
pub(super) fn verify_reader<E: fmt::Display>(
    read: impl Fn(&mut dyn Read) -> Result<Vec<Vec<u8>>, E>,
    input: &[u8],
    expected: &[Vec<u8>],
    check: Text,
    hint: Text,
) -> Checked {
    Verifier::new()
        .check_reader(read, input, expected)
        .map_err(|f| fail(check, show_failure(&f), hint))
}

/// Bad input must be refused with an error of this `kind`, not accepted,
/// not refused with another kind.
pub(super) fn expect_error_kind<T>(
    got: &io::Result<T>,
    kind: io::ErrorKind,
    show_ok: impl Fn(&T) -> String,
    check: Text,
    hint: Text,
) -> Checked {
    if kind_is(got, kind) {
        return Ok(());
    }
    Err(fail(
        check,
        format!(
            "expected: Err(kind {kind:?})\nreceived: {}",
            describe_result(got, show_ok)
        ),
        hint,
    ))
}

/// Reads `wire` over a real socket with `read` in every one of
/// [`weathers`]: each must give `expected`.
pub(super) fn read_in_every_weather(
    wire: &[u8],
    read: impl Fn(&mut TcpStream) -> io::Result<Vec<Vec<u8>>>,
    expected: &[Vec<u8>],
    check: Text,
    hint: Text,
) -> Checked {
    for weather in weathers() {
        let got = over_socket(wire, &weather, &read).map_err(|e| socket_error(check, e))?;
        if got.as_deref().ok() != Some(expected) {
            return Err(fail(
                check,
                format!(
                    "weather: {}\nexpected: Ok({})\nreceived: {}",
                    weather.describe(),
                    show_frames(expected),
                    describe_result(&got, |f| show_frames(f))
                ),
                hint,
            ));
        }
    }
    Ok(())
}
