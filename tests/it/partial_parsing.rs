//! Differential test: parsing only the cited declarations gives exactly the reports (every
//! verdict, message, relocation and culprit) that parsing whole files gives, on the bench's
//! synthetic monorepo and on every fixture.

use std::path::Path;

use crate::common::{TestRepo, anchorcheck, revisions_repo, testdata};
use crate::corpus;
use anchorcheck::go::GoFile;
use anchorcheck::lines::LineRange;

/// `verify --format json` with partial parsing (the default) and with `--whole-files`; both
/// reports must be byte-identical. Returns the report.
fn assert_same_reports(dir: &Path, args: &[&str]) -> serde_json::Value {
    let run = |extra: &[&str]| {
        let out = anchorcheck(dir)
            .arg("verify")
            .args(["--format", "json"])
            .args(args)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.code().unwrap() <= 1, "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let partial = run(&[]);
    let whole = run(&["--whole-files"]);
    assert_eq!(partial, whole, "partial and whole-file parsing disagree");
    serde_json::from_str(&partial).unwrap()
}

fn verdict_counts(report: &serde_json::Value) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for claim in report["claims"].as_array().unwrap() {
        for r in claim["refs"].as_array().unwrap() {
            *counts
                .entry(r["verdict"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn partial_parsing_agrees_with_whole_files_on_the_bench_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let c = corpus::generate(dir.path(), 11, 120, 30, 120, corpus::Shape::DENSE).unwrap();
    std::fs::write(
        dir.path().join("head.yaml"),
        corpus::anchors_yaml(&c, 120, false),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("relocate.yaml"),
        corpus::anchors_yaml(&c, 120, true),
    )
    .unwrap();
    // Each cited declaration cut after its first lines: the constructs whose heads stay cited
    // run past the range end, and must be whole in the partial tree too (issue 12).
    let truncated: String = corpus::anchors_yaml(&c, 120, false)
        .lines()
        .map(|line| match line.trim_start().strip_prefix("lines: ") {
            Some(range) => {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
                line.replace(range, &format!("{a}-{}", a + (b - a) / 3)) + "\n"
            }
            None => format!("{line}\n"),
        })
        .collect();
    std::fs::write(dir.path().join("truncated.yaml"), truncated).unwrap();
    let head = assert_same_reports(dir.path(), &["--anchors", "head.yaml"]);
    let relocated = assert_same_reports(dir.path(), &["--anchors", "relocate.yaml"]);
    let cut = verdict_counts(&assert_same_reports(
        dir.path(),
        &["--anchors", "truncated.yaml"],
    ));
    assert!(cut["verified"] > 20, "{cut:?}");
    // Both paths were exercised: refs that hold (served by the partial tree) and refs that
    // fail there and go to the whole-file parse.
    let head = verdict_counts(&head);
    assert!(head["verified"] > 80, "{head:?}");
    assert!(head.get("broken").is_some_and(|n| *n > 0), "{head:?}");
    let relocated = verdict_counts(&relocated);
    assert!(relocated["drifted"] > 30, "{relocated:?}");

    // And the partial parse really is partial for most cited files.
    let repo = git2::Repository::open(&c.repo).unwrap();
    let tree = repo.head().unwrap().peel_to_tree().unwrap();
    let partial = c
        .refs
        .iter()
        .filter(|r| {
            let blob = repo
                .find_blob(tree.get_path(Path::new(&r.head_path)).unwrap().id())
                .unwrap();
            let range =
                LineRange::parse(&format!("{}-{}", r.head_lines.0, r.head_lines.1)).unwrap();
            GoFile::parse_covering(blob.content(), &[range])
                .unwrap()
                .is_some()
        })
        .count();
    assert!(
        partial * 10 > c.refs.len() * 8,
        "{partial} of {}",
        c.refs.len()
    );
}

#[test]
fn partial_parsing_agrees_with_whole_files_on_the_drift_fixtures() {
    let mut repo = TestRepo::new();
    let mut commits = Vec::new();
    for rev in ["drift/rev1", "drift/rev2", "drift/rev3"] {
        repo.replace_tree(&testdata(rev), "");
        commits.push(repo.commit_all(rev));
    }
    let anchors = std::fs::read_to_string(testdata("drift/anchors.yaml")).unwrap();
    repo.write(
        "with-at.yaml",
        anchors.replace("AT", &commits[0].to_string()),
    );
    let without_at: String = anchors
        .lines()
        .filter(|l| !l.trim_start().starts_with("at: AT"))
        .map(|l| l.replace(", at: AT", "") + "\n")
        .collect();
    repo.write("without-at.yaml", without_at);
    for commit in &commits {
        let rev = commit.to_string();
        for anchors in ["with-at.yaml", "without-at.yaml"] {
            assert_same_reports(repo.path(), &["--anchors", anchors, "--rev", &rev]);
        }
    }
}

#[test]
fn partial_parsing_agrees_with_whole_files_on_the_revision_and_example_fixtures() {
    let mut repo = revisions_repo();
    assert_same_reports(repo.path(), &[]);
    repo.copy_tree(&testdata("revisions/rev2"), "");
    repo.commit_all("rev2");
    assert_same_reports(repo.path(), &[]);

    let mut example = TestRepo::new();
    example.copy_tree(&testdata("zen-mesh"), "testdata/zen-mesh");
    let anchors = Path::new(env!("CARGO_MANIFEST_DIR")).join("anchors.yaml");
    example.write("anchors.yaml", std::fs::read(anchors).unwrap());
    example.commit_all("import zen-mesh");
    let report = assert_same_reports(example.path(), &[]);
    assert!(verdict_counts(&report).contains_key("verified"));
    // Weaken every fatal guard and every route file: failures must read the same too.
    let src = example.path().join("testdata/zen-mesh/src");
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "go") {
                let text = std::fs::read_to_string(&path).unwrap();
                let weakened = text.replace("log.Fatal", "log.Print").replace(
                    "HandleFunc(\"/v1/agent/heartbeat\"",
                    "HandleFunc(\"/v1/agent/beat\"",
                );
                std::fs::write(&path, weakened).unwrap();
            }
        }
    }
    example.commit_all("weaken");
    let report = assert_same_reports(example.path(), &[]);
    assert!(verdict_counts(&report).contains_key("broken"), "{report}");
}

/// Relocation and the culprit search evaluate with `Scope::Range` (failures do not look for a
/// near miss elsewhere). That must never change whether an expectation holds, nor what a
/// success matched and says: every expectation of the example anchors.yaml (and of the
/// hostile corpus) on every top-level declaration of every fixture Go file, both ways.
#[test]
fn range_scope_changes_only_failure_messages() {
    use anchorcheck::anchors::Expectation;
    use anchorcheck::expect::{Scope, evaluate_scoped};
    let mut expectations: Vec<Expectation> = Vec::new();
    let mut anchors_files =
        vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("anchors.yaml")];
    for entry in std::fs::read_dir(testdata("hostile")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            anchors_files.push(path);
        }
    }
    for path in &anchors_files {
        let source = std::fs::read_to_string(path).unwrap();
        if let Ok(file) = anchorcheck::anchors::parse(&source, path, path) {
            for claim in &file.claims {
                for r in &claim.refs {
                    expectations.extend(r.expect.iter().cloned());
                }
            }
        }
    }
    // The same question asked twice proves nothing more.
    let mut seen = std::collections::HashSet::new();
    expectations.retain(|e| seen.insert(format!("{e:?}")));
    assert!(expectations.len() > 20, "{}", expectations.len());
    let mut go_files = Vec::new();
    let mut dirs = vec![testdata("zen-mesh"), testdata("hostile"), testdata("drift")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "go") {
                go_files.push(path);
            }
        }
    }
    let (mut compared, mut held) = (0, 0);
    for path in go_files {
        let Ok(file) = GoFile::parse(std::fs::read(&path).unwrap()) else {
            continue;
        };
        let mut regions = anchorcheck::go::symbols::top_level_ranges(&file);
        regions.extend(file.full_range());
        for region in regions {
            for e in &expectations {
                let whole = evaluate_scoped(e, &file, region, Scope::File);
                let alone = evaluate_scoped(e, &file, region, Scope::Range);
                assert_eq!(whole.ok, alone.ok, "{} {region}: {e:?}", path.display());
                if whole.ok {
                    assert_eq!(whole, alone, "{} {region}", path.display());
                    held += 1;
                }
                compared += 1;
            }
        }
    }
    eprintln!(
        "{} expectations: {compared} compared, {held} held",
        expectations.len()
    );
    assert!(
        compared > 10_000 && held > 100,
        "{compared} compared, {held} held"
    );
}

/// The first check parses the cited declarations alone for `call` and `fail_closed` refs,
/// and the full plan (or the whole file) for what those leave out: a returned package-level
/// variable, a symbol declared elsewhere in the file, a file of mostly imports and variables.
/// The reports are the whole-file parse's, holding and failing.
#[test]
fn the_cited_declarations_alone_agree_with_whole_files() {
    let padding: String = (0..30)
        .map(|i| format!("func pad{i}() {{\n\tx := {i}\n\t_ = x\n}}\n\n"))
        .collect();
    let auth = format!(
        "package svc\n\nimport (\n\t\"errors\"\n\t\"log\"\n)\n\nvar denied = errors.New(\"denied\")\n\nconst limit = 3\n\n{padding}func check(ok bool) error {{\n\tif !ok {{\n\t\treturn denied\n\t}}\n\treturn nil\n}}\n\nfunc serve(n int) {{\n\tif n > limit {{\n\t\tlog.Fatal(\"too many\")\n\t}}\n\tlog.Println(\"serving\")\n}}\n\n{padding}"
    );
    let imports: String = (0..30)
        .map(|i| format!("\t\"example.com/p{i}\"\n"))
        .collect();
    let vars: String = (0..30)
        .map(|i| format!("var v{i} = p{i}.New()\n"))
        .collect();
    let small = format!(
        "package svc\n\nimport (\n\t\"log\"\n{imports})\n\n{vars}\nfunc f() {{\n\tlog.Println(v1)\n}}\n"
    );
    let line_of =
        |src: &str, needle: &str| src.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let check = line_of(&auth, "func check");
    let serve = line_of(&auth, "func serve");
    let f = line_of(&small, "func f");
    let refs = [
        (
            "serve-call",
            "svc/auth.go",
            format!("{serve}-{}", serve + 5),
            "{call: 'log.Println'}",
            "",
        ),
        (
            "serve-guard",
            "svc/auth.go",
            format!("{serve}-{}", serve + 5),
            "{fail_closed: {when: '^n$'}}",
            "serve",
        ),
        (
            "check-guard",
            "svc/auth.go",
            format!("{check}-{}", check + 5),
            "{fail_closed: {when: '^ok$'}}",
            "check",
        ),
        (
            "wrong-symbol",
            "svc/auth.go",
            format!("{serve}-{}", serve + 5),
            "{call: 'log.Println'}",
            "nowhere",
        ),
        (
            "missing-call",
            "svc/auth.go",
            format!("{serve}-{}", serve + 5),
            "{call: 'os.Exit'}",
            "",
        ),
        (
            "small-call",
            "svc/small.go",
            format!("{f}-{}", f + 2),
            "{call: 'log.Println'}",
            "f",
        ),
    ];
    let mut anchors = String::from("version: 1\nclaims:\n");
    for (id, path, lines, expect, symbol) in &refs {
        let symbol = if symbol.is_empty() {
            String::new()
        } else {
            format!("        symbol: '{symbol}'\n")
        };
        anchors.push_str(&format!(
            "  - id: {id}\n    status: implemented\n    refs:\n      - path: '{path}'\n        lines: {lines}\n{symbol}        expect:\n          - {expect}\n"
        ));
    }
    let mut repo = TestRepo::new();
    repo.write("svc/auth.go", &auth);
    repo.write("svc/small.go", &small);
    repo.write("anchors.yaml", &anchors);
    repo.commit_all("svc");
    let report = assert_same_reports(repo.path(), &[]);
    let verdict = |id: &str| {
        crate::common::claim_ref(&report, id)["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for id in ["serve-call", "serve-guard", "check-guard", "small-call"] {
        assert_eq!(verdict(id), "verified", "{id}: {report}");
    }
    assert_eq!(verdict("missing-call"), "broken", "{report}");
}
