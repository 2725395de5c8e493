//! Hashing on its own core while the bytes move: the speed half of the lesson.
//!
//! MD5 is the slowest thing an upload does (roughly 0.5-0.7 GB/s on one core,
//! while copying bytes through a socket or the page cache runs at several
//! GB/s). Done in line, each chunk would wait for the hash of the one before
//! it, and the socket would sit idle meanwhile. So each side splits the work:
//!
//! - the **I/O thread** (the caller) moves a chunk: file -> socket on the
//!   client, socket -> temporary file on the server;
//! - the **hasher thread** (spawned here) feeds the same chunk to MD5 and
//!   hands the buffer back for reuse.
//!
//! The two are joined by a bounded channel of owned buffers, so the bytes are
//! hashed exactly once, never copied for the hasher, and memory stays at
//! `depth * chunk` bytes whatever the file size: when the hasher falls
//! behind, the I/O thread waits for a buffer to come back instead of
//! allocating another (back-pressure, down to the socket and TCP's window).

use md5::{Digest, Md5};
use std::io;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

/// Bytes the client reads, sends and hashes per step: large enough that
/// system calls and channel hand-offs cost nothing next to the hashing
/// (measured: 128 KiB, 256 KiB and 1 MiB upload equally fast).
pub const CHUNK_SIZE: usize = 256 * 1024;

/// The server's step: smaller, because a server holds `PIPELINE_DEPTH`
/// buffers for *each* upload in progress. 3 x 128 KiB per upload keeps even
/// 64 simultaneous uploads (the default connection limit) near 24 MiB.
pub const SERVER_CHUNK_SIZE: usize = 128 * 1024;

/// Buffers one upload may have in flight (being filled, queued, being hashed).
pub const PIPELINE_DEPTH: usize = 3;

/// An MD5 computed on a helper thread from buffers the caller lends it.
pub struct HashPipeline {
    to_hasher: Option<SyncSender<Vec<u8>>>,
    returned: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<[u8; 16]>>,
    allocated: usize,
    chunk: usize,
    depth: usize,
}

impl HashPipeline {
    /// Starts a hasher thread that accepts up to `depth` buffers of up to
    /// `chunk` bytes.
    pub fn new(chunk: usize, depth: usize) -> io::Result<Self> {
        let depth = depth.max(1);
        let (to_hasher, queue) = mpsc::sync_channel::<Vec<u8>>(depth);
        let (give_back, returned) = mpsc::channel::<Vec<u8>>();
        let worker = thread::Builder::new()
            .name("md5 hasher".to_string())
            .spawn(move || {
                let mut md5 = Md5::new();
                for buf in queue {
                    md5.update(&buf);
                    // The I/O thread may have stopped waiting (an upload cut
                    // short); then the buffer is simply freed here.
                    let _ = give_back.send(buf);
                }
                md5.finalize().into()
            })?;
        Ok(Self {
            to_hasher: Some(to_hasher),
            returned,
            worker: Some(worker),
            allocated: 0,
            chunk: chunk.max(1),
            depth,
        })
    }

    /// A buffer of exactly `len` bytes (at most the chunk size) to fill:
    /// one the hasher has finished with, a new one while fewer than `depth`
    /// exist, or else the next one the hasher gives back.
    pub fn buffer(&mut self, len: usize) -> io::Result<Vec<u8>> {
        let len = len.min(self.chunk);
        let mut buf = match self.returned.try_recv() {
            Ok(buf) => buf,
            Err(_) if self.allocated < self.depth => {
                self.allocated += 1;
                Vec::with_capacity(self.chunk)
            }
            Err(_) => self.returned.recv().map_err(|_| hasher_gone())?,
        };
        // Reused buffers already hold `chunk` initialised bytes, so this only
        // writes zeros the first time a buffer is used.
        buf.resize(len, 0);
        Ok(buf)
    }

    /// Hands a filled buffer to the hasher; blocks while `depth` buffers are
    /// already queued.
    pub fn hash(&mut self, buf: Vec<u8>) -> io::Result<()> {
        match &self.to_hasher {
            Some(tx) => tx.send(buf).map_err(|_| hasher_gone()),
            None => Err(hasher_gone()),
        }
    }

    /// Waits for the hasher to finish every buffer and returns the digest.
    pub fn finish(mut self) -> io::Result<[u8; 16]> {
        // Closing the channel is what tells the hasher the data has ended.
        self.to_hasher = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(digest)) => Ok(digest),
            _ => Err(hasher_gone()),
        }
    }
}

impl Drop for HashPipeline {
    fn drop(&mut self) {
        // An upload that ends early still stops its hasher: close the
        // channel, then wait (at most one chunk's hashing) so no thread
        // outlives the connection.
        self.to_hasher = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn hasher_gone() -> io::Error {
    io::Error::other("the MD5 hasher thread stopped unexpectedly")
}

/// The digest as the wire carries it: 32 lowercase hex characters.
pub fn to_hex(digest: &[u8; 16]) -> String {
    hex::encode(digest)
}

/// MD5 of a byte slice in one go, as 32 lowercase hex characters (for the
/// demo and tests, which know their files' contents).
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashing in reused buffers on another thread gives the same digest as hashing in one go.
    #[test]
    fn pipeline_matches_one_shot_md5() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut pipe = HashPipeline::new(4096, 2).unwrap();
        for piece in data.chunks(4096) {
            let mut buf = pipe.buffer(piece.len()).unwrap();
            buf.copy_from_slice(piece);
            pipe.hash(buf).unwrap();
        }
        assert!(pipe.allocated <= 2);
        assert_eq!(to_hex(&pipe.finish().unwrap()), md5_hex(&data));
    }

    /// The empty input hashes to MD5's well-known empty digest.
    #[test]
    fn empty_input() {
        let pipe = HashPipeline::new(CHUNK_SIZE, PIPELINE_DEPTH).unwrap();
        assert_eq!(
            to_hex(&pipe.finish().unwrap()),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }
}
