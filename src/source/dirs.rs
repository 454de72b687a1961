//! Path lookups in committed trees that keep the large directories they pass through.
//!
//! libgit2 keeps only trees under 4 kB in its object cache. A file in a directory of a few
//! hundred files (a server package, `vendor/`) made every read beneath it inflate and parse that
//! directory's tree again: a run reads thousands of files, many in the same few large
//! directories. The entries of those trees are kept here, per thread, with the thread's
//! repository handle; small trees are left to libgit2's cache.
//!
//! Only a lookup that succeeds is answered here. Anything else (a name missing, a file where a
//! directory is asked, an empty component, an object that cannot be read) is left to libgit2's
//! own `git_tree_entry_bypath`, whose answer and error stay the reference.

use std::collections::HashMap;

use git2::{ObjectType, Oid, Repository};

/// Trees with more entries than this are kept (about 4 kB of tree object, the size libgit2
/// stops caching at).
const KEPT_FROM_ENTRIES: usize = 96;

/// At most this many entries are kept per thread; past it the kept trees are dropped and kept
/// again as they are read.
const MAX_KEPT_ENTRIES: usize = 1 << 16;

/// Trees with more entries than this are not kept: libgit2 answers for them each time, as it
/// did before, so two huge directories read in turn do not each empty what the other kept.
const KEPT_TO_ENTRIES: usize = MAX_KEPT_ENTRIES / 4;

/// One entry of a tree: what a path lookup needs of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub id: Oid,
    pub kind: Option<ObjectType>,
    pub mode: i32,
}

impl Entry {
    pub(super) fn of(e: &git2::TreeEntry<'_>) -> Entry {
        Entry {
            id: e.id(),
            kind: e.kind(),
            mode: e.filemode(),
        }
    }
}

/// A kept tree: its entries by name.
type Dir = HashMap<Box<[u8]>, Entry>;

/// The large trees read so far by this thread's lookups, by id.
#[derive(Default)]
pub(super) struct Dirs {
    kept: HashMap<Oid, Dir>,
    entries: usize,
}

impl Dirs {
    /// The entry at `path` (components joined by `/`) beneath tree `root`, when every
    /// component is found and every one but the last is a directory; `None` otherwise, for
    /// libgit2 to say why.
    pub(super) fn entry(&mut self, repo: &Repository, root: Oid, path: &str) -> Option<Entry> {
        if path.contains('\0') {
            return None;
        }
        let mut tree = root;
        let mut parts = path.split('/').peekable();
        while let Some(name) = parts.next() {
            if name.is_empty() {
                return None;
            }
            let entry = self.child(repo, tree, name)?;
            if parts.peek().is_none() {
                return Some(entry);
            }
            if entry.kind != Some(ObjectType::Tree) {
                return None;
            }
            tree = entry.id;
        }
        None
    }

    /// The entry `name` of tree `id`, from the kept trees or from libgit2.
    fn child(&mut self, repo: &Repository, id: Oid, name: &str) -> Option<Entry> {
        if let Some(dir) = self.kept.get(&id) {
            return dir.get(name.as_bytes()).copied();
        }
        let tree = repo.find_tree(id).ok()?;
        if !(KEPT_FROM_ENTRIES + 1..=KEPT_TO_ENTRIES).contains(&tree.len()) {
            return tree.get_name_bytes(name.as_bytes()).map(|e| Entry::of(&e));
        }
        let dir: Dir = tree
            .iter()
            .map(|e| (Box::from(e.name_bytes()), Entry::of(&e)))
            .collect();
        let found = dir.get(name.as_bytes()).copied();
        if self.entries + dir.len() > MAX_KEPT_ENTRIES {
            self.kept.clear();
            self.entries = 0;
        }
        self.entries += dir.len();
        self.kept.insert(id, dir);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository holding [`tree`], and that tree's id.
    fn repository(dir: &std::path::Path) -> (Repository, Oid) {
        let repo = Repository::init(dir).unwrap();
        let root = tree(&repo);
        (repo, root)
    }

    /// Writes a tree holding `big/` (more entries than are left to libgit2's cache, and a
    /// directory among them), `huge/` (too many to keep), `small/`, a file at the top and a
    /// link; returns its id.
    fn tree(repo: &Repository) -> Oid {
        let blob = |text: &str| repo.blob(text.as_bytes()).unwrap();
        let mut big = repo.treebuilder(None).unwrap();
        for i in 0..KEPT_FROM_ENTRIES + 20 {
            big.insert(
                format!("f{i}.go"),
                blob(&format!("package big // {i}\n")),
                0o100644,
            )
            .unwrap();
        }
        let mut inner = repo.treebuilder(None).unwrap();
        inner
            .insert("deep.go", blob("package inner\n"), 0o100644)
            .unwrap();
        let inner = inner.write().unwrap();
        big.insert("inner", inner, 0o040000).unwrap();
        let big = big.write().unwrap();
        let mut huge = repo.treebuilder(None).unwrap();
        let one = blob("package huge\n");
        for i in 0..=KEPT_TO_ENTRIES {
            huge.insert(format!("h{i}.go"), one, 0o100644).unwrap();
        }
        let huge = huge.write().unwrap();
        let mut small = repo.treebuilder(None).unwrap();
        small
            .insert("s.go", blob("package small\n"), 0o100644)
            .unwrap();
        let small = small.write().unwrap();
        let mut root = repo.treebuilder(None).unwrap();
        root.insert("big", big, 0o040000).unwrap();
        root.insert("huge", huge, 0o040000).unwrap();
        root.insert("small", small, 0o040000).unwrap();
        root.insert("top.go", blob("package top\n"), 0o100644)
            .unwrap();
        root.insert("link", blob("top.go"), 0o120000).unwrap();
        root.write().unwrap()
    }

    #[test]
    fn a_lookup_answers_as_libgit2_does_and_leaves_every_failure_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, root) = repository(dir.path());
        let mut dirs = Dirs::default();
        let libgit2 = |path: &str| {
            repo.find_tree(root)
                .unwrap()
                .get_path(std::path::Path::new(path))
                .ok()
                .map(|e| Entry::of(&e))
        };
        for path in [
            "big/f0.go",
            "big/f115.go",
            "big/inner",
            "big/inner/deep.go",
            "huge/h0.go",
            "huge/h9999.go",
            "small/s.go",
            "small",
            "top.go",
            "link",
        ] {
            // Twice: the second answer comes from the kept tree.
            for _ in 0..2 {
                assert_eq!(dirs.entry(&repo, root, path), libgit2(path), "{path}");
            }
        }
        assert_eq!((dirs.kept.len(), dirs.entries), (1, KEPT_FROM_ENTRIES + 21));
        for path in [
            "big/missing.go",
            "big/f0.go/more",
            "top.go/x",
            "big//f0.go",
            "",
            "/top.go",
            "big/",
            "nothing/f.go",
            "big/f0\0.go",
            "huge/missing.go",
        ] {
            assert_eq!(dirs.entry(&repo, root, path), None, "{path}");
        }
    }
}
