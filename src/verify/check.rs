//! The first check of one ref and its outcome: at its (history-mapped) place, then, when the
//! evidence is not there, by its symbol, in its package and by search; a file that cannot be
//! read is a move, a deletion or an error.
//!
//! Takes one job and its file as parsed (or why it could not be); gives a `Draft` whose
//! outcome is settled, or left unset for a ref deferred until its history is known.

use crate::anchors::Ref;
use crate::budget;
use crate::go::GoFile;
use crate::lines::LineRange;
use crate::model::{CheckKind, ExpectationResult};
use crate::model::{Culprit, CulpritKind, Draft, How, Outcome, Relocation};
use crate::source::FileProblem;

use super::VerifyOptions;
use super::baseline;
use super::context::{
    OldContext, holding_at_cited_lines, note_unknown_symbol, old_context, renamed_directory_files,
    symbol_in_package,
};
use super::culprit::{broken_since, cited_lines_edited, edited_in, moved_detail, moved_in};
use super::evaluate;
use super::excerpt::{excerpt, place};
use super::hints;
use super::history::HistoryOutcome;
use super::job::Job;
use super::lineage::{Beyond, Lineage};
use super::parses::{Sources, Unreadable};
use super::relocate::{self, Candidate};
use super::settle::{Found, ranked, settle, settle_moved};
use super::shape::Shape;

/// A report for `job` with no outcome yet.
pub(super) fn new_report(job: &Job<'_>) -> Draft {
    let r = job.r;
    let mut report = Draft {
        path: r.path.value.clone(),
        lines: r.lines.value,
        outcome: None,
        expectations: Vec::new(),
        parse_errors: Vec::new(),
        excerpt: None,
        notes: Vec::new(),
        touched: None,
        checked: None,
        history_from: job.found_at.clone(),
        cited_by: Vec::new(),
    };
    if let Some(HistoryOutcome::Unavailable(note)) = job.history.as_deref() {
        report.notes.push(note.clone());
    }
    report.notes.extend(job.note.clone());
    if job.report_touch {
        report.touched = job.mapping().and_then(|m| m.touched.clone());
    }
    report
}

/// Completes a report whose expectations all hold at `range`, the job's (mapped) place:
/// verified there, or drifted when history moved it. With `keep` (the parsed file, for
/// `audit`) the lines are kept; a drifted ref's go with its relocation only, so every
/// excerpt's marks come from expectations evaluated on it.
pub(super) fn settle_verified(
    report: &mut Draft,
    job: &Job<'_>,
    range: LineRange,
    keep: Option<&GoFile>,
) {
    let (path, _) = job.primary();
    if path == job.r.path.value && range == job.r.lines.value {
        report.outcome = Some(Outcome::Verified);
        report.excerpt = keep.map(|file| Box::new(excerpt(file, range, true)));
    } else {
        report.outcome = Some(Outcome::Drifted {
            relocation: Box::new(Relocation {
                place: place(path, range),
                how: How::History,
                excerpt: keep.map(|file| excerpt(file, range, true)),
                expectations: if keep.is_some() {
                    report.expectations.clone()
                } else {
                    Vec::new()
                },
                detail: moved_detail(job),
                symbol: None,
            }),
            culprit: moved_in(job).map(Box::new),
        });
    }
}

/// Settles the report of a ref whose expectations all hold at `range` of `file`, its (mapped)
/// place: broken when a guard it cited was narrowed since `at`, or when it holds only thanks to
/// lines added since `at` past a cited construct that changed and no longer holds; else
/// verified there, or drifted.
///
/// With `within`, `file` is a partial tree answering as the whole file only about those lines
/// (the declarations around `range`), and only "verified" or "drifted" is settled on it: where
/// telling a weakening apart asks about lines past them, or finds one, or compares guards with
/// `at`, this returns false with `report` untouched, and the whole file settles the ref.
pub(super) fn settle_held(
    report: &mut Draft,
    job: &Job<'_>,
    file: &GoFile,
    src: &Sources<'_>,
    range: LineRange,
    keep: bool,
    within: Option<LineRange>,
) -> bool {
    let r = job.r;
    let (path, _) = job.primary();
    if within.is_some() && baseline::applies(job) {
        return false;
    }
    // A guard narrowed since `at` holds on its own terms: broken where it is.
    if baseline::settle_narrowed(report, job, src, file, range, keep) {
        return true;
    }
    // Holding only thanks to lines added since `at`, past a cited construct that changed and
    // no longer holds, is a weakening, not drift.
    let lineage = cited_lines_edited(job)
        .then(|| Lineage::of(job, Some(file), src, false))
        .flatten();
    let padded = match lineage.map(|lineage| lineage.padded(r, file, range, within)) {
        Some(Ok(padded)) => padded,
        Some(Err(Beyond)) => return false,
        None => None,
    };
    if let Some((span, results)) = padded {
        if within.is_some() {
            return false;
        }
        report.expectations = results;
        report.checked = Some(Box::new(place(path, span)));
        report.parse_errors = file.parse_error_lines(span);
        report.excerpt = Some(Box::new(excerpt(file, span, keep)));
        report.outcome = Some(Outcome::Broken {
            culprit: edited_in(job).map(Box::new),
        });
        note_unknown_symbol(report, r, file, path, src);
        return true;
    }
    settle_verified(report, job, range, keep.then_some(file));
    note_unknown_symbol(report, r, file, path, src);
    true
}

/// Verifies one ref: at its mapped place, then by symbol, then by search. The report has no
/// outcome when the ref is deferred (checked again once its history is known) or its check was
/// cut short (the caller says so).
pub(super) fn verify_job(
    job: &Job<'_>,
    parsed: &Result<GoFile, Unreadable>,
    src: &Sources<'_>,
    options: &VerifyOptions,
) -> Draft {
    let keep = options.keep_excerpts;
    let r = job.r;
    let cited = r.lines.value;
    let (path, mapped) = job.primary();
    let mut report = new_report(job);
    let file = match parsed {
        Ok(file) => file,
        // Verified again once its history is known.
        Err(_) if job.defer => return report,
        Err(why) => {
            unreadable(&mut report, job, why, src, keep);
            return report;
        }
    };
    let line_count = file.line_count();
    let checkable = mapped.filter(|m| m.end().get() <= line_count);
    if let Some(range) = checkable {
        if path != r.path.value || range != cited {
            report.checked = Some(Box::new(place(path, range)));
        }
        report.expectations = evaluate::evaluate_ref(r, file, range);
        report.parse_errors = file.parse_error_lines(range);
        if evaluate::all_ok(&report.expectations) {
            settle_held(&mut report, job, file, src, range, keep, None);
            return report;
        }
        report.excerpt = Some(Box::new(excerpt(file, range, keep)));
    } else if mapped.is_none() {
        // History stops mapping a range once its every line is deleted: its last step did.
        let when = job
            .mapping()
            .and_then(|m| m.steps.last())
            .filter(|s| s.lines.is_none())
            .and_then(|s| s.commit.as_ref())
            .map(|c| format!(", in {} {} '{}'", c.short, c.date, c.subject))
            .unwrap_or_default();
        report
            .notes
            .push(format!("every cited line was deleted since `at`{when}"));
    }
    // A range past the end was read and is searched like any failing one.
    let past_end = mapped.filter(|m| m.end().get() > line_count).map(|m| {
        format!(
            "{} past the end: the file now has {line_count} lines",
            past_end_phrase(m)
        )
    });

    if job.defer {
        // Verified again once its history is known.
        return report;
    }
    // What the cited code became since `at`, when history mapped it here.
    let lineage = Lineage::of(job, Some(file), src, true);
    // A statement history cut in two where a rewrite spread it over more lines is taken whole.
    if let (Some(lineage), Some(range)) = (&lineage, checkable)
        && let Some(whole) = lineage.complete(file, range)
    {
        let results = evaluate::evaluate_ref(r, file, whole);
        if evaluate::all_ok(&results) {
            report.expectations = results;
            report.parse_errors = file.parse_error_lines(whole);
            report.excerpt = None;
            report.checked =
                (path != r.path.value || whole != cited).then(|| Box::new(place(path, whole)));
            // The statement taken whole holds on its own terms; a guard in it narrowed since
            // `at` is still a weakening (a bypass added in the commit that re-wrapped it).
            if baseline::settle_narrowed(&mut report, job, src, file, whole, keep) {
                return report;
            }
            settle_verified(&mut report, job, whole, keep.then_some(file));
            if let Some(Outcome::Drifted { culprit, .. }) = &mut report.outcome
                && culprit.is_none()
            {
                // History kept the cited line numbers: the rewrite moved the range's end.
                *culprit = broken_since(job, src).map(|c| {
                    Box::new(Culprit {
                        kind: CulpritKind::Moved,
                        ..c
                    })
                });
            }
            note_unknown_symbol(&mut report, r, file, path, src);
            return report;
        }
    }
    if settle_moved(&mut report, job, src, Some(file), keep) {
        return report;
    }
    // The evidence is not at its (mapped) place: look for it by symbol, then by search.
    let old = old_context(job, file, src);
    let failed = checkable;
    let in_file = |candidates: Vec<Candidate>, how: How| -> Vec<crate::model::Candidate> {
        candidates
            .into_iter()
            .map(|c| ranked(place(path, c.lines), how, &c, true))
            .collect()
    };
    let mut how = How::Symbol;
    // Evidence weakened where it is was not moved: looking elsewhere would let a weakened
    // guard hide behind another one.
    let history = job.mapping().is_some();
    let weakened = failed.is_some_and(|range| evaluate::weakened_in_place(r, file, range, history));
    let mut found = Vec::new();
    if !weakened {
        found = in_file(
            relocate::symbol_candidates(
                r,
                file,
                cited,
                &old.text,
                old.declaration.as_ref(),
                &old.shape,
            ),
            How::Symbol,
        );
    }
    if found.is_empty() && !weakened {
        found = symbol_in_package(r, src, path, cited, &old);
    }
    if found.is_empty() && !weakened {
        let work = relocate::search_work(r, file);
        if work > relocate::SEARCH_WORK_LIMIT {
            report.outcome = Some(Outcome::Error(format!(
                "the evidence is not at {path}:{} and searching the file's {} top-level declarations for it would exceed the relocation budget ({work} of {} steps); cite it again, or add `symbol`",
                checkable.unwrap_or(cited),
                file.root().child_count(),
                relocate::SEARCH_WORK_LIMIT,
            )));
            return report;
        }
        // A search the run's budget cannot pay for whole is not started (and the caller
        // reports the ref cut short).
        if budget::would_exceed(relocate::search_steps(r, file)) {
            budget::cut();
            return report;
        }
        found = in_file(
            relocate::search_candidates(
                r,
                file,
                failed,
                cited,
                &old.text,
                &old.shape,
                old.enclosing.as_deref(),
            ),
            How::Search,
        );
        how = How::Search;
    }
    // Only where the cited code went: not to code that was there already, and not past a
    // cited construct still in the file that no longer holds.
    if let Some(lineage) = &lineage {
        found = lineage.vet(r, found, Some(file), &mut report.notes);
    }
    let found = Found { places: found, how };
    settle(&mut report, found, Some(file), keep, job, src);
    let broken = matches!(report.outcome, Some(Outcome::Broken { .. }));
    if let (Some(lineage), Some(range), true) = (&lineage, failed, broken) {
        lineage.name_changed_line(&mut report, file, range);
    }
    if let Some(past_end) = past_end {
        if broken && report.expectations.is_empty() {
            report.expectations = failed_unchecked(r, &past_end);
        } else {
            report.notes.push(past_end);
        }
    }
    note_unknown_symbol(&mut report, r, file, path, src);
    report
}

/// `line 120 is` or `lines 120-130 are`.
fn past_end_phrase(range: LineRange) -> String {
    if range.len() == 1 {
        format!("line {range} is")
    } else {
        format!("lines {range} are")
    }
}

/// One failed result per expectation of `r` (its symbol's for a ref with none), all saying
/// `message`: for evidence that could not be evaluated because it is gone.
pub(super) fn failed_unchecked(r: &Ref, message: &str) -> Vec<ExpectationResult> {
    let kinds: Vec<CheckKind> = if r.expect.is_empty() {
        vec![CheckKind::Symbol]
    } else {
        r.expect.iter().map(|e| e.kind_of().into()).collect()
    };
    kinds
        .into_iter()
        .map(|kind| ExpectationResult::unchecked(kind, message.to_string()))
        .collect()
}

/// The report of a ref whose file could not be parsed: moved to another file of its package
/// (drifted), deleted since `at` (broken, with the commit), else an error saying why, with the
/// nearest existing paths for a missing one.
pub(super) fn unreadable(
    report: &mut Draft,
    job: &Job<'_>,
    why: &Unreadable,
    src: &Sources<'_>,
    keep: bool,
) {
    let r = job.r;
    let (path, _) = job.primary();
    if settle_moved(report, job, src, None, keep) {
        return;
    }
    // A symbol moved to another file of its package is drift, not a missing file.
    let old = OldContext {
        text: Vec::new(),
        declaration: None,
        enclosing: None,
        shape: Shape::of_length(r.lines.value),
    };
    let mut moved = symbol_in_package(r, src, path, r.lines.value, &old);
    if let Some(lineage) = Lineage::of(job, None, src, false) {
        moved = lineage.vet(r, moved, None, &mut report.notes);
    }
    if !moved.is_empty() {
        report.notes.push(format!("{path}: {why}"));
        let found = Found {
            places: moved,
            how: How::Symbol,
        };
        settle(report, found, None, keep, job, src);
        return;
    }
    // History saw the file deleted: the evidence is gone, which is not a read failure.
    if let Some(mapping) = job.mapping().filter(|m| m.file_gone) {
        let when = match &mapping.deleted_in {
            Some(c) => format!("in {} {} '{}'", c.short, c.date, c.subject),
            None => "in the working tree".to_string(),
        };
        report.expectations = failed_unchecked(r, &format!("{path} was deleted {when}"));
        report.outcome = Some(Outcome::Broken {
            culprit: mapping.deleted_in.as_ref().map(|c| {
                Box::new(Culprit {
                    kind: CulpritKind::Broke,
                    commit: c.as_ref().into(),
                })
            }),
        });
        return;
    }
    if matches!(why, Unreadable::File(FileProblem::Missing))
        && renamed_directory(report, job, src, keep, &old)
    {
        return;
    }
    let hint = match why {
        Unreadable::File(FileProblem::Missing) => {
            hints::did_you_mean(&hints::similar_paths(path, &src.files.go_paths()))
        }
        _ => String::new(),
    };
    report.outcome = Some(Outcome::Error(if path == r.path.value {
        format!("{why}{hint}")
    } else {
        format!("{path} (renamed from {}): {why}{hint}", r.path.value)
    }));
}

/// A missing file history did not follow (no `at`, or a rename beyond `--history-depth`) is
/// looked for where its directory may have gone: the same file name in a directory of the same
/// name. Holding at the cited lines there (or at its `symbol`): drifted, and `fix` rewrites the
/// path. A file ending with the whole cited path that no longer holds it: broken, the cited
/// file being found and its evidence gone. False when neither, for the caller's error.
fn renamed_directory(
    report: &mut Draft,
    job: &Job<'_>,
    src: &Sources<'_>,
    keep: bool,
    old: &OldContext,
) -> bool {
    let r = job.r;
    let (path, _) = job.primary();
    let files = renamed_directory_files(path, src);
    if files.is_empty() {
        return false;
    }
    let mut how = How::Search;
    let mut found = holding_at_cited_lines(r, &files, src);
    if found.is_empty() && r.symbol.is_some() {
        how = How::Symbol;
        for other in &files {
            let Ok(file) = src.parses.read_whole(src.files, other) else {
                continue;
            };
            found.extend(
                relocate::symbol_candidates(r, &file, r.lines.value, &[], None, &old.shape)
                    .into_iter()
                    .map(|c| ranked(place(other, c.lines), How::Symbol, &c, false)),
            );
        }
    }
    let suffix = format!("/{path}");
    if found.is_empty() {
        let Some(same) = files.iter().find(|f| f.ends_with(&suffix)) else {
            return false;
        };
        report.expectations = failed_unchecked(
            r,
            &format!(
                "{path} is not at this revision, and {same}, where its directory went, does not hold the evidence"
            ),
        );
        report.outcome = Some(Outcome::Broken { culprit: None });
        return true;
    }
    report.notes.push(format!(
        "{path} is not at this revision; history did not reach its move, and the evidence holds in {}",
        found
            .iter()
            .map(|c| format!("{}:{}", c.place.path, c.place.lines))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    settle(report, Found { places: found, how }, None, keep, job, src);
    true
}
