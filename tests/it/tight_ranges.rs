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

/// Route registrations at lines 6-8.
const ROUTES: &str = "package api\n\nimport \"net/http\"\n\nfunc routes(mux *http.ServeMux, h *Handlers) {\n\tmux.Handle(\"/v1/agent/heartbeat\", requireMTLS(http.HandlerFunc(h.Heartbeat)))\n\tmux.HandleFunc(\"/v1/agent/state\", h.State)\n\tmux.HandleFunc(\"/v1/agent/logs\", h.Logs)\n}\n";

fn routes_anchors(at: &str) -> String {
    format!(
        "version: 1\nclaims:\n  - id: agent-routes\n    status: required\n    refs:\n      - path: api/routes.go\n        lines: 6-8\n        at: {at}\n        expect:\n          - routes: {{ on: mux, paths: [/v1/agent/heartbeat, /v1/agent/state, /v1/agent/logs], exactly: true }}\n"
    )
}

#[test]
fn a_last_line_rewritten_with_new_lines_before_it_keeps_to_its_successor() {
    let mut repo = TestRepo::new();
    repo.write("api/routes.go", ROUTES);
    let at = repo.commit_all("agent routes");
    // The last cited registration is rewritten (a comment appended) with a debug route and a
    // comment added before it, and the function moves two lines down: git makes one hunk of
    // line 8 -> lines 10-14, whose last line carries the cited registration.
    let rewritten = ROUTES
        .replace(
            "\tmux.HandleFunc(\"/v1/agent/logs\", h.Logs)\n",
            "\tif h.Debug {\n\t\tlog.Printf(\"debug endpoints on\")\n\t}\n\t// Logs stream until the agent disconnects.\n\tmux.HandleFunc(\"/v1/agent/logs\", h.Logs) // tail -f\n",
        )
        .replace("func routes", "// routes registers the agent API.\n//\nfunc routes");
    repo.write("api/routes.go", rewritten);
    repo.commit_all("debug logging");
    repo.write("anchors.yaml", routes_anchors(&at.to_string()));

    let (_, report) = verify_json(repo.path(), &[]);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["how"], "history", "{r:#}");
    // Through the registration's new line, where the cited code went.
    assert_eq!(r["relocated"]["lines"], "8-14", "{r:#}");
}
#[test]
fn a_broken_ref_says_where_its_lines_were_checked() {
    let mut repo = TestRepo::new();
    let guard = "package auth\n\nfunc check(cfg config) error {\n\tif cfg.caFile == \"\" {\n\t\treturn errNoCA\n\t}\n\treturn nil\n}\n";
    repo.write("auth.go", guard);
    let at = repo.commit_all("guard");
    // Two lines above, and the guard made to log instead of refusing.
    let weakened = guard
        .replace(
            "func check",
            "// check refuses a config without a CA.\n//\nfunc check",
        )
        .replace("\t\treturn errNoCA\n", "\t\tlog.Print(errNoCA)\n");
    repo.write("auth.go", weakened);
    repo.commit_all("log only");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: ca\n    status: required\n    refs:\n      - path: auth.go\n        lines: 4-6\n        at: {at}\n        expect:\n          - fail_closed: {{ when: caFile }}\n"
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(
        r["checked"],
        serde_json::json!({"path": "auth.go", "lines": "6-8"}),
        "{r:#}"
    );
}
