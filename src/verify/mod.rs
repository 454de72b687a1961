//! Verdicts: maps cited ranges through history, reads and parses each file once, evaluates every
//! ref on its one tree, relocates what moved, and assembles the report in anchors.yaml order.

pub mod history;
pub mod relocate;

use std::collections::HashMap;

use rayon::prelude::*;

use crate::anchors::{AnchorsFile, Claim, Ref};
use crate::docs;
use crate::go::GoFile;
use crate::lines::{LineNo, LineRange};
use crate::report::{
    ClaimReport, Commit, Culprit, CulpritKind, Excerpt, How, Place, RefReport, Relocation, Report,
    Verdict,
};
use crate::source::history::{CommitInfo, Endpoint};
use crate::source::{Files, GitRepo, SourceError};
use history::{HistoryOutcome, Mapping, Tracked};
use relocate::{Candidate, OldDeclaration};

/// What to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Only these claim ids (all when empty).
    pub claims: Vec<String>,
}

/// Why verification could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("no claim with id `{id}` in anchors.yaml{hint}")]
    UnknownClaim { id: String, hint: String },
    /// A run that checks no ref would pass vacuously.
    #[error(
        "nothing to verify: the {claims} selected claim(s) have no refs (a green run must have checked something)"
    )]
    NothingToVerify { claims: usize },
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Describes the revision being verified, for the report header.
#[derive(Clone, Debug)]
pub struct RevisionInfo {
    pub repo: String,
    pub rev: String,
    pub commit: Option<String>,
}

/// Where history comes from when the files are a git revision.
#[derive(Clone, Debug)]
pub struct HistorySource<'a> {
    pub git: &'a GitRepo,
    /// The revision being verified.
    pub target: Endpoint,
    /// Its commit (HEAD's for the working tree; `None` in an empty repository).
    pub target_commit: Option<String>,
}

/// The claims selected by `options`, in file order; an unknown id is an error, never a pass.
pub fn select_claims<'a>(
    anchors: &'a AnchorsFile,
    options: &VerifyOptions,
) -> Result<Vec<&'a Claim>, VerifyError> {
    let ids: Vec<&str> = anchors.claims.iter().map(|c| c.id.value.as_str()).collect();
    for wanted in &options.claims {
        if !ids.contains(&wanted.as_str()) {
            let hint = crate::anchors::did_you_mean(wanted, &ids)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(VerifyError::UnknownClaim {
                id: wanted.clone(),
                hint,
            });
        }
    }
    Ok(anchors
        .claims
        .iter()
        .filter(|c| options.claims.is_empty() || options.claims.contains(&c.id.value))
        .collect())
}

/// One ref to verify, with where history says its lines are now.
struct Job<'a> {
    claim: usize,
    index: usize,
    r: &'a Ref,
    history: Option<HistoryOutcome>,
}

impl Job<'_> {
    fn mapping(&self) -> Option<&Mapping> {
        match &self.history {
            Some(HistoryOutcome::Mapped(m)) => Some(m),
            _ => None,
        }
    }

    /// The path and lines to check first: the history-mapped place, else the cited one.
    fn primary(&self) -> (&str, Option<LineRange>) {
        match self.mapping() {
            Some(m) => (&m.path, m.lines),
            None => (&self.r.path.value, Some(self.r.lines.value)),
        }
    }
}

/// Verifies the selected claims against `files` (with `history` when they come from git). Each
/// distinct path is read and parsed once, files in parallel; the report keeps anchors.yaml
/// order whatever the scheduling.
pub fn verify(
    anchors: &AnchorsFile,
    files: &dyn Files,
    history: Option<&HistorySource<'_>>,
    revision: RevisionInfo,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    let claims = select_claims(anchors, options)?;
    let mut jobs: Vec<Job<'_>> = claims
        .iter()
        .enumerate()
        .flat_map(|(ci, claim)| {
            claim.refs.iter().enumerate().map(move |(ri, r)| Job {
                claim: ci,
                index: ri,
                r,
                history: None,
            })
        })
        .collect();
    if jobs.is_empty() {
        return Err(VerifyError::NothingToVerify {
            claims: claims.len(),
        });
    }
    map_history(&mut jobs, history)?;

    // Group refs by the path they are checked at, so each file is read and parsed once.
    let mut by_path: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut path_slot: HashMap<&str, usize> = HashMap::new();
    for (j, job) in jobs.iter().enumerate() {
        let (path, _) = job.primary();
        let slot = *path_slot.entry(path).or_insert_with(|| {
            by_path.push((path, Vec::new()));
            by_path.len() - 1
        });
        by_path[slot].1.push(j);
    }
    let evaluated: Vec<(usize, RefReport)> = by_path
        .par_iter()
        .flat_map_iter(|(path, members)| {
            let parsed = read_and_parse(files, path);
            members
                .iter()
                .map(|&j| (j, verify_job(&jobs[j], &parsed, files, history)))
                .collect::<Vec<_>>()
        })
        .collect();

    let mut slots: Vec<Vec<Option<RefReport>>> =
        claims.iter().map(|c| vec![None; c.refs.len()]).collect();
    for (j, report) in evaluated {
        slots[jobs[j].claim][jobs[j].index] = Some(report);
    }
    let checked = if anchors.docs.is_empty() {
        docs::DocsCheck::default()
    } else {
        check_docs(anchors)
    };
    let offsets = ref_offsets(anchors);
    let claims = claims
        .iter()
        .zip(slots)
        .map(|(claim, refs)| {
            let mut refs: Vec<RefReport> = refs.into_iter().flatten().collect();
            if let Some(&first) = offsets.get(claim.id.value.as_str()) {
                for (i, r) in refs.iter_mut().enumerate() {
                    r.cited_by = checked.cited_by.get(first + i).cloned().unwrap_or_default();
                }
            }
            let verdict = refs
                .iter()
                .map(|r| r.verdict)
                .max()
                .unwrap_or(Verdict::Verified);
            ClaimReport {
                id: claim.id.value.clone(),
                title: claim.title.clone(),
                status: claim.status,
                owner: claim.owner.clone(),
                verdict,
                refs,
            }
        })
        .collect();
    // The docs must agree with every ref, so disagreements count only when all claims are
    // verified; a page that cannot be read fails every run.
    let docs = if options.claims.is_empty() {
        checked.findings
    } else {
        let unreadable = |f: &docs::DocsFinding| f.is_unreadable_page();
        checked.findings.into_iter().filter(unreadable).collect()
    };
    Ok(Report {
        tool: format!("anchorcheck {}", env!("CARGO_PKG_VERSION")),
        repo: revision.repo,
        rev: revision.rev,
        commit: revision.commit,
        claims,
        docs,
        fix_command: None,
    })
}

/// Each claim's first ref's index among all refs of the file, by claim id: one map rather than
/// a scan per claim, which was quadratic on 100,000 claims.
fn ref_offsets(anchors: &AnchorsFile) -> HashMap<&str, usize> {
    let mut offsets = HashMap::with_capacity(anchors.claims.len());
    let mut offset = 0;
    for c in &anchors.claims {
        offsets.entry(c.id.value.as_str()).or_insert(offset);
        offset += c.refs.len();
    }
    offsets
}

fn check_docs(anchors: &AnchorsFile) -> docs::DocsCheck {
    let pages: Vec<(String, Result<String, String>)> = docs::read_pages(anchors)
        .into_iter()
        .map(|(name, _, text)| (name, text))
        .collect();
    let refs: Vec<docs::CitedRef<'_>> = anchors
        .claims
        .iter()
        .flat_map(|c| {
            c.refs.iter().map(|r| docs::CitedRef {
                claim: &c.id.value,
                path: &r.path.value,
                lines: r.lines.value,
            })
        })
        .collect();
    docs::check(&pages, &refs)
}

/// Maps every ref with `at` through history; refs without history get a note instead.
fn map_history(
    jobs: &mut [Job<'_>],
    history: Option<&HistorySource<'_>>,
) -> Result<(), VerifyError> {
    let with_at: Vec<usize> = (0..jobs.len())
        .filter(|&j| jobs[j].r.at.is_some())
        .collect();
    if with_at.is_empty() {
        return Ok(());
    }
    let Some(source) = history else {
        for j in with_at {
            jobs[j].history = Some(HistoryOutcome::Unavailable(
                "history unavailable: the files do not come from a git repository".to_string(),
            ));
        }
        return Ok(());
    };
    let tracked: Vec<Tracked<'_>> = with_at
        .iter()
        .map(|&j| {
            let r = jobs[j].r;
            Tracked {
                path: &r.path.value,
                lines: r.lines.value,
                at: r.at.as_ref().map_or("", |a| a.value.as_str()),
            }
        })
        .collect();
    let outcomes = history::map_through_history(
        source.git,
        &source.target,
        source.target_commit.as_deref(),
        &tracked,
    )?;
    for (j, outcome) in with_at.into_iter().zip(outcomes) {
        jobs[j].history = Some(outcome);
    }
    Ok(())
}

fn read_and_parse(files: &dyn Files, path: &str) -> Result<GoFile, String> {
    let blob = files.read(path).map_err(|p| p.to_string())?;
    GoFile::parse(blob.bytes).map_err(|e| e.to_string())
}

fn place(path: &str, lines: LineRange) -> Place {
    Place {
        path: path.to_string(),
        lines,
    }
}

fn commit(info: &CommitInfo) -> Commit {
    Commit {
        id: info.id.clone(),
        short: info.short.clone(),
        date: info.date.clone(),
        subject: info.subject.clone(),
    }
}

/// Verifies one ref: at its mapped place, then by symbol, then by search.
fn verify_job(
    job: &Job<'_>,
    parsed: &Result<GoFile, String>,
    files: &dyn Files,
    history: Option<&HistorySource<'_>>,
) -> RefReport {
    let r = job.r;
    let cited = r.lines.value;
    let (path, mapped) = job.primary();
    let mut report = RefReport {
        path: r.path.value.clone(),
        lines: cited,
        verdict: Verdict::Error,
        error: None,
        relocated: None,
        candidates: Vec::new(),
        expectations: Vec::new(),
        parse_errors: Vec::new(),
        excerpt: None,
        culprit: None,
        notes: Vec::new(),
        touched: None,
        cited_by: Vec::new(),
    };
    if let Some(HistoryOutcome::Unavailable(note)) = &job.history {
        report.notes.push(note.clone());
    }
    let file = match parsed {
        Ok(file) => file,
        Err(reason) => {
            report.error = Some(if path == r.path.value {
                reason.clone()
            } else {
                format!("{path} (renamed from {}): {reason}", r.path.value)
            });
            return report;
        }
    };
    let line_count = file.line_count();
    let checkable = mapped.filter(|m| m.end().get() <= line_count);
    if let Some(range) = checkable {
        report.expectations = relocate::evaluate_ref(r, file, range);
        report.parse_errors = file.parse_error_lines(range);
        if relocate::all_ok(&report.expectations) {
            if path == r.path.value && range == cited {
                report.verdict = Verdict::Verified;
            } else {
                report.verdict = Verdict::Drifted;
                report.relocated = Some(Relocation {
                    place: place(path, range),
                    how: How::History,
                });
                report.culprit = culprit(job, history, CulpritKind::Moved);
            }
            return report;
        }
        report.excerpt = Some(excerpt(file, range));
    } else if mapped.is_none() {
        report
            .notes
            .push("every cited line was deleted since `at`".to_string());
    }

    // The evidence is not at its (mapped) place: look for it by symbol, then by search.
    let old = old_context(job, file, history);
    let failed = checkable;
    let mut found =
        relocate::symbol_candidates(r, file, cited, &old.text, old.declaration.as_ref());
    let mut how = How::Symbol;
    let mut found_path = path.to_string();
    if found.is_empty()
        && let Some((other_path, candidates)) = symbol_in_package(r, files, path, cited, &old)
    {
        found = candidates;
        found_path = other_path;
    }
    if found.is_empty() {
        found = relocate::search_candidates(r, file, failed, cited, &old.text);
        how = How::Search;
    }
    match found.as_slice() {
        [] => {
            if checkable.is_none() && mapped.is_some() {
                report.error = Some(format!(
                    "lines {} are past the end of the file ({line_count} lines)",
                    mapped.unwrap_or(cited)
                ));
                report.verdict = Verdict::Error;
            } else {
                report.verdict = Verdict::Broken;
                report.culprit = culprit(job, history, CulpritKind::Broke);
            }
        }
        [one] => {
            report.verdict = Verdict::Drifted;
            report.relocated = Some(Relocation {
                place: place(&found_path, one.lines),
                how,
            });
            report.culprit = culprit(job, history, CulpritKind::Broke)
                .or_else(|| culprit(job, history, CulpritKind::Moved));
        }
        several => {
            report.verdict = Verdict::Ambiguous;
            report.candidates = several
                .iter()
                .map(|c: &Candidate| place(&found_path, c.lines))
                .collect();
        }
    }
    report
}

/// What the cited lines held before, for ranking candidates and keeping offsets.
struct OldContext {
    text: Vec<String>,
    declaration: Option<OldDeclaration>,
}

fn old_context(job: &Job<'_>, current: &GoFile, history: Option<&HistorySource<'_>>) -> OldContext {
    let r = job.r;
    let cited = r.lines.value;
    // With `at`, the file as it was there; else the cited lines of the current file.
    let old_file = match (history, &r.at, &job.history) {
        (Some(source), Some(at), Some(HistoryOutcome::Mapped(_))) => source
            .git
            .resolve(&at.value)
            .ok()
            .and_then(|snapshot| read_and_parse(&snapshot, &r.path.value).ok()),
        _ => None,
    };
    let file = old_file.as_ref().unwrap_or(current);
    let text = if cited.end().get() <= file.line_count() {
        (cited.start().get()..=cited.end().get())
            .filter_map(LineNo::new)
            .map(|l| file.line_text(l))
            .collect()
    } else {
        Vec::new()
    };
    let declaration = match (&old_file, &r.symbol) {
        (Some(old), Some(symbol)) => relocate::old_declaration(old, &symbol.value),
        _ => None,
    };
    OldContext { text, declaration }
}

/// The symbol's declaration in another file of the same package directory.
fn symbol_in_package(
    r: &Ref,
    files: &dyn Files,
    path: &str,
    cited: LineRange,
    old: &OldContext,
) -> Option<(String, Vec<Candidate>)> {
    r.symbol.as_ref()?;
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut found: Vec<(String, Vec<Candidate>)> = files
        .go_files_in(dir)
        .into_iter()
        .filter(|other| other != path)
        .filter_map(|other| {
            let file = read_and_parse(files, &other).ok()?;
            let candidates =
                relocate::symbol_candidates(r, &file, cited, &old.text, old.declaration.as_ref());
            (!candidates.is_empty()).then_some((other, candidates))
        })
        .collect();
    // A symbol is declared once per package; more than one file means the tree is unusual,
    // so list them all as candidates of the first rather than guess.
    match found.len() {
        0 => None,
        _ => Some(found.swap_remove(0)),
    }
}

/// The first commit at which the ref stopped verifying at its mapped place (`Broke`), or the
/// first that moved its lines (`Moved`).
fn culprit(
    job: &Job<'_>,
    history: Option<&HistorySource<'_>>,
    kind: CulpritKind,
) -> Option<Culprit> {
    let mapping = job.mapping()?;
    let cited_place = (job.r.path.value.as_str(), Some(job.r.lines.value));
    match kind {
        CulpritKind::Moved => mapping
            .steps
            .iter()
            .find(|s| (s.path.as_str(), s.lines) != cited_place)
            .and_then(|s| s.commit.as_ref())
            .map(|c| Culprit {
                kind,
                commit: commit(c),
            }),
        CulpritKind::Broke => {
            let source = history?;
            for step in &mapping.steps {
                let Some(info) = &step.commit else { continue };
                let holds = step.lines.is_some_and(|lines| {
                    source
                        .git
                        .resolve(&info.id)
                        .ok()
                        .and_then(|snapshot| read_and_parse(&snapshot, &step.path).ok())
                        .filter(|file| lines.end().get() <= file.line_count())
                        .is_some_and(|file| {
                            relocate::all_ok(&relocate::evaluate_ref(job.r, &file, lines))
                        })
                });
                if !holds {
                    return Some(Culprit {
                        kind,
                        commit: commit(info),
                    });
                }
            }
            None
        }
    }
}

fn excerpt(file: &GoFile, lines: LineRange) -> Excerpt {
    let text = (lines.start().get()..=lines.end().get())
        .filter_map(LineNo::new)
        .map(|l| file.line_text(l))
        .collect();
    Excerpt {
        first_line: lines.start(),
        lines: text,
    }
}
