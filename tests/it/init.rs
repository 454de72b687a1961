//! `init --from-docs` and `explain`: scaffolded refs verify where they were written, nothing is
//! overwritten or lost, unresolved citations are listed, and `explain` sees what hand-written
//! refs check.

use std::path::Path;

use crate::common::{TestRepo, anchorcheck, run, testdata, verify_json};
use anchorcheck::anchors::{self, Expectation};
use anchorcheck::go::GoFile;
use anchorcheck::scaffold::explain::{Check, ConstructKind, Explanation, explain};

/// Every ref of a JSON report, with its verdict.
fn verdicts(report: &serde_json::Value) -> Vec<(String, String)> {
    report["claims"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["refs"].as_array().unwrap().clone())
        .map(|r| {
            (
                format!(
                    "{}:{}",
                    r["path"].as_str().unwrap(),
                    r["lines"].as_str().unwrap()
                ),
                r["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn scaffolded_refs_verify_at_every_revision_of_the_drift_fixture() {
    for rev in ["rev1", "rev2", "rev3"] {
        let mut repo = TestRepo::new();
        repo.replace_tree(&testdata(&format!("drift/{rev}")), "");
        repo.commit_all(rev);
        let (code, stdout, stderr) = run(repo.path(), &["init", "--from-docs", "docs/page.md"]);
        assert!(code <= 1, "{rev}: {stdout}{stderr}");
        repo.commit_all("scaffold");
        let (_, report) = verify_json(repo.path(), &[]);
        let refs = verdicts(&report);
        assert!(!refs.is_empty(), "{rev}: nothing scaffolded: {stdout}");
        for (place, verdict) in &refs {
            assert_eq!(verdict, "verified", "{rev}: {place}: {report:#}");
        }
        // What was not scaffolded is said, never dropped: every citation is a ref or listed.
        let page = std::fs::read_to_string(repo.path().join("docs/page.md")).unwrap();
        let citations = anchorcheck::docs::scan(&page).len();
        let listed = stdout.matches("not scaffolded: ").count();
        assert_eq!(refs.len() + listed, citations, "{rev}: {stdout}");
    }
}

#[test]
fn init_never_overwrites_an_anchors_file() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    repo.write("anchors.yaml", "# mine\n");
    repo.commit_all("rev1");
    let (code, _, stderr) = run(repo.path(), &["init", "--from-docs", "docs/page.md"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn append_adds_only_uncovered_citations_and_keeps_every_byte() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    // Hand-written: only the routes citation, with a comment and odd spacing to keep.
    let mine = "version: 1   # ours\ndocs: [docs/page.md]\nclaims:\n    - id: agent-routes\n      title: routes\n      status: required\n      refs:\n        - path: pkg/agent/routes.go\n          lines: 6-9\n          expect: [{ call: HandleFunc }]\n";
    repo.write("anchors.yaml", mine);
    repo.commit_all("rev1");
    let (code, stdout, stderr) = run(
        repo.path(),
        &["init", "--from-docs", "docs/page.md", "--append"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 already covered"), "{stdout}");
    let after = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    assert!(after.starts_with(mine), "{after}");
    let parsed =
        anchors::parse(&after, Path::new("anchors.yaml"), Path::new("anchors.yaml")).unwrap();
    assert_eq!(parsed.claims.len(), 2, "{after}");
    assert_eq!(parsed.claims[1].refs[0].path.value, "pkg/agent/guard.go");
    repo.commit_all("append");
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    // Nothing left to add: the file stays as it is.
    let (code, stdout, _) = run(
        repo.path(),
        &["init", "--from-docs", "docs/page.md", "--append"],
    );
    assert_eq!(code, 0);
    assert!(stdout.starts_with("nothing to add"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap(),
        after
    );
}

#[test]
fn append_refuses_when_claims_is_not_the_last_key() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    let mine = "version: 1\nclaims:\n  - id: a\n    status: planned\ndocs: [docs/page.md]\n";
    repo.write("anchors.yaml", mine);
    repo.commit_all("rev1");
    let (code, _, stderr) = run(
        repo.path(),
        &["init", "--from-docs", "docs/page.md", "--append"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("last"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap(),
        mine
    );
}

#[test]
fn citations_that_cannot_be_resolved_are_listed_not_dropped() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    repo.write(
        "docs/extra.md",
        "The router is set up in `pkg/agent/missing.go:3-9`. The guard ends at `pkg/agent/guard.go:400-410`.\n",
    );
    repo.commit_all("rev1");
    let (code, stdout, _) = run(
        repo.path(),
        &["init", "--from-docs", "docs/extra.md", "docs/page.md"],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("docs/extra.md:1:"), "{stdout}");
    assert!(stdout.contains("no .go file"), "{stdout}");
    assert!(stdout.contains("past the end"), "{stdout}");
    let written = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    assert!(written.contains("# Citations not scaffolded"), "{written}");
    assert!(written.contains("missing.go:3-9"), "{written}");
    assert!(written.starts_with("# "), "starts with the schema comment");
}

/// Whether `explanation` has a holding check that cites what `e` checks: a route, call,
/// guard, TLS setting, string or identifier with the same subject.
fn covered(e: &Expectation, explanation: &Explanation) -> bool {
    let holding = |kind: ConstructKind| -> Vec<&Check> {
        explanation
            .constructs
            .iter()
            .filter(|c| c.kind == kind)
            .flat_map(|c| &c.checks)
            .filter(|c| c.holds)
            .collect()
    };
    let reads = |check: &Check| anchors::parse_expectation(&check.yaml).unwrap();
    match e {
        Expectation::Routes(spec) => spec.paths.iter().all(|path| {
            holding(ConstructKind::Route)
                .iter()
                .any(|c| match reads(c) {
                    Expectation::Routes(s) => {
                        s.paths.contains(path)
                            && spec.on.as_ref().is_none_or(|on| s.on.as_ref() == Some(on))
                            && spec.methods.iter().all(|m| s.methods.contains(m))
                    }
                    _ => false,
                })
        }),
        Expectation::Call(pattern) => holding(ConstructKind::Call).iter().any(|c| match reads(c) {
            Expectation::Call(s) => {
                let callee = s.name.as_str();
                callee == pattern.name
                    || callee.ends_with(&format!(".{}", pattern.name))
                    || pattern.name.ends_with(&format!(".{callee}"))
                    || pattern.glob.as_ref().is_some_and(|g| g.is_match(callee))
            }
            _ => false,
        }),
        Expectation::FailClosed(spec) => {
            holding(ConstructKind::Guard)
                .iter()
                .any(|c| match reads(c) {
                    Expectation::FailClosed(s) => {
                        let name = s
                            .when
                            .as_str()
                            .trim_start_matches('^')
                            .trim_end_matches('$');
                        spec.when.is_match(&name.replace('\\', ""))
                    }
                    _ => false,
                })
        }
        Expectation::Tls(spec) => holding(ConstructKind::Tls).iter().any(|c| match reads(c) {
            Expectation::Tls(s) => {
                spec.client_auth.is_none_or(|a| s.client_auth == Some(a))
                    && spec.min_version.is_none_or(|v| s.min_version >= Some(v))
            }
            _ => false,
        }),
        Expectation::String(value) => holding(ConstructKind::String)
            .iter()
            .any(|c| matches!(reads(c), Expectation::String(s) if s == *value)),
        Expectation::Identifier(name) => holding(ConstructKind::Identifier)
            .iter()
            .any(|c| matches!(reads(c), Expectation::Identifier(s) if s == *name)),
        Expectation::Any(inner) => inner.iter().any(|i| covered(i, explanation)),
        Expectation::All(inner) => inner.iter().all(|i| covered(i, explanation)),
        // A raw query, text or regex, and what must be absent, are the writer's own.
        Expectation::Query(_)
        | Expectation::Text(_)
        | Expectation::Regex(_)
        | Expectation::Not(_) => true,
    }
}

#[test]
fn explain_sees_what_every_bundled_ref_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (file, _) = anchors::load(&root.join("anchors.yaml"), Path::new("anchors.yaml")).unwrap();
    let mut checked = 0;
    for claim in &file.claims {
        for r in &claim.refs {
            let source = std::fs::read(root.join(&r.path.value)).unwrap();
            let go = GoFile::parse(source).unwrap();
            let explanation = explain(&go, r.lines.value);
            if let Some(symbol) = &r.symbol {
                let declared = explanation.declaration.as_ref().map(|d| d.symbol.as_str());
                let canonical = symbol.value.replace("(*", "").replace(")", "");
                assert_eq!(declared, Some(canonical.as_str()), "{}", r.path.value);
            }
            for e in &r.expect {
                assert!(
                    covered(e, &explanation),
                    "{} {}: explain does not see {e:?}: {explanation:#?}",
                    claim.id.value,
                    r.path.value
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "{checked}");
}

#[test]
fn explain_prints_text_and_json_and_refuses_a_bad_location() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    repo.commit_all("rev1");
    let out = anchorcheck(repo.path())
        .args(["explain", "pkg/agent/guard.go:14-16"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("suggested"), "{text}");
    assert!(text.contains("fail_closed"), "{text}");
    let out = anchorcheck(repo.path())
        .args(["explain", "pkg/agent/guard.go#L14-L16", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["lines"], "14-16");
    assert!(!json["suggested"].as_array().unwrap().is_empty());
    for bad in [
        "pkg/agent/guard.go",
        "pkg/agent/guard.go:0",
        "pkg/agent/nope.go:1-2",
        "pkg/agent/guard.go:900",
    ] {
        let out = anchorcheck(repo.path())
            .args(["explain", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(!out.stderr.is_empty(), "{bad}");
    }
}

/// Issue 21 (item 4): what `init` writes tells the truth. A guard refusing what an authorising
/// call rejected is written (so turning it into a log call breaks the claim), the claim keeps
/// the words of a sentence with two citations, and a function cited with a blank line after it
/// keeps its symbol.
#[test]
fn init_writes_the_guards_explain_shows_and_keeps_the_claims_words() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("soundness/init"), "");
    repo.commit_all("control plane");
    let (code, stdout, stderr) = run(repo.path(), &["init", "--from-docs", "docs/security.md"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let written = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    let anchors_path = repo.path().join("anchors.yaml");
    let file = anchors::parse(&written, &anchors_path, Path::new("anchors.yaml")).unwrap();
    let claim = |path: &str| {
        file.claims
            .iter()
            .find(|c| c.refs.iter().any(|r| r.path.value == path))
            .unwrap_or_else(|| panic!("no claim cites {path}: {written}"))
    };
    let admin = &claim("api/admin.go").refs[0];
    let whens: Vec<String> = admin
        .expect
        .iter()
        .filter_map(|e| match e {
            Expectation::FailClosed(spec) => Some(spec.when.as_str().to_string()),
            _ => None,
        })
        .collect();
    assert!(whens.contains(&"^err$".to_string()), "{written}");
    let raft = claim("rpc/rpc.go");
    assert_eq!(
        raft.title.as_deref(),
        Some(
            "Raft connections must present a server certificate; the connection is closed \
             otherwise"
        ),
        "{written}"
    );
    let verify_name = raft.refs.iter().find(|r| r.lines.value.start().get() == 24);
    assert_eq!(
        verify_name
            .and_then(|r| r.symbol.as_ref())
            .map(|s| s.value.as_str()),
        Some("verifyServerName"),
        "{written}"
    );
    repo.commit_all("scaffold");
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    // The authorisation error only logged: the scaffolded claim breaks, in place.
    let weakened = std::fs::read_to_string(repo.path().join("api/admin.go"))
        .unwrap()
        .replacen(
            "\t\twriteError(w, r, err)\n\t\treturn\n",
            "\t\tlog.Printf(\"authz: %v\", err)\n",
            1,
        );
    repo.write("api/admin.go", weakened);
    repo.commit_all("log authorisation failures");
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let verdicts = verdicts(&report);
    assert!(
        verdicts.contains(&("api/admin.go:10-18".to_string(), "broken".to_string())),
        "{verdicts:?}"
    );
}

/// Issue 21 (item 11): each guard's evidence names that guard. Two guards mention `cert`: the
/// refusal on line 12 and a success branch (`else if cert != nil`) on line 17; the refusal's
/// check was shown holding with the other's line, the success branch's as a holding refusal.
#[test]
fn explain_evidence_names_the_guard_it_is_about() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("soundness/init"), "");
    repo.commit_all("control plane");
    let out = anchorcheck(repo.path())
        .args(["explain", "tlspeer/peer.go:11-21", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let guard = |line: u64| -> Vec<serde_json::Value> {
        json["constructs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "guard" && c["line"] == line)
            .unwrap_or_else(|| panic!("no guard on line {line}: {json:#}"))["checks"]
            .as_array()
            .unwrap()
            .clone()
    };
    for check in guard(12) {
        let message = check["message"].as_str().unwrap();
        assert!(message.starts_with("line 12:"), "{check:#}");
    }
    let success = guard(17);
    let cert = success
        .iter()
        .find(|c| c["expect"].as_str().unwrap().contains("cert"))
        .unwrap();
    assert_eq!(cert["holds"], false, "{cert:#}");
    assert!(
        cert["message"].as_str().unwrap().starts_with("line 17:"),
        "{cert:#}"
    );
    // No guard on `cert` is suggested: it does not hold on the range as a whole.
    let suggested = json["suggested"].as_array().unwrap();
    assert!(
        suggested
            .iter()
            .all(|s| !s.as_str().unwrap().starts_with("fail_closed")),
        "{suggested:#?}"
    );
}
