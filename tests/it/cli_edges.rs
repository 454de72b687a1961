//! Issue 22 item 6, the command line's edges: a closed stdout is not an error, and every
//! command that prints text takes the same `--color`.

use crate::common::{TestRepo, anchorcheck};

const GUARD: &str =
    "package a\n\nfunc start() {\n\tif !mtls {\n\t\tlog.Fatal(\"mtls required\")\n\t}\n}\n";

fn guarded_repo() -> TestRepo {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.write("docs/page.md", "The guard: a.go:4-6\n");
    repo.write(
        "anchors.yaml",
        "version: 1\nclaims:\n  - id: guard\n    status: required\n    refs:\n      - path: a.go\n        lines: 4-6\n        expect:\n          - call: log.Fatal\n",
    );
    repo.commit_all("guard");
    repo
}

/// `anchorcheck verify | head -n 1`: once the reader is gone, anchorcheck exits 0 and says
/// nothing (it said "error: Broken pipe" and exited 2). The pipe's read end is closed before
/// anchorcheck starts, so its first write fails.
#[cfg(unix)]
#[test]
fn a_closed_stdout_exits_quietly() {
    let repo = guarded_repo();
    for args in [
        &["verify"][..],
        &["verify", "--format", "json"],
        &["explain", "a.go:4-6"],
        &["schema"],
    ] {
        let (read, write) = rustix::pipe::pipe().unwrap();
        drop(read);
        let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("anchorcheck"))
            .args(args)
            .current_dir(repo.path())
            .stdout(std::process::Stdio::from(write))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

/// `fix --color never` was rejected though the README says fix honours it.
#[test]
fn every_command_that_prints_text_takes_color() {
    let repo = guarded_repo();
    for args in [
        &["verify", "--color", "never"][..],
        &["diff", "--base", "HEAD", "--color", "never"],
        &["audit", "--color", "always"],
        &["fix", "--dry-run", "--color", "never"],
        &["explain", "a.go:4-6", "--color", "auto"],
        &[
            "init",
            "--from-docs",
            "docs/page.md",
            "--out",
            "new.yaml",
            "--color",
            "never",
        ],
        // Last: it writes `approved:` into anchors.yaml.
        &["approve", "--yes", "--by", "Tester", "--color", "never"],
    ] {
        let output = anchorcheck(repo.path()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
