//! Issue 21, guards as Go is written: `switch` and `select` cases are guards, a loop guard
//! ending in `continue` is fail-closed, a guard whose abort condition narrowed since `at` is
//! broken (and named), and a return that may hand back a nil error is not a refusal. Each
//! fixture (testdata/soundness/guards) is committed as written, then weakened in a second
//! commit; refs carry the first commit as `at`.

use anchorcheck::go::GoFile;
use anchorcheck::lines::LineRange;
use anchorcheck::scaffold::explain::explain;

use crate::common::{TestRepo, claim_ref, run, testdata, verify_json};

const SESSION: &str = "session/handler.go";
const PEERS: &str = "peers/admit.go";
const RENEW: &str = "renew/renew.go";
const PEER: &str = "peer/resolve.go";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(testdata(&format!("soundness/guards/{path}"))).unwrap()
}

/// The 1-based line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in the fixture")) as u32
        + 1
}

/// `a-b`: the lines of the function whose first line holds `signature`.
fn function(text: &str, signature: &str) -> String {
    let start = line_of(text, signature);
    let end = text
        .lines()
        .enumerate()
        .skip(start as usize)
        .find(|(_, l)| *l == "}")
        .unwrap()
        .0 as u32
        + 1;
    format!("{start}-{end}")
}

/// A repository holding every fixture, committed; with the commit's id.
fn repo() -> (TestRepo, String) {
    let mut repo = TestRepo::new();
    repo.copy_tree(&testdata("soundness/guards"), "");
    let at = repo.commit_all("the guards as written").to_string();
    (repo, at)
}

/// Commits `path` rewritten by `edit`; the commit's id.
fn change(
    repo: &mut TestRepo,
    path: &str,
    edit: impl Fn(String) -> String,
    subject: &str,
) -> String {
    let before = std::fs::read_to_string(repo.path().join(path)).unwrap();
    let after = edit(before.clone());
    assert_ne!(before, after, "the edit must change {path}");
    repo.write(path, after);
    repo.commit_all(subject).to_string()
}

/// A ref citing `lines` of `path` written at `at`, expecting a fail-closed guard on `when`.
fn guard_ref(path: &str, lines: &str, at: &str, when: &str) -> String {
    format!(
        "{{ path: {path}, lines: {lines}, at: {at}, expect: [{{ fail_closed: {{ when: '{when}' }} }}] }}"
    )
}

/// One claim per `(id, ref yaml)`, verified at HEAD; the report.
fn verify(repo: &TestRepo, refs: &[(&str, String)]) -> serde_json::Value {
    let mut yaml = String::from("version: 1\nclaims:\n");
    for (id, r) in refs {
        yaml.push_str(&format!(
            "  - id: {id}\n    status: required\n    refs:\n      - {r}\n"
        ));
    }
    repo.write("anchors.yaml", yaml);
    verify_json(repo.path(), &[]).1
}

fn message(r: &serde_json::Value) -> String {
    r["expectations"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn switch_and_select_case_guards_verify_where_they_were_written() {
    // Item 2: `case !ok:` and `case <-ctx.Done():` were no guard at all ("no if statement").
    let (repo, at) = repo();
    let text = fixture(SESSION);
    let report = verify(
        &repo,
        &[
            (
                "revoke",
                guard_ref(SESSION, &function(&text, "func Revoke("), &at, "^err$"),
            ),
            (
                "token",
                guard_ref(SESSION, &function(&text, "func Token("), &at, "^ok$"),
            ),
            (
                "wait",
                guard_ref(SESSION, &function(&text, "func Wait("), &at, "^ctx\\.Done$"),
            ),
        ],
    );
    for id in ["revoke", "token", "wait"] {
        let r = claim_ref(&report, id);
        assert_eq!(r["verdict"], "verified", "{id}: {r:#}");
    }
    let case = line_of(&text, "case !ok:");
    assert_eq!(
        message(claim_ref(&report, "token")),
        format!(
            "line {case}: case mentions ok and terminates with return errNoToken at line {}",
            case + 1
        )
    );
}

#[test]
fn a_case_guard_whose_abort_is_dropped_is_broken() {
    // Item 2: the refusal taken out of a `case !ok:` or a `select` case.
    let (mut repo, at) = repo();
    let text = fixture(SESSION);
    let weakened = change(
        &mut repo,
        SESSION,
        |t| {
            t.replace(
                "\t\treturn \"\", errNoToken\n",
                "\t\tlog.Print(\"no token\")\n",
            )
            .replace("\t\treturn ctx.Err()\n", "\t\tlog.Print(\"cancelled\")\n")
        },
        "log instead of refusing",
    );
    let report = verify(
        &repo,
        &[
            (
                "token",
                guard_ref(SESSION, &function(&text, "func Token("), &at, "^ok$"),
            ),
            (
                "wait",
                guard_ref(SESSION, &function(&text, "func Wait("), &at, "^ctx\\.Done$"),
            ),
        ],
    );
    for id in ["token", "wait"] {
        let r = claim_ref(&report, id);
        assert_eq!(r["verdict"], "broken", "{id}: {r:#}");
        assert!(
            message(r).contains("case mentions")
                && message(r).contains("its body only logs and continues: fail-open"),
            "{id}: {r:#}"
        );
        assert_eq!(r["culprit"]["commit"], weakened, "{id}: {r:#}");
    }
}

#[test]
fn a_return_removed_from_a_switch_case_is_not_hidden_by_another_guard() {
    // Item 3: `switch { case err != nil: render.Error(...); return }` lost its `return`; the
    // unrelated `if err := store.Delete(...); err != nil { ... return }` below it satisfied
    // `fail_closed: {when: ^err$}`, and the ref came back drifted.
    let (mut repo, at) = repo();
    let text = fixture(SESSION);
    change(
        &mut repo,
        SESSION,
        |t| {
            t.replacen(
                "\t\trender.Error(w, r, http.StatusUnauthorized, err)\n\t\treturn\n",
                "\t\trender.Error(w, r, http.StatusUnauthorized, err)\n",
                1,
            )
        },
        "render the error once",
    );
    let report = verify(
        &repo,
        &[(
            "revoke",
            guard_ref(SESSION, &function(&text, "func Revoke("), &at, "^err$"),
        )],
    );
    let r = claim_ref(&report, "revoke");
    assert_eq!(r["verdict"], "broken", "{r:#}");
    let case = line_of(&text, "case err != nil:");
    assert_eq!(
        message(r),
        format!(
            "line {case}: case mentions err but calls render.Error but does not return: fail-open"
        )
    );
    assert!(r["relocated"].is_null(), "{r:#}");
}

#[test]
fn a_loop_guard_ending_in_continue_verifies_and_breaks_without_it() {
    // Item 8: the code after a loop guard ending in `continue` (or `continue label`) cannot
    // run on that path; it was called fail-open.
    let (mut repo, at) = repo();
    let text = fixture(PEERS);
    let refs = [
        (
            "admit",
            guard_ref(PEERS, &function(&text, "func Admit("), &at, "Verify$"),
        ),
        (
            "first",
            guard_ref(
                PEERS,
                &function(&text, "func FirstTrusted("),
                &at,
                "^trusted$",
            ),
        ),
    ];
    let report = verify(&repo, &refs);
    for id in ["admit", "first"] {
        let r = claim_ref(&report, id);
        assert_eq!(r["verdict"], "verified", "{id}: {r:#}");
    }
    assert!(
        message(claim_ref(&report, "admit")).ends_with(&format!(
            "terminates with continue at line {}",
            line_of(&text, "\t\t\tcontinue")
        )),
        "{:#}",
        claim_ref(&report, "admit")
    );
    change(
        &mut repo,
        PEERS,
        |t| t.replacen("\t\t\tcontinue\n", "", 1),
        "admit every peer, logging the unverified ones",
    );
    let r = claim_ref(&verify(&repo, &refs), "admit").clone();
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert!(message(&r).contains("only logs and continues"), "{r:#}");
}

#[test]
fn an_added_conjunct_or_a_dropped_disjunct_is_a_weakening_named_with_its_commit() {
    // Item 4: `if isRevoked {` became `if isRevoked && !a.config.AllowRevokedRenewal {` and
    // came back verified; so would `a || b` become `a`.
    let (mut repo, at) = repo();
    let text = fixture(RENEW);
    let renew = function(&text, "func (a *Authority) Renew(");
    let weakened = change(
        &mut repo,
        RENEW,
        |t| {
            t.replace(
                "\tif isRevoked {\n",
                "\tif isRevoked && !a.config.AllowRevokedRenewal {\n",
            )
            .replace(
                "\tif old.Expired(a.now()) || old.Issuer != a.issuer {\n",
                "\tif old.Expired(a.now()) {\n",
            )
        },
        "allow renewing revoked certificates when configured",
    );
    let report = verify(
        &repo,
        &[
            ("revoked", guard_ref(RENEW, &renew, &at, "^isRevoked$")),
            ("renewable", guard_ref(RENEW, &renew, &at, "Expired$")),
        ],
    );
    let revoked = claim_ref(&report, "revoked");
    assert_eq!(revoked["verdict"], "broken", "{revoked:#}");
    let guard = line_of(&text, "\tif isRevoked {");
    assert_eq!(
        message(revoked),
        format!(
            "line {guard}: the guard on isRevoked now also requires !a.config.AllowRevokedRenewal (it was `if isRevoked`): fail-open"
        )
    );
    assert_eq!(revoked["culprit"]["kind"], "broke", "{revoked:#}");
    assert_eq!(revoked["culprit"]["commit"], weakened, "{revoked:#}");
    assert!(revoked["relocated"].is_null(), "{revoked:#}");
    // `fix` leaves a narrowed guard's citation alone: nothing moved.
    let before = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    let (_, stdout, stderr) = run(repo.path(), &["fix"]);
    let after = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    assert_eq!(before, after, "{stdout}{stderr}");
    assert!(stdout.contains("left alone revoked"), "{stdout}");
    let renewable = claim_ref(&report, "renewable");
    assert_eq!(renewable["verdict"], "broken", "{renewable:#}");
    assert!(
        message(renewable)
            .contains("the guard on old.Expired no longer aborts when old.Issuer != a.issuer"),
        "{renewable:#}"
    );
}

#[test]
fn a_guard_written_with_and_from_the_start_is_judged_as_written() {
    // Item 4, no false alarm: `if isRevoked && !a.config.AllowRevokedRekey` was cited as it
    // is, at the citing revision and after an edit inside the range that keeps the guard.
    let (mut repo, at) = repo();
    let text = fixture(RENEW);
    let rekey = function(&text, "func (a *Authority) Rekey(");
    let refs = [("rekey", guard_ref(RENEW, &rekey, &at, "^isRevoked$"))];
    assert_eq!(
        claim_ref(&verify(&repo, &refs), "rekey")["verdict"],
        "verified"
    );
    change(
        &mut repo,
        RENEW,
        |t| t.replace("rekey: certificate %s was revoked", "rekey: %s is revoked"),
        "shorter message",
    );
    let r = claim_ref(&verify(&repo, &refs), "rekey").clone();
    assert_eq!(r["verdict"], "verified", "{r:#}");
}

#[test]
fn a_guard_moved_unchanged_is_drifted_not_broken() {
    // Item 4, no false alarm: code inserted above moves the guard; its condition is the same.
    let (mut repo, at) = repo();
    let text = fixture(RENEW);
    let renew = function(&text, "func (a *Authority) Renew(");
    change(
        &mut repo,
        RENEW,
        |t| {
            t.replace(
                "// Renew issues",
                "// Valid reports whether a certificate may be used.\nfunc Valid(c *Certificate) bool {\n\treturn c != nil\n}\n\n// Renew issues",
            )
        },
        "add Valid",
    );
    let report = verify(
        &repo,
        &[("revoked", guard_ref(RENEW, &renew, &at, "^isRevoked$"))],
    );
    let r = claim_ref(&report, "revoked");
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["how"], "history", "{r:#}");
}

#[test]
fn a_return_that_may_hand_back_a_nil_error_is_not_a_refusal() {
    // Item 10: `if port == "" { return name, defaultPort, err }` returns whatever `lookup`
    // said, nil included: `fail_closed` and `explain` (hence `init`) called it a guard.
    let (repo, at) = repo();
    let text = fixture(PEER);
    let guard = line_of(&text, "if port == \"\" {");
    let lines = format!("{guard}-{}", guard + 2);
    let report = verify(&repo, &[("port", guard_ref(PEER, &lines, &at, "^port$"))]);
    let r = claim_ref(&report, "port");
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(
        message(r),
        format!(
            "line {guard}: if mentions port but returns err, which nothing on that path proves non-nil: fail-open"
        )
    );
    // `init` writes what `explain` suggests: no `fail_closed` on the success path.
    let resolve = function(&text, "func Resolve(");
    repo.write(
        "docs/peers.md",
        format!("Addresses are resolved to registered peers in `{PEER}:{resolve}`.\n"),
    );
    std::fs::remove_file(repo.path().join("anchors.yaml")).unwrap();
    let (code, stdout, stderr) = run(repo.path(), &["init", "--from-docs", "docs/peers.md"]);
    let written = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap_or_default();
    assert!(code <= 1, "{stdout}{stderr}");
    assert!(written.contains("peer/resolve.go"), "{written}");
    assert!(!written.contains("^port$"), "{written}");
    let file = GoFile::parse(text.into_bytes()).unwrap();
    let (start, end) = {
        let range = function(&fixture(PEER), "func Resolve(");
        let (a, b) = range.split_once('-').unwrap();
        (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap())
    };
    let range = LineRange::new(
        anchorcheck::lines::LineNo::new(start).unwrap(),
        anchorcheck::lines::LineNo::new(end).unwrap(),
    )
    .unwrap();
    let explanation = explain(&file, range);
    let suggested: Vec<&str> = explanation
        .suggested()
        .into_iter()
        .map(|c| c.yaml.as_str())
        .collect();
    assert!(
        !suggested.iter().any(|y| y.contains("port")),
        "a success path is no guard to suggest: {suggested:?}"
    );
    let port_checks: Vec<_> = explanation
        .constructs
        .iter()
        .filter(|c| c.summary.contains("port == \"\""))
        .flat_map(|c| c.checks.iter())
        .collect();
    assert!(
        !port_checks.is_empty() && port_checks.iter().all(|c| !c.holds),
        "{port_checks:#?}"
    );
}
