//! The hostile-input benchmark (issue 17): builds each input a pull request could bring to make
//! anchorcheck work without bound, runs `anchorcheck verify` on it under `/usr/bin/time -v`, and
//! prints wall time, peak RSS, the exit code and what the report said. The target is every
//! input under 10 s and 512 MB on 2 cores.
#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

#[path = "../run/measure.rs"]
#[allow(dead_code, reason = "shared with bench-run, which uses the rest of it")]
mod measure;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::{Repository, Signature, Time};
use measure::Invocation;

/// The files commit `k` writes.
type Edit = fn(usize) -> Vec<(String, Vec<u8>)>;

/// One hostile input: files to commit, files to leave in the working tree, and the arguments.
struct Input {
    name: &'static str,
    /// What it was before issue 17, from the issue.
    before: &'static str,
    committed: Vec<(String, Vec<u8>)>,
    /// Set up after the commit (links into /dev and the like).
    after_commit: Option<fn(&Path) -> Result<()>>,
    /// Commits made after the first, each from its number (1, 2, ...): the files it writes.
    later: Option<(usize, Edit)>,
    /// The subcommand and its format (`verify --format json` unless given).
    command: Option<&'static [&'static str]>,
    args: Vec<&'static str>,
}

fn slice_literal(elements: usize) -> Vec<u8> {
    let items: Vec<String> = (0..elements).map(|i| format!("x{i}")).collect();
    format!("package q\n\nvar s = []int{{{}}}\n", items.join(", ")).into_bytes()
}

fn one_ref(path: &str, lines: &str, expect: &str) -> Vec<u8> {
    format!(
        "version: 1\nclaims:\n  - id: hostile\n    status: required\n    refs:\n      - path: {path}\n        lines: {lines}\n        expect:\n{expect}"
    )
    .into_bytes()
}

fn inputs() -> Vec<Input> {
    let mut out = Vec::new();
    out.push(Input {
        name: "query: 4 wildcard captures, 50-element slice",
        before: "over 120 s",
        committed: vec![
            ("q.go".into(), slice_literal(50)),
            (
                "anchors.yaml".into(),
                one_ref(
                    "q.go",
                    "1-3",
                    "          - query: \"(_ (_) @a (_) @b (_) @c (_) @d)\"\n",
                ),
            ),
        ],
        after_commit: None,
        later: None,
        command: None,
        args: vec![],
    });
    out.push(Input {
        name: "query: 4 wildcards never matching, 300 elements",
        before: "97 s at 30 elements",
        committed: vec![
            ("q.go".into(), slice_literal(300)),
            (
                "anchors.yaml".into(),
                one_ref(
                    "q.go",
                    "1-3",
                    "          - query: \"(_ (_) @a (_) @b (_) @c (_) @d (func_literal))\"\n",
                ),
            ),
        ],
        after_commit: None,
        later: None,
        command: None,
        args: vec![],
    });
    let mut regexes = String::new();
    for i in 0..100_000 {
        let _ = writeln!(regexes, "          - regex: '(?i)\\w+k{i}'");
    }
    out.push(Input {
        name: "100,000 distinct (?i) regexes",
        before: "79 s, 10 GB",
        committed: vec![
            (
                "a.go".into(),
                b"package a\n\nfunc f() {\n\tx := 1\n\t_ = x\n}\n".to_vec(),
            ),
            ("anchors.yaml".into(), one_ref("a.go", "3-6", &regexes)),
        ],
        after_commit: None,
        later: None,
        command: None,
        args: vec![],
    });
    let mut functions = String::from("package big\n\n");
    for i in 0..200_000 {
        let _ = write!(functions, "func f{i}() int {{\n\treturn {i}\n}}\n\n");
    }
    out.push(Input {
        name: "identifier search, 200,000 functions (8 MB)",
        before: "758 s",
        committed: vec![
            ("big.go".into(), functions.into_bytes()),
            (
                "anchors.yaml".into(),
                one_ref("big.go", "3-5", "          - identifier: nowhere\n"),
            ),
        ],
        after_commit: None,
        later: None,
        command: None,
        args: vec![],
    });
    let comment = format!("// {}\n", "b".repeat(97));
    let mut big = String::from("package r\n\n");
    while big.len() < 2_200_000 {
        big.push_str(&comment);
    }
    big.push_str("var x = 1\n");
    let lines = big.lines().count();
    out.push(Input {
        name: "(?s)(?:.{0,100}a){10}ZZZ over 2.2 MB",
        before: "28 s per ref",
        committed: vec![
            ("r.go".into(), big.into_bytes()),
            (
                "anchors.yaml".into(),
                one_ref(
                    "r.go",
                    Box::leak(format!("1-{lines}").into_boxed_str()),
                    "          - regex: '(?s)(?:.{0,100}a){10}ZZZ'\n",
                ),
            ),
        ],
        after_commit: None,
        later: None,
        command: None,
        args: vec![],
    });
    out.push(Input {
        name: "WORKTREE: evdev -> /dev, path evdev/zero",
        before: "8.4 GB RSS",
        committed: vec![(
            "anchors.yaml".into(),
            one_ref("evdev/zero", "1", "          - text: x\n"),
        )],
        later: None,
        command: None,
        after_commit: Some(|dir| {
            std::os::unix::fs::symlink("/dev", dir.join("evdev")).context("symlink")
        }),
        args: vec!["--rev", "WORKTREE"],
    });
    out.push(Input {
        name: "docs: [/dev/zero]",
        before: "read without limit",
        committed: vec![
            ("a.go".into(), b"package a\n".to_vec()),
            (
                "anchors.yaml".into(),
                format!(
                    "version: 1\ndocs: [/dev/zero]\n{}",
                    String::from_utf8_lossy(&one_ref("a.go", "1", "          - text: a\n"))
                        .trim_start_matches("version: 1\n")
                )
                .into_bytes(),
            ),
        ],
        after_commit: None,
        later: None,
        command: None,
        args: vec![],
    });
    out.push(Input {
        name: "cache file -> /dev/zero",
        before: "read without limit",
        committed: vec![
            ("a.go".into(), b"package a\n\nvar a = 1\n".to_vec()),
            (
                "anchors.yaml".into(),
                one_ref("a.go", "3", "          - text: a\n"),
            ),
        ],
        later: None,
        command: None,
        after_commit: Some(|dir| {
            let repo = Repository::open(dir)?;
            let blob = repo
                .head()?
                .peel_to_tree()?
                .get_path(Path::new("a.go"))?
                .id();
            std::fs::create_dir_all(dir.join("cache"))?;
            std::os::unix::fs::symlink("/dev/zero", dir.join(format!("cache/{blob}.json")))
                .context("symlink")
        }),
        args: vec!["--cache", "cache"],
    });
    // Issue 23, row 1: relocation search with a `regex` or `text` that no longer holds,
    // over 20,000 functions (1 MB).
    for (name, before, expect) in [
        (
            "relocation, regex, 20,000 functions (1 MB)",
            "344 s",
            "          - regex: 'nowhere[0-9]+'\n",
        ),
        (
            "relocation, text, 20,000 functions (1 MB)",
            "(as regex)",
            "          - text: nowhere\n",
        ),
    ] {
        out.push(Input {
            name,
            before,
            committed: vec![
                ("big.go".into(), guarded_functions(20_000)),
                ("anchors.yaml".into(), one_ref("big.go", "3-8", expect)),
            ],
            after_commit: None,
            later: None,
            command: None,
            args: vec![],
        });
    }
    // Row 2: relocation search with a raw `query` over 3,000 functions, once and four times.
    let wild = "          - query: \"((_ (_)* @a (_)* @b (_)* @c (_)* @d) @x)\"\n";
    for (name, before, queries) in [
        ("relocation, wildcard query, 3,000 functions", "81 s", 1),
        (
            "relocation, 4 wildcard queries, 3,000 functions",
            "282 s",
            4,
        ),
    ] {
        let expect = format!("{}          - identifier: nowhere\n", wild.repeat(queries));
        out.push(Input {
            name,
            before,
            committed: vec![
                ("big.go".into(), guarded_functions(3_000)),
                ("anchors.yaml".into(), one_ref("big.go", "3-8", &expect)),
            ],
            after_commit: None,
            later: None,
            command: None,
            args: vec![],
        });
    }
    // Row 3: a ref without `at` over a 2.6 MB file changed in 200 commits (history walk).
    out.push(Input {
        name: "history, 2.6 MB file in 200 commits",
        before: "69 s, 7.9 GB",
        committed: vec![
            ("gen.go".into(), generated_file(0)),
            (
                "anchors.yaml".into(),
                one_ref("gen.go", "3-5", "          - text: nowhere\n"),
            ),
        ],
        after_commit: None,
        later: Some((199, |k| vec![("gen.go".into(), generated_file(k))])),
        command: None,
        args: vec![],
    });
    // Row 12: 330,000 refs that all hold, as JSON and as the audit page.
    for (name, before, command) in [
        (
            "330,000 refs holding, verify",
            "9 s, 2.1 GB",
            &["verify", "--format", "json"][..],
        ),
        (
            "330,000 refs holding, audit --html",
            "355 MB page",
            &["audit", "--html", "page.html"][..],
        ),
    ] {
        let (files, anchors) = many_refs(330_000);
        let mut committed = files;
        committed.push(("anchors.yaml".into(), anchors));
        out.push(Input {
            name,
            before,
            committed,
            after_commit: None,
            later: None,
            command: Some(command),
            args: vec![],
        });
    }
    out
}

/// A file of `n` functions of six lines each (from line 3), each with a guard.
fn guarded_functions(n: usize) -> Vec<u8> {
    let mut s = String::from("package big\n\n");
    for i in 0..n {
        let _ = write!(
            s,
            "func f{i}(x int) int {{\n\tif x > {i} {{\n\t\treturn x\n\t}}\n\treturn {i}\n}}\n"
        );
    }
    s.into_bytes()
}

/// A 2.6 MB generated file whose last function returns `version`.
fn generated_file(version: usize) -> Vec<u8> {
    let mut s = String::from("package gen\n\n");
    for i in 0..87_000 {
        let _ = write!(s, "func g{i}() int {{\n\treturn {i}\n}}\n\n");
    }
    let _ = writeln!(s, "func version() int {{\n\treturn {version}\n}}");
    s.into_bytes()
}

/// `refs` refs that hold, 100 to a claim, each citing one function of 100 files.
fn many_refs(refs: usize) -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    const FILES: usize = 100;
    let per_file = refs.div_ceil(FILES);
    let mut files = Vec::new();
    for f in 0..FILES {
        let mut s = format!("package p{f}\n\n");
        for i in 0..per_file {
            let _ = write!(s, "func f{i}() int {{\n\treturn {i}\n}}\n\n");
        }
        files.push((format!("p{f}/f.go"), s.into_bytes()));
    }
    let mut yaml = String::from("version: 1\nclaims:\n");
    for r in 0..refs {
        if r % 100 == 0 {
            let _ = write!(yaml, "  - id: c{r}\n    status: required\n    refs:\n");
        }
        let (f, i) = (r % FILES, r / FILES);
        let start = 3 + 4 * i;
        let _ = writeln!(
            yaml,
            "      - {{path: p{f}/f.go, lines: {start}-{}, expect: [{{text: \"return {i}\"}}]}}",
            start + 2
        );
    }
    (files, yaml.into_bytes())
}

/// Commits `files` into a new repository at `dir`.
fn build(dir: &Path, input: &Input) -> Result<()> {
    let repo = Repository::init(dir)?;
    let mut index = repo.index()?;
    for (path, bytes) in &input.committed {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&full, bytes)?;
        index.add_path(Path::new(path))?;
    }
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    let sig = Signature::new("Bench", "bench@example.com", &Time::new(1_790_000_000, 0))?;
    let mut parent =
        repo.find_commit(repo.commit(Some("HEAD"), &sig, &sig, "hostile input", &tree, &[])?)?;
    if let Some((count, edit)) = input.later {
        for k in 1..=count {
            for (path, bytes) in edit(k) {
                std::fs::write(dir.join(&path), bytes)?;
                index.add_path(Path::new(&path))?;
            }
            index.write()?;
            let tree = repo.find_tree(index.write_tree()?)?;
            let id = repo.commit(
                Some("HEAD"),
                &sig,
                &sig,
                &format!("edit {k}"),
                &tree,
                &[&parent],
            )?;
            parent = repo.find_commit(id)?;
        }
    }
    if let Some(after) = input.after_commit {
        after(dir)?;
    }
    Ok(())
}

/// The first ref's verdict and the start of its reason, from the JSON report.
fn outcome(stdout: &[u8]) -> String {
    if stdout.is_empty() {
        return "config error (exit 2)".to_string();
    }
    // Not JSON (`audit`): its last line.
    let Ok(report) = serde_json::from_slice::<serde_json::Value>(stdout) else {
        return String::from_utf8_lossy(stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect();
    };
    let r = &report["claims"][0]["refs"][0];
    let why = r["error"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            r["expectations"]
                .as_array()
                .and_then(|e| e.iter().find(|e| e["ok"] == false))
                .and_then(|e| e["message"].as_str().map(str::to_string))
        })
        .or_else(|| report["docs"][0]["message"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut why: String = why.chars().take(60).collect();
    if why.len() == 60 {
        why.push_str("...");
    }
    format!("{} {why}", r["verdict"].as_str().unwrap_or("?"))
}

fn main() -> Result<()> {
    let exe = std::env::current_exe()?;
    let anchorcheck: PathBuf = exe.parent().context("no exe dir")?.join("anchorcheck");
    let root = tempfile::tempdir()?;
    // `bench-hostile WORDS` runs only the inputs whose name holds WORDS.
    let filter = std::env::args().nth(1);
    println!(
        "anchorcheck hostile inputs: wall time and peak RSS of `anchorcheck verify --format json`"
    );
    println!(
        "{:<48} {:>8} {:>9} {:>5}  {:<22} what the report says",
        "input", "seconds", "peak MB", "exit", "before issue 17"
    );
    let mut worst = (0.0f64, 0.0f64);
    for (i, input) in inputs().iter().enumerate() {
        let dir = root.path().join(format!("input-{i}"));
        build(&dir, input).with_context(|| format!("building {}", input.name))?;
        if filter
            .as_ref()
            .is_some_and(|f| !input.name.contains(f.as_str()))
        {
            continue;
        }
        let mut args = input
            .command
            .unwrap_or(&["verify", "--format", "json"])
            .to_vec();
        args.extend(input.args.iter().copied());
        let invocation =
            Invocation::new(anchorcheck.display().to_string(), &args).ok_codes(&[0, 1, 2]);
        let measured = invocation.measure(&dir, 1)?;
        let (code, stdout) = invocation.status_and_output(&dir)?;
        worst = (worst.0.max(measured.seconds), worst.1.max(measured.rss_mb));
        println!(
            "{:<48} {:>8.2} {:>9.1} {:>5}  {:<22} {}",
            input.name,
            measured.seconds,
            measured.rss_mb,
            code,
            input.before,
            outcome(&stdout)
        );
    }
    let met = worst.0 < 10.0 && worst.1 < 512.0;
    println!(
        "worst: {:.2} s, {:.1} MB; target under 10 s and 512 MB each: {}",
        worst.0,
        worst.1,
        if met { "met" } else { "NOT met" }
    );
    Ok(())
}
