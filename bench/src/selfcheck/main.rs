//! The real-code self-check: cites, at one revision of real Go repositories, every call,
//! fail-closed guard, TLS setting and route registration it finds (or an even sample of them),
//! verifies those citations at the same revision, where every one must hold, then follows them
//! with `at` to 20 and 200 commits later, where none may be `error`. Prints a table of
//! verdicts; exits 1 when a target is missed. See bench/README.md.
#![allow(clippy::print_stdout, reason = "a self-check prints its table")]

mod find;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use find::{Citation, Form, Kind};

struct Options {
    repos: Vec<PathBuf>,
    /// How far back, in first-parent commits, the citations are written.
    back: usize,
    /// Later revisions checked with `at`, in commits after the cited one.
    later: Vec<usize>,
    /// At most this many constructs of each kind per repository, evenly spread.
    per_kind: usize,
    out: PathBuf,
    anchorcheck: PathBuf,
}

fn parse_args() -> Result<Options> {
    let exe = std::env::current_exe()?;
    let bin_dir = exe.parent().context("no exe dir")?.to_path_buf();
    let mut o = Options {
        repos: Vec::new(),
        back: 200,
        later: vec![20, 200],
        per_kind: 1500,
        out: std::env::temp_dir().join("anchorcheck-selfcheck"),
        anchorcheck: bin_dir.join("anchorcheck"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().context(format!("{flag} needs a value"));
        match flag.as_str() {
            "--repo" => o.repos.push(PathBuf::from(value()?)),
            "--back" => o.back = value()?.parse()?,
            "--later" => {
                o.later = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--per-kind" => o.per_kind = value()?.parse()?,
            "--out" => o.out = PathBuf::from(value()?),
            "--anchorcheck" => o.anchorcheck = PathBuf::from(value()?),
            other => bail!("unknown flag {other} (see bench/README.md)"),
        }
    }
    if o.repos.is_empty() {
        bail!("give at least one --repo DIR (a Go repository, bare or not; see bench/README.md)");
    }
    if o.later.iter().any(|l| *l > o.back) {
        bail!("--later must not exceed --back");
    }
    Ok(o)
}

/// The first-parent commits from HEAD back, newest first.
fn first_parents(repo: &git2::Repository, count: usize) -> Result<Vec<git2::Oid>> {
    let mut walk = repo.revwalk()?;
    walk.push_head()?;
    walk.simplify_first_parent()?;
    walk.take(count + 1)
        .map(|oid| oid.map_err(Into::into))
        .collect()
}

/// Every citation of the files, then at most `per_kind` of each kind, evenly spread.
fn sample(files: &[(String, Vec<u8>)], per_kind: usize) -> Vec<Citation> {
    let found = find::citations_of_files(files);
    let mut by_kind: BTreeMap<Kind, Vec<Citation>> = BTreeMap::new();
    for c in found.into_iter().flatten() {
        by_kind.entry(c.kind).or_default().push(c);
    }
    let mut out = Vec::new();
    for (_, all) in by_kind {
        let step = all.len().div_ceil(per_kind.max(1)).max(1);
        out.extend(all.into_iter().step_by(step));
    }
    out
}

/// One ref's outcome.
struct Outcome {
    verdict: String,
    message: String,
}

/// Runs `anchorcheck verify` and returns each ref's verdict, in citation order.
fn verify(o: &Options, repo: &Path, anchors: &Path, rev: &str) -> Result<(Vec<Outcome>, f64)> {
    let started = Instant::now();
    let out = Command::new(&o.anchorcheck)
        .arg("verify")
        .arg("--anchors")
        .arg(anchors)
        .arg("--repo")
        .arg(repo)
        .args(["--rev", rev, "--format", "json"])
        .output()
        .with_context(|| format!("running {}", o.anchorcheck.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if !matches!(out.status.code(), Some(0 | 1)) {
        bail!(
            "anchorcheck failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let mut outcomes = Vec::new();
    for claim in report["claims"].as_array().context("no claims")? {
        for r in claim["refs"].as_array().context("no refs")? {
            let mut message: Vec<String> = Vec::new();
            if let Some(e) = r["error"].as_str() {
                message.push(e.to_string());
            }
            if let Some(place) = r["relocated"].as_object() {
                message.push(format!(
                    "-> {}:{} ({})",
                    place["path"].as_str().unwrap_or(""),
                    place["lines"].as_str().unwrap_or(""),
                    place["how"].as_str().unwrap_or("")
                ));
            }
            for e in r["expectations"].as_array().into_iter().flatten() {
                if e["ok"] == false {
                    message.push(e["message"].as_str().unwrap_or("").to_string());
                }
            }
            for n in r["notes"].as_array().into_iter().flatten() {
                message.push(n.as_str().unwrap_or("").to_string());
            }
            outcomes.push(Outcome {
                verdict: r["verdict"].as_str().unwrap_or("?").to_string(),
                message: message.join("; "),
            });
        }
    }
    Ok((outcomes, seconds))
}

/// Verdict counts.
fn counts(outcomes: &[Outcome]) -> BTreeMap<&str, usize> {
    let mut c = BTreeMap::new();
    for o in outcomes {
        *c.entry(o.verdict.as_str()).or_insert(0) += 1;
    }
    c
}

/// Writes each ref that is not as expected, with its citation and messages.
fn list_misses(
    path: &Path,
    citations: &[Citation],
    outcomes: &[Outcome],
    miss: impl Fn(&Citation, &Outcome) -> bool,
) -> Result<usize> {
    let mut text = String::new();
    let mut n = 0;
    for (c, o) in citations.iter().zip(outcomes) {
        if miss(c, o) {
            n += 1;
            let _ = writeln!(
                text,
                "{}:{}-{} [{} {}{}] {} => {}: {}",
                c.path,
                c.lines.0,
                c.lines.1,
                c.kind.name(),
                c.form.name(),
                c.symbol
                    .as_deref()
                    .map(|s| format!(", symbol {s}"))
                    .unwrap_or_default(),
                c.expect,
                o.verdict,
                o.message
            );
        }
    }
    std::fs::write(path, text)?;
    Ok(n)
}

fn main() -> Result<()> {
    let o = parse_args()?;
    std::fs::create_dir_all(&o.out)?;
    let mut table = String::new();
    let mut failed = false;
    let mut total_cited = 0;
    let mut total_verified = 0;
    let _ = writeln!(
        table,
        "{:<14} {:>8} {:<19} {:>6} {:>8} {:>7} {:>7} {:>6} {:>7}  seconds",
        "repo", "commit", "checked at", "refs", "verified", "drifted", "ambig", "broken", "error",
    );
    for repo_dir in &o.repos {
        let repo = git2::Repository::open(repo_dir)
            .with_context(|| format!("opening {}", repo_dir.display()))?;
        let name = find::repo_name(repo_dir);
        let commits = first_parents(&repo, o.back)?;
        let cited_at = *commits.last().context("no commits")?;
        let back = commits.len() - 1;
        let files = find::go_files(&repo, cited_at)?;
        let citations = sample(&files, o.per_kind);
        let dir = o.out.join(&name);
        std::fs::create_dir_all(&dir)?;
        let cited_sha = cited_at.to_string();
        let head_yaml = dir.join("anchors.yaml");
        std::fs::write(&head_yaml, find::anchors_yaml(&citations, None))?;
        let (outcomes, seconds) = verify(&o, repo_dir, &head_yaml, &cited_sha)?;
        if outcomes.len() != citations.len() {
            bail!(
                "{} refs reported for {} citations",
                outcomes.len(),
                citations.len()
            );
        }
        // Conditional TLS settings must be refused; every other citation must hold.
        let expected = |c: &Citation, out: &Outcome| match c.kind {
            Kind::ConditionalTls => out.verdict == "broken",
            _ => out.verdict == "verified",
        };
        let misses = list_misses(&dir.join("misses.txt"), &citations, &outcomes, |c, out| {
            !expected(c, out)
        })?;
        list_misses(&dir.join("all.txt"), &citations, &outcomes, |_, _| true)?;
        failed |= misses > 0;
        let positive: Vec<(&Citation, &Outcome)> = citations
            .iter()
            .zip(&outcomes)
            .filter(|(c, _)| c.kind != Kind::ConditionalTls)
            .collect();
        total_cited += positive.len();
        total_verified += positive
            .iter()
            .filter(|(_, out)| out.verdict == "verified")
            .count();
        let row = |table: &mut String, label: &str, outcomes: &[Outcome], seconds: f64| {
            let c = counts(outcomes);
            let get = |k: &str| c.get(k).copied().unwrap_or(0);
            let _ = writeln!(
                table,
                "{:<14} {:>8} {:<19} {:>6} {:>8} {:>7} {:>7} {:>6} {:>7}  {:.1}",
                name,
                &cited_sha[..8],
                label,
                outcomes.len(),
                get("verified"),
                get("drifted"),
                get("ambiguous"),
                get("broken"),
                get("error"),
                seconds
            );
        };
        row(&mut table, "same revision", &outcomes, seconds);
        // The breakdown: every kind and form must be fully verified at the same revision.
        let mut by: BTreeMap<(Kind, Form, bool), (usize, usize)> = BTreeMap::new();
        for (c, out) in citations.iter().zip(&outcomes) {
            let e = by.entry((c.kind, c.form, c.symbol.is_some())).or_default();
            e.0 += 1;
            e.1 += usize::from(expected(c, out));
        }
        for ((kind, form, symbol), (n, ok)) in &by {
            let _ = writeln!(
                table,
                "{:<14}   {:<17} {:<16} {:<10} {:>5} of {:>5} as expected",
                "",
                kind.name(),
                form.name(),
                if *symbol { "symbol" } else { "no symbol" },
                ok,
                n
            );
        }
        // Later: the same refs with `at`, never `error`.
        let at_yaml = dir.join("at.yaml");
        std::fs::write(&at_yaml, find::anchors_yaml(&citations, Some(&cited_sha)))?;
        for later in &o.later {
            let later = (*later).min(back);
            let rev = commits[back - later].to_string();
            let (outcomes, seconds) = verify(&o, repo_dir, &at_yaml, &rev)?;
            let errors = list_misses(
                &dir.join(format!("errors-{later}.txt")),
                &citations,
                &outcomes,
                |_, out| out.verdict == "error",
            )?;
            list_misses(
                &dir.join(format!("not-verified-{later}.txt")),
                &citations,
                &outcomes,
                |_, out| out.verdict != "verified",
            )?;
            failed |= errors > 0;
            row(
                &mut table,
                &format!("{later} commits later"),
                &outcomes,
                seconds,
            );
        }
        println!(
            "{name}: {} Go files at {}, {} citations",
            files.len(),
            &cited_sha[..8],
            citations.len()
        );
    }
    println!();
    print!("{table}");
    println!(
        "\n{total_verified} of {total_cited} positive citations verified at the revision they were written for; details in {}",
        o.out.display()
    );
    if failed {
        println!("TARGET MISSED: see misses.txt and errors-*.txt");
        std::process::exit(1);
    }
    Ok(())
}
