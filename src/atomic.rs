//! Atomic replacement of files: lock each, check it is still what was read, write a temp file in
//! the same directory, fsync, check again right before renaming it over the original with its
//! permissions, fsync the directory. Every file is prepared before any is renamed, so a failure
//! leaves every one as it was. Also atomic creation of output files (the audit page).
//!
//! What `fix`, `approve`, `init` and the binary's `--output` files write through; they share
//! it here rather than through each other.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why files were not replaced. In every case the originals are left as they were.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: changed since anchorcheck read it; nothing was written (run fix again)", .path.display())]
    Changed { path: PathBuf },
    #[error("{}: {what} is read-only; nothing was written", .path.display())]
    ReadOnly { path: PathBuf, what: &'static str },
    #[error("{} already exists; nothing was written", .path.display())]
    Exists { path: PathBuf },
    #[error("{}: is a symbolic link or not a regular file; anchorcheck replaces only regular files (fix the file it points to instead); nothing was written", .path.display())]
    NotRegular { path: PathBuf },
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

/// The file a path names: device and inode on Unix (hard links share them), the path itself
/// elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Identity {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg(not(unix))]
    Path(PathBuf),
}

fn identity(path: &Path, meta: &fs::Metadata) -> Identity {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = path;
        Identity::Inode(meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Identity::Path(fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
    }
}

/// Opens `path` for locking without following a symbolic link, and checks it is a regular
/// file: replacing a link would leave its target stale.
fn open_regular(path: &Path) -> Result<(File, Identity), WriteError> {
    let meta = fs::symlink_metadata(path).map_err(io(path, "cannot open"))?;
    if !meta.is_file() {
        return Err(WriteError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Should the path become a link after the check above, the open fails.
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let file = options.open(path).map_err(io(path, "cannot open"))?;
    let meta = file.metadata().map_err(io(path, "cannot open"))?;
    if !meta.is_file() {
        return Err(WriteError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    Ok((file, identity(path, &meta)))
}

/// Fails unless `path` still names the file `id` (not a new file renamed over it) and holds
/// `expected`.
fn still_the_same(path: &Path, id: &Identity, expected: &[u8]) -> Result<(), WriteError> {
    let changed = || WriteError::Changed {
        path: path.to_path_buf(),
    };
    let meta = fs::symlink_metadata(path).map_err(|_| changed())?;
    if !meta.is_file() || identity(path, &meta) != *id {
        return Err(changed());
    }
    ensure_unchanged(path, expected)
}

/// One file to replace: its path, the bytes read from it, and the new bytes.
#[derive(Clone, Copy, Debug)]
pub struct Replacement<'a> {
    pub path: &'a Path,
    pub expected: &'a [u8],
    pub contents: &'a [u8],
}

/// Replaces every file with its new contents, or none.
///
/// Each distinct file (by device and inode, so two paths that are hard links of one file are
/// locked once rather than waiting on each other) is locked with an advisory lock, in a fixed
/// order so two `fix` runs never deadlock, and checked unchanged. Each new version is written
/// and flushed beside its file. Then, still under the locks, every file is checked again, and
/// once more right before its own rename; a change anywhere aborts the whole fix (a file
/// already renamed gets its old bytes back) and nothing is left changed. Temporary files are
/// removed on every error path.
pub fn replace_all(files: &[Replacement<'_>]) -> Result<(), WriteError> {
    replace_all_observed(files, |_| {})
}

/// [`replace_all`], calling `before_rename(i)` right before the last check of the `i`th file
/// (tests change files there, as a concurrent editor would).
fn replace_all_observed(
    files: &[Replacement<'_>],
    mut before_rename: impl FnMut(usize),
) -> Result<(), WriteError> {
    // The same path listed twice (a docs page named twice) is one replacement.
    let mut seen = std::collections::HashSet::new();
    let files: Vec<&Replacement<'_>> = files.iter().filter(|f| seen.insert(f.path)).collect();
    let mut opened: Vec<(File, Identity)> = Vec::with_capacity(files.len());
    for f in &files {
        opened.push(open_regular(f.path)?);
    }
    let mut locks: BTreeMap<&Identity, &File> = BTreeMap::new();
    for (file, id) in &opened {
        locks.entry(id).or_insert(file);
    }
    for (id, file) in &locks {
        // An advisory lock: two `fix` runs on the same file take turns, and the second then
        // sees that the file changed under it.
        file.lock().map_err(|e| {
            let path = files[opened.iter().position(|(_, i)| i == *id).unwrap_or(0)].path;
            io(path, "cannot lock")(e)
        })?;
    }
    for (f, (_, id)) in files.iter().zip(&opened) {
        still_the_same(f.path, id, f.expected)?;
    }
    let mut prepared = Vec::with_capacity(files.len());
    for (f, (file, _)) in files.iter().zip(&opened) {
        prepared.push(prepare_temp(f.path, file, f.contents)?);
    }
    // Writing and flushing took time: check every file again before renaming any.
    for (f, (_, id)) in files.iter().zip(&opened) {
        still_the_same(f.path, id, f.expected)?;
    }
    let mut renamed: Vec<&Replacement<'_>> = Vec::new();
    for (i, ((f, (_, id)), (dir, temp))) in files.iter().zip(&opened).zip(prepared).enumerate() {
        before_rename(i);
        let done = still_the_same(f.path, id, f.expected)
            .and_then(|()| rename_over(f.path, &dir, temp, true));
        if let Err(e) = done {
            for undo in renamed {
                let _ = write_atomically(undo.path, undo.expected);
            }
            return Err(e);
        }
        renamed.push(f);
    }
    Ok(())
}

/// Replaces `path` with `contents` if it still holds `expected`. Readers see either the old or
/// the new file, never a mix; a crash leaves at most a stray temp file, never a partial target.
pub fn replace_atomically(path: &Path, expected: &[u8], contents: &[u8]) -> Result<(), WriteError> {
    replace_all(&[Replacement {
        path,
        expected,
        contents,
    }])
}

/// Writes `contents` to a flushed temporary file beside `path` with the permissions of
/// `original` (open on `path`), refusing read-only files and directories.
fn prepare_temp(
    path: &Path,
    original: &File,
    contents: &[u8],
) -> Result<(PathBuf, tempfile::NamedTempFile), WriteError> {
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
    let temp = write_temp(path, dir, contents, Some(permissions))?;
    Ok((dir.to_path_buf(), temp))
}

/// Writes `contents` to a flushed temporary file in `dir`, with `permissions` (those of the
/// file it replaces), or as a new file: mode 0644 less the umask, as a shell redirect makes.
fn write_temp(
    path: &Path,
    dir: &Path,
    contents: &[u8],
    permissions: Option<fs::Permissions>,
) -> Result<tempfile::NamedTempFile, WriteError> {
    write_temp_with(path, dir, permissions, true, |w| w.write_all(contents))
}

/// As [`write_temp`], the contents written by `write` through a buffer as they are made; with
/// `sync`, flushed to disk before it is renamed.
fn write_temp_with(
    path: &Path,
    dir: &Path,
    permissions: Option<fs::Permissions>,
    sync: bool,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<tempfile::NamedTempFile, WriteError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".anchorcheck-").suffix(".tmp");
    #[cfg(unix)]
    if permissions.is_none() {
        // Given at creation, the mode passes through the umask.
        builder.permissions(new_file_permissions());
    }
    let mut temp = builder
        .tempfile_in(dir)
        .map_err(io(path, "cannot create a temporary file beside it"))?;
    let mut out = std::io::BufWriter::new(temp.as_file_mut());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(io(path, "cannot write the temporary file"))?;
    drop(out);
    if sync {
        temp.as_file()
            .sync_all()
            .map_err(io(path, "cannot flush the temporary file"))?;
    }
    if let Some(permissions) = permissions {
        fs::set_permissions(temp.path(), permissions)
            .map_err(io(path, "cannot copy permissions"))?;
    }
    Ok(temp)
}

/// Renames a flushed temporary file over `path` and, with `sync`, makes the rename durable.
fn rename_over(
    path: &Path,
    dir: &Path,
    temp: tempfile::NamedTempFile,
    sync: bool,
) -> Result<(), WriteError> {
    temp.persist(path).map_err(|e| WriteError::Io {
        path: path.to_path_buf(),
        action: "cannot rename the temporary file over it",
        source: e.error,
    })?;
    if sync && let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `contents` to `path`, creating it or replacing whatever is there. A regular file
/// keeps its permission bits (not setuid, setgid or sticky); anything else, a symbolic link
/// included, is replaced by a new file with mode 0644 less the umask, like one written by a
/// shell redirect: a link is never followed, and its target's mode never copied. Readers see
/// the old file or the whole new one, never a partial write.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    write_atomically_with(path, |w| w.write_all(contents))
}

/// As [`write_atomically`], the contents written by `write` as they are made (the audit page
/// is written claim by claim rather than built whole first). Should `write` fail, the
/// temporary file is removed and `path` left as it was.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    replace(path, true, write)
}

/// As [`write_atomically`] (a reader sees the old file or the whole new one, a link in the way
/// is replaced), without flushing anything to disk first: for a file whose loss costs only
/// work, the result cache, which writes one per blob and per commit. A crash may lose the
/// write or leave a file that does not read back, which the cache ignores and rewrites.
pub fn write_atomically_unsynced(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    replace(path, false, |w| w.write_all(contents))
}

/// Writes a temporary file beside `path` (keeping the permissions of the file it replaces),
/// flushed to disk first when `sync`, and renames it over `path`.
fn replace(
    path: &Path,
    sync: bool,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let permissions = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Some(plain_permissions(meta.permissions())),
        _ => None,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let temp = write_temp_with(path, dir, permissions, sync, write)?;
    rename_over(path, dir, temp, sync)
}

/// `permissions` without the setuid, setgid and sticky bits.
#[cfg(unix)]
fn plain_permissions(permissions: fs::Permissions) -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(permissions.mode() & 0o777)
}

#[cfg(not(unix))]
fn plain_permissions(permissions: fs::Permissions) -> fs::Permissions {
    permissions
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
    let temp = write_temp(path, dir, contents, None)?;
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

/// The mode a new file is created with (the umask applies): readable by all, like a file
/// written by a shell redirect.
#[cfg(unix)]
fn new_file_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o644)
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

    /// The cache's writer: the same file as `write_atomically` would leave, and a link in the
    /// way replaced, never written through.
    #[cfg(unix)]
    #[test]
    fn an_unsynced_write_replaces_a_link_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, "kept").unwrap();
        let path = dir.path().join("cache.json");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        write_atomically_unsynced(&path, b"first").unwrap();
        write_atomically_unsynced(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert!(
            !fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"kept");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
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
        let err = replace_all(&replacing(&[
            (&first, b"a1", b"a2"),
            (&second, b"b1", b"b2"),
        ]))
        .unwrap_err();
        assert!(matches!(err, WriteError::ReadOnly { .. }), "{err}");
        assert_eq!(fs::read(&first).unwrap(), b"a1");
        assert_eq!(fs::read(&second).unwrap(), b"b1");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "temp files removed"
        );
    }

    /// Replacements of (path, what was read, new contents).
    fn replacing<'a>(changes: &[(&'a Path, &'a [u8], &'a [u8])]) -> Vec<Replacement<'a>> {
        changes
            .iter()
            .map(|&(path, expected, contents)| Replacement {
                path,
                expected,
                contents,
            })
            .collect()
    }

    fn append(path: &Path, text: &str) {
        let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    /// Issue 17: an append made after the first check but before the rename was lost, and
    /// `fix` said "wrote".
    #[test]
    fn an_edit_made_while_fix_writes_aborts_it_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchors.yaml");
        fs::write(&path, "old\n").unwrap();
        let err = replace_all_observed(
            &[Replacement {
                path: &path,
                expected: b"old\n",
                contents: b"new\n",
            }],
            |_| append(&path, "appended\n"),
        )
        .unwrap_err();
        assert!(matches!(err, WriteError::Changed { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old\nappended\n");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn an_edit_to_a_later_file_undoes_the_files_already_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("anchors.yaml");
        let second = dir.path().join("page.md");
        fs::write(&first, "a1").unwrap();
        fs::write(&second, "b1").unwrap();
        let err = replace_all_observed(
            &replacing(&[(&first, b"a1", b"a2"), (&second, b"b1", b"b2")]),
            |i| {
                if i == 1 {
                    append(&second, "+edit");
                }
            },
        )
        .unwrap_err();
        assert!(matches!(err, WriteError::Changed { .. }), "{err}");
        assert_eq!(fs::read(&first).unwrap(), b"a1");
        assert_eq!(fs::read(&second).unwrap(), b"b1+edit");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    /// Issue 17: two docs pages that are hard links of one file made `fix` wait forever on
    /// its own lock.
    #[cfg(unix)]
    #[test]
    fn hard_links_are_locked_once_and_both_paths_get_the_new_text() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.md");
        let second = dir.path().join("b.md");
        fs::write(&first, "old").unwrap();
        fs::hard_link(&first, &second).unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        let (a, b) = (first.clone(), second.clone());
        std::thread::spawn(move || {
            let result = replace_all(&replacing(&[(&a, b"old", b"new"), (&b, b"old", b"new")]));
            let _ = done.send(result.map_err(|e| e.to_string()));
        });
        let result = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("replace_all must not wait on its own lock");
        result.unwrap();
        assert_eq!(fs::read(&first).unwrap(), b"new");
        assert_eq!(fs::read(&second).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    /// Issue 17: a symlinked anchors.yaml or docs page was replaced by a regular file while
    /// its target stayed stale.
    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.yaml");
        let link = dir.path().join("anchors.yaml");
        fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = replace_atomically(&link, b"old", b"new").unwrap_err();
        assert!(matches!(err, WriteError::NotRegular { .. }), "{err}");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
