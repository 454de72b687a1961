//! `--cache DIR`: results kept by blob id give the same report on the next run, and cache
//! files that are corrupt or not ours are ignored and rewritten, never trusted.

mod common;

use std::path::{Path, PathBuf};

use common::{TestRepo, anchorcheck, testdata};

fn verify(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = anchorcheck(dir)
        .arg("verify")
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The revisions fixture: rev1 holds every claim, rev2 weakens server.go.
fn repo_at_rev1() -> TestRepo {
    let mut repo = TestRepo::new();
    repo.write(
        "anchors.yaml",
        std::fs::read(testdata("revisions/anchors.yaml")).unwrap(),
    );
    repo.copy_tree(&testdata("revisions/rev1"), "");
    repo.commit_all("rev1");
    repo
}

fn blob_id(repo: &TestRepo, path: &str) -> String {
    let tree = repo.repo.head().unwrap().peel_to_tree().unwrap();
    tree.get_path(Path::new(path)).unwrap().id().to_string()
}

fn cache_file(repo: &TestRepo, blob: &str) -> PathBuf {
    repo.path().join("cache").join(format!("{blob}.json"))
}

#[test]
fn warm_cache_gives_the_same_report() {
    let repo = repo_at_rev1();
    let uncached = verify(repo.path(), &[]);
    assert_eq!(uncached.0, 0, "{}", uncached.1);
    let cold = verify(repo.path(), &["--cache", "cache"]);
    let file = cache_file(&repo, &blob_id(&repo, "cmd/server.go"));
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(stored["entries"].as_array().unwrap().len(), 3, "{stored}");
    let warm = verify(repo.path(), &["--cache", "cache"]);
    assert_eq!(cold, uncached);
    assert_eq!(warm, uncached);
}

#[test]
fn a_warm_run_answers_from_the_cache_for_every_kind_of_pattern() {
    // A glob call pattern once keyed its entry by the compiled matcher's debug text, which
    // differs between processes, so such refs never hit. Mark every stored message and
    // check the warm report shows the marks: each ref was answered by the cache.
    let repo = repo_at_rev1();
    repo.write(
        "anchors.yaml",
        "version: 1\nclaims:\n  - id: guard\n    status: required\n    refs:\n      \
         - path: cmd/server.go\n        lines: 26-28\n        expect:\n          \
         - call: log.Fatal*\n          - call: { name: log.Fatalf, args: [_] }\n          \
         - not: { call: log.Print* }\n          - regex: 'caFile\\s*=='\n",
    );
    let cold = verify(repo.path(), &["--cache", "cache"]);
    assert_eq!(cold.0, 0, "{}", cold.1);
    let file = cache_file(&repo, &blob_id(&repo, "cmd/server.go"));
    let stored = std::fs::read_to_string(&file).unwrap();
    let marked = stored.replace("\"message\":\"", "\"message\":\"(cached) ");
    assert_eq!(marked.matches("(cached)").count(), 4, "{stored}");
    std::fs::write(&file, &marked).unwrap();
    let warm = verify(repo.path(), &["--cache", "cache"]);
    assert_eq!(warm.0, 0);
    let report: serde_json::Value = serde_json::from_str(&warm.1).unwrap();
    let messages: Vec<&str> = report["claims"][0]["refs"][0]["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 4, "{}", warm.1);
    assert!(
        messages.iter().all(|m| m.starts_with("(cached) ")),
        "{messages:?}"
    );
    // Nothing was rewritten.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), marked);
}

#[test]
fn a_changed_blob_misses_the_cache_and_fails() {
    let mut repo = repo_at_rev1();
    verify(repo.path(), &["--cache", "cache"]);
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    let uncached = verify(repo.path(), &[]);
    assert_eq!(uncached.0, 1);
    assert_eq!(verify(repo.path(), &["--cache", "cache"]), uncached);
}

#[test]
fn corrupt_cache_files_are_ignored_and_rewritten() {
    let repo = repo_at_rev1();
    let expected = verify(repo.path(), &[]);
    verify(repo.path(), &["--cache", "cache"]);
    let file = cache_file(&repo, &blob_id(&repo, "cmd/server.go"));
    for garbage in [&b"{not json"[..], b"", b"\x00\xff\x00", b"{\"format\": 1}"] {
        std::fs::write(&file, garbage).unwrap();
        assert_eq!(verify(repo.path(), &["--cache", "cache"]), expected);
        let rewritten: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(rewritten["entries"].as_array().unwrap().len(), 3);
    }
    // No temp files are left behind by the atomic writes.
    let names: Vec<String> = std::fs::read_dir(repo.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".json")), "{names:?}");
}

#[test]
fn foreign_cache_files_are_never_trusted() {
    // Fill a cache with rev1's passing results, then move to rev2, where the guard fails open.
    let mut repo = repo_at_rev1();
    verify(repo.path(), &["--cache", "cache"]);
    let good_blob = blob_id(&repo, "cmd/server.go");
    let good = std::fs::read_to_string(cache_file(&repo, &good_blob)).unwrap();
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    let expected = verify(repo.path(), &[]);
    assert_eq!(expected.0, 1);
    let bad_blob = blob_id(&repo, "cmd/server.go");
    let forged_file = cache_file(&repo, &bad_blob);
    let forgeries = [
        // Another blob's file under this blob's name.
        good.clone(),
        // Claims to be this blob, but from another tool version.
        good.replace(&good_blob, &bad_blob).replace(
            &format!("anchorcheck {}", env!("CARGO_PKG_VERSION")),
            "anchorcheck 0.0.0",
        ),
        // Claims to be this blob with a format this version does not know.
        {
            let mut file: serde_json::Value =
                serde_json::from_str(&good.replace(&good_blob, &bad_blob)).unwrap();
            file["format"] = 99.into();
            file.to_string()
        },
    ];
    for forged in forgeries {
        assert_ne!(forged, good.replace(&good_blob, &bad_blob));
        std::fs::write(&forged_file, &forged).unwrap();
        assert_eq!(verify(repo.path(), &["--cache", "cache"]), expected);
    }
}
