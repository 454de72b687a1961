//! The mutation bench (issue 21): for every ref of the hand-written anchors files under
//! `bench/mutants/`, makes every applicable weakening and equivalent mutant of the cited file
//! (each one commit on top of the ref's `at`, in a temporary repository borrowing the real
//! repository's objects), verifies the ref's claim at each mutant with anchorcheck, and counts:
//! a weakening must come out `broken`, an equivalent edit must not. Prints a table per
//! repository and per operator, writes every mutant's verdict and every miss under `--out`,
//! and exits 1 when anything was missed. See bench/README.md.
#![allow(clippy::print_stdout, reason = "a bench prints its table")]

mod claims;
mod ops;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ops::{Class, Mutation};

struct Options {
    /// (name as given, repository dir).
    repos: Vec<(String, PathBuf)>,
    claims_dir: PathBuf,
    anchorcheck: PathBuf,
    jobs: usize,
    out: PathBuf,
    work: Option<PathBuf>,
    only_claims: Vec<String>,
    only_ops: Vec<String>,
    list: bool,
}

const USAGE: &str = "usage: bench-mutants --repo NAME=DIR [--repo NAME=DIR]... [--claims DIR] \
[--anchorcheck PATH] [--jobs N] [--out DIR] [--work DIR] [--claim ID]... [--op NAME]... [--list]
  NAME is a claims file's stem under --claims (owner-name), its owner/name, or its name alone";

fn parse_args() -> Result<Options> {
    let exe = std::env::current_exe()?;
    let bin_dir = exe.parent().context("no exe dir")?.to_path_buf();
    let mut o = Options {
        repos: Vec::new(),
        claims_dir: PathBuf::from("bench/mutants"),
        anchorcheck: bin_dir.join("anchorcheck"),
        jobs: 2,
        out: std::env::temp_dir().join("anchorcheck-mutants"),
        work: None,
        only_claims: Vec::new(),
        only_ops: Vec::new(),
        list: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().context(format!("{flag} needs a value"));
        match flag.as_str() {
            "--repo" => {
                let v = value()?;
                let (name, dir) = v
                    .split_once('=')
                    .with_context(|| format!("--repo {v}: write NAME=DIR\n{USAGE}"))?;
                o.repos.push((name.to_string(), PathBuf::from(dir)));
            }
            "--claims" => o.claims_dir = PathBuf::from(value()?),
            "--anchorcheck" => o.anchorcheck = PathBuf::from(value()?),
            "--jobs" => o.jobs = value()?.parse::<usize>()?.max(1),
            "--out" => o.out = PathBuf::from(value()?),
            "--work" => o.work = Some(PathBuf::from(value()?)),
            "--claim" => o.only_claims.push(value()?),
            "--op" => o.only_ops.push(value()?),
            "--list" => o.list = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    if o.repos.is_empty() {
        bail!("give at least one --repo NAME=DIR\n{USAGE}");
    }
    for op in &o.only_ops {
        if !ops::WEAKENING.contains(&op.as_str()) && !ops::EQUIVALENT.contains(&op.as_str()) {
            bail!("unknown operator {op}");
        }
    }
    Ok(o)
}

/// The claims file a `--repo NAME` names.
fn claims_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let p = e?.path();
        if p.extension().and_then(|x| x.to_str()) != Some("yaml") {
            continue;
        }
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem == name || stem == name.replace('/', "-") || stem.ends_with(&format!("-{name}")) {
            found.push(p);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("no claims file for {name} in {}", dir.display()),
        _ => bail!("several claims files for {name}: {found:?}"),
    }
}

/// One mutant to verify.
struct Job {
    repo: String,
    anchors: PathBuf,
    git_dir: PathBuf,
    claim: String,
    /// Index of the ref in its claim.
    ref_index: usize,
    path: String,
    lines: (usize, usize),
    op: &'static str,
    class: Class,
    line: usize,
    commit: String,
    /// The changed lines, before and after, for the misses list.
    diff: String,
}

struct Outcome {
    verdict: String,
    detail: String,
}

/// A temporary bare repository whose object store borrows the real repository's (through
/// `objects/info/alternates`), so mutants are written without copying or touching it.
fn scratch_repo(real: &Path, dir: &Path) -> Result<git2::Repository> {
    let real = git2::Repository::open(real).with_context(|| format!("{}", real.display()))?;
    let objects = std::fs::canonicalize(real.path().join("objects"))?;
    let repo = git2::Repository::init_bare(dir)?;
    std::fs::write(
        dir.join("objects/info/alternates"),
        format!("{}\n", objects.display()),
    )?;
    // Reopen so libgit2 reads the alternates.
    drop(repo);
    Ok(git2::Repository::open_bare(dir)?)
}

fn commit_mutant(
    repo: &git2::Repository,
    base: &git2::Commit,
    path: &str,
    new_text: &str,
    m: &Mutation,
) -> Result<git2::Oid> {
    let tree = base.tree()?;
    let mut up = git2::build::TreeUpdateBuilder::new();
    let blob = repo.blob(new_text.as_bytes())?;
    up.upsert(path, blob, git2::FileMode::Blob);
    if let Some((p, contents)) = &m.new_file {
        if tree.get_path(Path::new(p)).is_ok() {
            bail!("{p} exists already");
        }
        let b = repo.blob(contents.as_bytes())?;
        up.upsert(p, b, git2::FileMode::Blob);
    }
    let tree_id = up.create_updated(repo, &tree)?;
    let tree = repo.find_tree(tree_id)?;
    let when = git2::Time::new(base.time().seconds() + 60, 0);
    let sig = git2::Signature::new("anchorcheck mutation bench", "bench@invalid", &when)?;
    let msg = format!("mutant: {} at {path}:{}\n", m.op, m.line);
    Ok(repo.commit(None, &sig, &sig, &msg, &tree, &[base])?)
}

/// The lines an edit changed, before and after, as `-`/`+` lines.
fn show_change(before: &str, after: &str) -> String {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut s = format!("@@ line {} @@\n", head + 1);
    for l in &a[head..a.len() - tail] {
        let _ = writeln!(s, "-{l}");
    }
    for l in &b[head..b.len() - tail] {
        let _ = writeln!(s, "+{l}");
    }
    s
}

/// Runs anchorcheck on one claim at one revision; the JSON report.
fn verify(
    anchorcheck: &Path,
    anchors: &Path,
    git_dir: &Path,
    rev: &str,
    claim: Option<&str>,
) -> Result<serde_json::Value> {
    let mut cmd = Command::new(anchorcheck);
    cmd.args(["verify", "--format", "json", "--anchors"])
        .arg(anchors)
        .arg("--repo")
        .arg(git_dir)
        .args(["--rev", rev])
        .env("RAYON_NUM_THREADS", "1")
        .env("NO_COLOR", "1");
    if let Some(c) = claim {
        cmd.args(["--claim", c]);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {}", anchorcheck.display()))?;
    if !matches!(out.status.code(), Some(0 | 1)) {
        bail!(
            "anchorcheck exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The verdict of ref `index` of claim `id` in a report, with what it says.
fn ref_outcome(report: &serde_json::Value, id: &str, index: usize) -> Outcome {
    let Some(r) = report["claims"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["id"] == id))
        .and_then(|c| c["refs"].get(index))
    else {
        return Outcome {
            verdict: "error".into(),
            detail: "the ref is not in the report".into(),
        };
    };
    let verdict = r["verdict"].as_str().unwrap_or("error").to_string();
    let mut detail = String::new();
    if let Some(e) = r["error"].as_str() {
        detail.push_str(e);
    }
    if let Some(rel) = r["relocated"].as_object() {
        let _ = write!(
            detail,
            "relocated to {}:{} by {}",
            rel["path"].as_str().unwrap_or(""),
            rel["lines"].as_str().unwrap_or(""),
            rel["how"].as_str().unwrap_or("")
        );
    }
    for e in r["expectations"].as_array().into_iter().flatten() {
        if e["ok"] == false {
            let _ = write!(
                detail,
                "{}{}: {}",
                if detail.is_empty() { "" } else { "; " },
                e["kind"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            );
        }
    }
    if verdict == "ambiguous" {
        let n = r["candidates"].as_array().map_or(0, Vec::len);
        let _ = write!(detail, "; {n} candidates");
    }
    Outcome {
        verdict,
        detail: detail.replace('\n', " "),
    }
}

fn main() -> Result<()> {
    let o = parse_args()?;
    let started = Instant::now();
    if !o.anchorcheck.is_file() {
        bail!(
            "no anchorcheck binary at {} (build it: cargo build --release, or --anchorcheck PATH)",
            o.anchorcheck.display()
        );
    }
    let tmp = tempfile::Builder::new()
        .prefix("anchorcheck-mutants-")
        .tempdir()?;
    let work = o.work.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&work)?;
    std::fs::create_dir_all(&o.out)?;

    let mut jobs: Vec<Job> = Vec::new();
    // (repo, claim, ref, op, class, reason) for every operator not applied, and every ref
    // whose base verdict is not verified.
    let mut skipped: Vec<(String, String, usize, &'static str, Class, String)> = Vec::new();
    let mut base_failures: Vec<String> = Vec::new();
    let mut claim_counts: Vec<(String, String, usize, usize)> = Vec::new();

    for (name, dir) in &o.repos {
        let file = claims_file(&o.claims_dir, name)?;
        let cf = claims::read(&file)?;
        let anchors = std::fs::canonicalize(&cf.path)?;
        let git_dir = work.join(format!("{}.git", cf.stem));
        if git_dir.exists() {
            std::fs::remove_dir_all(&git_dir)?;
        }
        let repo = scratch_repo(dir, &git_dir)?;
        let base_id = git2::Oid::from_str(&cf.commit)?;
        let base = repo.find_commit(base_id).with_context(|| {
            format!("{}: commit {} not in {}", cf.stem, cf.commit, dir.display())
        })?;
        let base_tree = base.tree()?;

        // Every claim must verify at the base: a mutant of a claim that does not is no test.
        let report = verify(&o.anchorcheck, &anchors, &git_dir, &cf.commit, None)?;
        let nrefs: usize = cf.claims.iter().map(|c| c.refs.len()).sum();
        claim_counts.push((cf.stem.clone(), cf.commit.clone(), cf.claims.len(), nrefs));

        for claim in &cf.claims {
            if !o.only_claims.is_empty() && !o.only_claims.contains(&claim.id) {
                continue;
            }
            for (i, r) in claim.refs.iter().enumerate() {
                let base_out = ref_outcome(&report, &claim.id, i);
                if base_out.verdict != "verified" {
                    base_failures.push(format!(
                        "{} {} ref {} ({}:{}-{}): {} at the base: {}",
                        cf.stem,
                        claim.id,
                        i + 1,
                        r.path,
                        r.lines.0,
                        r.lines.1,
                        base_out.verdict,
                        base_out.detail
                    ));
                    continue;
                }
                let entry = base_tree.get_path(Path::new(&r.path))?;
                let blob = repo.find_blob(entry.id())?;
                let text = std::str::from_utf8(blob.content())
                    .with_context(|| format!("{} is not UTF-8", r.path))?;
                let (ms, skips) = ops::mutants(&r.path, text, r.lines, &r.exp);
                for s in skips {
                    skipped.push((
                        cf.stem.clone(),
                        claim.id.clone(),
                        i,
                        s.op,
                        s.class,
                        s.reason,
                    ));
                }
                for m in ms {
                    if !o.only_ops.is_empty() && !o.only_ops.iter().any(|x| x == m.op) {
                        continue;
                    }
                    let new_text = ops::apply(text, &m.edits);
                    let commit = match commit_mutant(&repo, &base, &r.path, &new_text, &m) {
                        Ok(c) => c,
                        Err(e) => {
                            skipped.push((
                                cf.stem.clone(),
                                claim.id.clone(),
                                i,
                                m.op,
                                m.class,
                                format!("{e:#}"),
                            ));
                            continue;
                        }
                    };
                    let mut diff = show_change(text, &new_text);
                    if let Some((p, _)) = &m.new_file {
                        let _ = writeln!(diff, "(the function moved to the new file {p})");
                    }
                    jobs.push(Job {
                        repo: cf.stem.clone(),
                        anchors: anchors.clone(),
                        git_dir: git_dir.clone(),
                        claim: claim.id.clone(),
                        ref_index: i,
                        path: r.path.clone(),
                        lines: r.lines,
                        op: m.op,
                        class: m.class,
                        line: m.line,
                        commit: commit.to_string(),
                        diff,
                    });
                }
            }
        }
    }

    if o.list {
        for j in &jobs {
            println!(
                "{} {} ref {} {}:{}-{} {} {} line {} {}",
                j.repo,
                j.claim,
                j.ref_index + 1,
                j.path,
                j.lines.0,
                j.lines.1,
                j.class.name(),
                j.op,
                j.line,
                j.commit
            );
            print!("{}", j.diff);
        }
        return Ok(());
    }

    // Verify every mutant, `--jobs` anchorcheck processes at a time.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..o.jobs {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(j) = jobs.get(k) else { break };
                    let out = match verify(
                        &o.anchorcheck,
                        &j.anchors,
                        &j.git_dir,
                        &j.commit,
                        Some(&j.claim),
                    ) {
                        Ok(report) => ref_outcome(&report, &j.claim, j.ref_index),
                        Err(e) => Outcome {
                            verdict: "error".into(),
                            detail: format!("{e:#}"),
                        },
                    };
                    results.lock().expect("no panics")[k] = Some(out);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if n.is_multiple_of(50) {
                        eprintln!("{n} of {} mutants verified", jobs.len());
                    }
                }
            });
        }
    });
    let results: Vec<Outcome> = results
        .into_inner()
        .expect("no panics")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect();

    let report = render(
        &o,
        &jobs,
        &results,
        &skipped,
        &base_failures,
        &claim_counts,
        started,
    );
    std::fs::write(o.out.join("results.txt"), &report.full)?;
    let mut tsv = String::from(
        "repo\tclaim\tref\tpath\tlines\tclass\toperator\tline\tcommit\tverdict\tdetail\n",
    );
    for (j, r) in jobs.iter().zip(&results) {
        let _ = writeln!(
            tsv,
            "{}\t{}\t{}\t{}\t{}-{}\t{}\t{}\t{}\t{}\t{}\t{}",
            j.repo,
            j.claim,
            j.ref_index + 1,
            j.path,
            j.lines.0,
            j.lines.1,
            j.class.name(),
            j.op,
            j.line,
            j.commit,
            r.verdict,
            r.detail
        );
    }
    std::fs::write(o.out.join("mutants.tsv"), tsv)?;
    print!("{}", report.summary);
    println!(
        "results: {} (every mutant: {})",
        o.out.join("results.txt").display(),
        o.out.join("mutants.tsv").display()
    );
    if let Some(w) = &o.work {
        println!("mutant repositories kept in {}", w.display());
    }
    if report.misses > 0 || !base_failures.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

const VERDICTS: &[&str] = &["broken", "drifted", "verified", "ambiguous", "error"];

struct Rendered {
    summary: String,
    full: String,
    misses: usize,
}

fn is_miss(class: Class, verdict: &str) -> bool {
    match class {
        Class::Weakening => verdict != "broken",
        Class::Equivalent => verdict == "broken" || verdict == "error",
    }
}

type Rows = Vec<((String, Class), BTreeMap<String, usize>)>;

fn table(title: &str, rows: &Rows) -> String {
    let mut s = format!(
        "{title:<34} {:<10} {:>6} {:>7} {:>8} {:>9} {:>10} {:>6} {:>6}\n",
        "class", "total", "broken", "drifted", "verified", "ambiguous", "error", "misses"
    );
    for ((key, class), counts) in rows {
        let total: usize = counts.values().sum();
        let misses: usize = counts
            .iter()
            .filter(|(v, _)| is_miss(*class, v))
            .map(|(_, n)| n)
            .sum();
        let _ = write!(s, "{key:<34} {:<10} {total:>6}", class.name());
        for (v, w) in VERDICTS.iter().zip([7, 8, 9, 10, 6]) {
            let _ = write!(s, " {:>w$}", counts.get(*v).copied().unwrap_or(0));
        }
        let _ = writeln!(s, " {misses:>6}");
    }
    s
}

fn render(
    o: &Options,
    jobs: &[Job],
    results: &[Outcome],
    skipped: &[(String, String, usize, &'static str, Class, String)],
    base_failures: &[String],
    claim_counts: &[(String, String, usize, usize)],
    started: Instant,
) -> Rendered {
    let mut per_repo: BTreeMap<(String, Class), BTreeMap<String, usize>> = BTreeMap::new();
    let mut per_op: BTreeMap<(String, Class), BTreeMap<String, usize>> = BTreeMap::new();
    let mut totals: BTreeMap<(String, Class), BTreeMap<String, usize>> = BTreeMap::new();
    let order = |op: &str| {
        ops::WEAKENING
            .iter()
            .chain(ops::EQUIVALENT)
            .position(|x| *x == op)
            .unwrap_or(99)
    };
    for (j, r) in jobs.iter().zip(results) {
        *per_repo
            .entry((j.repo.clone(), j.class))
            .or_default()
            .entry(r.verdict.clone())
            .or_default() += 1;
        *per_op
            .entry((j.op.to_string(), j.class))
            .or_default()
            .entry(r.verdict.clone())
            .or_default() += 1;
        *totals
            .entry(("all repositories".into(), j.class))
            .or_default()
            .entry(r.verdict.clone())
            .or_default() += 1;
    }
    let mut op_rows: Rows = per_op.into_iter().collect();
    op_rows.sort_by_key(|((k, c), _)| (*c, order(k)));

    let mut s = String::new();
    let _ = writeln!(
        s,
        "anchorcheck mutation bench: {} ({})",
        o.anchorcheck.display(),
        tool_version(&o.anchorcheck)
    );
    for (stem, commit, claims, refs) in claim_counts {
        let _ = writeln!(s, "  {stem:<24} {commit}  {claims} claims, {refs} refs");
    }
    s.push('\n');
    let mut repo_rows: Rows = per_repo.into_iter().collect();
    repo_rows.extend(totals);
    s.push_str(&table("repository", &repo_rows));
    s.push('\n');
    s.push_str(&table("operator", &op_rows));

    let weak: usize = jobs.iter().filter(|j| j.class == Class::Weakening).count();
    let equiv = jobs.len() - weak;
    let caught = jobs
        .iter()
        .zip(results)
        .filter(|(j, r)| j.class == Class::Weakening && r.verdict == "broken")
        .count();
    let kept = jobs
        .iter()
        .zip(results)
        .filter(|(j, r)| j.class == Class::Equivalent && !is_miss(j.class, &r.verdict))
        .count();
    let misses = (weak - caught) + (equiv - kept);
    let _ = writeln!(
        s,
        "\n{caught} of {weak} weakening mutants broken; {kept} of {equiv} equivalent mutants not broken; {misses} misses; {} refs not verified at the base; {:.0} s",
        base_failures.len(),
        started.elapsed().as_secs_f64()
    );

    let mut full = s.clone();
    if !base_failures.is_empty() {
        full.push_str(
            "\n## Refs not verified at the base commit (their mutants were not made)\n\n",
        );
        for b in base_failures {
            let _ = writeln!(full, "{b}");
        }
    }
    full.push_str("\n## Misses (weakening not broken, equivalent broken or error)\n\n");
    type MissesByOp<'a> = BTreeMap<(Class, usize, &'a str), Vec<(&'a Job, &'a Outcome)>>;
    let mut by_op: MissesByOp = BTreeMap::new();
    for (j, r) in jobs.iter().zip(results) {
        if is_miss(j.class, &r.verdict) {
            by_op
                .entry((j.class, order(j.op), j.op))
                .or_default()
                .push((j, r));
        }
    }
    for ((class, _, op), list) in &by_op {
        let _ = writeln!(full, "### {} {op}: {} misses\n", class.name(), list.len());
        for (j, r) in list {
            let _ = writeln!(
                full,
                "{} {} ref {} ({}:{}-{}) line {}: {} (mutant {})\n  {}",
                j.repo,
                j.claim,
                j.ref_index + 1,
                j.path,
                j.lines.0,
                j.lines.1,
                j.line,
                r.verdict,
                &j.commit[..12],
                r.detail
            );
            for l in j.diff.lines().take(12) {
                let _ = writeln!(full, "    {l}");
            }
        }
        full.push('\n');
    }
    full.push_str("\n## Operators not applied, with the reason\n\n");
    let mut reasons: BTreeMap<(Class, &str, &str), usize> = BTreeMap::new();
    for (_, _, _, op, class, reason) in skipped {
        // Group by reason without the line number.
        let general = reason
            .split_once(": ")
            .map_or(reason.as_str(), |(l, rest)| {
                if l.starts_with("line ") {
                    rest
                } else {
                    reason.as_str()
                }
            });
        *reasons.entry((*class, op, general)).or_default() += 1;
    }
    for ((class, op, reason), n) in &reasons {
        let _ = writeln!(full, "{} {op}: {n} refs/constructs: {reason}", class.name());
    }
    full.push_str("\nIn detail:\n");
    for (repo, claim, i, op, class, reason) in skipped {
        let _ = writeln!(
            full,
            "{repo} {claim} ref {} {} {op}: {reason}",
            i + 1,
            class.name()
        );
    }
    Rendered {
        summary: s,
        full,
        misses: misses + base_failures.len(),
    }
}

fn tool_version(anchorcheck: &Path) -> String {
    Command::new(anchorcheck)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
