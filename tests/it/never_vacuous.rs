//! A run never passes having checked nothing: no refs, a missing docs page, a glob that matches
//! nothing and an unknown --claim each fail, and the summary says how much was checked.

use crate::common::{TestRepo, anchorcheck, verify_json};

const GUARD: &str =
    "package a\n\nfunc start() {\n\tif !mtls {\n\t\tlog.Fatal(\"mtls required\")\n\t}\n}\n";

fn repo_with(anchors: &str) -> TestRepo {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.commit_all("guard");
    repo.write("anchors.yaml", anchors);
    repo
}

const ONE_REF: &str = "version: 1\nclaims:\n  - id: guard\n    status: required\n    refs:\n      - path: a.go\n        lines: 4-6\n        expect:\n          - call: log.Fatal\n  - id: later\n    status: planned\n";

#[test]
fn a_run_with_no_refs_is_unusable() {
    let repo = repo_with("version: 1\nclaims:\n  - id: later\n    status: planned\n");
    let out = anchorcheck(repo.path()).arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing to verify"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "no report that could be read as a pass"
    );
}

#[test]
fn selecting_only_claims_without_refs_is_unusable() {
    let repo = repo_with(ONE_REF);
    let out = anchorcheck(repo.path())
        .args(["verify", "--claim", "later"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to verify"));
}

#[test]
fn an_unknown_claim_filter_is_unusable() {
    let repo = repo_with(ONE_REF);
    let out = anchorcheck(repo.path())
        .args(["verify", "--claim", "gaurd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean `guard`"), "{stderr}");
}

#[test]
fn a_missing_docs_page_fails_even_when_claims_are_filtered() {
    let anchors = ONE_REF.replace("claims:", "docs:\n  - docs/missing.md\nclaims:");
    let repo = repo_with(&anchors);
    for args in [&[][..], &["--claim", "guard"][..]] {
        let (code, json) = verify_json(repo.path(), args);
        assert_eq!(code, 1, "{args:?}: {json}");
        let docs = json["docs"].to_string();
        assert!(docs.contains("docs page cannot be read"), "{docs}");
    }
}

#[test]
fn a_docs_glob_is_not_expanded_so_it_fails_as_a_missing_page() {
    let anchors = ONE_REF.replace("claims:", "docs:\n  - docs/*.md\nclaims:");
    let repo = repo_with(&anchors);
    repo.write("docs/page.md", "see a.go:4-6\n");
    let (code, json) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1, "{json}");
    assert!(json["docs"].to_string().contains("docs/*.md"));
}

#[test]
fn a_call_glob_matching_nothing_is_broken() {
    let anchors = ONE_REF.replace("call: log.Fatal", "call: \"os.Exit*\"");
    let repo = repo_with(&anchors);
    let (code, json) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(json["claims"][0]["refs"][0]["verdict"], "broken");
}

#[test]
fn the_summary_line_counts_what_was_checked() {
    let repo = repo_with(ONE_REF);
    let out = anchorcheck(repo.path()).arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("2 claims: "))
        .unwrap_or_default();
    assert!(summary.contains("(1 refs checked)"), "{stdout}");
}

const NO_AT_NOTICE: &str = "1 ref has no `at`: `anchorcheck fix` records where it was verified, so later drift is followed through history";

#[test]
fn refs_without_at_get_a_closing_notice_until_fix_pins_them() {
    let repo = repo_with(ONE_REF);
    let verify = || {
        let out = anchorcheck(repo.path()).arg("verify").output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let stdout = verify();
    assert_eq!(stdout.lines().last(), Some(NO_AT_NOTICE), "{stdout}");
    let (_, json) = verify_json(repo.path(), &[]);
    assert_eq!(json["refs_without_at"], 1);

    // The working tree has no commit to pin, so the notice would point at nothing to do.
    let out = anchorcheck(repo.path())
        .args(["verify", "--rev", "WORKTREE"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("has no `at`"));

    let fixed = anchorcheck(repo.path()).arg("fix").output().unwrap();
    assert_eq!(fixed.status.code(), Some(0), "{fixed:?}");
    let stdout = verify();
    assert!(!stdout.contains("has no `at`"), "{stdout}");
    assert!(stdout.lines().last().unwrap().starts_with("2 claims: "));
}
