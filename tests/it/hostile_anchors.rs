//! Hostile anchors files too large to keep in testdata: 100,000 claims, multi-megabyte strings,
//! a file over the size limit.

use std::path::Path;

use anchorcheck::anchors::{self, AnchorsError, MAX_FILE_BYTES};

fn claims(n: usize, title: &str) -> String {
    let mut out = String::with_capacity(n * 160);
    out.push_str("version: 1\nclaims:\n");
    for i in 0..n {
        out.push_str(&format!(
            "  - id: c{i}\n    title: {title}\n    status: required\n    refs:\n      - path: src/a.go\n        lines: {}\n        expect:\n          - call: log.Fatal\n",
            i + 1
        ));
    }
    out
}

#[test]
fn a_hundred_thousand_claims_load() {
    let source = claims(100_000, "t");
    let file = anchors::parse(
        &source,
        Path::new("anchors.yaml"),
        Path::new("anchors.yaml"),
    )
    .unwrap_or_else(|e| panic!("{}", e.to_string().lines().next().unwrap_or_default()));
    assert_eq!(file.claims.len(), 100_000);
    assert_eq!(file.claims[99_999].id.value, "c99999");
}

#[test]
fn a_hundred_thousand_duplicate_ids_are_each_reported() {
    let source = claims(100_000, "t")
        .lines()
        .map(|l| {
            if l.starts_with("  - id: c") {
                "  - id: same"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let err = anchors::parse(
        &source,
        Path::new("anchors.yaml"),
        Path::new("anchors.yaml"),
    )
    .unwrap_err();
    let AnchorsError::Invalid { problems, .. } = err else {
        panic!("expected problems");
    };
    assert_eq!(problems.len(), 99_999);
    assert!(problems[0].message.contains("first used at line 3"));
}

#[test]
fn multi_megabyte_strings_are_read() {
    let title = "x".repeat(5 * 1024 * 1024);
    let file = anchors::parse(
        &claims(2, &title),
        Path::new("anchors.yaml"),
        Path::new("anchors.yaml"),
    )
    .unwrap();
    assert_eq!(
        file.claims[0].title.as_deref().map(str::len),
        Some(title.len())
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anchors.yaml");
    // Sparse: the size check must not need the bytes.
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(MAX_FILE_BYTES as u64 + 1).unwrap();
    let err = anchors::load(&path, Path::new("anchors.yaml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "anchors.yaml:1:1: the file is too large ({} bytes; the limit is {MAX_FILE_BYTES})",
            MAX_FILE_BYTES + 1
        )
    );
}

fn regex_claims(n: usize, pattern: impl Fn(usize) -> String) -> String {
    let mut out = String::from(
        "version: 1\nclaims:\n  - id: c\n    status: required\n    refs:\n      - path: a.go\n        lines: 1\n        expect:\n",
    );
    for i in 0..n {
        out.push_str(&format!("          - regex: '{}'\n", pattern(i)));
    }
    out
}

/// Issue 17: 100,000 distinct `(?i)` regexes took 79 s and 10 GB. Their compiled size counts
/// against one budget per file; identical patterns compile once.
#[test]
fn distinct_regexes_share_one_compiled_size_budget() {
    let source = regex_claims(120, |i| format!("(?i)\\w{{1,20}}k{i}"));
    let err = anchors::parse(
        &source,
        Path::new("anchors.yaml"),
        Path::new("anchors.yaml"),
    )
    .unwrap_err();
    let AnchorsError::Invalid { problems, .. } = err else {
        panic!("expected problems");
    };
    assert!(
        problems.len() < 120,
        "the first ones fit: {}",
        problems[0].message
    );
    assert!(
        problems[0].message.contains("compile to more than"),
        "{}",
        problems[0].message
    );
    let same = regex_claims(20_000, |_| "(?i)\\w{1,15}k".to_string());
    let file = anchors::parse(&same, Path::new("anchors.yaml"), Path::new("anchors.yaml"))
        .unwrap_or_else(|e| panic!("{}", e.to_string().lines().next().unwrap_or_default()));
    assert_eq!(file.claims[0].refs[0].expect.len(), 20_000);
}
