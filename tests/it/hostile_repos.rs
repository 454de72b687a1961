//! Hostile repositories: odd tree entries (symlink, submodule, directory, LFS pointer, binary,
//! oversized, not Go), non-UTF-8 and case-colliding paths, an empty repository, a detached HEAD,
//! a shallow clone, a linked worktree, WORKTREE with untracked files, and a repository being
//! written to during the run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::common::{TestRepo, anchorcheck, verify_json};
use anchorcheck::model::Verdict;
use anchorcheck::source::{Files, GitRepo, MAX_FILE_BYTES};
use anchorcheck::verify::{self, VerifyOptions};
use git2::{Index, IndexEntry, IndexTime, Oid, Signature, Time};

const GUARD: &str =
    "package a\n\nfunc start() {\n\tif !mtls {\n\t\tlog.Fatal(\"mtls required\")\n\t}\n}\n";

/// An index entry for `path` with `mode`, pointing at `id`.
fn entry(path: &[u8], mode: u32, id: Oid) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.to_vec(),
    }
}

/// Commits a tree built entry by entry (so modes git2's workdir scan would never produce, like
/// a gitlink, can be written), moving HEAD to it.
fn commit_entries(repo: &TestRepo, entries: &[(&[u8], u32, &[u8])]) -> Oid {
    let mut index = Index::new().unwrap();
    for (path, mode, content) in entries {
        let id = if *mode == 0o160000 {
            // A gitlink names a commit of another repository; any id will do.
            Oid::from_str("1234567890123456789012345678901234567890").unwrap()
        } else {
            repo.repo.blob(content).unwrap()
        };
        index.add(&entry(path, *mode, id)).unwrap();
    }
    let tree_id = index.write_tree_to(&repo.repo).unwrap();
    let tree = repo.repo.find_tree(tree_id).unwrap();
    let sig = Signature::new(
        "Ada Tester",
        "ada@example.com",
        &Time::new(1_790_000_000, 0),
    )
    .unwrap();
    let parents: Vec<git2::Commit<'_>> = repo
        .repo
        .head()
        .ok()
        .map(|h| h.peel_to_commit().unwrap())
        .into_iter()
        .collect();
    let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.repo
        .commit(Some("HEAD"), &sig, &sig, "entries", &tree, &parent_refs)
        .unwrap()
}

/// anchors.yaml with one claim per (id, path, lines, expectation).
fn anchors_yaml(refs: &[(&str, &str, &str, &str)]) -> String {
    let mut out = String::from("version: 1\nclaims:\n");
    for (id, path, lines, expect) in refs {
        out.push_str(&format!(
            "  - id: {id}\n    status: required\n    refs:\n      - path: \"{path}\"\n        lines: {lines}\n        expect:\n          - {expect}\n"
        ));
    }
    out
}

/// The verdict and error of each claim's first ref, by claim id.
fn verdicts(json: &serde_json::Value) -> Vec<(String, String, String)> {
    json["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let r = &c["refs"][0];
            (
                c["id"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
                r["error"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn odd_tree_entries_are_each_an_error_saying_which() {
    let repo = TestRepo::new();
    let lfs = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 12\n";
    let big = vec![b'/'; MAX_FILE_BYTES + 1];
    commit_entries(
        &repo,
        &[
            (b"real.go", 0o100644, GUARD.as_bytes()),
            (b"link.go", 0o120000, b"real.go"),
            (b"vendor/lib", 0o160000, b""),
            (b"pkg/inner.go", 0o100644, GUARD.as_bytes()),
            (b"lfs.go", 0o100644, lfs),
            (b"bin.go", 0o100644, b"package a\n\x00\x00\n"),
            (b"big.go", 0o100644, &big),
            (b"notes.md", 0o100644, b"# notes\n"),
        ],
    );
    repo.write(
        "anchors.yaml",
        anchors_yaml(&[
            ("real", "real.go", "4-6", "call: log.Fatal"),
            ("symlink", "link.go", "1", "text: x"),
            ("submodule", "vendor/lib", "1", "text: x"),
            ("directory", "pkg", "1", "text: x"),
            ("lfs", "lfs.go", "1", "text: x"),
            ("binary", "bin.go", "1", "text: x"),
            ("too-large", "big.go", "1", "text: x"),
            ("not-go", "notes.md", "1", "text: x"),
        ]),
    );
    let (code, json) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let got = verdicts(&json);
    let expected = [
        ("real", "verified", ""),
        (
            "symlink",
            "error",
            "path is a symbolic link (to `real.go`), not a file",
        ),
        ("submodule", "error", "path is a git submodule, not a file"),
        ("directory", "error", "path is a directory, not a file"),
        (
            "lfs",
            "error",
            "file is a Git LFS pointer; its content is not in the repository",
        ),
        ("binary", "error", "file is binary"),
        (
            "too-large",
            "error",
            "file is too large (8388609 bytes; the limit is 8388608)",
        ),
        ("not-go", "error", "file is not Go source (.go)"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn non_utf8_and_case_colliding_paths_are_read_exactly() {
    let repo = TestRepo::new();
    let upper = GUARD.replace("log.Fatal", "log.Printf");
    commit_entries(
        &repo,
        &[
            (b"auth.go", 0o100644, GUARD.as_bytes()),
            (b"Auth.go", 0o100644, upper.as_bytes()),
            (b"caf\xff.go", 0o100644, b"package a\n"),
        ],
    );
    let git = GitRepo::open(repo.path()).unwrap();
    let snapshot = git.resolve("HEAD").unwrap();
    assert_eq!(snapshot.read("auth.go").unwrap().bytes, GUARD.as_bytes());
    assert_eq!(snapshot.read("Auth.go").unwrap().bytes, upper.as_bytes());
    // The non-UTF-8 name cannot be cited, but listing the directory (symbol relocation) skips
    // it instead of failing.
    assert_eq!(snapshot.go_files_in(""), ["Auth.go", "auth.go"]);
    repo.write(
        "anchors.yaml",
        anchors_yaml(&[
            ("lower", "auth.go", "4-6", "call: log.Fatal"),
            ("upper", "Auth.go", "4-6", "call: log.Fatal"),
        ]),
    );
    let (_, json) = verify_json(repo.path(), &[]);
    let got = verdicts(&json);
    assert_eq!(got[0].1, "verified");
    assert_eq!(got[1].1, "broken", "Auth.go only logs");
}

#[test]
fn empty_repository_is_unusable_at_head_and_readable_as_worktree() {
    let repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.write(
        "anchors.yaml",
        anchors_yaml(&[("guard", "a.go", "4-6", "call: log.Fatal")]),
    );
    let out = anchorcheck(repo.path()).arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown revision `HEAD`"), "{stderr}");
    let (code, json) = verify_json(repo.path(), &["--rev", "WORKTREE"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["commit"], serde_json::Value::Null);
}

#[test]
fn detached_head_is_verified_at_its_commit() {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    let first = repo.commit_all("guard");
    repo.write("a.go", GUARD.replace("log.Fatal", "log.Printf"));
    repo.commit_all("weaken");
    repo.repo.set_head_detached(first).unwrap();
    repo.write(
        "anchors.yaml",
        anchors_yaml(&[("guard", "a.go", "4-6", "call: log.Fatal")]),
    );
    let (code, json) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["commit"], first.to_string());
}

#[test]
fn shallow_clone_without_the_at_commit_says_so_and_still_verifies() {
    let mut origin = TestRepo::new();
    origin.write("a.go", GUARD);
    let old = origin.commit_all("guard");
    origin.write("a.go", format!("{}{GUARD}", "// header\n".repeat(10)));
    origin.commit_all("shift");
    let clone_dir = tempfile::tempdir().unwrap();
    let clone = clone_dir.path().join("clone");
    // git2 cannot make a shallow clone; the git CLI can, from a local file:// URL (no network).
    let status = std::process::Command::new("git")
        .args(["clone", "--quiet", "--depth", "1"])
        .arg(format!("file://{}", origin.path().display()))
        .arg(&clone)
        .status()
        .expect("git is installed");
    assert!(status.success());
    std::fs::write(
        clone.join("anchors.yaml"),
        format!(
            "version: 1\nclaims:\n  - id: guard\n    status: required\n    refs:\n      - path: a.go\n        lines: 4-6\n        at: {old}\n        expect:\n          - call: log.Fatal\n"
        ),
    )
    .unwrap();
    let (code, json) = verify_json(&clone, &[]);
    assert_eq!(code, 1, "the guard moved down ten lines: {json}");
    let r = &json["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "drifted");
    assert_eq!(
        r["relocated"]["how"], "search",
        "history is unavailable, search is not"
    );
    // The three cited lines were the guard around the call: it moves to the guard.
    assert_eq!(r["relocated"]["lines"], "14-16");
    let notes = r["notes"].to_string();
    assert!(notes.contains("not in this repository"), "{notes}");

    // With --cache, the shallow run's report is not kept: once the history is fetched, the
    // same commit relocates through it.
    assert_eq!(verify_json(&clone, &["--cache", "cache"]).1, json);
    let status = std::process::Command::new("git")
        .args(["fetch", "--quiet", "--unshallow"])
        .current_dir(&clone)
        .status()
        .expect("git is installed");
    assert!(status.success());
    let (code, json) = verify_json(&clone, &["--cache", "cache"]);
    assert_eq!(code, 1, "{json}");
    let r = &json["claims"][0]["refs"][0];
    assert_eq!(r["relocated"]["how"], "history", "{json}");
    assert_eq!(r["relocated"]["lines"], "14-16");
}

#[test]
fn linked_worktree_is_read_at_its_own_head_and_working_files() {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    let first = repo.commit_all("guard");
    repo.branch("side", first);
    repo.write("a.go", GUARD.replace("log.Fatal", "log.Printf"));
    repo.commit_all("weaken on main");
    let wt_parent = tempfile::tempdir().unwrap();
    let wt_path = wt_parent.path().join("side");
    let side = repo.repo.find_reference("refs/heads/side").unwrap();
    let mut opts = git2::WorktreeAddOptions::new();
    opts.reference(Some(&side));
    repo.repo.worktree("side", &wt_path, Some(&opts)).unwrap();
    std::fs::write(
        wt_path.join("anchors.yaml"),
        anchors_yaml(&[("guard", "a.go", "4-6", "call: log.Fatal")]),
    )
    .unwrap();
    let (code, json) = verify_json(&wt_path, &[]);
    assert_eq!(
        code, 0,
        "the side worktree's HEAD still has the guard: {json}"
    );
    assert_eq!(json["commit"], first.to_string());
    // An uncommitted edit in the linked worktree shows under WORKTREE only.
    std::fs::write(
        wt_path.join("a.go"),
        GUARD.replace("log.Fatal", "log.Print"),
    )
    .unwrap();
    let (code, _) = verify_json(&wt_path, &["--rev", "WORKTREE"]);
    assert_eq!(code, 1);
}

#[test]
fn worktree_mode_sees_uncommitted_and_untracked_files() {
    let mut repo = TestRepo::new();
    repo.write("a.go", "package a\n");
    repo.commit_all("stub");
    repo.write("a.go", GUARD);
    repo.write("new/untracked.go", GUARD);
    repo.write(
        "anchors.yaml",
        anchors_yaml(&[
            ("edited", "a.go", "4-6", "call: log.Fatal"),
            ("untracked", "new/untracked.go", "4-6", "call: log.Fatal"),
        ]),
    );
    let (code, json) = verify_json(repo.path(), &["--rev", "WORKTREE"]);
    assert_eq!(code, 0, "{json}");
    let (code, json) = verify_json(repo.path(), &["--rev", "HEAD"]);
    assert_eq!(code, 1);
    let got = verdicts(&json);
    assert_eq!(got[1].1, "error");
    assert_eq!(got[1].2, "file not found at this revision");
}

#[test]
fn a_repository_written_to_during_the_run_is_read_at_the_resolved_commit() {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    let first = repo.commit_all("guard");
    let anchors_text = anchors_yaml(&[("guard", "a.go", "4-6", "call: log.Fatal")]);
    let (anchors, _) = {
        repo.write("anchors.yaml", &anchors_text);
        anchorcheck::anchors::load(&repo.path().join("anchors.yaml"), Path::new("anchors.yaml"))
            .unwrap()
    };
    let (snapshot, info) = crate::common::head(&repo);
    let path = repo.path().to_path_buf();
    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU32::new(0));
    let writer = {
        let (stop, commits) = (stop.clone(), commits.clone());
        std::thread::spawn(move || {
            // Another process committing and editing files while anchorcheck reads.
            let git = git2::Repository::open(&path).unwrap();
            let sig =
                Signature::new("Writer", "w@example.com", &Time::new(1_800_000_000, 0)).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let n = commits.load(Ordering::Relaxed);
                let body = format!("{}// edit {n}\n", GUARD.replace("log.Fatal", "log.Printf"));
                std::fs::write(path.join("a.go"), &body).unwrap();
                let mut index = git.index().unwrap();
                index.add_path(Path::new("a.go")).unwrap();
                index.write().unwrap();
                let tree = git.find_tree(index.write_tree().unwrap()).unwrap();
                let parent = git.head().unwrap().peel_to_commit().unwrap();
                git.commit(Some("HEAD"), &sig, &sig, "edit", &tree, &[&parent])
                    .unwrap();
                commits.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut runs = 0;
    while runs < 20 || commits.load(Ordering::Relaxed) < 5 {
        let report = verify::verify(
            &anchors,
            &snapshot,
            &anchorcheck::docs::read_pages(&anchors),
            None,
            info.clone(),
            &VerifyOptions::default(),
        )
        .unwrap();
        assert_eq!(report.claims[0].verdict, Verdict::Verified);
        assert_eq!(report.commit.as_deref(), Some(first.to_string().as_str()));
        runs += 1;
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    // The repository really moved on meanwhile.
    let head = snapshot.git().resolve("HEAD").unwrap();
    assert_ne!(head.commit, snapshot.commit);
    drop(repo);
}
