//! The tracking bench (issue 24): where did cited lines go? Reads hand-checked answers
//! (`bench/tracking/answers.tsv`: repository, old commit, path, cited range, later commit, and
//! the range a person found the same code at after reading both revisions, or `gone`), cites
//! each region with the expectations `anchorcheck explain` suggests for it at the old commit,
//! verifies at the later commit with `at` and without it, and maps the same range with a `git
//! diff` line shifter. Prints exact / overlapping / wrong per category, kind and tool, writes
//! every miss under `--out`. See bench/README.md.
#![allow(clippy::print_stdout, reason = "a bench prints its table")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: bench-tracking --repo OWNER/NAME=DIR [--repo ...]... [--answers FILE] \
[--anchorcheck PATH] [--out DIR]";

/// A place: a path and 1-based inclusive lines, or gone.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Place {
    At {
        path: String,
        start: u32,
        end: u32,
    },
    Gone,
    /// The tool gave no single place (ambiguous, error): always wrong.
    None(String),
}

impl Place {
    fn parse(text: &str) -> Result<Place> {
        if text == "gone" {
            return Ok(Place::Gone);
        }
        let (path, lines) = text
            .rsplit_once(':')
            .with_context(|| format!("`{text}`: write PATH:LINES or gone"))?;
        let (start, end) = lines_of(lines)?;
        Ok(Place::At {
            path: path.to_string(),
            start,
            end,
        })
    }

    fn show(&self) -> String {
        match self {
            Place::At { path, start, end } if start == end => format!("{path}:{start}"),
            Place::At { path, start, end } => format!("{path}:{start}-{end}"),
            Place::Gone => "gone".to_string(),
            Place::None(why) => format!("({why})"),
        }
    }
}

fn lines_of(text: &str) -> Result<(u32, u32)> {
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    Ok((a.trim().parse()?, b.trim().parse()?))
}

/// One hand-checked region.
struct Item {
    line: usize,
    repo: String,
    category: String,
    kind: String,
    old: String,
    path: String,
    lines: (u32, u32),
    new: String,
    answer: Place,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Score {
    Exact,
    Overlapping,
    Wrong,
}

fn score(got: &Place, want: &Place) -> Score {
    match (got, want) {
        (Place::Gone, Place::Gone) => Score::Exact,
        (
            Place::At { path, start, end },
            Place::At {
                path: p,
                start: s,
                end: e,
            },
        ) if path == p => {
            if (start, end) == (s, e) {
                Score::Exact
            } else if start <= e && s <= end {
                Score::Overlapping
            } else {
                Score::Wrong
            }
        }
        _ => Score::Wrong,
    }
}

fn read_answers(file: &Path) -> Result<Vec<Item>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut items = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 8 {
            bail!(
                "{}:{}: want 8 tab-separated fields (repo category kind old path lines new answer [note]), got {}",
                file.display(),
                i + 1,
                f.len()
            );
        }
        items.push(Item {
            line: i + 1,
            repo: f[0].to_string(),
            category: f[1].to_string(),
            kind: f[2].to_string(),
            old: f[3].to_string(),
            path: f[4].to_string(),
            lines: lines_of(f[5]).with_context(|| format!("{}:{}", file.display(), i + 1))?,
            new: f[6].to_string(),
            answer: Place::parse(f[7]).with_context(|| format!("{}:{}", file.display(), i + 1))?,
        });
    }
    Ok(items)
}

/// The expectations `explain` suggests for the region at its old commit; a `text` of its
/// longest line when it suggests none.
fn expectations(anchorcheck: &Path, dir: &Path, item: &Item) -> Result<Vec<String>> {
    let out = Command::new(anchorcheck)
        .arg("explain")
        .arg(format!("{}:{}-{}", item.path, item.lines.0, item.lines.1))
        .arg("--repo")
        .arg(dir)
        .args(["--rev", &item.old, "--format", "json"])
        .output()?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "explain for line {}: {}",
            item.line,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let suggested: Vec<String> = json["suggested"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !suggested.is_empty() {
        return Ok(suggested);
    }
    let repo = git2::Repository::open(dir)?;
    let commit = repo.revparse_single(&item.old)?.peel_to_commit()?;
    let blob = commit
        .tree()?
        .get_path(Path::new(&item.path))?
        .to_object(&repo)?
        .peel_to_blob()?;
    let text = String::from_utf8_lossy(blob.content()).into_owned();
    let longest = text
        .lines()
        .skip(item.lines.0 as usize - 1)
        .take((item.lines.1 - item.lines.0 + 1) as usize)
        .map(|l| l.split("//").next().unwrap_or(l).trim())
        .max_by_key(|l| l.len())
        .unwrap_or("")
        .to_string();
    Ok(vec![format!(
        "text: {}",
        serde_json::Value::String(longest)
    )])
}

/// An item to cite: its index, itself, and the expectations it is cited with.
type Cited<'a> = (usize, &'a Item, Vec<String>);

/// What anchorcheck said for each item of one group (same repository and later commit).
fn run_anchorcheck(
    anchorcheck: &Path,
    dir: &Path,
    new: &str,
    items: &[Cited<'_>],
    with_at: bool,
    out: &Path,
) -> Result<BTreeMap<usize, Place>> {
    let mut yaml = format!(
        "version: 1\nrepo: {}\nclaims:\n",
        serde_json::Value::String(dir.display().to_string())
    );
    for (i, item, expect) in items {
        let _ = write!(
            yaml,
            "  - id: t{i}\n    status: implemented\n    refs:\n      - path: {}\n        lines: \"{}-{}\"\n",
            serde_json::Value::String(item.path.clone()),
            item.lines.0,
            item.lines.1
        );
        if with_at {
            let _ = writeln!(yaml, "        at: {}", item.old);
        }
        yaml.push_str("        expect:\n");
        for e in expect {
            let _ = writeln!(yaml, "          - {e}");
        }
    }
    let file = out.join(format!(
        "{}-{}-{}.yaml",
        items[0].1.repo.replace('/', "-"),
        &new[..new.len().min(12)],
        if with_at { "at" } else { "no-at" }
    ));
    std::fs::write(&file, yaml)?;
    let output = Command::new(anchorcheck)
        .arg("verify")
        .arg("--anchors")
        .arg(&file)
        .args(["--rev", new, "--format", "json"])
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "verify {}: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let repo = git2::Repository::open(dir)?;
    let new_tree = repo
        .revparse_single(new)
        .and_then(|o| o.peel_to_tree())
        .ok();
    let mut places = BTreeMap::new();
    for claim in report["claims"].as_array().into_iter().flatten() {
        let Some(i) = claim["id"]
            .as_str()
            .and_then(|id| id.strip_prefix('t'))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let r = &claim["refs"][0];
        let at = |path: &serde_json::Value, lines: &serde_json::Value| -> Place {
            match (path.as_str(), lines.as_str().map(lines_of)) {
                (Some(path), Some(Ok((start, end)))) => Place::At {
                    path: path.to_string(),
                    start,
                    end,
                },
                _ => Place::None("unreadable report".into()),
            }
        };
        let place = match r["verdict"].as_str().unwrap_or("") {
            "verified" => at(&r["path"], &r["lines"]),
            "drifted" => at(&r["relocated"]["path"], &r["relocated"]["lines"]),
            // Broken where history mapped the lines (`checked`), or with every line gone
            // (the file deleted at the later commit, or every cited line), else at its cited
            // place (a report names no `checked` place when it is the cited one).
            "broken" if r["checked"].is_object() => {
                at(&r["checked"]["path"], &r["checked"]["lines"])
            }
            "broken" => {
                let lines_deleted = r["notes"].as_array().into_iter().flatten().any(|n| {
                    n.as_str()
                        .is_some_and(|n| n.starts_with("every cited line was deleted"))
                });
                let file_deleted = r["path"].as_str().is_none_or(|path| {
                    new_tree
                        .as_ref()
                        .is_none_or(|tree| tree.get_path(Path::new(path)).is_err())
                });
                if lines_deleted || file_deleted {
                    Place::Gone
                } else {
                    at(&r["path"], &r["lines"])
                }
            }
            other => Place::None(other.to_string()),
        };
        places.insert(i, place);
    }
    Ok(places)
}

/// Where a line shifter reading `git diff -M` from the old commit to the new one puts the range:
/// lines above a hunk shift by its size, a line inside a hunk keeps its offset in it (clamped
/// to the new lines), a range whose lines were all deleted (or its file, with no rename) is
/// gone.
fn line_shifter(repo: &git2::Repository, item: &Item) -> Result<Place> {
    let tree = |rev: &str| -> Result<git2::Tree<'_>> {
        Ok(repo.revparse_single(rev)?.peel_to_commit()?.tree()?)
    };
    let (old, new) = (tree(&item.old)?, tree(&item.new)?);
    let mut options = git2::DiffOptions::new();
    options.context_lines(0);
    let mut diff = repo.diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options))?;
    let mut find = git2::DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find))?;
    let (a, b) = item.lines;
    for (index, delta) in diff.deltas().enumerate() {
        if delta.old_file().path() != Some(Path::new(&item.path)) {
            continue;
        }
        if delta.status() == git2::Delta::Deleted {
            return Ok(Place::Gone);
        }
        let path = delta
            .new_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(patch) = git2::Patch::from_diff(&diff, index)? else {
            break;
        };
        let mut hunks = Vec::new();
        for h in 0..patch.num_hunks() {
            let (hunk, _) = patch.hunk(h)?;
            hunks.push((
                hunk.old_start(),
                hunk.old_lines(),
                hunk.new_start(),
                hunk.new_lines(),
            ));
        }
        // Whether each cited line survives, and where each end goes.
        let map = |line: u32| -> (u32, bool) {
            let mut delta: i64 = 0;
            for &(os, ol, ns, nl) in &hunks {
                if ol == 0 {
                    if os < line {
                        delta += i64::from(nl);
                        continue;
                    }
                    break;
                }
                if os + ol <= line {
                    delta += i64::from(nl) - i64::from(ol);
                    continue;
                }
                if os <= line {
                    let offset = line - os;
                    if nl == 0 {
                        return (ns.max(1), false);
                    }
                    return (ns + offset.min(nl - 1), true);
                }
                break;
            }
            (u32::try_from(i64::from(line) + delta).unwrap_or(1), true)
        };
        let survives = (a..=b).any(|l| map(l).1);
        if !survives {
            return Ok(Place::Gone);
        }
        let (start, end) = (map(a).0, map(b).0);
        return Ok(Place::At {
            path,
            start: start.min(end),
            end: end.max(start),
        });
    }
    // Unchanged.
    Ok(Place::At {
        path: item.path.clone(),
        start: a,
        end: b,
    })
}

const TOOLS: [&str; 3] = [
    "anchorcheck (at)",
    "anchorcheck (no at)",
    "git diff shifter",
];

fn main() -> Result<()> {
    let exe = std::env::current_exe()?;
    let mut anchorcheck = exe.parent().context("no exe dir")?.join("anchorcheck");
    let mut answers = PathBuf::from("bench/tracking/answers.tsv");
    let mut out = std::env::temp_dir().join("anchorcheck-tracking");
    let mut repos: BTreeMap<String, PathBuf> = BTreeMap::new();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().context(format!("{flag} needs a value"));
        match flag.as_str() {
            "--repo" => {
                let v = value()?;
                let (name, dir) = v
                    .split_once('=')
                    .with_context(|| format!("--repo {v}: write OWNER/NAME=DIR\n{USAGE}"))?;
                repos.insert(name.to_string(), PathBuf::from(dir));
            }
            "--answers" => answers = PathBuf::from(value()?),
            "--anchorcheck" => anchorcheck = PathBuf::from(value()?),
            "--out" => out = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    std::fs::create_dir_all(&out)?;
    let items = read_answers(&answers)?;
    let items: Vec<&Item> = items
        .iter()
        .filter(|i| repos.contains_key(&i.repo))
        .collect();
    if items.is_empty() {
        bail!("no answers for the repositories given\n{USAGE}");
    }
    // results[item] = [at, no at, shifter]
    let mut results: Vec<[Place; 3]> = Vec::new();
    let mut groups: BTreeMap<(&str, &str), Vec<Cited<'_>>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let dir = &repos[&item.repo];
        let expect = expectations(&anchorcheck, dir, item)?;
        groups
            .entry((item.repo.as_str(), item.new.as_str()))
            .or_default()
            .push((i, item, expect));
        let repo = git2::Repository::open(dir)?;
        let shifted = line_shifter(&repo, item)?;
        results.push([
            Place::None("not run".into()),
            Place::None("not run".into()),
            shifted,
        ]);
    }
    for ((repo, new), members) in &groups {
        let dir = &repos[*repo];
        for (tool, with_at) in [(0, true), (1, false)] {
            let places = run_anchorcheck(&anchorcheck, dir, new, members, with_at, &out)?;
            for (i, _, _) in members {
                if let Some(place) = places.get(i) {
                    results[*i][tool] = place.clone();
                }
            }
        }
    }
    // (category or kind) -> tool -> [exact, overlapping, wrong]
    let mut table: BTreeMap<String, [[usize; 3]; 3]> = BTreeMap::new();
    let mut misses = String::new();
    for (item, got) in items.iter().zip(&results) {
        for key in [
            format!("category {}", item.category),
            format!("kind {}", item.kind),
            "all".to_string(),
        ] {
            let row = table.entry(key).or_default();
            for (tool, place) in got.iter().enumerate() {
                row[tool][score(place, &item.answer) as usize] += 1;
            }
        }
        for (tool, place) in got.iter().enumerate() {
            let s = score(place, &item.answer);
            if s != Score::Exact {
                let _ = writeln!(
                    misses,
                    "{}\t{}\tanswers.tsv:{}\t{} {}:{}-{} {}..{}\twant {}\tgot {} ({s:?})",
                    TOOLS[tool],
                    item.repo,
                    item.line,
                    item.category,
                    item.path,
                    item.lines.0,
                    item.lines.1,
                    &item.old[..8],
                    &item.new[..8],
                    item.answer.show(),
                    place.show()
                );
            }
        }
    }
    std::fs::write(out.join("misses.txt"), &misses)?;
    println!(
        "{:<22} {:>5}  {:^20}  {:^20}  {:^20}",
        "", "items", TOOLS[0], TOOLS[1], TOOLS[2]
    );
    println!(
        "{:<22} {:>5}  {:^20}  {:^20}  {:^20}",
        "", "", "exact/overlap/wrong", "exact/overlap/wrong", "exact/overlap/wrong"
    );
    for (key, row) in &table {
        let n: usize = row[0].iter().sum();
        let cell = |c: &[usize; 3]| format!("{:>4} {:>4} {:>4}", c[0], c[1], c[2]);
        println!(
            "{key:<22} {n:>5}  {:^20}  {:^20}  {:^20}",
            cell(&row[0]),
            cell(&row[1]),
            cell(&row[2])
        );
    }
    let all = &table["all"];
    let n: usize = all[0].iter().sum();
    let pct = |c: &[usize; 3]| 100.0 * c[0] as f64 / n as f64;
    println!(
        "\nexact: {:.1}% with at, {:.1}% without, {:.1}% for the line shifter ({n} items); misses in {}",
        pct(&all[0]),
        pct(&all[1]),
        pct(&all[2]),
        out.join("misses.txt").display()
    );
    Ok(())
}
