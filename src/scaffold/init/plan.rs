//! The file `init` writes: the pages read, the repository opened at the revision, the scaffold
//! rendered as a new anchors file or appended to an existing one, and the write itself (never
//! over an existing file, never over one that changed since it was read).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Inputs, Page, Scaffold, claims_yaml, new_file, scaffold, unresolved_comment};
use crate::anchors::{AnchorsError, AnchorsFile};
use crate::atomic::WriteError;
use crate::source::{FileProblem, GitRepo, SourceError};

/// What `init` was asked to do.
#[derive(Clone, Debug)]
pub struct InitRequest {
    /// The docs pages, as given (relative to the current directory or absolute).
    pub pages: Vec<PathBuf>,
    /// The repository the refs cite (any directory inside it).
    pub repo: PathBuf,
    pub rev: String,
    /// The anchors file to write (or, with `append`, to add to).
    pub out: PathBuf,
    pub append: bool,
}

/// Why `init` could not run. Nothing is written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{}: cannot read the page: {problem}", .path.display())]
    Page { path: PathBuf, problem: FileProblem },
    /// Pages are read beneath the repository's root only: `init` writes each page's path under
    /// `docs:`, and a page outside would be read and recorded as `../..`.
    #[error("{}: the page is outside the repository ({}); init reads pages inside it only", .path.display(), .root.display())]
    PageOutside { path: PathBuf, root: PathBuf },
    #[error("{}: no such page", .path.display())]
    PageMissing { path: PathBuf },
    #[error("{}: the page is not valid UTF-8", .path.display())]
    PageNotUtf8 { path: PathBuf },
    #[error(
        "{} already exists; anchorcheck init never overwrites it (use --append to add claims for the citations it does not cover yet, or --out to write elsewhere)",
        .path.display()
    )]
    Exists { path: PathBuf },
    #[error("{}: nothing to append to: {reason}", .path.display())]
    CannotAppend {
        path: PathBuf,
        reason: AppendProblem,
    },
    #[error(transparent)]
    Anchors(#[from] AnchorsError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Why claims cannot be appended to an anchors file.
#[derive(Debug, thiserror::Error)]
pub enum AppendProblem {
    #[error("the file does not exist (run without --append to create it)")]
    Missing,
    #[error("it has no claims to add after; write a new file instead")]
    NoClaims,
    #[error("its claims are not a block list (`- id: ...` items)")]
    NotBlockList,
    #[error("the claims would not be added where they belong ({0}); put `claims:` last")]
    Misplaced(AnchorsError),
    #[error("`claims:` is not the last key of the file; put it last to append")]
    NotLast,
}

/// The file `init` will write, with what went into it.
#[derive(Debug)]
pub struct InitPlan {
    pub out: PathBuf,
    /// The anchors file's bytes before (`--append`), checked unchanged when writing.
    pub before: Option<String>,
    /// The whole file after.
    pub after: String,
    pub scaffold: Scaffold,
    /// Things the reviewer should know (a page not listed under `docs:` when appending).
    pub notes: Vec<String>,
}

impl InitPlan {
    /// Whether there is anything to write: a new file, or claims to append.
    pub fn writes(&self) -> bool {
        self.before.as_deref() != Some(self.after.as_str())
    }

    /// What `init` says: every citation not scaffolded with why, the notes, and what it wrote
    /// (or that there was nothing to add).
    pub fn summary(&self) -> String {
        let s = &self.scaffold;
        let refs: usize = s.claims.iter().map(|c| c.refs.len()).sum();
        let mut out = String::new();
        for u in &s.unresolved {
            let _ = writeln!(
                out,
                "not scaffolded: {}:{}:{}: {}: {}",
                u.page, u.line, u.column, u.cited, u.reason
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        let _ = writeln!(
            out,
            "{} {}: {} claims, {refs} refs from {} citations ({} already covered, {} not scaffolded)",
            if self.writes() {
                "wrote"
            } else {
                "nothing to add to"
            },
            self.out.display(),
            s.claims.len(),
            s.citations,
            s.covered,
            s.unresolved.len()
        );
        if self.writes() {
            out.push_str("review it, then run `anchorcheck verify`\n");
        }
        out
    }

    /// Writes the file: created (never over an existing one), or replaced atomically when
    /// appending, only if it still holds what was read.
    pub fn write(&self) -> Result<(), WriteError> {
        match &self.before {
            None => crate::atomic::create_atomically(&self.out, self.after.as_bytes()),
            Some(before) => crate::atomic::replace_atomically(
                &self.out,
                before.as_bytes(),
                self.after.as_bytes(),
            ),
        }
    }
}

/// Reads the pages and the repository and scaffolds the anchors file `request` asks for.
pub fn plan(request: &InitRequest) -> Result<InitPlan, InitError> {
    let exists = std::fs::symlink_metadata(&request.out).is_ok();
    if exists && !request.append {
        return Err(InitError::Exists {
            path: request.out.clone(),
        });
    }
    let existing = match (request.append, exists) {
        (true, true) => Some(crate::anchors::load(&request.out, &request.out)?),
        (true, false) => {
            return Err(InitError::CannotAppend {
                path: request.out.clone(),
                reason: AppendProblem::Missing,
            });
        }
        _ => None,
    };
    let git = GitRepo::open(&request.repo)?;
    let snapshot = git.resolve(&request.rev)?;
    let paths = snapshot.go_paths()?;
    let out_dir = absolute(request.out.parent().unwrap_or(Path::new("")));
    let root = git
        .workdir()
        .map(absolute)
        .unwrap_or_else(|| absolute(&request.repo));
    let mut pages = Vec::new();
    for path in &request.pages {
        let (full, text) = read_page(path, &root)?;
        let dir_in_repo = full
            .parent()
            .and_then(|d| d.strip_prefix(&root).ok())
            .map(slashed)
            .unwrap_or_default();
        pages.push(Page {
            entry: relative(&full, &out_dir),
            dir_in_repo,
            text,
        });
    }
    let commit = snapshot
        .commit
        .as_deref()
        .filter(|_| !snapshot.is_worktree());
    let repo_entry = relative(&root, &out_dir);
    let inputs = Inputs {
        files: &snapshot,
        paths: &paths,
        commit,
        rev: &request.rev,
        repo: &repo_entry,
        existing: existing.as_ref().map(|(file, _)| file),
    };
    let scaffold = scaffold(&pages, &inputs);
    let mut notes = Vec::new();
    let (before, after) = match existing {
        None => (None, new_file(&scaffold, &pages, &inputs)),
        Some((file, source)) => {
            for page in &pages {
                if !file.docs.iter().any(|d| d.value == page.entry) {
                    notes.push(format!(
                        "{} is not under `docs:` in {}: add it there so verify checks its citations",
                        page.entry,
                        request.out.display()
                    ));
                }
            }
            let after = appended(&source, &file, &scaffold, commit).map_err(|reason| {
                InitError::CannotAppend {
                    path: request.out.clone(),
                    reason,
                }
            })?;
            (Some(source), after)
        }
    };
    Ok(InitPlan {
        out: request.out.clone(),
        before,
        after,
        scaffold,
        notes,
    })
}

/// `source` with the scaffolded claims added after its last claim, every existing byte kept.
/// The result must read back with all the old claims and the new ones, so `claims:` has to be
/// the last key, in block style.
fn appended(
    source: &str,
    file: &AnchorsFile,
    scaffold: &Scaffold,
    commit: Option<&str>,
) -> Result<String, AppendProblem> {
    if scaffold.claims.is_empty() && scaffold.unresolved.is_empty() {
        return Ok(source.to_string());
    }
    let first = file.claims.first().ok_or(AppendProblem::NoClaims)?;
    let line = source
        .lines()
        .nth(first.id.position.line.saturating_sub(1) as usize)
        .unwrap_or_default();
    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
    if !line[indent.len()..].starts_with('-') {
        return Err(AppendProblem::NotBlockList);
    }
    let newline = if source.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut after = source.to_string();
    if !after.ends_with('\n') {
        after.push_str(newline);
    }
    let mut added = String::from(
        "\n# Scaffolded by `anchorcheck init --from-docs --append`: review before relying on it.\n",
    );
    added.push_str(&claims_yaml(&scaffold.claims, commit, &indent));
    added.push_str(&unresolved_comment(&scaffold.unresolved));
    after.push_str(&added.replace('\n', newline));
    let reread =
        crate::anchors::parse(&after, &file.path, &file.path).map_err(AppendProblem::Misplaced)?;
    if reread.claims.len() != file.claims.len() + scaffold.claims.len() {
        return Err(AppendProblem::NotLast);
    }
    Ok(after)
}

/// Reads a docs page named on the command line, beneath the repository's `root` only: its
/// path is made absolute without following links (`.` and `..` resolved by name), must lie
/// inside `root`, and is then opened component by component without following any link, as a
/// regular file of at most [`crate::source::MAX_FILE_BYTES`] (a link to `/dev/zero` or a huge
/// file is an error, not an endless read). Returns the page's absolute path and its text.
fn read_page(path: &Path, root: &Path) -> Result<(PathBuf, String), InitError> {
    let full = lexically_absolute(path);
    let relative = full
        .strip_prefix(root)
        .ok()
        .map(slashed)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| InitError::PageOutside {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        })?;
    let bytes = crate::source::local::read_beneath(root, &relative, crate::source::MAX_FILE_BYTES)
        .map_err(|problem| match problem {
            FileProblem::Missing => InitError::PageMissing {
                path: path.to_path_buf(),
            },
            problem => InitError::Page {
                path: path.to_path_buf(),
                problem,
            },
        })?;
    let text = String::from_utf8(bytes).map_err(|_| InitError::PageNotUtf8 {
        path: path.to_path_buf(),
    })?;
    Ok((full, text))
}

/// `path` made absolute against the current directory with `.` and `..` resolved by name,
/// following no link.
fn lexically_absolute(path: &Path) -> PathBuf {
    use std::path::Component;
    let joined = std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path));
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` made absolute against the current directory, `.` and `..` resolved where the file
/// system can (canonical when it exists).
fn absolute(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    let joined = std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path));
    match (joined.parent(), joined.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map_or(joined.clone(), |p| p.join(name)),
        _ => joined,
    }
}

/// `path` relative to `base`, with forward slashes (`.` when they are the same).
fn relative(path: &Path, base: &Path) -> String {
    let rel = pathdiff::diff_paths(path, base).unwrap_or_else(|| path.to_path_buf());
    let text = slashed(&rel);
    if text.is_empty() {
        ".".to_string()
    } else {
        text
    }
}

fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
