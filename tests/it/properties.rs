//! Property tests: the anchors parser and the docs citation scanner never panic; the history
//! mapping agrees with a model of random edits; `fix` then `verify` is clean after pure shifts.

use std::path::Path;

use anchorcheck::anchors;
use anchorcheck::docs;
use anchorcheck::lines::{LineNo, LineRange};
use anchorcheck::model::Verdict;
use anchorcheck::source::GitRepo;
use anchorcheck::source::history::{Hunk, line_hash, line_shape};
use anchorcheck::verify::history::map_range;
use anchorcheck::verify::{self, HistorySource, RevisionInfo, VerifyOptions};
use proptest::prelude::*;

/// Fragments that make arbitrary text look like anchors.yaml often enough to reach validation.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("version: 1\n".to_string()),
        Just("claims:\n".to_string()),
        Just("  - id: a\n".to_string()),
        Just("    refs:\n".to_string()),
        Just("      - path: a.go\n".to_string()),
        Just("        lines: 3-9\n".to_string()),
        Just("        expect:\n          - call: f\n".to_string()),
        Just("          - any: [{not: {text: x}}, {regex: \"(\"}]\n".to_string()),
        Just("          - query: \"(call_expression\"\n".to_string()),
        Just("&a [*a, *a]\n".to_string()),
        Just("{[\"\t\r\n\u{feff}:-?!|>".to_string()),
        "[ -~]{0,12}".prop_map(|s| s),
        any::<String>(),
    ];
    proptest::collection::vec(token, 0..24).prop_map(|v| v.concat())
}

/// Fragments that make arbitrary text look like a docs page with citations.
fn markdownish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("src/a.go:12-30".to_string()),
        Just("`pkg/b.go#L4-L9`".to_string()),
        Just("[x](https://github.com/o/r/blob/main/a.go#L1-L2)".to_string()),
        Just("```go\n".to_string()),
        Just("<a href=\"c.go:7\">".to_string()),
        Just("a.go:99999999999999999999".to_string()),
        Just("é.go:1 ".to_string()),
        Just("\n\n| t | a.go:3 |\n".to_string()),
        "[ -~\n]{0,16}".prop_map(|s| s),
        any::<String>(),
    ];
    proptest::collection::vec(token, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn anchors_parser_never_panics(source in yamlish()) {
        let _ = anchors::parse(&source, Path::new("anchors.yaml"), Path::new("anchors.yaml"));
    }

    #[test]
    fn citation_scanner_never_panics_and_spans_hold_what_they_name(page in markdownish()) {
        for c in docs::scan(&page) {
            prop_assert_eq!(&page[c.path_span.clone()], c.path.as_str());
            prop_assert!(page.get(c.lines_span.clone()).is_some());
            prop_assert!(c.line >= 1 && c.column >= 1);
        }
    }
}

/// One edit of a file of line ids: insert `count` new lines before index `at`, or delete up to
/// `count` lines from `at`.
#[derive(Clone, Debug)]
enum Edit {
    Insert { at: usize, count: usize },
    Delete { at: usize, count: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..60, 1usize..6).prop_map(|(at, count)| Edit::Insert { at, count }),
        (0usize..60, 1usize..6).prop_map(|(at, count)| Edit::Delete { at, count }),
    ]
}

/// Applies the edits to lines `1..=len`; `Some(old line)` for survivors, `None` for new lines.
fn apply(len: usize, edits: &[Edit]) -> Vec<Option<usize>> {
    let mut lines: Vec<Option<usize>> = (1..=len).map(Some).collect();
    for e in edits {
        match *e {
            Edit::Insert { at, count } => {
                let at = at.min(lines.len());
                lines.splice(at..at, std::iter::repeat_n(None, count));
            }
            Edit::Delete { at, count } => {
                let at = at.min(lines.len());
                let end = (at + count).min(lines.len());
                lines.drain(at..end);
            }
        }
    }
    lines
}

/// The hunks git computes (no context lines) between the old and new texts.
fn git_hunks(old: &[Option<usize>], new: &[Option<usize>]) -> Vec<Hunk> {
    let text = |lines: &[Option<usize>]| -> String {
        let mut fresh = 0;
        lines
            .iter()
            .map(|l| match l {
                Some(id) => format!("old {id}\n"),
                None => {
                    fresh += 1;
                    format!("new {fresh}\n")
                }
            })
            .collect()
    };
    let (old_text, new_text) = (text(old), text(new));
    let mut options = git2::DiffOptions::new();
    options.context_lines(0);
    let patch = git2::Patch::from_buffers(
        old_text.as_bytes(),
        None,
        new_text.as_bytes(),
        None,
        Some(&mut options),
    )
    .unwrap();
    (0..patch.num_hunks())
        .map(|i| {
            let (h, _) = patch.hunk(i).unwrap();
            let mut hunk = Hunk {
                old_start: h.old_start(),
                old_lines: h.old_lines(),
                new_start: h.new_start(),
                new_lines: h.new_lines(),
                old_hashes: Vec::new(),
                new_hashes: Vec::new(),
                old_shapes: Vec::new(),
                new_shapes: Vec::new(),
            };
            for l in 0..patch.num_lines_in_hunk(i).unwrap() {
                let line = patch.line_in_hunk(i, l).unwrap();
                match line.origin() {
                    '-' => {
                        hunk.old_hashes.push(line_hash(line.content()));
                        hunk.old_shapes.push(line_shape(line.content()));
                    }
                    '+' => {
                        hunk.new_hashes.push(line_hash(line.content()));
                        hunk.new_shapes.push(line_shape(line.content()));
                    }
                    _ => {}
                }
            }
            hunk
        })
        .collect()
}

fn range(a: usize, b: usize) -> LineRange {
    let n = |x: usize| LineNo::new(u32::try_from(x).unwrap()).unwrap();
    LineRange::new(n(a), n(b)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn history_mapping_agrees_with_the_edit_model(
        len in 1usize..50,
        edits in proptest::collection::vec(edit(), 0..6),
        a in 1usize..50,
        span in 0usize..10,
    ) {
        let a = a.min(len);
        let b = (a + span).min(len);
        let old: Vec<Option<usize>> = (1..=len).map(Some).collect();
        let new = apply(len, &edits);
        let hunks = git_hunks(&old, &new);
        let mapped = map_range(range(a, b), &hunks);
        // Where each surviving cited line went (1-based).
        let survivors: Vec<usize> = new
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_some_and(|id| (a..=b).contains(&id)))
            .map(|(i, _)| i + 1)
            .collect();
        if survivors.is_empty() {
            return Ok(());
        }
        let mapped = mapped.expect("lines survived, so the range must map somewhere");
        for s in &survivors {
            prop_assert!(
                mapped.contains_line(LineNo::new(u32::try_from(*s).unwrap()).unwrap()),
                "surviving line moved to {} outside {} (hunks {:?})", s, mapped, hunks
            );
        }
        prop_assert!(mapped.end().get() as usize <= new.len());
        // The shape is kept: a first or last cited line that survived is exactly an end.
        let position = |old: usize| new.iter().position(|l| *l == Some(old)).map(|i| i + 1);
        if let Some(first) = position(a) {
            prop_assert_eq!(mapped.start().get() as usize, first, "hunks {:?}", hunks);
        }
        if let Some(last) = position(b) {
            prop_assert_eq!(mapped.end().get() as usize, last, "hunks {:?}", hunks);
        }
        // It grows only by lines inserted between surviving cited lines.
        let (lo, hi) = (survivors[0], *survivors.last().unwrap());
        for line in mapped.start().get() as usize..=mapped.end().get() as usize {
            let inside = (lo..=hi).contains(&line);
            let ours = new[line - 1].is_some_and(|id| (a..=b).contains(&id));
            prop_assert!(inside || ours || new[line - 1].is_none(), "line {} of {}", line, mapped);
        }
        // A pure shift: every cited line survived, still adjacent to each other.
        let untouched = survivors.len() == b - a + 1
            && survivors.windows(2).all(|w| w[1] == w[0] + 1);
        if untouched {
            prop_assert_eq!(mapped, range(survivors[0], *survivors.last().unwrap()));
        }
    }
}

const GUARD: &str = "func start() {\n\tif !mtls {\n\t\tlog.Fatal(\"mtls required\")\n\t}\n}\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn fix_then_verify_is_clean_after_pure_shifts(above in 0usize..40, below in 0usize..5) {
        let mut repo = crate::common::TestRepo::new();
        repo.write("a.go", format!("package a\n\n{GUARD}"));
        let at = repo.commit_all("guard");
        let filler: String = (0..above).map(|i| format!("// note {i}\n")).collect();
        let tail: String = (0..below).map(|i| format!("var v{i} = {i}\n")).collect();
        repo.write("a.go", format!("package a\n\n{filler}{GUARD}{tail}"));
        repo.commit_all("shift");
        repo.write(
            "anchors.yaml",
            format!(
                "version: 1\nclaims:\n  - id: guard\n    status: required\n    refs:\n      - path: a.go\n        lines: 4-6 # the guard\n        at: {at}\n        symbol: start\n        expect:\n          - fail_closed: {{ when: mtls }}\n"
            ),
        );
        let anchors_path = repo.path().join("anchors.yaml");
        let git = GitRepo::open(repo.path()).unwrap();
        let snapshot = git.resolve("HEAD").unwrap();
        let run = |anchors: &anchorcheck::anchors::AnchorsFile| {
            let history = HistorySource {
                git: &git,
                target: snapshot.endpoint(),
                target_commit: snapshot.commit.clone(),
            };
            let info = RevisionInfo {
                repo: ".".into(),
                rev: "HEAD".into(),
                commit: snapshot.commit.clone(),
            };
            verify::verify(
                anchors,
                &snapshot,
                &anchorcheck::docs::read_pages(anchors),
                Some(&history),
                info,
                &VerifyOptions::default(),
            )
                .unwrap()
        };
        let (before, source) = anchors::load(&anchors_path, Path::new("anchors.yaml")).unwrap();
        let report = run(&before);
        let expected = if above == 0 { Verdict::Verified } else { Verdict::Drifted };
        prop_assert_eq!(report.claims[0].verdict, expected);
        let revisions = anchorcheck::fix::Revisions {
            is_fixed: &|name: &str| git.names_fixed_revision(name),
            keep_pinned: false,
        };
        let plan = anchorcheck::fix::plan(
            &before,
            &source,
            &report,
            snapshot.commit.as_deref(),
            &[],
            &revisions,
        )
        .unwrap();
        anchorcheck::fix::write_all(&plan).unwrap();
        let (after, text) = anchors::load(&anchors_path, Path::new("anchors.yaml")).unwrap();
        prop_assert!(text.contains("# the guard"), "comments kept: {}", text);
        let again = run(&after);
        prop_assert_eq!(again.claims[0].verdict, Verdict::Verified, "{}", text);
        let r = &after.claims[0].refs[0];
        prop_assert_eq!(r.lines.value, range(4 + above, 6 + above));
        // A moved ref is stamped with the commit it was confirmed at; an unmoved one keeps its `at`.
        let stamped = if above == 0 { at.to_string() } else { snapshot.commit.clone().unwrap() };
        prop_assert_eq!(r.at.as_ref().map(|a| a.value.clone()), Some(stamped));
    }
}
