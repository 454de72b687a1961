//! Code written after the cited code was deleted is not the cited code moved (issue 24, the
//! first rule): with `at`, a function deleted in one commit and another written later that
//! satisfies a weak expectation (`identifier:`, `call:`) at the same lines, or in another file,
//! leaves the ref broken, naming the commit that deleted the cited lines; a real move, in one
//! commit or in two close together, is still followed.

use crate::common::{TestRepo, verify_json};
use git2::Oid;

/// The cited function: its `verifyToken` call and its `tokenVerifier` use are the evidence.
const AUTHENTICATE: &str = "// authenticate refuses requests without a valid bearer token.
func authenticate(r *http.Request) error {
\ttok := strings.TrimPrefix(r.Header.Get(\"Authorization\"), \"Bearer \")
\tif err := verifyToken(tokenVerifier, tok); err != nil {
\t\treturn fmt.Errorf(\"authenticate %s: %w\", r.URL.Path, err)
\t}
\treturn nil
}
";

/// Other code written later, which verifies a token as `authenticate` did, on a line alike to
/// the cited one, but is not `authenticate`: it lets admins through, and fails open.
const ADMIN: &str = "// adminOnly tells whether the request comes from an admin.
func adminOnly(r *http.Request) bool {
\ttok := r.Header.Get(\"X-Admin-Token\")
\tif err := verifyToken(tokenVerifier, tok); err != nil {
\t\tfmt.Println(\"not an admin\")
\t}
\treturn strings.HasPrefix(tok, \"admin-\")
}
";

const HEALTHZ: &str =
    "func healthz(w http.ResponseWriter, r *http.Request) {\n\tw.WriteHeader(http.StatusOK)\n}\n";

/// A file of package `server` holding `body`.
fn server_go(body: &str) -> String {
    format!("package server\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n\t\"strings\"\n)\n\n{body}")
}

/// The lines of `text` from the line holding `first` for `len` lines.
fn lines_of(text: &str, first: &str, len: usize) -> String {
    let start = text.lines().position(|l| l.contains(first)).unwrap() + 1;
    if len == 1 {
        start.to_string()
    } else {
        format!("{start}-{}", start + len - 1)
    }
}

/// The cited file at `at`: healthz, then authenticate.
fn cited_file() -> String {
    server_go(&format!("{HEALTHZ}\n{AUTHENTICATE}"))
}

/// anchors.yaml with two claims citing `authenticate` in server/server.go at `at` (with
/// `symbol: authenticate` when `symbol`): its whole function expecting
/// `identifier: tokenVerifier`, and its `verifyToken` line expecting `call: verifyToken`.
fn anchors(at: Oid, symbol: bool) -> String {
    let old = cited_file();
    let symbol = if symbol {
        "\n        symbol: authenticate"
    } else {
        ""
    };
    format!(
        "version: 1
claims:
  - id: uses-verifier
    status: required
    refs:
      - path: server/server.go
        lines: {}{symbol}
        at: {at}
        expect:
          - identifier: tokenVerifier
  - id: verifies-token
    status: required
    refs:
      - path: server/server.go
        lines: {}{symbol}
        at: {at}
        expect:
          - call: verifyToken
",
        lines_of(&old, "func authenticate", 7),
        lines_of(&old, "verifyToken(", 1),
    )
}

/// A repository whose first commit has `cited_file()` in server/server.go, cited with `at`.
fn cited_repo() -> (TestRepo, Oid) {
    let mut repo = TestRepo::new();
    repo.write("server/server.go", cited_file());
    repo.write("server/verify.go", "package server\n\nvar tokenVerifier = 1\n\nfunc verifyToken(v int, tok string) error { return nil }\n");
    let at = repo.commit_all("authenticate requests");
    (repo, at)
}

/// Deletes `authenticate` from server/server.go, then commits an unrelated change after it;
/// returns the deleting commit.
fn delete_authenticate(repo: &mut TestRepo) -> Oid {
    repo.write("server/server.go", server_go(HEALTHZ));
    let deleted = repo.commit_all("drop authenticate: the proxy does it");
    repo.write("README.md", "server\n");
    repo.commit_all("readme");
    deleted
}

/// The two refs' JSON.
fn verify(repo: &TestRepo, at: Oid, symbol: bool) -> Vec<serde_json::Value> {
    repo.write("anchors.yaml", anchors(at, symbol));
    let (_, report) = verify_json(repo.path(), &[]);
    ["uses-verifier", "verifies-token"]
        .iter()
        .map(|id| {
            report["claims"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == *id)
                .unwrap()["refs"][0]
                .clone()
        })
        .collect()
}

/// Says that both refs are broken since `deleted`, the commit that deleted their lines, and
/// that the place found for each at `path` was refused as written after it.
fn assert_all_broken_since(refs: &[serde_json::Value], deleted: Oid, path: &str) {
    let verdicts: Vec<&str> = refs
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["broken", "broken"], "{refs:#?}");
    for r in refs {
        assert_broken_since(r, deleted, path);
    }
}

/// Says that the ref is broken since `deleted`, the commit that deleted its lines, and that the
/// place found at `path` was refused as written after it.
fn assert_broken_since(r: &serde_json::Value, deleted: Oid, path: &str) {
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(r["culprit"]["commit"], deleted.to_string(), "{r:#}");
    let short = &deleted.to_string()[..7];
    let notes = r["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "every cited line was deleted since `at`, in {short}"
        )),
        "{r:#}"
    );
    assert!(
        notes.contains(&format!("not relocated to {path}:"))
            && notes.contains(&format!(
                "was written after the cited lines were deleted in {short}"
            )),
        "{r:#}"
    );
}

#[test]
fn a_function_written_later_at_the_deleted_lines_is_not_where_they_went() {
    let (mut repo, at) = cited_repo();
    let deleted = delete_authenticate(&mut repo);
    // Another function, at the lines `authenticate` had, verifying a token the same way.
    let later = server_go(&format!("{HEALTHZ}\n{ADMIN}"));
    assert_eq!(
        lines_of(&later, "func adminOnly", 7),
        lines_of(&cited_file(), "func authenticate", 7)
    );
    repo.write("server/server.go", later);
    repo.commit_all("admin endpoint");
    for symbol in [false, true] {
        assert_all_broken_since(&verify(&repo, at, symbol), deleted, "server/server.go");
    }
}

#[test]
fn a_function_written_later_after_the_cited_one_was_rewritten_is_not_where_it_went() {
    // The cited lines are not deleted but rewritten into other code (history maps them onto
    // it); the function written later is no more the cited code than after a deletion.
    let (mut repo, at) = cited_repo();
    let counting = AUTHENTICATE
        .replace("authenticate refuses requests without a valid bearer token", "authenticate counts requests by path")
        .replace(
            "\tif err := verifyToken(tokenVerifier, tok); err != nil {\n\t\treturn fmt.Errorf(\"authenticate %s: %w\", r.URL.Path, err)\n\t}\n",
            "\trequests[r.URL.Path+tok]++\n\tfmt.Println(len(requests))\n\tfmt.Println(\"counted\")\n",
        );
    repo.write(
        "server/server.go",
        server_go(&format!("{HEALTHZ}\n{counting}")),
    );
    let rewritten = repo.commit_all("count requests: the proxy authenticates");
    repo.write(
        "server/server.go",
        server_go(&format!("{HEALTHZ}\n{counting}\n{ADMIN}")),
    );
    repo.commit_all("admin endpoint");
    for symbol in [false, true] {
        let refs = verify(&repo, at, symbol);
        let verdicts: Vec<&str> = refs
            .iter()
            .map(|r| r["verdict"].as_str().unwrap())
            .collect();
        assert_eq!(verdicts, ["broken", "broken"], "{refs:#?}");
        let short = &rewritten.to_string()[..7];
        for r in &refs {
            assert_eq!(r["culprit"]["commit"], rewritten.to_string(), "{r:#}");
            assert!(
                r["notes"].to_string().contains(&format!(
                    "was written after the cited lines were rewritten into other code in {short}"
                )),
                "{r:#}"
            );
        }
    }
}

/// `authenticate` written again later, in another file of its package, as another function:
/// it lets admins through, and fails open.
fn rewritten_authenticate() -> String {
    server_go(
        &ADMIN
            .replace("adminOnly tells", "authenticate tells")
            .replace(
                "func adminOnly(r *http.Request) bool",
                "func authenticate(r *http.Request) bool",
            ),
    )
}

#[test]
fn a_function_written_later_in_another_file_is_not_where_they_went() {
    let (mut repo, at) = cited_repo();
    let deleted = delete_authenticate(&mut repo);
    repo.write("server/admin.go", rewritten_authenticate());
    repo.commit_all("admin endpoint");
    // Found by its symbol in the package, and refused.
    assert_all_broken_since(&verify(&repo, at, true), deleted, "server/admin.go");
}

#[test]
fn without_at_history_from_the_last_commit_held_refuses_code_written_later_too() {
    let (mut repo, at) = cited_repo();
    repo.write("server/server.go", server_go(HEALTHZ));
    let deleted = repo.commit_all("drop authenticate: the proxy does it");
    repo.write("server/admin.go", rewritten_authenticate());
    repo.commit_all("admin endpoint");
    // The same refs without `at`: history is followed from the last commit they held at.
    repo.write(
        "anchors.yaml",
        anchors(at, true).replace(&format!("        at: {at}\n"), ""),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let refs: Vec<serde_json::Value> = report["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["refs"][0].clone())
        .collect();
    for r in &refs {
        assert_eq!(r["history_from"], at.to_string(), "{r:#}");
    }
    assert_all_broken_since(&refs, deleted, "server/admin.go");
}

#[test]
fn a_function_deleted_then_written_again_in_the_next_commit_is_not_moved() {
    // Deleted in one commit and written in another file in the next: the second commit wrote
    // new code, whatever it resembles. Only a move in one commit, or a copy made before the
    // cited lines were deleted, is followed (see the tests below).
    let (mut repo, at) = cited_repo();
    repo.write("server/server.go", server_go(HEALTHZ));
    let deleted = repo.commit_all("drop authenticate");
    repo.write("server/admin.go", rewritten_authenticate());
    repo.commit_all("authenticate admins");
    assert_all_broken_since(&verify(&repo, at, true), deleted, "server/admin.go");
}

/// `authenticate` in server/authn.go, below a comment, its error message reworded.
fn moved_authenticate() -> String {
    server_go(&format!(
        "// authn.go: request authentication.\n\n{}",
        AUTHENTICATE.replace("authenticate %s: %w", "authenticate %q: %w")
    ))
}

/// Says that both refs drifted into server/authn.go (`moved`), to the whole function and its
/// `verifyToken` line, moved in `commit`.
fn assert_moved(refs: &[serde_json::Value], moved: &str, commit: Oid) {
    let expected = [
        lines_of(moved, "func authenticate", 7),
        lines_of(moved, "verifyToken(", 1),
    ];
    for (r, lines) in refs.iter().zip(expected) {
        assert_eq!(r["verdict"], "drifted", "{r:#}");
        assert_eq!(r["relocated"]["path"], "server/authn.go", "{r:#}");
        assert_eq!(r["relocated"]["lines"], lines, "{r:#}");
        assert_eq!(r["culprit"]["kind"], "moved", "{r:#}");
        assert_eq!(r["culprit"]["commit"], commit.to_string(), "{r:#}");
    }
}

#[test]
fn a_function_moved_and_edited_in_one_commit_is_followed_exactly() {
    let (mut repo, at) = cited_repo();
    repo.write("server/server.go", server_go(HEALTHZ));
    let moved = moved_authenticate();
    repo.write("server/authn.go", &moved);
    let commit = repo.commit_all("move authenticate into authn.go");
    // Code written later elsewhere changes nothing.
    repo.write("server/admin.go", server_go(ADMIN));
    repo.commit_all("admin endpoint");
    for symbol in [false, true] {
        assert_moved(&verify(&repo, at, symbol), &moved, commit);
    }
}

#[test]
fn a_function_copied_then_deleted_in_the_next_commit_is_followed() {
    // A move in two commits: the copy first, the old function deleted in the next one. The
    // copy existed when the cited lines were deleted: it is where they went.
    let (mut repo, at) = cited_repo();
    let moved = moved_authenticate();
    repo.write("server/authn.go", &moved);
    repo.commit_all("authn.go");
    repo.write("server/server.go", server_go(HEALTHZ));
    let deleted = repo.commit_all("drop the old authenticate");
    repo.write(
        "server/server.go",
        server_go(&format!("{HEALTHZ}\n{ADMIN}")),
    );
    repo.commit_all("admin endpoint");
    for symbol in [false, true] {
        assert_moved(&verify(&repo, at, symbol), &moved, deleted);
    }
}
