//! The working tree with an editor's open buffers laid over it: what `anchorcheck lsp` verifies,
//! so a claim fails (or holds again) as the code is typed, before it is saved.

use std::collections::BTreeMap;

use git2::{ObjectType, Oid};

use super::{FileBlob, FileProblem, Files, Snapshot, check_content};

/// Files read from `base`, except those an editor holds open: their unsaved text wins.
#[derive(Clone, Debug)]
pub struct OverlayFiles<'a> {
    base: &'a Snapshot,
    /// Repo-relative path -> the buffer's bytes.
    buffers: BTreeMap<String, Vec<u8>>,
}

impl<'a> OverlayFiles<'a> {
    pub fn new(base: &'a Snapshot) -> Self {
        OverlayFiles {
            base,
            buffers: BTreeMap::new(),
        }
    }

    /// Lays the buffer of `path` (repo-relative) over the file underneath.
    pub fn insert(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.buffers.insert(path.into(), bytes.into());
        self
    }

    fn in_dir<'p>(&'p self, dir: &'p str) -> impl Iterator<Item = &'p String> + 'p {
        self.buffers.keys().filter(move |p| {
            let parent = p.rsplit_once('/').map_or("", |(d, _)| d);
            parent == dir && p.ends_with(".go")
        })
    }
}

impl Files for OverlayFiles<'_> {
    fn read(&self, path: &str) -> Result<FileBlob, FileProblem> {
        let Some(bytes) = self.buffers.get(path) else {
            return self.base.read(path);
        };
        let id = Oid::hash_object(ObjectType::Blob, bytes)
            .map(|o| o.to_string())
            .unwrap_or_default();
        check_content(
            path,
            FileBlob {
                bytes: bytes.clone(),
                id,
            },
        )
    }

    fn blob_id(&self, path: &str) -> Option<String> {
        if self.buffers.contains_key(path) {
            return None;
        }
        self.base.blob_id(path)
    }

    fn go_files_in(&self, dir: &str) -> Vec<String> {
        let mut names = self.base.go_files_in(dir);
        names.extend(self.in_dir(dir).cloned());
        names.sort();
        names.dedup();
        names
    }

    fn go_paths(&self) -> Vec<String> {
        let mut paths = Files::go_paths(self.base);
        paths.extend(self.buffers.keys().filter(|p| p.ends_with(".go")).cloned());
        paths.sort();
        paths.dedup();
        paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::GitRepo;

    #[test]
    fn a_buffer_wins_over_the_file_and_adds_to_listings() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/a.go"), "package pkg\n").unwrap();
        let snapshot = GitRepo::open(dir.path())
            .unwrap()
            .resolve(crate::source::WORKTREE)
            .unwrap();
        let mut files = OverlayFiles::new(&snapshot);
        files.insert("pkg/a.go", "package pkg // edited\n");
        files.insert("pkg/new.go", "package pkg\n");
        assert_eq!(
            files.read("pkg/a.go").unwrap().bytes,
            b"package pkg // edited\n"
        );
        assert_eq!(files.blob_id("pkg/a.go"), None);
        assert_eq!(files.go_files_in("pkg"), ["pkg/a.go", "pkg/new.go"]);
        assert_eq!(files.read("pkg/missing.go"), Err(FileProblem::Missing));
        files.insert("pkg/notes.txt", "x");
        assert_eq!(files.read("pkg/notes.txt"), Err(FileProblem::NotGo));
    }
}
