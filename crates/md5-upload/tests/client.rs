//! The Rust client against servers that misbehave: closing, refusing,
//! answering garbage, never answering. Every case ends in a clear error.

mod support;

use common::spawn_loopback;
use md5_upload::{upload, upload_file, Phase, UploadError, Verdict};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::*;

/// A fake server that reads one file's info and data, then runs `script`.
fn fake_server<F>(script: F) -> common::LoopbackServer<()>
where
    F: FnOnce(&mut TcpStream) -> io::Result<()> + Send + 'static,
{
    spawn_loopback(move |listener| {
        let (mut conn, _) = listener.accept()?;
        conn.set_read_timeout(Some(PATIENCE))?;
        script(&mut conn)
    })
    .unwrap()
}

/// Reads header, JSON and the announced bytes, like a real server.
fn read_file(conn: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    conn.read_exact(&mut header)?;
    let mut json = vec![0u8; i32::from_le_bytes(header) as usize];
    conn.read_exact(&mut json)?;
    let info: serde_json::Value = serde_json::from_slice(&json).map_err(io::Error::other)?;
    let mut data = vec![0u8; info["filesize"].as_u64().unwrap_or(0) as usize];
    conn.read_exact(&mut data)?;
    Ok(data)
}

/// How long the client waits out a fake server that never answers: nothing
/// can arrive, so this is no bet on timing, only time the test spends.
const SILENCE: Duration = Duration::from_millis(300);

/// A client that waits [`PATIENCE`] for every answer: a fake server on a
/// loaded machine can take a second to be scheduled, and an answer that came
/// late must not pass for a timeout.
fn client(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// A server that closes right after the file info is reported as a refusal.
#[test]
fn server_that_closes_is_a_refusal() {
    let server = fake_server(|conn| {
        let mut header = [0u8; 4];
        conn.read_exact(&mut header)?;
        Ok(()) // closes with unread bytes: a reset
    });
    let mut s = client(server.addr());
    let err = upload(&mut s, "a.bin", &[1u8; 1000][..], 1000).unwrap_err();
    assert!(matches!(err, UploadError::ServerClosed(_)), "{err:?}");
    assert!(err.to_string().contains("refused the upload"), "{err}");
    assert!(!err.connection_usable());
    server.join().unwrap();
}

/// A server that answers something other than OK is garbage, quoted in the error.
#[test]
fn garbage_instead_of_ok() {
    let server = fake_server(|conn| {
        read_file(conn)?;
        conn.write_all(b"NO")
    });
    let mut s = client(server.addr());
    let err = upload(&mut s, "a.bin", &b"data"[..], 4).unwrap_err();
    assert!(
        matches!(&err, UploadError::Garbage { phase: Phase::WaitingForOk, got } if got == b"NO"),
        "{err:?}"
    );
    assert!(err.to_string().contains("\"NO\""), "{err}");
    server.join().unwrap();
}

/// A verdict other than 203 or 204 is garbage too.
#[test]
fn garbage_instead_of_verdict() {
    let server = fake_server(|conn| {
        read_file(conn)?;
        conn.write_all(b"OK")?;
        let mut digest = [0u8; 32];
        conn.read_exact(&mut digest)?;
        conn.write_all(b"200")
    });
    let mut s = client(server.addr());
    let err = upload(&mut s, "a.bin", &b"data"[..], 4).unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::Garbage {
                phase: Phase::WaitingForVerdict,
                ..
            }
        ),
        "{err:?}"
    );
    server.join().unwrap();
}

/// A server that closes after OK, before the verdict, is reported with the phase.
#[test]
fn close_before_verdict() {
    let server = fake_server(|conn| {
        read_file(conn)?;
        conn.write_all(b"OK")?;
        let mut digest = [0u8; 32];
        conn.read_exact(&mut digest)
    });
    let mut s = client(server.addr());
    let err = upload(&mut s, "a.bin", &b"data"[..], 4).unwrap_err();
    assert!(
        matches!(err, UploadError::ServerClosed(Phase::WaitingForVerdict)),
        "{err:?}"
    );
    server.join().unwrap();
}

/// A server that never answers ends in a timeout error, not a hang.
#[test]
fn silent_server_times_out() {
    let server = fake_server(|conn| {
        read_file(conn)?;
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).map(|_| ())
    });
    let mut s = client(server.addr());
    s.set_read_timeout(Some(SILENCE)).unwrap();
    let err = upload(&mut s, "a.bin", &b"data"[..], 4).unwrap_err();
    assert!(
        matches!(err, UploadError::Timeout(Phase::WaitingForOk)),
        "{err:?}"
    );
    drop(s);
    server.join().unwrap();
}

/// The client sends exactly the bytes on the wire that SPEC stage 6 describes.
#[test]
fn wire_bytes_are_exact() {
    let server = fake_server(|conn| {
        let mut wire = vec![0u8; 4 + 48 + 5];
        conn.read_exact(&mut wire)?;
        assert_eq!(&wire[..4], &48i32.to_le_bytes());
        assert_eq!(
            &wire[4..52],
            br#"{"action":"put","filename":"a.bin","filesize":5}"#
        );
        assert_eq!(&wire[52..], b"hello");
        conn.write_all(b"OK")?;
        let mut digest = [0u8; 32];
        conn.read_exact(&mut digest)?;
        assert_eq!(&digest[..], md5_hex(b"hello").as_bytes());
        conn.write_all(b"204")
    });
    let mut s = client(server.addr());
    let receipt = upload(&mut s, "a.bin", &b"hello"[..], 5).unwrap();
    assert_eq!(receipt.verdict, Verdict::Mismatch);
    assert_eq!(receipt.md5, md5_hex(b"hello"));
    server.join().unwrap();
}

/// A bad name, a missing file and data shorter than announced fail locally, with a fix in the message.
#[test]
fn local_errors() {
    let server = TestServer::start();
    let mut s = server.connect();
    let err = upload(&mut s, "../x", &b""[..], 0).unwrap_err();
    assert!(
        matches!(err, UploadError::BadName(_)) && err.connection_usable(),
        "{err:?}"
    );
    let err = upload_file(&mut s, std::path::Path::new("/no/such/file.bin"), false).unwrap_err();
    assert!(
        matches!(err, UploadError::Source(_)) && err.connection_usable(),
        "{err:?}"
    );
    // The connection is still good after local errors.
    assert_eq!(
        upload(&mut s, "ok.txt", &b"ok"[..], 2).unwrap().verdict,
        Verdict::Verified
    );
    let err = upload(&mut s, "short.bin", &b"abc"[..], 10).unwrap_err();
    assert!(
        matches!(err, UploadError::SourceShort { sent: 3, size: 10 }),
        "{err:?}"
    );
    assert!(!err.connection_usable());
}

/// upload_file sends the base name and streams the file.
#[test]
fn upload_file_uses_the_base_name() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let path = local.path().join("report.bin");
    let contents = random_bytes(700_000, 9);
    std::fs::write(&path, &contents).unwrap();
    let mut s = server.connect();
    let receipt = upload_file(&mut s, &path, true).unwrap();
    assert_eq!(receipt.verdict, Verdict::Verified);
    assert_eq!(receipt.size, 700_000);
    assert_eq!(server.read("report.bin"), contents);
}
