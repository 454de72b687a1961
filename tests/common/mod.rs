//! Test fixtures: git repositories built with git2 in temp dirs from trees under testdata/.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Time};

/// The project's testdata directory.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// A repository in a temp dir, removed when dropped.
pub struct TestRepo {
    pub dir: tempfile::TempDir,
    pub repo: Repository,
    commits: u32,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repository::init(dir.path()).expect("git init");
        TestRepo {
            dir,
            repo,
            commits: 0,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file into the working tree (parents created).
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let full = self.path().join(rel);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
    }

    /// Copies every file of `src` into the working tree under `prefix` ("" for the root).
    pub fn copy_tree(&self, src: &Path, prefix: &str) {
        let mut stack = vec![src.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(src)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let dest = if prefix.is_empty() {
                    rel
                } else {
                    format!("{prefix}/{rel}")
                };
                self.write(&dest, std::fs::read(&path).unwrap());
            }
        }
    }

    /// Stages the whole working tree (deletions too) and commits it; returns the commit id.
    pub fn commit_all(&mut self, message: &str) -> Oid {
        let mut index = self.repo.index().unwrap();
        index
            .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"].iter(), None).unwrap();
        index.write().unwrap();
        let tree_id = index.write_tree().unwrap();
        let tree = self.repo.find_tree(tree_id).unwrap();
        // Fixed, increasing timestamps keep commit ids and dates deterministic.
        self.commits += 1;
        let when = Time::new(1_790_000_000 + i64::from(self.commits) * 86_400, 0);
        let sig = Signature::new("Ada Tester", "ada@example.com", &when).unwrap();
        let parents: Vec<git2::Commit<'_>> = match self.repo.head() {
            Ok(head) => vec![head.peel_to_commit().unwrap()],
            Err(_) => Vec::new(),
        };
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parent_refs)
            .unwrap()
    }

    /// Replaces the working tree's files (except .git) with `src` copied under `prefix`.
    pub fn replace_tree(&self, src: &Path, prefix: &str) {
        for entry in std::fs::read_dir(self.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
        self.copy_tree(src, prefix);
    }

    pub fn tag(&self, name: &str, commit: Oid) {
        let object = self.repo.find_object(commit, None).unwrap();
        self.repo.tag_lightweight(name, &object, false).unwrap();
    }

    pub fn branch(&self, name: &str, commit: Oid) {
        let commit = self.repo.find_commit(commit).unwrap();
        self.repo.branch(name, &commit, false).unwrap();
    }

    /// A remote-tracking ref such as `origin/main`, as a CI clone has.
    pub fn remote_ref(&self, name: &str, commit: Oid) {
        self.repo
            .reference(&format!("refs/remotes/{name}"), commit, true, "test")
            .unwrap();
    }
}

/// The anchorcheck binary, run in `dir`.
pub fn anchorcheck(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("anchorcheck").unwrap();
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// Runs `verify --format json` and parses the report.
pub fn verify_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let output = anchorcheck(dir)
        .arg("verify")
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = output.status.code().unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout={} stderr={}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, json)
}
