//! `fix` on a full disk or a read-only anchors file reports an error and changes nothing.

use crate::common::{anchorcheck, drift_repo};

/// Every regular file of the working tree (outside .git) with its bytes.
fn snapshot(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[cfg(unix)]
#[test]
fn full_disk_is_an_error_and_changes_nothing() {
    let repo = drift_repo(2).repo;
    let before = snapshot(repo.path());
    let bin = assert_cmd::cargo::cargo_bin("anchorcheck");
    // A file-size limit of one 512-byte block makes writing the temporary copy fail part way,
    // as a full disk would; SIGXFSZ is ignored so the write returns an error instead.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 1 && exec \"$0\" fix")
        .arg(&bin)
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write the temporary file"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(
        snapshot(repo.path()),
        before,
        "no file changed, no temp file left"
    );
}

#[cfg(unix)]
#[test]
fn read_only_anchors_file_is_an_error_and_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let repo = drift_repo(2).repo;
    let anchors = repo.path().join("anchors.yaml");
    std::fs::set_permissions(&anchors, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = snapshot(repo.path());
    let out = anchorcheck(repo.path()).arg("fix").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("anchors.yaml: the file is read-only"),
        "{stderr}"
    );
    assert_eq!(snapshot(repo.path()), before);
}
