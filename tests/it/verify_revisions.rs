//! `verify` against repositories built in temp dirs: revisions, worktrees, bare repos, errors.

use crate::common::{TestRepo, anchorcheck, claim, testdata, verify_json};
use git2::Oid;
use predicates::prelude::*;
use predicates::str::contains;

/// A repo whose first commit holds the fail-closed server and whose second makes it fail-open.
fn two_commit_repo() -> (TestRepo, Oid, Oid) {
    let mut repo = TestRepo::new();
    repo.write(
        "anchors.yaml",
        std::fs::read(testdata("revisions/anchors.yaml")).unwrap(),
    );
    repo.copy_tree(&testdata("revisions/rev1"), "");
    let good = repo.commit_all("add the agent server");
    repo.tag("v1", good);
    repo.branch("release", good);
    repo.remote_ref("origin/main", good);
    repo.copy_tree(&testdata("revisions/rev2"), "");
    let bad = repo.commit_all("let the server start without a CA");
    (repo, good, bad)
}

#[test]
fn fail_open_change_is_broken_at_head() {
    let (repo, _, bad) = two_commit_repo();
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(report["commit"], bad.to_string());
    let mtls = claim(&report, "mtls-fail-closed");
    assert_eq!(mtls["verdict"], "broken");
    let expectation = &mtls["refs"][0]["expectations"][0];
    assert_eq!(expectation["kind"], "fail_closed");
    assert_eq!(expectation["ok"], false);
    let message = expectation["message"].as_str().unwrap();
    assert!(message.contains("fail-open"), "{message}");
    assert!(
        message.contains("26") || message.contains("27"),
        "{message}"
    );
    assert_eq!(claim(&report, "agent-routes")["verdict"], "verified");
    assert_eq!(report["summary"]["broken"], 1);
    assert_eq!(report["summary"]["verified"], 1);
}

#[test]
fn every_revision_spelling_resolves_to_the_good_commit() {
    let (repo, good, _) = two_commit_repo();
    let full = good.to_string();
    let short = &full[..7];
    for rev in [
        "v1",
        "release",
        "HEAD~1",
        "HEAD^",
        short,
        full.as_str(),
        "origin/main",
    ] {
        let (code, report) = verify_json(repo.path(), &["--rev", rev]);
        assert_eq!(code, 0, "{rev}: {report}");
        assert_eq!(report["rev"], rev);
        assert_eq!(report["commit"], full, "{rev}");
    }
}

#[test]
fn rev_in_anchors_yaml_is_used_and_the_flag_wins() {
    let (repo, good, _) = two_commit_repo();
    let anchors = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    repo.write(
        "anchors.yaml",
        anchors.replace("version: 1\n", "version: 1\nrev: v1\n"),
    );
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(
        (code, report["commit"].as_str()),
        (0, Some(good.to_string().as_str()))
    );
    let (code, _) = verify_json(repo.path(), &["--rev", "HEAD"]);
    assert_eq!(code, 1);
}

#[test]
fn worktree_sees_uncommitted_and_untracked_files() {
    let (repo, _, _) = two_commit_repo();
    // Undo the fail-open edit without committing: HEAD is still broken, the work tree is not.
    repo.copy_tree(&testdata("revisions/rev1"), "");
    let (code, _) = verify_json(repo.path(), &["--rev", "HEAD"]);
    assert_eq!(code, 1);
    let (code, report) = verify_json(repo.path(), &["--rev", "WORKTREE"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["rev"], "WORKTREE");

    // An untracked file is read too.
    repo.write(
        "cmd/extra.go",
        "package main\n\nfunc extra() { panic(\"no\") }\n",
    );
    let anchors = "version: 1\nclaims:\n  - id: extra\n    status: implemented\n    refs:\n      - path: cmd/extra.go\n        lines: 3\n        expect: [{call: panic}]\n";
    repo.write("extra.yaml", anchors);
    let (code, report) = verify_json(
        repo.path(),
        &["--anchors", "extra.yaml", "--rev", "WORKTREE"],
    );
    assert_eq!(code, 0, "{report}");
    let (code, report) = verify_json(repo.path(), &["--anchors", "extra.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(claim(&report, "extra")["refs"][0]["verdict"], "error");
}

#[test]
fn unknown_revision_is_exit_2_naming_it() {
    let (repo, _, _) = two_commit_repo();
    anchorcheck(repo.path())
        .args(["verify", "--rev", "no-such-branch"])
        .assert()
        .code(2)
        .stderr(contains("unknown revision `no-such-branch`"))
        .stdout("");
}

#[test]
fn not_a_repository_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        testdata("revisions/anchors.yaml"),
        dir.path().join("anchors.yaml"),
    )
    .unwrap();
    anchorcheck(dir.path())
        .arg("verify")
        .assert()
        .code(2)
        .stderr(contains("not a git repository"));
}

#[test]
fn missing_file_and_binary_file_are_errors_a_range_past_the_end_is_searched() {
    let (repo, _, _) = two_commit_repo();
    repo.write("README.txt", "not go\n");
    let anchors = r#"version: 1
claims:
  - id: gone
    status: required
    refs:
      - path: cmd/deleted.go
        lines: 1-3
        expect: [{call: f}]
      - path: cmd/server.go
        lines: 50-80
        expect: [{call: f}]
      - path: cmd/blob.go
        lines: 1
        expect: [{call: f}]
      - path: cmd
        lines: 1
        expect: [{call: f}]
      - path: README.txt
        lines: 1
        expect: [{text: not}]
      - path: cmd/servr.go
        lines: 1
        expect: [{call: f}]
"#;
    repo.write("errors.yaml", anchors);
    let (code, report) = verify_json(
        repo.path(),
        &["--anchors", "errors.yaml", "--rev", "WORKTREE"],
    );
    assert_eq!(code, 1);
    let mut refs = claim(&report, "gone")["refs"].as_array().unwrap().clone();
    // Issue 12: a range past the end of an existing Go file was read and is searched like any
    // failing range: broken here (nothing calls f), saying how long the file is now.
    let past_end = refs.remove(1);
    assert_eq!(past_end["verdict"], "broken", "{past_end}");
    assert_eq!(
        past_end["expectations"][0]["message"],
        "lines 50-80 are past the end: the file now has 52 lines"
    );
    let errors: Vec<&str> = refs.iter().map(|r| r["error"].as_str().unwrap()).collect();
    assert!(refs.iter().all(|r| r["verdict"] == "error"), "{refs:?}");
    assert!(errors[0].contains("not found"), "{errors:?}");
    assert!(errors[1].contains("binary"), "{errors:?}");
    assert!(errors[2].contains("directory"), "{errors:?}");
    assert!(errors[3].contains("not Go"), "{errors:?}");
    // Issue 12: a path typo names the nearest existing paths.
    assert_eq!(
        errors[4],
        "file not found at this revision; did you mean `cmd/server.go`?"
    );
    assert_eq!(report["summary"]["error"], 1);
}

#[test]
fn oversized_file_is_an_error_not_a_parse() {
    let mut repo = TestRepo::new();
    let mut big = String::from("package big\n\n");
    while big.len() <= anchorcheck::source::MAX_FILE_BYTES {
        big.push_str("var generatedTableEntry = \"0123456789abcdef0123456789abcdef\"\n");
    }
    repo.write("big.go", big);
    repo.write(
        "anchors.yaml",
        "version: 1\nclaims:\n  - id: big\n    status: implemented\n    refs:\n      - path: big.go\n        lines: 3\n        expect: [{identifier: generatedTableEntry}]\n",
    );
    repo.commit_all("add generated table");
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let error = report["claims"][0]["refs"][0]["error"].as_str().unwrap();
    assert!(error.contains("too large"), "{error}");
}

#[test]
fn bare_repository_is_read_from_the_object_database() {
    let (repo, _, bad) = two_commit_repo();
    let bare_dir = tempfile::tempdir().unwrap();
    let bare = git2::build::RepoBuilder::new()
        .bare(true)
        .clone(
            repo.path().to_str().unwrap(),
            &bare_dir.path().join("server.git"),
        )
        .unwrap();
    assert!(bare.is_bare());
    let anchors = repo.path().join("anchors.yaml");
    let bare_path = bare_dir.path().join("server.git");
    let args = [
        "--anchors",
        anchors.to_str().unwrap(),
        "--repo",
        bare_path.to_str().unwrap(),
    ];
    let (code, report) = verify_json(bare_dir.path(), &args);
    assert_eq!(code, 1);
    assert_eq!(report["commit"], bad.to_string());
    assert_eq!(claim(&report, "mtls-fail-closed")["verdict"], "broken");
    let (code, _) = verify_json(bare_dir.path(), &[&args[..], &["--rev", "v1"]].concat());
    assert_eq!(code, 0);
    anchorcheck(bare_dir.path())
        .arg("verify")
        .args(args)
        .args(["--rev", "WORKTREE"])
        .assert()
        .code(2)
        .stderr(contains("bare"));
}

#[test]
fn linked_worktree_verifies_its_own_checkout() {
    let (repo, good, _) = two_commit_repo();
    let wt_parent = tempfile::tempdir().unwrap();
    let wt_path = wt_parent.path().join("linked");
    let reference = repo.repo.find_reference("refs/heads/release").unwrap();
    let mut options = git2::WorktreeAddOptions::new();
    options.reference(Some(&reference));
    repo.repo
        .worktree("linked", &wt_path, Some(&options))
        .unwrap();
    let (code, report) = verify_json(&wt_path, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["commit"], good.to_string());
    let (code, _) = verify_json(&wt_path, &["--rev", "WORKTREE"]);
    assert_eq!(code, 0);
}

#[test]
fn claim_filter_selects_and_unknown_claim_is_exit_2() {
    let (repo, _, _) = two_commit_repo();
    let (code, report) = verify_json(repo.path(), &["--claim", "agent-routes"]);
    assert_eq!(code, 0);
    assert_eq!(report["claims"].as_array().unwrap().len(), 1);
    anchorcheck(repo.path())
        .args(["verify", "--claim", "agent-route"])
        .assert()
        .code(2)
        .stderr(
            contains("no claim with id `agent-route`")
                .and(contains("did you mean `agent-routes`?")),
        );
}

#[test]
fn config_error_is_exit_2_with_position_and_nothing_on_stdout() {
    let (repo, _, _) = two_commit_repo();
    repo.write(
        "bad.yaml",
        "version: 1\nclaims:\n  - id: x\n    status: required\n    refz: []\n",
    );
    anchorcheck(repo.path())
        .args(["verify", "--anchors", "bad.yaml"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains(
            "bad.yaml:5:5: unknown key `refz` in a claim; did you mean `refs`?",
        ));
}

#[test]
fn anchors_yaml_is_found_in_a_parent_directory() {
    let (repo, _, _) = two_commit_repo();
    let (code, report) = verify_json(&repo.path().join("cmd"), &["--rev", "v1"]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn text_output_shows_the_failing_line_and_summary() {
    let (repo, _, _) = two_commit_repo();
    anchorcheck(repo.path())
        .arg("verify")
        .assert()
        .code(1)
        .stdout(
            contains("broken    mtls-fail-closed")
                .and(contains("verified  agent-routes"))
                .and(contains("cmd/server.go"))
                .and(contains("log.Printf"))
                .and(contains(
                    "2 claims: 1 verified, 0 drifted, 0 ambiguous, 1 broken, 0 errors",
                )),
        );
}
