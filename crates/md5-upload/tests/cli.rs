//! The binaries: `md5-upload server` and `md5-upload client` in two processes,
//! as a student runs them in two terminals.

mod support;

use common::process::{in_english, run_with_input, ServerProcess};
use std::ffi::OsStr;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_md5-upload");

/// A server process saving into `dir`, killed when the test ends however it ends.
fn start_server(dir: &Path, extra: &[&str]) -> ServerProcess {
    let args = ["server", "--addr", "127.0.0.1:0", "--dir"]
        .iter()
        .map(OsStr::new)
        .chain([dir.as_os_str()])
        .chain(extra.iter().map(OsStr::new));
    ServerProcess::start(BIN, args).unwrap()
}

/// Runs the client with `input` on stdin, bounded by a timeout.
fn run_client(addr: SocketAddr, input: &str) -> Output {
    let addr = addr.to_string();
    run_with_input(
        BIN,
        ["client", "--addr", &addr, "--timeout-secs", "5"],
        input.as_bytes(),
    )
    .unwrap()
}

/// Three files through the two binaries: all 203 and marked, byte-identical, exit status 0, no progress bar when piped.
#[test]
fn server_and_client_binaries() {
    let root = tempfile::tempdir().unwrap();
    let put = root.path().join("put");
    let server = start_server(&put, &[]);
    let local = root.path().join("local");
    std::fs::create_dir(&local).unwrap();
    let files = [
        ("empty.bin", Vec::new()),
        ("one.bin", vec![1u8]),
        ("big.bin", random_bytes(2 * 1024 * 1024, 5)),
    ];
    let mut input = String::new();
    for (name, contents) in &files {
        std::fs::write(local.join(name), contents).unwrap();
        input.push_str(&format!("put {}\n", local.join(name).display()));
    }
    input.push_str("exit\n");
    let out = run_client(server.addr(), &input);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.matches("203 verified").count(), 3, "{stdout}");
    // Every upload's replies are marked before its summary line.
    for (name, _) in &files {
        let path = local.join(name).display().to_string();
        let mark = format!(
            "── replies to `put {path}`: `OK` (2 B) after the bytes, `203` (3 B) after the MD5 ──\nput {path}: 203 verified"
        );
        assert!(stdout.contains(&mark), "{stdout}");
    }
    assert!(
        !stderr.contains("ETA"),
        "a progress bar on a pipe: {stderr}"
    );
    for (name, contents) in &files {
        assert_eq!(&std::fs::read(put.join(name)).unwrap(), contents);
    }
    server
        .wait_log("closed by the client after 3 file(s)")
        .unwrap();
}

/// A file that cannot be read and an unknown command make the exit status non-zero; good files still go through.
#[test]
fn client_fails_on_missing_file() {
    let root = tempfile::tempdir().unwrap();
    let server = start_server(&root.path().join("put"), &[]);
    let good = root.path().join("good.txt");
    std::fs::write(&good, b"good").unwrap();
    let input = format!("put /no/such/file.bin\nhello\nput {}\n", good.display());
    let out = run_client(server.addr(), &input);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stdout.contains("file.bin: not uploaded: cannot read the file"),
        "{stdout}"
    );
    assert!(stdout.contains("good.txt: 203 verified"), "{stdout}");
    assert!(stderr.contains("write `put PATH`"), "{stderr}");
}

/// No server: a clear message and a non-zero exit.
#[test]
fn client_without_server() {
    // Held for the whole test: no other program can start listening there.
    let port = common::testing::ClosedPort::tcp().unwrap();
    let out = run_client(port.addr(), "put x\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("is the server running?"), "{stderr}");
}

/// A server that answers 204 makes the client print the mismatch and exit non-zero.
#[test]
fn client_exits_non_zero_on_204() {
    let server = common::spawn_loopback(|listener| {
        let (mut conn, _) = listener.accept()?;
        let mut wire = vec![0u8; 4 + 48 + 5];
        std::io::Read::read_exact(&mut conn, &mut wire)?;
        conn.write_all(b"OK")?;
        let mut digest = [0u8; 32];
        std::io::Read::read_exact(&mut conn, &mut digest)?;
        conn.write_all(b"204")
    })
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("a.bin");
    std::fs::write(&path, b"hello").unwrap();
    let out = run_client(server.addr(), &format!("put {}\n", path.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("204 checksum mismatch"), "{stdout}");
    server.join().unwrap();
}

/// A server refusing a file over --max-file-size: the client reports the refusal and exits non-zero; the server logs why.
#[test]
fn server_binary_refuses_oversized_file() {
    let root = tempfile::tempdir().unwrap();
    let put = root.path().join("put");
    let server = start_server(&put, &["--max-file-size", "1000"]);
    let path = root.path().join("big.bin");
    std::fs::write(&path, vec![0u8; 1001]).unwrap();
    let out = run_client(server.addr(), &format!("put {}\n", path.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("refused the upload"), "{stdout}");
    let line = server.wait_log("closing the connection").unwrap();
    assert!(
        line.contains("over this server's limit of 1000 bytes"),
        "{line}"
    );
    assert!(list(&put).is_empty());
}

/// The demo binary prints the transcript and exits 0.
#[test]
fn demo_binary() {
    let out = in_english(&mut Command::new(BIN)).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        md5_upload::demo_transcript().unwrap()
    );
}
