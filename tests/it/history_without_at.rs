//! Refs without `at` that no longer hold at their cited place: history is followed from the
//! newest commit at which they held there (issue 13, item 1).

use crate::common::{TestRepo, anchorcheck, verify_json};
use predicates::str::contains;

const GUARD: &str = "package auth\n\nimport \"errors\"\n\ntype config struct {\n\trequireMTLS bool\n\tcaFile      string\n}\n\n// checkConfig refuses to start without a CA when mTLS is required.\nfunc checkConfig(cfg config) error {\n\tif cfg.requireMTLS && cfg.caFile == \"\" {\n\t\treturn errors.New(\"mtls required but no CA configured\")\n\t}\n\treturn nil\n}\n\nfunc describe(cfg config) string {\n\treturn cfg.caFile\n}\n";

/// The guard's `if` and its `return`: lines 12-14 of GUARD.
const GUARD_LINES: &str = "12-14";

/// anchors.yaml with one claim `id` and one ref of `path` at `lines` expecting `expect`.
fn one_ref(id: &str, path: &str, lines: &str, expect: &str) -> String {
    format!(
        "version: 1\nclaims:\n  - id: {id}\n    status: required\n    refs:\n      - path: {path}\n        lines: {lines}\n        expect:\n          - {expect}\n"
    )
}

fn anchors(path: &str, lines: &str) -> String {
    one_ref(
        "mtls-guard",
        path,
        lines,
        "fail_closed: { when: \"(?i)mtls\" }",
    )
}

/// Runs `fix`, checks its exit code and that it says `says`, and returns anchors.yaml after.
fn fix(repo: &TestRepo, code: i32, says: &str) -> String {
    anchorcheck(repo.path())
        .arg("fix")
        .assert()
        .code(code)
        .stdout(contains(says));
    std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap()
}

fn the_ref(report: &serde_json::Value) -> &serde_json::Value {
    &report["claims"][0]["refs"][0]
}

#[test]
fn a_renamed_file_is_followed_from_the_last_commit_the_ref_held() {
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", GUARD);
    repo.write("pkg/auth/doc.go", "// Package auth.\npackage auth\n");
    repo.commit_all("add the mTLS guard");
    repo.write(
        "pkg/auth/doc.go",
        "// Package auth checks config.\npackage auth\n",
    );
    let last_held = repo.commit_all("document the package");
    // A directory reorganisation: the file moves and gains a line above the guard.
    std::fs::remove_file(repo.path().join("pkg/auth/server.go")).unwrap();
    repo.write(
        "internal/auth/server.go",
        GUARD.replace("import \"errors\"\n", "import \"errors\"\n\n// Config.\n"),
    );
    let moved = repo.commit_all("move auth under internal/");
    repo.write("anchors.yaml", anchors("pkg/auth/server.go", GUARD_LINES));

    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/auth/server.go");
    assert_eq!(r["relocated"]["lines"], "14-16");
    assert_eq!(r["relocated"]["how"], "history");
    assert_eq!(r["history_from"], last_held.to_string());
    let note = format!(
        "history from {} (last verified there; no `at`)",
        &last_held.to_string()[..7]
    );
    assert!(r["notes"].to_string().contains(&note), "{r:#}");
    assert_eq!(r["culprit"]["kind"], "moved");
    assert_eq!(r["culprit"]["commit"], moved.to_string());

    // fix rewrites the ref and stamps the verified commit; then it verifies.
    let fixed = fix(
        &repo,
        0,
        "fixed mtls-guard: pkg/auth/server.go:12-14 -> internal/auth/server.go:14-16",
    );
    assert!(fixed.contains(&format!("at: {moved}")), "{fixed}");
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
}

/// The guard deleted in a commit that also shortens the file: the cited lines are past its end.
fn deleted_guard_repo() -> (TestRepo, git2::Oid, git2::Oid) {
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", GUARD);
    let held = repo.commit_all("add the mTLS guard");
    let without: String = GUARD.split("// checkConfig").next().unwrap().to_string()
        + "func describe(cfg config) string {\n\treturn cfg.caFile\n}\n";
    repo.write("pkg/auth/server.go", without);
    let dropped = repo.commit_all("simplify startup checks");
    repo.write("README", "unrelated\n");
    repo.commit_all("add a README");
    repo.write("anchors.yaml", anchors("pkg/auth/server.go", GUARD_LINES));
    (repo, held, dropped)
}

#[test]
fn a_deleted_function_is_broken_since_the_commit_that_dropped_it() {
    let (repo, held, dropped) = deleted_guard_repo();
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert!(r["error"].is_null(), "{r:#}");
    assert_eq!(r["culprit"]["kind"], "broke");
    assert_eq!(r["culprit"]["commit"], dropped.to_string());
    assert_eq!(r["history_from"], held.to_string());
    let text = anchorcheck(repo.path()).arg("verify").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "broken since {} 2026-09-23 'simplify startup checks'",
            &dropped.to_string()[..7]
        )),
        "{text}"
    );

    // fix leaves the broken ref alone but writes the `at` history was followed from, so the
    // next run follows it without looking.
    let fixed = fix(
        &repo,
        1,
        "left alone mtls-guard: pkg/auth/server.go:12-14 is broken",
    );
    assert!(fixed.contains(&format!("        at: {held}\n")), "{fixed}");
    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "broken");
    assert_eq!(r["culprit"]["commit"], dropped.to_string());
    assert!(r["history_from"].is_null(), "now it has `at`: {r:#}");
}

#[test]
fn history_depth_bounds_the_search_and_says_so() {
    let (repo, held, _) = deleted_guard_repo();
    let (_, report) = verify_json(repo.path(), &["--history-depth", "1"]);
    let r = the_ref(&report);
    assert!(r["history_from"].is_null(), "{r:#}");
    assert!(
        r["notes"].to_string().contains(
            "no `at`, and it held at pkg/auth/server.go:12-14 in none of the 1 commits before this one (--history-depth 1)"
        ),
        "{r:#}"
    );
    assert_ne!(r["verdict"], "verified");
    let (_, report) = verify_json(repo.path(), &["--history-depth", "2"]);
    assert_eq!(the_ref(&report)["history_from"], held.to_string());
}

#[test]
fn a_ref_that_holds_gets_no_history_note() {
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", GUARD);
    repo.commit_all("add the mTLS guard");
    repo.write("README", "unrelated\n");
    repo.commit_all("add a README");
    repo.write("anchors.yaml", anchors("pkg/auth/server.go", GUARD_LINES));
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0);
    let r = the_ref(&report);
    assert_eq!(r["notes"], serde_json::json!([]));
    assert!(r["history_from"].is_null());
}

#[test]
fn a_path_that_never_held_it_says_history_was_searched_to_the_first_commit() {
    let mut repo = TestRepo::new();
    repo.write(
        "pkg/auth/server.go",
        GUARD.replace("return errors.New", "_ = errors.New"),
    );
    repo.commit_all("a fail-open guard from the start");
    repo.write("anchors.yaml", anchors("pkg/auth/server.go", GUARD_LINES));
    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert!(
        r["notes"]
            .to_string()
            .contains("no `at`, and it held at pkg/auth/server.go:12-14 in no earlier commit"),
        "{r:#}"
    );
}

#[test]
fn a_citation_still_holding_a_few_lines_off_is_followed_from_where_it_fit() {
    // tailscale's controlhttp handshake check: two lines inserted above left the cited range
    // still holding (it holds the guard's `if`), two lines off; the file was then moved.
    let mut repo = TestRepo::new();
    let handshake = "package controlhttp\n\nimport (\n\t\"errors\"\n\t\"net/http\"\n)\n\nfunc accept(w http.ResponseWriter, r *http.Request) error {\n\tinitB64 := r.Header.Get(\"Tailscale-Handshake\")\n\tif initB64 == \"\" {\n\t\thttp.Error(w, \"missing Tailscale handshake header\", http.StatusBadRequest)\n\t\treturn errors.New(\"no tailscale handshake header in HTTP request\")\n\t}\n\treturn nil\n}\n";
    repo.write("control/server.go", handshake);
    let written = repo.commit_all("check the handshake header");
    let above = "\t// Only a POST carries the handshake.\n\t_ = r.Method\n";
    let shifted = handshake.replace("\tinitB64 :=", &format!("{above}\tinitB64 :="));
    repo.write("control/server.go", &shifted);
    repo.commit_all("require POST");
    std::fs::remove_file(repo.path().join("control/server.go")).unwrap();
    repo.write("control/server/accept.go", &shifted);
    repo.commit_all("move the server into its own package");
    repo.write(
        "anchors.yaml",
        "version: 1\nclaims:\n  - id: handshake\n    status: required\n    refs:\n      - path: control/server.go\n        lines: 9-13\n        expect:\n          - fail_closed: { when: initB64 }\n          - string: missing Tailscale handshake header\n",
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["history_from"], written.to_string(), "{r:#}");
    assert_eq!(r["relocated"]["path"], "control/server/accept.go");
    assert_eq!(r["relocated"]["lines"], "11-15", "the check, whole: {r:#}");
}

#[test]
fn of_two_places_holding_the_same_call_the_whole_block_is_where_it_was_written() {
    // smallstep's renew check, cited whole (12-17) with a one-line expectation: two lines
    // inserted above it later leave 12-17 holding the same call from a blank line, a `var`,
    // and the block without its closing braces. History starts where it was written.
    let mut repo = TestRepo::new();
    let renew = "package authority\n\nimport (\n\t\"crypto/x509\"\n\t\"errors\"\n\t\"time\"\n)\n\n// Renew reissues a certificate that is still valid.\nfunc (a *Authority) Renew(cert *x509.Certificate) error {\n\topts := []verifyOption{withNow(time.Now())}\n\tif err := a.verifier.Verify(cert, opts...); err != nil {\n\t\tif errors.Is(err, errExpired) {\n\t\t\treturn errUnauthorized(\"certificate expired\")\n\t\t}\n\t\treturn wrap(err, \"renew\")\n\t}\n\treturn a.reissue(cert)\n}\n";
    repo.write("authority/renew.go", renew);
    let written = repo.commit_all("renew checks the certificate");
    let shifted = renew.replace(
        "\tif err := a.verifier",
        "\n\tvar window = a.config.RenewWindow\n\tif err := a.verifier",
    );
    repo.write("authority/renew.go", &shifted);
    repo.commit_all("renew window");
    let moved_down: String = (0..20).map(|i| format!("// note {i}\n")).collect();
    repo.write(
        "authority/renew.go",
        shifted.replace(
            "// Renew reissues",
            &format!("{moved_down}// Renew reissues"),
        ),
    );
    repo.commit_all("notes");
    repo.write(
        "anchors.yaml",
        "version: 1\nclaims:\n  - id: renew-verifies\n    status: required\n    refs:\n      - path: authority/renew.go\n        lines: 12-17\n        expect:\n          - call: a.verifier.Verify\n",
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["history_from"], written.to_string(), "{r:#}");
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    // The block whole: its `if` at 34 (12, two inserted lines, twenty notes) to its `}`.
    assert_eq!(r["relocated"]["lines"], "34-39", "{r:#}");
}

/// GUARD with a function inserted above `checkConfig`: its comment and body two lines down.
fn with_function_above() -> String {
    GUARD.replace("// checkConfig", "func other() {}\n\n// checkConfig")
}

fn identifier_anchors(lines: &str) -> String {
    one_ref(
        "mtls-config",
        "pkg/auth/server.go",
        lines,
        "identifier: requireMTLS",
    )
}

#[test]
fn a_whole_function_shifted_down_drifts_to_where_it_went_though_it_holds_where_cited() {
    // Issue 24, item 1: `checkConfig` cited whole (comment to `}`, 10-16) with a generic
    // expectation. A function inserted above leaves 10-16 holding `requireMTLS` over the new
    // function's tail and without `checkConfig`'s end: verified in place, though the range
    // cuts the function it cited whole. History from where it was whole says where it went.
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", GUARD);
    let whole = repo.commit_all("add the mTLS guard");
    repo.write("pkg/auth/server.go", with_function_above());
    let inserted = repo.commit_all("add other");
    repo.write("anchors.yaml", identifier_anchors("10-16"));

    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["lines"], "12-18", "{r:#}");
    assert_eq!(r["relocated"]["how"], "history");
    assert_eq!(r["history_from"], whole.to_string());
    assert_eq!(r["culprit"]["commit"], inserted.to_string(), "{r:#}");
    let note = format!(
        "history from {} (the cited lines held whole constructs there; no `at`)",
        &whole.to_string()[..7]
    );
    assert!(r["notes"].to_string().contains(&note), "{r:#}");

    let fixed = fix(
        &repo,
        0,
        "fixed mtls-config: pkg/auth/server.go:10-16 -> pkg/auth/server.go:12-18",
    );
    assert!(fixed.contains(&format!("at: {inserted}")), "{fixed}");
}

#[test]
fn a_citation_that_cut_where_it_was_written_stays_verified() {
    // The guard's `if` line alone (12) and the function's head with its guard (11-14): each
    // cuts a construct, as written. The file changes below them; nothing moved, nothing drifts,
    // and no history is looked for.
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", GUARD);
    repo.commit_all("add the mTLS guard");
    repo.write(
        "pkg/auth/server.go",
        GUARD.replace("\treturn cfg.caFile\n", "\treturn cfg.caFile + \"!\"\n"),
    );
    repo.commit_all("describe loudly");
    for lines in ["12", "11-14"] {
        repo.write("anchors.yaml", identifier_anchors(lines));
        let (code, report) = verify_json(repo.path(), &[]);
        assert_eq!(code, 0, "{lines}: {report:#}");
        let r = the_ref(&report);
        assert_eq!(r["verdict"], "verified", "{lines}: {r:#}");
        assert!(r["history_from"].is_null(), "{lines}: {r:#}");
        assert_eq!(r["notes"], serde_json::json!([]), "{lines}: {r:#}");
    }
}

#[test]
fn a_whole_function_is_followed_past_versions_where_other_code_sat_at_its_lines() {
    // As above, but a commit in between put ten lines above `checkConfig`, so that 10-16 held
    // none of it, before eight of them were dropped again: the citation did not hold at every
    // version since it was whole, and is followed from where it was.
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", GUARD);
    let whole = repo.commit_all("add the mTLS guard");
    let ten: String = (0..10).map(|i| format!("var v{i} = {i}\n")).collect();
    repo.write(
        "pkg/auth/server.go",
        GUARD.replace("// checkConfig", &format!("{ten}// checkConfig")),
    );
    repo.commit_all("ten variables");
    repo.write("pkg/auth/server.go", with_function_above());
    repo.commit_all("one function instead");
    repo.write("anchors.yaml", identifier_anchors("10-16"));

    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["lines"], "12-18", "{r:#}");
    assert_eq!(r["history_from"], whole.to_string());
}

#[test]
fn a_range_inside_one_function_that_grew_is_not_followed() {
    // `checkConfig`'s head and guard (11-14) cut the function as a head with its guard does;
    // it was whole at those lines once, before the function grew by a line inside. A range
    // inside one declaration is cited so and not followed: only one reaching across the top
    // level (code inserted or removed above a declaration) is.
    let mut repo = TestRepo::new();
    let short = GUARD.replace(
        "\t\treturn errors.New(\"mtls required but no CA configured\")\n\t}\n\treturn nil\n}\n",
        "\t\treturn errors.New(\"mtls required but no CA configured\")\n\t}\n}\n",
    );
    repo.write("pkg/auth/server.go", &short);
    repo.commit_all("a guard alone");
    repo.write("pkg/auth/server.go", GUARD);
    repo.commit_all("return nil");
    repo.write("anchors.yaml", identifier_anchors("11-15"));
    let (code, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"], "verified", "{r:#}");
    assert!(r["history_from"].is_null(), "{r:#}");
}

#[test]
fn a_function_held_only_across_the_top_level_is_followed_from_where_it_was_whole() {
    // Issue 24, item 1 (traefik's `GetHTTPHandler` 255-257, nomad's `isValidForDownNode`):
    // `checkConfig` cited whole (10-16). Later commits moved it down ten lines, then back up
    // to one line down (10-16 then held it from the line above, without its `}`), then down
    // thirty: it holds at 10-16 in no version since the one-line shift. The newest version
    // where it held is that shift, cutting across the top level; the one it was written
    // against, whole, is further back, and history follows it from there.
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", GUARD);
    let whole = repo.commit_all("add the mTLS guard");
    let above = |n: usize| -> String {
        let vars: String = (0..n).map(|i| format!("var v{i} = {i}\n")).collect();
        GUARD.replace("// checkConfig", &format!("{vars}// checkConfig"))
    };
    repo.write("pkg/auth/server.go", above(10));
    repo.commit_all("ten variables");
    repo.write("pkg/auth/server.go", above(1));
    repo.commit_all("one variable");
    repo.write("pkg/auth/server.go", above(30));
    repo.commit_all("thirty variables");
    repo.write(
        "anchors.yaml",
        "version: 1\nclaims:\n  - id: mtls-config\n    status: required\n    refs:\n      - path: pkg/auth/server.go\n        lines: 10-16\n        expect:\n          - identifier: checkConfig\n",
    );

    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["history_from"], whole.to_string(), "{r:#}");
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(
        r["relocated"]["lines"], "40-46",
        "the function whole: {r:#}"
    );
}

/// Two guards, `checkListener` (10-16) above `checkConfig` (18-24), each cited by a generic
/// expectation that holds in both.
const TWO_GUARDS: &str = "package auth\n\nimport \"errors\"\n\ntype config struct {\n\trequireMTLS bool\n\tcaFile      string\n}\n\n// checkListener refuses a listener without a CA when mTLS is required.\nfunc checkListener(cfg config) error {\n\tif cfg.requireMTLS && cfg.caFile == \"\" {\n\t\treturn errors.New(\"listener: no CA\")\n\t}\n\treturn nil\n}\n\n// checkConfig refuses to start without a CA when mTLS is required.\nfunc checkConfig(cfg config) error {\n\tif cfg.requireMTLS && cfg.caFile == \"\" {\n\t\treturn errors.New(\"mtls required but no CA configured\")\n\t}\n\treturn nil\n}\n";

fn requires_mtls_anchors(lines: &str) -> String {
    one_ref(
        "mtls-config",
        "pkg/auth/server.go",
        lines,
        "fail_closed: { when: requireMTLS }",
    )
}

#[test]
fn a_whole_function_pushed_down_past_its_length_drifts_with_the_code_above_it() {
    // Issue 24, item 1 (nomad's `AllowNodePool`, `evaluateNodePlan`, `writeResponseOrErrorToFile`):
    // nine lines inserted above both guards push `checkConfig` (18-24) down past its own length.
    // 18-24 now hold `checkListener` from the blank line above it, without its `}`: the same
    // expectation holds there, over code that sat nine lines up when the citation was whole
    // and was pushed down with it. None of the cited function's own lines is left at 18-24.
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", TWO_GUARDS);
    let whole = repo.commit_all("two guards");
    let nine: String = (0..8).map(|i| format!("var v{i} = {i}\n")).collect();
    repo.write(
        "pkg/auth/server.go",
        TWO_GUARDS.replace("type config", &format!("{nine}\ntype config")),
    );
    repo.commit_all("nine variables");
    repo.write("anchors.yaml", requires_mtls_anchors("18-24"));

    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["lines"], "27-33", "{r:#}");
    assert_eq!(r["history_from"], whole.to_string(), "{r:#}");
}

#[test]
fn a_whole_function_pushed_down_by_new_code_that_holds_where_cited_stays() {
    // As above, but what now sits at 18-24 is a new guard inserted above `checkConfig`, from
    // a `var` above it and without its `}`: new code, which a citation written at these lines
    // later would cite. It stays where it is.
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", TWO_GUARDS);
    repo.commit_all("two guards");
    let new_guard = "var strict = true\n\n// checkServer refuses a server without a CA when mTLS is required.\nfunc checkServer(cfg config) error {\n\tif cfg.requireMTLS && cfg.caFile == \"\" {\n\t\treturn errors.New(\"server: no CA\")\n\t}\n\treturn nil\n}\n\n";
    repo.write(
        "pkg/auth/server.go",
        TWO_GUARDS.replace("// checkConfig", &format!("{new_guard}// checkConfig")),
    );
    repo.commit_all("a server guard");
    repo.write("anchors.yaml", requires_mtls_anchors("18-24"));

    let (code, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["verdict"], "verified", "{r:#}");
    assert!(r["history_from"].is_null(), "{r:#}");
}

/// Two functions with the same guard: `second`'s above `first`'s, each `if err != nil` with
/// its `return`. `above` lines of comment are inserted above `second`, `between` between them;
/// `first`'s guard is left out with `drop_first`.
fn two_guards(above: usize, between: usize, drop_first: bool) -> String {
    let first_guard = if drop_first {
        ""
    } else {
        "\tif err != nil {\n\t\treturn false, err\n\t}\n"
    };
    format!(
        "package a\n\n{}func second() (bool, error) {{\n\terr := lookupOther()\n\tif err != nil {{\n\t\treturn false, err\n\t}}\n\treturn true, nil\n}}\n\n{}func first() (bool, error) {{\n\terr := lookup()\n{first_guard}\treturn true, nil\n}}\n\nfunc lookup() error {{ return nil }}\n\nfunc lookupOther() error {{ return nil }}\n",
        "// note\n".repeat(above),
        "// note\n".repeat(between),
    )
}

/// `first`'s guard in [`two_guards`] with nothing inserted: lines 13-15.
fn err_guard_anchors(lines: &str) -> String {
    one_ref(
        "lookup-guard",
        "a.go",
        lines,
        "fail_closed: { when: \"^err$\" }",
    )
}

/// The first rule, for a citation without `at`: `first`'s guard is cited at 13-15; code
/// inserted above `second` pushes `second`'s guard into those lines, where the ref holds
/// again; then `first`'s guard is deleted. Which guard the citation meant is not known (it
/// held at 13-15 with both): following the newest one onto `second`'s guard would report the
/// deleted check drifted, and `fix` would cite other code. With `at` at the first commit it is
/// broken; without, ambiguous, saying why.
#[test]
fn other_code_that_slid_into_the_cited_lines_is_not_followed_as_the_cited_code() {
    let mut repo = TestRepo::new();
    repo.write("a.go", two_guards(0, 0, false));
    let written = repo.commit_all("two guards");
    repo.write("a.go", two_guards(8, 0, false));
    let slid = repo.commit_all("comment above second: its guard slides into 13-15");
    repo.write("a.go", two_guards(12, 0, true));
    repo.commit_all("drop first's guard");
    repo.write("anchors.yaml", err_guard_anchors("13-15"));

    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "ambiguous", "{r:#}");
    assert!(r["history_from"].is_null(), "{r:#}");
    assert_held_different_code(r, slid, written);
    assert!(
        r["notes"].to_string().contains("adding `at` says which"),
        "{r:#}"
    );

    // With `at` where it was written, the deleted guard is broken.
    repo.write(
        "anchors.yaml",
        err_guard_anchors("13-15").replace(
            "        lines: 13-15\n",
            &format!("        lines: 13-15\n        at: {written}\n"),
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    assert_eq!(the_ref(&report)["verdict"], "broken", "{report:#}");
}

/// The same guard shifted by code inserted above it is the same code: followed from where it
/// fit best (where it was written; a line off, it held too) as before, to where it went.
#[test]
fn the_cited_code_shifted_past_its_lines_is_still_followed() {
    let mut repo = TestRepo::new();
    repo.write("a.go", two_guards(0, 0, false));
    let written = repo.commit_all("two guards");
    repo.write("a.go", two_guards(0, 1, false));
    repo.commit_all("a comment above first: its guard at 14-16");
    repo.write("a.go", two_guards(0, 6, false));
    repo.commit_all("more comment: its guard at 19-21");
    repo.write("anchors.yaml", err_guard_anchors("13-15"));

    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["lines"], "19-21", "{r:#}");
    assert_eq!(r["relocated"]["how"], "history", "{r:#}");
    assert_eq!(r["history_from"], written.to_string(), "{r:#}");
}

/// As above, with versions between where the cited lines held nothing (code inserted above
/// `second` in two steps): the older version where the ref held again, past that gap, held
/// other code at the cited lines, so which one was cited is not known either.
#[test]
fn other_code_that_slid_into_the_cited_lines_after_a_gap_is_not_followed_as_the_cited_code() {
    let mut repo = TestRepo::new();
    repo.write("a.go", two_guards(0, 0, false));
    let written = repo.commit_all("two guards");
    repo.write("a.go", two_guards(4, 0, false));
    repo.commit_all("comment above second: 13-15 hold no guard");
    repo.write("a.go", two_guards(8, 0, false));
    let slid = repo.commit_all("more comment: second's guard slides into 13-15");
    repo.write("a.go", two_guards(12, 0, true));
    repo.commit_all("drop first's guard");
    repo.write("anchors.yaml", err_guard_anchors("13-15"));

    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "ambiguous", "{r:#}");
    assert_held_different_code(r, slid, written);
}

/// That the ref's notes say the cited lines held different code at `newer` and `older`.
fn assert_held_different_code(r: &serde_json::Value, newer: git2::Oid, older: git2::Oid) {
    let note = format!(
        "the cited lines held different code at {} and {}",
        &newer.to_string()[..7],
        &older.to_string()[..7]
    );
    assert!(r["notes"].to_string().contains(&note), "{r:#}");
}

#[test]
fn a_guard_narrowed_then_shifted_is_broken_not_followed_from_the_narrowed_version() {
    // The mutation bench's compound mutants (and_bypass, then insert_func_above, each its own
    // commit): the newest commit where the ref held at its lines already held the narrowed
    // guard. Followed from there, the narrowing was invisible and the ref drifted with it.
    // The stretch where it held goes back past the narrowing, with the same code at the cited
    // lines: history is followed from the version before it, and the ref is broken.
    let mut repo = TestRepo::new();
    repo.write("pkg/auth/server.go", GUARD);
    repo.commit_all("add the mTLS guard");
    let bypassed = GUARD.replace(
        "if cfg.requireMTLS && cfg.caFile == \"\" {",
        "if cfg.requireMTLS && cfg.caFile == \"\" && os.Getenv(\"SKIP_MTLS\") == \"\" {",
    );
    assert_ne!(bypassed, GUARD);
    repo.write("pkg/auth/server.go", &bypassed);
    let narrowed = repo.commit_all("let operators skip the CA check");
    repo.write(
        "pkg/auth/server.go",
        bypassed.replace(
            "// checkConfig refuses",
            "func defaults() config {\n\treturn config{}\n}\n\n// checkConfig refuses",
        ),
    );
    repo.commit_all("defaults");
    repo.write("anchors.yaml", anchors("pkg/auth/server.go", GUARD_LINES));

    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(r["culprit"]["commit"], narrowed.to_string(), "{r:#}");
}
