//! What a command runs on: the anchors file (found from the working directory or named), the
//! repository and revision that win (a flag, else anchors.yaml, else the defaults), and what
//! follows from them: the history source, `diff`'s base commit, links to the cited code, the
//! commit `audit` describes and the one `fix` records as `at`.

use std::path::{Path, PathBuf};

use crate::anchors::{self, AnchorsError, AnchorsFile};
use crate::docs;
use crate::fix::{self, FixError, FixPlan, Revisions};
use crate::model::links::{LinkBase, Links};
use crate::model::{Commit, Report};
use crate::source::{GitRepo, Snapshot, SourceError};
use crate::verify::{self, HistorySource, RevisionInfo, VerifyError, VerifyOptions};

/// What the command line says to verify; `None` leaves the choice to anchors.yaml, then to
/// the defaults.
#[derive(Clone, Copy, Debug)]
pub struct TargetRequest<'a> {
    /// `--anchors`: relative to `cwd`; else anchors.yaml in `cwd` or its nearest parent.
    pub anchors: Option<&'a Path>,
    /// `--repo`: wins over anchors.yaml's `repo:`, which is relative to the anchors file.
    pub repo: Option<&'a Path>,
    /// `--rev` (or `diff --head`): wins over anchors.yaml's `rev:`, else `HEAD`.
    pub rev: Option<&'a str>,
    /// The working directory, which flags and messages are relative to.
    pub cwd: &'a Path,
}

/// Why there is nothing to run on.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// No anchors file, or one that cannot be read or is invalid (every problem with its
    /// position).
    #[error(transparent)]
    Anchors(#[from] AnchorsError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("--base must name a commit, not `{base}`")]
    BaseNotACommit { base: String },
    /// `repo:` in anchors.yaml names a directory outside the repository holding the file: a
    /// pull request that edits anchors.yaml could otherwise make the run read (and print)
    /// code from anywhere on the machine.
    #[error(
        "{}: `repo: {repo}` is outside the repository holding the anchors file ({}); only --repo on the command line may name a repository elsewhere",
        .anchors.display(),
        .root.display()
    )]
    RepoOutside {
        anchors: PathBuf,
        repo: String,
        root: PathBuf,
    },
    /// The repository `repo:` names is inside, but its configuration reads from outside: a
    /// `commondir` file, `core.worktree` or `objects/info/alternates` naming another
    /// repository.
    #[error(
        "{}: the repository `repo: {repo}` names reads from {}, outside the repository holding the anchors file (through its commondir, core.worktree or alternates); only --repo on the command line may name such a repository",
        .anchors.display(),
        .place.display()
    )]
    RepoReadsOutside {
        anchors: PathBuf,
        repo: String,
        place: PathBuf,
    },
    /// A report file would replace one of the run's inputs.
    #[error("{}: is {what}; anchorcheck never writes a report over its inputs (choose another file)", .path.display())]
    OutputOverInput { path: PathBuf, what: &'static str },
}

/// A loaded anchors file and the revision it is verified at.
#[derive(Debug)]
pub struct Target {
    pub anchors: AnchorsFile,
    /// The anchors file's text, for `fix` to splice.
    pub source: String,
    /// How messages name the anchors file: relative to the working directory when inside it.
    pub display: PathBuf,
    pub snapshot: Snapshot,
    pub info: RevisionInfo,
    /// The docs pages anchors.yaml names, read once: `verify` checks their citations and `fix`
    /// rewrites them.
    pub pages: Vec<docs::Page>,
}

/// Where a path is on disk, to tell whether two paths name one file: its directory with links
/// resolved and its name, and the file's device and inode when it is a regular file.
struct Located {
    place: Option<PathBuf>,
    inode: Option<(u64, u64)>,
}

impl Located {
    fn of(path: &Path) -> Located {
        let place = match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) => {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                dir.canonicalize().ok().map(|d| d.join(name))
            }
            _ => None,
        };
        let inode = std::fs::symlink_metadata(path)
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|meta| inode(&meta));
        Located { place, inode }
    }

    fn is(&self, other: &Located) -> bool {
        (self.place.is_some() && self.place == other.place)
            || (self.inode.is_some() && self.inode == other.inode)
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Why a repository named by `repo:` cannot be used.
enum Confinement {
    /// It lies outside the repository holding the anchors file (that root).
    Outside(PathBuf),
    /// It reads from this place, outside that root.
    ReadsOutside(PathBuf),
    Source(SourceError),
}

/// Opens the repository at `dir`. When `from_file` (`repo:` in anchors.yaml, whose directory is
/// `base`), `dir`, links resolved, and every place the repository reads from (its git
/// directory, `commondir`, working tree and alternate object stores) must lie inside the
/// repository holding the anchors file; `--repo` on the command line is the operator's choice.
/// An anchors file outside any repository is no pull request's (a benchmark's, an
/// operator's), and may name any directory.
fn open_confined(dir: &Path, from_file: bool, base: &Path) -> Result<GitRepo, Confinement> {
    let holder = if from_file {
        GitRepo::open(base).ok()
    } else {
        None
    };
    let Some(holder) = holder else {
        return GitRepo::open(dir).map_err(Confinement::Source);
    };
    let root = holder.root();
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if let Ok(dir) = dir.canonicalize()
        && !dir.starts_with(&root)
    {
        return Err(Confinement::Outside(root));
    }
    let git = GitRepo::open(dir).map_err(Confinement::Source)?;
    // The repository holding the anchors file is the one checked out: its configuration is
    // the operator's (a linked worktree's git directory lies elsewhere by design).
    if !git.is_same(&holder)
        && let Some(place) = git.reads_outside(&root)
    {
        return Err(Confinement::ReadsOutside(place));
    }
    Ok(git)
}

impl Target {
    /// Finds and loads the anchors file, opens the repository and resolves the revision.
    pub fn load(request: &TargetRequest<'_>) -> Result<Target, TargetError> {
        let cwd = request.cwd;
        let path = match request.anchors {
            Some(p) => cwd.join(p),
            None => anchors::discover(cwd)?,
        };
        let display = path
            .strip_prefix(cwd)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.clone());
        let (anchors, source) = anchors::load(&path, &display)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let (repo_dir, repo_name) = match (request.repo, &anchors.repo) {
            (Some(flag), _) => (flag.to_path_buf(), flag.display().to_string()),
            (None, Some(repo)) => (base.join(repo), repo.clone()),
            (None, None) => (base.to_path_buf(), ".".to_string()),
        };
        let rev = request
            .rev
            .map(str::to_string)
            .or_else(|| anchors.rev.as_ref().map(|r| r.value.clone()))
            .unwrap_or_else(|| "HEAD".to_string());
        let from_file = request.repo.is_none() && anchors.repo.is_some();
        let git = open_confined(&repo_dir, from_file, base).map_err(|e| match e {
            Confinement::Outside(root) => TargetError::RepoOutside {
                anchors: display.clone(),
                repo: repo_name.clone(),
                root,
            },
            Confinement::ReadsOutside(place) => TargetError::RepoReadsOutside {
                anchors: display.clone(),
                repo: repo_name.clone(),
                place,
            },
            Confinement::Source(e) => TargetError::Source(e),
        })?;
        let snapshot = git.resolve(&rev)?;
        let info = RevisionInfo {
            repo: repo_name,
            rev,
            commit: snapshot.commit.clone(),
        };
        let pages = docs::read_pages(&anchors);
        Ok(Target {
            anchors,
            source,
            display,
            snapshot,
            info,
            pages,
        })
    }

    /// Refuses a report file (`--output`, `audit --html`) that would replace the anchors file,
    /// a docs page or a file a ref cites: the same path (its directory's links resolved) or the
    /// same file (a hard link). A symbolic link at `path` is replaced, never followed, so
    /// only the link itself is compared by name.
    pub fn check_output(&self, path: &Path) -> Result<(), TargetError> {
        let base = self.anchors.path.parent().unwrap_or(Path::new("."));
        let mut inputs = vec![(self.anchors.path.clone(), "the anchors file")];
        inputs.extend(
            self.anchors
                .docs
                .iter()
                .map(|page| (base.join(&page.value), "a docs page")),
        );
        if let Some(root) = self.snapshot.git().workdir() {
            inputs.extend(
                self.anchors
                    .claims
                    .iter()
                    .flat_map(|c| &c.refs)
                    .map(|r| (root.join(&r.path.value), "a file a ref cites")),
            );
        }
        let output = Located::of(path);
        for (input, what) in inputs {
            if output.is(&Located::of(&input)) {
                return Err(TargetError::OutputOverInput {
                    path: path.to_path_buf(),
                    what,
                });
            }
        }
        Ok(())
    }

    /// The commit every ref is followed from for `diff --base` or `fix --base`.
    pub fn base_commit(&self, base: Option<&str>) -> Result<Option<String>, TargetError> {
        let Some(base) = base else { return Ok(None) };
        let snapshot = self.snapshot.git().resolve(base)?;
        match snapshot.commit {
            Some(commit) if !snapshot.is_worktree() => Ok(Some(commit)),
            _ => Err(TargetError::BaseNotACommit {
                base: base.to_string(),
            }),
        }
    }

    /// Verifies the anchors file at the revision, with its history.
    pub fn verify(&self, options: &VerifyOptions) -> Result<Report, VerifyError> {
        let history = HistorySource {
            git: self.snapshot.git(),
            target: self.snapshot.endpoint(),
            target_commit: self.snapshot.commit.clone(),
        };
        verify::verify(
            &self.anchors,
            &self.snapshot,
            &self.pages,
            Some(&history),
            self.info.clone(),
            options,
        )
    }

    /// How reports link to cited code: `link_base` (`--link-base`), else a GitHub or GitLab
    /// `origin` remote (a host equal to `github_server_url`'s, `$GITHUB_SERVER_URL`, counts as
    /// GitHub). None for `WORKTREE`: uncommitted line numbers belong to no commit a link could
    /// name.
    pub fn links(
        &self,
        link_base: Option<&LinkBase>,
        github_server_url: Option<&str>,
    ) -> Option<Links> {
        if self.snapshot.is_worktree() {
            return None;
        }
        let commit = self.snapshot.commit.as_deref()?;
        if let Some(base) = link_base {
            return Some(Links::from_base(base, commit));
        }
        let url = self.snapshot.git().remote_url("origin")?;
        let github_host = github_server_url
            .and_then(|s| s.split_once("://"))
            .map(|(_, host)| host.trim_end_matches('/'));
        Links::from_remote(&url, github_host, commit)
    }

    /// The commit the revision resolved to, described for people (`audit`'s header).
    pub fn described_commit(&self) -> Result<Option<Commit>, SourceError> {
        let Some(id) = &self.snapshot.commit else {
            return Ok(None);
        };
        Ok(self
            .snapshot
            .git()
            .find_commit(id)?
            .map(|info| Commit::from(&info)))
    }

    /// What `fix` would change to rewrite the drift of `report` (verified here), reading the
    /// docs pages; `keep_pinned` leaves links pinned to a tag or commit as they are.
    pub fn fix_plan(&self, report: &Report, keep_pinned: bool) -> Result<FixPlan, FixError> {
        let pages: Vec<(PathBuf, String)> = self
            .pages
            .iter()
            .filter_map(|page| Some((page.full.clone(), page.text.clone().ok()?)))
            .collect();
        let git = self.snapshot.git();
        let is_fixed = |name: &str| git.names_fixed_revision(name);
        let revisions = Revisions {
            is_fixed: &is_fixed,
            keep_pinned,
        };
        fix::plan(
            &self.anchors,
            &self.source,
            report,
            self.fix_commit(),
            &pages,
            &revisions,
        )
    }

    /// The commit `fix` records as `at`: none at the working tree, whose line numbers belong
    /// to no commit.
    pub fn fix_commit(&self) -> Option<&str> {
        if self.snapshot.is_worktree() {
            None
        } else {
            self.snapshot.commit.as_deref()
        }
    }
}
