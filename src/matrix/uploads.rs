//! The trials of the upload stages (5 and 6): each sends the same two
//! small files over a cell's network, then checks what the server saved.
//! Kept apart from the remote-execution trials: these judge files on disk,
//! not replies.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;

use common::demo::Verdict;
use common::weather::Counted;
use common::LoopbackServer;

use super::cell::cell;
use super::{broken, Column};

/// The files the upload stages send: small, fixed, one of them binary.
fn upload_files() -> [(&'static str, Vec<u8>); 2] {
    [
        (
            "notes.txt",
            b"sticky packets, told in six stages\n".repeat(3),
        ),
        ("table.bin", (0..=255u8).rev().chain(0..=43).collect()),
    ]
}

/// The uploaded files as the server saved them, compared with the originals.
fn check_saved(dir: &Path) -> io::Result<Verdict> {
    for (i, (name, data)) in upload_files().iter().enumerate() {
        match fs::read(dir.join(name)) {
            Ok(saved) if &saved == data => {}
            Ok(_) => return broken(format!("file {} saved wrong", i + 1)),
            Err(_) => return broken(format!("file {} not saved", i + 1)),
        }
    }
    Ok(Verdict::Intact)
}

/// Stage 5: JSON file info in one read, `200`, then exactly the bytes.
pub(super) fn ack_handshake_trial(column: &Column) -> io::Result<Verdict> {
    let dir = tempfile::tempdir()?;
    let config = ack_handshake::ServerConfig {
        dir: dir.path().to_path_buf(),
        ..ack_handshake::ServerConfig::default()
    };
    let (route, server) = cell(column, move |stream| {
        // A refused info is the lesson, not a failure of the trial.
        let _ = ack_handshake::handle_connection(stream, &config);
        Ok(())
    })?;
    let mut client = route.connect()?;
    let mut sent = 0;
    for (i, (name, data)) in upload_files().iter().enumerate() {
        let info_len = ack_handshake::FileInfo::put(*name, data.len() as u64)
            .to_json()
            .len();
        let result = ack_handshake::upload(&mut client, name, &data[..], data.len() as u64);
        if let Some(got) = route.cut_request(sent, info_len) {
            return broken(format!("JSON cut: read {} of {info_len} B", got.len()));
        }
        if let Err(e) = result {
            return broken(format!("file {}: {}", i + 1, first_words(&e.to_string())));
        }
        sent += info_len + data.len();
    }
    finish(client, server, dir.path())
}

/// Stage 6: length-prefixed file info, the bytes, and an MD5 check.
pub(super) fn md5_upload_trial(column: &Column) -> io::Result<Verdict> {
    let dir = tempfile::tempdir()?;
    let mut config = md5_upload::ServerConfig::new(dir.path());
    config.log = md5_upload::ServerLog::quiet();
    let (route, server) = cell(column, move |mut stream| {
        Ok(md5_upload::handle_connection(
            &mut stream,
            &config,
            "matrix",
        ))
    })?;
    let mut client = route.connect()?;
    for (i, (name, data)) in upload_files().iter().enumerate() {
        match md5_upload::upload(&mut client, name, &data[..], data.len() as u64) {
            Ok(receipt) if receipt.verdict == md5_upload::Verdict::Verified => {}
            Ok(receipt) => return broken(format!("file {}: {}", i + 1, receipt.verdict)),
            Err(e) => return broken(format!("file {}: {}", i + 1, first_words(&e.to_string()))),
        }
    }
    finish(client, server, dir.path())
}

/// The first few words of an error, short enough for a cell.
fn first_words(text: &str) -> String {
    text.split_whitespace()
        .take(5)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The end of an upload cell: the client closes its sending side and reads
/// until the server closes, so the server has finished before the files it
/// saved are checked.
fn finish<T>(
    mut client: Counted<TcpStream>,
    server: LoopbackServer<T>,
    dir: &Path,
) -> io::Result<Verdict> {
    let _ = client.get_ref().shutdown(Shutdown::Write);
    let mut buf = [0u8; 1024];
    while matches!(client.read(&mut buf), Ok(n) if n > 0) {}
    let _ = client.flush();
    server.join()?;
    check_saved(dir)
}
