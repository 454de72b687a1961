//! What an edit re-checks, on a repository in a temp dir: the workspace's incremental runs.

use std::collections::BTreeSet;
use std::path::Path;

use super::loaded::Buffer;
use super::workspace::{CHUNK, Pending, Workspace};
use crate::source::init_repository;

const ANCHORS: &str = "version: 1\nclaims:\n  - id: a\n    status: required\n    refs:\n      - path: pkg/a.go\n        lines: 3\n        expect: [identifier: A]\n  - id: b\n    status: required\n    refs:\n      - path: pkg/b.go\n        lines: 3\n        expect: [identifier: B]\n";

/// A workspace on a repository (no commit) holding the two files ANCHORS cites.
fn workspace(dir: &Path) -> Workspace {
    init_repository(dir).unwrap();
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(dir.join("pkg/a.go"), "package pkg\n\nvar A = 1\n").unwrap();
    std::fs::write(dir.join("pkg/b.go"), "package pkg\n\nvar B = 2\n").unwrap();
    std::fs::write(dir.join("anchors.yaml"), ANCHORS).unwrap();
    let mut ws = Workspace {
        root: Some(dir.to_path_buf()),
        ..Workspace::default()
    };
    let left = ws.run(
        Pending {
            reload: true,
            ..Pending::default()
        },
        &|| false,
    );
    assert!(left.is_empty());
    ws
}

fn claims(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_go_edit_rechecks_only_the_claims_citing_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let loaded = ws.loaded.as_ref().unwrap();
    assert_eq!(loaded.reports.len(), 2, "{:?}", loaded.run_error);
    assert_eq!(
        ws.affected_by(&dir.path().join("pkg/a.go")).claims,
        claims(&["a"])
    );
    assert!(ws.affected_by(&dir.path().join("pkg/c.go")).is_empty());
    assert!(ws.affected_by(&dir.path().join("anchors.yaml")).reload);
}

#[test]
fn an_anchors_edit_rechecks_only_the_claims_whose_content_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = workspace(dir.path());
    let path = dir.path().join("anchors.yaml");
    // A comment moves every claim down a line: none is re-checked.
    let moved = format!("# claims\n{ANCHORS}");
    ws.buffers.insert(
        path.clone(),
        Buffer {
            text: moved.clone(),
            version: 2,
        },
    );
    let pending = ws.reload().unwrap();
    assert!(pending.claims.is_empty() && !pending.all, "{pending:?}");
    // Changing b's lines re-checks b alone.
    let edited = moved.replace("pkg/b.go\n        lines: 3", "pkg/b.go\n        lines: 2-3");
    ws.buffers.insert(
        path,
        Buffer {
            text: edited,
            version: 3,
        },
    );
    let pending = ws.reload().unwrap();
    assert_eq!(pending.claims, claims(&["b"]));
    assert!(!pending.all);
}

#[test]
fn a_check_of_many_claims_gives_way_to_newer_edits_after_a_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = workspace(dir.path());
    let mut many = String::from("version: 1\nclaims:\n");
    for i in 0..CHUNK + 10 {
        many.push_str(&format!(
            "  - id: c{i}\n    status: required\n    refs:\n      - path: pkg/a.go\n        lines: 3\n        expect: [identifier: A]\n"
        ));
    }
    let path = dir.path().join("anchors.yaml");
    ws.buffers.insert(
        path,
        Buffer {
            text: many,
            version: 2,
        },
    );
    let reload = Pending {
        reload: true,
        ..Pending::default()
    };
    // The editor sent something meanwhile: one chunk is verified, the rest left.
    let left = ws.run(reload, &|| true);
    assert_eq!(left.claims.len(), 10, "{left:?}");
    let loaded = ws.loaded.as_ref().unwrap();
    assert_eq!(loaded.reports.len(), CHUNK);
    let left = ws.run(left, &|| true);
    assert!(left.is_empty());
    assert_eq!(ws.loaded.as_ref().unwrap().reports.len(), CHUNK + 10);
}
