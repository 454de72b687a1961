//! The review workflow (issue 26): approvals fingerprint the cited code as tokens, so comment
//! and layout edits keep a claim verified and a token change makes it `needs-review` with the
//! diff and the commits; `approve` refuses broken claims and writes losslessly; gates and
//! waivers decide the exit code in every format alike; malformed waivers fail closed.

use std::path::Path;

use crate::common::{TestRepo, run, testdata, verify_json};

const FILE: &str = "auth.go";

/// A repository whose `auth.go` is `testdata/review/rev1.go`, committed, and an uncommitted
/// anchors.yaml citing its guard with `at` (and `extra` appended to the claim, and `tail` to
/// the file).
fn repo_with(extra: &str, tail: &str) -> (TestRepo, String) {
    let mut repo = TestRepo::new();
    repo.write(FILE, std::fs::read(testdata("review/rev1.go")).unwrap());
    let first = repo.commit_all("add the token check (#7)").to_string();
    write_anchors(&repo, &first, extra, tail);
    (repo, first)
}

fn write_anchors(repo: &TestRepo, at: &str, extra: &str, tail: &str) {
    let anchors = format!(
        "version: 1\nclaims:\n  - id: token-check   # the guard\n    title: Unknown tokens are refused\n    status: required\n{extra}    refs:\n      - path: {FILE}\n        lines: 7-12\n        at: {at}\n        expect:\n          - fail_closed: {{ when: allowed }}\n{tail}"
    );
    repo.write("anchors.yaml", anchors);
}

/// Commits `testdata/review/<rev>.go` as auth.go.
fn commit_rev(repo: &mut TestRepo, rev: &str, subject: &str) -> String {
    repo.write(
        FILE,
        std::fs::read(testdata(&format!("review/{rev}.go"))).unwrap(),
    );
    repo.commit_all(subject).to_string()
}

fn anchors(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("anchors.yaml")).unwrap()
}

fn approve(dir: &Path) -> (i32, String, String) {
    run(
        dir,
        &[
            "approve",
            "--yes",
            "--by",
            "Rita Reviewer",
            "--today",
            "2026-11-02",
        ],
    )
}

#[test]
fn approve_writes_only_the_approval_and_then_verify_passes() {
    let (repo, first) = repo_with("", "");
    let dir = repo.path();
    let before = anchors(dir);
    let (code, out, err) = approve(dir);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("approved 1 claim(s)"), "{out}");
    assert!(
        out.contains("if !allowed[token] {"),
        "the cited code is shown: {out}"
    );
    let after = anchors(dir);
    let added: Vec<&str> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .collect();
    assert_eq!(added.len(), 1, "{after}");
    assert!(
        added[0].starts_with(&format!(
            "    approved: {{at: {first}, by: Rita Reviewer, on: 2026-11-02, fingerprint: "
        )),
        "{}",
        added[0]
    );
    // Every other line is kept, in order, the comment on the id line too.
    let kept: Vec<&str> = after.lines().filter(|l| !added.contains(l)).collect();
    assert_eq!(kept, before.lines().collect::<Vec<_>>());
    let (code, json) = verify_json(dir, &[]);
    assert_eq!(code, 0, "{json}");
    let claim = &json["claims"][0];
    assert_eq!(claim["verdict"], "verified");
    assert_eq!(claim["approved"]["by"], "Rita Reviewer");
    assert_eq!(claim["approved"]["changed"], false);
    // Approving again changes nothing: the code did not change.
    let (code, out, _) = approve(dir);
    assert_eq!(code, 0);
    assert!(out.contains("already approved and unchanged"), "{out}");
    assert_eq!(anchors(dir), after);
}

#[test]
fn comment_and_format_edits_keep_an_approved_claim_verified() {
    let (mut repo, _) = repo_with("", "");
    assert_eq!(approve(repo.path()).0, 0);
    commit_rev(&mut repo, "rev2", "reword comments");
    let (code, json) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["claims"][0]["verdict"], "verified");
    assert_eq!(json["claims"][0]["approved"]["changed"], false);
}

#[test]
fn a_token_change_needs_review_with_the_diff_and_the_commits() {
    let (mut repo, _) = repo_with("", "");
    let dir = repo.path().to_path_buf();
    assert_eq!(approve(&dir).0, 0);
    commit_rev(&mut repo, "rev2", "reword comments");
    let changed = commit_rev(&mut repo, "rev3", "refuse empty tokens (#42)");
    let (code, json) = verify_json(&dir, &[]);
    assert_eq!(code, 1, "{json}");
    let claim = &json["claims"][0];
    assert_eq!(claim["verdict"], "needs-review");
    assert_eq!(claim["approved"]["changed"], true);
    let r = &claim["refs"][0];
    assert_eq!(r["verdict"], "needs-review");
    let diff = r["review"]["diff"].as_array().unwrap();
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert_eq!(diff[0]["added"], "|| token == \"\"");
    assert_eq!(diff[0]["removed"], "");
    assert_eq!(diff[0]["new_line"], 8);
    // Only the commit that changed tokens: the comment edit changed the file, not its code.
    let subjects: Vec<&str> = r["review"]["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["refuse empty tokens (#42)"]);
    assert_eq!(r["review"]["commits"][0]["commit"], changed);
    assert_eq!(r["review"]["commits"][0]["pr"], 42);
    assert_eq!(r["culprit"]["kind"], "changed");
    assert_eq!(r["culprit"]["commit"], changed);
    assert_eq!(r["culprit"]["author"], "Ada Tester");
    assert_eq!(json["summary"]["needs_review"], 1);
    // The text report says so, with the diff.
    let (code, text, _) = run(&dir, &["verify"]);
    assert_eq!(code, 1);
    assert!(text.starts_with("needs-review token-check"), "{text}");
    assert!(
        text.contains("changed since approval: line 8: + || token == \"\""),
        "{text}"
    );
    // Approving again records the new fingerprint and the claim verifies.
    let (code, out, _) = approve(&dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("changed since approval: line 8"), "{out}");
    assert_eq!(verify_json(&dir, &[]).0, 0);
}

#[test]
fn without_history_the_fingerprint_alone_decides() {
    // Approved at a commit this repository does not have (a shallow clone).
    let missing = "f".repeat(40);
    let fingerprint = "0".repeat(64);
    let extra = format!(
        "    approved: {{at: {missing}, by: Rita, on: 2026-01-01, fingerprint: {fingerprint}}}\n"
    );
    let (repo, _) = repo_with(&extra, "");
    let (code, json) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1, "{json}");
    let r = &json["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "needs-review");
    assert!(
        r["review"]["note"]
            .as_str()
            .unwrap()
            .contains("history unavailable"),
        "{r}"
    );
}

#[test]
fn gate_warn_reports_needs_review_and_broken_without_failing_the_run() {
    let (mut repo, _) = repo_with("    gate: warn\n", "");
    let dir = repo.path().to_path_buf();
    assert_eq!(approve(&dir).0, 0);
    commit_rev(&mut repo, "rev3", "refuse empty tokens");
    for (rev, verdict) in [("rev3", "needs-review"), ("rev4", "broken")] {
        if rev == "rev4" {
            commit_rev(&mut repo, "rev4", "only log");
        }
        let (code, json) = verify_json(&dir, &[]);
        assert_eq!(code, 0, "{json}");
        assert_eq!(json["claims"][0]["verdict"], verdict);
        assert_eq!(json["claims"][0]["gate"], "warn");
        let (code, sarif, _) = run(&dir, &["verify", "--format", "sarif"]);
        assert_eq!(code, 0);
        let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
        assert_eq!(
            sarif["runs"][0]["results"][0]["level"], "warning",
            "{sarif}"
        );
        let (code, github, _) = run(&dir, &["verify", "--format", "github"]);
        assert_eq!(code, 0);
        assert!(github.starts_with("::warning file=auth.go"), "{github}");
        assert!(!github.contains("::error"), "{github}");
        let (code, junit, _) = run(&dir, &["verify", "--format", "junit"]);
        assert_eq!(code, 0);
        assert!(junit.contains("failures=\"0\""), "{junit}");
    }
}

#[test]
fn approve_refuses_a_broken_claim_and_changes_nothing() {
    let (mut repo, _) = repo_with("", "");
    commit_rev(&mut repo, "rev4", "only log");
    let dir = repo.path();
    let before = anchors(dir);
    let (code, out, _) = approve(dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not approved: it is broken"), "{out}");
    assert!(out.contains("nothing to approve"), "{out}");
    assert_eq!(anchors(dir), before);
}

#[test]
fn approve_without_a_terminal_or_yes_changes_nothing() {
    let (repo, _) = repo_with("", "");
    let dir = repo.path();
    let before = anchors(dir);
    let (code, out, _) = run(dir, &["approve", "--by", "Rita"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("nothing was written"), "{out}");
    assert_eq!(anchors(dir), before);
}

fn waiver(expires: &str) -> String {
    format!(
        "waivers:\n  - claim: token-check\n    reason: vendor fix pending\n    expires: {expires}\n    owner: Sam Sec\n"
    )
}

#[test]
fn a_valid_waiver_lets_a_broken_claim_pass_and_is_reported_everywhere() {
    let (mut repo, _) = repo_with("", &waiver("2026-12-31"));
    commit_rev(&mut repo, "rev4", "only log");
    let dir = repo.path();
    let today = ["--today", "2026-12-01"];
    let (code, json) = verify_json(dir, &today);
    assert_eq!(code, 0, "{json}");
    let claim = &json["claims"][0];
    assert_eq!(claim["verdict"], "broken");
    assert_eq!(claim["waiver"]["reason"], "vendor fix pending");
    assert_eq!(claim["waiver"]["expires"], "2026-12-31");
    assert_eq!(claim["refs"][0]["waiver"]["owner"], "Sam Sec");
    assert_eq!(json["waivers"][0]["state"], "applied");
    assert_eq!(json["summary"]["waived"], 1);
    let format = |f: &str| {
        let mut args = vec!["verify", "--format", f];
        args.extend(today);
        let (code, out, _) = run(dir, &args);
        assert_eq!(code, 0, "{f}: {out}");
        out
    };
    let sarif: serde_json::Value = serde_json::from_str(&format("sarif")).unwrap();
    let suppression = &sarif["runs"][0]["results"][0]["suppressions"][0];
    assert_eq!(suppression["status"], "accepted");
    assert!(
        suppression["justification"]
            .as_str()
            .unwrap()
            .contains("because vendor fix pending"),
        "{sarif}"
    );
    let junit = format("junit");
    assert!(
        junit.contains(
            "<skipped message=\"waived until 2026-12-31 by Sam Sec because vendor fix pending\""
        ),
        "{junit}"
    );
    assert!(junit.contains("failures=\"0\""), "{junit}");
    let text = format("text");
    assert!(
        text.contains("= waived until 2026-12-31 by Sam Sec because vendor fix pending"),
        "{text}"
    );
    assert!(format("github").contains("::warning file=auth.go"));
    assert!(format("markdown").contains("waived until 2026-12-31 by Sam Sec"));
}

#[test]
fn today_decides_whether_a_waiver_has_expired() {
    let (mut repo, _) = repo_with("", &waiver("2026-12-31"));
    commit_rev(&mut repo, "rev4", "only log");
    let dir = repo.path();
    // The expiry day itself is covered.
    assert_eq!(verify_json(dir, &["--today", "2026-12-31"]).0, 0);
    let (code, json) = verify_json(dir, &["--today", "2027-01-01"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["waivers"][0]["state"], "expired");
    assert_eq!(json["summary"]["waivers_expired"], 1);
    let (code, text, _) = run(dir, &["verify", "--today", "2027-01-01"]);
    assert_eq!(code, 1);
    assert!(
        text.contains("waiver for claim token-check expired on 2026-12-31 (owner Sam Sec"),
        "{text}"
    );
    // An expired waiver fails the run even once its claim verifies again.
    commit_rev(&mut repo, "rev1", "restore the guard");
    assert_eq!(verify_json(repo.path(), &["--today", "2027-01-01"]).0, 1);
}

#[test]
fn a_waiver_for_a_claim_that_passes_is_an_unused_notice() {
    let (repo, _) = repo_with("", &waiver("2026-12-31"));
    let dir = repo.path();
    let (code, json) = verify_json(dir, &["--today", "2026-12-01"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["waivers"][0]["state"], "unused");
    let (code, text, _) = run(dir, &["verify", "--today", "2026-12-01"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("waiver for claim token-check is unused"),
        "{text}"
    );
    let (_, github, _) = run(
        dir,
        &["verify", "--format", "github", "--today", "2026-12-01"],
    );
    assert!(github.contains("is unused"), "{github}");
}

#[test]
fn malformed_waivers_are_config_errors_at_their_position() {
    let cases: [(&str, &str); 7] = [
        (
            "waivers:\n  - claim: token-chek\n    reason: r\n    expires: 2026-12-31\n    owner: o\n",
            "anchors.yaml:13:12: waiver for unknown claim `token-chek`; did you mean `token-check`?",
        ),
        (
            "waivers:\n  - claim: token-check\n    reason: r\n    expires: 2026-02-30\n    owner: o\n",
            "anchors.yaml:15:14: `expires`: `2026-02-30` is not a day of that month",
        ),
        (
            "waivers:\n  - claim: token-check\n    expires: 2026-12-31\n    owner: o\n",
            "anchors.yaml:13:5: waiver is missing `reason`",
        ),
        (
            "waivers:\n  - claim: token-check\n    reason: \"  \"\n    expires: 2026-12-31\n    owner: o\n",
            "anchors.yaml:14:13: `reason` must not be empty",
        ),
        (
            "waivers:\n  - claim: token-check\n    reason: r\n    expires: 2026-12-31\n",
            "anchors.yaml:13:5: waiver is missing `owner`",
        ),
        (
            "waivers:\n  - claim: token-check\n    reason: r\n    owner: o\n",
            "anchors.yaml:13:5: waiver is missing `expires`",
        ),
        (
            "waivers:\n  - claim: token-check\n    ref: 2\n    reason: r\n    expires: 2026-12-31\n    owner: o\n",
            "anchors.yaml:14:10: waiver `ref: 2`: claim `token-check` has 1 ref(s); `ref` counts them from 1",
        ),
    ];
    for (tail, expected) in cases {
        let (repo, _) = repo_with("", tail);
        let (code, out, err) = run(repo.path(), &["verify", "--today", "2026-12-01"]);
        assert_eq!(code, 2, "{tail}: {out}{err}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(err.trim(), expected, "{tail}");
    }
    // Expiring more than max_waiver_days after --today: an error at `expires`.
    let tail = format!("max_waiver_days: 30\n{}", waiver("2026-12-31"));
    let (repo, _) = repo_with("", &tail);
    let (code, _, err) = run(repo.path(), &["verify", "--today", "2026-11-01"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err.trim(),
        "anchors.yaml:16:14: waiver for claim `token-check` expires 2026-12-31, more than max_waiver_days (30) after today (2026-11-01); a waiver must be renewed by then"
    );
    // Within the horizon a month later (the claim verifies: an unused waiver, exit 0).
    assert_eq!(run(repo.path(), &["verify", "--today", "2026-12-01"]).0, 0);
}

#[test]
fn init_writes_no_approval_and_approve_takes_its_output() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    repo.commit_all("rev1");
    let (code, out, err) = run(repo.path(), &["init", "--from-docs", "docs/page.md"]);
    assert!(code <= 1, "{out}{err}");
    let scaffold = anchors(repo.path());
    for key in ["approved", "gate:", "waivers"] {
        assert!(!scaffold.contains(key), "init wrote {key}:\n{scaffold}");
    }
    let (code, out, err) = approve(repo.path());
    assert_eq!(code, 0, "{out}{err}");
    let approved = anchors(repo.path());
    let claims = scaffold.matches("- id:").count();
    assert!(claims > 0);
    assert_eq!(
        approved.matches("approved: {at: ").count(),
        claims,
        "{approved}"
    );
    let (code, json) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn fix_neither_approves_nor_gives_up_on_a_claim_that_needs_review() {
    let (mut repo, _) = repo_with("", "");
    let dir = repo.path().to_path_buf();
    assert_eq!(approve(&dir).0, 0);
    commit_rev(&mut repo, "rev3", "refuse empty tokens");
    let before = anchors(&dir);
    let (code, out, err) = run(&dir, &["fix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("left alone"), "{out}");
    assert_eq!(anchors(&dir), before);
    assert_eq!(verify_json(&dir, &[]).0, 1);
}

#[test]
fn the_audit_page_shows_the_approval_and_what_changed_since() {
    let (mut repo, _) = repo_with("", "");
    let dir = repo.path().to_path_buf();
    assert_eq!(approve(&dir).0, 0);
    commit_rev(&mut repo, "rev3", "refuse empty tokens (#42)");
    let page = dir.join("audit.html");
    let (code, out, err) = run(&dir, &["audit", "--html", page.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let select = |css: &str| {
        let selector = scraper::Selector::parse(css).unwrap();
        doc.select(&selector)
            .map(|e| e.text().collect::<String>())
            .collect::<Vec<_>>()
    };
    let facts = select("dl.facts dd");
    assert!(
        facts.iter().any(
            |f| f.starts_with("approved by Rita Reviewer on 2026-11-02 at ")
                && f.ends_with("; changed since")
        ),
        "{facts:?}"
    );
    let review = select("ul.review li");
    assert!(
        review.iter().any(|l| l == "line 8: + || token == \"\""),
        "{review:?}"
    );
    assert!(
        review
            .iter()
            .any(|l| l.contains("'refuse empty tokens (#42)' by Ada Tester")),
        "{review:?}"
    );
    // The terminal audit says the same.
    let (_, text, _) = run(&dir, &["audit"]);
    assert!(
        text.contains("  approval: approved by Rita Reviewer"),
        "{text}"
    );
    assert!(
        text.contains("changed since approval: line 8: + || token == \"\""),
        "{text}"
    );
}
