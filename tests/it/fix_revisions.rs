//! `fix` and revisions: docs links pinned to a tag or commit keep naming the code they name,
//! a pinned `rev:` follows `fix --rev`, and a docs citation a line off names the near ref
//! (issue 13, items 4-6).

use crate::common::{TestRepo, anchorcheck, verify_json};
use predicates::prelude::*;
use predicates::str::contains;

const SERVER: &str = "package server\n\nimport \"errors\"\n\ntype config struct{ requireMTLS bool; caFile string }\n\n// check refuses to start without a CA when mTLS is required.\nfunc check(cfg config) error {\n\tif cfg.requireMTLS && cfg.caFile == \"\" {\n\t\treturn errors.New(\"mtls required but no CA\")\n\t}\n\treturn nil\n}\n";

/// SERVER with three lines inserted above `check`: its guard moves from 9-11 to 12-14.
fn shifted() -> String {
    SERVER.replace(
        "// check refuses",
        "// defaults.\nvar defaultCA = \"\"\n\n// check refuses",
    )
}

fn anchors(extra: &str) -> String {
    format!(
        "version: 1\n{extra}docs:\n  - docs/page.md\nclaims:\n  - id: mtls-guard\n    status: required\n    refs:\n      - path: server.go\n        lines: 9-11\n        expect:\n          - fail_closed: {{ when: \"(?i)mtls\" }}\n"
    )
}

/// v1.0.0 holds the guard at 9-11, v2.0.0 (HEAD) at 12-14.
fn tagged_repo() -> (TestRepo, git2::Oid, git2::Oid) {
    let mut repo = TestRepo::new();
    repo.write("server.go", SERVER);
    let v1 = repo.commit_all("add the guard");
    repo.tag("v1.0.0", v1);
    repo.write("server.go", shifted());
    let v2 = repo.commit_all("add defaults");
    repo.tag("v2.0.0", v2);
    (repo, v1, v2)
}

fn page(v1: git2::Oid) -> String {
    format!(
        "# Security\n\n- tag: [guard](https://github.com/o/r/blob/v1.0.0/server.go#L9-L11)\n- commit: [guard](https://github.com/o/r/blob/{v1}/server.go#L9-L11)\n- branch: [guard](https://github.com/o/r/blob/main/server.go#L9-L11)\n- plain: `server.go:9-11`\n"
    )
}

/// The tagged repository with anchors.yaml (`extra` top-level lines) and the docs page.
fn documented_repo(extra: &str) -> (TestRepo, git2::Oid, git2::Oid) {
    let (repo, v1, v2) = tagged_repo();
    repo.write("anchors.yaml", anchors(extra));
    repo.write("docs/page.md", page(v1));
    (repo, v1, v2)
}

#[test]
fn fix_pins_links_pinned_to_a_tag_or_commit_to_the_verified_commit() {
    let (repo, _, v2) = documented_repo("");
    anchorcheck(repo.path()).arg("fix").assert().code(0);
    let fixed = std::fs::read_to_string(repo.path().join("docs/page.md")).unwrap();
    let expected = format!(
        "# Security\n\n- tag: [guard](https://github.com/o/r/blob/{v2}/server.go#L12-L14)\n- commit: [guard](https://github.com/o/r/blob/{v2}/server.go#L12-L14)\n- branch: [guard](https://github.com/o/r/blob/main/server.go#L12-L14)\n- plain: `server.go:12-14`\n"
    );
    assert_eq!(fixed, expected);
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn keep_pinned_leaves_pinned_links_alone_and_lists_them() {
    let (repo, v1, _) = documented_repo("");
    anchorcheck(repo.path())
        .args(["fix", "--keep-pinned"])
        .assert()
        .code(0)
        .stdout(
            contains("kept pinned docs/page.md:3:24: the link names v1.0.0, its ref now cites server.go:12-14 (--keep-pinned)")
                .and(contains(format!("kept pinned docs/page.md:4:27: the link names {v1}"))),
        );
    let fixed = std::fs::read_to_string(repo.path().join("docs/page.md")).unwrap();
    assert!(fixed.contains("blob/v1.0.0/server.go#L9-L11"), "{fixed}");
    assert!(
        fixed.contains(&format!("blob/{v1}/server.go#L9-L11")),
        "{fixed}"
    );
    assert!(fixed.contains("blob/main/server.go#L12-L14"), "{fixed}");
    assert!(fixed.contains("`server.go:12-14`"), "{fixed}");
}

#[test]
fn a_renamed_file_in_a_pinned_link_gets_its_new_path_and_the_commit_together() {
    let mut repo = TestRepo::new();
    repo.write("server.go", SERVER);
    let v1 = repo.commit_all("add the guard");
    repo.tag("v1.0.0", v1);
    std::fs::remove_file(repo.path().join("server.go")).unwrap();
    repo.write("internal/server.go", shifted());
    let head = repo.commit_all("move the server");
    repo.write("anchors.yaml", anchors(""));
    repo.write(
        "docs/page.md",
        "[guard](https://github.com/o/r/blob/v1.0.0/server.go#L9-L11)\n",
    );
    anchorcheck(repo.path()).arg("fix").assert().code(0);
    let fixed = std::fs::read_to_string(repo.path().join("docs/page.md")).unwrap();
    assert_eq!(
        fixed,
        format!("[guard](https://github.com/o/r/blob/{head}/internal/server.go#L12-L14)\n")
    );
}

#[test]
fn fix_at_another_revision_updates_a_pinned_rev_in_the_same_write() {
    let (repo, _, _) = documented_repo("rev: v1.0.0   # the release the page documents\n");
    // Pinned at v1.0.0, everything verifies.
    let (code, _) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0);
    anchorcheck(repo.path())
        .args(["fix", "--rev", "v2.0.0"])
        .assert()
        .code(0)
        .stdout(contains("set rev: v1.0.0 -> v2.0.0"));
    let fixed = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    assert!(
        fixed.contains("rev: v2.0.0   # the release the page documents\n"),
        "{fixed}"
    );
    // A plain verify right after checks v2.0.0, where the lines fix wrote hold.
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["rev"], "v2.0.0");
}

#[test]
fn fix_at_a_moving_revision_pins_rev_to_its_commit() {
    let (repo, _, v2) = documented_repo("rev: v1.0.0\n");
    anchorcheck(repo.path())
        .args(["fix", "--rev", "HEAD"])
        .assert()
        .code(0);
    let fixed = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    assert!(fixed.contains(&format!("rev: {v2}\n")), "{fixed}");
    let (code, _) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0);
}

#[test]
fn fix_refuses_to_move_a_pinned_rev_for_some_claims_only() {
    let (repo, v1, _) = tagged_repo();
    let two = anchors("rev: v1.0.0\n")
        + "  - id: other\n    status: required\n    refs:\n      - path: server.go\n        lines: 3\n        expect:\n          - string: errors\n";
    repo.write("anchors.yaml", &two);
    repo.write("docs/page.md", page(v1) + "`server.go:3`\n");
    anchorcheck(repo.path())
        .args(["fix", "--rev", "v2.0.0", "--claim", "mtls-guard"])
        .assert()
        .code(2)
        .stderr(
            contains("anchors.yaml pins `rev: v1.0.0`, but fix verified v2.0.0")
                .and(contains("nothing was written")),
        );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap(),
        two
    );
}

#[test]
fn a_docs_citation_a_line_off_names_the_near_ref() {
    let (repo, _, _) = tagged_repo();
    let anchors = anchors("").replace("lines: 9-11", "lines: 12-14")
        + "  - id: remote-mtls\n    status: required\n    refs:\n      - path: server.go\n        lines: 3\n        expect:\n          - string: errors\n";
    repo.write("anchors.yaml", anchors);
    repo.write(
        "docs/page.md",
        "- guard: `server.go:13-15`\n- import: `server.go:3`\n",
    );
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let messages = report["docs"].to_string();
    assert!(
        messages.contains(
            "cites server.go:13-15 but no ref has those lines; did you mean claim `mtls-guard`, server.go:12-14?"
        ),
        "{messages}"
    );
    assert!(!messages.contains("remote-mtls"), "{messages}");
}

/// The docs pages are read beside anchors.yaml, as it is: a run at an older revision checks
/// today's citations (the page here was never committed) against today's refs, and the code at
/// that revision. Reading the pages at the revision would pair them with an anchors file of
/// another time, and `fix` could not write what it had read.
#[test]
fn docs_pages_are_read_beside_anchors_yaml_whatever_the_revision() {
    let (repo, _, _) = documented_repo("");
    for rev in ["v1.0.0", "HEAD", "WORKTREE"] {
        let (code, report) = verify_json(repo.path(), &["--rev", rev]);
        assert_eq!(report["docs"], serde_json::json!([]), "{rev}: {report:#}");
        let cited = &report["claims"][0]["refs"][0]["cited_by"];
        assert_eq!(cited.as_array().map(Vec::len), Some(4), "{rev}: {cited:#}");
        let verdict = &report["claims"][0]["verdict"];
        let expected = if rev == "v1.0.0" { 0 } else { 1 };
        assert_eq!(code, expected, "{rev}: {verdict}");
    }
}
