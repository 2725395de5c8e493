//! Byte compatibility with the classic Python programs: a Python client
//! uploads to the Rust server, and the Rust client uploads to a Python server,
//! several files on one connection. The Python programs are in
//! `tests/python/`, written from SPEC's stage-5 description.

use ack_handshake::{handle_connection, upload_file, ServerConfig};
use common::spawn_loopback;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Bound for every wait on the Python program: starting python3 takes well
/// under a second even on a loaded machine, and a bug must fail, not hang.
const TIMEOUT: Duration = common::testing::PATIENCE;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

/// Files of the interop tests: an empty one, one just over a 1,024-byte
/// read, a larger one, and names with a space and with non-ASCII letters
/// (Python's json.dumps escapes those as \uXXXX).
fn make_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let files: Vec<(String, Vec<u8>)> = vec![
        ("empty.bin".into(), Vec::new()),
        (
            "just over.bin".into(),
            (0..1025u32).map(|i| i as u8).collect(),
        ),
        ("报告.txt".into(), "数据 ".repeat(3000).into_bytes()),
        (
            "big.bin".into(),
            (0..300_000u32).map(|i| (i % 253) as u8).collect(),
        ),
    ];
    for (name, data) in &files {
        fs::write(dir.join(name), data).unwrap();
    }
    files
}

/// Waits for a child with a bound; kills it rather than hang the test.
fn wait_bounded(mut child: Child) -> Output {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "python did not finish in {TIMEOUT:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A Python client uploads several files on one connection to the Rust server; they arrive byte-identical.
#[test]
fn python_client_to_rust_server() {
    if !common::testing::python3_available("python_client_to_rust_server") {
        return;
    }
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let files = make_files(local.path());
    let config = ServerConfig::new(remote.path().join("put"));
    let server_config = config.clone();
    let server = spawn_loopback(move |listener| {
        let (stream, _) = listener.accept()?;
        Ok(handle_connection(stream, &server_config))
    })
    .unwrap();

    let mut python = Command::new("python3");
    python
        .arg(script("put_client.py"))
        .arg("127.0.0.1")
        .arg(server.addr().port().to_string())
        .args(files.iter().map(|(name, _)| local.path().join(name)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = wait_bounded(python.spawn().unwrap());
    assert!(
        out.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = server.join().unwrap().unwrap();
    let names: Vec<&str> = received.iter().map(|r| r.name.as_str()).collect();
    let expected: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, expected);
    for (name, data) in &files {
        assert_eq!(&fs::read(config.dir.join(name)).unwrap(), data, "{name}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), files.len(), "{stdout}");
}

/// The Rust client uploads several files on one connection to a Python server; they arrive byte-identical.
#[test]
fn rust_client_to_python_server() {
    if !common::testing::python3_available("rust_client_to_python_server") {
        return;
    }
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let files = make_files(local.path());
    let mut python = Command::new("python3")
        .arg(script("put_server.py"))
        .arg(remote.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The port comes from the server's first line; read it on a thread so the
    // wait has a bound.
    let stdout = python.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
        let _ = python.kill();
        panic!("the python server never said which port it listens on")
    });
    let port: u16 = first
        .strip_prefix("listening on ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from python: {first:?}"));

    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    for (name, data) in &files {
        let info = upload_file(&mut stream, &local.path().join(name)).unwrap();
        assert_eq!(&info.filename, name);
        assert_eq!(info.filesize, data.len() as u64);
    }
    drop(stream);
    let out = wait_bounded(python);
    assert!(
        out.status.success(),
        "python server failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said: Vec<String> = rx.try_iter().collect();
    assert_eq!(said.len(), files.len(), "{said:?}");
    for (name, data) in &files {
        assert_eq!(&fs::read(remote.path().join(name)).unwrap(), data, "{name}");
    }
}
