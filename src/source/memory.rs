//! Files held in memory: the [`Files`] a test or a caller that already has the contents reads.

use std::collections::HashMap;

use git2::{ObjectType, Oid};

use super::{FileBlob, FileProblem, Files, check_content};

/// Files held in memory, for tests and callers that already have the contents.
#[derive(Clone, Debug, Default)]
pub struct MemoryFiles {
    files: HashMap<String, Vec<u8>>,
}

impl MemoryFiles {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(path.into(), contents.into());
        self
    }
}

impl Files for MemoryFiles {
    fn read(&self, path: &str) -> Result<FileBlob, FileProblem> {
        let bytes = self.files.get(path).ok_or(FileProblem::Missing)?.clone();
        let id = Oid::hash_object(ObjectType::Blob, &bytes)
            .map(|o| o.to_string())
            .unwrap_or_default();
        check_content(path, FileBlob { bytes, id })
    }

    fn go_files_in(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .files
            .keys()
            .filter(|p| {
                let parent = p.rsplit_once('/').map_or("", |(d, _)| d);
                parent == dir && p.ends_with(".go")
            })
            .cloned()
            .collect();
        names.sort();
        names
    }

    fn go_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .files
            .keys()
            .filter(|p| p.ends_with(".go"))
            .cloned()
            .collect();
        paths.sort();
        paths
    }
}
