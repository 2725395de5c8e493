//! The server over real sockets on 127.0.0.1:0: good uploads, every kind of
//! bad input, disconnects, idle clients, many clients, the connection limit.

mod support;

use md5_upload::{upload, Verdict};
use std::io::Write;
use std::net::Shutdown;
use std::thread;
use support::*;

/// Uploads `contents` as `name` on a fresh connection with the Rust client.
fn upload_ok(server: &TestServer, name: &str, contents: &[u8]) {
    let mut s = server.connect();
    let receipt = upload(&mut s, name, contents, contents.len() as u64).unwrap();
    assert_eq!(receipt.verdict, Verdict::Verified, "{name}");
}

/// Sends a whole file conversation with `digest` as the client's MD5 and
/// returns the server's verdict bytes (empty if it closed).
fn raw_upload(s: &mut std::net::TcpStream, name: &str, contents: &[u8], digest: &[u8]) -> Vec<u8> {
    send_info(s, &info_json(name, contents.len() as u64));
    s.write_all(contents).unwrap();
    assert_eq!(read_up_to(s, 2), b"OK");
    s.write_all(digest).unwrap();
    read_up_to(s, 3)
}

/// Several files of different sizes on one connection all arrive byte-identical, answered 203.
#[test]
fn several_files_on_one_connection() {
    let server = TestServer::start();
    let files = [
        ("empty.bin", Vec::new()),
        ("one.bin", vec![42u8]),
        ("big.bin", random_bytes(3 * 1024 * 1024 + 17, 1)),
        ("text.txt", b"hello\n".to_vec()),
    ];
    let mut s = server.connect();
    for (name, contents) in &files {
        let receipt = upload(&mut s, name, &contents[..], contents.len() as u64).unwrap();
        assert_eq!(receipt.verdict, Verdict::Verified);
        assert_eq!(receipt.md5, md5_hex(contents));
    }
    drop(s);
    let mut names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    names.sort();
    assert_eq!(server.files(), names);
    for (name, contents) in &files {
        assert_eq!(&server.read(name), contents, "{name}");
    }
}

/// A file of several writeback steps, synced to disk while it arrives, is
/// saved byte-identical and answered 203.
#[test]
fn large_file_synced_while_it_arrives() {
    let step = md5_upload::server::WRITEBACK_STEP as usize;
    // A pattern whose period does not divide the step, so a step written
    // twice or skipped would change the bytes.
    let contents = b"0123456789abcdefghijklmnopqrstuvwxyz!".repeat(3 * step / 37 + 1);
    assert!(contents.len() > 2 * step);
    let server = TestServer::start();
    upload_ok(&server, "large.bin", &contents);
    assert_eq!(server.files(), ["large.bin"]);
    assert!(
        server.read("large.bin") == contents,
        "the saved file differs"
    );
}

/// A wrong digest is answered 204, the upload is discarded, the earlier file
/// stays untouched, and the connection carries on with the next file.
#[test]
fn wrong_digest_is_204_and_changes_nothing() {
    let mut server = TestServer::start();
    upload_ok(&server, "a.bin", b"the good version");
    let mut s = server.connect();
    let verdict = raw_upload(&mut s, "a.bin", b"a newer version", &[b'0'; 32]);
    assert_eq!(verdict, b"204");
    server.wait_log("(204)");
    assert_eq!(server.read("a.bin"), b"the good version");
    assert_eq!(
        server.files(),
        ["a.bin"],
        "no temporary file may stay behind"
    );
    // Same connection, next file: still served.
    let receipt = upload(&mut s, "b.bin", &b"next"[..], 4).unwrap();
    assert_eq!(receipt.verdict, Verdict::Verified);
}

/// An upper-case digest is still 32 hex characters, and matches.
#[test]
fn upper_case_digest_is_accepted() {
    let server = TestServer::start();
    let mut s = server.connect();
    let digest = md5_hex(b"abc").to_ascii_uppercase();
    assert_eq!(
        raw_upload(&mut s, "abc.txt", b"abc", digest.as_bytes()),
        b"203"
    );
    assert_eq!(server.read("abc.txt"), b"abc");
}

/// Every hostile category of file name is refused with a log line, the
/// connection is closed, nothing is written anywhere, and the server goes on.
#[test]
fn hostile_names_are_refused() {
    let mut server = TestServer::start();
    let long = "a".repeat(256);
    let table: &[(&str, &str)] = &[
        ("", "it is empty"),
        (".", "are not file names"),
        ("..", "are not file names"),
        ("../escape.txt", "is a path"),
        ("sub/dir.txt", "is a path"),
        ("/etc/passwd", "is a path"),
        ("..\\escape.txt", "is a path"),
        ("C:\\Windows\\x", "is a path"),
        ("C:drive.txt", "is a path"),
        ("file.txt:stream", "is a path"),
        ("nul\0byte.txt", "control character"),
        ("new\nline.txt", "control character"),
        ("del\u{7f}.txt", "control character"),
        ("CON", "reserved by Windows"),
        ("nul.txt", "reserved by Windows"),
        ("COM1", "reserved by Windows"),
        ("lpt9.log", "reserved by Windows"),
        ("trailing.", "ends in a dot or a space"),
        ("trailing ", "ends in a dot or a space"),
        (&long, "the limit is 255"),
    ];
    for (i, (name, why)) in table.iter().enumerate() {
        let mut s = server.connect();
        send_info(&mut s, &info_json(name, 5));
        let _ = s.write_all(b"12345");
        assert!(server_closed(&mut s), "{name:?} was not refused");
        let line = server.wait_log_count("closing the connection", i + 1);
        assert!(line.contains(why), "{name:?}: {line}");
    }
    assert!(server.files().is_empty(), "{:?}", server.files());
    assert_eq!(
        list(server.root.path()),
        ["put"],
        "something escaped the upload folder"
    );
    upload_ok(&server, "fine.txt", b"still serving");
}

/// Bad length headers: negative, over the JSON cap, cut inside the header or inside the JSON.
#[test]
fn bad_headers_are_refused() {
    let mut server = TestServer::start();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        ((-1i32).to_le_bytes().to_vec(), "cannot be negative"),
        (
            i32::MAX.to_le_bytes().to_vec(),
            "over the maximum frame size",
        ),
        (
            (64 * 1024 + 1i32).to_le_bytes().to_vec(),
            "over the maximum frame size",
        ),
        (vec![5, 0], "2 of 4 header bytes"),
        (
            [&50i32.to_le_bytes()[..], b"{\"action\""].concat(),
            "9 of 50 body bytes",
        ),
    ];
    for (i, (bytes, why)) in cases.iter().enumerate() {
        let mut s = server.connect();
        s.write_all(bytes).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        assert!(server_closed(&mut s));
        let line = server.wait_log_count("closing the connection", i + 1);
        assert!(line.contains(why), "{why}: {line}");
    }
    assert!(server.files().is_empty());
    upload_ok(&server, "fine.txt", b"still serving");
}

/// Bad JSON and bad filesize values are refused before a single byte of data is read.
#[test]
fn bad_file_info_is_refused() {
    let mut server = TestServer::start_with(|c| c.max_file_size = 1024 * 1024);
    let cases: &[(&[u8], &str)] = &[
        (b"not json", "bad file info"),
        (b"\xff\xfe{}", "not UTF-8"),
        (br#"{"action":"put","filename":"a.bin"}"#, "missing field"),
        (
            br#"{"action":"put","filename":"a.bin","filesize":1,"mode":"x"}"#,
            "unknown field",
        ),
        (
            br#"{"action":"put","filename":5,"filesize":1}"#,
            "invalid type",
        ),
        (
            br#"{"action":"get","filename":"a.bin","filesize":1}"#,
            "unknown action",
        ),
        (
            br#"{"action":"put","filename":"a.bin","filesize":-1}"#,
            "bad file info",
        ),
        (
            br#"{"action":"put","filename":"a.bin","filesize":1.5}"#,
            "bad file info",
        ),
        (
            br#"{"action":"put","filename":"a.bin","filesize":"10"}"#,
            "invalid type",
        ),
        (
            br#"{"action":"put","filename":"a.bin","filesize":1e30}"#,
            "bad file info",
        ),
        (
            br#"{"action":"put","filename":"a.bin","filesize":1048577}"#,
            "over this server's limit",
        ),
        (b"", "bad file info"),
    ];
    for (i, (json, why)) in cases.iter().enumerate() {
        let mut s = server.connect();
        send_info(&mut s, json);
        let _ = s.write_all(b"x");
        assert!(server_closed(&mut s), "{}", String::from_utf8_lossy(json));
        let line = server.wait_log_count("closing the connection", i + 1);
        assert!(
            line.contains(why),
            "{}: {line}",
            String::from_utf8_lossy(json)
        );
    }
    assert!(server.files().is_empty());
    // Exactly at the limit is fine.
    upload_ok(&server, "limit.bin", &random_bytes(1024 * 1024, 2));
}

/// A client that disconnects mid-file leaves nothing behind, and the earlier
/// file of that name stays as it was.
#[test]
fn disconnect_mid_file_leaves_nothing() {
    let mut server = TestServer::start();
    upload_ok(&server, "a.bin", b"old and good");
    let mut s = server.connect();
    send_info(&mut s, &info_json("a.bin", 10_000));
    s.write_all(&random_bytes(4000, 3)).unwrap();
    drop(s);
    let line = server.wait_log("closing the connection");
    assert!(line.contains("after 4000 of the 10000 bytes"), "{line}");
    assert_eq!(server.files(), ["a.bin"]);
    assert_eq!(server.read("a.bin"), b"old and good");
}

/// A client that sends fewer bytes than announced and waits is disconnected
/// once the message deadline has passed, and nothing is written.
#[test]
fn short_data_hits_the_idle_timeout() {
    let mut server = TestServer::start_with(|c| {
        c.limits.idle_timeout = SHORT_IDLE;
        c.limits.message_timeout = SHORT_IDLE;
    });
    let mut s = server.connect();
    send_info(&mut s, &info_json("slow.bin", 100));
    s.write_all(&[7u8; 60]).unwrap();
    assert!(
        server_closed(&mut s),
        "the idle client was not disconnected"
    );
    let line = server.wait_log("closing the connection");
    assert!(
        line.contains("60 of the 100") && line.contains("--message-timeout-ms 300"),
        "{line}"
    );
    assert!(server.files().is_empty());
}

/// A client that connects and says nothing is disconnected after the idle timeout.
#[test]
fn silent_client_is_disconnected() {
    let mut server = TestServer::start_with(|c| {
        c.limits.idle_timeout = SHORT_IDLE;
        c.limits.message_timeout = SHORT_IDLE;
    });
    let mut s = server.connect();
    assert!(server_closed(&mut s));
    let line = server.wait_log("closing the connection");
    assert!(line.contains("--idle-timeout-secs 0.3"), "{line}");
}

/// A digest that is not 32 hex characters closes the connection and writes nothing.
#[test]
fn digest_that_is_not_hex_is_refused() {
    let mut server = TestServer::start();
    let mut s = server.connect();
    let verdict = raw_upload(
        &mut s,
        "a.bin",
        b"data",
        b"this is not a hex digest at all!",
    );
    assert_eq!(verdict, b"", "the server should close, not answer");
    let line = server.wait_log("closing the connection");
    assert!(line.contains("32 hex characters"), "{line}");
    assert!(server.files().is_empty());
}

/// A client that closes before (or in the middle of) the digest leaves nothing behind.
#[test]
fn close_before_digest_leaves_nothing() {
    let mut server = TestServer::start();
    for (i, sent) in [&b""[..], &b"d41d8cd9"[..]].iter().enumerate() {
        let mut s = server.connect();
        send_info(&mut s, &info_json("a.bin", 4));
        s.write_all(b"data").unwrap();
        assert_eq!(read_up_to(&mut s, 2), b"OK");
        s.write_all(sent).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        assert!(server_closed(&mut s));
        let line = server.wait_log_count("closing the connection", i + 1);
        assert!(
            line.contains(&format!("after {} of the 32", sent.len())),
            "{line}"
        );
    }
    assert!(server.files().is_empty());
}

/// 32 clients uploading at once all get 203 and all files arrive intact.
#[test]
fn thirty_two_clients_at_once() {
    let server = TestServer::start();
    let addr = server.addr;
    let clients: Vec<_> = (0..32u64)
        .map(|i| {
            thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(PATIENCE)).unwrap();
                for part in 0..2u64 {
                    let contents = random_bytes(100_000 + (i * 997) as usize, i * 10 + part);
                    let name = format!("client{i}-{part}.bin");
                    let receipt =
                        upload(&mut s, &name, &contents[..], contents.len() as u64).unwrap();
                    assert_eq!(receipt.verdict, Verdict::Verified);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(server.files().len(), 64);
    for i in 0..32u64 {
        for part in 0..2u64 {
            let contents = random_bytes(100_000 + (i * 997) as usize, i * 10 + part);
            assert_eq!(server.read(&format!("client{i}-{part}.bin")), contents);
        }
    }
}

/// Past the connection limit the newcomer is served, not refused: the
/// connection that has waited longest without completing a message is
/// dropped to make room, with a log line naming it and the limit.
#[test]
fn connection_limit_makes_room() {
    let mut server = TestServer::start_with(|c| {
        c.limits.max_connections = 2;
        c.limits.idle_timeout = PATIENCE;
    });
    let mut first = server.connect();
    server.wait_log_count(": connected", 1);
    let _second = server.connect();
    server.wait_log_count(": connected", 2);
    let mut third = server.connect();
    let receipt = upload(&mut third, "late.txt", &b"served"[..], 6).unwrap();
    assert_eq!(receipt.verdict, Verdict::Verified);
    let line = server.wait_log("dropped to make room");
    assert!(line.contains("--max-connections 2"), "{line}");
    let first_port = first.local_addr().unwrap().port();
    assert!(
        line.starts_with(&format!("127.0.0.1:{first_port}:")),
        "{line}"
    );
    assert!(
        server_closed(&mut first),
        "the oldest silent connection was kept"
    );
}

/// After a string of bad clients, a good client on a parallel connection is still served.
#[test]
fn bad_clients_do_not_disturb_good_ones() {
    let mut server = TestServer::start();
    let mut good = server.connect();
    upload(&mut good, "1.txt", &b"one"[..], 3).unwrap();
    for bytes in [
        &(-7i32).to_le_bytes()[..],
        b"\x10\x00\x00\x00garbage garbage!",
    ] {
        let mut bad = server.connect();
        bad.write_all(bytes).unwrap();
        assert!(server_closed(&mut bad));
    }
    server.wait_log_count("closing the connection", 2);
    let receipt = upload(&mut good, "2.txt", &b"two"[..], 3).unwrap();
    assert_eq!(receipt.verdict, Verdict::Verified);
    assert_eq!(server.files(), ["1.txt", "2.txt"]);
}
