//! Hostile Go files: nesting 100,000 deep, syntax errors, very long lines, invalid UTF-8. Every
//! expectation kind runs over each, with no recursion to overflow the stack and no quadratic walk.

use std::path::Path;

use anchorcheck::anchors;
use anchorcheck::model::{Report, Verdict};
use anchorcheck::source::MemoryFiles;
use anchorcheck::verify::{self, RevisionInfo, VerifyOptions};

const DEPTH: usize = 100_000;

/// One claim per expectation kind, each citing every line of `deep.go`.
fn every_kind_anchors(lines: usize) -> String {
    let kinds = [
        "call: mux.HandleFunc",
        "routes: { paths: [/x] }",
        "fail_closed: { when: mtls }",
        "tls: { client_auth: require_and_verify }",
        "string: /x",
        "identifier: mtls",
        "query: \"(call_expression) @c\"",
        "text: mtls",
        "regex: \"m+tls\"",
        "not: { call: log.Printf }",
        "any: [{ call: f }, { identifier: a }]",
    ];
    let mut out = String::from("version: 1\nclaims:\n");
    for (i, kind) in kinds.iter().enumerate() {
        out.push_str(&format!(
            "  - id: k{i}\n    status: required\n    refs:\n      - path: deep.go\n        lines: 1-{lines}\n        expect:\n          - {kind}\n"
        ));
    }
    out
}

fn verify_source(go: String) -> Report {
    let lines = go.lines().count();
    let yaml = every_kind_anchors(lines);
    let anchors = anchors::parse(&yaml, Path::new("anchors.yaml"), Path::new("anchors.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut files = MemoryFiles::new();
    files.insert("deep.go", go);
    let info = RevisionInfo {
        repo: ".".to_string(),
        rev: "memory".to_string(),
        commit: None,
    };
    verify::verify(
        &anchors,
        &files,
        &anchorcheck::docs::read_pages(&anchors),
        None,
        info,
        &VerifyOptions::default(),
    )
    .unwrap()
}

/// Every ref got a verdict that is not `error` (the file parsed and every kind was evaluated).
fn assert_evaluated(report: &Report) {
    assert_eq!(report.claims.len(), 11);
    for claim in &report.claims {
        for r in &claim.refs {
            assert_ne!(r.verdict(), Verdict::Error, "{}: {:?}", claim.id, r.error());
            assert!(!r.expectations.is_empty(), "{} evaluated nothing", claim.id);
        }
    }
}

fn nested(open: &str, middle: &str, close: &str) -> String {
    let mut s = String::with_capacity((open.len() + close.len()) * DEPTH + middle.len());
    for _ in 0..DEPTH {
        s.push_str(open);
    }
    s.push_str(middle);
    for _ in 0..DEPTH {
        s.push_str(close);
    }
    s
}

#[test]
fn parenthesized_expression_100k_deep_is_evaluated() {
    let go = format!("package a\n\nvar x = {}\n", nested("(", "mtls", ")"));
    assert_evaluated(&verify_source(go));
}

#[test]
fn nested_calls_100k_deep_are_evaluated() {
    let go = format!("package a\n\nvar x = {}\n", nested("f(", "mtls", ")"));
    assert_evaluated(&verify_source(go));
}

#[test]
fn nested_route_registrations_100k_deep_are_evaluated() {
    let go = format!(
        "package a\n\nfunc r() {{\n\t{}\n}}\n",
        nested("mux.HandleFunc(\"/x\", ", "h", ")")
    );
    assert_evaluated(&verify_source(go));
}

#[test]
fn method_chain_100k_long_is_evaluated() {
    let go = format!(
        "package a\n\nfunc r() {{\n\tmux.HandleFunc(\"/x\", h){}\n}}\n",
        ".Methods(\"GET\")".repeat(DEPTH)
    );
    assert_evaluated(&verify_source(go));
}

#[test]
fn selector_chain_100k_long_is_evaluated() {
    let go = format!("package a\n\nvar x = mtls{}\n", ".b".repeat(DEPTH));
    assert_evaluated(&verify_source(go));
}

#[test]
fn nested_blocks_100k_deep_are_evaluated() {
    let go = format!(
        "package a\n\nfunc g() {{\n{}\n}}\n",
        nested("{", "log.Fatal(mtls)", "}")
    );
    assert_evaluated(&verify_source(go));
}

#[test]
fn nested_if_guards_100k_deep_are_evaluated() {
    let go = format!(
        "package a\n\nfunc g() error {{\n{}\n\treturn nil\n}}\n",
        nested("if !mtls { ", "return errNoMTLS", " }\n")
    );
    assert_evaluated(&verify_source(go));
}

#[test]
fn nested_func_literals_100k_deep_are_evaluated() {
    let go = format!(
        "package a\n\nvar x = {}\n",
        nested("func(){mux.HandleFunc(\"/x\",h);", "mtls()", "}()")
    );
    assert_evaluated(&verify_source(go));
}

#[test]
fn nested_composite_literals_100k_deep_are_evaluated() {
    let go = format!(
        "package a\n\nvar c = &tls.Config{{ClientAuth: tls.RequireAndVerifyClientCert}}\nvar x = {}\n",
        nested("T{A: ", "mtls", "}")
    );
    assert_evaluated(&verify_source(go));
}
