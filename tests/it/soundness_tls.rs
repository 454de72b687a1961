//! Issue 21, TLS as Go is written: a cited TLS setting, route registration or call that a
//! later commit weakens (a later conditional override of the same field, a callback set to
//! nil, the construct wrapped in an env-var `if`) is broken, never verified or drifted; the
//! config-driven ways real servers set TLS verify with `when`. Fixtures: testdata/soundness/tls.

use crate::common::{TestRepo, claim_ref, testdata, verify_json};

/// The 1-based line of `base/FILE` holding `needle`.
fn line_of(file: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(testdata(&format!("soundness/tls/base/{file}"))).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {file}")) as u32
        + 1
}

/// A repository holding `base/`, then (when `mutant` names one) a commit replacing its file
/// with `mutants/NAME/FILE`; the base commit.
fn repo(mutant: Option<&str>) -> (TestRepo, String) {
    let mut repo = TestRepo::new();
    repo.copy_tree(&testdata("soundness/tls/base"), "");
    let base = repo.commit_all("gateway").to_string();
    if let Some(name) = mutant {
        repo.copy_tree(&testdata(&format!("soundness/tls/mutants/{name}")), "");
        repo.commit_all(name);
    }
    (repo, base)
}

/// Verifies one claim per `(id, path, lines, expect)` at HEAD, each ref with `at` = `base`;
/// the JSON report.
fn verify(repo: &TestRepo, base: &str, refs: &[(&str, &str, String, &str)]) -> serde_json::Value {
    let mut yaml = String::from("version: 1\nclaims:\n");
    for (id, path, lines, expect) in refs {
        yaml.push_str(&format!(
            "  - id: {id}\n    status: required\n    refs:\n      - path: {path}\n        lines: {lines}\n        at: {base}\n        expect:\n          - {expect}\n"
        ));
    }
    repo.write("anchors.yaml", yaml);
    verify_json(repo.path(), &[]).1
}

/// The verdict and the first failing (else first) expectation's message of claim `id`.
fn outcome(report: &serde_json::Value, id: &str) -> (String, String) {
    let r = claim_ref(report, id);
    let expectations = r["expectations"].as_array().cloned().unwrap_or_default();
    let message = expectations
        .iter()
        .find(|e| e["ok"] == false)
        .or(expectations.first())
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    (
        r["verdict"].as_str().unwrap_or_default().to_string(),
        message,
    )
}

fn assert_verdict(report: &serde_json::Value, id: &str, verdict: &str, says: &[&str]) {
    let (got, message) = outcome(report, id);
    assert_eq!(got, verdict, "{id}: {message}\n{:#}", claim_ref(report, id));
    for needle in says {
        assert!(
            message.contains(needle),
            "{id}: {message:?} lacks {needle:?}"
        );
    }
}

const TLS_FILE: &str = "tlsconfig.go";

/// The `ClientAuth` assignment of `serverTLS`, cited alone.
fn client_auth_ref() -> (&'static str, &'static str, String, &'static str) {
    let line = line_of(TLS_FILE, "incomingTLS.ClientAuth =");
    (
        "client-auth",
        TLS_FILE,
        line.to_string(),
        "tls: { client_auth: require_and_verify }",
    )
}

#[test]
fn the_base_revision_verifies_every_claim() {
    // No false alarm at the revision the claims were written for: each new key, `when` on
    // config-driven settings, routes in loops and in a chi Route closure.
    let (repo, base) = repo(None);
    let report = verify(&repo, &base, &all_claims());
    for (id, _, _, _) in all_claims() {
        assert_verdict(&report, id, "verified", &[]);
    }
}

/// The 1-based line of `base/FILE` holding `needle`, the first after the line holding `after`.
fn line_after(file: &str, after: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(testdata(&format!("soundness/tls/base/{file}"))).unwrap();
    let from = line_of(file, after) as usize;
    text.lines()
        .skip(from)
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not after {after} in {file}")) as u32
        + from as u32
        + 1
}

type Claim = (&'static str, &'static str, String, &'static str);

/// Every claim of the tests, as written for `base/`.
fn all_claims() -> Vec<Claim> {
    let at = |file: &str, needle: &str| line_of(file, needle).to_string();
    let switch = line_of("dynamic.go", "switch c.ClientAuth {");
    // The body of withTrustedCA.
    let trusted = line_after("dynamic.go", "func withTrustedCA", "cfg := &tls.Config{");
    let trusted_end = line_after("dynamic.go", "func withTrustedCA", "return cfg");
    let looped = line_of("routes.go", "for _, method := range");
    let peers = line_of("listener.go", "if c.MTLS {");
    vec![
        client_auth_ref(),
        (
            "min-version",
            TLS_FILE,
            at(TLS_FILE, "MinVersion: tls.VersionTLS12"),
            "tls: { min_version: \"1.2\" }",
        ),
        (
            "verify-peer",
            TLS_FILE,
            at(TLS_FILE, "incomingTLS.VerifyPeerCertificate ="),
            "tls: { verify_peer_certificate: set }",
        ),
        (
            "verify-connection",
            TLS_FILE,
            at(TLS_FILE, "incomingTLS.VerifyConnection ="),
            "tls: { verify_connection: set }",
        ),
        (
            "client-cas",
            TLS_FILE,
            at(TLS_FILE, "incomingTLS.ClientCAs ="),
            "tls: { client_cas: set }",
        ),
        (
            "get-config",
            "dynamic.go",
            at("dynamic.go", "GetConfigForClient:"),
            "tls: { get_config_for_client: set, min_version: \"1.3\" }",
        ),
        (
            "switch-when",
            "dynamic.go",
            format!("{switch}-{}", switch + 7),
            "tls: { client_auth: require_and_verify, when: RequireAndVerifyClientCert }",
        ),
        (
            "trusted-ca-when",
            "dynamic.go",
            format!("{trusted}-{trusted_end}"),
            "tls: { client_auth: require_and_verify, client_cas: set, when: TrustedCAFile }",
        ),
        (
            "jobs-route",
            "routes.go",
            at("routes.go", "\"/v1/jobs\""),
            "routes: { on: mux, paths: [/v1/jobs] }",
        ),
        (
            "looped-route",
            "routes.go",
            format!("{looped}-{}", looped + 2),
            "routes: { paths: [/v1/status] }",
        ),
        (
            "chi-route",
            "routes.go",
            at("routes.go", "r.Get(\"/jobs\""),
            "routes: { paths: [/v2/jobs] }",
        ),
        (
            "debug-route-when",
            "routes.go",
            at("routes.go", "/debug/pprof/"),
            "routes: { paths: [/debug/pprof/], when: ^debug$ }",
        ),
        (
            "listener",
            "listener.go",
            at("listener.go", "ln = tls.NewListener(ln, cfg)"),
            "call: tls.NewListener",
        ),
        (
            "peer-listener-when",
            "listener.go",
            format!("{peers}-{}", peers + 2),
            "call: { name: tls.NewListener, when: MTLS }",
        ),
    ]
}

/// The claim `id` of [`all_claims`].
fn claim_of(id: &str) -> Claim {
    all_claims()
        .into_iter()
        .find(|c| c.0 == id)
        .unwrap_or_else(|| panic!("no claim {id}"))
}

/// Commits `mutant` on top of the base and verifies the claims `ids` against it.
fn after(mutant: &str, ids: &[&str]) -> serde_json::Value {
    let (repo, base) = repo(Some(mutant));
    let claims: Vec<Claim> = ids.iter().map(|id| claim_of(id)).collect();
    verify(&repo, &base, &claims)
}

#[test]
fn a_later_conditional_client_auth_override_breaks_the_claim() {
    // Item 5: `if os.Getenv("X") != "" { tlsConfig.ClientAuth = tls.NoClientCert }` added
    // after the cited setting came out verified.
    let report = after("later-client-auth", &["client-auth"]);
    assert_verdict(
        &report,
        "client-auth",
        "broken",
        &[
            "ClientAuth is set to tls.NoClientCert when os.Getenv(\"GATEWAY_RELAXED\") != \"\"",
            "expected tls.RequireAndVerifyClientCert",
        ],
    );
}

#[test]
fn a_later_lowered_min_version_breaks_the_claim() {
    let report = after("later-min-version", &["min-version"]);
    assert_verdict(
        &report,
        "min-version",
        "broken",
        &["MinVersion is set to tls.VersionTLS10 when os.Getenv(\"GATEWAY_LEGACY\") != \"\""],
    );
}

#[test]
fn insecure_skip_verify_set_later_breaks_every_tls_claim_on_the_value() {
    let report = after("later-insecure", &["client-auth", "verify-peer"]);
    for id in ["client-auth", "verify-peer"] {
        assert_verdict(
            &report,
            id,
            "broken",
            &["InsecureSkipVerify is set to true"],
        );
    }
}

#[test]
fn a_callback_set_to_nil_later_breaks_the_claim() {
    let report = after("later-nil-callback", &["verify-peer"]);
    assert_verdict(
        &report,
        "verify-peer",
        "broken",
        &["VerifyPeerCertificate is set to nil when os.Getenv(\"GATEWAY_NO_REGION\") != \"\""],
    );
}

#[test]
fn a_later_unconditional_assignment_that_strengthens_does_not_break() {
    let report = after("later-strengthen", &["min-version", "client-auth"]);
    assert_verdict(&report, "min-version", "verified", &[]);
    assert_verdict(&report, "client-auth", "verified", &[]);
}

#[test]
fn verify_peer_certificate_wrapped_in_an_env_var_if_is_broken() {
    // Item 7: drifted before, and `tls:` had no key for the callback.
    let report = after("wrapped-verify-peer", &["verify-peer"]);
    assert_verdict(
        &report,
        "verify-peer",
        "broken",
        &[
            "VerifyPeerCertificate is set to regionValidator(region) only when os.Getenv(\"GATEWAY_SKIP_REGION\") == \"\"",
        ],
    );
}

#[test]
fn client_cas_wrapped_in_an_env_var_if_is_broken() {
    let report = after("wrapped-client-cas", &["client-cas"]);
    assert_verdict(
        &report,
        "client-cas",
        "broken",
        &["ClientCAs is set to pool only when"],
    );
}

#[test]
fn verify_connection_set_to_nil_is_broken() {
    let report = after("nil-verify-connection", &["verify-connection"]);
    assert_verdict(
        &report,
        "verify-connection",
        "broken",
        &["VerifyConnection is nil, expected it set"],
    );
}

#[test]
fn get_config_for_client_set_to_nil_is_broken() {
    let report = after("nil-get-config", &["get-config"]);
    assert_verdict(
        &report,
        "get-config",
        "broken",
        &["GetConfigForClient is nil, expected it set"],
    );
}

#[test]
fn a_setting_cited_with_when_wrapped_in_another_condition_is_broken() {
    let report = after("wrapped-trusted-ca", &["trusted-ca-when"]);
    assert_verdict(
        &report,
        "trusted-ca-when",
        "broken",
        &[
            "only when os.Getenv(\"GATEWAY_OPTIONAL\") == \"\", which `when: TrustedCAFile` does not match",
        ],
    );
}

#[test]
fn a_setting_cited_with_when_downgraded_later_is_broken() {
    let report = after("later-trusted-ca", &["trusted-ca-when"]);
    assert_verdict(
        &report,
        "trusted-ca-when",
        "broken",
        &["ClientAuth is set to tls.VerifyClientCertIfGiven when c.PerSNI"],
    );
}

#[test]
fn without_when_a_conditional_setting_says_under_which_condition() {
    let (repo, base) = repo(None);
    let (_, _, lines, _) = claim_of("trusted-ca-when");
    let report = verify(
        &repo,
        &base,
        &[(
            "no-when",
            "dynamic.go",
            lines,
            "tls: { client_auth: require_and_verify }",
        )],
    );
    assert_verdict(
        &report,
        "no-when",
        "broken",
        &["ClientAuth is set to tls.RequireAndVerifyClientCert only when c.TrustedCAFile != \"\""],
    );
}

#[test]
fn a_route_registration_wrapped_in_an_env_var_if_is_broken_in_place() {
    // Item 6: came out drifted, by symbol search.
    let report = after("wrapped-route", &["jobs-route"]);
    assert_verdict(
        &report,
        "jobs-route",
        "broken",
        &["/v1/jobs is registered only when os.Getenv(\"GATEWAY_JOBS\") != \"\""],
    );
}

#[test]
fn a_conditional_route_without_when_says_under_which_condition() {
    let (repo, base) = repo(None);
    let (_, _, lines, _) = claim_of("debug-route-when");
    let report = verify(
        &repo,
        &base,
        &[(
            "no-when",
            "routes.go",
            lines,
            "routes: { paths: [/debug/pprof/] }",
        )],
    );
    assert_verdict(
        &report,
        "no-when",
        "broken",
        &["/debug/pprof/ is registered only when debug"],
    );
}

#[test]
fn a_call_wrapped_in_an_env_var_if_is_broken() {
    let report = after("wrapped-call", &["listener"]);
    assert_verdict(
        &report,
        "listener",
        "broken",
        &["calls tls.NewListener only when os.Getenv(\"GATEWAY_PLAINTEXT\") == \"\""],
    );
}

#[test]
fn a_conditional_call_without_when_says_under_which_condition() {
    let (repo, base) = repo(None);
    let (_, _, lines, _) = claim_of("peer-listener-when");
    let report = verify(
        &repo,
        &base,
        &[("no-when", "listener.go", lines, "call: tls.NewListener")],
    );
    assert_verdict(
        &report,
        "no-when",
        "broken",
        &["calls tls.NewListener only when c.MTLS"],
    );
}

#[test]
fn a_wrapped_route_or_setting_cited_without_at_is_broken_too() {
    // Without `at`, history is followed from the commit where the ref last held.
    for (mutant, id, says) in [
        (
            "wrapped-route",
            "jobs-route",
            "/v1/jobs is registered only when",
        ),
        (
            "later-client-auth",
            "client-auth",
            "ClientAuth is set to tls.NoClientCert when",
        ),
        (
            "wrapped-verify-peer",
            "verify-peer",
            "VerifyPeerCertificate is set to regionValidator(region) only when",
        ),
    ] {
        let (repo, _) = repo(Some(mutant));
        let (_, path, lines, expect) = claim_of(id);
        repo.write(
            "anchors.yaml",
            format!(
                "version: 1\nclaims:\n  - id: {id}\n    status: required\n    refs:\n      - path: {path}\n        lines: {lines}\n        expect:\n          - {expect}\n"
            ),
        );
        let report = verify_json(repo.path(), &[]).1;
        assert_verdict(&report, id, "broken", &[says]);
    }
}
