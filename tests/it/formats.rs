//! The CI formats end to end: a repository whose routes moved and whose guard was weakened,
//! rendered as SARIF, GitHub workflow commands, JUnit and Markdown, and the fix command they name.

use std::path::Path;

use crate::common::{TestRepo, anchorcheck, drift_repo, reword_guard, run, testdata};

#[test]
fn sarif_from_a_real_run_passes_the_schema_and_names_both_findings() {
    let repo = drift_repo(3).repo;
    let (code, out, _) = run(repo.path(), &["verify", "--format", "sarif"]);
    assert_eq!(code, 1, "{out}");
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/schemas/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let rules: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"ref-drifted") && rules.contains(&"ref-broken"),
        "{rules:?}"
    );
}

#[test]
fn github_annotations_point_at_the_code_as_it_is_at_head() {
    let repo = drift_repo(3).repo;
    let (code, out, _) = run(repo.path(), &["verify", "--format", "github"]);
    assert_eq!(code, 1);
    assert!(
        out.lines().any(|l| l.starts_with(
            // History maps the cited 14-16 to 13-15: an import was dropped above the guard.
            "::error file=pkg/agent/guard.go,line=13,endLine=15,title=anchorcheck ref-broken%3A mtls-guard::"
        )),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("::warning file=pkg/agent/mtls_routes.go,line=11,endLine=14,")),
        "{out}"
    );
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("::notice title=anchorcheck::")
    );
}

#[test]
fn junit_and_markdown_from_a_real_run() {
    let repo = drift_repo(3).repo;
    let (code, xml, _) = run(repo.path(), &["verify", "--format", "junit"]);
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert!(cases[0].starts_with("agent-routes") && cases[1].starts_with("mtls-guard"));
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, 2);

    let (code, md, _) = run(repo.path(), &["verify", "--format", "markdown"]);
    assert_eq!(code, 1);
    assert!(
        md.contains("| claim | status | verdict | where | why |"),
        "{md}"
    );
    assert!(
        md.contains("⚠️ drifted") && md.contains("❌ broken"),
        "{md}"
    );
    assert!(
        md.contains("```sh\nanchorcheck fix --rev HEAD\n```"),
        "{md}"
    );
}

#[test]
fn fix_command_repeats_the_flags_given_and_fixes_the_drift() {
    let repo = drift_repo(3).repo;
    let elsewhere = tempfile::tempdir().unwrap();
    let anchors = repo.path().join("anchors.yaml");
    let anchors = anchors.to_str().unwrap();
    let dir = repo.path().to_str().unwrap();
    let (code, out, _) = run(
        elsewhere.path(),
        &[
            "verify",
            "--anchors",
            anchors,
            "--repo",
            dir,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{out}");
    let (_, notice, _) = run(
        elsewhere.path(),
        &[
            "verify",
            "--anchors",
            anchors,
            "--repo",
            dir,
            "--format",
            "github",
        ],
    );
    let fix = notice
        .lines()
        .last()
        .and_then(|l| l.split_once("run: "))
        .map(|(_, cmd)| cmd.to_string())
        .unwrap_or_else(|| panic!("no fix command in {notice}"));
    let words = shlex::split(&fix).unwrap();
    assert_eq!(
        words,
        [
            "anchorcheck",
            "fix",
            "--anchors",
            anchors,
            "--repo",
            dir,
            "--rev",
            "HEAD"
        ]
    );
    // Running it as printed leaves nothing drifted.
    let fixed = anchorcheck(elsewhere.path())
        .args(&words[1..])
        .output()
        .unwrap();
    assert!(
        fixed.status.success() || fixed.status.code() == Some(1),
        "{fixed:?}"
    );
    let (_, after, _) = run(
        elsewhere.path(),
        &[
            "verify",
            "--anchors",
            anchors,
            "--repo",
            dir,
            "--format",
            "github",
        ],
    );
    assert!(!after.contains("ref-drifted"), "{after}");
    assert!(after.contains("ref-broken"), "{after}");
}

#[test]
fn text_names_the_fix_command_only_when_something_drifted() {
    let repo = drift_repo(3).repo;
    let (_, text, _) = run(repo.path(), &["verify"]);
    assert!(
        text.contains("to fix the drift: anchorcheck fix --rev HEAD"),
        "{text}"
    );
    let (_, text, _) = run(repo.path(), &["verify", "--claim", "mtls-guard"]);
    assert!(!text.contains("anchorcheck fix"), "{text}");
}

#[test]
fn diff_reports_drift_breakage_and_touched_claims_in_every_ci_format() {
    let repo = drift_repo(3).repo;
    let base = "HEAD~2";
    let (code, out, _) = run(repo.path(), &["diff", "--base", base, "--format", "github"]);
    assert_eq!(code, 1, "{out}");
    let titles: Vec<&str> = out
        .lines()
        .filter_map(|l| {
            l.split_once("title=")
                .map(|(_, t)| t.split("::").next().unwrap())
        })
        .collect();
    assert!(
        titles.contains(&"anchorcheck ref-drifted%3A agent-routes"),
        "{out}"
    );
    assert!(
        titles.contains(&"anchorcheck ref-broken%3A mtls-guard"),
        "{out}"
    );
    assert!(
        out.contains(&format!("anchorcheck fix --base {base} --rev HEAD")),
        "{out}"
    );

    let (code, out, _) = run(repo.path(), &["diff", "--base", base, "--format", "sarif"]);
    assert_eq!(code, 1);
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    let drifted = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "ref-drifted")
        .unwrap_or_else(|| panic!("{out}"));
    let text = drifted["message"]["text"].as_str().unwrap();
    assert!(text.contains("to pkg/agent/mtls_routes.go:"), "{text}");

    let (code, xml, _) = run(repo.path(), &["diff", "--base", base, "--format", "junit"]);
    assert_eq!(code, 1);
    roxmltree::Document::parse(&xml).unwrap();

    let (code, md, _) = run(
        repo.path(),
        &["diff", "--base", base, "--format", "markdown"],
    );
    assert_eq!(code, 1);
    // Repository text is escaped as Markdown (`_` would start emphasis).
    assert!(md.contains("renamed to pkg/agent/mtls\\_routes.go"), "{md}");
}

#[test]
fn touched_but_verified_claim_is_a_warning_and_passes() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    let first = repo.commit_all("add agent routes");
    let anchors = std::fs::read_to_string(testdata("drift/anchors.yaml"))
        .unwrap()
        .replace("AT", &first.to_string());
    repo.write("anchors.yaml", anchors);
    reword_guard(&mut repo);
    let base = first.to_string();
    let (code, out, _) = run(
        repo.path(),
        &["diff", "--base", &base, "--format", "github"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with(
            "::warning file=pkg/agent/guard.go,line=14,endLine=16,title=anchorcheck ref-touched%3A mtls-guard::"
        )),
        "{out}"
    );
    let (_, md, _) = run(
        repo.path(),
        &["diff", "--base", &base, "--format", "markdown"],
    );
    assert!(md.contains("✅ verified, touched"), "{md}");
}

/// The drift fixture with its docs page and anchors.yaml in `secdocs/` (`repo: ..`), a page
/// citation no ref has, and a claim no page cites: every kind of finding about a path.
fn anchors_in_a_subdirectory() -> TestRepo {
    let mut repo = TestRepo::new();
    let mut first = None;
    for (i, subject) in ["add agent routes", "document them", "split mTLS routes out"]
        .iter()
        .enumerate()
    {
        repo.replace_tree(&testdata(&format!("drift/rev{}", i + 1)), "");
        let page = std::fs::read_to_string(repo.path().join("docs/page.md")).unwrap();
        std::fs::remove_dir_all(repo.path().join("docs")).unwrap();
        repo.write(
            "secdocs/page.md",
            format!("{page}\nHealth checks: `pkg/agent/handlers.go:15-17`.\n"),
        );
        let commit = repo.commit_all(subject);
        first.get_or_insert(commit);
    }
    let anchors = std::fs::read_to_string(testdata("drift/anchors.yaml"))
        .unwrap()
        .replace("AT", &first.unwrap().to_string())
        .replace("version: 1\n", "version: 1\nrepo: ..\n")
        .replace("  - docs/page.md", "  - page.md");
    let uncited = "  - id: heartbeat\n    status: implemented\n    refs:\n      - { path: pkg/agent/handlers.go, lines: 7-9, expect: [{ call: WriteHeader }] }\n";
    repo.write("secdocs/anchors.yaml", format!("{anchors}{uncited}"));
    repo.commit_all("anchors in secdocs");
    repo
}

/// Every path the repository ever held, from its root.
fn paths_in_history(repo: &TestRepo) -> std::collections::HashSet<String> {
    let mut paths = std::collections::HashSet::new();
    let mut walk = repo.repo.revwalk().unwrap();
    walk.push_head().unwrap();
    for id in walk {
        let tree = repo.repo.find_commit(id.unwrap()).unwrap().tree().unwrap();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            paths.insert(format!("{dir}{}", entry.name().unwrap()));
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    }
    paths
}

#[test]
fn every_format_names_files_from_the_repository_root_wherever_anchors_yaml_is() {
    let repo = anchors_in_a_subdirectory();
    let known = paths_in_history(&repo);
    let sub = repo.path().join("secdocs");
    let page = regex::Regex::new(r"[\w./-]*page\.md").unwrap();
    for (dir, anchors) in [
        (repo.path(), Some("secdocs/anchors.yaml")),
        (sub.as_path(), None),
    ] {
        let run_in = |format: &str| {
            let mut args = vec!["diff", "--base", "HEAD~3", "--format", format];
            args.extend(anchors.iter().flat_map(|a| ["--anchors", *a]));
            let (code, out, _) = run(dir, &args);
            assert_eq!(code, 1, "{format}: {out}");
            out
        };
        let placed = |what: &str, path: &str| {
            assert!(
                known.contains(path),
                "{what} names {path}, not a path from the repository root ({dir:?})"
            );
        };

        let github = run_in("github");
        let files: Vec<&str> = github
            .lines()
            .filter_map(|l| l.split_once(" file=").map(|(_, rest)| rest))
            .map(|rest| rest.split([',', ':']).next().unwrap())
            .collect();
        assert!(files.contains(&"secdocs/page.md"), "{github}");
        assert!(files.contains(&"secdocs/anchors.yaml"), "{github}");
        files.iter().for_each(|f| placed("github", f));

        let sarif: serde_json::Value = serde_json::from_str(&run_in("sarif")).unwrap();
        let mut uris = Vec::new();
        for result in sarif["runs"][0]["results"].as_array().unwrap() {
            let locations = result["locations"].as_array().unwrap().iter();
            let related = result["relatedLocations"].as_array().into_iter().flatten();
            for loc in locations.chain(related) {
                let uri = &loc["physicalLocation"]["artifactLocation"]["uri"];
                uris.push(uri.as_str().unwrap().to_string());
            }
        }
        assert!(uris.iter().any(|u| u == "secdocs/page.md"), "{uris:?}");
        uris.iter().for_each(|u| placed("sarif", u));

        let json: serde_json::Value = serde_json::from_str(&run_in("json")).unwrap();
        for d in json["docs"].as_array().unwrap() {
            placed("json docs", d["page"].as_str().unwrap());
        }
        for r in json["claims"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["refs"].as_array().unwrap())
        {
            placed("json ref", r["path"].as_str().unwrap());
            for c in r["cited_by"].as_array().unwrap() {
                placed("json cited_by", c["page"].as_str().unwrap());
            }
        }

        // The people formats name the page the same way.
        for format in ["text", "markdown", "junit"] {
            let out = run_in(format);
            let named: Vec<&str> = page.find_iter(&out).map(|m| m.as_str()).collect();
            assert!(!named.is_empty(), "{format}: {out}");
            assert!(
                named.iter().all(|p| *p == "secdocs/page.md"),
                "{format}: {named:?}"
            );
        }
    }
}

#[test]
fn markdown_and_html_link_to_the_code_at_the_verified_commit() {
    let repo = drift_repo(3).repo;
    repo.repo
        .remote("origin", "git@github.com:zen/agent.git")
        .unwrap();
    let head = repo.repo.head().unwrap().target().unwrap().to_string();
    let (_, md, _) = run(repo.path(), &["verify", "--format", "markdown"]);
    let blob = format!("https://github.com/zen/agent/blob/{head}");
    // The broken guard links to where history last saw its lines (an import above was dropped).
    assert!(
        md.contains(&format!(
            "[pkg/agent/guard.go:14-16 → 13-15]({blob}/pkg/agent/guard.go#L13-L15)"
        )),
        "{md}"
    );
    // The drifted ref links to where its evidence is now, too.
    assert!(
        md.contains(&format!("({blob}/pkg/agent/mtls_routes.go#L")),
        "{md}"
    );

    let (_, md, _) = run(
        repo.path(),
        &[
            "verify",
            "--format",
            "markdown",
            "--link-base",
            "https://git.example/a/b/src/{commit}/{path}?L={start}",
        ],
    );
    assert!(
        md.contains(&format!(
            "(https://git.example/a/b/src/{head}/pkg/agent/guard.go?L=13)"
        )),
        "{md}"
    );

    let page = repo.path().join("audit.html");
    let status = anchorcheck(repo.path())
        .args(["audit", "--html", page.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(&format!("href=\"{blob}/pkg/agent/guard.go#L13-L15\"")),
        "{html}"
    );

    // Uncommitted line numbers belong to no commit: no links.
    let (_, md, _) = run(
        repo.path(),
        &["verify", "--rev", "WORKTREE", "--format", "markdown"],
    );
    assert!(!md.contains("https://github.com/zen/agent"), "{md}");
}

#[test]
fn one_run_writes_several_formats() {
    let repo = drift_repo(3).repo;
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("summary.md");
    let sarif = dir.path().join("out.sarif");
    let (code, github, _) = run(
        repo.path(),
        &[
            "diff",
            "--base",
            "HEAD~2",
            "--format",
            "github",
            "--output",
            &format!("markdown={}", md.display()),
            "--output",
            &format!("sarif={}", sarif.display()),
        ],
    );
    assert_eq!(code, 1, "{github}");
    assert!(github.starts_with("::error "), "{github}");
    let (_, alone, _) = run(
        repo.path(),
        &["diff", "--base", "HEAD~2", "--format", "markdown"],
    );
    assert_eq!(std::fs::read_to_string(&md).unwrap(), alone);
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");

    // A bad spec is a usage error; an unwritable file fails the run, saying which.
    let bad = anchorcheck(repo.path())
        .args(["verify", "--output", "yaml=x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown format `yaml`"));
    let missing = dir.path().join("no/such/dir/out.md");
    let failed = anchorcheck(repo.path())
        .args([
            "verify",
            "--output",
            &format!("markdown={}", missing.display()),
        ])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("cannot write the markdown report to"),
        "{failed:?}"
    );
}
