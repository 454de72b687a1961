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

use anchorcheck::anchors::{self, AnchorsError};
use anchorcheck::report::{json, text};
use anchorcheck::source::GitRepo;
use anchorcheck::verify::{self, RevisionInfo, VerifyOptions};
use clap::Parser;

use cli::{Cli, ColorChoice, Command, Exit, Format, VerifyArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Verify(args) => run_verify(&args),
    };
    match exit {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(Exit::Unusable as u8)
        }
    }
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

fn run_verify(args: &VerifyArgs) -> anyhow::Result<Exit> {
    let (anchors_path, display) = locate_anchors(args.anchors.as_deref())?;
    let anchors = match anchors::load(&anchors_path, &display) {
        Ok((file, _source)) => file,
        Err(e @ AnchorsError::Invalid { .. }) => {
            eprintln!("{e}");
            return Ok(Exit::Unusable);
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
        rev: rev.clone(),
        commit: snapshot.commit.clone(),
    };
    let options = VerifyOptions {
        claims: args.claims.clone(),
    };
    let report = verify::verify(&anchors, &snapshot, info, &options)?;
    let rendered = match args.format {
        Format::Text => text::render(
            &report,
            text::TextStyle {
                color: use_color(args.color),
            },
        ),
        Format::Json => json::render(&report),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(rendered.as_bytes())?;
    stdout.flush()?;
    Ok(if report.passed(args.allow_drift) {
        Exit::Verified
    } else {
        Exit::Failed
    })
}
