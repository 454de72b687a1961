//! The anchorcheck binary: parses flags, calls the library, prints, and maps the outcome to an
//! exit code.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the binary is where output is printed"
)]

mod cli;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use anchorcheck::anchors::AnchorsError;
use anchorcheck::fix;
use anchorcheck::model::Report;
use anchorcheck::report::{
    audit, github, html, json, junit, markdown, sarif, terminal, text, workflow,
};
use anchorcheck::target::{Target, TargetError, TargetRequest};
use anchorcheck::verify::VerifyOptions;
use anchorcheck::verify::cache::CacheKey;
use anchorcheck::verify::progress::Progress;
use anyhow::Context as _;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
// zlib-rs for libgit2's zlib: linking libz-rs-sys, which exports zlib's API under zlib's own
// names, resolves libgit2's `inflate` and the rest to it, all of them, instead of to the system's
// C zlib (tests/it/linked_zlib.rs reads the binary to check).
use libz_rs_sys as _;

use cli::{
    ApproveArgs, AuditArgs, Cli, ColorChoice, Command, DiffArgs, Exit, ExplainArgs, ExplainFormat,
    FilesArgs, FixArgs, Format, InitArgs, OutputArgs, SelectionArgs, TargetArgs, VerifyArgs,
};

/// mimalloc for Rust and, through its `override` feature, the C libraries' `malloc` too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Verify(args) => run_verify(&args),
        Command::Fix(args) => run_fix(&args),
        Command::Diff(args) => run_diff(&args),
        Command::Audit(args) => run_audit(&args),
        Command::Init(args) => run_init(&args),
        Command::Explain(args) => run_explain(&args),
        Command::Approve(args) => run_approve(&args),
        Command::Schema => print(anchorcheck::scaffold::SCHEMA).map(|()| Exit::Verified),
        Command::Lsp => run_lsp(),
    };
    match exit {
        Ok(code) => ExitCode::from(code as u8),
        // Whoever reads stdout stopped (`anchorcheck verify | head -n 1`): nothing is wrong and
        // nothing is said, as ripgrep does.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprint_message(&format!("error: {e:#}"));
            ExitCode::from(Exit::Unusable as u8)
        }
    }
}

/// Whether `e` is a write to a pipe whose reader has gone (Rust ignores SIGPIPE, so the write
/// fails with EPIPE instead of killing the process).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// What `verify`, `diff`, `fix` and `audit` verify, from their flags.
struct RunArgs<'a> {
    files: &'a FilesArgs,
    rev: Option<&'a str>,
    selection: &'a SelectionArgs,
    history_depth: usize,
    whole_files: bool,
}

impl<'a> RunArgs<'a> {
    fn of(target: &'a TargetArgs) -> Self {
        RunArgs {
            files: &target.files,
            rev: target.rev.as_deref(),
            selection: &target.selection,
            history_depth: target.history_depth,
            whole_files: target.whole_files,
        }
    }
}

/// Loads the anchors file and resolves the revision. `Ok(None)` means a configuration problem
/// was printed: every problem with its position, and nothing else.
fn prepare(args: &RunArgs<'_>) -> anyhow::Result<Option<Target>> {
    let cwd = std::env::current_dir()?;
    let request = TargetRequest {
        anchors: args.files.anchors.as_deref(),
        repo: args.files.repo.as_deref(),
        rev: args.rev,
        cwd: &cwd,
    };
    match Target::load(&request) {
        Ok(target) => {
            // Waivers expiring beyond the horizon are config errors, but which ones depends on
            // the day.
            let problems = anchorcheck::anchors::waivers_too_far(&target.anchors, today(args));
            if problems.is_empty() {
                return Ok(Some(target));
            }
            let e = AnchorsError::Invalid {
                path: target.display.clone(),
                problems,
            };
            eprint_message(&e.to_string());
            Ok(None)
        }
        Err(TargetError::Anchors(e @ AnchorsError::Invalid { .. })) => {
            eprint_message(&e.to_string());
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The day waivers are judged on: `--today`, else the clock's (UTC).
fn today(args: &RunArgs<'_>) -> anchorcheck::anchors::Date {
    args.selection
        .today
        .unwrap_or_else(anchorcheck::anchors::Date::today)
}

/// Verifies `target` (following every ref from `base`, for `diff` and `fix --base`), with a
/// progress bar on a terminal.
fn run(
    target: &Target,
    args: &RunArgs<'_>,
    base: Option<&str>,
    keep_excerpts: bool,
) -> anyhow::Result<Report> {
    let bar = Arc::new(OnceLock::<ProgressBar>::new());
    let options = VerifyOptions {
        claims: args.selection.claims.clone(),
        base: target.base_commit(base)?,
        progress: std::io::stderr()
            .is_terminal()
            .then(|| progress_bar(Arc::clone(&bar))),
        keep_excerpts,
        cache: args.selection.cache.clone(),
        cache_key: cache_key(),
        whole_files: args.whole_files,
        history_depth: args.history_depth,
        work_budget: args.selection.work_budget,
    };
    let report = target.verify(&options);
    if let Some(bar) = bar.get() {
        bar.finish_and_clear();
    }
    let mut report = report?;
    report.today = today(args);
    Ok(report)
}

/// The secret that signs `--cache` files, from `ANCHORCHECK_CACHE_KEY` (unset or empty: none).
fn cache_key() -> Option<CacheKey> {
    std::env::var_os("ANCHORCHECK_CACHE_KEY")
        .filter(|k| !k.is_empty())
        .map(|k| CacheKey::new(k.into_encoded_bytes()))
}

/// Runs with more cited files than this get a progress bar (shorter ones finish before a bar
/// would be read).
const PROGRESS_MIN_FILES: usize = 50;

/// A progress callback that draws a bar on stderr once it learns the run is long.
fn progress_bar(bar: Arc<OnceLock<ProgressBar>>) -> Progress {
    Progress::new(move |_done, total| {
        if total <= PROGRESS_MIN_FILES {
            return;
        }
        let bar = bar.get_or_init(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("checking {pos}/{len} files {wide_bar} {eta}")
            {
                bar.set_style(style);
            }
            bar
        });
        // Files finish in any order on worker threads; counting calls keeps the bar monotonic.
        bar.inc(1);
    })
}

/// Renders the report in the chosen format.
fn render(report: &Report, format: Format, color: ColorChoice) -> String {
    match format {
        Format::Text => text::render(
            report,
            text::TextStyle {
                color: use_color(color),
            },
        ),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
    }
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

/// True when output goes to a GitHub Actions log, whose runner executes workflow commands.
fn in_github_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// Prints text for people. Control characters in the repository text it quotes are spelt out,
/// so they cannot move the cursor, erase lines or reorder code on the terminal (only the
/// report's own colours stay, with `color`). In a GitHub Actions log it is wrapped in
/// `::stop-commands::` with a random token, so that text (titles, paths, Go comments) cannot
/// issue workflow commands; should no random token be had, every command start is broken
/// instead.
fn print_for_people(text: &str, color: bool) -> anyhow::Result<()> {
    let text = &*terminal::escape_controls(text, color);
    if !in_github_actions() {
        return print(text);
    }
    let mut bytes = [0u8; 16];
    match getrandom::fill(&mut bytes) {
        Ok(()) => {
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            print(&workflow::stop_commands(text, &token))
        }
        Err(_) => print(&workflow::neutralise(text)),
    }
}

/// Prints a message on stderr; in a GitHub Actions log with every command start broken (the
/// message may quote anchors.yaml, and stderr interleaves with stdout in the log).
fn eprint_message(message: &str) {
    let message = &*terminal::escape_controls(message, false);
    if in_github_actions() {
        eprintln!("{}", workflow::neutralise(message));
    } else {
        eprintln!("{message}");
    }
}

fn run_verify(args: &VerifyArgs) -> anyhow::Result<Exit> {
    check(&RunArgs::of(&args.target), None, &args.output)
}

fn run_diff(args: &DiffArgs) -> anyhow::Result<Exit> {
    let run = RunArgs {
        files: &args.files,
        rev: Some(&args.head),
        selection: &args.selection,
        // Every ref is followed from the base, so none needs its history looked for.
        history_depth: 0,
        whole_files: false,
    };
    check(&run, Some(&args.base), &args.output)
}

/// Verifies (from `base`, for `diff`), prints the report in the asked format, and maps the
/// outcome to the exit code.
fn check(args: &RunArgs<'_>, base: Option<&str>, output: &OutputArgs) -> anyhow::Result<Exit> {
    let Some(target) = prepare(args)? else {
        return Ok(Exit::Unusable);
    };
    for (_, path) in &output.outputs {
        target.check_output(path)?;
    }
    let mut report = run(&target, args, base, false)?;
    let invocation = fix::command::Invocation {
        anchors: args.files.anchors.as_deref(),
        repo: args.files.repo.as_deref(),
        base,
        claims: &args.selection.claims,
    };
    report.fix_command = fix::command::command_line(&report, &invocation);
    report.links = links(&target, output.link_base.as_ref());
    report.allow_drift = output.allow_drift;
    for (format, path) in &output.outputs {
        let written = if *format == Format::Json {
            // Written as it is made: the JSON of 330,000 refs is hundreds of megabytes.
            anchorcheck::atomic::write_atomically_with(path, |out| json::write(&report, out))
        } else {
            // Colour is for terminals; a file never gets it. A text report is read on one
            // later, so its control characters are spelt out as on stdout.
            let rendered = render(&report, *format, ColorChoice::Never);
            let text = match format {
                Format::Text => terminal::escape_controls(&rendered, false),
                _ => rendered.as_str().into(),
            };
            anchorcheck::atomic::write_atomically(path, text.as_bytes())
        };
        written.with_context(|| {
            format!(
                "cannot write the {} report to {}",
                format!("{format:?}").to_lowercase(),
                path.display()
            )
        })?;
    }
    if output.format == Format::Json {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        json::write(&report, &mut out)?;
        out.flush()?;
        return Ok(outcome(&report));
    }
    let rendered = render(&report, output.format, output.color);
    if output.format == Format::Text {
        print_for_people(&rendered, use_color(output.color))?;
    } else {
        // Machine formats escape what could start a workflow command themselves, and may be
        // redirected to a file that must stay valid JSON, SARIF, XML or Markdown.
        print(&rendered)?;
    }
    Ok(outcome(&report))
}

/// The exit code of a verified report.
fn outcome(report: &Report) -> Exit {
    if report.passed() {
        Exit::Verified
    } else {
        Exit::Failed
    }
}

/// How the report links to cited code: `--link-base`, else the `origin` remote, with
/// `$GITHUB_SERVER_URL` naming a GitHub Enterprise host.
fn links(
    target: &Target,
    link_base: Option<&anchorcheck::model::links::LinkBase>,
) -> Option<anchorcheck::model::links::Links> {
    let server = std::env::var("GITHUB_SERVER_URL").ok();
    target.links(link_base, server.as_deref())
}

fn run_fix(args: &FixArgs) -> anyhow::Result<Exit> {
    let run_args = RunArgs::of(&args.target);
    let Some(target) = prepare(&run_args)? else {
        return Ok(Exit::Unusable);
    };
    let mut report = run(&target, &run_args, args.base.as_deref(), false)?;
    let picked = args.pick.map(|n| fix::pick(&mut report, n)).transpose()?;
    let plan = target.fix_plan(&report, args.keep_pinned)?;
    if !args.dry_run {
        fix::write_all(&plan)?;
    }
    let cwd = std::env::current_dir()?;
    let summary =
        fix::summary::summary(&plan, picked.as_ref(), args.dry_run, &target.display, &cwd);
    print_for_people(&summary, use_color(args.color))?;
    Ok(if plan.left_alone.is_empty() {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

fn run_approve(args: &ApproveArgs) -> anyhow::Result<Exit> {
    use anchorcheck::fix::approve::{self, NewApproval};
    use anchorcheck::model::Verdict;
    use anchorcheck::verify::review::claim_fingerprints;
    let run_args = RunArgs::of(&args.target);
    let Some(target) = prepare(&run_args)? else {
        return Ok(Exit::Unusable);
    };
    let Some(commit) = target.fix_commit().map(str::to_string) else {
        anyhow::bail!(
            "approve records the commit the code was read at: verify a commit, not WORKTREE"
        );
    };
    let by = match args
        .by
        .clone()
        .or_else(|| target.snapshot.git().user_name())
    {
        Some(by) if !by.trim().is_empty() && !by.chars().any(char::is_control) => by,
        Some(_) => anyhow::bail!("--by must be a name on one line"),
        None => anyhow::bail!("git has no user.name here: pass --by NAME"),
    };
    let report = run(&target, &run_args, None, true)?;
    // Every cited file read and parsed once for all the claims, not once per claim.
    let fingerprints =
        claim_fingerprints(&report.claims.iter().collect::<Vec<_>>(), &target.snapshot);
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mut out = String::new();
    let mut approvals = Vec::new();
    let mut refused = 0;
    for (claim, fingerprint) in report.claims.iter().zip(fingerprints) {
        use std::fmt::Write as _;
        let title = claim.title.as_deref().unwrap_or("");
        let _ = writeln!(out, "claim {} ({title}): {}", claim.id, claim.verdict);
        if let Some(a) = &claim.approval {
            let _ = writeln!(out, "  {}", a.describe());
        }
        let refuse = match claim.verdict {
            Verdict::Broken | Verdict::Ambiguous | Verdict::Error => Some(format!(
                "it is {}: fix the code or the claim first",
                claim.verdict
            )),
            Verdict::Unchecked => Some("it has no refs: there is no code to approve".into()),
            _ => None,
        };
        for r in &claim.refs {
            let at = r.current();
            let _ = writeln!(out, "  {}:{} [{}]", at.path, at.lines, r.verdict());
            if let Some(excerpt) = &r.excerpt {
                for (i, line) in excerpt.lines.iter().enumerate() {
                    let _ = writeln!(out, "  {:>6} | {line}", excerpt.first_line.get() + i as u32);
                }
            }
            if let Some(review) = r.review() {
                for line in review.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        if let Some(why) = refuse {
            refused += 1;
            let _ = writeln!(out, "  not approved: {why}\n");
            continue;
        }
        if claim.approval.as_ref().is_some_and(|a| !a.changed()) {
            let _ = writeln!(out, "  already approved and unchanged: nothing to do\n");
            continue;
        }
        let Some(fingerprint) = fingerprint else {
            refused += 1;
            let _ = writeln!(out, "  not approved: its cited code could not be read\n");
            continue;
        };
        out.push('\n');
        approvals.push(NewApproval {
            claim: claim.id.clone(),
            at: commit.clone(),
            by: by.clone(),
            on: today(&run_args),
            fingerprint,
        });
    }
    print_for_people(&out, use_color(args.color))?;
    if approvals.is_empty() {
        print_for_people(
            "nothing to approve; anchors.yaml is unchanged\n",
            use_color(args.color),
        )?;
        return Ok(if refused == 0 {
            Exit::Verified
        } else {
            Exit::Failed
        });
    }
    if !args.yes {
        if !interactive {
            print_for_people(
                &format!(
                    "not on a terminal and no --yes: {} claim(s) not approved; nothing was written\n",
                    approvals.len()
                ),
                use_color(args.color),
            )?;
            return Ok(Exit::Unusable);
        }
        let mut kept = Vec::new();
        for a in approvals {
            eprint!("approve claim {} as {}? [y/N] ", a.claim, a.by);
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if matches!(answer.trim(), "y" | "Y" | "yes") {
                kept.push(a);
            }
        }
        approvals = kept;
    }
    let change = approve::plan(&target.anchors, &target.source, &approvals)?;
    approve::write(&change)?;
    let ids: Vec<&str> = approvals.iter().map(|a| a.claim.as_str()).collect();
    print_for_people(
        &format!(
            "approved {} claim(s) at {} as {}: {}\n",
            ids.len(),
            &commit[..7.min(commit.len())],
            by,
            ids.join(", ")
        ),
        false,
    )?;
    Ok(if refused == 0 {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

fn run_audit(args: &AuditArgs) -> anyhow::Result<Exit> {
    let run_args = RunArgs::of(&args.target);
    let Some(target) = prepare(&run_args)? else {
        return Ok(Exit::Unusable);
    };
    if let Some(path) = &args.html {
        target.check_output(path)?;
    }
    let mut report = run(&target, &run_args, None, true)?;
    report.links = links(&target, args.link_base.as_ref());
    let resolved = target.described_commit()?;
    match &args.html {
        Some(path) => {
            anchorcheck::atomic::write_atomically_with(path, |out| {
                html::write(&report, resolved.as_ref(), out)
            })?;
            print_for_people(
                &format!("wrote {} ({})\n", path.display(), report.summary()),
                false,
            )?;
        }
        None => {
            let style = audit::AuditStyle {
                color: use_color(args.color),
            };
            print_for_people(
                &audit::render(&report, resolved.as_ref(), style),
                style.color,
            )?;
        }
    }
    // Like verify, so a nightly job can publish the page and still fail on bad evidence.
    Ok(if report.passed() {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

fn run_init(args: &InitArgs) -> anyhow::Result<Exit> {
    use anchorcheck::scaffold::init::{InitError, InitRequest, plan};
    let request = InitRequest {
        pages: args.pages.clone(),
        repo: args.repo.clone(),
        rev: args.rev.clone(),
        out: args.out.clone(),
        append: args.append,
    };
    let plan = match plan(&request) {
        Ok(plan) => plan,
        Err(InitError::Anchors(e @ AnchorsError::Invalid { .. })) => {
            eprint_message(&e.to_string());
            return Ok(Exit::Unusable);
        }
        Err(e) => return Err(e.into()),
    };
    let written = plan.writes();
    if written {
        plan.write()?;
    }
    print_for_people(&plan.summary(), use_color(args.color))?;
    // Citations left out are the reviewer's to write by hand: the run says so with exit 1.
    Ok(if plan.scaffold.unresolved.is_empty() {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

fn run_explain(args: &ExplainArgs) -> anyhow::Result<Exit> {
    use anchorcheck::report::explain::{Subject, render_json, render_text};
    use anchorcheck::scaffold::explain::explain_at;
    use anchorcheck::scaffold::parse_location;
    use anchorcheck::source::GitRepo;
    let location = parse_location(&args.location)?;
    let snapshot = GitRepo::open(&args.repo)?.resolve(&args.rev)?;
    let explanation = explain_at(&snapshot, &location)?;
    let subject = Subject {
        path: &location.path,
        rev: &args.rev,
        commit: snapshot.commit.as_deref(),
    };
    match args.format {
        ExplainFormat::Text => {
            print_for_people(&render_text(&explanation, &subject), use_color(args.color))?
        }
        ExplainFormat::Json => print(&render_json(&explanation, &subject))?,
    }
    Ok(Exit::Verified)
}

/// Serves the language server on stdin and stdout until the client says `exit`.
fn run_lsp() -> anyhow::Result<Exit> {
    let (connection, io_threads) = lsp_server::Connection::stdio();
    let served = anchorcheck::lsp::serve(&connection);
    // The writer thread ends once the last sender is gone.
    drop(connection);
    let shut_down = served?;
    io_threads.join()?;
    // The protocol: 0 after `shutdown` then `exit`, 1 for an `exit` without `shutdown`.
    Ok(if shut_down {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::cli::Cli;

    /// clap's own consistency checks of every flag and subcommand (names, conflicts, defaults).
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
