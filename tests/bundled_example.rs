//! The bundled zen-mesh example verifies, and each weakening the page exists to catch breaks it.

mod common;

use common::{TestRepo, testdata, verify_json};

const PREFIX: &str = "testdata/zen-mesh";
const MAIN_GO: &str = "testdata/zen-mesh/src/saas/back/src/main.go";
const LISTENER_GO: &str = "testdata/zen-mesh/src/saas/back/cmd/mtls_listener.go";
const HMAC_GO: &str = "testdata/zen-mesh/src/saas/back/internal/auth/hmac_middleware.go";

/// The example committed as it is in this repository: the fixture tree and our anchors.yaml.
fn example_repo() -> TestRepo {
    let mut repo = TestRepo::new();
    repo.copy_tree(&testdata("zen-mesh"), PREFIX);
    let anchors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("anchors.yaml");
    repo.write("anchors.yaml", std::fs::read(anchors).unwrap());
    repo.commit_all("import zen-mesh");
    repo
}

/// Applies `edit` to one file of the example (the edit must change it) and commits.
fn mutate(repo: &mut TestRepo, path: &str, edit: impl Fn(&str) -> String) {
    let full = repo.path().join(path);
    let before = std::fs::read_to_string(&full).unwrap();
    let after = edit(&before);
    assert_ne!(before, after, "the mutation of {path} changed nothing");
    assert_eq!(
        before.lines().count(),
        after.lines().count(),
        "mutations keep line numbers so only the property changes"
    );
    std::fs::write(&full, after).unwrap();
    repo.commit_all("weaken a check");
}

/// The failing expectations of one claim, as `kind: message` lines.
fn failures(report: &serde_json::Value, claim: &str) -> Vec<String> {
    let claim = report["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == claim)
        .unwrap();
    assert_eq!(claim["verdict"], "broken", "{claim}");
    claim["refs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["expectations"].as_array().unwrap().clone())
        .filter(|e| e["ok"] == false)
        .map(|e| {
            format!(
                "{}: {}",
                e["kind"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn assert_broken_because(repo: &TestRepo, claim: &str, needles: &[&str]) {
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 1);
    let failures = failures(&report, claim);
    for needle in needles {
        assert!(
            failures.iter().any(|f| f.contains(needle)),
            "no failure of {claim} mentions {needle:?}: {failures:#?}"
        );
    }
    // Only the weakened claim breaks.
    let broken: Vec<&str> = report["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] != "verified")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(broken, [claim]);
}

#[test]
fn bundled_example_verifies_every_claim() {
    let repo = example_repo();
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let claims = report["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 9);
    assert!(claims.iter().all(|c| c["verdict"] == "verified"));
    let refs: usize = claims
        .iter()
        .map(|c| c["refs"].as_array().unwrap().len())
        .sum();
    assert_eq!(report["summary"]["refs"], refs);
    assert!(refs >= 20);
}

#[test]
fn fatal_turned_into_printf_is_fail_open() {
    let mut repo = example_repo();
    mutate(&mut repo, MAIN_GO, |s| {
        s.replacen(
            "\t\tlog.Fatalf(\"mtls: ZEN_MTLS_REQUIRED=false",
            "\t\tlog.Printf(\"mtls: ZEN_MTLS_REQUIRED=false",
            1,
        )
    });
    assert_broken_because(&repo, "agent-saas-mtls", &["3182", "fail-open"]);
}

#[test]
fn guard_commented_out_is_broken() {
    let mut repo = example_repo();
    mutate(&mut repo, MAIN_GO, |s| {
        let lines: Vec<String> = s
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if (3180..3186).contains(&i) {
                    format!("//{l}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        lines.join("\n") + "\n"
    });
    assert_broken_because(&repo, "agent-saas-mtls", &["commented out"]);
}

#[test]
fn http_error_without_return_is_fail_open() {
    let mut repo = example_repo();
    mutate(&mut repo, HMAC_GO, |s| {
        s.replacen(
            "http.Error(w, \"missing request signature\", http.StatusUnauthorized)\n\t\t\treturn\n",
            "http.Error(w, \"missing request signature\", http.StatusUnauthorized)\n\t\t\t// keep going\n",
            1,
        )
    });
    assert_broken_because(&repo, "agent-saas-hmac", &["http.Error", "fail-open"]);
}

#[test]
fn route_moved_to_the_public_router_is_broken() {
    let mut repo = example_repo();
    mutate(&mut repo, LISTENER_GO, |s| {
        s.replacen(
            "\tmtlsMux.Handle(\"POST /v1/agent/heartbeat\",",
            "\tpublicMux.Handle(\"POST /v1/agent/heartbeat\",",
            1,
        )
    });
    assert_broken_because(
        &repo,
        "agent-saas-mtls",
        &["/v1/agent/heartbeat", "publicMux"],
    );
}

#[test]
fn route_left_only_in_a_log_string_is_broken() {
    let mut repo = example_repo();
    mutate(&mut repo, LISTENER_GO, |s| {
        s.replacen(
            "\tmtlsMux.Handle(\"GET /v1/agent/allowlist\",",
            "\tl.log.Info(\"moved\", \"route\", \"GET /v1/agent/allowlist\",",
            1,
        )
    });
    assert_broken_because(&repo, "agent-saas-mtls", &["/v1/agent/allowlist", "string"]);
}

#[test]
fn client_auth_downgrade_is_broken() {
    let mut repo = example_repo();
    mutate(&mut repo, LISTENER_GO, |s| {
        s.replacen(
            "ClientAuth:     tls.RequireAndVerifyClientCert,",
            "ClientAuth:     tls.VerifyClientCertIfGiven,",
            1,
        )
    });
    assert_broken_because(&repo, "agent-saas-mtls", &["VerifyClientCertIfGiven"]);
}

#[test]
fn insecure_skip_verify_is_broken() {
    let mut repo = example_repo();
    mutate(&mut repo, LISTENER_GO, |s| {
        s.replacen(
            "MinVersion:     tls.VersionTLS13,",
            "MinVersion:     tls.VersionTLS13, InsecureSkipVerify: true,",
            1,
        )
    });
    assert_broken_because(&repo, "agent-saas-mtls", &["InsecureSkipVerify"]);
}

#[test]
fn guard_returning_nil_is_fail_open() {
    let mut repo = example_repo();
    let bootstrap = "testdata/zen-mesh/src/agent/bootstrap/bootstrap.go";
    mutate(&mut repo, bootstrap, |s| {
        s.replacen(
            "return nil, fmt.Errorf(\"bootstrap: SPIFFE identity required, refusing to start: %w\", err)",
            "return nil, nil // SPIFFE identity required, carrying on",
            1,
        )
    });
    assert_broken_because(&repo, "spiffe-spire", &["nil", "fail-open"]);
}
