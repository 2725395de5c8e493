//! The client binary through network weather: `printf 'put big.bin\nexit\n' |
//! md5-upload client --addr <proxy>` still gets `203` when every byte is a
//! piece of its own, and when writes are glued together.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::weather::{Weather, WeatherProxy};
use common::{spawn_loopback, LoopbackServer};
use md5_upload::{ConnectionReport, ServerConfig, ServerLog};

const BIN: &str = env!("CARGO_BIN_EXE_md5-upload");

/// Bound for every wait of an upload through the weather: 300 KB cut into
/// small pieces take a few seconds on a loaded machine, and a bug must fail
/// the test rather than hang it.
const THROUGH_WEATHER: Duration = Duration::from_secs(20);

/// A one-connection stage-6 server saving into `dir`.
fn server(dir: &Path) -> LoopbackServer<ConnectionReport> {
    let mut config = ServerConfig::new(dir);
    config.log = ServerLog::quiet();
    spawn_loopback(move |listener| {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(THROUGH_WEATHER))?;
        Ok(md5_upload::handle_connection(
            &mut stream,
            &config,
            "weather test",
        ))
    })
    .unwrap()
}

/// Uploads `big.bin` with the client binary through `weather`; returns its stdout.
fn upload_through(weather: Weather) -> String {
    let saved = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    // 200 KiB: with `--split 1` that is 200,000 writes of one byte each.
    let data: Vec<u8> = (0..200 * 1024u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(work.path().join("big.bin"), &data).unwrap();
    let server = server(saved.path());
    let proxy = WeatherProxy::spawn(server.addr(), weather).unwrap();
    let mut client = Command::new(BIN)
        .args(["client", "--addr"])
        .arg(proxy.addr().to_string())
        .current_dir(work.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    client
        .stdin
        .take()
        .unwrap()
        .write_all(b"put big.bin\nexit\n")
        .unwrap();
    let out = client.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = server.join().unwrap();
    assert_eq!(report.verified, 1, "{report:?}");
    assert_eq!(std::fs::read(saved.path().join("big.bin")).unwrap(), data);
    stdout
}

/// Every byte delivered as a write of its own: the client still gets 203.
#[test]
fn split_into_single_bytes() {
    let stdout = upload_through(Weather::split(1));
    assert!(stdout.contains("203"), "{stdout}");
}

/// Writes glued together for 20 ms at a time: the client still gets 203.
#[test]
fn coalesced_for_20_ms() {
    let stdout = upload_through(Weather::coalesce(Duration::from_millis(20)));
    assert!(stdout.contains("203"), "{stdout}");
}
