//! Kills `anchorcheck fix` at random points, over and over, and checks that every file it edits
//! is byte-identical to either the old or the new version: never a partial write.
//!
//! Slow by design, so ignored by default: `cargo test --release --test it kill_fix -- --ignored
//! --nocapture` prints the figures.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{TestRepo, testdata};

const KILLS: usize = 300;
const COPIES: usize = 1000;

/// A repository whose anchors.yaml and docs page each hold thousands of drifted citations, so
/// `fix` spends long enough writing them to be killed at many different points.
fn big_drifted_repo() -> TestRepo {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("drift/rev1"), "");
    let first = repo.commit_all("add agent routes");
    repo.replace_tree(&testdata("drift/rev2"), "");
    repo.commit_all("document the agent routes");
    let mut anchors = String::from("version: 1\ndocs:\n  - docs/page.md\nclaims:\n");
    let mut page = String::from("# Agent security\n\n");
    for i in 0..COPIES {
        anchors.push_str(&format!(
            "  - id: routes-{i}\n    status: required\n    refs:\n      - path: pkg/agent/routes.go\n        lines: \"6-9\"\n        at: {first}\n        symbol: registerAgentRoutes\n        expect:\n          - routes: {{ on: mtlsMux, paths: [/v1/agent/heartbeat, /v1/agent/desired-state] }}\n"
        ));
        page.push_str(&format!("{i}. routes: `pkg/agent/routes.go:6-9`\n"));
    }
    repo.write("anchors.yaml", anchors);
    repo.write("docs/page.md", page);
    repo
}

/// A small deterministic generator for kill delays (no extra dependency for one test).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn stray_temps(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in [dir.to_path_buf(), dir.join("docs")] {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".anchorcheck-"))
            {
                out.push(p);
            }
        }
    }
    out
}

#[test]
#[ignore = "slow: run with --ignored (see the module docs)"]
fn killing_fix_never_leaves_a_partial_file() {
    let repo = big_drifted_repo();
    let files = [
        repo.path().join("anchors.yaml"),
        repo.path().join("docs/page.md"),
    ];
    let old: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let bin = assert_cmd::cargo::cargo_bin("anchorcheck");
    let run = || {
        std::process::Command::new(&bin)
            .arg("fix")
            .current_dir(repo.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // One full run gives the new versions and how long a run takes.
    let started = Instant::now();
    assert!(run().wait().unwrap().success());
    let full = started.elapsed();
    let new: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(
        old.iter().zip(&new).all(|(o, n)| o != n),
        "fix changed both files"
    );

    let mut rng = Lcg(0x5eed);
    let (mut partial, mut killed_mid_run, mut finished, mut temps) = (0, 0, 0, 0);
    let (mut old_seen, mut new_seen) = (0, 0);
    for _ in 0..KILLS {
        for (f, bytes) in files.iter().zip(&old) {
            std::fs::write(f, bytes).unwrap();
        }
        let mut child = run();
        // Half the kills land anywhere in the run, half near its end, where the files are
        // written and renamed.
        let micros = full.as_micros() as u64;
        let delay = if rng.below(2) == 0 {
            rng.below(micros)
        } else {
            micros * 85 / 100 + rng.below(micros * 20 / 100)
        };
        std::thread::sleep(Duration::from_micros(delay));
        match child.try_wait().unwrap() {
            Some(_) => finished += 1,
            None => {
                child.kill().unwrap();
                killed_mid_run += 1;
            }
        }
        child.wait().unwrap();
        for ((f, o), n) in files.iter().zip(&old).zip(&new) {
            let now = std::fs::read(f).unwrap();
            if now == *o {
                old_seen += 1;
            } else if now == *n {
                new_seen += 1;
            } else {
                partial += 1;
            }
        }
        for t in stray_temps(repo.path()) {
            temps += 1;
            std::fs::remove_file(t).unwrap();
        }
    }
    println!(
        "kill test: {KILLS} runs ({killed_mid_run} killed mid-run, {finished} finished first; one run takes {full:?}); \
         files checked {}: {old_seen} old, {new_seen} new, {partial} partial; {temps} stray temp files removed",
        files.len() * KILLS
    );
    assert_eq!(partial, 0, "a file was left half-written");
    assert!(
        killed_mid_run >= 200,
        "too few runs were killed mid-way: {killed_mid_run}"
    );
}
