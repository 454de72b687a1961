//! Command-line flags (clap derive) and exit codes; no logic.

use std::path::PathBuf;

use anchorcheck::model::links::LinkBase;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keeps documentation honest about code: checks that the Go code cited by anchors.yaml still
/// holds what the docs claim.
#[derive(Debug, Parser)]
#[command(name = "anchorcheck", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify every claim's cited code at a revision (the main job).
    Verify(VerifyArgs),
    /// Rewrite drifted refs (lines, path, at) in anchors.yaml and the docs citations.
    Fix(FixArgs),
    /// Show every claim with its status, owner, verdict and each ref's cited code, matched lines
    /// marked; `--html` writes the same as a self-contained page.
    Audit(AuditArgs),
    /// The PR check: verify at head, relocate every ref from base, and list the claims whose
    /// cited lines the change touched.
    Diff(DiffArgs),
    /// Scaffold anchors.yaml from the code citations of docs pages: a claim per citing
    /// sentence or table row, a ref per citation with the expectations its lines hold.
    Init(InitArgs),
    /// Show what anchorcheck sees in a range (PATH:LINES or PATH#L1-L2) and the expectations
    /// that would hold there, ready to paste.
    Explain(ExplainArgs),
    /// Record that a person read each claim's cited code against the claim now: writes
    /// `approved: {at, by, on, fingerprint}`, so a later change to the code (as tokens) makes
    /// the claim `needs-review`.
    Approve(ApproveArgs),
    /// Print the JSON Schema of anchors.yaml (for editors).
    Schema,
    /// Serve the Language Server Protocol over stdio: diagnostics, hover, CodeLens and fixes for
    /// anchors.yaml, its docs pages and the Go code they cite, as the editor's buffers change.
    Lsp,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Who approves (default: git's `user.name`).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Approve every shown claim without asking (needed when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// When to colour terminal output (NO_COLOR is honoured in auto mode).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The docs pages whose citations become claims.
    #[arg(long = "from-docs", value_name = "PAGE", required = true, num_args = 1..)]
    pub pages: Vec<PathBuf>,
    /// The git repository the pages cite (any directory inside it).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
    /// The revision the refs are written for; its commit becomes each ref's `at`.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// The anchors file to write; an existing one is never overwritten.
    #[arg(long, value_name = "FILE", default_value = "anchors.yaml")]
    pub out: PathBuf,
    /// Add claims for the citations the existing file's refs do not cover yet, keeping every
    /// byte of it.
    #[arg(long)]
    pub append: bool,
    /// When to colour terminal output (NO_COLOR is honoured in auto mode).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The range: PATH:START-END, PATH:LINE, PATH#LSTART-LEND or a GitHub blob link; PATH is
    /// relative to the repository root.
    #[arg(value_name = "PATH:LINES")]
    pub location: String,
    /// The git repository (any directory inside it).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
    /// The revision to read (WORKTREE for uncommitted edits).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,
    /// When to colour terminal output (NO_COLOR is honoured in auto mode).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// For people.
    Text,
    /// For editors and scripts (schema 1, documented in src/report/explain.rs).
    Json,
}

#[derive(Debug, Args)]
#[command(mut_arg("claims", |a| a.help("Only check this claim (repeatable)")))]
pub struct DiffArgs {
    /// The revision the change starts from (e.g. origin/main); every ref is followed from it.
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// The revision to verify (default HEAD; WORKTREE for uncommitted edits).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub head: String,
    #[command(flatten)]
    pub files: FilesArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write the audit as one self-contained HTML page to FILE instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Link cited code to URL/<commit>/<path>#L<start>-L<end>, or fill a template holding
    /// {commit}, {path}, {start} and {end} (default: from a GitHub or GitLab `origin` remote).
    #[arg(long, value_name = "URL", value_parser = parse_link_base)]
    pub link_base: Option<LinkBase>,
    /// When to colour terminal output (NO_COLOR is honoured in auto mode).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print a unified diff of every file that would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Follow every ref from this revision as if it were its `at` (as `diff --base` does).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Leave docs links pinned to a tag or commit (`.../blob/v2.6.0/a.go#L10`) as they are, and
    /// list them, instead of pinning them to the verified commit along with their new lines.
    #[arg(long)]
    pub keep_pinned: bool,
    /// Take candidate N (as the report numbers them, best first) of the one ambiguous ref as
    /// its new place; select that ref with --claim when several are ambiguous.
    #[arg(long, value_name = "N")]
    pub pick: Option<usize>,
    /// When to colour terminal output (NO_COLOR is honoured in auto mode).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How `verify` and `diff` report: the format, colour, and whether drift fails the run.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the report in FORMAT to FILE (repeatable), from the same run: e.g. github
    /// annotations on stdout and `--output markdown=summary.md` for the job summary.
    #[arg(long = "output", value_name = "FORMAT=FILE", value_parser = parse_output)]
    pub outputs: Vec<(Format, PathBuf)>,
    /// Exit 0 even when refs drifted (broken, ambiguous and error refs still fail).
    #[arg(long)]
    pub allow_drift: bool,
    /// When to colour text output (NO_COLOR is honoured in auto mode).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Link cited code to URL/<commit>/<path>#L<start>-L<end>, or fill a template holding
    /// {commit}, {path}, {start} and {end} (default: from a GitHub or GitLab `origin` remote).
    #[arg(long, value_name = "URL", value_parser = parse_link_base)]
    pub link_base: Option<LinkBase>,
}

/// The anchors file and the repository, for every command that reads anchors.yaml.
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// The anchors file (default: anchors.yaml in the current directory or a parent).
    #[arg(long, value_name = "FILE")]
    pub anchors: Option<PathBuf>,
    /// The git repository (default: `repo:` in anchors.yaml, relative to that file).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
}

/// Which claims to check, and where results are kept between runs.
#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// Only verify this claim (repeatable).
    #[arg(long = "claim", value_name = "ID")]
    pub claims: Vec<String>,
    /// Keep results by git blob id in DIR, so unchanged files are not parsed again.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// The day waivers are judged on (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub today: Option<anchorcheck::anchors::Date>,
    /// The budget of expensive work, in steps of about a nanosecond: the run's (relocation
    /// search, queries, regexes), and each file's walk back through its history (parses of its
    /// versions) its own; a ref a budget cuts short is an error saying so.
    #[arg(long, value_name = "N", default_value_t = anchorcheck::budget::DEFAULT_WORK_BUDGET)]
    pub work_budget: u64,
}

/// `--today YYYY-MM-DD`.
fn parse_date(value: &str) -> Result<anchorcheck::anchors::Date, String> {
    anchorcheck::anchors::Date::parse(value)
}

/// What to verify: the anchors file, the repository, the revision, the claims.
#[derive(Debug, Args)]
pub struct TargetArgs {
    #[command(flatten)]
    pub files: FilesArgs,
    /// Revision to verify: branch, tag, sha, HEAD~3, origin/main, or WORKTREE for the working
    /// tree with uncommitted edits (default: `rev:` in anchors.yaml, else HEAD).
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// For a ref without `at` that does not hold at its cited lines: how many commits back to
    /// look for the newest one at which it held there, to follow history from it (0: never).
    #[arg(long, value_name = "N", default_value_t = anchorcheck::verify::DEFAULT_HISTORY_DEPTH)]
    pub history_depth: usize,
    /// Parse every cited file whole (partial parsing off; for differential tests).
    #[arg(long, hide = true)]
    pub whole_files: bool,
}

/// `FORMAT=FILE` of `--output`.
fn parse_output(value: &str) -> Result<(Format, PathBuf), String> {
    let (format, file) = value.split_once('=').ok_or_else(|| {
        format!("expected FORMAT=FILE, such as markdown=summary.md, not `{value}`")
    })?;
    let format = Format::from_str(format, true).map_err(|_| {
        let known: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value().map(|v| v.get_name().to_string()))
            .collect();
        format!("unknown format `{format}` (expected {})", known.join(", "))
    })?;
    if file.is_empty() {
        return Err(format!("no file after `{format:?}=`"));
    }
    Ok((format, PathBuf::from(file)))
}

/// `--link-base URL`: http or https only, its text encoded.
fn parse_link_base(value: &str) -> Result<LinkBase, String> {
    LinkBase::parse(value).map_err(|e| e.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per claim, excerpts for failing refs, a summary line.
    Text,
    /// The versioned JSON report (schema 1).
    Json,
    /// SARIF 2.1.0 for GitHub code scanning (upload-sarif).
    Sarif,
    /// GitHub Actions workflow commands: inline annotations and a summary notice.
    Github,
    /// JUnit XML: one testcase per claim, for test dashboards.
    Junit,
    /// Markdown summary table and details, for a PR comment or $GITHUB_STEP_SUMMARY.
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Process exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every ref verified.
    Verified = 0,
    /// Some ref drifted, is ambiguous, broken or could not be checked.
    Failed = 1,
    /// Nothing could be verified: bad configuration, unknown revision, not a repository.
    Unusable = 2,
}
