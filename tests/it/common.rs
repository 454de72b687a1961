//! Test fixtures: git repositories built with git2 in temp dirs from trees under testdata/.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Time};

/// The project's root directory.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

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

/// Runs the anchorcheck binary with `args` in `dir`: the exit code, stdout and stderr.
pub fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = anchorcheck(dir).args(args).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Claim `id` of a JSON report.
pub fn claim<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no claim {id} in {report}"))
}

/// The first ref of claim `id` of a JSON report.
pub fn claim_ref<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    &claim(report, id)["refs"][0]
}

/// The commit subjects of the drift fixture's revisions: rev1 -> rev2 (a comment grows above
/// the routes) -> rev3 (routes.go renamed and shifted, the guard made fail-open).
pub const DRIFT_SUBJECTS: [&str; 3] = [
    "add agent routes",
    "document the agent routes",
    "split mTLS routes out",
];

/// A fixture repository and its commits, oldest first.
pub struct Fixture {
    pub repo: TestRepo,
    pub commits: Vec<Oid>,
}

/// A repository holding testdata/`fixture`'s `rev1`, `rev2`, ... one commit each (with
/// `subjects`), and its anchors.yaml, uncommitted, with `AT` replaced by the first commit's id.
pub fn fixture_repo(fixture: &str, subjects: &[&str]) -> Fixture {
    let mut repo = TestRepo::new();
    let mut commits = Vec::new();
    for (i, subject) in subjects.iter().enumerate() {
        repo.replace_tree(&testdata(&format!("{fixture}/rev{}", i + 1)), "");
        commits.push(repo.commit_all(subject));
    }
    let anchors = std::fs::read_to_string(testdata(&format!("{fixture}/anchors.yaml")))
        .unwrap()
        .replace("AT", &commits[0].to_string());
    repo.write("anchors.yaml", anchors);
    Fixture { repo, commits }
}

/// The drift fixture up to revision `upto` (1 to 3), anchors.yaml citing rev1 with `at`.
pub fn drift_repo(upto: usize) -> Fixture {
    fixture_repo("drift", &DRIFT_SUBJECTS[..upto])
}

/// The revisions fixture at rev1, where every claim holds, anchors.yaml committed with it.
pub fn revisions_repo() -> TestRepo {
    let mut repo = TestRepo::new();
    repo.write(
        "anchors.yaml",
        std::fs::read(testdata("revisions/anchors.yaml")).unwrap(),
    );
    repo.copy_tree(&testdata("revisions/rev1"), "");
    repo.commit_all("rev1");
    repo
}

/// The blocks of `markdown` fenced with ```` ```info ````, each line with its newline.
pub fn fenced_blocks(markdown: &str, info: &str) -> Vec<String> {
    let opening = format!("```{info}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == opening => current = Some(String::new()),
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Rewords the error message of the drift fixture's mTLS guard, inside its cited lines but
/// without weakening it, and commits: a change `diff` reports as touching a verified ref.
pub fn reword_guard(repo: &mut TestRepo) -> Oid {
    let guard = std::fs::read_to_string(repo.path().join("pkg/agent/guard.go"))
        .unwrap()
        .replace(
            "mtls required but no CA configured",
            "refusing to start: mTLS needs a CA",
        );
    repo.write("pkg/agent/guard.go", guard);
    repo.commit_all("reword the mTLS error")
}

/// The repository's HEAD, and how a report names it, for verifying with the library.
pub fn head(
    repo: &TestRepo,
) -> (
    anchorcheck::source::Snapshot,
    anchorcheck::verify::RevisionInfo,
) {
    let git = anchorcheck::source::GitRepo::open(repo.path()).unwrap();
    let snapshot = git.resolve("HEAD").unwrap();
    let info = anchorcheck::verify::RevisionInfo {
        repo: ".".to_string(),
        rev: "HEAD".to_string(),
        commit: snapshot.commit.clone(),
    };
    (snapshot, info)
}
