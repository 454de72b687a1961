//! Weakened in place wins over relocation (issue 21): history, symbol and search may move a
//! ref only to where the cited code went. Code that was already there at `at` is never that
//! place, a cited construct still in its file that no longer holds leaves the ref broken where
//! it is (naming the line that changed and the commit), a drifted ref is never said to be
//! broken since a commit, and `fix` leaves a broken ref alone, saying why. Equivalent changes
//! (code inserted above, a log line before an abort, comments inside, a call re-wrapped, a
//! function moved with its constants into a new file) stay drifted, never broken.

use crate::common::{
    Fixture, TestRepo, anchorcheck, claim_ref, fixture_repo, testdata, verify_json,
};

/// A fixture of testdata/soundness/relocation: `rev1` (cited with `at`), then `rev2`.
fn weakened(fixture: &str, change: &str) -> Fixture {
    fixture_repo(
        &format!("soundness/relocation/{fixture}"),
        &["the cited code", change],
    )
}

/// The text report of `verify` in `dir`.
fn text_report(dir: &std::path::Path) -> String {
    let output = anchorcheck(dir).arg("verify").output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

/// The one failing expectation of a ref.
fn failing(r: &serde_json::Value) -> &serde_json::Value {
    let failing: Vec<&serde_json::Value> = r["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ok"] == false)
        .collect();
    assert_eq!(failing.len(), 1, "{r:#}");
    failing[0]
}

/// Asserts that `r` is broken where history mapped it, since `commit`, relocated nowhere.
fn assert_broken_since(r: &serde_json::Value, commit: &git2::Oid) {
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert!(r["relocated"].is_null(), "{r:#}");
    assert_eq!(r["candidates"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["culprit"]["kind"], "broke", "{r:#}");
    assert_eq!(r["culprit"]["commit"], commit.to_string(), "{r:#}");
}

#[test]
fn a_count_is_not_padded_with_the_next_block_past_a_registration_that_lost_its_wrapper() {
    // Five provisioner routes, each behind `authnz`, cited with `query: {min: 5}`; the wrapper
    // was dropped from the DELETE route (line 17). The admin routes after the block also match
    // the query: a range taking them in holds five matches again, and would hide the
    // unprotected route inside a citation `fix` writes.
    let f = weakened("padded-query", "serve DELETE without the middleware");
    let (code, report) = verify_json(f.repo.path(), &[]);
    assert_eq!(code, 1);
    let r = claim_ref(&report, "admin-routes");
    assert_broken_since(r, &f.commits[1]);
    let query = failing(r);
    assert_eq!(query["kind"], "query");
    assert_eq!(query["near_miss"], 17, "the changed line: {r:#}");
    let message = query["message"].as_str().unwrap();
    assert!(
        message.contains(
            "line 17 changed since `at`: it was `r.MethodFunc(\"DELETE\", \"/provisioners/{name}\", authnz(DeleteProvisioner))`"
        ),
        "{message}"
    );
    let text = text_report(f.repo.path());
    assert!(
        text.contains("admin-routes: api/routes.go:13-17 is broken"),
        "{text}"
    );
    assert!(text.contains("--> api/routes.go:17:"), "{text}");
    assert!(!text.contains("drifted  "), "{text}");
    assert!(!text.contains("to fix the drift"), "{text}");
}

#[test]
fn a_registration_re_wrapped_without_its_wrapper_is_not_taken_whole_into_a_count() {
    // The DELETE route re-wrapped over five lines as it lost `authnz`: history keeps its first
    // line, and completing the statement does not make the count of five again.
    let f = weakened("padded-query", "serve DELETE without the middleware");
    let routes = std::fs::read_to_string(f.repo.path().join("api/routes.go")).unwrap();
    let mut repo = f.repo;
    repo.write(
        "api/routes.go",
        routes.replace(
            "\tr.MethodFunc(\"DELETE\", \"/provisioners/{name}\", DeleteProvisioner)\n",
            "\tr.MethodFunc(\n\t\t\"DELETE\",\n\t\t\"/provisioners/{name}\",\n\t\tDeleteProvisioner,\n\t)\n",
        ),
    );
    let rewrapped = repo.commit_all("one argument a line");
    let (_, report) = verify_json(repo.path(), &[]);
    let r = claim_ref(&report, "admin-routes");
    assert_broken_since(r, &f.commits[1]);
    assert_eq!(failing(r)["near_miss"], 17, "{r:#}");
    assert_ne!(r["culprit"]["commit"], rewrapped.to_string());
}

/// The padded-query fixture after the DELETE route lost its wrapper, with a wrapped PATCH route
/// added inside the cited block and `more` after the routes: history grows the range over the
/// new route and five routes match again. Asserts the ref broken all the same, naming the DELETE
/// route; returns the report and the repository.
fn assert_patch_does_not_pad(more: &str) -> (serde_json::Value, TestRepo) {
    let f = weakened("padded-query", "serve DELETE without the middleware");
    let routes = std::fs::read_to_string(f.repo.path().join("api/routes.go")).unwrap();
    let put = "\tr.MethodFunc(\"PUT\", \"/provisioners/{name}\", authnz(UpdateProvisioner))\n";
    let patch = "\tr.MethodFunc(\"PATCH\", \"/provisioners/{name}\", authnz(UpdateProvisioner))\n";
    let mut repo = f.repo;
    repo.write(
        "api/routes.go",
        routes.replace(put, &format!("{put}{patch}")) + more,
    );
    repo.commit_all("PATCH a provisioner");
    let (_, report) = verify_json(repo.path(), &[]);
    let r = claim_ref(&report, "admin-routes");
    assert_broken_since(r, &f.commits[1]);
    let query = failing(r);
    assert_eq!(query["near_miss"], 18, "{r:#}");
    assert!(
        query["message"]
            .as_str()
            .unwrap()
            .ends_with("and the range holds only with line 17 added since then"),
        "{query:#}"
    );
    (report, repo)
}

#[test]
fn a_route_added_inside_the_range_does_not_make_up_the_count_a_weakened_one_lost() {
    // Without the line added since `at` the cited routes meet four: the DELETE route is named,
    // not hidden.
    assert_patch_does_not_pad("");
}

/// Handlers enough to make `Route` a small part of api/routes.go: its cited lines are then
/// checked on a parse of the declarations around them, not of the whole file.
fn handlers(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "\n// handle{i} answers {}.\nfunc handle{i}(w http.ResponseWriter) {{\n\tw.WriteHeader({})\n}}\n",
                200 + i,
                200 + i
            )
        })
        .collect()
}

#[test]
fn a_count_padded_in_a_large_file_is_broken_as_in_a_small_one() {
    // The same in a file of forty more handlers: the partial parse that checks the cited lines
    // where history mapped them still tells the padding from drift, and the report is the
    // whole file's.
    let (report, repo) = assert_patch_does_not_pad(&handlers(40));
    assert_eq!(report, verify_json(repo.path(), &["--whole-files"]).1);
}

#[test]
fn a_cited_route_edited_but_still_wrapped_in_a_large_file_drifts() {
    // The DELETE route got its wrapper back under another handler's name, and a comment line
    // pushed the block down: every cited route is still wrapped, edited or not, so the ref
    // drifted, in a file of forty more handlers as in the whole file.
    let f = weakened("padded-query", "serve DELETE without the middleware");
    let routes = std::fs::read_to_string(f.repo.path().join("api/routes.go")).unwrap();
    let mut repo = f.repo;
    let rewrapped = routes
        .replace(
            "\tr.MethodFunc(\"DELETE\", \"/provisioners/{name}\", DeleteProvisioner)\n",
            "\tr.MethodFunc(\"DELETE\", \"/provisioners/{name}\", authnz(RemoveProvisioner))\n",
        )
        .replace(
            "\t// Provisioners.\n",
            "\t// Provisioners, by name.\n\t//\n",
        );
    repo.write("api/routes.go", rewrapped + &handlers(40));
    repo.commit_all("remove provisioners behind the middleware again");
    let (_, report) = verify_json(repo.path(), &[]);
    let r = claim_ref(&report, "admin-routes");
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["lines"], "14-18", "{r:#}");
    assert_eq!(report, verify_json(repo.path(), &["--whole-files"]).1);
}

#[test]
fn relocation_never_lands_on_an_identical_call_that_was_already_there_at_at() {
    // The cited log call in the second guard (line 17) became a metrics bump; the identical
    // log call of the first guard (line 12) was there, unchanged, at `at`.
    let f = weakened(
        "preexisting-call",
        "count refused renewals instead of logging them",
    );
    let (code, report) = verify_json(f.repo.path(), &[]);
    assert_eq!(code, 1);
    let r = claim_ref(&report, "renew-logged");
    assert_broken_since(r, &f.commits[1]);
    let call = failing(r);
    assert_eq!(call["near_miss"], 17, "the line that changed: {r:#}");
    assert!(
        call["message"]
            .as_str()
            .unwrap()
            .ends_with("; line 17 changed since `at`"),
        "{call:#}"
    );
    let notes = r["notes"].to_string();
    assert!(
        notes.contains("not relocated to ca/renew.go:12: its evidence at line 12 was already there at `at`, outside the cited lines"),
        "{notes}"
    );
}

#[test]
fn a_cited_line_long_enough_to_look_moved_is_not_followed_to_its_pre_existing_twin() {
    // As above, with a message long enough (40 letters and digits) for history to look for the
    // rewritten line as moved text: found in its own file, it is the twin that was there at
    // `at`, not where the line went.
    let fixture = testdata("soundness/relocation/preexisting-call");
    let long = |text: String| {
        text.replace(
            "renew refused: %v",
            "renewal refused for the client certificate: %v",
        )
    };
    let mut repo = TestRepo::new();
    let mut commits = Vec::new();
    for (rev, subject) in [
        ("rev1", "the cited code"),
        ("rev2", "count refusals instead"),
    ] {
        repo.replace_tree(&fixture.join(rev), "");
        let renew = std::fs::read_to_string(repo.path().join("ca/renew.go")).unwrap();
        repo.write("ca/renew.go", long(renew));
        commits.push(repo.commit_all(subject));
    }
    let anchors = std::fs::read_to_string(fixture.join("anchors.yaml")).unwrap();
    repo.write(
        "anchors.yaml",
        long(anchors).replace("AT", &commits[0].to_string()),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = claim_ref(&report, "renew-logged");
    assert_broken_since(r, &commits[1]);
    assert_eq!(failing(r)["near_miss"], 17, "{r:#}");
}

#[test]
fn a_commented_out_guard_with_at_is_broken_since_the_commit_never_drifted_to_another_guard() {
    // `Dial` has a guard mentioning mTLS too, unchanged since `at`.
    let f = weakened("commented-guard", "comment out the CA check");
    let (code, report) = verify_json(f.repo.path(), &[]);
    assert_eq!(code, 1);
    let r = claim_ref(&report, "agent-mtls");
    assert_broken_since(r, &f.commits[1]);
    let guard = failing(r);
    assert_eq!(guard["near_miss"], 18);
    assert_eq!(guard["message"], "line 18: the guard is commented out");
    let text = text_report(f.repo.path());
    let short = &f.commits[1].to_string()[..7];
    assert!(text.contains("agent/listener.go:18-20 is broken"), "{text}");
    assert!(text.contains(&format!("broken since {short} ")), "{text}");
    assert!(!text.contains("has drifted"), "{text}");
    assert!(!text.contains("is ambiguous"), "{text}");
}

#[test]
fn a_guard_deleted_while_another_check_was_added_elsewhere_is_broken_not_moved() {
    // The CA check was deleted from `Listen`; the same commit added `describe`, whose `if`
    // mentions mTLS and returns an error, but is other code: not where the check went. `Dial`'s
    // guard was there at `at`.
    let f = weakened("replaced-guard", "drop the CA check, describe the listener");
    let (code, report) = verify_json(f.repo.path(), &[]);
    assert_eq!(code, 1);
    let r = claim_ref(&report, "agent-mtls");
    assert_broken_since(r, &f.commits[1]);
    let notes = r["notes"].to_string();
    assert!(
        notes.contains("not relocated to agent/listener.go:24-26: its fail_closed evidence at line 24 is other code, not the cited code moved"),
        "{notes}"
    );
    assert!(
        notes.contains("not relocated to agent/listener.go:32-34: its evidence at line 32 was already there at `at`"),
        "{notes}"
    );
}

#[test]
fn fix_leaves_a_broken_ref_byte_for_byte_and_dry_run_says_why() {
    let f = weakened("commented-guard", "comment out the CA check");
    let dir = f.repo.path();
    let anchors = std::fs::read(dir.join("anchors.yaml")).unwrap();
    let page = std::fs::read(dir.join("docs/agent.md")).unwrap();
    let short = &f.commits[1].to_string()[..7];
    let why = format!(
        "left alone agent-mtls: agent/listener.go:18-20 is broken at line 18: fail_closed: line 18: the guard is commented out (broken since {short} "
    );
    let (code, stdout, _) = crate::common::run(dir, &["fix", "--dry-run"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains(&why), "{stdout}");
    assert!(
        stdout.contains("nothing to fix in anchors.yaml"),
        "{stdout}"
    );
    assert!(!stdout.contains("+++"), "no diff: {stdout}");
    let (code, stdout, _) = crate::common::run(dir, &["fix"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains(&why), "{stdout}");
    assert_eq!(std::fs::read(dir.join("anchors.yaml")).unwrap(), anchors);
    assert_eq!(std::fs::read(dir.join("docs/agent.md")).unwrap(), page);
}

/// The equivalents fixture committed as the base, changed by `change` and committed again,
/// with anchors.yaml citing the base (`at`).
fn equivalent(change: impl FnOnce(&TestRepo)) -> (TestRepo, git2::Oid) {
    let mut repo = TestRepo::new();
    repo.copy_tree(
        &testdata("soundness/relocation/equivalents/server"),
        "server",
    );
    let base = repo.commit_all("the API and its guards");
    change(&repo);
    let changed = repo.commit_all("an equivalent change");
    let anchors =
        std::fs::read_to_string(testdata("soundness/relocation/equivalents/anchors.yaml"))
            .unwrap()
            .replace("AT", &base.to_string());
    repo.write("anchors.yaml", anchors);
    (repo, changed)
}

/// Replaces the first `old` in `rel` with `new`.
fn edit(repo: &TestRepo, rel: &str, old: &str, new: &str) {
    let text = std::fs::read_to_string(repo.path().join(rel)).unwrap();
    assert!(text.contains(old), "{rel} has no {old:?}");
    repo.write(rel, text.replacen(old, new, 1));
}

/// Verifies and returns each claim's ref; none may be broken, and a drifted one names the
/// change as the commit that moved it, never one that broke it.
fn none_broken(repo: &TestRepo, changed: &git2::Oid) -> Vec<serde_json::Value> {
    let (_, report) = verify_json(repo.path(), &[]);
    ["api-routes", "token-guard", "mtls-config"]
        .iter()
        .map(|id| {
            let r = claim_ref(&report, id).clone();
            assert!(
                r["verdict"] == "verified" || r["verdict"] == "drifted",
                "{id}: {r:#}"
            );
            if r["verdict"] == "drifted" {
                assert_eq!(r["culprit"]["kind"], "moved", "{id}: {r:#}");
                assert_eq!(r["culprit"]["commit"], changed.to_string(), "{id}: {r:#}");
            }
            r
        })
        .collect()
}

#[test]
fn code_inserted_above_is_drift_by_history() {
    let (repo, changed) = equivalent(|repo| {
        edit(
            repo,
            "server/guard.go",
            "// withToken",
            "func helper() int {\n\treturn 1\n}\n\n// withToken",
        );
        edit(
            repo,
            "server/routes.go",
            "// register",
            "func other() {}\n\n// register",
        );
    });
    let refs = none_broken(&repo, &changed);
    let places: Vec<(&str, &str)> = refs
        .iter()
        .map(|r| {
            (
                r["relocated"]["how"].as_str().unwrap(),
                r["relocated"]["lines"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            ("history", "18-20"),
            ("history", "22-25"),
            ("history", "34-36")
        ]
    );
}

#[test]
fn a_log_line_before_the_abort_and_comments_inside_keep_the_guards() {
    let (repo, changed) = equivalent(|repo| {
        edit(
            repo,
            "server/guard.go",
            "\t\t\thttp.Error(w, \"unauthorized\"",
            "\t\t\tlog.Printf(\"refused %s\", r.URL.Path)\n\t\t\thttp.Error(w, \"unauthorized\"",
        );
        edit(
            repo,
            "server/guard.go",
            "\t\treturn errors.New(\"mtls",
            "\t\t// Refuse.\n\n\t\tlog.Printf(\"no CA\")\n\t\treturn errors.New(\"mtls",
        );
        edit(
            repo,
            "server/routes.go",
            "\tmux.Handle(pathNodes",
            "\n\t// Nodes report here.\n\tmux.Handle(pathNodes",
        );
    });
    let refs = none_broken(&repo, &changed);
    let places: Vec<&str> = refs
        .iter()
        .map(|r| r["relocated"]["lines"].as_str().unwrap())
        .collect();
    assert_eq!(places, ["16-20", "18-22", "31-36"]);
}

#[test]
fn a_registration_re_wrapped_over_several_lines_stays_cited_whole() {
    for (old, new, lines) in [
        (
            "\tmux.Handle(pathStatus, withToken(http.HandlerFunc(h.Status)))\n",
            "\tmux.Handle(\n\t\tpathStatus,\n\t\twithToken(http.HandlerFunc(h.Status)),\n\t)\n",
            "16-21",
        ),
        (
            "\tmux.Handle(pathJobs, withToken(http.HandlerFunc(h.Jobs)))\n",
            "\tmux.Handle(\n\t\tpathJobs,\n\t\twithToken(\n\t\t\thttp.HandlerFunc(h.Jobs)),\n\t)\n",
            "16-22",
        ),
    ] {
        let (repo, changed) = equivalent(|repo| edit(repo, "server/routes.go", old, new));
        let refs = none_broken(&repo, &changed);
        assert_eq!(refs[0]["verdict"], "drifted", "{:#}", refs[0]);
        assert_eq!(refs[0]["relocated"]["how"], "history", "{:#}", refs[0]);
        assert_eq!(refs[0]["relocated"]["lines"], lines, "{:#}", refs[0]);
    }
}

#[test]
fn a_local_variable_renamed_inside_a_guard_is_no_weakening() {
    let (repo, changed) = equivalent(|repo| {
        let guard = std::fs::read_to_string(repo.path().join("server/guard.go"))
            .unwrap()
            .replace("token := r.Header", "tok := r.Header")
            .replace("known(token)", "known(tok)");
        repo.write("server/guard.go", guard);
    });
    let refs = none_broken(&repo, &changed);
    assert_eq!(refs[1]["verdict"], "verified", "{:#}", refs[1]);
}

#[test]
fn a_function_moved_with_its_constants_into_a_new_file_of_its_package_is_drift() {
    for keep_old_file in [true, false] {
        let (repo, changed) = equivalent(|repo| {
            let routes = std::fs::read_to_string(repo.path().join("server/routes.go")).unwrap();
            let (_, moved) = routes.split_once("const (").unwrap();
            let header = "package server\n\nimport (\n\t\"log\"\n\t\"net/http\"\n)\n\n";
            repo.write(
                "server/api.go",
                format!("{header}// The v1 API.\n\nconst ({moved}"),
            );
            if keep_old_file {
                repo.write(
                    "server/routes.go",
                    "package server\n\nimport \"net/http\"\n\n// health reports liveness.\nfunc health(w http.ResponseWriter, r *http.Request) {\n\tw.WriteHeader(http.StatusOK)\n}\n",
                );
            } else {
                std::fs::remove_file(repo.path().join("server/routes.go")).unwrap();
            }
        });
        let refs = none_broken(&repo, &changed);
        let routes = &refs[0];
        assert_eq!(routes["verdict"], "drifted", "{routes:#}");
        assert_eq!(routes["relocated"]["path"], "server/api.go", "{routes:#}");
        assert_eq!(routes["relocated"]["lines"], "18-20", "{routes:#}");
    }
}

#[test]
fn a_commented_out_guard_is_not_followed_over_the_rest_of_its_function() {
    // The `err` guard after NewChecker is commented out. The rest of the function, already
    // there at `at`, holds another `err` guard: history once followed the cited lines to a
    // range taking it in (11-22) and called the ref drifted.
    let f = weakened("commented-err-guard", "comment out the source range check");
    let (code, report) = verify_json(f.repo.path(), &[]);
    assert_eq!(code, 1);
    let r = claim_ref(&report, "allow-ranges");
    assert_broken_since(r, &f.commits[1]);
    let guard = failing(r);
    assert_eq!(guard["kind"], "fail_closed", "{r:#}");
    assert_eq!(guard["near_miss"], 12, "{r:#}");
}

#[test]
fn a_function_moved_away_from_a_twin_guard_is_followed_to_its_new_file() {
    // ServerConfig moved into server.go; ClientConfig, left behind, has the same three-line
    // `err` guard. That twin was already there at `at`, so it is not where the cited lines
    // went, and the search goes on to the file the commit added instead of giving up.
    let f = weakened("moved-beside-twin", "server configuration in its own file");
    let (code, report) = verify_json(f.repo.path(), &[]);
    assert_eq!(code, 1);
    let r = claim_ref(&report, "server-roots");
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "certs/server.go", "{r:#}");
    assert_eq!(r["relocated"]["lines"], "16-18", "{r:#}");
    assert_eq!(r["relocated"]["how"], "history", "{r:#}");
}
