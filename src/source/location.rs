//! Where things are from the repository's point of view: a file's path from the root of the
//! work tree that holds it, and the URL of a repository's `origin` remote, for links.

use std::path::{Component, Path, PathBuf};

use git2::Repository;

use super::GitRepo;

/// The root of the work tree holding `dir` (an existing directory), canonicalised; `None` when
/// `dir` is in no repository or only in a bare one.
pub fn worktree_root(dir: &Path) -> Option<PathBuf> {
    let repo = Repository::discover(dir).ok()?;
    repo.workdir()?.canonicalize().ok()
}

/// `path` relative to `root`, with forward slashes, when it lies inside `root`. `path` need
/// not exist; its existing directories are canonicalised (so symlinked temp dirs and `..`
/// resolve as the file system does) and the rest is normalised lexically.
pub fn relative_to(root: &Path, path: &Path) -> Option<String> {
    let mut existing = path;
    let mut rest: Vec<Component<'_>> = Vec::new();
    let canonical = loop {
        if let Ok(c) = existing.canonicalize() {
            break c;
        }
        let parent = existing.parent()?;
        rest.push(existing.components().next_back()?);
        existing = parent;
    };
    let mut full = canonical;
    for component in rest.into_iter().rev() {
        match component {
            Component::ParentDir => {
                full.pop();
            }
            Component::CurDir => {}
            other => full.push(other),
        }
    }
    let inside = full.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = inside
        .components()
        .map(|c| match c {
            Component::Normal(name) => name.to_str(),
            _ => None,
        })
        .collect();
    let joined = parts?.join("/");
    (!joined.is_empty()).then_some(joined)
}

impl GitRepo {
    /// The URL of remote `name` (usually `origin`), when the repository has one.
    /// git's `user.name` for this repository (its config, then the user's and the system's).
    pub fn user_name(&self) -> Option<String> {
        self.with_repo(|repo| {
            repo.config()
                .ok()
                .and_then(|c| c.get_string("user.name").ok())
                .filter(|n| !n.trim().is_empty())
        })
        .ok()
        .flatten()
    }

    pub fn remote_url(&self, name: &str) -> Option<String> {
        self.with_repo(|repo| {
            repo.find_remote(name)
                .ok()
                .and_then(|r| r.url().ok().map(str::to_string))
        })
        .ok()
        .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_root_are_relative_with_forward_slashes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("secdocs/pages")).unwrap();
        let page = dir.path().join("secdocs").join("pages/../security.md");
        assert_eq!(
            relative_to(&root, &page).as_deref(),
            Some("secdocs/security.md")
        );
        // A page that does not exist yet still has a place.
        let missing = dir.path().join("secdocs/new/gone.md");
        assert_eq!(
            relative_to(&root, &missing).as_deref(),
            Some("secdocs/new/gone.md")
        );
        assert_eq!(
            relative_to(&root.join("secdocs"), &dir.path().join("x.md")),
            None
        );
    }

    #[test]
    fn worktree_root_is_found_from_a_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        Repository::init(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        assert_eq!(
            worktree_root(&dir.path().join("a/b")),
            Some(dir.path().canonicalize().unwrap())
        );
        let bare = tempfile::tempdir().unwrap();
        Repository::init_bare(bare.path()).unwrap();
        assert_eq!(worktree_root(bare.path()), None);
    }
}
