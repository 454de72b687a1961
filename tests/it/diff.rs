//! `diff --base`: the PR check relocates every ref from the base and names touched claims.

use crate::common::{TestRepo, anchorcheck, claim_ref, reword_guard, testdata};
use predicates::prelude::*;
use predicates::str::contains;

/// The drift fixture's commits, with anchors.yaml citing rev1's lines and no `at` at all:
/// `diff` must follow refs from its base without one.
fn repo_without_at(upto: usize) -> (TestRepo, Vec<git2::Oid>) {
    let mut repo = TestRepo::new();
    let mut commits = Vec::new();
    for i in 1..=upto {
        repo.replace_tree(&testdata(&format!("drift/rev{i}")), "");
        commits.push(repo.commit_all(&format!("revision {i}")));
    }
    let anchors: String = std::fs::read_to_string(testdata("drift/anchors.yaml"))
        .unwrap()
        .lines()
        .filter(|l| l.trim() != "at: AT")
        .map(|l| l.replace(", at: AT", "") + "\n")
        .collect();
    repo.write("anchors.yaml", anchors);
    (repo, commits)
}

fn diff_json(repo: &TestRepo, args: &[&str]) -> (i32, serde_json::Value) {
    let out = anchorcheck(repo.path())
        .arg("diff")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), report)
}

#[test]
fn shifted_lines_drift_from_the_base_without_at() {
    let (repo, commits) = repo_without_at(2);
    let base = commits[0].to_string();
    let (code, report) = diff_json(&repo, &["--base", &base]);
    assert_eq!(code, 1);
    let routes = claim_ref(&report, "agent-routes");
    assert_eq!(routes["verdict"], "drifted", "{routes:#}");
    assert_eq!(routes["relocated"]["how"], "history");
    assert_eq!(routes["relocated"]["lines"], "9-12");
    assert!(
        routes["touched"].is_null(),
        "a pure shift does not touch the cited lines"
    );
    assert!(claim_ref(&report, "mtls-guard")["touched"].is_null());
    assert_eq!(
        report["fix_command"],
        format!("anchorcheck fix --base {base} --rev HEAD")
    );
}

#[test]
fn edits_inside_a_cited_range_are_reported_even_when_it_still_verifies() {
    let (mut repo, commits) = repo_without_at(1);
    reword_guard(&mut repo);
    let (code, report) = diff_json(&repo, &["--base", &commits[0].to_string()]);
    assert_eq!(code, 0, "{report:#}");
    let guard = claim_ref(&report, "mtls-guard");
    assert_eq!(guard["verdict"], "verified");
    let touched = guard["touched"].as_str().unwrap();
    // Only the line that changed is named, not the whole cited range.
    assert!(touched.starts_with("line 15 modified in "), "{touched}");
    assert!(touched.ends_with("'reword the mTLS error'"), "{touched}");

    anchorcheck(repo.path())
        .args(["diff", "--base", &commits[0].to_string()])
        .assert()
        .code(0)
        .stdout(contains(
            "touched   mtls-guard: pkg/agent/guard.go:14-16 (line 15 modified in ",
        ));
}

#[test]
fn rename_and_fail_open_change_in_one_pr() {
    let (repo, commits) = repo_without_at(3);
    let base = commits[1].to_string();
    // rev2's lines are 9-12 for the routes.
    let anchors = std::fs::read_to_string(repo.path().join("anchors.yaml"))
        .unwrap()
        .replace("lines: \"6-9\"", "lines: \"9-12\"");
    repo.write("anchors.yaml", anchors);
    let (code, report) = diff_json(&repo, &["--base", &base]);
    assert_eq!(code, 1);
    let routes = claim_ref(&report, "agent-routes");
    assert_eq!(routes["relocated"]["path"], "pkg/agent/mtls_routes.go");
    assert!(
        routes["touched"]
            .as_str()
            .unwrap()
            .contains("renamed to pkg/agent/mtls_routes.go")
    );
    let guard = claim_ref(&report, "mtls-guard");
    assert_eq!(guard["verdict"], "broken");
    assert!(
        guard["touched"].as_str().unwrap().contains("modified in"),
        "{guard:#}"
    );
    assert_eq!(guard["culprit"]["short"], &commits[2].to_string()[..7]);
}

#[test]
fn fix_with_the_same_base_makes_the_check_pass() {
    let (repo, commits) = repo_without_at(2);
    let base = commits[0].to_string();
    anchorcheck(repo.path())
        .args(["diff", "--base", &base])
        .assert()
        .code(1)
        .stdout(contains(format!(
            "to fix the drift: anchorcheck fix --base {base} --rev HEAD"
        )));
    anchorcheck(repo.path())
        .args(["fix", "--base", &base, "--rev", "HEAD"])
        .assert()
        .code(0)
        .stdout(contains(
            "fixed agent-routes: pkg/agent/routes.go:6-9 -> pkg/agent/routes.go:9-12",
        ));
    anchorcheck(repo.path())
        .arg("verify")
        .assert()
        .code(0)
        .stdout(contains("2 claims: 2 verified").and(contains("to fix").not()));
}

#[test]
fn unknown_base_is_exit_2() {
    let (repo, _) = repo_without_at(1);
    anchorcheck(repo.path())
        .args(["diff", "--base", "origin/nope"])
        .assert()
        .code(2)
        .stderr(contains("unknown revision `origin/nope`"));
}

#[test]
fn a_ref_whose_file_did_not_exist_at_the_base_is_checked_where_cited_and_says_so() {
    // Issue 24, item 3: the pull request adds the cited file (and then edits it above the
    // cited function): there is nothing at the base to follow it from.
    let mut repo = TestRepo::new();
    repo.write("a.go", "package a\n");
    let base = repo.commit_all("base");
    let guard = "package a\n\nimport \"errors\"\n\nfunc check(mtls bool) error {\n\tif !mtls {\n\t\treturn errors.New(\"mtls required\")\n\t}\n\treturn nil\n}\n";
    repo.write("b.go", guard);
    repo.commit_all("add b.go");
    repo.write(
        "b.go",
        guard.replace(
            "func check",
            "// check refuses plain connections.\nfunc check",
        ),
    );
    repo.commit_all("document check");
    repo.write(
        "anchors.yaml",
        "version: 1\nclaims:\n  - id: mtls\n    status: required\n    refs:\n      - path: b.go\n        lines: 7-9\n        expect:\n          - fail_closed: { when: mtls }\n",
    );
    let (code, report) = diff_json(&repo, &["--base", &base.to_string()]);
    let r = claim_ref(&report, "mtls");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(r["verdict"], "verified", "{r:#}");
    let note = format!(
        "b.go did not exist at the base {}: checked where it is cited",
        &base.to_string()[..7]
    );
    assert_eq!(r["notes"], serde_json::json!([note]), "{r:#}");
}
