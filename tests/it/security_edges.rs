//! Issue 23's repros of the edges (rows 4–11): an attacker who controls a pull request (Go
//! files, docs pages, anchors.yaml, history, repository config) must not make anchorcheck read
//! outside the repository, forge report output, echo secrets, or write where it should not.
#![cfg(unix)]

use std::os::unix::fs::symlink;

use crate::common::{TestRepo, anchorcheck, run};

const GUARD: &str =
    "package a\n\nfunc start() {\n\tif !mtls {\n\t\tlog.Fatal(\"mtls required\")\n\t}\n}\n";

/// anchors.yaml with one claim citing the guard, `top` before `claims:` and `title` on it.
fn anchors_yaml(top: &str, title: &str) -> String {
    format!(
        "version: 1\n{top}claims:\n  - id: guard\n    title: {title}\n    status: required\n    refs:\n      - path: a.go\n        lines: 4-6\n        expect:\n          - call: log.Fatal\n"
    )
}

/// A repository holding the guard and anchors.yaml citing it, committed.
fn guarded_repo(top: &str, title: &str) -> TestRepo {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.write("anchors.yaml", anchors_yaml(top, title));
    repo.commit_all("guard");
    repo
}

/// The Markdown table's rows, each split into its cells at the unescaped `|`.
fn table_rows(markdown: &str) -> Vec<Vec<String>> {
    markdown
        .lines()
        .filter(|l| l.starts_with("| **"))
        .map(|row| {
            let mut cells = vec![String::new()];
            let mut escaped = false;
            for c in row.chars() {
                if c == '|' && !escaped {
                    cells.push(String::new());
                } else {
                    cells.last_mut().unwrap().push(c);
                }
                escaped = c == '\\' && !escaped;
            }
            cells
        })
        .collect()
}

/// Row 5: the origin remote's URL is the repository's text; built into a link unencoded, it
/// forged a table row with "✅ verified" and a link of its own.
#[test]
fn a_remote_url_cannot_forge_a_row_or_a_link() {
    let repo = guarded_repo("", "guard");
    repo.repo
        .remote(
            "origin",
            "https://github.com/a/b)|✅ verified|[SAFE](https://evil.example/x",
        )
        .unwrap();
    let (code, md, stderr) = run(repo.path(), &["verify", "--format", "markdown"]);
    assert_eq!(code, 0, "{stderr}");
    let rows = table_rows(&md);
    assert_eq!(rows.len(), 1, "{md}");
    assert_eq!(rows[0].len(), 7, "a forged cell: {:?}", rows[0]);
    assert_eq!(md.matches("](").count(), 1, "one link, to the code: {md}");
    assert!(!md.contains("https://evil.example"), "{md}");
}

#[test]
fn link_base_takes_only_http_urls() {
    let repo = guarded_repo("", "guard");
    for base in [
        "javascript:alert(1)//{path}",
        "data:text/html,x",
        "file:///x",
    ] {
        let (code, _, stderr) = run(repo.path(), &["verify", "--link-base", base]);
        assert_eq!(code, 2, "{base}: {stderr}");
        assert!(stderr.contains("http:// or https://"), "{stderr}");
    }
    let (code, md, _) = run(
        repo.path(),
        &[
            "verify",
            "--format",
            "markdown",
            "--link-base",
            "https://git.example/o r)|x/{commit}/{path}",
        ],
    );
    assert_eq!(code, 0);
    assert!(md.contains("(https://git.example/o%20r%29%7Cx/"), "{md}");
    assert_eq!(table_rows(&md)[0].len(), 7, "{md}");
}

/// Row 6: a title's link, image and mention were live in the details headline and lines,
/// which got only HTML escaping.
#[test]
fn titles_are_inert_markdown_in_the_details_too() {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.write(
        "anchors.yaml",
        anchors_yaml(
            "",
            "\"[click me](https://evil.example) ![img](https://evil.example/i.png) @octocat\"",
        ),
    );
    repo.commit_all("guard");
    // Weaken the guard, so the claim has details.
    repo.write("a.go", GUARD.replace("log.Fatal", "log.Printf"));
    repo.commit_all("weaken");
    let (code, md, _) = run(repo.path(), &["verify", "--format", "markdown"]);
    assert_eq!(code, 1, "{md}");
    assert!(md.contains("<details>"), "{md}");
    for live in ["[click me](", "![img](", "@octocat", "https://evil"] {
        assert!(!md.contains(live), "{live} in {md}");
    }
}

/// Row 7: anchors.yaml committed as a link to a secret YAML file was followed, and the secret's
/// key names came back in the error messages.
#[test]
fn a_symlinked_anchors_file_is_refused_by_name() {
    let secret = tempfile::tempdir().unwrap();
    let token = format!("ghp_{}", "S3cr3t".repeat(6));
    std::fs::write(secret.path().join("secret.yaml"), format!("{token}: 1\n")).unwrap();
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.commit_all("guard");
    symlink(
        secret.path().join("secret.yaml"),
        repo.path().join("anchors.yaml"),
    )
    .unwrap();
    for args in [
        &["verify"][..],
        &["verify", "--anchors", "anchors.yaml"],
        &["fix", "--dry-run"],
    ] {
        let (code, stdout, stderr) = run(repo.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("anchors.yaml") && stderr.contains("symbolic link"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("ghp_") && !stdout.contains("ghp_"),
            "{stderr}"
        );
    }
}

#[test]
fn long_unknown_keys_are_not_echoed() {
    let token = format!("ghp_{}", "S3cr3t".repeat(6));
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.write(
        "anchors.yaml",
        anchors_yaml(&format!("{token}: 1\nrevv: HEAD\n"), "guard"),
    );
    repo.commit_all("guard");
    let (code, _, stderr) = run(repo.path(), &["verify"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("ghp_"), "{stderr}");
    assert!(
        stderr.contains("anchors.yaml:2:1: unknown key of 40 characters (not shown)"),
        "{stderr}"
    );
    // A short misspelling is still quoted, with its suggestion.
    assert!(stderr.contains("unknown key `revv`"), "{stderr}");
}

/// A directory outside every test repository holding a Go file with a secret in it.
fn outside_secret() -> tempfile::TempDir {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.go"),
        "package secret\n\n// TOKEN=hunter2\nfunc f() {}\n",
    )
    .unwrap();
    outside
}

/// anchors.yaml citing `secret.go` in the repository `repo:` names, at `WORKTREE`.
fn secret_anchors(repo: &str) -> String {
    format!(
        "version: 1\nrepo: \"{repo}\"\nrev: WORKTREE\nclaims:\n  - id: leak\n    status: required\n    refs:\n      - path: secret.go\n        lines: 1-4\n        expect:\n          - text: hunter3\n"
    )
}

const FORMATS: [&str; 6] = ["text", "json", "sarif", "github", "junit", "markdown"];

/// Row 4: `repo:` in anchors.yaml, an absolute path or one leaving the repository, made
/// `verify` print excerpts of a Go file outside the checkout, in every format.
#[test]
fn repo_in_anchors_yaml_stays_inside_the_repository() {
    let outside = outside_secret();
    git2::Repository::init(outside.path()).unwrap();
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.commit_all("guard");
    symlink(outside.path(), repo.path().join("elsewhere")).unwrap();
    let escape = pathdiff(outside.path(), repo.path());
    for named in [outside.path().to_str().unwrap(), &escape, "elsewhere"] {
        repo.write("anchors.yaml", secret_anchors(named));
        for format in FORMATS {
            let (code, stdout, stderr) = run(repo.path(), &["verify", "--format", format]);
            assert_eq!(code, 2, "{named} {format}: {stdout}{stderr}");
            assert!(!stdout.contains("hunter2"), "{named} {format}: {stdout}");
            assert!(
                stderr.contains("is outside the repository holding the anchors file")
                    && stderr.contains("--repo"),
                "{named}: {stderr}"
            );
        }
    }
    // Named on the command line, it is the operator's choice.
    let (code, stdout, stderr) = run(
        repo.path(),
        &["verify", "--repo", outside.path().to_str().unwrap()],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("hunter2"), "{stdout}");
}

/// `path` relative to `base` (`../../tmp/x`), as anchors.yaml would write it.
fn pathdiff(path: &std::path::Path, base: &std::path::Path) -> String {
    let base = base.canonicalize().unwrap();
    let path = path.canonicalize().unwrap();
    let up = base.components().count() - 1;
    format!(
        "{}{}",
        "../".repeat(up),
        path.strip_prefix("/").unwrap().display()
    )
}

/// Row 4: a bare repository committed in the pull request, whose config sets `core.worktree`
/// outside, read that directory at `WORKTREE`.
#[test]
fn a_repository_whose_worktree_is_configured_outside_is_refused_for_worktree() {
    let outside = outside_secret();
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.commit_all("guard");
    let bare = git2::Repository::init_bare(repo.path().join("evil.git")).unwrap();
    let mut config = bare.config().unwrap();
    config.set_bool("core.bare", false).unwrap();
    config
        .set_str("core.worktree", outside.path().to_str().unwrap())
        .unwrap();
    repo.write("anchors.yaml", secret_anchors("evil.git"));
    for args in [&["verify"][..], &["verify", "--repo", "evil.git"]] {
        for format in FORMATS {
            let (code, stdout, stderr) =
                run(repo.path(), &[args, &["--format", format][..]].concat());
            assert_eq!(code, 2, "{args:?} {format}: {stdout}{stderr}");
            assert!(!stdout.contains("hunter2"), "{args:?} {format}: {stdout}");
            assert!(stderr.contains("core.worktree"), "{stderr}");
        }
    }
    // Named in the file, it is refused at any revision: it reads outside.
    let (code, _, stderr) = run(repo.path(), &["verify", "--rev", "HEAD"]);
    assert_eq!(code, 2, "{stderr}");
    // Named on the command line, its commits are still read: only the working tree is refused.
    let (_, _, stderr) = run(
        repo.path(),
        &["verify", "--repo", "evil.git", "--rev", "HEAD"],
    );
    assert!(!stderr.contains("core.worktree"), "{stderr}");
}

/// A bare repository committed inside, whose `commondir` file (or alternates) names another
/// repository on the machine, read that repository's refs and objects: `verify` at HEAD printed
/// its files.
#[test]
fn a_repository_in_the_file_cannot_read_another_through_its_config() {
    let outside = outside_secret();
    let mut secret = TestRepo::new();
    secret.write(
        "secret.go",
        std::fs::read(outside.path().join("secret.go")).unwrap(),
    );
    secret.commit_all("secret");
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.commit_all("guard");
    let evil = repo.path().join("evil.git");
    git2::Repository::init_bare(&evil).unwrap();
    std::fs::write(
        evil.join("commondir"),
        format!("{}\n", secret.path().join(".git").display()),
    )
    .unwrap();
    repo.write(
        "anchors.yaml",
        secret_anchors("evil.git").replace("rev: WORKTREE", "rev: HEAD"),
    );
    // The way in exists: named on the command line, the operator's choice, it reads there.
    let (_, stdout, _) = run(repo.path(), &["verify", "--repo", "evil.git"]);
    assert!(stdout.contains("hunter2"), "{stdout}");
    for format in FORMATS {
        let (code, stdout, stderr) = run(repo.path(), &["verify", "--format", format]);
        assert_eq!(code, 2, "{format}: {stdout}{stderr}");
        assert!(!stdout.contains("hunter2"), "{format}: {stdout}");
        assert!(stderr.contains("reads from"), "{stderr}");
    }
    // Alternates naming the other repository's objects are refused the same way.
    std::fs::remove_file(evil.join("commondir")).unwrap();
    std::fs::write(
        evil.join("objects/info/alternates"),
        format!("{}\n", secret.path().join(".git/objects").display()),
    )
    .unwrap();
    let (code, _, stderr) = run(repo.path(), &["verify"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("reads from"), "{stderr}");
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// Row 9: `--output markdown=FILE` where FILE is a committed symlink did not follow it, but the
/// new file copied the target's mode (`-> /tmp` gave `rwxrwxrwt`, `-> /usr/bin/passwd` setuid).
#[test]
fn an_output_file_never_takes_a_link_targets_mode() {
    let repo = guarded_repo("", "guard");
    let target = tempfile::tempdir().unwrap();
    let setuid = target.path().join("passwd");
    std::fs::write(&setuid, "x").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&setuid, std::fs::Permissions::from_mode(0o4755)).unwrap();
        std::fs::set_permissions(target.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    }
    symlink(target.path(), repo.path().join("to-tmp.md")).unwrap();
    symlink(&setuid, repo.path().join("to-passwd.md")).unwrap();
    for (link, format) in [("to-tmp.md", "markdown"), ("to-passwd.md", "junit")] {
        let output = anchorcheck(repo.path())
            .args(["verify", "--output", &format!("{format}={link}")])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let written = repo.path().join(link);
        assert!(std::fs::symlink_metadata(&written).unwrap().is_file());
        // 0644 less the umask of the test process (022 or 002 are usual).
        let m = mode(&written);
        assert_eq!(m & !0o022, 0o644 & !0o022, "{link}: {m:o}");
        assert_eq!(m & 0o7000, 0, "{link}: {m:o}");
    }
    assert_eq!(mode(&setuid), 0o4755, "the link target is untouched");
    // A new file under a restrictive umask gets less, never more.
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 077 && exec \"$0\" verify --output markdown=private.md")
        .arg(assert_cmd::cargo::cargo_bin("anchorcheck"))
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(mode(&repo.path().join("private.md")), 0o600);
}

/// Row 9: `--output markdown=anchors.yaml` overwrote anchors.yaml silently; a docs page or a
/// cited file would have gone the same way.
#[test]
fn an_output_file_never_replaces_an_input() {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.write("docs/page.md", "The guard: a.go:4-6\n");
    repo.write(
        "anchors.yaml",
        anchors_yaml("docs: [docs/page.md]\n", "guard"),
    );
    repo.commit_all("guard");
    std::fs::hard_link(repo.path().join("a.go"), repo.path().join("hard.md")).unwrap();
    let before: Vec<Vec<u8>> = ["anchors.yaml", "docs/page.md", "a.go"]
        .iter()
        .map(|p| std::fs::read(repo.path().join(p)).unwrap())
        .collect();
    for (file, what) in [
        ("anchors.yaml", "the anchors file"),
        ("./docs/../anchors.yaml", "the anchors file"),
        ("docs/page.md", "a docs page"),
        ("a.go", "a file a ref cites"),
        ("hard.md", "a file a ref cites"),
    ] {
        for args in [
            &["verify", "--output", &format!("markdown={file}")][..],
            &[
                "diff",
                "--base",
                "HEAD",
                "--output",
                &format!("json={file}"),
            ],
            &["audit", "--html", file],
        ] {
            let (code, _, stderr) = run(repo.path(), args);
            assert_eq!(code, 2, "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!(
                    "is {what}; anchorcheck never writes a report over"
                )),
                "{args:?}: {stderr}"
            );
        }
    }
    let after: Vec<Vec<u8>> = ["anchors.yaml", "docs/page.md", "a.go"]
        .iter()
        .map(|p| std::fs::read(repo.path().join(p)).unwrap())
        .collect();
    assert_eq!(before, after);
}

/// Row 8: `init --from-docs` read a page that is a link to `/dev/zero` until allocation failed,
/// and read a page outside the repository, writing its `../` path under `docs:`.
#[test]
fn init_reads_pages_inside_the_repository_only_and_never_through_links() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("page.md"), "The guard: a.go:4-6\n").unwrap();
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.write("docs/real.md", "The guard: a.go:4-6\n");
    repo.commit_all("guard");
    symlink("/dev/zero", repo.path().join("docs/zero.md")).unwrap();
    symlink(outside.path(), repo.path().join("docs/out")).unwrap();
    symlink("real.md", repo.path().join("docs/alias.md")).unwrap();
    let big = format!("{}\n", "x".repeat(9 * 1024 * 1024));
    repo.write("docs/big.md", &big);
    let outside_page = outside.path().join("page.md");
    for (page, says) in [
        ("docs/zero.md", "symbolic link"),
        ("docs/alias.md", "symbolic link"),
        ("docs/out/page.md", "symbolic link"),
        ("../page.md", "outside the repository"),
        (outside_page.to_str().unwrap(), "outside the repository"),
        ("docs/big.md", "too large"),
        ("docs/none.md", "no such page"),
    ] {
        let output = anchorcheck(repo.path())
            .args(["init", "--from-docs", page, "--out", "new.yaml"])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{page}: {stderr}");
        assert!(
            stderr.contains(page) && stderr.contains(says),
            "{page}: {stderr}"
        );
        assert!(!repo.path().join("new.yaml").exists(), "{page}");
    }
    // A page inside, named through `..` that stays inside, is read.
    let (code, _, stderr) = run(
        &repo.path().join("docs"),
        &[
            "init",
            "--from-docs",
            "../docs/real.md",
            "--out",
            "../new.yaml",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read_to_string(repo.path().join("new.yaml")).unwrap();
    assert!(written.contains("- docs/real.md"), "{written}");
}

/// An anchors file outside any repository is the operator's (a benchmark keeps one beside the
/// repository it names): its `repo:` may point anywhere.
#[test]
fn an_anchors_file_outside_any_repository_may_name_any_repo() {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.commit_all("guard");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("k1")).unwrap();
    std::fs::write(
        dir.path().join("k1/anchors.yaml"),
        anchors_yaml(&format!("repo: \"{}\"\n", repo.path().display()), "guard"),
    )
    .unwrap();
    let (code, _, stderr) = run(&dir.path().join("k1"), &["verify"]);
    assert_eq!(code, 0, "{stderr}");
}

/// No false alarm: `repo: .` in a linked worktree (whose git directory lies in the main
/// repository's `.git/worktrees/`) is the repository holding the anchors file.
#[test]
fn repo_dot_in_a_linked_worktree_is_inside() {
    let mut repo = TestRepo::new();
    repo.write("a.go", GUARD);
    repo.write("anchors.yaml", anchors_yaml("repo: .\n", "guard"));
    repo.commit_all("guard");
    let place = tempfile::tempdir().unwrap();
    let linked = place.path().join("linked");
    repo.repo.worktree("linked", &linked, None).unwrap();
    for rev in ["HEAD", "WORKTREE"] {
        let (code, _, stderr) = run(&linked, &["verify", "--rev", rev]);
        assert_eq!(code, 0, "{rev}: {stderr}");
    }
}
