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

/// The names of the temporary files: `.upload-XXXXXX.part`, hidden on Unix,
/// and plain to tell apart from any name a client may upload (a leading dot
/// is allowed in a client's name, but the sweep below matches both ends).
const TEMP_PREFIX: &str = ".upload-";
const TEMP_SUFFIX: &str = ".part";

impl IncomingFile {
    /// Deletes the temporary files an earlier server left in `dir` when it
    /// was killed mid-upload (dropping an [`IncomingFile`] deletes its file,
    /// but a killed process drops nothing). Call it once at start, before
    /// accepting: a folder belongs to one server. Returns how many it deleted.
    pub fn sweep(dir: &Path) -> io::Result<usize> {
        let mut deleted = 0;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours = name.starts_with(TEMP_PREFIX)
                && name.ends_with(TEMP_SUFFIX)
                && name.len() > TEMP_PREFIX.len() + TEMP_SUFFIX.len();
            if ours && entry.file_type()?.is_file() {
                fs::remove_file(entry.path())?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Starts receiving `name` (already validated as a plain name) into `dir`,
    /// creating `dir` if needed.
    pub fn create(dir: &Path, name: &str) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
        // A temporary file is private (0600) by default, and the rename would
        // keep that: an uploaded file would then differ from one the classic
        // server's `open(path, 'wb')` writes. Ask for 0666 and let the umask
        // cut it down, exactly as for any newly created file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(dir)?;
        Ok(Self {
            temp,
            dest: dir.join(name),
        })
    }

    /// The temporary file itself, for a caller that wants to start writing
    /// it to disk early (stage 6 does, so the final sync has little left).
    pub fn as_file(&self) -> &fs::File {
        self.temp.as_file()
    }

    /// Where the file will be once finished.
    pub fn destination(&self) -> &Path {
        &self.dest
    }

    // ANCHOR: finish
    /// Flushes the bytes to disk and renames the file into place, replacing
    /// any earlier file of that name in one step.
    pub fn finish(self) -> io::Result<PathBuf> {
        self.temp.as_file().sync_all()?;
        let dest = self.dest;
        self.temp.persist(&dest).map_err(|e| e.error)?;
        Ok(dest)
    }
    // ANCHOR_END: finish
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

    /// A finished upload gets the permissions any newly created file gets (umask applied), not 0600.
    #[cfg(unix)]
    #[test]
    fn finished_upload_has_ordinary_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::File::create(&plain).unwrap();
        let mut f = IncomingFile::create(dir.path(), "up.bin").unwrap();
        f.write_all(b"x").unwrap();
        let done = f.finish().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&done), mode(&plain));
    }

    /// On Windows a finished upload is as writable as any newly created file: not read-only.
    #[cfg(windows)]
    #[test]
    fn finished_upload_has_ordinary_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::File::create(&plain).unwrap();
        let mut f = IncomingFile::create(dir.path(), "up.bin").unwrap();
        f.write_all(b"x").unwrap();
        let done = f.finish().unwrap();
        let readonly = |p: &Path| fs::metadata(p).unwrap().permissions().readonly();
        assert!(!readonly(&done));
        assert_eq!(readonly(&done), readonly(&plain));
    }

    /// The sweep deletes what a killed server left behind, and nothing else.
    #[test]
    fn sweep_deletes_only_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let left = IncomingFile::create(dir.path(), "a.bin").unwrap();
        // What a killed process leaves: the temporary file, never dropped.
        let kept = left.temp.into_temp_path().keep().unwrap();
        fs::write(dir.path().join("b.bin"), b"saved").unwrap();
        fs::write(dir.path().join(".upload-notes.txt"), b"a user's file").unwrap();
        assert!(kept.exists());
        assert_eq!(IncomingFile::sweep(dir.path()).unwrap(), 1);
        assert!(!kept.exists());
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [".upload-notes.txt", "b.bin"]);
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
