//! Code moved into files git does not pair as renames: history follows it there when the cited
//! text and the expectations are found in one file, lists the files when several, and never
//! guesses (issue 13, item 2).

mod common;

use common::{TestRepo, anchorcheck, testdata, verify_json};

const HEADER: &str = "package server\n\nimport (\n\t\"errors\"\n\t\"net/http\"\n)\n\n";

/// The mTLS guard, cited at lines 3-5 of itself (its `if` and `return`).
const GUARD: &str = "// requireClientCert refuses requests without a verified client certificate.\nfunc requireClientCert(r *http.Request) error {\n\tif r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {\n\t\treturn errors.New(\"mtls: client certificate required\")\n\t}\n\treturn nil\n}\n";

const OTHER: &str =
    "func healthz(w http.ResponseWriter, r *http.Request) {\n\tw.WriteHeader(http.StatusOK)\n}\n";

/// The first line of the guard's `if` in `text`, and the range citing `if` through `return`.
fn guard_lines(text: &str) -> String {
    let line = text
        .lines()
        .position(|l| l.contains("if r.TLS == nil"))
        .unwrap()
        + 1;
    format!("{line}-{}", line + 2)
}

fn anchors(path: &str, lines: &str, at: &str) -> String {
    format!(
        "version: 1\nclaims:\n  - id: client-certs\n    status: required\n    refs:\n      - path: {path}\n        lines: {lines}\n        at: {at}\n        expect:\n          - fail_closed: {{ when: \"(?i)TLS\" }}\n"
    )
}

fn the_ref(report: &serde_json::Value) -> &serde_json::Value {
    &report["claims"][0]["refs"][0]
}

#[test]
fn a_copy_into_a_new_package_deleted_later_from_the_old_file_is_followed() {
    let mut repo = TestRepo::new();
    let old = format!("{HEADER}{GUARD}\n{OTHER}");
    repo.write("server/server.go", &old);
    let at = repo.commit_all("add the client-cert guard");
    // Copied into a new package (and its package clause), the old one left in place...
    let copy = format!(
        "package mtls\n\nimport (\n\t\"errors\"\n\t\"net/http\"\n)\n\n// Package mtls holds the guards.\n\n{GUARD}"
    );
    repo.write("internal/mtls/guard.go", &copy);
    repo.commit_all("start the mtls package");
    repo.write("README", "x\n");
    repo.commit_all("readme");
    // ...and deleted from the old file later.
    repo.write("server/server.go", format!("{HEADER}{OTHER}"));
    let deleted = repo.commit_all("use the mtls package");
    repo.write(
        "anchors.yaml",
        anchors("server/server.go", &guard_lines(&old), &at.to_string()),
    );

    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/mtls/guard.go");
    assert_eq!(r["relocated"]["lines"], guard_lines(&copy));
    assert_eq!(r["relocated"]["how"], "history");
    let short = &deleted.to_string()[..7];
    assert_eq!(
        r["relocated"]["detail"],
        format!("moved to another file in {short}")
    );
    assert_eq!(r["culprit"]["kind"], "moved");
    assert_eq!(r["culprit"]["commit"], deleted.to_string());
    let text = anchorcheck(repo.path()).arg("verify").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "(found by history (moved to another file in {short}))"
        )),
        "{text}"
    );
}

#[test]
fn a_split_into_a_new_file_then_renamed_twice_is_followed_to_its_last_name() {
    let mut repo = TestRepo::new();
    let old = format!("{HEADER}{OTHER}\n{GUARD}");
    repo.write("server/server.go", &old);
    let at = repo.commit_all("add the client-cert guard");
    // The guard moves into a file of its own with more around it: git pairs nothing (the
    // new file is mostly new, the old one stays).
    let split = format!(
        "{HEADER}// certificates.go: the client-certificate checks.\n\nvar errNoChain = errors.New(\"no chain\")\n\nfunc chains(r *http.Request) int {{\n\treturn len(r.TLS.VerifiedChains)\n}}\n\n{GUARD}"
    );
    repo.write("server/certificates.go", &split);
    repo.write("server/server.go", format!("{HEADER}{OTHER}"));
    let moved = repo.commit_all("split out the certificate checks");
    for (from, to, subject) in [
        ("server/certificates.go", "server/client_certs.go", "rename"),
        (
            "server/client_certs.go",
            "internal/tlsauth/client_certs.go",
            "move",
        ),
    ] {
        let text = std::fs::read_to_string(repo.path().join(from)).unwrap();
        std::fs::remove_file(repo.path().join(from)).unwrap();
        repo.write(to, text);
        repo.commit_all(subject);
    }
    repo.write(
        "anchors.yaml",
        anchors("server/server.go", &guard_lines(&old), &at.to_string()),
    );

    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/tlsauth/client_certs.go");
    assert_eq!(r["relocated"]["lines"], guard_lines(&split));
    assert_eq!(
        r["relocated"]["detail"],
        format!("moved to another file in {}", &moved.to_string()[..7])
    );
}

#[test]
fn copies_in_several_files_are_ambiguous_and_listed() {
    let mut repo = TestRepo::new();
    let old = format!("{HEADER}{GUARD}\n{OTHER}");
    repo.write("server/server.go", &old);
    let at = repo.commit_all("add the client-cert guard");
    let copy = |pkg: &str| {
        format!("package {pkg}\n\nimport (\n\t\"errors\"\n\t\"net/http\"\n)\n\n{GUARD}")
    };
    repo.write("admin/guard.go", copy("admin"));
    repo.write("agent/guard.go", copy("agent"));
    repo.write("server/server.go", format!("{HEADER}{OTHER}"));
    repo.commit_all("one guard per listener");
    repo.write(
        "anchors.yaml",
        anchors("server/server.go", &guard_lines(&old), &at.to_string()),
    );

    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "ambiguous", "{r:#}");
    let candidates: Vec<&str> = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(candidates, ["admin/guard.go", "agent/guard.go"]);
}

#[test]
fn a_weakened_copy_elsewhere_is_not_a_move() {
    let mut repo = TestRepo::new();
    let old = format!("{HEADER}{GUARD}\n{OTHER}");
    repo.write("server/server.go", &old);
    let at = repo.commit_all("add the client-cert guard");
    // The same text, except that it no longer refuses: the evidence did not move, it is gone.
    let weakened = GUARD.replace(
        "\t\treturn errors.New(\"mtls: client certificate required\")\n",
        "\t\t_ = errors.New(\"mtls: client certificate required\")\n",
    );
    repo.write(
        "internal/mtls/guard.go",
        format!("package mtls\n\nimport (\n\t\"errors\"\n\t\"net/http\"\n)\n\n{weakened}"),
    );
    repo.write("server/server.go", format!("{HEADER}{OTHER}"));
    let dropped = repo.commit_all("move the guard, and weaken it");
    repo.write(
        "anchors.yaml",
        anchors("server/server.go", &guard_lines(&old), &at.to_string()),
    );

    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(r["culprit"]["commit"], dropped.to_string());
}

#[test]
fn a_lookalike_with_another_name_is_not_where_the_lines_went() {
    let mut repo = TestRepo::new();
    let old = format!("{HEADER}{GUARD}\n{OTHER}");
    repo.write("server/server.go", &old);
    let at = repo.commit_all("add the guard");
    // Two new files since `at`: one holds the guard, one the same body under another name.
    let lookalike = GUARD
        .replace("requireClientCert", "requireAdminCert")
        .replace("refuses requests", "refuses admin requests");
    let header =
        |pkg: &str| format!("package {pkg}\n\nimport (\n\t\"errors\"\n\t\"net/http\"\n)\n\n");
    repo.write("admin/guard.go", format!("{}{lookalike}", header("admin")));
    repo.write(
        "internal/mtls/guard.go",
        format!("{}{GUARD}", header("mtls")),
    );
    repo.commit_all("one guard package, and an admin guard");
    repo.write("server/server.go", format!("{HEADER}{OTHER}"));
    repo.commit_all("use it");
    repo.write(
        "anchors.yaml",
        anchors("server/server.go", &guard_lines(&old), &at.to_string()),
    );

    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/mtls/guard.go");
}

#[test]
fn an_exact_copy_that_was_always_there_is_not_a_move() {
    let mut repo = TestRepo::new();
    let old = format!("{HEADER}{GUARD}\n{OTHER}");
    repo.write("server/server.go", &old);
    let vendored =
        format!("package legacy\n\nimport (\n\t\"errors\"\n\t\"net/http\"\n)\n\n{GUARD}");
    repo.write("legacy/guard.go", &vendored);
    let at = repo.commit_all("add the guard, and a legacy copy");
    repo.write(
        "legacy/guard.go",
        vendored.replace("package legacy\n", "package legacy // old\n"),
    );
    repo.write("server/server.go", format!("{HEADER}{OTHER}"));
    let dropped = repo.commit_all("drop the guard");
    repo.write(
        "anchors.yaml",
        anchors("server/server.go", &guard_lines(&old), &at.to_string()),
    );

    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(r["culprit"]["commit"], dropped.to_string());
}

#[test]
fn grpc_go_moving_its_buffer_pools_to_internal_is_followed() {
    // grpc-go b6f89f749 (testdata/history/grpc-buffer-pool/ORIGIN.md): the old file's cited
    // lines are rewritten into other code, not deleted, and git pairs no rename.
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("history/grpc-buffer-pool/rev1"), "");
    let at = repo.commit_all("mem: Add faster tiered buffer pool");
    repo.replace_tree(&testdata("history/grpc-buffer-pool/rev2"), "");
    let moved = repo.commit_all("mem: Move buffer pool implementations to internal (#8910)");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: pool-get-clears\n    status: required\n    refs:\n      - path: mem/buffer_pool.go\n        lines: 266-276\n        at: {at}\n        expect:\n          - call: clear\n"
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = the_ref(&report);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/mem/mem.go");
    assert_eq!(r["relocated"]["lines"], "208-218");
    assert_eq!(
        r["relocated"]["detail"],
        format!("moved to another file in {}", &moved.to_string()[..7])
    );
}
