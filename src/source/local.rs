//! Reading files from a directory tree on disk (the working tree, docs pages, the result cache)
//! without ever leaving it: each path component is opened beneath the one before without
//! following symbolic links, only regular files are read, and no read goes past its size limit.
//!
//! A pull request decides what its working tree holds, so a directory symlink such as
//! `evil -> /` must not turn `evil/etc/passwd` into a readable ref, and `evdev -> /dev` must not
//! turn `evdev/zero` into an endless read.

use std::io::Read;
use std::path::Path;

use super::FileProblem;

/// What a path names, when it is not a regular file.
fn kind_name(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    let _ = file_type;
    "not a regular file"
}

/// Reads `relative` (forward slashes, no `..`) beneath `root`, refusing symbolic links in any
/// component, anything but a regular file, and files over `limit` bytes (reading at most one
/// byte past it, in case the file grows while it is read). `root` itself may be reached through
/// links: it is the caller's.
pub fn read_beneath(root: &Path, relative: &str, limit: usize) -> Result<Vec<u8>, FileProblem> {
    let components: Vec<&str> = relative.split('/').collect();
    let Some((name, parents)) = components.split_last() else {
        return Err(FileProblem::Missing);
    };
    if components
        .iter()
        .any(|c| c.is_empty() || *c == "." || *c == "..")
    {
        return Err(FileProblem::Missing);
    }
    imp::read(root, parents, name, limit)
}

/// The directory `relative` beneath `root` ("" for `root`), when every component is a real
/// directory rather than a link; for listing its entries.
pub fn dir_beneath(root: &Path, relative: &str) -> Result<std::path::PathBuf, FileProblem> {
    let components: Vec<&str> = relative.split('/').filter(|c| !c.is_empty()).collect();
    if components.iter().any(|c| *c == "." || *c == "..") {
        return Err(FileProblem::Missing);
    }
    imp::check_dirs(root, &components)?;
    Ok(components.iter().fold(root.to_path_buf(), |p, c| p.join(c)))
}

/// Reads at most `limit` bytes from `file`, failing when there are more.
fn read_capped(file: impl Read, size: u64, limit: usize) -> Result<Vec<u8>, FileProblem> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(limit));
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileProblem::Unreadable(e.to_string()))?;
    if bytes.len() > limit {
        return Err(FileProblem::TooLarge {
            bytes: size.max(bytes.len() as u64),
            limit,
        });
    }
    Ok(bytes)
}

fn too_large(size: u64, limit: usize) -> Result<(), FileProblem> {
    if size > limit as u64 {
        return Err(FileProblem::TooLarge { bytes: size, limit });
    }
    Ok(())
}

#[cfg(unix)]
mod imp {
    //! `openat` one component at a time with `O_NOFOLLOW`: no check-then-open race, and a link
    //! anywhere in the path is seen, not followed.

    use std::os::fd::OwnedFd;
    use std::path::Path;

    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, openat, readlinkat, statat};
    use rustix::io::Errno;

    use super::{FileProblem, read_capped, too_large};

    fn unreadable(e: Errno) -> FileProblem {
        FileProblem::Unreadable(std::io::Error::from(e).to_string())
    }

    fn link_target(dir: &OwnedFd, name: &str) -> String {
        readlinkat(dir, name, Vec::new())
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Opens `root` and then each of `components` beneath it as directories, never through a
    /// link.
    fn descend(root: &Path, components: &[&str]) -> Result<OwnedFd, FileProblem> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut dir = match openat(CWD, root, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Err(FileProblem::Missing),
            Err(e) => return Err(unreadable(e)),
        };
        let mut walked = String::new();
        for component in components {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(component);
            dir = match openat(&dir, *component, flags | OFlags::NOFOLLOW, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Err(FileProblem::Missing),
                // A link (ELOOP, or ENOTDIR on some systems) or a file where a directory
                // should be.
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let is_link = statat(&dir, *component, AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
                    return Err(if is_link {
                        FileProblem::SymlinkedDirectory {
                            dir: walked,
                            target: link_target(&dir, component),
                        }
                    } else {
                        FileProblem::Missing
                    });
                }
                Err(e) => return Err(unreadable(e)),
            };
        }
        Ok(dir)
    }

    pub(super) fn check_dirs(root: &Path, components: &[&str]) -> Result<(), FileProblem> {
        descend(root, components).map(drop)
    }

    pub(super) fn read(
        root: &Path,
        parents: &[&str],
        name: &str,
        limit: usize,
    ) -> Result<Vec<u8>, FileProblem> {
        let dir = descend(root, parents)?;
        let st = match statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT | Errno::NOTDIR) => return Err(FileProblem::Missing),
            Err(e) => return Err(unreadable(e)),
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Symlink => {
                return Err(FileProblem::Symlink {
                    target: link_target(&dir, name),
                });
            }
            FileType::Directory => {
                let submodule = statat(&dir, format!("{name}/.git"), AtFlags::SYMLINK_NOFOLLOW);
                return Err(if submodule.is_ok() {
                    FileProblem::Submodule
                } else {
                    FileProblem::Directory
                });
            }
            FileType::Fifo => {
                return Err(FileProblem::NotRegular {
                    kind: "a named pipe",
                });
            }
            FileType::Socket => return Err(FileProblem::NotRegular { kind: "a socket" }),
            FileType::BlockDevice | FileType::CharacterDevice => {
                return Err(FileProblem::NotRegular { kind: "a device" });
            }
            FileType::Unknown => {
                return Err(FileProblem::NotRegular {
                    kind: "not a regular file",
                });
            }
        }
        too_large(st.st_size as u64, limit)?;
        // NONBLOCK: should the entry be swapped for a pipe after the check, opening it still
        // returns at once, and the check below refuses it.
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = match openat(&dir, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Err(FileProblem::Missing),
            Err(Errno::LOOP) => {
                return Err(FileProblem::Symlink {
                    target: link_target(&dir, name),
                });
            }
            Err(e) => return Err(unreadable(e)),
        };
        let file = std::fs::File::from(fd);
        let meta = file
            .metadata()
            .map_err(|e| FileProblem::Unreadable(e.to_string()))?;
        if !meta.is_file() {
            return Err(FileProblem::NotRegular {
                kind: super::kind_name(meta.file_type()),
            });
        }
        too_large(meta.len(), limit)?;
        read_capped(file, meta.len(), limit)
    }
}

#[cfg(not(unix))]
mod imp {
    //! Without `openat`, each component's metadata is checked (not following links) before the
    //! file is opened.

    use std::path::Path;

    use super::{FileProblem, read_capped, too_large};

    fn meta(path: &Path) -> Result<std::fs::Metadata, FileProblem> {
        std::fs::symlink_metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FileProblem::Missing,
            _ => FileProblem::Unreadable(e.to_string()),
        })
    }

    fn target(path: &Path) -> String {
        std::fs::read_link(path)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub(super) fn check_dirs(root: &Path, components: &[&str]) -> Result<(), FileProblem> {
        let mut path = root.to_path_buf();
        let mut walked = String::new();
        for component in components {
            path.push(component);
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(component);
            let m = meta(&path)?;
            if m.file_type().is_symlink() {
                return Err(FileProblem::SymlinkedDirectory {
                    dir: walked,
                    target: target(&path),
                });
            }
            if !m.is_dir() {
                return Err(FileProblem::Missing);
            }
        }
        Ok(())
    }

    pub(super) fn read(
        root: &Path,
        parents: &[&str],
        name: &str,
        limit: usize,
    ) -> Result<Vec<u8>, FileProblem> {
        check_dirs(root, parents)?;
        let path = parents
            .iter()
            .fold(root.to_path_buf(), |p, c| p.join(c))
            .join(name);
        let m = meta(&path)?;
        if m.file_type().is_symlink() {
            return Err(FileProblem::Symlink {
                target: target(&path),
            });
        }
        if m.is_dir() {
            return Err(if path.join(".git").exists() {
                FileProblem::Submodule
            } else {
                FileProblem::Directory
            });
        }
        if !m.is_file() {
            return Err(FileProblem::NotRegular {
                kind: super::kind_name(m.file_type()),
            });
        }
        too_large(m.len(), limit)?;
        let file =
            std::fs::File::open(&path).map_err(|e| FileProblem::Unreadable(e.to_string()))?;
        read_capped(file, m.len(), limit)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn reads_regular_files_beneath_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/c.go"), "package c\n").unwrap();
        assert_eq!(
            read_beneath(dir.path(), "a/b/c.go", 100).unwrap(),
            b"package c\n"
        );
        assert_eq!(
            read_beneath(dir.path(), "a/b/missing.go", 100),
            Err(FileProblem::Missing)
        );
        assert_eq!(
            read_beneath(dir.path(), "a/b", 100),
            Err(FileProblem::Directory)
        );
    }

    #[test]
    fn a_symlinked_directory_is_named_and_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.go"), "package secret\n").unwrap();
        let repo = tempfile::tempdir().unwrap();
        symlink(outside.path(), repo.path().join("evil")).unwrap();
        let err = read_beneath(repo.path(), "evil/secret.go", 100).unwrap_err();
        assert!(
            matches!(&err, FileProblem::SymlinkedDirectory { dir, .. } if dir == "evil"),
            "{err}"
        );
        assert!(
            err.to_string().contains("`evil` is a symbolic link"),
            "{err}"
        );
        assert!(dir_beneath(repo.path(), "evil").is_err());
    }

    #[test]
    fn devices_pipes_and_links_to_them_are_refused_without_reading() {
        let repo = tempfile::tempdir().unwrap();
        symlink("/dev", repo.path().join("evdev")).unwrap();
        symlink("/dev/zero", repo.path().join("zero.go")).unwrap();
        assert!(matches!(
            read_beneath(repo.path(), "evdev/zero", 100),
            Err(FileProblem::SymlinkedDirectory { .. })
        ));
        assert!(matches!(
            read_beneath(repo.path(), "zero.go", 100),
            Err(FileProblem::Symlink { .. })
        ));
        assert_eq!(
            read_beneath(Path::new("/dev"), "zero", 100),
            Err(FileProblem::NotRegular { kind: "a device" })
        );
        let fifo = repo.path().join("pipe.go");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert_eq!(
                read_beneath(repo.path(), "pipe.go", 100),
                Err(FileProblem::NotRegular {
                    kind: "a named pipe"
                })
            );
        }
    }

    #[test]
    fn reads_stop_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.go"), vec![b'a'; 101]).unwrap();
        assert_eq!(
            read_beneath(dir.path(), "big.go", 100),
            Err(FileProblem::TooLarge {
                bytes: 101,
                limit: 100
            })
        );
        assert_eq!(read_beneath(dir.path(), "big.go", 101).unwrap().len(), 101);
    }
}

/// The `.go` files of a working tree, without following symbolic links or entering `.git`.
pub(crate) fn go_paths(root: &Path) -> Vec<String> {
    let mut paths = Vec::new();
    let mut dirs = vec![String::new()];
    let mut seen = 0usize;
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            seen += 1;
            if seen > super::MAX_LISTED_PATHS {
                return paths;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            // `file_type` does not follow symbolic links.
            match entry.file_type() {
                Ok(t) if t.is_dir() && name != ".git" => dirs.push(super::join_dir(&dir, &name)),
                Ok(t) if t.is_file() && name.ends_with(".go") => {
                    paths.push(super::join_dir(&dir, &name))
                }
                _ => {}
            }
        }
    }
    paths
}
