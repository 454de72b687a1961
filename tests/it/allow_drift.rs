//! `--allow-drift` lets drift pass, and only the docs findings drift explains: an unreadable
//! page, a citation no ref explains and a broken ref fail the run whatever the flag, in `verify`
//! and `diff`, and every format's levels and failures agree with the exit code.

use crate::common::{Fixture, drift_repo, run as run_command};

/// The page of the drift fixture at rev2, where `agent-routes` cites `routes.go:6-9` and the
/// routes moved to 9-12 (drifted); `mtls-guard` still verifies.
const PAGE: &str = "docs/page.md";

/// What one run said in every format, with the command's exit code.
struct Run {
    code: i32,
    json: serde_json::Value,
    junit_failures: usize,
    sarif_errors: usize,
    sarif_docs_levels: Vec<String>,
    github_errors: usize,
    /// The Markdown summary's header says the run failed.
    markdown_failed: bool,
    text: String,
}

/// Runs `command` (verify, or diff from the fixture's first commit) with `--allow-drift` in
/// every format, checking that the exit codes agree.
fn run_all(d: &Fixture, command: &str) -> Run {
    let dir = d.repo.path();
    let base = d.commits[0].to_string();
    let args = |format: &str| -> Vec<String> {
        let mut args = vec![command.to_string()];
        if command == "diff" {
            args.extend(["--base".to_string(), base.clone()]);
        }
        args.extend([
            "--allow-drift".to_string(),
            "--format".to_string(),
            format.to_string(),
        ]);
        args
    };
    let mut codes = Vec::new();
    let mut out = |format: &str| {
        let args = args(format);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = run_command(dir, &args);
        assert!(code == 0 || code == 1, "{format}: exit {code}: {stderr}");
        codes.push((format.to_string(), code));
        stdout
    };
    let json: serde_json::Value = serde_json::from_str(&out("json")).unwrap();
    let junit = out("junit");
    let sarif: serde_json::Value = serde_json::from_str(&out("sarif")).unwrap();
    let github = out("github");
    let markdown = out("markdown");
    let text = out("text");
    let code = codes[0].1;
    assert!(
        codes.iter().all(|(_, c)| *c == code),
        "exit codes differ by format: {codes:?}"
    );
    let junit_failures = junit
        .lines()
        .find(|l| l.contains("<testsuites "))
        .and_then(|l| l.split("failures=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no failures count in {junit}"));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let sarif_errors = results.iter().filter(|r| r["level"] == "error").count();
    let sarif_docs_levels = results
        .iter()
        .filter(|r| r["ruleId"] == "docs-mismatch")
        .map(|r| r["level"].as_str().unwrap().to_string())
        .collect();
    let github_errors = github.lines().filter(|l| l.starts_with("::error ")).count();
    let header = markdown.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("## ✅") || header.starts_with("## ❌"),
        "{markdown}"
    );
    Run {
        code,
        json,
        junit_failures,
        sarif_errors,
        sarif_docs_levels,
        github_errors,
        markdown_failed: header.starts_with("## ❌"),
        text,
    }
}

/// The run fails, and every format says so: JUnit failures, SARIF and GitHub errors.
fn assert_fails(run: &Run, why: &str) {
    assert_eq!(run.code, 1, "{why}: {}", run.text);
    assert!(run.junit_failures > 0, "{why}: no JUnit failure");
    assert!(run.sarif_errors > 0, "{why}: no SARIF error");
    assert!(run.github_errors > 0, "{why}: no ::error annotation");
    assert!(
        run.markdown_failed,
        "{why}: the Markdown header says it passed"
    );
}

/// The run passes, and no format reports a failure.
fn assert_passes(run: &Run, why: &str) {
    assert_eq!(run.code, 0, "{why}: {}", run.text);
    assert_eq!(run.junit_failures, 0, "{why}: JUnit failures");
    assert_eq!(run.sarif_errors, 0, "{why}: SARIF errors");
    assert_eq!(run.github_errors, 0, "{why}: ::error annotations");
    assert!(
        !run.markdown_failed,
        "{why}: the Markdown header says it failed"
    );
}

fn append_to_page(d: &Fixture, text: &str) {
    let page = std::fs::read_to_string(d.repo.path().join(PAGE)).unwrap();
    d.repo.write(PAGE, format!("{page}{text}"));
}

fn add_docs_page(d: &Fixture, page: &str) {
    let anchors = std::fs::read_to_string(d.repo.path().join("anchors.yaml")).unwrap();
    let anchors = anchors.replace("docs:\n", &format!("docs:\n  - {page}\n"));
    d.repo.write("anchors.yaml", anchors);
}

#[test]
fn drift_alone_passes_in_every_format() {
    for command in ["verify", "diff"] {
        let d = drift_repo(2);
        let run = run_all(&d, command);
        assert_passes(&run, command);
        assert_eq!(run.json["summary"]["drifted"], 1, "{command}");
    }
}

#[test]
fn an_unreadable_docs_page_fails_whatever_the_flag() {
    for command in ["verify", "diff"] {
        // Missing.
        let d = drift_repo(2);
        add_docs_page(&d, "docs/missing.md");
        let run = run_all(&d, command);
        assert_fails(&run, &format!("{command}: missing page"));
        assert!(run.text.contains("docs/missing.md"), "{}", run.text);
        assert!(
            run.text.contains("1 docs finding fails the run"),
            "{}",
            run.text
        );
        // Not UTF-8.
        let d = drift_repo(2);
        d.repo
            .write("docs/latin1.md", b"caf\xe9 `pkg/agent/guard.go:14-16`\n");
        add_docs_page(&d, "docs/latin1.md");
        assert_fails(&run_all(&d, command), &format!("{command}: not UTF-8"));
    }
}

#[test]
fn citations_no_drifted_ref_explains_fail_whatever_the_flag() {
    let cases = [
        (
            "a file no ref covers",
            "\nSee `pkg/agent/nowhere.go:3-4`.\n",
        ),
        (
            "other lines of the drifted file",
            "\nSee `pkg/agent/routes.go:2-3`.\n",
        ),
        (
            "near the new place, not at it",
            "\nSee `pkg/agent/routes.go:9-11`.\n",
        ),
        (
            "the guard's lines, off by one",
            "\nSee `pkg/agent/guard.go:14-17`.\n",
        ),
    ];
    for command in ["verify", "diff"] {
        for (why, text) in cases {
            let d = drift_repo(2);
            append_to_page(&d, text);
            let run = run_all(&d, command);
            assert_fails(&run, &format!("{command}: {why}"));
            let docs = run.json["docs"].as_array().unwrap();
            assert!(
                docs.iter().all(|f| f["tolerated"] == false),
                "{command}: {why}: {docs:#?}"
            );
            assert_eq!(run.sarif_docs_levels, ["error"], "{command}: {why}");
        }
    }
}

#[test]
fn a_citation_of_the_drifted_refs_new_place_is_tolerated_and_said_so() {
    for command in ["verify", "diff"] {
        let d = drift_repo(2);
        // The page already cites where the routes went; anchors.yaml still has the old lines.
        append_to_page(&d, "\nMoved: `pkg/agent/routes.go:9-12`.\n");
        let run = run_all(&d, command);
        assert_passes(&run, command);
        let docs = run.json["docs"].as_array().unwrap();
        assert_eq!(docs.len(), 1, "{command}: {docs:#?}");
        assert_eq!(docs[0]["tolerated"], true, "{command}");
        assert_eq!(run.json["summary"]["docs_tolerated"], 1, "{command}");
        assert_eq!(run.json["summary"]["docs_failing"], 0, "{command}");
        assert_eq!(run.sarif_docs_levels, ["warning"], "{command}");
        let summary = run.text.lines().find(|l| l.contains(" claims: ")).unwrap();
        assert!(
            summary.contains("1 docs finding tolerated by --allow-drift"),
            "{command}: {summary}"
        );
        // Without the flag the same finding fails the run.
        let base = d.commits[0].to_string();
        let (code, _, _) = run_command(d.repo.path(), &["diff", "--base", &base]);
        let (code_verify, _, _) = run_command(d.repo.path(), &["verify"]);
        assert_eq!((code, code_verify), (1, 1), "{command}");
    }
}

#[test]
fn a_page_citing_a_broken_ref_fails_whatever_the_flag() {
    for command in ["verify", "diff"] {
        // rev3 weakens the guard (broken) and renames the routes' file (drifted).
        let d = drift_repo(3);
        let run = run_all(&d, command);
        assert_fails(&run, command);
        assert_eq!(run.json["summary"]["broken"], 1, "{command}");
        // A citation of the guard's old lines, off by one, is no drift's doing either.
        append_to_page(&d, "\nSee `pkg/agent/guard.go:13-16`.\n");
        let run = run_all(&d, command);
        assert_fails(&run, command);
        assert_eq!(run.json["summary"]["docs_failing"], 1, "{command}");
    }
}

#[test]
fn docs_findings_fail_a_run_whose_claims_all_verify_and_the_summary_says_so() {
    let d = drift_repo(1);
    add_docs_page(&d, "docs/missing.md");
    let run = run_all(&d, "verify");
    assert_fails(&run, "missing page");
    let summary = run.text.lines().find(|l| l.contains(" claims: ")).unwrap();
    assert!(summary.starts_with("2 claims: 2 verified"), "{summary}");
    assert!(
        summary.ends_with("; 1 docs finding fails the run"),
        "{summary}"
    );
}
