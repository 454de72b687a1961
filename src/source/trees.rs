//! Tree comparisons that read only what changed: two trees' entries are compared by object id,
//! and a directory whose id is the same on both sides is skipped whole. This is how `git log --
//! PATH` stays fast on a large repository, where most commits touch none of the cited files.

use git2::{Oid, Repository, Tree};

/// The mode git gives directories in a tree.
const DIRECTORY: i32 = 0o040000;
/// The mode of a submodule (a commit) in a tree.
const SUBMODULE: i32 = 0o160000;

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

type Entry = (String, Oid, i32);

fn entries(tree: Option<&Tree<'_>>) -> Vec<Entry> {
    tree.map(|t| {
        t.iter()
            .filter_map(|e| Some((e.name().ok()?.to_string(), e.id(), e.filemode())))
            .collect()
    })
    .unwrap_or_default()
}

fn compare(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
    prefix: &str,
    out: &mut Vec<ChangedFile>,
) -> Result<(), git2::Error> {
    let old_entries = entries(old);
    let new_entries = entries(new);
    let find = |list: &[Entry], name: &str| list.iter().find(|e| e.0 == name).cloned();
    let mut names: Vec<&str> = old_entries
        .iter()
        .chain(&new_entries)
        .map(|e| e.0.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let (before, after) = (find(&old_entries, name), find(&new_entries, name));
        if before.as_ref().map(|e| (e.1, e.2)) == after.as_ref().map(|e| (e.1, e.2)) {
            continue;
        }
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let dir = |e: &Option<Entry>| -> Result<Option<Tree<'_>>, git2::Error> {
            match e {
                Some((_, id, DIRECTORY)) => repo.find_tree(*id).map(Some),
                _ => Ok(None),
            }
        };
        let (old_dir, new_dir) = (dir(&before)?, dir(&after)?);
        if old_dir.is_some() || new_dir.is_some() {
            compare(repo, old_dir.as_ref(), new_dir.as_ref(), &path, out)?;
        }
        let file = |e: Option<Entry>| e.filter(|e| is_file(e.2)).map(|e| e.1);
        let (old_file, new_file) = (file(before), file(after));
        if old_file.is_some() || new_file.is_some() {
            out.push(ChangedFile {
                path,
                old: old_file,
                new: new_file,
            });
        }
    }
    Ok(())
}

/// Regular files, executables and symlinks: not directories, not submodules (commits).
fn is_file(mode: i32) -> bool {
    mode != DIRECTORY && mode != SUBMODULE
}
