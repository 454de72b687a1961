//! Drift: relocation through history, symbols and search, culprits, and `fix`.

use crate::common::{TestRepo, anchorcheck, claim_ref, drift_repo, testdata, verify_json};
use predicates::prelude::*;
use predicates::str::contains;

#[test]
fn unchanged_history_verifies() {
    let d = drift_repo(1);
    let (code, report) = verify_json(d.repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn insertion_above_is_drifted_by_history_and_names_the_commit() {
    let d = drift_repo(2);
    let (code, report) = verify_json(d.repo.path(), &[]);
    assert_eq!(code, 1);
    let routes = claim_ref(&report, "agent-routes");
    assert_eq!(routes["verdict"], "drifted", "{routes:#}");
    assert_eq!(routes["relocated"]["how"], "history");
    assert_eq!(routes["relocated"]["path"], "pkg/agent/routes.go");
    assert_eq!(routes["relocated"]["lines"], "9-12");
    assert_eq!(routes["culprit"]["kind"], "moved");
    assert_eq!(routes["culprit"]["commit"], d.commits[1].to_string());
    assert_eq!(routes["culprit"]["subject"], "document the agent routes");
    assert_eq!(claim_ref(&report, "mtls-guard")["verdict"], "verified");
    // --allow-drift lets drift (and the docs citations it left stale) pass.
    let (code, _) = verify_json(d.repo.path(), &["--allow-drift"]);
    assert_eq!(code, 0);
}

#[test]
fn a_file_edited_in_many_commits_is_followed_through_every_edit() {
    // Twenty commits each add a line above the cited guard. The walk diffs a file's versions
    // in stretches (several tasks for a file edited this often, each reading its first old
    // version itself): every edit moves the guard on by its line, none is skipped or doubled.
    let file = |notes: usize| {
        let notes: String = (0..notes).map(|i| format!("// note {i}\n")).collect();
        format!(
            "package transport\n\nimport (\n\t\"errors\"\n\t\"net/http\"\n)\n\n{notes}func requireClientCert(r *http.Request) error {{\n\tif r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {{\n\t\treturn errors.New(\"mtls: client certificate required\")\n\t}}\n\treturn nil\n}}\n"
        )
    };
    let mut repo = TestRepo::new();
    repo.write("listener.go", file(0));
    let at = repo.commit_all("guard");
    for k in 1..=20 {
        repo.write("listener.go", file(k));
        repo.commit_all(&format!("note {k}"));
    }
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: mtls\n    status: required\n    refs:\n      - path: listener.go\n        lines: 9-11\n        at: {at}\n        expect:\n          - fail_closed: {{ when: VerifiedChains }}\n"
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let guard = claim_ref(&report, "mtls");
    assert_eq!(guard["verdict"], "drifted", "{guard:#}");
    assert_eq!(guard["relocated"]["how"], "history");
    assert_eq!(guard["relocated"]["lines"], "29-31", "{guard:#}");
}

#[test]
fn rename_and_weakening_across_commits() {
    let d = drift_repo(3);
    let (code, report) = verify_json(d.repo.path(), &[]);
    assert_eq!(code, 1);
    let routes = claim_ref(&report, "agent-routes");
    assert_eq!(routes["verdict"], "drifted", "{routes:#}");
    assert_eq!(routes["relocated"]["path"], "pkg/agent/mtls_routes.go");
    assert_eq!(routes["relocated"]["lines"], "11-14");
    let guard = claim_ref(&report, "mtls-guard");
    assert_eq!(guard["verdict"], "broken", "{guard:#}");
    assert_eq!(guard["culprit"]["kind"], "broke");
    assert_eq!(guard["culprit"]["short"], &d.commits[2].to_string()[..7]);
    assert_eq!(guard["culprit"]["subject"], "split mTLS routes out");
    let text = anchorcheck(d.repo.path()).arg("verify").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(&format!("broken since {} ", &d.commits[2].to_string()[..7])),
        "{text}"
    );
}

#[test]
fn without_at_or_its_history_symbol_then_search_relocate() {
    let d = drift_repo(2);
    // Drop `at` and the search for it (--history-depth 0): history cannot help, the symbol can.
    let anchors = std::fs::read_to_string(d.repo.path().join("anchors.yaml")).unwrap();
    let no_at: String = anchors
        .lines()
        .filter(|l| !l.trim_start().starts_with("at:"))
        .map(|l| l.replace(&format!(", at: {}", d.commits[0]), "") + "\n")
        .collect();
    d.repo.write("anchors.yaml", &no_at);
    let (_, report) = verify_json(d.repo.path(), &["--history-depth", "0"]);
    let routes = claim_ref(&report, "agent-routes");
    assert_eq!(routes["verdict"], "drifted", "{routes:#}");
    assert_eq!(routes["relocated"]["how"], "symbol");
    // Issue 12: the ref cited the whole function (6-9), so it moves to the whole function,
    // not to the two registrations inside it.
    assert_eq!(routes["relocated"]["lines"], "9-12");
    assert!(routes["culprit"].is_null());

    // Without the symbol either, search finds the one declaration holding the routes.
    d.repo.write(
        "anchors.yaml",
        no_at.replace("        symbol: registerAgentRoutes\n", ""),
    );
    let (_, report) = verify_json(d.repo.path(), &["--history-depth", "0"]);
    let routes = claim_ref(&report, "agent-routes");
    assert_eq!(routes["relocated"]["how"], "search", "{routes:#}");
    assert_eq!(routes["relocated"]["lines"], "9-12");
}

#[test]
fn several_places_are_ambiguous_and_listed_best_first() {
    let mut repo = TestRepo::new();
    let go = "package p\n\nimport \"log\"\n\nfunc a() {\n\tlog.Fatal(\"a\")\n}\n\nfunc b() {\n\tlog.Fatal(\"b\")\n}\n\nfunc c() {\n\tlog.Fatal(\"c\")\n}\n";
    repo.write("p/p.go", go);
    repo.write(
        "anchors.yaml",
        "version: 1\nclaims:\n  - id: dies\n    status: implemented\n    refs:\n      - path: p/p.go\n        lines: 1-2\n        expect: [{call: log.Fatal}]\n",
    );
    repo.commit_all("three fatal funcs");
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let r = claim_ref(&report, "dies");
    assert_eq!(r["verdict"], "ambiguous");
    let candidates: Vec<&str> = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["lines"].as_str().unwrap())
        .collect();
    // Nothing is known of the two cited lines but their number: each candidate is the
    // enclosing span nearest that length, the longer on ties (a function, not its call).
    assert_eq!(candidates, ["5-7", "9-11", "13-15"]);
    assert!(r["relocated"].is_null());
}

/// `a` lost its fatal exit from the cited line 4 to line 5; `b` and `c` have one too.
const THREE_FATALS: &str = "package p\n\nfunc a() {\n\tsetup()\n\tlog.Fatal(\"a\")\n}\n\nfunc b() {\n\tlog.Fatal(\"b\")\n}\n\nfunc c() {\n\tlog.Fatal(\"c\")\n}\n";

fn ambiguous_repo(claims: &[&str]) -> TestRepo {
    let mut repo = TestRepo::new();
    repo.write("p/p.go", THREE_FATALS);
    let mut anchors = String::from("version: 1\nclaims:\n");
    for id in claims {
        anchors.push_str(&format!(
            "  - id: {id}\n    status: implemented\n    refs:\n      - path: p/p.go\n        lines: 4\n        expect: [{{call: log.Fatal}}]\n"
        ));
    }
    repo.write("anchors.yaml", anchors);
    repo.commit_all("three fatal funcs");
    repo
}

#[test]
fn ambiguous_candidates_say_why_they_rank_as_they_do() {
    let repo = ambiguous_repo(&["dies"]);
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let r = claim_ref(&report, "dies");
    assert_eq!(r["verdict"], "ambiguous", "{r:#}");
    let candidates = r["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 3, "{r:#}");
    // The one in the declaration the cited line was in comes first, though not by distance alone.
    assert_eq!(candidates[0]["lines"], "5");
    assert_eq!(candidates[0]["same_declaration"], true);
    assert_eq!(candidates[0]["distance"], 1);
    assert_eq!(candidates[0]["how"], "search");
    for c in &candidates[1..] {
        assert_eq!(c["same_declaration"], false, "{c:#}");
    }
    assert!(
        candidates[0]["why"]
            .as_str()
            .unwrap()
            .starts_with("1 line from the cited place, "),
        "{:#}",
        candidates[0]
    );
    let text = anchorcheck(repo.path()).arg("verify").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("candidate 1: p/p.go:5: 1 line from the cited place"),
        "{text}"
    );
    assert!(text.contains("in the same declaration"), "{text}");
    assert!(
        text.contains("to take one: anchorcheck fix --claim dies --pick N"),
        "{text}"
    );
}

#[test]
fn fix_pick_takes_the_chosen_candidate_and_refuses_what_it_cannot_tell() {
    let repo = ambiguous_repo(&["dies"]);
    let before = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    // Out of range: refused, nothing written.
    anchorcheck(repo.path())
        .args(["fix", "--pick", "9"])
        .assert()
        .code(2)
        .stderr(contains("has 3 candidates; --pick takes 1 to 3"));
    assert_eq!(
        std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap(),
        before
    );
    anchorcheck(repo.path())
        .args(["fix", "--pick", "2"])
        .assert()
        .code(0)
        .stdout(contains(
            "picked candidate 2 for claim dies (p/p.go:4): p/p.go:9",
        ));
    let after = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    assert!(after.contains("lines: 9\n"), "{after}");
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");

    // Two ambiguous refs: a number alone does not say whose; --claim does.
    let repo = ambiguous_repo(&["one", "two"]);
    anchorcheck(repo.path())
        .args(["fix", "--pick", "1"])
        .assert()
        .code(2)
        .stderr(contains("2 refs are ambiguous"));
    anchorcheck(repo.path())
        .args(["fix", "--pick", "1", "--claim", "two"])
        .assert()
        .code(0);
    let (_, report) = verify_json(repo.path(), &[]);
    assert_eq!(claim_ref(&report, "one")["verdict"], "ambiguous");
    assert_eq!(claim_ref(&report, "two")["verdict"], "verified");
}

#[test]
fn missing_at_commit_says_history_unavailable_and_still_relocates() {
    let d = drift_repo(2);
    let anchors = std::fs::read_to_string(d.repo.path().join("anchors.yaml"))
        .unwrap()
        .replace(
            &d.commits[0].to_string(),
            "0123456789abcdef0123456789abcdef01234567",
        );
    d.repo.write("anchors.yaml", anchors);
    let (_, report) = verify_json(d.repo.path(), &[]);
    let routes = claim_ref(&report, "agent-routes");
    let notes = routes["notes"].to_string();
    assert!(
        notes.contains("history unavailable: commit 0123456789abcdef0123456789abcdef01234567 is not in this repository (shallow clone?)"),
        "{notes}"
    );
    assert_eq!(routes["verdict"], "drifted");
    assert_eq!(routes["relocated"]["how"], "symbol");
}

#[test]
fn fix_rewrites_anchors_and_docs_and_is_idempotent() {
    let d = drift_repo(3);
    let head = d.commits[2].to_string();
    let before = std::fs::read_to_string(d.repo.path().join("anchors.yaml")).unwrap();

    // --dry-run shows the diff and changes nothing.
    anchorcheck(d.repo.path())
        .args(["fix", "--dry-run"])
        .assert()
        .code(1)
        .stdout(
            contains("-        lines: \"6-9\"")
                .and(contains("+        lines: \"11-14\""))
                .and(contains("+      - path: pkg/agent/mtls_routes.go"))
                .and(
                    contains("+`pkg/agent/mtls_routes.go:11-14`")
                        .or(contains("mtls_routes.go:11-14")),
                )
                .and(contains("left alone mtls-guard")),
        );
    assert_eq!(
        std::fs::read_to_string(d.repo.path().join("anchors.yaml")).unwrap(),
        before
    );

    anchorcheck(d.repo.path())
        .arg("fix")
        .assert()
        .code(1)
        .stdout(contains(
            "fixed agent-routes: pkg/agent/routes.go:6-9 -> pkg/agent/mtls_routes.go:11-14",
        ));
    let after = std::fs::read_to_string(d.repo.path().join("anchors.yaml")).unwrap();
    let expected = before
        .replace(
            "path: pkg/agent/routes.go",
            "path: pkg/agent/mtls_routes.go",
        )
        .replacen("lines: \"6-9\"", "lines: \"11-14\"", 1)
        .replacen(&format!("at: {}", d.commits[0]), &format!("at: {head}"), 1);
    assert_eq!(
        after, expected,
        "only the drifted ref's scalars change; comments and quoting stay"
    );
    let page = std::fs::read_to_string(d.repo.path().join("docs/page.md")).unwrap();
    assert!(page.contains("`pkg/agent/mtls_routes.go:11-14`"), "{page}");
    assert!(
        page.contains("guard.go#L14-L16"),
        "the broken ref's citation is left alone"
    );

    // Now the routes verify; a second fix changes nothing.
    let (_, report) = verify_json(d.repo.path(), &[]);
    assert_eq!(
        claim_ref(&report, "agent-routes")["verdict"],
        "verified",
        "{report:#}"
    );
    anchorcheck(d.repo.path())
        .arg("fix")
        .assert()
        .stdout(contains("nothing to fix"));
    assert_eq!(
        std::fs::read_to_string(d.repo.path().join("anchors.yaml")).unwrap(),
        after
    );
}

#[test]
fn fix_sets_at_on_verified_refs_and_keeps_crlf_and_flow_style() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    let head = repo.commit_all("add agent routes").to_string();
    let anchors = "version: 1\r\n# routes\r\nclaims:\r\n  - id: r\r\n    status: required\r\n    refs:\r\n      - path: pkg/agent/routes.go\r\n        lines: 6-9   # the func\r\n        expect: [{call: mtlsMux.HandleFunc}]\r\n      - { path: pkg/agent/guard.go, lines: 14-16, expect: [{ fail_closed: { when: \"(?i)mtls\" } }] }\r\n";
    repo.write("anchors.yaml", anchors);
    anchorcheck(repo.path())
        .arg("fix")
        .assert()
        .code(0)
        .stdout(contains("set `at` on 2 verified ref(s)"));
    let after = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    let expected = anchors
        .replace(
            "        lines: 6-9   # the func\r\n",
            &format!("        lines: 6-9   # the func\r\n        at: {head}\r\n"),
        )
        .replace("lines: 14-16,", &format!("lines: 14-16, at: {head},"));
    assert_eq!(after, expected);
    let (code, _) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0);
}

#[test]
fn symbol_moved_to_another_file_of_the_package_is_drifted_there() {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    repo.commit_all("add agent routes");
    // Fold routes.go into handlers.go: no rename to follow, but the symbol is in the package.
    let routes = std::fs::read_to_string(repo.path().join("pkg/agent/routes.go")).unwrap();
    let body = routes.split_once("import \"net/http\"\n").unwrap().1;
    let mut handlers = std::fs::read_to_string(repo.path().join("pkg/agent/handlers.go")).unwrap();
    handlers.push_str(body);
    repo.write("pkg/agent/handlers.go", &handlers);
    std::fs::remove_file(repo.path().join("pkg/agent/routes.go")).unwrap();
    repo.commit_all("merge routes into handlers");
    let anchors = "version: 1\nclaims:\n  - id: routes\n    status: required\n    refs:\n      - path: pkg/agent/routes.go\n        lines: 6-9\n        symbol: registerAgentRoutes\n        expect:\n          - routes: { on: mtlsMux, paths: [/v1/agent/heartbeat] }\n";
    repo.write("anchors.yaml", anchors);
    let line = handlers
        .lines()
        .position(|l| l.starts_with("func registerAgentRoutes"))
        .unwrap()
        + 1;
    // Without history (--history-depth 0), the symbol is found in the package. The ref cited
    // the whole function (6-9): it moves to the whole function.
    let (code, report) = verify_json(repo.path(), &["--history-depth", "0"]);
    assert_eq!(code, 1);
    let r = claim_ref(&report, "routes");
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["how"], "symbol");
    assert_eq!(r["relocated"]["path"], "pkg/agent/handlers.go");
    assert_eq!(r["relocated"]["lines"], format!("{line}-{}", line + 3));
    // With it, history follows the function into handlers.go, keeping the cited shape.
    let (_, report) = verify_json(repo.path(), &[]);
    let r = claim_ref(&report, "routes");
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["how"], "history");
    assert_eq!(r["relocated"]["path"], "pkg/agent/handlers.go");
    assert_eq!(r["relocated"]["lines"], format!("{line}-{}", line + 3));
}

#[test]
fn file_renamed_after_its_cited_lines_were_deleted_is_still_followed() {
    let mut repo = TestRepo::new();
    let fields: String = (0..12).map(|i| format!("\tfield{i} string\n")).collect();
    let config =
        format!("type config struct {{\n\trequireMTLS bool\n\tcaFile      string\n{fields}}}\n");
    let check = "func check(cfg config) error {\n\tif cfg.requireMTLS && cfg.caFile == \"\" {\n\t\treturn errors.New(\"mtls required\")\n\t}\n\treturn nil\n}\n";
    let header = "package agent\n\nimport \"errors\"\n\n";
    let first = format!("{header}{config}\n{check}");
    let guard_line = first
        .lines()
        .position(|l| l.contains("if cfg.requireMTLS"))
        .unwrap()
        + 1;
    repo.write("pkg/agent/a.go", &first);
    let at = repo.commit_all("add the guard").to_string();
    // The function moves above the (much longer) struct: git's diff sees every cited line
    // deleted, and the move search finds them above the struct...
    repo.write("pkg/agent/a.go", format!("{header}{check}\n{config}"));
    repo.commit_all("reorder");
    // ...from where history keeps following them, into the file's new name.
    std::fs::rename(
        repo.path().join("pkg/agent/a.go"),
        repo.path().join("pkg/agent/guard.go"),
    )
    .unwrap();
    repo.commit_all("rename a.go");
    let anchors = format!(
        "version: 1\nclaims:\n  - id: guard\n    status: required\n    refs:\n      - path: pkg/agent/a.go\n        lines: {}-{}\n        at: {at}\n        expect: [{{ fail_closed: {{ when: \"(?i)mtls\" }} }}]\n",
        guard_line,
        guard_line + 2
    );
    repo.write("anchors.yaml", anchors);
    let (_, report) = verify_json(repo.path(), &[]);
    let r = claim_ref(&report, "guard");
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "pkg/agent/guard.go");
    assert_eq!(r["relocated"]["how"], "history");
    assert!(
        r["relocated"]["detail"].is_null(),
        "not another file: {r:#}"
    );
    assert_eq!(r["relocated"]["lines"], "6-8");
}

#[test]
fn a_broken_ref_in_a_renamed_file_shows_its_lines_under_the_new_name() {
    let mut repo = TestRepo::new();
    let guard = "package agent\n\nimport \"errors\"\n\nfunc check(mtls bool) error {\n\tif !mtls {\n\t\treturn errors.New(\"mtls required\")\n\t}\n\treturn nil\n}\n";
    repo.write("pkg/agent/a.go", guard);
    let at = repo.commit_all("add the guard");
    std::fs::remove_file(repo.path().join("pkg/agent/a.go")).unwrap();
    repo.write(
        "pkg/agent/guard.go",
        guard.replace(
            "\t\treturn errors.New(\"mtls required\")\n",
            "\t\t_ = errors.New(\"mtls required\")\n",
        ),
    );
    repo.commit_all("rename a.go, and let it through");
    repo.write(
        "anchors.yaml",
        format!("version: 1\nclaims:\n  - id: guard\n    status: required\n    refs:\n      - path: pkg/agent/a.go\n        lines: 6-8\n        at: {at}\n        expect: [{{ fail_closed: {{ when: mtls }} }}]\n"),
    );
    let text = anchorcheck(repo.path()).arg("verify").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("guard: pkg/agent/a.go:6-8 is broken"),
        "{text}"
    );
    assert!(text.contains("--> pkg/agent/guard.go:6:"), "{text}");
}
