//! The verdict of one ref on small in-memory files: verified, drifted (by symbol, in the
//! package, by search), ambiguous, broken (weakened in place) and error, and what each says.

use std::path::Path;

use super::job::{Job, jobs};
use super::parses::Sources;
use super::settle::{Found, settle};
use super::{RevisionInfo, VerifyOptions, select_claims, verify};
use crate::anchors::{self, AnchorsFile};
use crate::lines::{LineNo, LineRange};
use crate::model::{Candidate, How, Place, RefReport, Report, Verdict};
use crate::source::MemoryFiles;

/// `check` guards its argument fail-closed at line 5; `other` holds a second, unrelated guard.
const GUARD: &str = "package a\n\nfunc check(ok bool) {\n\t// the guard\n\tif !ok {\n\t\tlog.Fatal(\"no\")\n\t}\n}\n\nfunc other(ready bool) {\n\tif !ready {\n\t\tpanic(\"not ready\")\n\t}\n}\n";

fn anchors_with(refs: &str) -> AnchorsFile {
    let yaml = format!("version: 1\nclaims:\n  - id: c\n    status: required\n    refs:\n{refs}");
    anchors::parse(&yaml, Path::new("anchors.yaml"), Path::new("anchors.yaml"))
        .unwrap_or_else(|e| panic!("fixture validates: {e}"))
}

fn run(files: &MemoryFiles, refs: &str) -> Report {
    let info = RevisionInfo {
        repo: ".".into(),
        rev: "WORKTREE".into(),
        commit: None,
    };
    verify(
        &anchors_with(refs),
        files,
        &[],
        None,
        info,
        &VerifyOptions::default(),
    )
    .expect("verifies")
}

/// The one ref's report of a run on the files `(path, text)`.
fn check(files: &[(&str, &str)], r: &str) -> RefReport {
    let mut memory = MemoryFiles::new();
    for (path, text) in files {
        memory.insert(*path, *text);
    }
    run(&memory, &format!("      - {r}\n")).claims[0].refs[0].clone()
}

fn lines(a: u32, b: u32) -> LineRange {
    LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
}

#[test]
fn evidence_at_its_lines_is_verified_with_nothing_else_said() {
    let r = check(
        &[("a.go", GUARD)],
        "{ path: a.go, lines: 5-7, expect: [{ fail_closed: { when: ok } }] }",
    );
    assert_eq!(r.verdict(), Verdict::Verified, "{r:#?}");
    assert!(r.relocated().is_none() && r.culprit().is_none() && r.notes.is_empty());
    assert!(r.expectations.iter().all(|e| e.ok) && !r.expectations.is_empty());
    // Nobody reads a verified ref's lines unless `audit` asks.
    assert!(r.excerpt.is_none());
}

#[test]
fn a_guard_weakened_in_place_is_broken_not_moved_to_the_other_guard() {
    let weakened = GUARD.replace("log.Fatal(\"no\")", "log.Printf(\"no\")");
    let r = check(
        &[("a.go", &weakened)],
        "{ path: a.go, lines: 5-7, expect: [{ fail_closed: { when: ok|ready } }] }",
    );
    assert_eq!(r.verdict(), Verdict::Broken, "{r:#?}");
    assert!(r.relocated().is_none() && r.candidates().is_empty());
    assert!(!r.expectations[0].ok);
    // The failing lines are kept for the reader.
    let excerpt = r.excerpt.expect("the checked lines");
    assert_eq!(excerpt.first_line.get(), 5);
}

#[test]
fn evidence_pushed_down_its_function_is_drifted_by_symbol_keeping_the_cited_shape() {
    let pushed = GUARD.replace(
        "\t// the guard\n",
        "\t// the guard\n\tsetup()\n\tsetup()\n\tsetup()\n\tsetup()\n",
    );
    let r = check(
        &[("a.go", &pushed)],
        "{ path: a.go, lines: 5-7, symbol: check, expect: [{ fail_closed: { when: ok } }] }",
    );
    assert_eq!(r.verdict(), Verdict::Drifted, "{r:#?}");
    let relocated = r.relocated().expect("a new place");
    assert_eq!(relocated.how, How::Symbol);
    assert_eq!(relocated.place.path, "a.go");
    assert_eq!(relocated.place.lines, lines(9, 11));
}

#[test]
fn evidence_moved_without_a_symbol_is_found_by_search() {
    let moved = format!(
        "package a\n\nfunc first() {{}}\n\nfunc second() {{}}\n{}",
        &GUARD[10..]
    );
    let r = check(
        &[("a.go", &moved)],
        "{ path: a.go, lines: 5-7, expect: [{ fail_closed: { when: ok } }] }",
    );
    assert_eq!(r.verdict(), Verdict::Drifted, "{r:#?}");
    let relocated = r.relocated().expect("a new place");
    assert_eq!(relocated.how, How::Search);
    assert_eq!(relocated.place.lines, lines(9, 11));
}

#[test]
fn a_symbol_moved_to_another_file_of_its_package_is_drifted_there() {
    let r = check(
        &[
            ("pkg/a.go", "package pkg\n\nfunc unrelated() {}\n"),
            ("pkg/b.go", &GUARD.replace("package a", "package pkg")),
        ],
        "{ path: pkg/a.go, lines: 5-7, symbol: check, expect: [{ fail_closed: { when: ok } }] }",
    );
    assert_eq!(r.verdict(), Verdict::Drifted, "{r:#?}");
    let relocated = r.relocated().expect("a new place");
    assert_eq!(relocated.how, How::Symbol);
    assert_eq!(relocated.place.path, "pkg/b.go");
}

#[test]
fn evidence_in_several_declarations_is_ambiguous_best_first() {
    let three = "package p\n\nfunc a() {\n\tsetup()\n\tlog.Fatal(\"a\")\n}\n\nfunc b() {\n\tlog.Fatal(\"b\")\n}\n";
    let r = check(
        &[("p.go", three)],
        "{ path: p.go, lines: 4, expect: [{ call: log.Fatal }] }",
    );
    assert_eq!(r.verdict(), Verdict::Ambiguous, "{r:#?}");
    let places: Vec<u32> = r
        .candidates()
        .iter()
        .map(|c| c.place.lines.start().get())
        .collect();
    // The one in the declaration the cited line was in comes first.
    assert_eq!(places, [5, 9]);
    assert_eq!(r.candidates()[0].same_declaration, Some(true));
}

#[test]
fn a_missing_file_is_an_error_naming_the_nearest_path() {
    let r = check(
        &[("server/tls.go", GUARD)],
        "{ path: server/tsl.go, lines: 5-7, expect: [{ fail_closed: { when: ok } }] }",
    );
    assert_eq!(r.verdict(), Verdict::Error, "{r:#?}");
    let error = r.error().expect("why");
    assert_eq!(
        error,
        "file not found at this revision; did you mean `server/tls.go`?"
    );
}

#[test]
fn a_range_past_the_end_is_searched_and_says_how_long_the_file_is() {
    let r = check(
        &[("a.go", GUARD)],
        "{ path: a.go, lines: 40-42, expect: [{ call: panic }] }",
    );
    assert_eq!(r.verdict(), Verdict::Drifted, "{r:#?}");
    // Found with the shape of the citation: three lines, the guard's.
    assert_eq!(r.relocated().expect("found").place.lines, lines(11, 13));
    assert!(
        r.notes
            .iter()
            .any(|n| n == "lines 40-42 are past the end: the file now has 14 lines"),
        "{:?}",
        r.notes
    );
}

#[test]
fn evidence_gone_from_a_range_past_the_end_says_so_for_each_expectation() {
    let r = check(
        &[("a.go", GUARD)],
        "{ path: a.go, lines: 40, expect: [{ call: os.Exit }, { string: gone }] }",
    );
    assert_eq!(r.verdict(), Verdict::Broken, "{r:#?}");
    let kinds: Vec<&str> = r.expectations.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["call", "string"]);
    for e in &r.expectations {
        assert!(!e.ok);
        assert_eq!(
            e.message,
            "line 40 is past the end: the file now has 14 lines"
        );
    }
}

#[test]
fn a_symbol_naming_nothing_is_a_note_on_a_ref_that_holds() {
    let r = check(
        &[("a.go", GUARD)],
        "{ path: a.go, lines: 5-7, symbol: chek, expect: [{ fail_closed: { when: ok } }] }",
    );
    assert_eq!(r.verdict(), Verdict::Verified, "{r:#?}");
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(r.notes[0].contains("`check`"), "{}", r.notes[0]);
}

#[test]
fn a_symbol_only_ref_holds_where_its_declaration_starts() {
    let held = check(
        &[("a.go", GUARD)],
        "{ path: a.go, lines: 10, symbol: other }",
    );
    assert_eq!(held.verdict(), Verdict::Verified, "{held:#?}");
    assert_eq!(held.expectations[0].kind, "symbol");
    let inside = check(
        &[("a.go", GUARD)],
        "{ path: a.go, lines: 11, symbol: other }",
    );
    assert_eq!(inside.verdict(), Verdict::Drifted, "{inside:#?}");
    assert_eq!(
        inside.relocated().expect("found").place.lines.start().get(),
        10
    );
}

/// The job of the one ref of `anchors`, and what settling `places` makes of it.
fn settled(anchors: &AnchorsFile, places: Vec<Candidate>) -> RefReport {
    let options = VerifyOptions::default();
    let claims = select_claims(anchors, &options).expect("claims");
    let jobs: Vec<Job<'_>> = jobs(&claims, &options);
    let files = MemoryFiles::new();
    let src = Sources {
        files: &files,
        history: None,
        parses: super::parses::ParseCache::new(),
        origins: Default::default(),
        declared_names: &Default::default(),
    };
    let mut report = super::check::new_report(&jobs[0]);
    let found = Found {
        places,
        how: How::Search,
    };
    settle(&mut report, found, None, false, &jobs[0], &src);
    report.settled().expect("settling gives an outcome")
}

fn candidate(path: &str, line: u32) -> Candidate {
    Candidate {
        place: Place {
            path: path.into(),
            lines: lines(line, line),
        },
        how: How::Search,
        distance: Some(1),
        similarity: Some(50),
        same_declaration: None,
    }
}

#[test]
fn no_place_is_broken_one_is_drifted_several_are_ambiguous_in_the_order_found() {
    let anchors = anchors_with("      - { path: a.go, lines: 4, expect: [{ call: f }] }\n");
    assert_eq!(settled(&anchors, Vec::new()).verdict(), Verdict::Broken);
    let one = settled(&anchors, vec![candidate("a.go", 9)]);
    assert_eq!(one.verdict(), Verdict::Drifted);
    let relocated = one.relocated().expect("the one place");
    assert_eq!(
        (relocated.place.lines, relocated.how),
        (lines(9, 9), How::Search)
    );
    // Without history there is no commit to blame.
    assert!(one.culprit().is_none());
    let several = settled(&anchors, vec![candidate("a.go", 9), candidate("b.go", 2)]);
    assert_eq!(several.verdict(), Verdict::Ambiguous);
    let order: Vec<&str> = several
        .candidates()
        .iter()
        .map(|c| c.place.path.as_str())
        .collect();
    assert_eq!(order, ["a.go", "b.go"]);
    assert!(several.relocated().is_none());
}
