//! The bundled zen-mesh example verifies, and each weakening the page exists to catch breaks it.

use crate::common::{TestRepo, anchorcheck, testdata, verify_json};

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
    let claim = crate::common::claim(report, claim);
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

/// The weakenings the page exists to catch, each an edit of one file of the example that keeps
/// every line number, with the claim it breaks and words its failure must mention.
struct Weakening {
    name: &'static str,
    path: &'static str,
    edit: fn(&str) -> String,
    claim: &'static str,
    because: &'static [&'static str],
}

const BOOTSTRAP_GO: &str = "testdata/zen-mesh/src/agent/bootstrap/bootstrap.go";

const WEAKENINGS: &[Weakening] = &[
    Weakening {
        name: "fatal turned into printf",
        path: MAIN_GO,
        edit: |s| {
            s.replacen(
                "\t\tlog.Fatalf(\"mtls: ZEN_MTLS_REQUIRED=false",
                "\t\tlog.Printf(\"mtls: ZEN_MTLS_REQUIRED=false",
                1,
            )
        },
        claim: "agent-saas-mtls",
        because: &["3182", "fail-open"],
    },
    Weakening {
        name: "guard commented out",
        path: MAIN_GO,
        edit: |s| {
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
        },
        claim: "agent-saas-mtls",
        because: &["commented out"],
    },
    Weakening {
        name: "http.Error without return",
        path: HMAC_GO,
        edit: |s| {
            s.replacen(
                "http.Error(w, \"missing request signature\", http.StatusUnauthorized)\n\t\t\treturn\n",
                "http.Error(w, \"missing request signature\", http.StatusUnauthorized)\n\t\t\t// keep going\n",
                1,
            )
        },
        claim: "agent-saas-hmac",
        because: &["http.Error", "fail-open"],
    },
    Weakening {
        name: "route moved to the public router",
        path: LISTENER_GO,
        edit: |s| {
            s.replacen(
                "\tmtlsMux.Handle(\"POST /v1/agent/heartbeat\",",
                "\tpublicMux.Handle(\"POST /v1/agent/heartbeat\",",
                1,
            )
        },
        claim: "agent-saas-mtls",
        because: &["/v1/agent/heartbeat", "publicMux"],
    },
    Weakening {
        name: "route left only in a log string",
        path: LISTENER_GO,
        edit: |s| {
            s.replacen(
                "\tmtlsMux.Handle(\"GET /v1/agent/allowlist\",",
                "\tl.log.Info(\"moved\", \"route\", \"GET /v1/agent/allowlist\",",
                1,
            )
        },
        claim: "agent-saas-mtls",
        because: &["/v1/agent/allowlist", "string"],
    },
    Weakening {
        name: "client auth downgraded",
        path: LISTENER_GO,
        edit: |s| {
            s.replacen(
                "ClientAuth:     tls.RequireAndVerifyClientCert,",
                "ClientAuth:     tls.VerifyClientCertIfGiven,",
                1,
            )
        },
        claim: "agent-saas-mtls",
        because: &["VerifyClientCertIfGiven"],
    },
    Weakening {
        name: "InsecureSkipVerify",
        path: LISTENER_GO,
        edit: |s| {
            s.replacen(
                "MinVersion:     tls.VersionTLS13,",
                "MinVersion:     tls.VersionTLS13, InsecureSkipVerify: true,",
                1,
            )
        },
        claim: "agent-saas-mtls",
        because: &["InsecureSkipVerify"],
    },
    Weakening {
        name: "guard returning nil",
        path: BOOTSTRAP_GO,
        edit: |s| {
            s.replacen(
                "return nil, fmt.Errorf(\"bootstrap: SPIFFE identity required, refusing to start: %w\", err)",
                "return nil, nil // SPIFFE identity required, carrying on",
                1,
            )
        },
        claim: "spiffe-spire",
        because: &["nil", "fail-open"],
    },
];

fn weakening(name: &str) -> &'static Weakening {
    WEAKENINGS
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no weakening {name}"))
}

/// The example with `name`'s weakening committed on top, breaking its claim for its reason.
fn assert_weakening_breaks(name: &str) {
    let w = weakening(name);
    let mut repo = example_repo();
    mutate(&mut repo, w.path, w.edit);
    assert_broken_because(&repo, w.claim, w.because);
}

#[test]
fn fatal_turned_into_printf_is_fail_open() {
    assert_weakening_breaks("fatal turned into printf");
}

#[test]
fn guard_commented_out_is_broken() {
    assert_weakening_breaks("guard commented out");
}

#[test]
fn http_error_without_return_is_fail_open() {
    assert_weakening_breaks("http.Error without return");
}

#[test]
fn route_moved_to_the_public_router_is_broken() {
    assert_weakening_breaks("route moved to the public router");
}

#[test]
fn route_left_only_in_a_log_string_is_broken() {
    assert_weakening_breaks("route left only in a log string");
}

#[test]
fn client_auth_downgrade_is_broken() {
    assert_weakening_breaks("client auth downgraded");
}

#[test]
fn insecure_skip_verify_is_broken() {
    assert_weakening_breaks("InsecureSkipVerify");
}

#[test]
fn guard_returning_nil_is_fail_open() {
    assert_weakening_breaks("guard returning nil");
}

/// `anchorcheck init --from-docs` over the example's page: every citation becomes a ref, the
/// scaffold verifies at the commit it was written for, and it catches every weakening the
/// hand-written anchors.yaml catches.
#[test]
fn a_scaffold_of_the_page_covers_every_citation_and_catches_every_weakening() {
    let page = format!("{PREFIX}/docs/security-capability-validation.md");
    let mut repo = example_repo();
    let out = anchorcheck(repo.path())
        .args(["init", "--from-docs", &page, "--out", "scaffold.yaml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let citations =
        anchorcheck::docs::scan(&std::fs::read_to_string(repo.path().join(&page)).unwrap());
    let scaffold = std::fs::read_to_string(repo.path().join("scaffold.yaml")).unwrap();
    let parsed = anchorcheck::anchors::parse(
        &scaffold,
        std::path::Path::new("scaffold.yaml"),
        std::path::Path::new("scaffold.yaml"),
    )
    .unwrap();
    for c in &citations {
        let covered = parsed
            .claims
            .iter()
            .flat_map(|claim| &claim.refs)
            .any(|r| r.lines.value == c.lines && c.names(&r.path.value));
        assert!(covered, "{}:{} has no ref in\n{scaffold}", c.path, c.lines);
    }
    repo.commit_all("scaffold anchors");
    let (code, report) = verify_json(repo.path(), &["--anchors", "scaffold.yaml"]);
    assert_eq!(code, 0, "{report:#}");

    for w in WEAKENINGS {
        let mut weakened = example_repo();
        weakened.write("scaffold.yaml", &scaffold);
        weakened.commit_all("scaffold anchors");
        mutate(&mut weakened, w.path, w.edit);
        let (hand_code, _) = verify_json(weakened.path(), &[]);
        assert_eq!(
            hand_code, 1,
            "the hand-written anchors.yaml misses {}",
            w.name
        );
        let (code, report) = verify_json(weakened.path(), &["--anchors", "scaffold.yaml"]);
        let broken = report["claims"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["verdict"] == "broken");
        assert!(
            code == 1 && broken,
            "the scaffold misses {}: {report:#}",
            w.name
        );
    }
}
