//! The real-code mode (`bench-run --real REPO`): instead of the synthetic monorepo, cites real
//! constructs of a fetched Go repository (found by the self-check's finder,
//! `bench/src/selfcheck/find.rs`) at the first-parent commit one year before HEAD, and times
//! verify at that revision against the floor and ast-grep, and relocation of the same refs
//! (`at:` that commit, verified at HEAD) against per-ref `git log -L` over the same year.
//! Nothing of the repository is written but the cited files' checkout for ast-grep.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::find::{self, Citation};
use crate::measure::{Invocation, Measured};
use crate::{Options, Row, verdicts};

/// The revision cited and the one verified, with how much history lies between.
struct Span {
    /// The first-parent commit one year (`--back-days`) before HEAD: refs are cited here.
    cited: git2::Oid,
    head: git2::Oid,
    /// First-parent commits from `cited` (excluded) to `head`.
    commits: usize,
    days: i64,
}

fn span(repo: &git2::Repository, days: i64) -> Result<Span> {
    let head = repo.head()?.peel_to_commit()?;
    let until = head.time().seconds() - days * 86_400;
    let mut walk = repo.revwalk()?;
    walk.push(head.id())?;
    walk.simplify_first_parent()?;
    for (commits, oid) in walk.enumerate() {
        let oid = oid?;
        if repo.find_commit(oid)?.time().seconds() <= until {
            return Ok(Span {
                cited: oid,
                head: head.id(),
                commits,
                days,
            });
        }
    }
    bail!("the first-parent history is shorter than {days} days")
}

/// Every citation the finder makes in each citable `.go` file of `commit`, by file in path
/// order (files without any left out).
fn citations_by_file(repo: &git2::Repository, commit: git2::Oid) -> Result<Vec<Vec<Citation>>> {
    let files = find::go_files(repo, commit)?;
    let found = find::citations_of_files(&files);
    Ok(found.into_iter().filter(|f| !f.is_empty()).collect())
}

/// K refs: one per file in as many distinct files as there are (evenly spread over the path
/// order) while K does not exceed them, the middle citation of each; beyond that, an even
/// sample of every citation, so big files, which hold the most, get many refs, as real pages
/// cite them.
fn choose(by_file: &[Vec<Citation>], k: usize) -> Vec<Citation> {
    if k <= by_file.len() {
        let step = by_file.len() as f64 / k as f64;
        return (0..k)
            .map(|i| {
                let file = &by_file[(i as f64 * step) as usize];
                file[file.len() / 2].clone()
            })
            .collect();
    }
    let mut out: Vec<Citation> = by_file.iter().map(|f| f[f.len() / 2].clone()).collect();
    let rest: Vec<&Citation> = by_file
        .iter()
        .flat_map(|f| {
            let middle = f.len() / 2;
            f.iter()
                .enumerate()
                .filter(move |(i, _)| *i != middle)
                .map(|(_, c)| c)
        })
        .collect();
    let more = (k - out.len()).min(rest.len());
    if more > 0 {
        let step = rest.len() as f64 / more as f64;
        out.extend((0..more).map(|i| rest[(i as f64 * step) as usize].clone()));
    }
    // In path order, as a page would list them by file.
    out.sort_by(|a, b| (&a.path, a.lines).cmp(&(&b.path, b.lines)));
    out
}

fn anchors_yaml(citations: &[Citation], at: Option<&str>) -> String {
    find::anchors_yaml(citations, at)
}

/// Writes K's inputs under `dir/kK`: `anchors.yaml` (no `at`), `relocate.yaml` (`at` the cited
/// commit), the cited paths, a checkout of the cited files at the cited commit for ast-grep
/// with its rules. Returns the directory and how many distinct files the refs cite.
fn prepare(
    dir: &Path,
    repo: &git2::Repository,
    span: &Span,
    refs: &[Citation],
) -> Result<(PathBuf, usize)> {
    let kdir = dir.join(format!("k{}", refs.len()));
    let _ = std::fs::remove_dir_all(&kdir);
    std::fs::create_dir_all(&kdir)?;
    std::fs::write(kdir.join("anchors.yaml"), anchors_yaml(refs, None))?;
    std::fs::write(
        kdir.join("relocate.yaml"),
        anchors_yaml(refs, Some(&span.cited.to_string())),
    )?;
    let mut paths: Vec<&str> = refs.iter().map(|r| r.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    std::fs::write(kdir.join("paths.txt"), paths.join("\n") + "\n")?;
    crate::export_for_ast_grep(repo, &repo.find_commit(span.cited)?.tree()?, &paths, &kdir)?;
    Ok((kdir, paths.len()))
}

/// Where each ref of a relocation report is at HEAD (path and lines), when it is somewhere.
fn places_at_head(json: &[u8]) -> Result<Vec<Option<(String, String)>>> {
    let report: serde_json::Value = serde_json::from_slice(json)?;
    let mut out = Vec::new();
    for claim in report["claims"].as_array().context("claims")? {
        for r in claim["refs"].as_array().context("refs")? {
            let place = match r["verdict"].as_str() {
                Some("verified") => Some((&r["path"], &r["lines"])),
                Some("drifted") => Some((&r["relocated"]["path"], &r["relocated"]["lines"])),
                _ => None,
            };
            out.push(place.and_then(|(p, l)| Some((p.as_str()?.into(), l.as_str()?.into()))));
        }
    }
    Ok(out)
}

/// The real-code bench of one repository; rows and notes for the table.
pub fn run(
    o: &Options,
    repo_dir: &Path,
    dir: &Path,
    ast_grep: Option<&Path>,
) -> Result<(Vec<Row>, Vec<String>)> {
    let repo = git2::Repository::open(repo_dir)
        .with_context(|| format!("opening {}", repo_dir.display()))?;
    let span = span(&repo, o.back_days)?;
    let by_file = citations_by_file(&repo, span.cited)?;
    let name = find::repo_name(repo_dir);
    let mut rows = Vec::new();
    let mut notes = vec![format!(
        "{name}: refs cited at {} ({} first-parent commits, {} days before HEAD {}); {} files with citable constructs, {} citations",
        &span.cited.to_string()[..10],
        span.commits,
        span.days,
        &span.head.to_string()[..10],
        by_file.len(),
        by_file.iter().map(Vec::len).sum::<usize>(),
    )];
    let ac = o.anchorcheck.to_string_lossy().into_owned();
    let repo_arg = repo_dir.to_string_lossy().into_owned();
    let cited = span.cited.to_string();
    let head = span.head.to_string();
    let verify_at = |anchors: &str, rev: &str| {
        Invocation::new(
            ac.clone(),
            &[
                "verify",
                "--anchors",
                anchors,
                "--repo",
                &repo_arg,
                "--rev",
                rev,
                "--format",
                "json",
            ],
        )
        .ok_codes(&[0, 1])
    };
    for &k in &o.ks {
        let refs = choose(&by_file, k);
        let (kdir, files) = prepare(dir, &repo, &span, &refs)?;
        let k = refs.len();
        let ks = format!("{name} {k}");
        notes.push(format!(
            "{name} K={k}: {files} distinct files, {:.1} refs per file",
            k as f64 / files as f64
        ));
        let verify = verify_at("anchors.yaml", &cited);
        let relocate = verify_at("relocate.yaml", &head);
        let plain = verify.output(&kdir)?;
        notes.push(format!(
            "{name} K={k} verdicts at the cited commit: {:?}",
            verdicts(&plain)?
        ));
        let moved = relocate.output(&kdir)?;
        notes.push(format!(
            "{name} K={k} relocation verdicts (at the cited commit, verified at HEAD): {:?}",
            verdicts(&moved)?
        ));
        // Alternating runs: each tool once per round, so load that comes and goes on a shared
        // machine falls on all of them alike.
        let floor = Invocation::new(
            o.floor.to_string_lossy().into_owned(),
            &[&repo_arg, &cited, "paths.txt"],
        );
        let scan = ast_grep.map(|bin| {
            Invocation::new(
                bin.to_string_lossy().into_owned(),
                &["scan", "--json=compact", "checkout"],
            )
        });
        let mut tools: Vec<(String, &Invocation)> = vec![
            ("anchorcheck verify".into(), &verify),
            ("floor (read + whole-file parse)".into(), &floor),
        ];
        if let Some(scan) = &scan {
            tools.push(("ast-grep scan".into(), scan));
        }
        tools.push((
            format!("anchorcheck verify, at {} commits back", span.commits),
            &relocate,
        ));
        let mut samples: Vec<Vec<Measured>> = vec![Vec::new(); tools.len()];
        for _ in 0..o.runs {
            for (i, (_, inv)) in tools.iter().enumerate() {
                samples[i].push(inv.measure(&kdir, 1)?);
            }
        }
        for ((tool, _), s) in tools.iter().zip(samples) {
            rows.push(Row {
                k: ks.clone(),
                tool: tool.clone(),
                m: Measured::median_of(&s),
                note: String::new(),
            });
        }
        if k <= 1_000 {
            let (log, sample) = git_log_l(repo_dir, &kdir, &span, &moved, o.log_sample)?;
            rows.push(Row {
                k: ks.clone(),
                tool: "git log -L per ref".into(),
                m: Measured {
                    seconds: log.seconds * k as f64,
                    rss_mb: log.rss_mb,
                },
                note: format!("{sample} refs run, median x {k}"),
            });
        }
        let seconds = |wanted: &dyn Fn(&str) -> bool| {
            rows.iter()
                .find(|r| r.k == ks && wanted(&r.tool))
                .map(|r| r.m.seconds)
        };
        let head_s = seconds(&|t| t == "anchorcheck verify");
        let mut line = format!("{name} K={k}:");
        if let (Some(v), Some(f)) = (head_s, seconds(&|t| t.starts_with("floor"))) {
            let _ = write!(line, " verify {:.2}x faster than the floor;", f / v);
        }
        if let (Some(v), Some(a)) = (head_s, seconds(&|t| t == "ast-grep scan")) {
            let _ = write!(line, " {:.2}x faster than ast-grep;", a / v);
        }
        if let (Some(v), Some(r)) = (
            head_s,
            seconds(&|t| t.starts_with("anchorcheck verify, at")),
        ) {
            let _ = write!(line, " relocation {:.2}x a plain verify;", r / v);
            if let Some(l) = seconds(&|t| t.starts_with("git log -L")) {
                let _ = write!(line, " {:.1}x faster than per-ref git log -L;", l / r);
            }
        }
        notes.push(line);
        // Reports must not depend on the number of threads (checked up to 1,000 refs: at
        // 10,000 the six more runs of relocation would take most of the bench's time).
        if k > 1_000 {
            continue;
        }
        let mut same = true;
        for inv in [&verify, &relocate] {
            let one = inv.clone().env("RAYON_NUM_THREADS", "1").output(&kdir)?;
            for threads in ["2", "4"] {
                same &= inv
                    .clone()
                    .env("RAYON_NUM_THREADS", threads)
                    .output(&kdir)?
                    == one;
            }
        }
        notes.push(format!(
            "{name} K={k}: reports at 1, 2 and 4 threads are {}",
            if same { "identical" } else { "DIFFERENT" }
        ));
    }
    Ok((rows, notes))
}

/// Median cost of `git log -L` over the cited year for an even sample of the refs that are
/// somewhere at HEAD (their range at HEAD from anchorcheck's relocation report), and how many
/// ran.
fn git_log_l(
    repo_dir: &Path,
    kdir: &Path,
    span: &Span,
    relocation: &[u8],
    sample: usize,
) -> Result<(Measured, usize)> {
    let places: Vec<(String, String)> = places_at_head(relocation)?.into_iter().flatten().collect();
    if places.is_empty() {
        bail!("no ref is anywhere at HEAD: nothing for git log -L to follow");
    }
    let sample = sample.min(places.len()).max(1);
    let step = places.len() / sample;
    let range = format!("{}..{}", span.cited, span.head);
    let mut runs = Vec::new();
    for (path, lines) in places.iter().step_by(step.max(1)).take(sample) {
        let (a, b) = lines.split_once('-').unwrap_or((lines, lines));
        let arg = format!("{a},{b}:{path}");
        let log = Invocation::new(
            "git",
            &[
                "-C",
                &repo_dir.to_string_lossy(),
                "log",
                "--format=%h",
                "-L",
                &arg,
                &range,
            ],
        );
        runs.push(log.measure(kdir, 1)?);
    }
    Ok((Measured::median_of(&runs), runs.len()))
}
