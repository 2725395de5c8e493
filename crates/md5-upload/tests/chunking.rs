//! Property test: however the client's byte stream is cut into reads, the
//! server gets every token whole and every file right.

mod support;

use md5_upload::{handle_connection, ServerConfig, ServerLog};
use proptest::prelude::*;
use std::io::{self, Read, Write};
use support::*;

/// A connection whose reads return pieces of the sizes in `cuts`, in turn:
/// network weather in memory.
struct Chopped {
    input: Vec<u8>,
    pos: usize,
    cuts: Vec<usize>,
    turn: usize,
    output: Vec<u8>,
}

impl Read for Chopped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let cut = self.cuts[self.turn % self.cuts.len()];
        self.turn += 1;
        let n = cut.min(buf.len()).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Chopped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any cutting of the stream yields OK then 203 (or 204 for a wrong digest) per file, and the right files.
    #[test]
    fn any_chunking_delivers_every_file(
        sizes in prop::collection::vec(0usize..5000, 1..5),
        cuts in prop::collection::vec(1usize..1500, 1..8),
        corrupt in any::<prop::sample::Index>(),
    ) {
        let wrong = corrupt.index(sizes.len());
        let mut input = Vec::new();
        let mut expected = Vec::new();
        let mut files = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let name = format!("f{i}.bin");
            let contents = random_bytes(size, i as u64 + 1);
            let json = info_json(&name, size as u64);
            input.extend_from_slice(&(json.len() as i32).to_le_bytes());
            input.extend_from_slice(&json);
            input.extend_from_slice(&contents);
            if i == wrong {
                input.extend_from_slice(md5_hex(b"something else").as_bytes());
                expected.extend_from_slice(b"OK204");
            } else {
                input.extend_from_slice(md5_hex(&contents).as_bytes());
                expected.extend_from_slice(b"OK203");
                files.push((name, contents));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let config = ServerConfig { log: ServerLog::quiet(), ..ServerConfig::new(dir.path()) };
        let mut conn = Chopped { input, pos: 0, cuts, turn: 0, output: Vec::new() };
        let report = handle_connection(&mut conn, &config, "test");
        prop_assert_eq!(report.error, None);
        prop_assert_eq!(conn.output, expected);
        prop_assert_eq!(list(dir.path()).len(), files.len());
        for (name, contents) in files {
            prop_assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), contents);
        }
    }
}
