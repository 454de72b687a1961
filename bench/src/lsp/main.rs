//! Latency of `anchorcheck lsp`, driven over stdio as an editor drives it: the first
//! diagnostics of anchors.yaml after the server starts and the file is opened (the bundled
//! example, and a generated corpus of 1,000 refs), and the re-check after a one-line edit of a
//! cited Go file in that corpus (in place, and one that shifts the cited lines). Medians (and
//! the slowest run) over fresh servers for the first, over successive edits for the re-check.
//!
//! `cargo build --release --workspace && target/release/bench-lsp`; see bench/README.md.

// The corpus generator of bench-run; it names its modules from the crate root.
#[path = "../run/corpus.rs"]
#[allow(dead_code, reason = "shared with bench-run, which uses all of it")]
mod corpus;
#[path = "../run/gogen.rs"]
#[allow(dead_code, reason = "shared with bench-run, which uses all of it")]
mod gogen;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// A server that has not answered in this long is taken for hung.
const GIVE_UP: Duration = Duration::from_secs(600);

struct Options {
    anchorcheck: PathBuf,
    files: usize,
    commits: usize,
    starts: usize,
    edits: usize,
    seed: u64,
    dir: Option<PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-lsp [--anchorcheck PATH] [--files N (1000)] [--commits N (200)] \
         [--starts N (5)] [--edits N (31)] [--seed N (7)] [--dir DIR]"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let root = project();
    let mut o = Options {
        anchorcheck: root.join("target/release/anchorcheck"),
        files: 1_000,
        commits: 200,
        starts: 5,
        edits: 31,
        seed: 7,
        dir: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        let number = |v: String| v.parse::<usize>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--anchorcheck" => o.anchorcheck = PathBuf::from(value()),
            "--files" => o.files = number(value()),
            "--commits" => o.commits = number(value()),
            "--starts" => o.starts = number(value()),
            "--edits" => o.edits = number(value()),
            "--seed" => o.seed = number(value()) as u64,
            "--dir" => o.dir = Some(PathBuf::from(value())),
            _ => usage(),
        }
    }
    o
}

/// The project's root: the bench crate's parent directory.
fn project() -> PathBuf {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench.parent().unwrap_or(bench).to_path_buf()
}

/// One `anchorcheck lsp` process and the messages it sent.
struct Server {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

impl Server {
    fn start(anchorcheck: &Path, root: &Path) -> Result<Server> {
        let mut child = Command::new(anchorcheck)
            .arg("lsp")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", anchorcheck.display()))?;
        let stdin = child.stdin.take().context("stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            while let Some(message) = read_message(&mut stdout) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Ok(Server {
            child,
            stdin,
            incoming,
            next_id: 0,
        })
    }

    fn send(&mut self, message: &Value) -> Result<()> {
        let body = serde_json::to_string(message)?;
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len())?;
        self.stdin.flush()?;
        Ok(())
    }

    fn notify(&mut self, method: &str, params: Value) -> Result<()> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    fn request(&mut self, method: &str, params: Value) -> Result<i64> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        Ok(id)
    }

    /// Waits for the first message `wanted` accepts.
    fn wait(&mut self, wanted: impl Fn(&Value) -> bool) -> Result<Value> {
        loop {
            let message = self.incoming.recv_timeout(GIVE_UP)?;
            if wanted(&message) {
                return Ok(message);
            }
        }
    }

    fn initialize(&mut self, root: &Path) -> Result<()> {
        let id = self.request(
            "initialize",
            json!({"processId": null, "rootUri": uri(root), "capabilities": {}}),
        )?;
        self.wait(|m| m["id"] == json!(id))?;
        self.notify("initialized", json!({}))
    }

    fn open(&mut self, path: &Path, language: &str, text: &str) -> Result<()> {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri(path), "languageId": language, "version": 1, "text": text}}),
        )
    }

    /// Waits for diagnostics of `path` (of buffer `version`, when given).
    fn diagnostics(&mut self, path: &Path, version: Option<i64>) -> Result<Vec<Value>> {
        let target = uri(path);
        let message = self.wait(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == json!(target)
                && version.is_none_or(|v| m["params"]["version"] == json!(v))
        })?;
        Ok(message["params"]["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    fn stop(mut self) -> Result<()> {
        let id = self.request("shutdown", Value::Null)?;
        self.wait(|m| m["id"] == json!(id))?;
        self.notify("exit", Value::Null)?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the server ended with {status}");
        }
        Ok(())
    }
}

/// Milliseconds, median and slowest.
fn summary(samples: &mut [f64]) -> String {
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let max = samples[samples.len() - 1];
    format!(
        "median {median:.1} ms, slowest {max:.1} ms ({} runs)",
        samples.len()
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The time from starting a server to the diagnostics of anchors.yaml, opened right after
/// `initialized`, and how many it had.
fn first_diagnostics(o: &Options, root: &Path, anchors: &Path) -> Result<(f64, usize)> {
    let text = std::fs::read_to_string(anchors)?;
    let started = Instant::now();
    let mut server = Server::start(&o.anchorcheck, root)?;
    server.initialize(root)?;
    server.open(anchors, "yaml", &text)?;
    let found = server.diagnostics(anchors, Some(1))?;
    let took = ms(started.elapsed());
    server.stop()?;
    Ok((took, found.len()))
}

fn measure_start(o: &Options, label: &str, root: &Path, anchors: &Path) -> Result<()> {
    let mut samples = Vec::new();
    let mut count = 0;
    for _ in 0..o.starts {
        let (took, found) = first_diagnostics(o, root, anchors)?;
        samples.push(took);
        count = found;
    }
    println!(
        "{label}: first diagnostics of anchors.yaml after start + didOpen: {} ({count} diagnostics)",
        summary(&mut samples)
    );
    Ok(())
}

/// A one-line edit of a cited file.
#[derive(Clone, Copy)]
enum Edit {
    /// A comment appended to the file's first line: the cited lines stay where they are.
    InPlace,
    /// A comment line inserted after the file's first line: the cited lines move down one.
    Insert,
    /// A cited guard's `return` deleted (0-based `line`): its claim fails, and the server looks
    /// for where the evidence went before it says so. Undone (unmeasured) before the next one.
    DeleteCited { line: usize },
}

impl Edit {
    fn describe(self) -> &'static str {
        match self {
            Edit::InPlace => "a line edited in place",
            Edit::Insert => "a line inserted above the cited lines",
            Edit::DeleteCited { .. } => "a guard's `return` deleted, failing its claim",
        }
    }

    /// The text after the edit (number `i`).
    fn apply(self, text: &str, i: usize) -> String {
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        match self {
            Edit::InPlace => format!("{first} // edit {i}\n{rest}"),
            Edit::Insert => format!("{first}\n// edit {i}\n{rest}"),
            Edit::DeleteCited { line } => text
                .split_inclusive('\n')
                .enumerate()
                .filter(|(n, _)| *n != line)
                .map(|(_, l)| l)
                .collect(),
        }
    }
}

/// Re-checks after `edit`s of a cited file `go`, each measured from the `didChange` to the
/// diagnostics of that buffer version.
fn measure_edits(o: &Options, root: &Path, anchors: &Path, go: &Path, edit: Edit) -> Result<()> {
    let anchors_text = std::fs::read_to_string(anchors)?;
    let go_text = std::fs::read_to_string(go)?;
    let mut server = Server::start(&o.anchorcheck, root)?;
    server.initialize(root)?;
    server.open(anchors, "yaml", &anchors_text)?;
    server.diagnostics(anchors, Some(1))?;
    server.open(go, "go", &go_text)?;
    server.diagnostics(go, Some(1))?;
    let mut samples = Vec::new();
    let mut failing = 0;
    let mut version = 1;
    let mut change = |server: &mut Server, text: &str| -> Result<(f64, usize)> {
        version += 1;
        let started = Instant::now();
        server.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(go), "version": version}, "contentChanges": [{"text": text}]}),
        )?;
        let found = server.diagnostics(go, Some(version))?;
        Ok((ms(started.elapsed()), found.len()))
    };
    for i in 0..o.edits {
        let (took, found) = change(&mut server, &edit.apply(&go_text, i))?;
        samples.push(took);
        failing = found;
        if let Edit::DeleteCited { .. } = edit {
            change(&mut server, &go_text)?;
        }
    }
    server.stop()?;
    println!(
        "re-check after a one-line edit of a cited file ({}): {} ({failing} diagnostics on it)",
        edit.describe(),
        summary(&mut samples)
    );
    Ok(())
}

/// `anchorcheck verify --rev WORKTREE` of the same anchors file, for comparison with the
/// server's first diagnostics.
fn measure_cli(o: &Options, root: &Path) -> Result<()> {
    let mut samples = Vec::new();
    for _ in 0..o.starts {
        let started = Instant::now();
        let output = Command::new(&o.anchorcheck)
            .args(["verify", "--rev", "WORKTREE", "--format", "json"])
            .current_dir(root)
            .output()?;
        samples.push(ms(started.elapsed()));
        if !matches!(output.status.code(), Some(0 | 1)) {
            bail!(
                "anchorcheck verify failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    println!(
        "  for comparison, `anchorcheck verify --rev WORKTREE`: {}",
        summary(&mut samples)
    );
    Ok(())
}

fn main() -> Result<()> {
    let o = options();
    if !o.anchorcheck.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release`",
            o.anchorcheck.display()
        );
    }
    let project = project().canonicalize()?;
    measure_start(
        &o,
        "bundled example",
        &project,
        &project.join("anchors.yaml"),
    )?;
    measure_cli(&o, &project)?;

    let temp = tempfile::tempdir()?;
    let dir = o.dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    let started = Instant::now();
    let c = corpus::generate(
        &dir,
        o.seed,
        o.files,
        o.commits,
        o.files,
        corpus::Shape::MONOREPO,
    )?;
    // The server reads the working tree: check HEAD out.
    let repo = git2::Repository::open(&c.repo)?;
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))?;
    let anchors = dir.join("anchors.yaml");
    std::fs::write(&anchors, corpus::anchors_yaml(&c, o.files, false))?;
    println!(
        "corpus: {} files, {} refs, {} commits, generated in {:.1}s",
        o.files,
        c.refs.len().min(o.files),
        c.commits,
        started.elapsed().as_secs_f64()
    );
    measure_start(&o, &format!("{} refs", o.files), &dir, &anchors)?;
    let go = c.repo.join(&c.refs[0].head_path);
    measure_cli(&o, &dir)?;
    for edit in [Edit::InPlace, Edit::Insert] {
        measure_edits(&o, &dir, &anchors, &go, edit)?;
    }
    // A guard that still holds, and the line of its `return`.
    let guard = c
        .refs
        .iter()
        .find(|r| !r.weakened && r.expect.iter().any(|e| e.contains("fail_closed")))
        .context("the corpus has no fail_closed ref")?;
    let guarded = c.repo.join(&guard.head_path);
    let text = std::fs::read_to_string(&guarded)?;
    let (a, b) = guard.head_lines;
    let line = (a as usize - 1..b as usize)
        .find(|&n| text.lines().nth(n).is_some_and(|l| l.trim() == "return"))
        .context("the guard's return")?;
    measure_edits(&o, &dir, &anchors, &guarded, Edit::DeleteCited { line })?;
    Ok(())
}
