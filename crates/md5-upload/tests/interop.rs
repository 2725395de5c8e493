//! Byte-for-byte compatibility with Python programs written from SPEC's
//! stage-6 description (struct.pack("i"), json, hashlib.md5): a Python client
//! uploads to the Rust server, and the Rust client uploads to a Python server.

mod support;

use common::process::run_with_input;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_md5-upload");

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

/// The files both directions upload: empty, one byte, a few MiB of random
/// bytes, and a non-ASCII name (Python's json.dumps escapes it as \uXXXX).
fn sample_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let files = vec![
        ("empty.bin".to_string(), Vec::new()),
        ("one.bin".to_string(), vec![0xffu8]),
        (
            "random.bin".to_string(),
            random_bytes(3 * 1024 * 1024 + 5, 77),
        ),
        ("报告.txt".to_string(), "第六阶段\n".as_bytes().to_vec()),
    ];
    for (name, contents) in &files {
        std::fs::write(dir.join(name), contents).unwrap();
    }
    files
}

/// Waits for a child with a timeout, killing it if it overstays.
fn wait_output(mut child: Child) -> (bool, String, String) {
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out_reader = thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut pipe) = stdout {
            let _ = pipe.read_to_string(&mut s);
        }
        s
    });
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut pipe) = stderr {
            let _ = pipe.read_to_string(&mut s);
        }
        s
    });
    let deadline = std::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child process hung");
        }
        thread::sleep(std::time::Duration::from_millis(10));
    };
    (
        status.success(),
        out_reader.join().unwrap(),
        err_reader.join().unwrap(),
    )
}

/// A Python client uploads several files on one connection to the Rust server: all 203, byte-identical.
#[test]
fn python_client_to_rust_server() {
    if !common::testing::python3_available("python_client_to_rust_server") {
        return;
    }
    let mut server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let files = sample_files(local.path());
    let child = Command::new("python3")
        .arg(script("client.py"))
        .arg("127.0.0.1")
        .arg(server.addr.port().to_string())
        .args(files.iter().map(|(name, _)| local.path().join(name)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (ok, stdout, stderr) = wait_output(child);
    assert!(ok, "python client failed:\n{stdout}\n{stderr}");
    for (name, contents) in &files {
        assert!(stdout.contains(&format!("{name} 203")), "{stdout}");
        assert_eq!(&server.read(name), contents, "{name}");
    }
    server.wait_log("closed by the client after 4 file(s)");
    assert_eq!(server.files().len(), files.len(), "{:?}", server.files());
}

/// The Rust client binary uploads several files on one connection to a Python server: all 203, byte-identical.
#[test]
fn rust_client_to_python_server() {
    if !common::testing::python3_available("rust_client_to_python_server") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let received = root.path().join("received");
    let local = root.path().join("local");
    std::fs::create_dir(&local).unwrap();
    let files = sample_files(&local);
    let mut server = Command::new("python3")
        .arg(script("server.py"))
        .arg(&received)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the "listening on" line, then hand the rest of stderr to wait_output.
    let mut server_err = BufReader::new(server.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut first = String::new();
        let _ = server_err.read_line(&mut first);
        let _ = tx.send(first);
        let mut rest = String::new();
        let _ = server_err.read_to_string(&mut rest);
        rest
    });
    let first = match rx.recv_timeout(PATIENCE) {
        Ok(line) => line,
        Err(_) => {
            let _ = server.kill();
            panic!("the Python server printed nothing");
        }
    };
    let Some(addr) = first.trim().strip_prefix("listening on ") else {
        let _ = server.kill();
        panic!("unexpected first line {first:?}");
    };

    let mut input = String::new();
    for (name, _) in &files {
        input.push_str(&format!("put {}\n", local.join(name).display()));
    }
    let client = run_with_input(
        BIN,
        ["client", "--addr", addr, "--timeout-secs", "5"],
        input.as_bytes(),
    )
    .unwrap();
    let client_ok = client.status.success();
    let client_out = String::from_utf8_lossy(&client.stdout);
    let client_err = String::from_utf8_lossy(&client.stderr);

    // The Python server exits after the one connection (its stderr is
    // already taken by the reader thread).
    let (server_ok, server_out, _) = wait_output(server);
    let server_err = reader.join().unwrap();
    assert!(client_ok, "rust client failed:\n{client_out}\n{client_err}");
    assert!(
        server_ok,
        "python server failed:\n{server_out}\n{server_err}"
    );
    assert_eq!(
        client_out.matches("203 verified").count(),
        files.len(),
        "{client_out}"
    );
    for (name, contents) in &files {
        assert!(server_out.contains(&format!("{name} 203")), "{server_out}");
        assert_eq!(
            &std::fs::read(received.join(name)).unwrap(),
            contents,
            "{name}"
        );
    }
}
