//! `keep_excerpts`: audit gets highlighted lines for every ref and the new place of drifted ones.

use std::path::Path;

use super::{RevisionInfo, VerifyOptions, verify};
use crate::anchors;
use crate::model::{Report, TokenClass, Verdict};
use crate::source::MemoryFiles;

const GO: &str = "package a\n\nimport \"log\"\n\n// moved down\n\nfunc check(ok bool) {\n\tif !ok {\n\t\tlog.Fatal(\"no\")\n\t}\n}\n\nfunc other() {}\n";

const ANCHORS: &str = "version: 1\nclaims:\n  - id: fatal\n    status: required\n    refs:\n      - { path: a.go, lines: 9, expect: [{ call: log.Fatal }] }\n  - id: moved\n    status: required\n    refs:\n      - { path: a.go, lines: 5-7, symbol: check, expect: [{ call: log.Fatal }] }\n";

fn run(keep_excerpts: bool) -> Report {
    let anchors = anchors::parse(
        ANCHORS,
        Path::new("anchors.yaml"),
        Path::new("anchors.yaml"),
    )
    .expect("fixture validates");
    let mut files = MemoryFiles::new();
    files.insert("a.go", GO);
    let info = RevisionInfo {
        repo: ".".into(),
        rev: "WORKTREE".into(),
        commit: None,
    };
    let options = VerifyOptions {
        keep_excerpts,
        ..VerifyOptions::default()
    };
    verify(&anchors, &files, &[], None, info, &options).expect("verifies")
}

#[test]
fn verified_refs_keep_no_excerpt_unless_asked() {
    let report = run(false);
    let verified = &report.claims[0].refs[0];
    assert_eq!(verified.verdict(), Verdict::Verified);
    assert!(verified.excerpt.is_none());
    let drifted = &report.claims[1].refs[0];
    let excerpt = drifted
        .excerpt
        .as_ref()
        .expect("failing refs keep their lines");
    assert!(excerpt.highlights.is_none());
    assert!(drifted.relocated().unwrap().excerpt.is_none());
}

#[test]
fn kept_excerpts_are_highlighted_and_follow_drifted_evidence() {
    let report = run(true);
    let verified = &report.claims[0].refs[0];
    let excerpt = verified
        .excerpt
        .as_ref()
        .expect("verified ref keeps its lines");
    assert_eq!(excerpt.lines, ["\t\tlog.Fatal(\"no\")"]);
    let classes: Vec<TokenClass> = excerpt.highlights.as_ref().unwrap()[0]
        .iter()
        .map(|h| h.class)
        .collect();
    assert_eq!(classes, [TokenClass::Function, TokenClass::String]);

    let drifted = &report.claims[1].refs[0];
    assert_eq!(drifted.verdict(), Verdict::Drifted);
    let reloc = drifted.relocated().unwrap();
    let moved = reloc.excerpt.as_ref().expect("the new place's lines");
    assert_eq!(moved.first_line, reloc.place.lines.start());
    assert!(moved.lines.iter().any(|l| l.contains("log.Fatal")));
    assert!(moved.highlights.is_some());
    assert!(reloc.expectations.iter().all(|e| e.ok) && !reloc.expectations.is_empty());
}
