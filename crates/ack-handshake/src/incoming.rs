//! Receiving a file without ever leaving a half-written one under its name.
//!
//! Bytes go to a temporary file in the target directory (same file system, so
//! the final rename is atomic); only when the upload is complete (and, in
//! stage 6, verified) is it renamed into place. A client that disconnects
//! mid-file leaves nothing under the final name and never damages an earlier
//! file of that name: dropping an unfinished [`IncomingFile`] deletes it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being received into a directory.
pub struct IncomingFile {
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl IncomingFile {
    /// Starts receiving `name` (already validated as a plain name) into `dir`,
    /// creating `dir` if needed.
    pub fn create(dir: &Path, name: &str) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let temp = tempfile::Builder::new()
            .prefix(".upload-")
            .suffix(".part")
            .tempfile_in(dir)?;
        Ok(Self {
            temp,
            dest: dir.join(name),
        })
    }

    /// Where the file will be once finished.
    pub fn destination(&self) -> &Path {
        &self.dest
    }

    /// Flushes the bytes to disk and renames the file into place, replacing
    /// any earlier file of that name in one step.
    pub fn finish(self) -> io::Result<PathBuf> {
        self.temp.as_file().sync_all()?;
        let dest = self.dest;
        self.temp.persist(&dest).map_err(|e| e.error)?;
        Ok(dest)
    }
}

impl Write for IncomingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unfinished file leaves nothing behind and never touches the old file.
    #[test]
    fn dropped_upload_leaves_old_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.bin"), b"old").unwrap();
        let mut f = IncomingFile::create(dir.path(), "a.bin").unwrap();
        f.write_all(b"new but unfinished").unwrap();
        drop(f);
        assert_eq!(fs::read(dir.path().join("a.bin")).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A finished file replaces the old one.
    #[test]
    fn finished_upload_replaces() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.bin"), b"old").unwrap();
        let mut f = IncomingFile::create(dir.path(), "a.bin").unwrap();
        f.write_all(b"new").unwrap();
        f.finish().unwrap();
        assert_eq!(fs::read(dir.path().join("a.bin")).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
