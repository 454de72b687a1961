//! Revisions and file contents: resolves a revision and reads files at it from the object
//! database (or the working tree for `WORKTREE`). The only module that imports git2.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

mod dirs;
pub mod history;
pub(crate) mod local;
pub(crate) mod location;
mod memory;
mod overlay;
mod trees;

pub use memory::MemoryFiles;
pub use overlay::OverlayFiles;

use dirs::{Dirs, Entry};
use git2::{ErrorCode, ObjectType, Oid, Repository};

/// Files larger than this are not parsed: generated code, vendored bundles.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// The revision name that means "the working tree, uncommitted edits included".
pub const WORKTREE: &str = "WORKTREE";

/// Why the repository or a revision could not be used at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{}: not a git repository ({message})", .path.display())]
    NotARepository { path: PathBuf, message: String },
    #[error("unknown revision `{spec}`: {message}")]
    UnknownRevision { spec: String, message: String },
    #[error("revision `{WORKTREE}` needs a working tree, but {} is a bare repository", .path.display())]
    BareWorktree { path: PathBuf },
    #[error("revision `{WORKTREE}` refused: {} is configured (core.worktree) with its working tree at {}, outside its own directory; verify a commit instead", .git_dir.display(), .workdir.display())]
    WorktreeOutside { git_dir: PathBuf, workdir: PathBuf },
    #[error("git error: {0}")]
    Git(String),
}

/// Why one file could not be read at the revision: the ref gets the verdict `error`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    #[error("file not found at this revision")]
    Missing,
    #[error("path is a directory, not a file")]
    Directory,
    #[error("path is a symbolic link (to `{target}`), not a file")]
    Symlink { target: String },
    #[error(
        "`{dir}` is a symbolic link (to `{target}`); anchorcheck does not follow links out of the tree it reads"
    )]
    SymlinkedDirectory { dir: String, target: String },
    #[error("path is {kind}, not a regular file")]
    NotRegular { kind: &'static str },
    #[error("path is a git submodule, not a file")]
    Submodule,
    #[error("file is a Git LFS pointer; its content is not in the repository")]
    LfsPointer,
    #[error("file is binary")]
    Binary,
    #[error("file is too large ({bytes} bytes; the limit is {limit})")]
    TooLarge { bytes: u64, limit: usize },
    #[error("file is not Go source (.go)")]
    NotGo,
    #[error("cannot read the file: {0}")]
    Unreadable(String),
}

/// The contents of one file at the revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileBlob {
    pub bytes: Vec<u8>,
    /// The git blob id (hex) naming exactly these bytes.
    pub id: String,
}

/// Something that hands out file contents by repo-relative path. The seam that lets unit tests
/// verify against in-memory files instead of a repository.
pub trait Files: Sync {
    fn read(&self, path: &str) -> Result<FileBlob, FileProblem>;

    /// The blob id [`Files::read`] would give for `path`, when it can be told without reading
    /// the content (a regular file in a committed tree); `None` means read it to know.
    fn blob_id(&self, _path: &str) -> Option<String> {
        None
    }

    /// The `.go` files directly inside directory `dir` ("" for the root), sorted.
    fn go_files_in(&self, dir: &str) -> Vec<String>;

    /// Every `.go` file (at most [`MAX_LISTED_PATHS`]), sorted: the paths a misspelt one is
    /// compared with. Asked only when a cited file is missing.
    fn go_paths(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The most paths [`Files::go_paths`] lists: enough for a large monorepo, bounded for a huge
/// or hostile working tree.
pub const MAX_LISTED_PATHS: usize = 200_000;

pub(crate) fn join_dir(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// A repository opened for verification.
#[derive(Clone, Debug)]
pub struct GitRepo {
    /// The `.git` directory (or the bare repository), used to reopen per thread.
    git_dir: PathBuf,
    workdir: Option<PathBuf>,
    /// Where the objects and refs are (differs from `git_dir` for a linked worktree, or a
    /// repository whose `commondir` file names another).
    commondir: PathBuf,
    /// Whether `core.worktree` puts the working tree outside the repository's own directory:
    /// a repository committed inside a pull request can point it anywhere on the machine, so
    /// `WORKTREE` is refused there.
    worktree_outside: bool,
    /// Whether blob diffs may be made in-process rather than by libgit2 (see
    /// `history::TextDiffs`): asked of the repository's attributes once.
    text_diffs: std::sync::OnceLock<bool>,
}

/// A resolved revision of a repository: the files anchorcheck reads.
#[derive(Clone, Debug)]
pub struct Snapshot {
    repo: GitRepo,
    /// The revision as the user wrote it.
    pub spec: String,
    /// The commit it resolved to (for `WORKTREE`, HEAD's commit if there is one).
    pub commit: Option<String>,
    tree: Option<Oid>,
    worktree: bool,
}

thread_local! {
    /// One open repository per thread (`Repository` is Send but not Sync), with the large
    /// directories its path lookups went through.
    static OPEN_REPO: RefCell<Option<(PathBuf, Repository, Dirs)>> = const { RefCell::new(None) };
}

fn git_error(e: git2::Error) -> SourceError {
    SourceError::Git(e.message().to_string())
}

/// Whether `repo`'s configured working tree (`core.worktree`) lies outside the repository's
/// own directory: the directory holding its `.git`, or the repository itself when it is named
/// otherwise (a bare repository). A linked worktree (`git worktree add`) is found from its own
/// directory through its `.git` file, and is not configured this way.
fn worktree_outside(repo: &Repository) -> bool {
    let (Some(workdir), false) = (repo.workdir(), repo.is_worktree()) else {
        return false;
    };
    let configured = repo
        .config()
        .and_then(|mut c| c.snapshot())
        .is_ok_and(|c| c.get_entry("core.worktree").is_ok());
    if !configured {
        return false;
    }
    let git_dir = repo
        .path()
        .canonicalize()
        .unwrap_or_else(|_| repo.path().to_path_buf());
    let own = if git_dir.file_name().is_some_and(|n| n == ".git") {
        git_dir.parent().map(Path::to_path_buf).unwrap_or(git_dir)
    } else {
        git_dir
    };
    let Ok(workdir) = workdir.canonicalize() else {
        return true;
    };
    !workdir.starts_with(&own)
}

/// Creates an empty repository (no commit) in `dir`, for tests of what reads one.
#[cfg(test)]
pub(crate) fn init_repository(dir: &Path) -> Result<GitRepo, SourceError> {
    git2::Repository::init(dir).map_err(git_error)?;
    GitRepo::open(dir)
}

impl GitRepo {
    /// Opens the repository containing `dir` (searching parent directories, as git does).
    pub fn open(dir: &Path) -> Result<GitRepo, SourceError> {
        // libgit2 hashes every object it reads to check its id, which git itself does only in
        // `fsck`: a tenth of a run that follows history. zlib still checks what it inflates.
        git2::opts::strict_hash_verification(false);
        let repo = Repository::discover(dir).map_err(|e| SourceError::NotARepository {
            path: dir.to_path_buf(),
            message: e.message().to_string(),
        })?;
        Ok(GitRepo {
            git_dir: repo.path().to_path_buf(),
            workdir: repo.workdir().map(Path::to_path_buf),
            commondir: repo.commondir().to_path_buf(),
            worktree_outside: worktree_outside(&repo),
            text_diffs: std::sync::OnceLock::new(),
        })
    }

    /// The repository's directory: its working tree, or the repository itself when it is bare.
    pub fn root(&self) -> &Path {
        self.workdir.as_deref().unwrap_or(&self.git_dir)
    }

    /// Whether `other` is this same repository (the same git directory, links resolved).
    pub fn is_same(&self, other: &GitRepo) -> bool {
        let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        canonical(&self.git_dir) == canonical(&other.git_dir)
    }

    /// The first place this repository reads from that lies outside `root` (links resolved):
    /// its git directory, the `commondir` its refs and objects come from, its working tree, or
    /// an object store its `objects/info/alternates` names. A repository committed inside a
    /// pull request can point any of them at another repository on the machine.
    pub fn reads_outside(&self, root: &Path) -> Option<PathBuf> {
        let objects = self.commondir.join("objects");
        let alternates =
            std::fs::read_to_string(objects.join("info/alternates")).unwrap_or_default();
        let mut places = vec![self.git_dir.clone(), self.commondir.clone()];
        places.extend(self.workdir.clone());
        places.extend(
            alternates
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| objects.join(l)),
        );
        places.into_iter().find(|place| {
            let canonical = place.canonicalize().unwrap_or_else(|_| place.clone());
            !canonical.starts_with(root)
        })
    }

    /// The working tree root, if the repository has one.
    pub fn workdir(&self) -> Option<&Path> {
        self.workdir.as_deref()
    }

    /// Runs `f` with this thread's handle on the repository, opening it on first use.
    fn with_repo<T>(&self, f: impl FnOnce(&Repository) -> T) -> Result<T, git2::Error> {
        self.with_repo_dirs(|repo, _| f(repo))
    }

    /// [`GitRepo::with_repo`], with the directories this thread's path lookups keep.
    fn with_repo_dirs<T>(
        &self,
        f: impl FnOnce(&Repository, &mut Dirs) -> T,
    ) -> Result<T, git2::Error> {
        OPEN_REPO.with(|cell| {
            let mut slot = cell.borrow_mut();
            let reusable = matches!(&*slot, Some((dir, _, _)) if *dir == self.git_dir);
            if !reusable {
                let repo = Repository::open(&self.git_dir)?;
                *slot = Some((self.git_dir.clone(), repo, Dirs::default()));
            }
            let (_, repo, dirs) = slot
                .as_mut()
                .ok_or_else(|| git2::Error::from_str("repository handle vanished"))?;
            Ok(f(repo, dirs))
        })
    }

    /// Hands `f` the content of blob `id`, a regular file at `path` in some tree of this
    /// repository, as [`Snapshot::read`] would read that file (the same refusals), but borrowed
    /// rather than copied out: for a caller that only scans it, and knows the blob already.
    pub fn with_blob<T>(
        &self,
        id: &str,
        path: &str,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, FileProblem> {
        let unreadable = |e: git2::Error| FileProblem::Unreadable(e.message().to_string());
        let id = Oid::from_str(id).map_err(unreadable)?;
        self.with_repo(|repo| blob_content(repo, id, path, f))
            .map_err(unreadable)?
    }

    /// Whether `name` (a revision in a docs link, or `rev:`) names code that never changes: a
    /// commit id or a tag. A branch (local or remote-tracking), `HEAD`, `HEAD~3` and `WORKTREE`
    /// move. A name the repository does not know is fixed when it looks like a release
    /// (`v1.2.3`, `1.4`), else taken for a branch.
    pub fn names_fixed_revision(&self, name: &str) -> bool {
        if name == WORKTREE || name == "HEAD" || name.contains(['~', '^', ':', '@']) {
            return false;
        }
        let hex = (7..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_hexdigit());
        if hex {
            return true;
        }
        let known = self.with_repo(|repo| {
            let has = |refname: &str| repo.find_reference(refname).is_ok();
            if has(&format!("refs/tags/{name}")) {
                return Some(true);
            }
            let remote_branch = repo
                .references_glob(&format!("refs/remotes/*/{name}"))
                .is_ok_and(|mut refs| refs.next().is_some());
            let branch = has(&format!("refs/heads/{name}")) || has(&format!("refs/remotes/{name}"));
            (branch || remote_branch).then_some(false)
        });
        if let Ok(Some(fixed)) = known {
            return fixed;
        }
        let release = name.strip_prefix('v').unwrap_or(name);
        let mut parts = release.split('.');
        parts.clone().count() >= 2
            && parts
                .next()
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    }

    /// Resolves a revision: HEAD, a branch, tag, full or short sha, `HEAD~3`, `origin/main`, or
    /// `WORKTREE`.
    pub fn resolve(&self, spec: &str) -> Result<Snapshot, SourceError> {
        let worktree = spec == WORKTREE;
        if worktree && self.workdir.is_none() {
            return Err(SourceError::BareWorktree {
                path: self.git_dir.clone(),
            });
        }
        if worktree && self.worktree_outside {
            return Err(SourceError::WorktreeOutside {
                git_dir: self.git_dir.clone(),
                workdir: self.workdir.clone().unwrap_or_default(),
            });
        }
        let resolved = self
            .with_repo(|repo| -> Result<Option<(Oid, Oid)>, SourceError> {
                let target = if worktree { "HEAD" } else { spec };
                let object = match repo.revparse_single(target) {
                    Ok(o) => o,
                    // A fresh repository has no HEAD commit yet; the working tree still exists.
                    Err(e) if worktree && e.code() == ErrorCode::UnbornBranch => return Ok(None),
                    Err(e) if worktree && e.code() == ErrorCode::NotFound => return Ok(None),
                    Err(e) => {
                        return Err(SourceError::UnknownRevision {
                            spec: spec.to_string(),
                            message: e.message().to_string(),
                        });
                    }
                };
                let commit = object
                    .peel_to_commit()
                    .map_err(|e| SourceError::UnknownRevision {
                        spec: spec.to_string(),
                        message: format!("it does not name a commit ({})", e.message()),
                    })?;
                Ok(Some((commit.id(), commit.tree_id())))
            })
            .map_err(git_error)??;
        Ok(Snapshot {
            repo: self.clone(),
            spec: spec.to_string(),
            commit: resolved.map(|(c, _)| c.to_string()),
            tree: resolved.map(|(_, t)| t),
            worktree,
        })
    }
}

impl Snapshot {
    pub fn is_worktree(&self) -> bool {
        self.worktree
    }

    /// The repository this snapshot reads from.
    pub fn git(&self) -> &GitRepo {
        &self.repo
    }

    /// The snapshot as the newer side of a history diff.
    pub fn endpoint(&self) -> history::Endpoint {
        match (&self.commit, self.worktree) {
            (_, true) | (None, _) => history::Endpoint::Worktree,
            (Some(commit), false) => history::Endpoint::Commit(commit.clone()),
        }
    }

    /// Every `.go` file of the snapshot, sorted: the committed tree's (regular files only), and
    /// at `WORKTREE` also the untracked ones git does not ignore.
    pub fn go_paths(&self) -> Result<Vec<String>, SourceError> {
        let git = |e: git2::Error| SourceError::Git(e.message().to_string());
        let mut paths = self
            .repo
            .with_repo(|repo| -> Result<Vec<String>, git2::Error> {
                let mut found = Vec::new();
                if let Some(tree_id) = self.tree {
                    repo.find_tree(tree_id)?
                        .walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                            let name = entry.name().unwrap_or_default();
                            let regular = matches!(entry.filemode(), 0o100644 | 0o100755);
                            if regular && name.ends_with(".go") {
                                found.push(format!("{dir}{name}"));
                            }
                            git2::TreeWalkResult::Ok
                        })?;
                }
                if self.worktree {
                    let mut options = git2::StatusOptions::new();
                    options
                        .include_untracked(true)
                        .recurse_untracked_dirs(true)
                        .include_ignored(false);
                    for status in repo.statuses(Some(&mut options))?.iter() {
                        let path = status.path().unwrap_or_default();
                        if status.status().contains(git2::Status::WT_NEW) && path.ends_with(".go") {
                            found.push(path.to_string());
                        }
                    }
                }
                Ok(found)
            })
            .map_err(git)?
            .map_err(git)?;
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    fn read_committed(&self, path: &str) -> Result<FileBlob, FileProblem> {
        let Some(tree_id) = self.tree else {
            return Err(FileProblem::Missing);
        };
        self.repo
            .with_repo_dirs(|repo, dirs| {
                let entry = lookup(repo, dirs, tree_id, path)?;
                match (entry.kind, entry.mode) {
                    (Some(ObjectType::Tree), _) => return Err(FileProblem::Directory),
                    (Some(ObjectType::Commit), _) => return Err(FileProblem::Submodule),
                    (_, 0o120000) => {
                        let blob = repo.find_blob(entry.id).ok();
                        let target = blob
                            .map(|b| String::from_utf8_lossy(b.content()).into_owned())
                            .unwrap_or_default();
                        return Err(FileProblem::Symlink { target });
                    }
                    _ => {}
                }
                let id = entry.id;
                blob_content(repo, id, path, |bytes| FileBlob {
                    bytes: bytes.to_vec(),
                    id: id.to_string(),
                })
            })
            .map_err(|e| FileProblem::Unreadable(e.message().to_string()))?
    }

    /// Reads `path` from the working tree: every component beneath the root, no symbolic
    /// links followed, regular files only, at most [`MAX_FILE_BYTES`].
    fn read_worktree(&self, path: &str) -> Result<FileBlob, FileProblem> {
        let Some(root) = self.repo.workdir.as_deref() else {
            return Err(FileProblem::Missing);
        };
        let bytes = local::read_beneath(root, path, MAX_FILE_BYTES)?;
        let id = Oid::hash_object(ObjectType::Blob, &bytes)
            .map(|o| o.to_string())
            .unwrap_or_default();
        Ok(FileBlob { bytes, id })
    }
}

/// The entry at `path` beneath tree `root`: from the directories `dirs` keeps when the lookup
/// succeeds there, else as libgit2 finds it (or why not: missing, or unreadable).
fn lookup(repo: &Repository, dirs: &mut Dirs, root: Oid, path: &str) -> Result<Entry, FileProblem> {
    if let Some(entry) = dirs.entry(repo, root, path) {
        return Ok(entry);
    }
    let tree = repo
        .find_tree(root)
        .map_err(|e| FileProblem::Unreadable(e.message().to_string()))?;
    match tree.get_path(Path::new(path)) {
        Ok(entry) => Ok(Entry::of(&entry)),
        Err(e) if e.code() == ErrorCode::NotFound => Err(FileProblem::Missing),
        Err(e) => Err(FileProblem::Unreadable(e.message().to_string())),
    }
}

/// Why `bytes`, the content of the file at `path`, is not read, if it is not: the content rules
/// shared by every source (Go files only, not too large, not binary, not LFS).
fn refusal(path: &str, bytes: &[u8]) -> Option<FileProblem> {
    if bytes.starts_with(LFS_POINTER) {
        return Some(FileProblem::LfsPointer);
    }
    if !path.ends_with(".go") {
        return Some(FileProblem::NotGo);
    }
    content_refusal(bytes)
}

/// How a Git LFS pointer file starts.
const LFS_POINTER: &[u8] = b"version https://git-lfs.github.com/spec/";

/// [`refusal`] of `bytes` as a Go file's content: what refuses it whatever its path.
fn content_refusal(bytes: &[u8]) -> Option<FileProblem> {
    if bytes.starts_with(LFS_POINTER) {
        return Some(FileProblem::LfsPointer);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Some(FileProblem::TooLarge {
            bytes: bytes.len() as u64,
            limit: MAX_FILE_BYTES,
        });
    }
    // git's own heuristic: a NUL byte in the first 8000 bytes means binary.
    if memchr::memchr(0, &bytes[..bytes.len().min(8000)]).is_some() {
        return Some(FileProblem::Binary);
    }
    None
}

/// Checks `blob`, the file at `path`, against the content rules ([`refusal`]).
fn check_content(path: &str, blob: FileBlob) -> Result<FileBlob, FileProblem> {
    match refusal(path, &blob.bytes) {
        Some(problem) => Err(problem),
        None => Ok(blob),
    }
}

/// Hands `f` the content of blob `id` of `repo`, the file at `path`, borrowed from libgit2,
/// unless the content rules refuse it ([`refusal`]). A blob over [`MAX_FILE_BYTES`] is refused
/// from its header, before it is inflated.
fn blob_content<T>(
    repo: &Repository,
    id: Oid,
    path: &str,
    f: impl FnOnce(&[u8]) -> T,
) -> Result<T, FileProblem> {
    let unreadable = |e: git2::Error| FileProblem::Unreadable(e.message().to_string());
    let (size, _) = repo
        .odb()
        .map_err(unreadable)?
        .read_header(id)
        .map_err(unreadable)?;
    if size > MAX_FILE_BYTES {
        return Err(FileProblem::TooLarge {
            bytes: size as u64,
            limit: MAX_FILE_BYTES,
        });
    }
    let blob = repo.find_blob(id).map_err(unreadable)?;
    match refusal(path, blob.content()) {
        Some(problem) => Err(problem),
        None => Ok(f(blob.content())),
    }
}

impl Files for Snapshot {
    fn read(&self, path: &str) -> Result<FileBlob, FileProblem> {
        if self.worktree {
            check_content(path, self.read_worktree(path)?)
        } else {
            self.read_committed(path)
        }
    }

    fn blob_id(&self, path: &str) -> Option<String> {
        let tree_id = self.tree.filter(|_| !self.worktree)?;
        self.repo
            .with_repo_dirs(|repo, dirs| {
                let entry = lookup(repo, dirs, tree_id, path).ok()?;
                let regular = entry.kind == Some(ObjectType::Blob) && entry.mode != 0o120000;
                regular.then(|| entry.id.to_string())
            })
            .ok()
            .flatten()
    }

    fn go_files_in(&self, dir: &str) -> Vec<String> {
        let mut names = if self.worktree {
            // Listed only when every component is a real directory, not a link out of the tree.
            let root = self
                .repo
                .workdir
                .as_deref()
                .and_then(|w| local::dir_beneath(w, dir).ok());
            root.and_then(|r| std::fs::read_dir(r).ok())
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                        .filter_map(|e| e.file_name().to_str().map(str::to_string))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        } else {
            let Some(tree_id) = self.tree else {
                return Vec::new();
            };
            self.repo
                .with_repo_dirs(|repo, dirs| -> Option<Vec<String>> {
                    let tree = if dir.is_empty() {
                        repo.find_tree(tree_id).ok()?
                    } else {
                        repo.find_tree(lookup(repo, dirs, tree_id, dir).ok()?.id)
                            .ok()?
                    };
                    Some(
                        tree.iter()
                            .filter(|e| {
                                e.kind() == Some(ObjectType::Blob) && e.filemode() != 0o120000
                            })
                            .filter_map(|e| e.name().ok().map(str::to_string))
                            .collect(),
                    )
                })
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        names.retain(|n| n.ends_with(".go"));
        names.sort();
        names.into_iter().map(|n| join_dir(dir, &n)).collect()
    }

    fn go_paths(&self) -> Vec<String> {
        let mut paths = if self.worktree {
            self.repo
                .workdir
                .as_deref()
                .map(local::go_paths)
                .unwrap_or_default()
        } else {
            let Some(tree_id) = self.tree else {
                return Vec::new();
            };
            self.repo
                .with_repo(|repo| {
                    let mut paths = Vec::new();
                    if let Ok(tree) = repo.find_tree(tree_id) {
                        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                            if paths.len() >= MAX_LISTED_PATHS {
                                return git2::TreeWalkResult::Abort;
                            }
                            if let Ok(name) = entry.name()
                                && name.ends_with(".go")
                                && entry.kind() == Some(ObjectType::Blob)
                            {
                                paths.push(format!("{dir}{name}"));
                            }
                            git2::TreeWalkResult::Ok
                        });
                    }
                    paths
                })
                .unwrap_or_default()
        };
        paths.sort();
        paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit of `files` (path, content, mode) in a new repository in `dir`.
    fn commit(dir: &Path, files: &[(&str, Vec<u8>, u32)]) -> (GitRepo, Snapshot) {
        let repo = Repository::init(dir).unwrap();
        let mut index = git2::Index::new().unwrap();
        for (path, content, mode) in files {
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: *mode,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: repo.blob(content).unwrap(),
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        let tree = repo.find_tree(index.write_tree_to(&repo).unwrap()).unwrap();
        let who = git2::Signature::new("t", "t@example.com", &git2::Time::new(0, 0)).unwrap();
        let id = repo
            .commit(Some("HEAD"), &who, &who, "files", &tree, &[])
            .unwrap();
        let git = GitRepo::open(dir).unwrap();
        let snapshot = git.resolve(&id.to_string()).unwrap();
        (git, snapshot)
    }

    #[test]
    fn a_blob_handed_by_id_is_the_file_read_with_the_same_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let mut big = b"package big\n".to_vec();
        big.resize(MAX_FILE_BYTES + 1, b'\n');
        let files: Vec<(&str, Vec<u8>, u32)> = vec![
            ("a.go", b"package a\n\nfunc f() {}\n".to_vec(), 0o100644),
            ("run.go", b"package a\n".to_vec(), 0o100755),
            ("empty.go", Vec::new(), 0o100644),
            (
                "lfs.go",
                b"version https://git-lfs.github.com/spec/v1\noid sha256:00\n".to_vec(),
                0o100644,
            ),
            ("bin.go", b"package a\x00\n".to_vec(), 0o100644),
            ("notes.txt", b"package a\n".to_vec(), 0o100644),
            ("big.go", big, 0o100644),
        ];
        let too_large = FileProblem::TooLarge {
            bytes: MAX_FILE_BYTES as u64 + 1,
            limit: MAX_FILE_BYTES,
        };
        let refused = [
            None,
            None,
            None,
            Some(FileProblem::LfsPointer),
            Some(FileProblem::Binary),
            Some(FileProblem::NotGo),
            Some(too_large),
        ];
        let (git, snapshot) = commit(dir.path(), &files);
        for ((path, content, _), refused) in files.iter().zip(refused) {
            let id = snapshot.blob_id(path).unwrap();
            let handed = git.with_blob(&id, path, <[u8]>::to_vec);
            let expected = refused.map_or_else(|| Ok(content.clone()), Err);
            assert_eq!(handed, expected, "{path}");
            assert_eq!(
                snapshot.read(path).map(|blob| blob.bytes),
                expected,
                "{path}"
            );
        }
        assert!(matches!(
            git.with_blob(&"0".repeat(40), "a.go", <[u8]>::to_vec),
            Err(FileProblem::Unreadable(_))
        ));
    }
}
