//! Command-line flags (clap derive) and exit codes; no logic.

use std::path::PathBuf;

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
}

#[derive(Debug, Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print a unified diff of every file that would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 0 even when refs drifted (broken, ambiguous and error refs still fail).
    #[arg(long)]
    pub allow_drift: bool,
    /// When to colour text output (NO_COLOR is honoured in auto mode).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// What to verify: the anchors file, the repository, the revision, the claims.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The anchors file (default: anchors.yaml in the current directory or a parent).
    #[arg(long, value_name = "FILE")]
    pub anchors: Option<PathBuf>,
    /// The git repository (default: `repo:` in anchors.yaml, relative to that file).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Revision to verify: branch, tag, sha, HEAD~3, origin/main, or WORKTREE for the working
    /// tree with uncommitted edits (default: `rev:` in anchors.yaml, else HEAD).
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// Only verify this claim (repeatable).
    #[arg(long = "claim", value_name = "ID")]
    pub claims: Vec<String>,
    /// Keep results by git blob id in DIR, so unchanged files are not parsed again.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Parse every cited file whole (partial parsing off; for differential tests).
    #[arg(long, hide = true)]
    pub whole_files: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per claim, excerpts for failing refs, a summary line.
    Text,
    /// The versioned JSON report (schema 1).
    Json,
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
