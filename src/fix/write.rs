//! Atomic replacement of a file: lock, check it is still what was read, write a temp file in the
//! same directory, fsync, rename over the original with its permissions, fsync the directory.
//! Several files are all prepared before any is renamed, so a failure leaves every one as it was.
//! Also atomic creation of output files (the audit page).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file was not replaced. In every case the original is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: changed since anchorcheck read it; nothing was written (run fix again)", .path.display())]
    Changed { path: PathBuf },
    #[error("{}: {what} is read-only; nothing was written", .path.display())]
    ReadOnly { path: PathBuf, what: &'static str },
    #[error("{} already exists; nothing was written", .path.display())]
    Exists { path: PathBuf },
    #[error("{}: {action}: {source}; nothing was written", .path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
}

fn io<'p>(path: &'p Path, action: &'static str) -> impl FnOnce(std::io::Error) -> WriteError + 'p {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Fails when the file's bytes are no longer `expected`.
pub fn ensure_unchanged(path: &Path, expected: &[u8]) -> Result<(), WriteError> {
    let current = fs::read(path).map_err(io(path, "cannot read"))?;
    if current != expected {
        return Err(WriteError::Changed {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Replaces `path` with `contents` if it still holds `expected`. Readers see either the old or
/// the new file, never a mix; a crash leaves at most a stray temp file, never a partial target.
pub fn replace_atomically(path: &Path, expected: &[u8], contents: &[u8]) -> Result<(), WriteError> {
    prepare(path, expected, contents)?.commit()
}

/// A new version of a file written beside it and flushed, waiting to be renamed over it. The
/// original stays locked and untouched until [`Prepared::commit`]; dropping it removes the
/// temporary file, so preparing every file first and committing only when all succeeded means
/// a full disk or a read-only file changes nothing.
pub struct Prepared {
    path: PathBuf,
    dir: PathBuf,
    temp: tempfile::NamedTempFile,
    /// Held for the advisory lock until the rename is done.
    _original: File,
}

/// Locks `path`, checks it still holds `expected`, and writes `contents` to a flushed temporary
/// file in the same directory with the original's permissions.
pub fn prepare(path: &Path, expected: &[u8], contents: &[u8]) -> Result<Prepared, WriteError> {
    let original = File::open(path).map_err(io(path, "cannot open"))?;
    // An advisory lock: two `fix` runs on the same file take turns, and the second then sees
    // that the file changed under it.
    original.lock().map_err(io(path, "cannot lock"))?;
    ensure_unchanged(path, expected)?;
    let permissions = original
        .metadata()
        .map_err(io(path, "cannot read permissions"))?
        .permissions();
    // The rename would replace a read-only file without complaint (and root may write
    // anywhere): honour the mode bits the user set.
    if permissions.readonly() {
        return Err(WriteError::ReadOnly {
            path: path.to_path_buf(),
            what: "the file",
        });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir_readonly = fs::metadata(dir)
        .map_err(io(path, "cannot read its directory"))?
        .permissions()
        .readonly();
    if dir_readonly {
        return Err(WriteError::ReadOnly {
            path: path.to_path_buf(),
            what: "its directory",
        });
    }
    let temp = write_temp(path, dir, contents, permissions)?;
    Ok(Prepared {
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
        temp,
        _original: original,
    })
}

/// Writes `contents` to a flushed temporary file in `dir` with `permissions`.
fn write_temp(
    path: &Path,
    dir: &Path,
    contents: &[u8],
    permissions: fs::Permissions,
) -> Result<tempfile::NamedTempFile, WriteError> {
    let mut temp = tempfile::Builder::new()
        .prefix(".anchorcheck-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io(path, "cannot create a temporary file beside it"))?;
    temp.write_all(contents)
        .map_err(io(path, "cannot write the temporary file"))?;
    temp.as_file()
        .sync_all()
        .map_err(io(path, "cannot flush the temporary file"))?;
    fs::set_permissions(temp.path(), permissions).map_err(io(path, "cannot copy permissions"))?;
    Ok(temp)
}

/// Renames a flushed temporary file over `path` and makes the rename durable.
fn rename_over(path: &Path, dir: &Path, temp: tempfile::NamedTempFile) -> Result<(), WriteError> {
    temp.persist(path).map_err(|e| WriteError::Io {
        path: path.to_path_buf(),
        action: "cannot rename the temporary file over it",
        source: e.error,
    })?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `contents` to `path`, creating it or replacing whatever is there (keeping its
/// permissions; a new file is readable by all, like one written by a shell redirect). Readers
/// see the old file or the whole new one, never a partial write.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    let permissions = match fs::metadata(path) {
        Ok(meta) => meta.permissions(),
        Err(_) => default_permissions(path)?,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let temp = write_temp(path, dir, contents, permissions)?;
    rename_over(path, dir, temp)
}

/// Creates `path` with `contents`, atomically, and only if nothing is there yet (`init` never
/// overwrites an anchors file): a file that appears meanwhile is kept and this fails.
pub fn create_atomically(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if fs::symlink_metadata(path).is_ok() {
        return Err(WriteError::Exists {
            path: path.to_path_buf(),
        });
    }
    let temp = write_temp(path, dir, contents, default_permissions(path)?)?;
    temp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            WriteError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            WriteError::Io {
                path: path.to_path_buf(),
                action: "cannot move the temporary file into place",
                source: e.error,
            }
        }
    })?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(path, "cannot flush its directory"))
}

#[cfg(unix)]
fn default_permissions(_: &Path) -> Result<fs::Permissions, WriteError> {
    use std::os::unix::fs::PermissionsExt;
    Ok(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions(path: &Path) -> Result<fs::Permissions, WriteError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let meta =
        fs::metadata(dir.unwrap_or(Path::new("."))).map_err(io(path, "cannot read permissions"))?;
    let mut permissions = meta.permissions();
    permissions.set_readonly(false);
    Ok(permissions)
}

impl Prepared {
    /// Renames the temporary file over the original and makes the rename durable.
    pub fn commit(self) -> Result<(), WriteError> {
        let Prepared {
            path,
            dir,
            temp,
            _original,
        } = self;
        rename_over(&path, &dir, temp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchors.yaml");
        fs::write(&path, "old\r\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        }
        replace_atomically(&path, b"old\r\n", b"new\r\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new\r\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }

    #[test]
    fn writes_a_new_file_readable_by_all_and_then_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.html");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_when_the_file_changed_since_it_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchors.yaml");
        fs::write(&path, "edited by someone else").unwrap();
        let err = replace_atomically(&path, b"what we read", b"new").unwrap_err();
        assert!(matches!(err, WriteError::Changed { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"edited by someone else");
    }

    #[test]
    fn creating_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchors.yaml");
        create_atomically(&path, b"first").unwrap();
        let err = create_atomically(&path, b"second").unwrap_err();
        assert!(matches!(err, WriteError::Exists { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_file_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchors.yaml");
        fs::write(&path, "old").unwrap();
        set_mode(&path, 0o444);
        let err = replace_atomically(&path, b"old", b"new").unwrap_err();
        assert!(matches!(err, WriteError::ReadOnly { .. }), "{err}");
        assert!(err.to_string().contains("the file is read-only"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_directory_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchors.yaml");
        fs::write(&path, "old").unwrap();
        set_mode(dir.path(), 0o555);
        let err = replace_atomically(&path, b"old", b"new").unwrap_err();
        set_mode(dir.path(), 0o755);
        assert!(
            err.to_string().contains("its directory is read-only"),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_failure_on_one_file_leaves_every_file_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("anchors.yaml");
        let second = dir.path().join("page.md");
        fs::write(&first, "a1").unwrap();
        fs::write(&second, "b1").unwrap();
        set_mode(&second, 0o444);
        let prepared = prepare(&first, b"a1", b"a2").unwrap();
        assert!(prepare(&second, b"b1", b"b2").is_err());
        // The caller drops what it prepared instead of committing it.
        drop(prepared);
        assert_eq!(fs::read(&first).unwrap(), b"a1");
        assert_eq!(fs::read(&second).unwrap(), b"b1");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "temp files removed"
        );
    }
}
