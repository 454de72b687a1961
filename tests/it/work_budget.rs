//! Issue 23's resource rows: one work budget per run that relocation search, queries and regexes
//! draw from as they work, and (issue 24) one per file for the walk back through its history,
//! which its versions' parses draw from; a ref a budget cuts short is an `error` naming
//! `--work-budget`, never a verdict made from half the work.

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

/// Issue 24: version `k` of a file of the per-file walk fixture: `check` (which the refs cite,
/// at lines 3-8 in version 0) below `k` functions inserted above it since, then 1,000 others.
fn pushed_down(k: usize) -> String {
    let mut s = String::from("package big\n\n");
    for i in 0..k {
        s.push_str(&format!("func added{i}() int {{\n\treturn {i}\n}}\n\n"));
    }
    s.push_str("func check(token string) error {\n\tif token == \"\" {\n\t\treturn errMissing\n\t}\n\treturn nil\n}\n");
    s.push_str(guarded_functions(1_000).trim_start_matches("package big\n"));
    s
}

/// Three files whose `check` was pushed down by a function inserted above it in each of five
/// commits, two refs without `at` per file citing it where it was first (3-8). Returns the
/// repository and the steps the walk back through one file's history takes: its four versions
/// between the first and the verified one parsed whole (the cited lines hold in none of them).
fn pushed_down_repo() -> (TestRepo, u64) {
    let mut repo = TestRepo::new();
    let files = ["a.go", "b.go", "c.go"];
    let mut claims = String::from("version: 1\nclaims:\n");
    for f in files {
        claims.push_str(&format!(
            "  - id: {}\n    status: required\n    refs:\n      - path: {f}\n        lines: 3-8\n        expect:\n          - text: errMissing\n      - path: {f}\n        lines: 3-8\n        expect:\n          - identifier: errMissing\n",
            f.trim_end_matches(".go")
        ));
    }
    repo.write("anchors.yaml", claims);
    for k in 0..6 {
        for f in files {
            repo.write(f, pushed_down(k));
        }
        repo.commit_all(&format!("insert a function above check ({k})"));
    }
    let walk: u64 = (1..5).map(|k| pushed_down(k).len() as u64 * 300).sum();
    (repo, walk)
}

fn verdicts_and_errors(json: &serde_json::Value) -> Vec<(String, String)> {
    json["claims"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["refs"].as_array().unwrap())
        .map(|r| {
            (
                r["verdict"].as_str().unwrap_or_default().to_string(),
                r["error"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The JSON report of `verify --work-budget budget` on `threads` threads.
fn report_on_threads(repo: &TestRepo, budget: &str, threads: usize) -> Vec<u8> {
    let output = anchorcheck(repo.path())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .args(["verify", "--format", "json", "--work-budget", budget])
        .output()
        .unwrap();
    output.stdout
}

/// Issue 24: refs without `at` verified 200 commits later ended in `error: work budget
/// exhausted` (traefik 1,150 of 2,677) though each file's walk back fit the budget easily: the
/// walks of all files drew from the run's one budget, and which refs it cut depended on the
/// threads. Each file's walk now has a budget of its own.
#[test]
fn each_files_walk_back_through_history_has_its_own_budget() {
    let (repo, walk) = pushed_down_repo();
    // Enough for one file's walk, not for the three.
    let budget = (walk + walk / 2).to_string();
    let (code, json) = verify_json(repo.path(), &["--work-budget", &budget]);
    let verdicts = verdicts_and_errors(&json);
    assert_eq!(verdicts.len(), 6);
    assert!(verdicts.iter().all(|(v, _)| v == "drifted"), "{verdicts:?}");
    assert_eq!(code, 1, "drifted refs fail verify");
    // Each followed to where `check` went: 5 functions of 4 lines inserted above it.
    for c in json["claims"].as_array().unwrap() {
        for r in c["refs"].as_array().unwrap() {
            assert_eq!(r["relocated"]["lines"], "23-28", "{r}");
        }
    }
    // The same report on any number of threads.
    let one = report_on_threads(&repo, &budget, 1);
    for threads in [2, 4] {
        assert!(
            one == report_on_threads(&repo, &budget, threads),
            "{threads} threads"
        );
    }
}

/// One file's walk back that alone exceeds the budget is still cut short, as before: its refs
/// are errors naming the file and the flag, the same on any number of threads.
#[test]
fn a_walk_back_through_one_file_beyond_the_budget_is_cut_short_naming_it() {
    let (repo, walk) = pushed_down_repo();
    let budget = (walk / 2).to_string();
    let (code, json) = verify_json(repo.path(), &["--work-budget", &budget]);
    assert_eq!(code, 1);
    for c in json["claims"].as_array().unwrap() {
        for r in c["refs"].as_array().unwrap() {
            let error = r["error"].as_str().unwrap_or_default();
            assert_eq!(r["verdict"], "error", "{r}");
            assert!(exhausted(error), "{error}");
            let path = r["path"].as_str().unwrap();
            assert!(
                error.contains(&format!("history of {path}")),
                "names the file: {error}"
            );
            assert!(r["relocated"].is_null(), "{r}");
            // Not that it held in no earlier commit: the walk never got there.
            assert_eq!(
                r["notes"][0],
                format!(
                    "no `at`, and the walk back to where it last held at {path}:3-8 was cut short"
                ),
                "{r}"
            );
        }
    }
    let one = report_on_threads(&repo, &budget, 1);
    for threads in [2, 4] {
        assert!(
            one == report_on_threads(&repo, &budget, threads),
            "{threads} threads"
        );
    }
}
