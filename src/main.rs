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
use std::sync::{Arc, OnceLock};

use anchorcheck::anchors::{self, AnchorsError, AnchorsFile};
use anchorcheck::fix;
use anchorcheck::report::links::Links;
use anchorcheck::report::{
    Commit, Report, Verdict, audit, github, html, json, junit, markdown, sarif, text, workflow,
};
use anchorcheck::source::{GitRepo, Snapshot};
use anchorcheck::verify::cache::CacheKey;
use anchorcheck::verify::progress::Progress;
use anchorcheck::verify::{self, HistorySource, RevisionInfo, VerifyOptions};
use anyhow::Context as _;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use cli::{
    AuditArgs, Cli, ColorChoice, Command, DiffArgs, Exit, ExplainArgs, ExplainFormat, FixArgs,
    Format, InitArgs, OutputArgs, TargetArgs, VerifyArgs,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Verify(args) => run_verify(&args),
        Command::Fix(args) => run_fix(&args),
        Command::Diff(args) => run_diff(&args),
        Command::Audit(args) => run_audit(&args),
        Command::Init(args) => run_init(&args),
        Command::Explain(args) => run_explain(&args),
        Command::Schema => print(anchorcheck::scaffold::SCHEMA).map(|()| Exit::Verified),
    };
    match exit {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprint_message(&format!("error: {e:#}"));
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
            eprint_message(&e.to_string());
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
        .or_else(|| anchors.rev.as_ref().map(|r| r.value.clone()))
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

/// Resolves `base` to the commit every ref is followed from.
fn resolve_base(target: &Target, base: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(base) = base else { return Ok(None) };
    let snapshot = target.snapshot.git().resolve(base)?;
    match snapshot.commit {
        Some(commit) if !snapshot.is_worktree() => Ok(Some(commit)),
        _ => anyhow::bail!("--base must name a commit, not `{base}`"),
    }
}

fn run(
    target: &Target,
    args: &TargetArgs,
    base: Option<&str>,
    keep_excerpts: bool,
) -> anyhow::Result<Report> {
    let history = HistorySource {
        git: target.snapshot.git(),
        target: target.snapshot.endpoint(),
        target_commit: target.snapshot.commit.clone(),
    };
    let bar = Arc::new(OnceLock::<ProgressBar>::new());
    let options = VerifyOptions {
        claims: args.claims.clone(),
        base: resolve_base(target, base)?,
        progress: std::io::stderr()
            .is_terminal()
            .then(|| progress_bar(Arc::clone(&bar))),
        keep_excerpts,
        cache: args.cache.clone(),
        cache_key: cache_key(),
        whole_files: args.whole_files,
        history_depth: args.history_depth,
    };
    let report = verify::verify(
        &target.anchors,
        &target.snapshot,
        Some(&history),
        target.info.clone(),
        &options,
    );
    if let Some(bar) = bar.get() {
        bar.finish_and_clear();
    }
    Ok(report?)
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

/// Prints text for people. In a GitHub Actions log it is wrapped in `::stop-commands::` with a
/// random token, so the repository text it quotes (titles, paths, Go comments) cannot issue
/// workflow commands; should no random token be had, every command start is broken instead.
fn print_for_people(text: &str) -> anyhow::Result<()> {
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
    if in_github_actions() {
        eprintln!("{}", workflow::neutralise(message));
    } else {
        eprintln!("{message}");
    }
}

fn run_verify(args: &VerifyArgs) -> anyhow::Result<Exit> {
    let Some(target) = prepare(&args.target)? else {
        return Ok(Exit::Unusable);
    };
    check(&target, &args.target, None, &args.output)
}

/// Verifies (from `base`, for `diff`), prints the report in the asked format, and maps the
/// outcome to the exit code.
fn check(
    target: &Target,
    args: &TargetArgs,
    base: Option<&str>,
    output: &OutputArgs,
) -> anyhow::Result<Exit> {
    let mut report = run(target, args, base, false)?;
    report.fix_command = fix_command(&report, args, base);
    report.links = links(target, output.link_base.as_deref());
    for (format, path) in &output.outputs {
        // Colour is for terminals; a file never gets it.
        let text = render(&report, *format, ColorChoice::Never);
        fix::write::write_atomically(path, text.as_bytes()).with_context(|| {
            format!(
                "cannot write the {} report to {}",
                format!("{format:?}").to_lowercase(),
                path.display()
            )
        })?;
    }
    let rendered = render(&report, output.format, output.color);
    if output.format == Format::Text {
        print_for_people(&rendered)?;
    } else {
        // Machine formats escape what could start a workflow command themselves, and may be
        // redirected to a file that must stay valid JSON, SARIF, XML or Markdown.
        print(&rendered)?;
    }
    Ok(if report.passed(output.allow_drift) {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

/// How the report links to cited code: `--link-base`, else a GitHub or GitLab `origin` remote
/// (a host equal to `$GITHUB_SERVER_URL`'s counts as GitHub). None for `WORKTREE`: uncommitted
/// line numbers belong to no commit a link could name.
fn links(target: &Target, link_base: Option<&str>) -> Option<Links> {
    if target.snapshot.is_worktree() {
        return None;
    }
    let commit = target.snapshot.commit.as_deref()?;
    if let Some(base) = link_base {
        return Some(Links::from_base(base, commit));
    }
    let url = target.snapshot.git().remote_url("origin")?;
    let server = std::env::var("GITHUB_SERVER_URL").ok();
    let github_host = server
        .as_deref()
        .and_then(|s| s.split_once("://"))
        .map(|(_, host)| host.trim_end_matches('/'));
    Links::from_remote(&url, github_host, commit)
}

/// The exact `fix` invocation that rewrites the drift of `report`, when something drifted.
fn fix_command(report: &Report, args: &TargetArgs, base: Option<&str>) -> Option<String> {
    let drifted = report
        .claims
        .iter()
        .flat_map(|c| &c.refs)
        .any(|r| r.verdict == Verdict::Drifted);
    if !drifted {
        return None;
    }
    let mut command = String::from("anchorcheck fix");
    if let Some(anchors) = &args.anchors {
        command.push_str(&format!(
            " --anchors {}",
            shell_word(&anchors.display().to_string())
        ));
    }
    if let Some(repo) = &args.repo {
        command.push_str(&format!(
            " --repo {}",
            shell_word(&repo.display().to_string())
        ));
    }
    if let Some(base) = base {
        command.push_str(&format!(" --base {}", shell_word(base)));
    }
    command.push_str(&format!(" --rev {}", shell_word(&report.rev)));
    // A run limited to some claims is fixed the same way, leaving the other refs alone.
    for claim in &args.claims {
        command.push_str(&format!(" --claim {}", shell_word(claim)));
    }
    Some(command)
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./~^@:=+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn run_diff(args: &DiffArgs) -> anyhow::Result<Exit> {
    let target_args = args.target();
    let Some(target) = prepare(&target_args)? else {
        return Ok(Exit::Unusable);
    };
    check(&target, &target_args, Some(&args.base), &args.output)
}

fn run_fix(args: &FixArgs) -> anyhow::Result<Exit> {
    let Some(target) = prepare(&args.target)? else {
        return Ok(Exit::Unusable);
    };
    let mut report = run(&target, &args.target, args.base.as_deref(), false)?;
    let picked = args.pick.map(|n| fix::pick(&mut report, n)).transpose()?;
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
    let git = target.snapshot.git();
    let is_fixed = |name: &str| git.names_fixed_revision(name);
    let revisions = fix::Revisions {
        is_fixed: &is_fixed,
        keep_pinned: args.keep_pinned,
    };
    let plan = fix::plan(
        &target.anchors,
        &target.source,
        &report,
        commit,
        &pages,
        &revisions,
    )?;
    let cwd = std::env::current_dir()?;
    let display = |p: &Path| p.strip_prefix(&cwd).unwrap_or(p).display().to_string();
    let mut out = String::new();
    if let Some(p) = &picked {
        out.push_str(&format!(
            "picked candidate {} for claim {} ({}:{}): {}\n",
            p.index, p.claim, p.path, p.lines, p.candidate
        ));
    }
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
    if plan.history_stamped > 0 {
        out.push_str(&format!(
            "{} `at` on {} ref(s) left alone, from the commit where each last held\n",
            if args.dry_run { "would set" } else { "set" },
            plan.history_stamped
        ));
    }
    if let Some((old, new)) = &plan.rev {
        out.push_str(&format!(
            "{} rev: {old} -> {new} (the revision fix verified)\n",
            if args.dry_run { "would set" } else { "set" }
        ));
    }
    for link in &plan.kept_pinned {
        out.push_str(&format!(
            "kept pinned {}:{}:{}: the link names {}, its ref now cites {} ({})\n",
            display(&link.page),
            link.line,
            link.column,
            link.revision,
            link.now,
            link.reason
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
    print_for_people(&out)?;
    Ok(if plan.left_alone.is_empty() {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

fn run_audit(args: &AuditArgs) -> anyhow::Result<Exit> {
    let Some(target) = prepare(&args.target)? else {
        return Ok(Exit::Unusable);
    };
    let mut report = run(&target, &args.target, None, true)?;
    report.links = links(&target, args.link_base.as_deref());
    let resolved = match &target.snapshot.commit {
        Some(id) => target.snapshot.git().find_commit(id)?.map(|c| Commit {
            id: c.id,
            short: c.short,
            date: c.date,
            subject: c.subject,
        }),
        None => None,
    };
    match &args.html {
        Some(path) => {
            let page = html::render(&report, resolved.as_ref());
            fix::write::write_atomically(path, page.as_bytes())?;
            print_for_people(&format!(
                "wrote {} ({})\n",
                path.display(),
                report.summary()
            ))?;
        }
        None => {
            let style = audit::AuditStyle {
                color: use_color(args.color),
            };
            print_for_people(&audit::render(&report, resolved.as_ref(), style))?;
        }
    }
    // Like verify, so a nightly job can publish the page and still fail on bad evidence.
    Ok(if report.passed(false) {
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
            eprintln!("{e}");
            return Ok(Exit::Unusable);
        }
        Err(e) => return Err(e.into()),
    };
    let s = &plan.scaffold;
    let written = plan.before.as_deref() != Some(plan.after.as_str());
    if written {
        plan.write()?;
    }
    let refs: usize = s.claims.iter().map(|c| c.refs.len()).sum();
    let mut out = String::new();
    for u in &s.unresolved {
        out.push_str(&format!(
            "not scaffolded: {}:{}:{}: {}: {}\n",
            u.page, u.line, u.column, u.cited, u.reason
        ));
    }
    for note in &plan.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out.push_str(&format!(
        "{} {}: {} claims, {refs} refs from {} citations ({} already covered, {} not scaffolded)\n",
        if written {
            "wrote"
        } else {
            "nothing to add to"
        },
        plan.out.display(),
        s.claims.len(),
        s.citations,
        s.covered,
        s.unresolved.len()
    ));
    if written {
        out.push_str("review it, then run `anchorcheck verify`\n");
    }
    print(&out)?;
    // Citations left out are the reviewer's to write by hand: the run says so with exit 1.
    Ok(if s.unresolved.is_empty() {
        Exit::Verified
    } else {
        Exit::Failed
    })
}

fn run_explain(args: &ExplainArgs) -> anyhow::Result<Exit> {
    use anchorcheck::report::explain::{Subject, render_json, render_text};
    use anchorcheck::scaffold::{explain::explain, parse_location};
    use anchorcheck::source::Files;
    let location = parse_location(&args.location)?;
    let snapshot = GitRepo::open(&args.repo)?.resolve(&args.rev)?;
    let blob = snapshot
        .read(&location.path)
        .map_err(|problem| anyhow::anyhow!("{}: {problem}", location.path))?;
    let file = anchorcheck::go::GoFile::parse(blob.bytes)?;
    if location.lines.end().get() > file.line_count() {
        anyhow::bail!(
            "{}:{}: past the end of the file ({} lines)",
            location.path,
            location.lines,
            file.line_count()
        );
    }
    let explanation = explain(&file, location.lines);
    let subject = Subject {
        path: &location.path,
        rev: &args.rev,
        commit: snapshot.commit.as_deref(),
    };
    print(&match args.format {
        ExplainFormat::Text => render_text(&explanation, &subject),
        ExplainFormat::Json => render_json(&explanation, &subject),
    })?;
    Ok(Exit::Verified)
}
