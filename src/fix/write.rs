//! Atomic replacement of a file: lock, check it is still what was read, write a temp file in the
//! same directory, fsync, rename over the original with its permissions, fsync the directory.
//! Also atomic creation of output files (the audit page).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file was not replaced. In every case the original is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: changed since anchorcheck read it; nothing was written (run fix again)", .path.display())]
    Changed { path: PathBuf },
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
    let original = File::open(path).map_err(io(path, "cannot open"))?;
    // An advisory lock: two `fix` runs on the same file take turns, and the second then sees
    // that the file changed under it.
    original.lock().map_err(io(path, "cannot lock"))?;
    ensure_unchanged(path, expected)?;
    let permissions = original
        .metadata()
        .map_err(io(path, "cannot read permissions"))?
        .permissions();
    persist_beside(path, contents, permissions)?;
    drop(original);
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
    persist_beside(path, contents, permissions)
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

/// Writes a temp file beside `path`, flushes it, gives it `permissions` and renames it over
/// `path`.
fn persist_beside(
    path: &Path,
    contents: &[u8],
    permissions: fs::Permissions,
) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
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
    temp.persist(path).map_err(|e| WriteError::Io {
        path: path.to_path_buf(),
        action: "cannot rename the temporary file over it",
        source: e.error,
    })?;
    // Make the rename itself durable.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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
}
