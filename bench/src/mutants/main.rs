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
use ops::Class;

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
    only_drifts: Vec<String>,
    /// Make compound mutants (a change and a drift).
    compound: bool,
    /// Also verify every mutant with its ref's `at` removed.
    without_at: bool,
    /// Keep one (change, drift) combination in this many (1: all), evenly through the list;
    /// each kept one is made in every shape.
    compound_every: usize,
    list: bool,
}

const USAGE: &str = "usage: bench-mutants --repo NAME=DIR [--repo NAME=DIR]... [--claims DIR] \
[--anchorcheck PATH] [--jobs N] [--out DIR] [--work DIR] [--claim ID]... [--op NAME]... \
[--drift NAME]... [--single-only] [--with-at-only] [--compound-every K] [--list]
  NAME is a claims file's stem under --claims (owner-name), its owner/name, or its name alone
  --single-only: no compound mutants (a change and a drift together)
  --with-at-only: do not verify the mutants again with the refs' `at` removed
  --compound-every K: keep one (change, drift) combination in K, evenly through the list, each
    in every shape";

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
        only_drifts: Vec::new(),
        compound: true,
        without_at: true,
        compound_every: 1,
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
            "--drift" => o.only_drifts.push(value()?),
            "--single-only" => o.compound = false,
            "--with-at-only" => o.without_at = false,
            "--compound-every" => o.compound_every = value()?.parse::<usize>()?.max(1),
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
    for op in &o.only_drifts {
        if !ops::DRIFT.contains(&op.as_str()) {
            bail!("unknown drift operator {op} (one of {:?})", ops::DRIFT);
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

/// The history a mutant's commits write on top of the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Shape {
    /// One operator, one commit.
    Single,
    /// A change (weakening or equivalent edit) and a drift in one commit.
    OneCommit,
    /// The drift commit, then the change commit.
    DriftFirst,
    /// The change commit, then the drift commit.
    ChangeFirst,
}

impl Shape {
    const COMPOUND: [Shape; 3] = [Shape::OneCommit, Shape::DriftFirst, Shape::ChangeFirst];

    fn name(self) -> &'static str {
        match self {
            Shape::Single => "single",
            Shape::OneCommit => "one commit",
            Shape::DriftFirst => "drift, then change",
            Shape::ChangeFirst => "change, then drift",
        }
    }
}

fn at_name(at: bool) -> &'static str {
    if at { "at" } else { "no at" }
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
    /// The drift operator of a compound mutant.
    drift: Option<&'static str>,
    shape: Shape,
    /// Whether the ref keeps its `at` (else it cites the base lines without one).
    at: bool,
    class: Class,
    line: usize,
    commit: String,
    /// The changed lines, before and after, for the misses list.
    diff: String,
}

impl Job {
    /// The operator, with its drift for a compound mutant.
    fn ops(&self) -> String {
        match self.drift {
            Some(d) => format!("{}+{d}", self.op),
            None => self.op.to_string(),
        }
    }
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

/// A commit on `parent` whose tree is the base tree with `v` written (the cited file's text at
/// `path`, and the file it adds).
fn commit_version(
    repo: &git2::Repository,
    base: &git2::Commit,
    parent: &git2::Commit,
    path: &str,
    v: &ops::Version,
    msg: &str,
) -> Result<git2::Oid> {
    let tree = base.tree()?;
    let mut up = git2::build::TreeUpdateBuilder::new();
    let blob = repo.blob(v.text.as_bytes())?;
    up.upsert(path, blob, git2::FileMode::Blob);
    if let Some((p, contents)) = &v.new_file {
        if tree.get_path(Path::new(p)).is_ok() {
            bail!("{p} exists already");
        }
        let b = repo.blob(contents.as_bytes())?;
        up.upsert(p, b, git2::FileMode::Blob);
    }
    let tree_id = up.create_updated(repo, &tree)?;
    let tree = repo.find_tree(tree_id)?;
    let when = git2::Time::new(parent.time().seconds() + 60, 0);
    let sig = git2::Signature::new("anchorcheck mutation bench", "bench@invalid", &when)?;
    Ok(repo.commit(None, &sig, &sig, msg, &tree, &[parent])?)
}

/// The commits of one mutant on top of the base, the last one's id: `first` (the version the
/// first of two commits writes) then `last`.
fn commit_mutant(
    repo: &git2::Repository,
    base: &git2::Commit,
    path: &str,
    first: Option<(&ops::Version, &str)>,
    last: (&ops::Version, &str),
) -> Result<git2::Oid> {
    let parent = match first {
        Some((v, msg)) => {
            let id = commit_version(repo, base, base, path, v, msg)?;
            repo.find_commit(id)?
        }
        None => base.clone(),
    };
    commit_version(repo, base, &parent, path, last.0, last.1)
}

/// The anchors file `anchors` with every ref's `at` removed, written under `dir`: each ref
/// then cites the base lines, and a verify walks history back to where it last held.
fn without_at(anchors: &Path, dir: &Path, stem: &str) -> Result<PathBuf> {
    let text = std::fs::read_to_string(anchors)?;
    let at = regex::Regex::new(r"^\s+at:\s")?;
    let kept: String = text
        .lines()
        .filter(|l| !at.is_match(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = dir.join(format!("{stem}-no-at.yaml"));
    std::fs::write(&out, kept)?;
    Ok(out)
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
    // Compound mutants made so far, for `--compound-every`.
    let mut compound_seen = 0usize;

    for (name, dir) in &o.repos {
        let file = claims_file(&o.claims_dir, name)?;
        let cf = claims::read(&file)?;
        let anchors = std::fs::canonicalize(&cf.path)?;
        let git_dir = work.join(format!("{}.git", cf.stem));
        if git_dir.exists() {
            std::fs::remove_dir_all(&git_dir)?;
        }
        let repo = scratch_repo(dir, &git_dir)?;
        let anchors_no_at = without_at(&anchors, &work, &cf.stem)?;
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
                let push = |jobs: &mut Vec<Job>,
                            m: &ops::Mutation,
                            drift: Option<&'static str>,
                            shape: Shape,
                            commit: git2::Oid,
                            diff: &str| {
                    for at in [true, false] {
                        if !at && !o.without_at {
                            continue;
                        }
                        jobs.push(Job {
                            repo: cf.stem.clone(),
                            anchors: if at {
                                anchors.clone()
                            } else {
                                anchors_no_at.clone()
                            },
                            git_dir: git_dir.clone(),
                            claim: claim.id.clone(),
                            ref_index: i,
                            path: r.path.clone(),
                            lines: r.lines,
                            op: m.op,
                            drift,
                            shape,
                            at,
                            class: m.class,
                            line: m.line,
                            commit: commit.to_string(),
                            diff: diff.to_string(),
                        });
                    }
                };
                let wanted = |m: &ops::Mutation| {
                    o.only_ops.is_empty() || o.only_ops.iter().any(|x| x == m.op)
                };
                let mut skip = |m: &ops::Mutation, reason: String| {
                    skipped.push((cf.stem.clone(), claim.id.clone(), i, m.op, m.class, reason));
                };
                for m in ms.iter().filter(|m| wanted(m)) {
                    let v = ops::version(text, m);
                    let msg = format!("mutant: {} at {}:{}\n", m.op, r.path, m.line);
                    let commit = match commit_mutant(&repo, &base, &r.path, None, (&v, &msg)) {
                        Ok(c) => c,
                        Err(e) => {
                            skip(m, format!("{e:#}"));
                            continue;
                        }
                    };
                    let mut diff = show_change(text, &v.text);
                    if let Some((p, _)) = &m.new_file {
                        let _ = writeln!(diff, "(the function moved to the new file {p})");
                    }
                    push(&mut jobs, m, None, Shape::Single, commit, &diff);
                }
                if !o.compound {
                    continue;
                }
                let changes = ms.iter().filter(|m| {
                    wanted(m)
                        && (m.class == Class::Weakening || ops::COMPOUND_EQUIVALENT.contains(&m.op))
                });
                let drifts: Vec<&ops::Mutation> = ms
                    .iter()
                    .filter(|m| {
                        ops::DRIFT.contains(&m.op)
                            && (o.only_drifts.is_empty() || o.only_drifts.iter().any(|d| d == m.op))
                    })
                    .collect();
                for m in changes {
                    for d in &drifts {
                        let both = match ops::combine(text, m, d) {
                            Ok(v) => v,
                            Err(reason) => {
                                skip(m, format!("line {}: with {}: {reason}", m.line, d.op));
                                continue;
                            }
                        };
                        let change = ops::version(text, m);
                        let drift = ops::version(text, d);
                        let mut diff = format!("{}:\n{}", m.op, show_change(text, &change.text));
                        let _ = write!(diff, "{}:\n{}", d.op, show_change(text, &drift.text));
                        if let Some((p, _)) = &d.new_file {
                            let _ = writeln!(diff, "(the function moved to the new file {p})");
                        }
                        // Sampled by combination: each kept one is made in every shape.
                        compound_seen += 1;
                        if !(compound_seen - 1).is_multiple_of(o.compound_every) {
                            continue;
                        }
                        for shape in Shape::COMPOUND {
                            let msg_both = format!("mutant: {} and {}\n", m.op, d.op);
                            let msg_change = format!("mutant: {}\n", m.op);
                            let msg_drift = format!("mutant: {}\n", d.op);
                            let first = match shape {
                                Shape::DriftFirst => Some((&drift, msg_drift.as_str())),
                                Shape::ChangeFirst => Some((&change, msg_change.as_str())),
                                _ => None,
                            };
                            let last_msg = match shape {
                                Shape::DriftFirst => &msg_change,
                                Shape::ChangeFirst => &msg_drift,
                                _ => &msg_both,
                            };
                            match commit_mutant(&repo, &base, &r.path, first, (&both, last_msg)) {
                                Ok(c) => push(&mut jobs, m, Some(d.op), shape, c, &diff),
                                Err(e) => skip(m, format!("with {}: {e:#}", d.op)),
                            }
                        }
                    }
                }
            }
        }
    }

    if o.list {
        for j in &jobs {
            println!(
                "{} {} ref {} {}:{}-{} {} {} ({}, {}) line {} {}",
                j.repo,
                j.claim,
                j.ref_index + 1,
                j.path,
                j.lines.0,
                j.lines.1,
                j.class.name(),
                j.ops(),
                j.shape.name(),
                at_name(j.at),
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
        "repo\tclaim\tref\tpath\tlines\tclass\toperator\tdrift\tshape\tat\tline\tcommit\tverdict\tdetail\n",
    );
    for (j, r) in jobs.iter().zip(&results) {
        let _ = writeln!(
            tsv,
            "{}\t{}\t{}\t{}\t{}-{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            j.repo,
            j.claim,
            j.ref_index + 1,
            j.path,
            j.lines.0,
            j.lines.1,
            j.class.name(),
            j.op,
            j.drift.unwrap_or("-"),
            j.shape.name(),
            at_name(j.at),
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

/// Rows of a table from (sort key, row name, class, verdict) items.
fn rows<K: Ord>(items: impl Iterator<Item = (K, String, Class, String)>) -> Rows {
    let mut m: BTreeMap<(K, Class), (String, BTreeMap<String, usize>)> = BTreeMap::new();
    for (k, name, class, verdict) in items {
        *m.entry((k, class))
            .or_insert_with(|| (name, BTreeMap::new()))
            .1
            .entry(verdict)
            .or_default() += 1;
    }
    m.into_iter()
        .map(|((_, class), (name, counts))| ((name, class), counts))
        .collect()
}

/// One line counting a set of mutants: weakenings broken and equivalents not broken, with what
/// the others came out as.
fn count_line(title: &str, set: &[(&Job, &Outcome)]) -> String {
    let n = |class: Class, verdict: &str| {
        set.iter()
            .filter(|(j, r)| j.class == class && r.verdict == verdict)
            .count()
    };
    let total = |class: Class| set.iter().filter(|(j, _)| j.class == class).count();
    let w = Class::Weakening;
    let e = Class::Equivalent;
    format!(
        "{title}: {} of {} weakening mutants broken ({} drifted, {} verified, {} ambiguous, {} error); \
         {} of {} equivalent mutants not broken ({} broken, {} error; {} ambiguous)\n",
        n(w, "broken"),
        total(w),
        n(w, "drifted"),
        n(w, "verified"),
        n(w, "ambiguous"),
        n(w, "error"),
        total(e) - n(e, "broken") - n(e, "error"),
        total(e),
        n(e, "broken"),
        n(e, "error"),
        n(e, "ambiguous"),
    )
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
    let order = |op: &str| {
        ops::WEAKENING
            .iter()
            .chain(ops::EQUIVALENT)
            .position(|x| *x == op)
            .unwrap_or(99)
    };
    let drift_order = |d: Option<&str>| {
        d.and_then(|d| ops::DRIFT.iter().position(|x| *x == d))
            .unwrap_or(99)
    };
    let all: Vec<(&Job, &Outcome)> = jobs.iter().zip(results).collect();
    let single_at: Vec<(&Job, &Outcome)> = all
        .iter()
        .copied()
        .filter(|(j, _)| j.shape == Shape::Single && j.at)
        .collect();

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
    s.push_str("\nOne operator, one commit, refs with `at`:\n\n");
    let mut repo_rows = rows(
        single_at
            .iter()
            .map(|(j, r)| (j.repo.clone(), j.repo.clone(), j.class, r.verdict.clone())),
    );
    repo_rows.extend(rows(single_at.iter().map(|(j, r)| {
        (
            String::new(),
            "all repositories".to_string(),
            j.class,
            r.verdict.clone(),
        )
    })));
    s.push_str(&table("repository", &repo_rows));
    s.push('\n');
    s.push_str(&table(
        "operator",
        &rows(
            single_at
                .iter()
                .map(|(j, r)| (order(j.op), j.op.to_string(), j.class, r.verdict.clone())),
        ),
    ));

    if all.len() > single_at.len() {
        s.push_str(
            "\nEvery mutant by shape of history (a change and a drift: in one commit, or in two) \
             and by whether the ref has `at`:\n\n",
        );
        s.push_str(&table(
            "shape",
            &rows(all.iter().map(|(j, r)| {
                (
                    (j.shape, !j.at),
                    format!("{}, {}", j.shape.name(), at_name(j.at)),
                    j.class,
                    r.verdict.clone(),
                )
            })),
        ));
        s.push('\n');
        s.push_str(&table(
            "repository (all but single with at)",
            &rows(
                all.iter()
                    .filter(|(j, _)| !(j.shape == Shape::Single && j.at))
                    .map(|(j, r)| {
                        (
                            (j.repo.clone(), j.shape != Shape::Single, !j.at),
                            format!(
                                "{}, {}, {}",
                                j.repo,
                                if j.shape == Shape::Single {
                                    "single"
                                } else {
                                    "compound"
                                },
                                at_name(j.at)
                            ),
                            j.class,
                            r.verdict.clone(),
                        )
                    }),
            ),
        ));
        let compound: Vec<&(&Job, &Outcome)> =
            all.iter().filter(|(j, _)| j.drift.is_some()).collect();
        if !compound.is_empty() {
            s.push('\n');
            s.push_str(&table(
                "drift of compound mutants",
                &rows(compound.iter().map(|(j, r)| {
                    (
                        (drift_order(j.drift), !j.at),
                        format!("{}, {}", j.drift.unwrap_or("-"), at_name(j.at)),
                        j.class,
                        r.verdict.clone(),
                    )
                })),
            ));
            s.push('\n');
            s.push_str(&table(
                "change of compound mutants",
                &rows(compound.iter().map(|(j, r)| {
                    (
                        (order(j.op), !j.at),
                        format!("{}, {}", j.op, at_name(j.at)),
                        j.class,
                        r.verdict.clone(),
                    )
                })),
            ));
        }
        let without: Vec<(&Job, &Outcome)> = all
            .iter()
            .copied()
            .filter(|(j, _)| j.shape == Shape::Single && !j.at)
            .collect();
        if !without.is_empty() {
            s.push('\n');
            s.push_str(&table(
                "operator, single, no at",
                &rows(
                    without
                        .iter()
                        .map(|(j, r)| (order(j.op), j.op.to_string(), j.class, r.verdict.clone())),
                ),
            ));
        }
    }

    let misses = all
        .iter()
        .filter(|(j, r)| is_miss(j.class, &r.verdict))
        .count();
    s.push('\n');
    for (title, single, at) in [
        ("single, at", true, true),
        ("compound, at", false, true),
        ("single, no at", true, false),
        ("compound, no at", false, false),
    ] {
        let set: Vec<(&Job, &Outcome)> = all
            .iter()
            .copied()
            .filter(|(j, _)| (j.shape == Shape::Single) == single && j.at == at)
            .collect();
        if !set.is_empty() {
            s.push_str(&count_line(title, &set));
        }
    }
    let _ = writeln!(
        s,
        "{misses} misses of {} mutants; {} refs not verified at the base; {:.0} s",
        all.len(),
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
    full.push_str(
        "\n## Misses (weakening not broken, equivalent broken or error)\n\n\
         Weakenings that came out ambiguous are listed apart from those that came out drifted, \
         verified or error.\n\n",
    );
    type MissKey<'a> = (Class, bool, bool, Shape, usize, usize, String);
    let mut by_op: BTreeMap<MissKey, Vec<(&Job, &Outcome)>> = BTreeMap::new();
    for (j, r) in &all {
        if is_miss(j.class, &r.verdict) {
            by_op
                .entry((
                    j.class,
                    r.verdict == "ambiguous",
                    !j.at,
                    j.shape,
                    order(j.op),
                    drift_order(j.drift),
                    j.ops(),
                ))
                .or_default()
                .push((j, r));
        }
    }
    for ((class, ambiguous, no_at, shape, _, _, ops), list) in &by_op {
        let _ = writeln!(
            full,
            "### {} {ops} ({}, {}){}: {} misses\n",
            class.name(),
            shape.name(),
            at_name(!no_at),
            if *ambiguous { ", ambiguous" } else { "" },
            list.len()
        );
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
            for l in j.diff.lines().take(24) {
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
