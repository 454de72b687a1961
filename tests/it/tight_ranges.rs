//! Ranges mapped through history keep their shape: a cited line that still exists maps to
//! exactly where it is, and only lines edited inside the range make it grow or shrink, however
//! large git's hunk around it (issue 13, item 3).

use crate::common::{TestRepo, verify_json};

const HEAD: &str = "package server\n\nimport (\n\t\"crypto/tls\"\n\t\"net/http\"\n)\n\nfunc newServer(pool *x509.CertPool) *http.Server {\n";

/// The TLS setting, cited whole: lines 9-14 of the file.
const TLS: &str = "\tcfg := &tls.Config{\n\t\tClientAuth: tls.RequireAndVerifyClientCert,\n\t\tClientCAs:  pool,\n\t\tMinVersion: tls.VersionTLS12,\n\t}\n\tsrv := &http.Server{TLSConfig: cfg}\n";

fn anchors(at: &str) -> String {
    format!(
        "version: 1\nclaims:\n  - id: client-certs\n    status: required\n    refs:\n      - path: server.go\n        lines: 9-14\n        at: {at}\n        expect:\n          - tls: {{ client_auth: require_and_verify, min_version: \"1.2\" }}\n"
    )
}

#[test]
fn a_six_line_tls_setting_stays_six_lines_when_a_large_hunk_rewrites_its_last_line() {
    let mut repo = TestRepo::new();
    let tail = "\treturn srv\n}\n";
    repo.write("server.go", format!("{HEAD}{TLS}{tail}"));
    let at = repo.commit_all("serve mTLS");
    // A change above shifts it by two lines; one that rewrites its last line and the rest of
    // the function gives git a 20-line hunk starting inside the cited range.
    let above = "// newServer builds the listener.\n// It requires client certificates.\n";
    let rewritten: String = (0..18)
        .map(|i| format!("\tsrv.SetKeepAlivesEnabled(i%2 == {i})\n"))
        .collect();
    let tls = TLS.replace(
        "\tsrv := &http.Server{TLSConfig: cfg}\n",
        "\tsrv := &http.Server{TLSConfig: cfg, ReadHeaderTimeout: 5}\n",
    );
    let head = HEAD.replace("func newServer", &format!("{above}func newServer"));
    repo.write("server.go", format!("{head}{tls}{rewritten}{tail}"));
    repo.commit_all("harden the server");
    repo.write("anchors.yaml", anchors(&at.to_string()));

    let (_, report) = verify_json(repo.path(), &[]);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["how"], "history");
    assert_eq!(
        r["relocated"]["lines"], "11-16",
        "six lines, two lower: {r:#}"
    );
}

#[test]
fn lines_inserted_inside_grow_it_by_those_lines_only() {
    let mut repo = TestRepo::new();
    let tail = "\treturn srv\n}\n";
    repo.write("server.go", format!("{HEAD}{TLS}{tail}"));
    let at = repo.commit_all("serve mTLS");
    // Two lines inside the literal, and a long function added right after the range.
    let tls = TLS.replace(
        "\t\tClientCAs:  pool,\n",
        "\t\tClientCAs:  pool,\n\t\t// Verified against the private CA only.\n\t\tRootCAs:    nil,\n",
    );
    let after: String = (0..25)
        .map(|i| format!("\tlog.Printf(\"step {i}\")\n"))
        .collect();
    repo.write("server.go", format!("{HEAD}{tls}{after}{tail}"));
    repo.commit_all("document the CA");
    repo.write("anchors.yaml", anchors(&at.to_string()));

    let (_, report) = verify_json(repo.path(), &[]);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["lines"], "9-16", "{r:#}");
}
