//! anchors.yaml: raw spanned YAML -> validated model. The only YAML code.

pub(crate) mod canonical;
pub(crate) mod date;
pub(crate) mod model;
pub(crate) mod node;
pub(crate) mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use model::*;
pub use validate::{
    Problem, TOTAL_REGEX_BYTES, accepted_keys, did_you_mean, regex_nfa_bytes, waivers_too_far,
};

/// The file name looked for in the current directory and its parents.
pub const FILE_NAME: &str = "anchors.yaml";

/// Why an anchors file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AnchorsError {
    #[error("no {FILE_NAME} in {} or any parent directory (use --anchors FILE)", .start.display())]
    NotFound { start: PathBuf },
    /// The anchors file is a symbolic link: it is never followed (a pull request could point
    /// it at any file on the machine, whose text would come back in messages).
    #[error("{}: is a symbolic link; anchorcheck reads the anchors file only as a regular file, never through a link (name the file itself with --anchors)", .path.display())]
    Link { path: PathBuf },
    #[error("{}: is {kind}, not a regular file", .path.display())]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every problem found, each printed as `FILE:LINE:COL: message`.
    #[error("{}", Problems { path, problems })]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

struct Problems<'a> {
    path: &'a Path,
    problems: &'a [Problem],
}

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                p.position.line,
                p.position.column,
                p.message
            )?;
        }
        Ok(())
    }
}

/// Finds anchors.yaml in `start` or the nearest parent directory holding one (whatever it is:
/// a link or a directory there is found, and [`load`] refuses it by name).
pub fn discover(start: &Path) -> Result<PathBuf, AnchorsError> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| std::fs::symlink_metadata(candidate).is_ok())
        .ok_or_else(|| AnchorsError::NotFound {
            start: start.to_path_buf(),
        })
}

/// Largest anchors file read: 100,000 claims take about 20 MiB, and a bigger file is more
/// likely an accident (or an attack) than a configuration.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// Reads and validates the anchors file at `path`. `display` is how messages name it.
pub fn load(path: &Path, display: &Path) -> Result<(AnchorsFile, String), AnchorsError> {
    let io = |source| AnchorsError::Io {
        path: display.to_path_buf(),
        source,
    };
    let file = open_regular(path, display)?;
    let size = file.metadata().map_err(io)?.len();
    if usize::try_from(size).map_or(true, |s| s > MAX_FILE_BYTES) {
        return Err(AnchorsError::Invalid {
            path: display.to_path_buf(),
            problems: vec![Problem {
                position: Position { line: 1, column: 1 },
                message: format!(
                    "the file is too large ({size} bytes; the limit is {MAX_FILE_BYTES})"
                ),
            }],
        });
    }
    let mut bytes = Vec::new();
    // Read at most one byte past the limit, in case the file grew after the size check.
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_FILE_BYTES as u64 + 1),
        &mut bytes,
    )
    .map_err(io)?;
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = String::from_utf8_lossy(valid);
            return Err(AnchorsError::Invalid {
                path: display.to_path_buf(),
                problems: vec![Problem {
                    position: Position::of_offset(&valid, valid.len()),
                    message: "the file is not valid UTF-8".to_string(),
                }],
            });
        }
    };
    let file = parse(&source, path, display)?;
    Ok((file, source))
}

/// Opens the anchors file without following a symbolic link, refusing anything but a regular
/// file (a pipe or a device would block or never end).
fn open_regular(path: &Path, display: &Path) -> Result<std::fs::File, AnchorsError> {
    let io = |source| AnchorsError::Io {
        path: display.to_path_buf(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    if meta.file_type().is_symlink() {
        return Err(AnchorsError::Link {
            path: display.to_path_buf(),
        });
    }
    let not_a_file = |meta: &std::fs::Metadata| AnchorsError::NotAFile {
        path: display.to_path_buf(),
        kind: if meta.is_dir() {
            "a directory"
        } else {
            "a pipe, socket or device"
        },
    };
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Should the path become a link or a pipe after the check above, the open fails
        // rather than follow it or block.
        options.custom_flags(
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
        );
    }
    let file = options.open(path).map_err(|e| {
        if is_link_refused(&e) {
            AnchorsError::Link {
                path: display.to_path_buf(),
            }
        } else {
            io(e)
        }
    })?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    Ok(file)
}

/// Whether an open with `O_NOFOLLOW` failed because the path is a link.
#[cfg(unix)]
fn is_link_refused(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
}

#[cfg(not(unix))]
fn is_link_refused(_: &std::io::Error) -> bool {
    false
}

/// Parses and validates anchors.yaml text. `path` is recorded in the model; `display` names the
/// file in messages.
pub fn parse(source: &str, path: &Path, display: &Path) -> Result<AnchorsFile, AnchorsError> {
    let invalid = |problems| AnchorsError::Invalid {
        path: display.to_path_buf(),
        problems,
    };
    let root = node::parse_document(source).map_err(|e| {
        invalid(vec![Problem {
            position: e.position,
            message: e.message,
        }])
    })?;
    validate::validate(&root, source, path).map_err(invalid)
}

/// Parses and validates one expectation written as YAML (`call: log.Fatal*`), exactly as it
/// would be read under a ref's `expect:`; what `explain` and `init` suggest goes through here.
pub fn parse_expectation(source: &str) -> Result<Expectation, Vec<Problem>> {
    let node = node::parse_document(source).map_err(|e| {
        vec![Problem {
            position: e.position,
            message: e.message,
        }]
    })?;
    validate::expectation(&node, source)
}
