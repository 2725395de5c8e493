//! Property tests: the fixed stages, client and server over real sockets
//! with the network-weather proxy between them, deliver every message intact
//! under any seeded weather.

use std::net::TcpStream;
use std::time::Duration;

use common::weather::{Weather, WeatherProxy};
use common::{run_builtin, spawn_loopback, ShellLimits};
use proptest::prelude::*;

/// Bound for every read and idle wait: a conversation cut into 1-byte
/// pieces with seeded pauses takes a few seconds on a loaded machine, and a
/// bug must fail the test rather than hang it.
const TIMEOUT: Duration = Duration::from_secs(20);

fn through_proxy(server: std::net::SocketAddr, weather: Weather) -> (WeatherProxy, TcpStream) {
    let proxy = WeatherProxy::spawn(server, weather).unwrap();
    let client = TcpStream::connect(proxy.addr()).unwrap();
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    (proxy, client)
}

fn weather(seed: u64, split: Option<usize>) -> Weather {
    let mut weather = Weather::seeded(seed);
    weather.split = split;
    weather
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Stage 4: every reply arrives whole, in order, whatever the weather cuts.
    #[test]
    fn length_header_fix_survives_any_weather(
        seed in any::<u64>(),
        split in proptest::option::of(1usize..8),
        counts in proptest::collection::vec(0u32..700, 1..4),
    ) {
        let server = spawn_loopback(|listener| {
            let (mut stream, _) = listener.accept()?;
            stream.set_read_timeout(Some(TIMEOUT))?;
            length_header_fix::serve_connection(&mut stream, &length_header_fix::ServerConfig { interpreter: common::Interpreter::Builtin, ..Default::default() })
                .map_err(std::io::Error::from)
        }).unwrap();
        let (_proxy, mut client) = through_proxy(server.addr(), weather(seed, split));
        for n in counts {
            // `seq 1 0` prints nothing: an empty reply is a message too.
            let command = format!("seq 1 {n}");
            let expected = run_builtin(&command, ShellLimits::default()).reply();
            length_header_fix::send_command(&mut client, &command).unwrap();
            let reply = length_header_fix::recv_reply(&mut client, length_header_fix::DEFAULT_MAX_FRAME).unwrap();
            prop_assert_eq!(reply, expected);
        }
        drop(client);
        prop_assert!(server.join().is_ok());
    }

    /// Stage 6: every file is verified (203) and saved byte for byte, whatever the weather cuts.
    #[test]
    fn md5_upload_survives_any_weather(
        seed in any::<u64>(),
        split in proptest::option::of(1usize..8),
        files in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = md5_upload::ServerConfig::new(dir.path());
        config.log = md5_upload::ServerLog::quiet();
        let server = spawn_loopback(move |listener| {
            let (mut stream, _) = listener.accept()?;
            stream.set_read_timeout(Some(TIMEOUT))?;
            Ok(md5_upload::handle_connection(&mut stream, &config, "proptest"))
        }).unwrap();
        let (_proxy, mut client) = through_proxy(server.addr(), weather(seed, split));
        for (i, data) in files.iter().enumerate() {
            let name = format!("file-{i}.bin");
            let receipt = md5_upload::upload(&mut client, &name, &data[..], data.len() as u64).unwrap();
            prop_assert_eq!(receipt.verdict, md5_upload::Verdict::Verified);
            prop_assert_eq!(&std::fs::read(dir.path().join(&name)).unwrap(), data);
        }
        drop(client);
        let report = server.join().unwrap();
        prop_assert_eq!(report.verified, files.len());
    }
}
