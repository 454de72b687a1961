//! Issue 23's resource rows: one work budget per run that relocation search, queries, regexes
//! and the history walk's parses draw from as they work; a ref it cuts short is an `error`
//! naming `--work-budget`, never a verdict made from half the work.

use crate::common::{TestRepo, anchorcheck, verify_json};

/// `n` functions of six lines each from line 3, each with a guard.
fn guarded_functions(n: usize) -> String {
    let mut s = String::from("package big\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "func f{i}(x int) int {{\n\tif x > {i} {{\n\t\treturn x\n\t}}\n\treturn {i}\n}}\n"
        ));
    }
    s
}

/// anchors.yaml with one claim per (id, path, lines, expectations).
fn anchors(refs: &[(&str, &str, &str, &[&str])]) -> String {
    let mut out = String::from("version: 1\nclaims:\n");
    for (id, path, lines, expect) in refs {
        out.push_str(&format!(
            "  - id: {id}\n    status: required\n    refs:\n      - path: {path}\n        lines: {lines}\n        expect:\n"
        ));
        for e in *expect {
            out.push_str(&format!("          - {e}\n"));
        }
    }
    out
}

fn verdict_and_error(json: &serde_json::Value, claim: usize) -> (String, String) {
    let r = &json["claims"][claim]["refs"][0];
    (
        r["verdict"].as_str().unwrap_or_default().to_string(),
        r["error"].as_str().unwrap_or_default().to_string(),
    )
}

fn exhausted(error: &str) -> bool {
    error.contains("work budget exhausted") && error.contains("--work-budget")
}

/// Row 2: a raw query of unanchored wildcards, relocated over 3,000 functions, took 81 s (four
/// of them 282 s): the per-query limits held in each window, but nothing bounded the windows.
#[test]
fn a_query_searched_for_over_every_declaration_is_cut_by_the_budget() {
    let wild = "query: \"((_ (_)* @a (_)* @b (_)* @c (_)* @d) @x)\"";
    let mut repo = TestRepo::new();
    repo.write("big.go", guarded_functions(3_000));
    repo.write(
        "small.go",
        "package big\n\nfunc a() {}\n\nfunc b() {\n\tmoved()\n}\n",
    );
    repo.write(
        "anchors.yaml",
        anchors(&[
            (
                "hostile",
                "big.go",
                "3-8",
                &[wild, wild, wild, wild, "identifier: nowhere"],
            ),
            ("ordinary", "small.go", "3", &["call: moved"]),
        ]),
    );
    repo.commit_all("functions");
    let (code, json) = verify_json(repo.path(), &["--history-depth", "0"]);
    assert_eq!(code, 1);
    let (verdict, error) = verdict_and_error(&json, 0);
    assert_eq!(verdict, "error", "{json}");
    assert!(exhausted(&error), "{error}");
    assert!(json["claims"][0]["refs"][0]["relocated"].is_null());
    // An ordinary ref is searched and found as before.
    let (verdict, _) = verdict_and_error(&json, 1);
    assert_eq!(verdict, "drifted", "{json}");
}

/// Row 1: every file had its own relocation budget, so the work grew with the number of files
/// holding a failing ref. The budget is the run's: once one search spent it, the next is cut.
#[test]
fn files_share_one_budget_per_run() {
    let mut repo = TestRepo::new();
    let mut refs = Vec::new();
    for name in ["a", "b", "c"] {
        repo.write(&format!("{name}.go"), guarded_functions(500));
        refs.push(name);
    }
    let paths: Vec<String> = refs.iter().map(|n| format!("{n}.go")).collect();
    let claims: Vec<(&str, &str, &str, &[&str])> = refs
        .iter()
        .zip(&paths)
        .map(|(n, p)| (*n, p.as_str(), "3-8", &["text: nowhere"][..]))
        .collect();
    repo.write("anchors.yaml", anchors(&claims));
    repo.commit_all("three files");
    let verdicts = |budget: &str| -> Vec<(String, String)> {
        let output = anchorcheck(repo.path())
            .env("RAYON_NUM_THREADS", "1")
            .args(["verify", "--format", "json", "--history-depth", "0"])
            .args(["--work-budget", budget])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        (0..3).map(|i| verdict_and_error(&json, i)).collect()
    };
    // Alone, each search fits: all three are broken (the text is nowhere).
    assert!(
        verdicts("100000000").iter().all(|(v, _)| v == "broken"),
        "{:?}",
        verdicts("100000000")
    );
    // One search's worth: the first file searched is broken, the other two are cut.
    let cut = verdicts("1000000");
    assert_eq!(
        cut.iter().filter(|(v, _)| v == "broken").count(),
        1,
        "{cut:?}"
    );
    let errors: Vec<&String> = cut
        .iter()
        .filter(|(v, _)| v == "error")
        .map(|(_, e)| e)
        .collect();
    assert_eq!(errors.len(), 2, "{cut:?}");
    assert!(errors.iter().all(|e| exhausted(e)), "{cut:?}");
}

/// Row 3: a ref without `at` whose file changed in many commits parsed every version (and kept
/// them: 7.9 GB for 200 versions of 2.6 MB). The walk's parses draw on the budget: cut short,
/// the ref is an error, not a verdict made from the versions it did read.
#[test]
fn the_history_walk_parses_versions_within_the_budget() {
    let mut repo = TestRepo::new();
    repo.write(
        "anchors.yaml",
        anchors(&[("walk", "gen.go", "3-8", &["text: nowhere"])]),
    );
    for k in 0..6 {
        repo.write(
            "gen.go",
            format!(
                "{}\nfunc version() int {{ return {k} }}\n",
                guarded_functions(2_000)
            ),
        );
        repo.commit_all(&format!("version {k}"));
    }
    // Enough to search the file once, not to parse its five earlier versions (136 KB each).
    let (code, json) = verify_json(repo.path(), &["--work-budget", "60000000"]);
    assert_eq!(code, 1);
    let (verdict, error) = verdict_and_error(&json, 0);
    assert_eq!(verdict, "error", "{json}");
    assert!(exhausted(&error), "{error}");
    // Without the walk the same budget searches the file: the text is nowhere.
    let (_, json) = verify_json(
        repo.path(),
        &["--work-budget", "60000000", "--history-depth", "0"],
    );
    assert_eq!(verdict_and_error(&json, 0).0, "broken", "{json}");
    // And with the default budget the walk completes.
    let (_, json) = verify_json(repo.path(), &[]);
    assert_eq!(verdict_and_error(&json, 0).0, "broken", "{json}");
}
