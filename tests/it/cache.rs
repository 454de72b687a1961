//! `--cache DIR`: results kept by blob id give the same report on the next run, and cache
//! files that are corrupt or not ours are ignored and rewritten, never trusted.

use std::path::{Path, PathBuf};

use crate::common::{TestRepo, anchorcheck, revisions_repo, testdata};

fn verify(dir: &Path, args: &[&str]) -> (i32, String) {
    verify_env(dir, &[], args)
}

fn verify_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let out = anchorcheck(dir)
        .envs(env.iter().copied())
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

fn blob_id(repo: &TestRepo, path: &str) -> String {
    let tree = repo.repo.head().unwrap().peel_to_tree().unwrap();
    tree.get_path(Path::new(path)).unwrap().id().to_string()
}

fn cache_file(repo: &TestRepo, blob: &str) -> PathBuf {
    repo.path().join("cache").join(format!("{blob}.json"))
}

#[test]
fn warm_cache_gives_the_same_report() {
    let repo = revisions_repo();
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
    let repo = revisions_repo();
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

fn commit_file(repo: &TestRepo) -> PathBuf {
    let head = repo.repo.head().unwrap().peel_to_commit().unwrap().id();
    repo.path()
        .join("cache")
        .join(format!("commit-{head}.json"))
}

/// The messages of every expectation in a JSON report.
fn messages(report: &str) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(report).unwrap();
    let mut out = Vec::new();
    for claim in report["claims"].as_array().unwrap() {
        for r in claim["refs"].as_array().unwrap() {
            for e in r["expectations"].as_array().unwrap() {
                out.push(e["message"].as_str().unwrap().to_string());
            }
        }
    }
    out
}

#[test]
fn a_failing_ref_is_answered_from_its_commit_on_the_next_run() {
    // rev2 breaks the guard: its report (relocation tried, culprit found) is kept by commit.
    let mut repo = revisions_repo();
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    let expected = verify(repo.path(), &[]);
    assert_eq!(expected.0, 1);
    assert_eq!(verify(repo.path(), &["--cache", "cache"]), expected);
    let file = commit_file(&repo);
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(stored.contains("\"verdict\":\"Broken\""), "{stored}");
    let marked = stored.replace("\"message\":\"", "\"message\":\"(cached) ");
    std::fs::write(&file, &marked).unwrap();
    let warm = verify(repo.path(), &["--cache", "cache"]);
    assert_eq!(warm.0, 1);
    let marked_messages: Vec<String> = messages(&warm.1)
        .into_iter()
        .filter(|m| m.starts_with("(cached) "))
        .collect();
    assert_eq!(marked_messages.len(), 1, "{}", warm.1);
    // The next commit starts afresh: another commit's file is never read for it.
    repo.write("README", "touch\n");
    repo.commit_all("unrelated");
    let expected = verify(repo.path(), &[]);
    assert_eq!(verify(repo.path(), &["--cache", "cache"]), expected);
    // A file naming another commit under this one's name is not trusted either.
    std::fs::write(commit_file(&repo), &marked).unwrap();
    assert_eq!(verify(repo.path(), &["--cache", "cache"]), expected);
}

#[test]
fn reports_are_kept_by_commit_only_when_every_revision_is_a_commit_id() {
    // An abbreviated `at` could name another commit once more objects exist, and WORKTREE has
    // no commit: neither is kept by commit.
    let mut repo = revisions_repo();
    let rev1 = repo
        .repo
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
        .to_string();
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    let anchors = std::fs::read_to_string(testdata("revisions/anchors.yaml"))
        .unwrap()
        .replace(
            "lines: 26-28\n",
            &format!("lines: 26-28\n        at: {}\n", &rev1[..12]),
        );
    repo.write("anchors.yaml", &anchors);
    for rev in ["HEAD", "WORKTREE"] {
        let run = verify(repo.path(), &["--cache", "cache", "--rev", rev]);
        assert_eq!(run.0, 1, "{}", run.1);
    }
    let kept: Vec<String> = std::fs::read_dir(repo.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("commit-"))
        .collect();
    assert!(kept.is_empty(), "{kept:?}");
}

#[test]
fn a_changed_blob_misses_the_cache_and_fails() {
    let mut repo = revisions_repo();
    verify(repo.path(), &["--cache", "cache"]);
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    let uncached = verify(repo.path(), &[]);
    assert_eq!(uncached.0, 1);
    assert_eq!(verify(repo.path(), &["--cache", "cache"]), uncached);
}

#[test]
fn corrupt_cache_files_are_ignored_and_rewritten() {
    let repo = revisions_repo();
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
    let mut repo = revisions_repo();
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

fn verify_keyed(dir: &Path, key: &str) -> (i32, String) {
    verify_env(
        dir,
        &[("ANCHORCHECK_CACHE_KEY", key)],
        &["--cache", "cache"],
    )
}

/// Issue 17: a good entry copied under a broken blob's id made the broken claim `verified`.
/// With a key, every file is signed, and unsigned, re-signed or edited files are ignored.
#[test]
fn with_a_key_only_files_signed_with_it_are_trusted() {
    let mut repo = revisions_repo();
    let key = "s3cret";
    let expected_rev1 = verify(repo.path(), &[]);
    assert_eq!(verify_keyed(repo.path(), key), expected_rev1);
    let good_blob = blob_id(&repo, "cmd/server.go");
    let signed = std::fs::read_to_string(cache_file(&repo, &good_blob)).unwrap();
    let (signature, body) = signed.split_once('\n').unwrap();
    assert!(
        signature.starts_with("anchorcheck-hmac-sha256 "),
        "{signature}"
    );
    assert_eq!(
        verify_keyed(repo.path(), key),
        expected_rev1,
        "a warm keyed run"
    );
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    let expected = verify(repo.path(), &[]);
    assert_eq!(expected.0, 1);
    let bad_blob = blob_id(&repo, "cmd/server.go");
    let forged_file = cache_file(&repo, &bad_blob);
    let forged_body = body.replace(&good_blob, &bad_blob);
    // Without a key the forgery is believed: that is the trust model the key closes.
    std::fs::write(&forged_file, &forged_body).unwrap();
    assert_eq!(verify(repo.path(), &["--cache", "cache"]).0, 0);
    let forgeries = [
        // Unsigned.
        forged_body.clone(),
        // The good file's signature on the edited body.
        format!("{signature}\n{forged_body}"),
        // Signed, but with another key.
        { format!("anchorcheck-hmac-sha256 {}\n{forged_body}", "00".repeat(32)) },
    ];
    for forged in forgeries {
        std::fs::write(&forged_file, &forged).unwrap();
        assert_eq!(verify_keyed(repo.path(), key), expected, "{forged}");
        // Rewritten, signed, with what this run found.
        let rewritten = std::fs::read_to_string(&forged_file).unwrap();
        assert!(rewritten.starts_with("anchorcheck-hmac-sha256 "));
    }
}

#[cfg(unix)]
#[test]
fn cache_files_are_read_capped_and_never_through_links() {
    let repo = revisions_repo();
    let expected = verify(repo.path(), &[]);
    verify(repo.path(), &["--cache", "cache"]);
    let file = cache_file(&repo, &blob_id(&repo, "cmd/server.go"));
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &file).unwrap();
    let out = anchorcheck(repo.path())
        .args(["verify", "--format", "json", "--cache", "cache"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap()
        ),
        expected
    );
}

/// `body` signed as anchorcheck signs a cache file under `key`.
fn sign(key: &str, body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let tag: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("anchorcheck-hmac-sha256 {tag}\n{body}")
}

/// The body of a signed cache file.
fn body_of(signed: &str) -> String {
    let (signature, body) = signed.split_once('\n').unwrap();
    assert!(
        signature.starts_with("anchorcheck-hmac-sha256 "),
        "{signed}"
    );
    body.to_string()
}

fn remove_commit_files(repo: &TestRepo) {
    for entry in std::fs::read_dir(repo.path().join("cache")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("commit-") {
            std::fs::remove_file(path).unwrap();
        }
    }
}

/// Each way a cache file can be not ours, as the bytes to write for `body` (which anchorcheck
/// would believe if signed with `key`): unsigned, signed with another key, a tag of the right
/// shape that is no signature, signed but for another tool version or format, and truncated.
fn forgeries(key: &str, body: &str) -> Vec<(&'static str, String)> {
    let mut file: serde_json::Value = serde_json::from_str(body).unwrap();
    let tool = file["tool"].as_str().unwrap().to_string();
    assert_eq!(tool, format!("anchorcheck {}", env!("CARGO_PKG_VERSION")));
    file["tool"] = "anchorcheck 0.0.0".into();
    let old_tool = file.to_string();
    file["tool"] = tool.into();
    file["format"] = (file["format"].as_u64().unwrap() + 1).into();
    let new_format = file.to_string();
    let signed = sign(key, body);
    vec![
        ("unsigned", body.to_string()),
        ("signed with another key", sign("another key", body)),
        (
            "a tag that signs nothing",
            format!("anchorcheck-hmac-sha256 {}\n{body}", "00".repeat(32)),
        ),
        ("another tool version", sign(key, &old_tool)),
        ("another format", sign(key, &new_format)),
        ("truncated", signed[..signed.len() - 10].to_string()),
    ]
}

/// Issue 20: with no commit-level file to answer first, each forged blob-level file is read,
/// ignored and rewritten, and the broken claim stays broken.
#[test]
fn forged_blob_files_alone_are_ignored_and_rewritten() {
    let mut repo = revisions_repo();
    let key = "s3cret";
    verify_keyed(repo.path(), key);
    let good_blob = blob_id(&repo, "cmd/server.go");
    let good = body_of(&std::fs::read_to_string(cache_file(&repo, &good_blob)).unwrap());
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    let expected = verify(repo.path(), &[]);
    assert_eq!(expected.0, 1);
    let bad_blob = blob_id(&repo, "cmd/server.go");
    let forged_file = cache_file(&repo, &bad_blob);
    let forged = good.replace(&good_blob, &bad_blob);
    // The file is read: signed with the key, the forgery is believed.
    remove_commit_files(&repo);
    std::fs::write(&forged_file, sign(key, &forged)).unwrap();
    assert_eq!(
        verify_keyed(repo.path(), key).0,
        0,
        "the forged file is not read"
    );
    let mut cases = forgeries(key, &forged);
    // The good file, signed, under the broken blob's name: another object.
    cases.push(("another object", sign(key, &good)));
    for (why, bytes) in cases {
        remove_commit_files(&repo);
        std::fs::write(&forged_file, &bytes).unwrap();
        assert_eq!(verify_keyed(repo.path(), key), expected, "{why}");
        let rewritten = std::fs::read_to_string(&forged_file).unwrap();
        assert_eq!(
            rewritten,
            sign(key, &body_of(&rewritten)),
            "{why}: not re-signed"
        );
        let stored: serde_json::Value = serde_json::from_str(&body_of(&rewritten)).unwrap();
        assert_eq!(stored["object"], bad_blob.as_str(), "{why}");
        assert_eq!(stored["entries"].as_array().unwrap().len(), 2, "{why}");
    }
    // Without a key, another tool version or format is still not believed.
    for (why, bytes) in forgeries(key, &forged) {
        if why == "another tool version" || why == "another format" {
            remove_commit_files(&repo);
            std::fs::write(&forged_file, body_of(&bytes)).unwrap();
            assert_eq!(
                verify(repo.path(), &["--cache", "cache"]),
                expected,
                "{why}"
            );
        }
    }
}

/// Issue 20: a forged commit-level file, the whole report of a broken ref turned `verified`, is
/// read, ignored and rewritten in every form that is not ours.
#[test]
fn forged_commit_files_alone_are_ignored_and_rewritten() {
    let mut repo = revisions_repo();
    let key = "s3cret";
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    let expected = verify(repo.path(), &[]);
    assert_eq!(expected.0, 1);
    assert_eq!(verify_keyed(repo.path(), key), expected);
    let file = commit_file(&repo);
    let genuine = body_of(&std::fs::read_to_string(&file).unwrap());
    assert!(genuine.contains("\"verdict\":\"Broken\""), "{genuine}");
    let forged = genuine.replace("\"verdict\":\"Broken\"", "\"verdict\":\"Verified\"");
    let verdict = |run: &(i32, String)| -> String {
        let report: serde_json::Value = serde_json::from_str(&run.1).unwrap();
        crate::common::claim_ref(&report, "mtls-fail-closed")["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The file is read: signed with the key, the forgery is believed.
    std::fs::write(&file, sign(key, &forged)).unwrap();
    assert_eq!(verdict(&verify_keyed(repo.path(), key)), "verified");
    let mut cases = forgeries(key, &forged);
    // Another commit's file under this commit's name.
    let head = repo.repo.head().unwrap().peel_to_commit().unwrap().id();
    let parent = repo.repo.find_commit(head).unwrap().parent_id(0).unwrap();
    let elsewhere = forged.replace(&head.to_string(), &parent.to_string());
    cases.push(("another object", sign(key, &elsewhere)));
    for (why, bytes) in cases {
        std::fs::write(&file, &bytes).unwrap();
        let run = verify_keyed(repo.path(), key);
        assert_eq!(verdict(&run), "broken", "{why}");
        assert_eq!(run, expected, "{why}");
        let rewritten = std::fs::read_to_string(&file).unwrap();
        assert_eq!(body_of(&rewritten), genuine, "{why}: not rewritten");
        assert_eq!(rewritten, sign(key, &genuine), "{why}: not re-signed");
    }
    for (why, bytes) in forgeries(key, &forged) {
        if why == "another tool version" || why == "another format" {
            std::fs::write(&file, body_of(&bytes)).unwrap();
            let run = verify(repo.path(), &["--cache", "cache"]);
            assert_eq!(run, expected, "{why}");
        }
    }
}

/// A cache file that is a link to a file anchorcheck would believe is not followed.
#[cfg(unix)]
#[test]
fn a_forged_cache_file_behind_a_link_is_not_followed() {
    let mut repo = revisions_repo();
    let key = "s3cret";
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    let expected = verify_keyed(repo.path(), key);
    assert_eq!(expected.0, 1);
    let file = commit_file(&repo);
    let genuine = body_of(&std::fs::read_to_string(&file).unwrap());
    let forged = genuine.replace("\"verdict\":\"Broken\"", "\"verdict\":\"Verified\"");
    let target = repo.path().join("believable.json");
    std::fs::write(&target, sign(key, &forged)).unwrap();
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&target, &file).unwrap();
    assert_eq!(verify_keyed(repo.path(), key), expected);
    // Replaced by a file of its own, not written through the link.
    assert!(!std::fs::symlink_metadata(&file).unwrap().is_symlink());
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        sign(key, &forged)
    );
}
