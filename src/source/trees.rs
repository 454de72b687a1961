//! Tree comparisons that read only what changed: two trees' entries are compared by object id,
//! and a directory whose id is the same on both sides is skipped whole. This is how `git log --
//! PATH` stays fast on a large repository, where most commits touch none of the cited files.

use std::cmp::Ordering;

use git2::{Oid, Repository, Tree, TreeEntry};

/// The mode git gives directories in a tree.
const DIRECTORY: i32 = 0o040000;
/// The mode of a submodule (a commit) in a tree.
const SUBMODULE: i32 = 0o160000;
/// The file mode of a symbolic link, whose blob holds where it points.
const LINK: i32 = 0o120000;

/// One path of a set being followed, as a trie of path components.
struct Node {
    name: String,
    /// The index of the followed path ending here, if one does.
    path: Option<usize>,
    children: Vec<Node>,
    /// The entry (id and mode) seen at the previous tree, `None` when absent there.
    seen: Option<(Oid, i32)>,
}

fn trie(paths: &[String]) -> Vec<Node> {
    let mut roots: Vec<Node> = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        let mut level = &mut roots;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            let at = match level.iter().position(|n| n.name == part) {
                Some(at) => at,
                None => {
                    level.push(Node {
                        name: part.to_string(),
                        path: None,
                        children: Vec::new(),
                        seen: None,
                    });
                    level.len() - 1
                }
            };
            if parts.peek().is_none() {
                level[at].path = Some(index);
            }
            level = &mut level[at].children;
        }
    }
    roots
}

/// Where each path changed along a sequence of trees: for path `p`, `changes[p]` lists
/// `(i, id)` for every tree `i` whose entry at `p` differs from tree `i - 1`'s, `id` being the
/// new entry's object id (`None`: absent). Tree 0 is always listed, as the starting state.
pub type PathChanges = Vec<Vec<(usize, Option<Oid>)>>;

/// Compares `trees` in order, following `paths` only: per tree, only the directories on the
/// way to a followed path whose ids changed are read.
pub fn scan(
    repo: &Repository,
    trees: impl IntoIterator<Item = Oid>,
    paths: &[String],
) -> Result<PathChanges, git2::Error> {
    let mut roots = trie(paths);
    let mut changes: PathChanges = vec![Vec::new(); paths.len()];
    let mut previous: Option<Oid> = None;
    for (index, tree_id) in trees.into_iter().enumerate() {
        if previous == Some(tree_id) {
            continue;
        }
        previous = Some(tree_id);
        let tree = repo.find_tree(tree_id)?;
        visit(repo, &tree, &mut roots, index, &mut changes)?;
    }
    Ok(changes)
}

fn visit(
    repo: &Repository,
    tree: &Tree<'_>,
    nodes: &mut [Node],
    index: usize,
    changes: &mut PathChanges,
) -> Result<(), git2::Error> {
    for node in nodes {
        let now = tree
            .get_name(&node.name)
            .map(|entry| (entry.id(), entry.filemode()));
        if index > 0 && now == node.seen {
            continue;
        }
        node.seen = now;
        if let Some(path) = node.path {
            changes[path].push((index, now.map(|(id, _)| id)));
        }
        if node.children.is_empty() {
            continue;
        }
        match now {
            Some((id, DIRECTORY)) => {
                let sub = repo.find_tree(id)?;
                visit(repo, &sub, &mut node.children, index, changes)?;
            }
            _ => vanish(&mut node.children, index, changes),
        }
    }
    Ok(())
}

/// The directory holding `nodes` is gone (or became a file): so are they.
fn vanish(nodes: &mut [Node], index: usize, changes: &mut PathChanges) {
    for node in nodes {
        if node.seen.is_none() && index > 0 {
            continue;
        }
        node.seen = None;
        if let Some(path) = node.path {
            changes[path].push((index, None));
        }
        vanish(&mut node.children, index, changes);
    }
}

/// A file that differs between two trees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: String,
    /// The blob before; `None` when the file was added.
    pub old: Option<Oid>,
    /// The blob after; `None` when the file was deleted.
    pub new: Option<Oid>,
    /// Whether the file after is a symbolic link: its blob is where it points, not code.
    pub new_link: bool,
}

/// Every file (not directory, not submodule) that differs between `old` and `new`, reading
/// only the directories whose ids differ.
pub fn changed_files(
    repo: &Repository,
    old: Oid,
    new: Oid,
) -> Result<Vec<ChangedFile>, git2::Error> {
    let mut out = Vec::new();
    if old != new {
        let (old, new) = (repo.find_tree(old)?, repo.find_tree(new)?);
        compare(repo, Some(&old), Some(&new), "", &mut out)?;
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The order of entries in a git tree: by name, a directory's name compared as if it ended
/// in `/`.
fn tree_order(a: &TreeEntry<'_>, b: &TreeEntry<'_>) -> Ordering {
    let (x, y) = (a.name_bytes(), b.name_bytes());
    let common = x.len().min(y.len());
    x[..common].cmp(&y[..common]).then_with(|| {
        let next = |name: &[u8], entry: &TreeEntry<'_>| match name.get(common) {
            Some(&c) => c,
            None if entry.filemode() == DIRECTORY => b'/',
            None => 0,
        };
        next(x, a).cmp(&next(y, b))
    })
}

/// Compares two versions of a directory (`None`: absent) entry by entry, in tree order, and
/// goes down only into subdirectories whose ids differ.
fn compare(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
    prefix: &str,
    out: &mut Vec<ChangedFile>,
) -> Result<(), git2::Error> {
    let (mut i, mut j) = (0, 0);
    loop {
        let before = old.and_then(|t| t.get(i));
        let after = new.and_then(|t| t.get(j));
        let order = match (&before, &after) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => tree_order(a, b),
        };
        let (before, after) = match order {
            Ordering::Less => {
                i += 1;
                (before, None)
            }
            Ordering::Greater => {
                j += 1;
                (None, after)
            }
            Ordering::Equal => {
                i += 1;
                j += 1;
                (before, after)
            }
        };
        let state = |e: &Option<TreeEntry<'_>>| e.as_ref().map(|e| (e.id(), e.filemode()));
        if state(&before) == state(&after) {
            continue;
        }
        let Some(name) = before
            .as_ref()
            .or(after.as_ref())
            .and_then(|e| e.name().ok())
        else {
            continue;
        };
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let dir = |e: &Option<TreeEntry<'_>>| -> Result<Option<Tree<'_>>, git2::Error> {
            match e {
                Some(e) if e.filemode() == DIRECTORY => repo.find_tree(e.id()).map(Some),
                _ => Ok(None),
            }
        };
        let (old_dir, new_dir) = (dir(&before)?, dir(&after)?);
        if old_dir.is_some() || new_dir.is_some() {
            compare(repo, old_dir.as_ref(), new_dir.as_ref(), &path, out)?;
        }
        let file = |e: &Option<TreeEntry<'_>>| {
            e.as_ref().filter(|e| is_file(e.filemode())).map(|e| e.id())
        };
        let (old_file, new_file) = (file(&before), file(&after));
        if old_file.is_some() || new_file.is_some() {
            out.push(ChangedFile {
                path,
                old: old_file,
                new: new_file,
                new_link: after.as_ref().is_some_and(|e| e.filemode() == LINK),
            });
        }
    }
    Ok(())
}

/// Regular files, executables and symlinks: not directories, not submodules (commits).
fn is_file(mode: i32) -> bool {
    mode != DIRECTORY && mode != SUBMODULE
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of `files` (path, content) written into `repo`.
    fn tree(repo: &Repository, files: &[(&str, &str)]) -> Oid {
        let files: Vec<(&str, &str, u32)> = files.iter().map(|&(p, c)| (p, c, 0o100644)).collect();
        tree_of_modes(repo, &files)
    }

    /// A tree of `files` (path, content, mode) written into `repo`.
    fn tree_of_modes(repo: &Repository, files: &[(&str, &str, u32)]) -> Oid {
        let mut index = git2::Index::new().unwrap();
        for &(path, content, mode) in files {
            let id = repo.blob(content.as_bytes()).unwrap();
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode,
                uid: 0,
                gid: 0,
                file_size: content.len() as u32,
                id,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        index.write_tree_to(repo).unwrap()
    }

    #[test]
    fn changed_files_pairs_entries_in_tree_order() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        // `a.go` sorts before the directory `a` (as `a/`), `a-b.go` before both.
        let old = tree(
            &repo,
            &[
                ("a-b.go", "1"),
                ("a.go", "1"),
                ("a/x.go", "1"),
                ("b/y.go", "1"),
                ("c.go", "1"),
            ],
        );
        let new = tree(
            &repo,
            &[
                ("a-b.go", "1"),
                ("a.go", "2"),
                ("a/x.go", "1"),
                ("a/z.go", "1"),
                ("c.go", "1"),
            ],
        );
        let changed: Vec<(String, bool, bool)> = changed_files(&repo, old, new)
            .unwrap()
            .into_iter()
            .map(|f| (f.path, f.old.is_some(), f.new.is_some()))
            .collect();
        assert_eq!(
            changed,
            [
                ("a.go".to_string(), true, true),
                ("a/z.go".to_string(), false, true),
                ("b/y.go".to_string(), true, false),
            ]
        );
    }

    #[test]
    fn changed_files_flag_a_symbolic_link_after() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let old = tree_of_modes(
            &repo,
            &[("a.go", "package a", 0o100644), ("b.go", "b.go", 0o120000)],
        );
        // `a.go` becomes a link, `b.go` a file, `c.go` is a new link, `d.go` a new file.
        let new = tree_of_modes(
            &repo,
            &[
                ("a.go", "c.go", 0o120000),
                ("b.go", "package b", 0o100644),
                ("c.go", "d.go", 0o120000),
                ("d.go", "package d", 0o100755),
            ],
        );
        let links: Vec<(String, bool)> = changed_files(&repo, old, new)
            .unwrap()
            .into_iter()
            .map(|f| (f.path, f.new_link))
            .collect();
        assert_eq!(
            links,
            [
                ("a.go".to_string(), true),
                ("b.go".to_string(), false),
                ("c.go".to_string(), true),
                ("d.go".to_string(), false),
            ]
        );
    }

    #[test]
    fn scan_reports_only_the_trees_where_a_path_changed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let trees = [
            tree(&repo, &[("p/a.go", "1"), ("q/b.go", "1")]),
            tree(&repo, &[("p/a.go", "1"), ("q/b.go", "2")]),
            tree(&repo, &[("p/a.go", "2"), ("q/b.go", "2")]),
            tree(&repo, &[("q/b.go", "2")]),
        ];
        let changes = scan(&repo, trees, &["p/a.go".to_string()]).unwrap();
        let at: Vec<(usize, bool)> = changes[0]
            .iter()
            .map(|(i, id)| (*i, id.is_some()))
            .collect();
        assert_eq!(at, [(0, true), (2, true), (3, false)]);
    }
}
