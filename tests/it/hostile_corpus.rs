//! The hostile corpus under testdata/hostile/: each bad anchors file gives its expected message
//! (never a panic or hang), and each hostile Go file its expected verdict and reason.

use std::fmt::Write;
use std::path::Path;

use anchorcheck::anchors::{self, AnchorsError};
use anchorcheck::model::Report;
use anchorcheck::verify::{self, VerifyOptions};

/// What loading an anchors file gives: its problems, or what it holds when valid.
fn load_outcome(path: &Path) -> String {
    match anchors::load(path, Path::new("anchors.yaml")) {
        Ok((file, _)) => {
            let refs: usize = file.claims.iter().map(|c| c.refs.len()).sum();
            format!("valid: {} claim(s), {refs} ref(s)", file.claims.len())
        }
        Err(e @ AnchorsError::Invalid { .. }) => e.to_string(),
        Err(e) => format!("unusable: {e}"),
    }
}

#[test]
fn hostile_anchors_files_give_their_expected_messages() {
    insta::glob!("../../testdata/hostile/anchors", "*.yaml", |path| {
        insta::assert_snapshot!(load_outcome(path));
    });
}

/// Each claim with its verdict, and for each ref its error, parse errors and expectation results.
pub fn describe(report: &Report) -> String {
    let mut out = String::new();
    for claim in &report.claims {
        let _ = writeln!(out, "{}: {}", claim.id, claim.verdict);
        for r in &claim.refs {
            let _ = writeln!(out, "  {}:{} {}", r.path, r.lines, r.verdict());
            if let Some(moved) = r.relocated() {
                let _ = writeln!(out, "    now at {}:{}", moved.place.path, moved.place.lines);
            }
            if let Some(error) = r.error() {
                let _ = writeln!(out, "    error: {error}");
            }
            if !r.parse_errors.is_empty() {
                let lines: Vec<String> = r.parse_errors.iter().map(|l| l.to_string()).collect();
                let _ = writeln!(out, "    parse errors on lines {}", lines.join(", "));
            }
            for e in &r.expectations {
                let mark = if e.ok { "ok" } else { "FAILED" };
                let _ = writeln!(out, "    {} {mark}: {}", e.kind, e.message);
            }
        }
    }
    out
}

#[test]
fn hostile_go_files_give_their_expected_verdicts() {
    let mut repo = crate::common::TestRepo::new();
    let corpus = crate::common::testdata("hostile/go");
    repo.copy_tree(&corpus, "");
    repo.commit_all("hostile go files");
    let anchors_path = repo.path().join("anchors.yaml");
    let (anchors, _) = anchors::load(&anchors_path, Path::new("anchors.yaml")).unwrap();
    let (snapshot, info) = crate::common::head(&repo);
    let report = verify::verify(
        &anchors,
        &snapshot,
        &anchorcheck::docs::read_pages(&anchors),
        None,
        info,
        &VerifyOptions::default(),
    )
    .unwrap();
    insta::assert_snapshot!(describe(&report));
}
