//! The anchorcheck binary: parses flags, calls the library, prints, and maps the outcome to an
//! exit code.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the binary is where output is printed"
)]

mod cli;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anchorcheck::anchors::{self, AnchorsError, AnchorsFile};
use anchorcheck::fix;
use anchorcheck::report::{Report, json, text};
use anchorcheck::source::{GitRepo, Snapshot};
use anchorcheck::verify::{self, HistorySource, RevisionInfo, VerifyOptions};
use clap::Parser;

use cli::{Cli, ColorChoice, Command, Exit, FixArgs, Format, TargetArgs, VerifyArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Verify(args) => run_verify(&args),
        Command::Fix(args) => run_fix(&args),
    };
    match exit {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(Exit::Unusable as u8)
        }
    }
}

/// A loaded anchors file and the revision it is verified at.
struct Target {
    anchors: AnchorsFile,
    /// The anchors file's text, for `fix` to splice.
    source: String,
    /// How messages name the anchors file.
    display: PathBuf,
    snapshot: Snapshot,
    info: RevisionInfo,
}

/// The anchors file to use and how to name it in messages.
fn locate_anchors(flag: Option<&Path>) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cwd = std::env::current_dir()?;
    let path = match flag {
        Some(p) => cwd.join(p),
        None => anchors::discover(&cwd)?,
    };
    let display = path
        .strip_prefix(&cwd)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.clone());
    Ok((path, display))
}

/// Loads anchors.yaml and resolves the revision. `Ok(None)` means a configuration problem was
/// already printed.
fn prepare(args: &TargetArgs) -> anyhow::Result<Option<Target>> {
    let (anchors_path, display) = locate_anchors(args.anchors.as_deref())?;
    let (anchors, source) = match anchors::load(&anchors_path, &display) {
        Ok(loaded) => loaded,
        Err(e @ AnchorsError::Invalid { .. }) => {
            eprintln!("{e}");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let base = anchors_path.parent().unwrap_or(Path::new("."));
    let (repo_dir, repo_name) = match (&args.repo, &anchors.repo) {
        (Some(flag), _) => (flag.clone(), flag.display().to_string()),
        (None, Some(repo)) => (base.join(repo), repo.clone()),
        (None, None) => (base.to_path_buf(), ".".to_string()),
    };
    let rev = args
        .rev
        .clone()
        .or_else(|| anchors.rev.clone())
        .unwrap_or_else(|| "HEAD".to_string());
    let repo = GitRepo::open(&repo_dir)?;
    let snapshot = repo.resolve(&rev)?;
    let info = RevisionInfo {
        repo: repo_name,
        rev,
        commit: snapshot.commit.clone(),
    };
    Ok(Some(Target {
        anchors,
        source,
        display,
        snapshot,
        info,
    }))
}

fn run(target: &Target, args: &TargetArgs) -> anyhow::Result<Report> {
    let history = HistorySource {
        git: target.snapshot.git(),
        target: target.snapshot.endpoint(),
        target_commit: target.snapshot.commit.clone(),
    };
    let options = VerifyOptions {
        claims: args.claims.clone(),
        cache: args.cache.clone(),
        whole_files: args.whole_files,
    };
    Ok(verify::verify(
        &target.anchors,
        &target.snapshot,
        Some(&history),
        target.info.clone(),
        &options,
    )?)
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn run_verify(args: &VerifyArgs) -> anyhow::Result<Exit> {
    let Some(target) = prepare(&args.target)? else {
        return Ok(Exit::Unusable);
    };
    let report = run(&target, &args.target)?;
    let rendered = match args.format {
        Format::Text => text::render(
            &report,
            text::TextStyle {
                color: use_color(args.color),
            },
        ),
        Format::Json => json::render(&report),
    };
    print(&rendered)?;
    Ok(if report.passed(args.allow_drift) {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

fn run_fix(args: &FixArgs) -> anyhow::Result<Exit> {
    let Some(target) = prepare(&args.target)? else {
        return Ok(Exit::Unusable);
    };
    let report = run(&target, &args.target)?;
    let pages: Vec<(PathBuf, String)> = anchorcheck::docs::read_pages(&target.anchors)
        .into_iter()
        .filter_map(|(_, full, text)| text.ok().map(|t| (full, t)))
        .collect();
    // Line numbers of the working tree belong to no commit, so they get no `at`.
    let commit = if target.snapshot.is_worktree() {
        None
    } else {
        target.snapshot.commit.as_deref()
    };
    let plan = fix::plan(&target.anchors, &target.source, &report, commit, &pages)?;
    let cwd = std::env::current_dir()?;
    let display = |p: &Path| p.strip_prefix(&cwd).unwrap_or(p).display().to_string();
    let mut out = String::new();
    if args.dry_run {
        out.push_str(&fix::unified_diff(&plan, display));
    } else {
        fix::write_all(&plan)?;
    }
    for r in &plan.relocated {
        out.push_str(&format!(
            "{} {}: {}:{} -> {}\n",
            if args.dry_run { "would fix" } else { "fixed" },
            r.claim,
            r.path,
            r.lines,
            r.now.as_deref().unwrap_or("?")
        ));
    }
    if plan.stamped > 0 {
        out.push_str(&format!(
            "{} `at` on {} verified ref(s)\n",
            if args.dry_run { "would set" } else { "set" },
            plan.stamped
        ));
    }
    for r in &plan.left_alone {
        out.push_str(&format!(
            "left alone {}: {}:{} is {}\n",
            r.claim, r.path, r.lines, r.verdict
        ));
    }
    if plan.changes.is_empty() {
        out.push_str(&format!("nothing to fix in {}\n", target.display.display()));
    } else if !args.dry_run {
        let names: Vec<String> = plan.changes.iter().map(|c| display(&c.path)).collect();
        out.push_str(&format!("wrote {}\n", names.join(", ")));
    }
    print(&out)?;
    Ok(if plan.left_alone.is_empty() {
        Exit::Verified
    } else {
        Exit::Failed
    })
}
