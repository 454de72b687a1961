//! The benchmark: generates the synthetic monorepo, then times `anchorcheck verify` side by
//! side with the parsing floor, `ast-grep scan`, the per-ref shell loop and per-ref
//! `git log -L`, and prints a table of medians, ratios and peak RSS.
#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

mod corpus;
#[path = "../selfcheck/find.rs"]
#[allow(
    dead_code,
    reason = "the self-check's finder; the bench uses what cites"
)]
mod find;
mod gogen;
mod measure;
mod real;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use measure::{Invocation, Measured};

struct Options {
    dir: Option<PathBuf>,
    seed: u64,
    files: usize,
    commits: usize,
    shape: corpus::Shape,
    ks: Vec<usize>,
    runs: usize,
    anchorcheck: PathBuf,
    floor: PathBuf,
    ast_grep: bool,
    /// How many refs of the shell loop and `git log -L` to run before extrapolating.
    shell_sample: usize,
    log_sample: usize,
    /// Real Go repositories to bench instead of the synthetic one (`--real DIR`, repeatable).
    real: Vec<PathBuf>,
    /// How far before HEAD the real-code refs are cited, in days of first-parent history.
    back_days: i64,
}

fn parse_args() -> Result<Options> {
    let exe = std::env::current_exe()?;
    let bin_dir = exe.parent().context("no exe dir")?.to_path_buf();
    let mut o = Options {
        dir: None,
        seed: 7,
        files: 10_000,
        commits: 4_000,
        shape: corpus::Shape::MONOREPO,
        ks: vec![100, 1_000, 10_000],
        runs: 3,
        anchorcheck: bin_dir.join("anchorcheck"),
        floor: bin_dir.join("bench-floor"),
        ast_grep: true,
        shell_sample: 1_000,
        log_sample: 10,
        real: Vec::new(),
        back_days: 365,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().context(format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => o.dir = Some(PathBuf::from(value()?)),
            "--seed" => o.seed = value()?.parse()?,
            "--files" => o.files = value()?.parse()?,
            "--commits" => o.commits = value()?.parse()?,
            "--dense" => o.shape = corpus::Shape::DENSE,
            "--k" => {
                o.ks = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--runs" => o.runs = value()?.parse()?,
            "--anchorcheck" => o.anchorcheck = PathBuf::from(value()?),
            "--shell-sample" => o.shell_sample = value()?.parse()?,
            "--log-sample" => o.log_sample = value()?.parse()?,
            "--no-ast-grep" => o.ast_grep = false,
            "--real" => o.real.push(PathBuf::from(value()?)),
            "--back-days" => o.back_days = value()?.parse()?,
            other => bail!("unknown flag {other} (see bench/README.md)"),
        }
    }
    let max_k = o.ks.iter().copied().max().unwrap_or(0);
    if o.real.is_empty() && max_k > o.files {
        bail!("K = {max_k} needs at least that many files (--files)");
    }
    Ok(o)
}

/// Writes what `ast-grep scan` runs on under `kdir`: the cited files of `tree` in `checkout/`,
/// the rules in `rules/` and the `sgconfig.yml` naming them.
fn export_for_ast_grep(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    paths: &[&str],
    kdir: &Path,
) -> Result<()> {
    let checkout = kdir.join("checkout");
    for p in paths {
        let blob = repo.find_blob(tree.get_path(Path::new(p))?.id())?;
        let out = checkout.join(p);
        std::fs::create_dir_all(out.parent().context("path has a parent")?)?;
        std::fs::write(out, blob.content())?;
    }
    let rules = kdir.join("rules");
    std::fs::create_dir_all(&rules)?;
    for (name, text) in AST_GREP_RULES {
        std::fs::write(rules.join(name), text)?;
    }
    std::fs::write(kdir.join("sgconfig.yml"), "ruleDirs:\n  - rules\n")?;
    Ok(())
}

/// The ast-grep binary to measure, installed under `dir`; `None` (and a note saying why) when
/// `--no-ast-grep` was given or it could not be installed.
fn ast_grep(o: &Options, dir: &Path) -> Option<PathBuf> {
    if !o.ast_grep {
        println!("note: ast-grep skipped (--no-ast-grep)");
        return None;
    }
    install_ast_grep(&dir.join("ast-grep"))
        .inspect_err(|e| println!("note: ast-grep skipped: {e:#}"))
        .ok()
}

/// Installs `@ast-grep/cli` from npm into `dir`; `Err` says why it could not.
fn install_ast_grep(dir: &Path) -> Result<PathBuf> {
    let bin = dir.join("node_modules/.bin/ast-grep");
    if bin.exists() {
        return Ok(bin);
    }
    std::fs::create_dir_all(dir)?;
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(dir)
        .arg("@ast-grep/cli")
        .status()
        .context("npm not found")?;
    if !status.success() || !bin.exists() {
        bail!("npm install @ast-grep/cli failed");
    }
    Ok(bin)
}

/// ast-grep rules equivalent to the expectations: route registrations, if-guards that
/// terminate, TLS configs, calls.
pub(crate) const AST_GREP_RULES: &[(&str, &str)] = &[
    (
        "routes.yml",
        "id: route-registration\nlanguage: go\nseverity: info\nmessage: route\nrule:\n  kind: call_expression\n  has:\n    field: function\n    kind: selector_expression\n    has:\n      field: field\n      regex: ^(Handle|HandleFunc|Get|Post|Put|Delete|GET|POST|PUT|DELETE|Route|Group|Methods|Subrouter)$\n",
    ),
    (
        "guards.yml",
        "id: fail-closed-guard\nlanguage: go\nseverity: info\nmessage: guard\nrule:\n  kind: if_statement\n  has:\n    field: consequence\n    has:\n      stopBy: end\n      any:\n        - kind: return_statement\n        - pattern: panic($$$)\n        - pattern: log.Fatalf($$$)\n",
    ),
    (
        "tls.yml",
        "id: tls-config\nlanguage: go\nseverity: info\nmessage: tls\nrule:\n  kind: composite_literal\n  regex: ^tls\\.Config\n",
    ),
    (
        "calls.yml",
        "id: calls\nlanguage: go\nseverity: info\nmessage: call\nrule:\n  any:\n    - pattern: hmac.Equal($A, $B)\n    - pattern: log.Printf($$$)\n",
    ),
];

/// Writes the K-specific inputs: anchors files, the cited paths, a checkout of the cited files
/// for ast-grep, and the shell loop over a sample of the refs.
fn prepare_k(dir: &Path, c: &corpus::Corpus, k: usize, shell_sample: usize) -> Result<PathBuf> {
    let kdir = dir.join(format!("k{k}"));
    std::fs::create_dir_all(&kdir)?;
    std::fs::write(
        kdir.join("anchors.yaml"),
        corpus::anchors_yaml(c, k, false).replace("repo: repo", "repo: ../repo"),
    )?;
    std::fs::write(
        kdir.join("relocate.yaml"),
        corpus::anchors_yaml(c, k, true).replace("repo: repo", "repo: ../repo"),
    )?;
    let refs = &c.refs[..k];
    let paths: Vec<&str> = refs.iter().map(|r| r.head_path.as_str()).collect();
    std::fs::write(kdir.join("paths.txt"), paths.join("\n") + "\n")?;
    let repo = git2::Repository::open(&c.repo)?;
    export_for_ast_grep(&repo, &repo.head()?.peel_to_tree()?, &paths, &kdir)?;
    let mut script = String::from("#!/bin/bash\n# The per-ref loop teams write.\nfail=0\n");
    for r in refs.iter().take(shell_sample) {
        let (a, b) = r.head_lines;
        writeln!(
            script,
            "git -C ../repo show HEAD:{} | sed -n '{a},{b}p' | grep -q '{}' || fail=$((fail+1))",
            r.head_path, r.grep
        )?;
    }
    script.push_str("echo \"$fail failed\"\n");
    std::fs::write(kdir.join("shell-loop.sh"), script)?;
    Ok(kdir)
}

/// Verdict counts of an anchorcheck JSON report.
fn verdicts(json: &[u8]) -> Result<BTreeMap<String, usize>> {
    let report: serde_json::Value = serde_json::from_slice(json)?;
    let mut counts = BTreeMap::new();
    for claim in report["claims"].as_array().context("claims")? {
        for r in claim["refs"].as_array().context("refs")? {
            let v = r["verdict"].as_str().unwrap_or("?").to_string();
            *counts.entry(v).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// How a relocation report agrees with where the generator put each cited construct: at its
/// place (path and lines), at the right path with other lines, or broken where the construct
/// was weakened; every other ref is counted as wrong.
fn agreement(json: &[u8], refs: &[corpus::CitedRef]) -> Result<String> {
    let report: serde_json::Value = serde_json::from_slice(json)?;
    let (mut exact, mut path_only, mut broken, mut wrong) = (0, 0, 0, 0);
    let claims = report["claims"].as_array().context("claims")?;
    for (claim, r) in claims.iter().zip(refs) {
        let got = &claim["refs"][0];
        let place = match got["verdict"].as_str() {
            Some("verified") => Some((got["path"].clone(), got["lines"].clone())),
            Some("drifted") => Some((
                got["relocated"]["path"].clone(),
                got["relocated"]["lines"].clone(),
            )),
            Some("broken") if r.weakened => {
                broken += 1;
                None
            }
            _ => {
                wrong += 1;
                None
            }
        };
        let Some((path, lines)) = place else { continue };
        let (a, b) = r.head_lines;
        if r.weakened || path != r.head_path.as_str() {
            wrong += 1;
        } else if lines == format!("{a}-{b}").as_str() {
            exact += 1;
        } else {
            path_only += 1;
        }
    }
    Ok(format!(
        "{exact} at the generator's place, {path_only} in the right file with other lines, {broken} broken where it weakened the construct, {wrong} otherwise"
    ))
}

struct Row {
    k: String,
    tool: String,
    m: Measured,
    /// Seconds per run extrapolated to all K refs, when only a sample ran.
    note: String,
}

fn main() -> Result<()> {
    let o = parse_args()?;
    for bin in [&o.anchorcheck, &o.floor] {
        if !bin.exists() {
            bail!(
                "{} is missing: build with `cargo build --release --workspace`",
                bin.display()
            );
        }
    }
    let dir = match &o.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("anchorcheck-bench-{}", std::process::id())),
    };
    if dir.join("repo").exists() {
        bail!("{} already holds a repository", dir.display());
    }
    std::fs::create_dir_all(&dir)?;
    if !o.real.is_empty() {
        return real_bench(&o, &dir);
    }
    let max_k = o.ks.iter().copied().max().unwrap_or(0);
    let started = Instant::now();
    let c = corpus::generate(&dir, o.seed, o.files, o.commits, 1_000.min(max_k), o.shape)?;
    println!(
        "generated {} files ({:.1} MB at HEAD), {} commits ({} edit cited files; {} renames, {} copy-then-delete moves, {} constructs weakened) in {:.1}s at {}",
        o.files,
        c.bytes_at_head as f64 / 1e6,
        c.commits,
        c.hot_commits,
        c.renames,
        c.moves,
        c.refs.iter().filter(|r| r.weakened).count(),
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    // A clone's objects are packed; the generator wrote loose ones.
    let packing = Instant::now();
    let status = Command::new("git")
        .args(["-C"])
        .arg(&c.repo)
        .args(["repack", "-a", "-d", "-q"])
        .status()
        .context("git not found")?;
    if !status.success() {
        bail!("git repack failed");
    }
    println!("packed in {:.1}s", packing.elapsed().as_secs_f64());
    let ast_grep = ast_grep(&o, &dir);
    let ac = o.anchorcheck.to_string_lossy().into_owned();
    let has_cache = Command::new(&ac)
        .args(["verify", "--help"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("--cache"))
        .unwrap_or(false);
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for &k in &o.ks {
        let kdir = prepare_k(&dir, &c, k, o.shell_sample)?;
        let ks = k.to_string();
        let verify = Invocation::new(
            ac.clone(),
            &["verify", "--anchors", "anchors.yaml", "--format", "json"],
        )
        .ok_codes(&[0, 1]);
        let report = verify.output(&kdir)?;
        notes.push(format!("K={k} verdicts at HEAD: {:?}", verdicts(&report)?));
        let m = verify.measure(&kdir, o.runs)?;
        rows.push(Row {
            k: ks.clone(),
            tool: "anchorcheck verify".into(),
            m,
            note: String::new(),
        });
        if has_cache {
            let cache = kdir.join("cache");
            let _ = std::fs::remove_dir_all(&cache);
            let cached = Invocation::new(
                ac.clone(),
                &[
                    "verify",
                    "--anchors",
                    "anchors.yaml",
                    "--format",
                    "json",
                    "--cache",
                    "cache",
                ],
            )
            .ok_codes(&[0, 1]);
            let cold = cached.output(&kdir)?;
            if cold != report {
                bail!("K={k}: the report with --cache differs from the one without");
            }
            let warm = cached.measure(&kdir, o.runs)?;
            if cached.output(&kdir)? != report {
                bail!("K={k}: the warm-cache report differs from the uncached one");
            }
            rows.push(Row {
                k: ks.clone(),
                tool: "anchorcheck verify --cache (warm)".into(),
                m: warm,
                note: "same report".into(),
            });
        }
        let floor = Invocation::new(
            o.floor.to_string_lossy().into_owned(),
            &["../repo", "HEAD", "paths.txt"],
        );
        rows.push(Row {
            k: ks.clone(),
            tool: "floor (read + whole-file parse)".into(),
            m: floor.measure(&kdir, o.runs)?,
            note: String::new(),
        });
        if let Some(bin) = &ast_grep {
            let scan = Invocation::new(
                bin.to_string_lossy().into_owned(),
                &["scan", "--json=compact", "checkout"],
            );
            rows.push(Row {
                k: ks.clone(),
                tool: "ast-grep scan".into(),
                m: scan.measure(&kdir, o.runs)?,
                note: String::new(),
            });
        }
        let sample = k.min(o.shell_sample);
        let shell = Invocation::new("bash", &["shell-loop.sh"]);
        let mut m = shell.measure(&kdir, o.runs)?;
        let note = if sample < k {
            m.seconds *= k as f64 / sample as f64;
            format!("{sample} refs run, extrapolated")
        } else {
            String::new()
        };
        rows.push(Row {
            k: ks.clone(),
            tool: "shell loop (git show | sed | grep)".into(),
            m,
            note,
        });
    }

    // Relocation: refs cited at the first commit, with `at` set to it.
    let rk = *o
        .ks
        .iter()
        .filter(|&&k| k <= 1_000)
        .max()
        .unwrap_or(&o.ks[0]);
    let kdir = dir.join(format!("k{rk}"));
    let relocate = Invocation::new(
        ac.clone(),
        &["verify", "--anchors", "relocate.yaml", "--format", "json"],
    )
    .ok_codes(&[0, 1]);
    let reloc_report = relocate.output(&kdir)?;
    notes.push(format!(
        "K={rk} relocation verdicts (at = first commit): {:?}",
        verdicts(&reloc_report)?
    ));
    notes.push(format!(
        "K={rk} relocation against the generator: {}",
        agreement(&reloc_report, &c.refs[..rk])?
    ));
    rows.push(Row {
        k: rk.to_string(),
        tool: format!("anchorcheck verify, at {} commits back", c.commits),
        m: relocate.measure(&kdir, o.runs)?,
        note: String::new(),
    });
    let sample = rk.min(o.log_sample);
    let mut per_ref = Vec::new();
    for r in c.refs.iter().take(sample) {
        let (a, b) = r.head_lines;
        let range = format!("{a},{b}:{}", r.head_path);
        let first = format!("{}..HEAD", c.first);
        let log = Invocation::new(
            "git",
            &["-C", "../repo", "log", "--format=%h", "-L", &range, &first],
        );
        per_ref.push(log.measure(&kdir, 1)?);
    }
    let mut secs: Vec<f64> = per_ref.iter().map(|m| m.seconds).collect();
    secs.sort_by(f64::total_cmp);
    let mut rss: Vec<f64> = per_ref.iter().map(|m| m.rss_mb).collect();
    rss.sort_by(f64::total_cmp);
    rows.push(Row {
        k: rk.to_string(),
        tool: "git log -L per ref".into(),
        m: Measured {
            seconds: secs[secs.len() / 2] * rk as f64,
            rss_mb: rss[rss.len() / 2],
        },
        note: format!("{sample} refs run, median x {rk}"),
    });
    let seconds = |wanted: &dyn Fn(&str) -> bool| {
        rows.iter()
            .find(|r| r.k == rk.to_string() && wanted(&r.tool))
            .map(|r| r.m.seconds)
    };
    if let (Some(history), Some(log), Some(head)) = (
        seconds(&|t| t.starts_with("anchorcheck verify, at")),
        seconds(&|t| t.starts_with("git log -L")),
        seconds(&|t| t == "anchorcheck verify"),
    ) {
        notes.push(format!(
            "K={rk} relocation: {:.1}x faster than per-ref git log -L, {:.2}x the time of verifying the same refs at HEAD",
            log / history,
            history / head
        ));
    }

    // Verdicts must not depend on the number of threads.
    let base = relocate
        .clone()
        .env("RAYON_NUM_THREADS", "1")
        .output(&kdir)?;
    let plain = verify_k(&ac, &dir, rk, "1")?;
    let mut same = true;
    for threads in ["2", "4"] {
        same &= relocate
            .clone()
            .env("RAYON_NUM_THREADS", threads)
            .output(&kdir)?
            == base;
        same &= verify_k(&ac, &dir, rk, threads)? == plain;
    }
    notes.push(format!(
        "K={rk}: reports at 1, 2 and 4 threads are {}",
        if same { "identical" } else { "DIFFERENT" }
    ));

    print_table(&rows, &o, &notes);
    Ok(())
}

/// `--real`: the real-code bench of each repository, one table.
fn real_bench(o: &Options, dir: &Path) -> Result<()> {
    let ast_grep = ast_grep(o, dir);
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for repo in &o.real {
        let name = find::repo_name(repo);
        let (r, n) = real::run(o, repo, &dir.join(&name), ast_grep.as_deref())?;
        rows.extend(r);
        notes.extend(n);
    }
    print_table(&rows, o, &notes);
    Ok(())
}

fn verify_k(ac: &str, dir: &Path, k: usize, threads: &str) -> Result<Vec<u8>> {
    Invocation::new(
        ac,
        &["verify", "--anchors", "anchors.yaml", "--format", "json"],
    )
    .ok_codes(&[0, 1])
    .env("RAYON_NUM_THREADS", threads)
    .output(&dir.join(format!("k{k}")))
}

fn print_table(rows: &[Row], o: &Options, notes: &[String]) {
    println!();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    if o.real.is_empty() {
        println!(
            "anchorcheck bench: seed {}, {} files, {} commits, medians of {} runs, {cores} cores",
            o.seed, o.files, o.commits, o.runs,
        );
    } else {
        println!(
            "anchorcheck real-code bench: refs cited {} days before HEAD, medians of {} alternating runs, {cores} cores",
            o.back_days, o.runs,
        );
    }
    println!(
        "{:>14}  {:<38} {:>10} {:>12} {:>10}  note",
        "K", "tool", "seconds", "x anchorchk", "peak MB"
    );
    let mut reference: Option<(String, f64)> = None;
    for r in rows {
        let is_reference =
            r.tool == "anchorcheck verify" || r.tool.starts_with("anchorcheck verify, at");
        if is_reference {
            reference = Some((r.k.clone(), r.m.seconds));
        }
        let ratio = match &reference {
            Some((k, s)) if *k == r.k && *s > 0.0 => format!("{:.2}", r.m.seconds / s),
            _ => "-".into(),
        };
        println!(
            "{:>14}  {:<38} {:>10.3} {:>12} {:>10.1}  {}",
            r.k, r.tool, r.m.seconds, ratio, r.m.rss_mb, r.note
        );
    }
    println!(
        "('x anchorchk' = the tool's time / anchorcheck's time in the same block: > 1 means anchorcheck is faster)"
    );
    for n in notes {
        println!("{n}");
    }
}
