//! `fix`: rewrites drifted refs in anchors.yaml and the matching docs citations by splicing the
//! exact byte spans of the scalars, so every other byte (comments, quoting, order, CRLF) stays.

pub mod approve;
pub mod command;
mod pick;
pub mod summary;

pub use pick::{Picked, pick};

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::anchors::{AnchorsFile, ByteSpan, Claim, Located, Ref};
use crate::atomic;
use crate::docs;
use crate::lines::LineRange;
use crate::model::{Outcome, RefReport, Report, Verdict};

/// One replacement of a byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
}

/// Why a fix could not be planned or written.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("{}: overlapping edits at bytes {at}; nothing was written", .path.display())]
    Overlap { path: PathBuf, at: usize },
    #[error("{}: the anchors file has no byte positions for `{what}`; nothing was written", .path.display())]
    NoSpan { path: PathBuf, what: String },
    #[error("{}: cannot read: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: anchors.yaml pins `rev: {pinned}`, but fix verified {rev}, which {why}; nothing was written",
        .path.display()
    )]
    PinnedRev {
        path: PathBuf,
        pinned: String,
        rev: String,
        why: &'static str,
    },
    #[error("no ref is ambiguous, so there is no candidate to pick")]
    NothingToPick,
    #[error(
        "{} refs are ambiguous ({}): pick for one at a time, selecting it with --claim",
        .refs.len(),
        .refs.join("; ")
    )]
    PickWhich { refs: Vec<String> },
    #[error("claim {claim} ({place}) has {count} candidates; --pick takes 1 to {count}")]
    NoSuchCandidate {
        claim: String,
        place: String,
        count: usize,
    },
    #[error(transparent)]
    Write(#[from] atomic::WriteError),
}

/// How `fix` treats revisions: docs links pinned to one, and a pinned `rev:`.
pub struct Revisions<'a> {
    /// Whether a revision name (in a link, or `rev:`) names code that never changes: a tag or
    /// a commit id, not a branch.
    pub is_fixed: &'a dyn Fn(&str) -> bool,
    /// Leave docs links pinned to a revision alone (and list them) instead of pinning them to
    /// the verified commit along with their new lines.
    pub keep_pinned: bool,
}

/// A docs link pinned to a revision that `fix` left alone although its ref moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptLink {
    pub page: PathBuf,
    /// 1-based line and column of the link in the page.
    pub line: u32,
    pub column: u32,
    /// The revision it is pinned to.
    pub revision: String,
    /// `path:lines` its ref now cites at the verified revision.
    pub now: String,
    /// Why it was kept.
    pub reason: &'static str,
}

/// Applies non-overlapping edits to `source`.
pub fn apply(path: &Path, source: &str, edits: &[Edit]) -> Result<String, FixError> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(source.len());
    let mut cursor = 0;
    for edit in sorted {
        if edit.range.start < cursor || edit.range.end > source.len() {
            return Err(FixError::Overlap {
                path: path.to_path_buf(),
                at: edit.range.start,
            });
        }
        out.push_str(&source[cursor..edit.range.start]);
        out.push_str(&edit.replacement);
        cursor = edit.range.end;
    }
    out.push_str(&source[cursor..]);
    Ok(out)
}

/// A file `fix` would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    /// The bytes read, to refuse writing when the file changed meanwhile.
    pub before: String,
    pub after: String,
}

/// A ref `fix` updated or left alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefOutcome {
    pub claim: String,
    pub path: String,
    pub lines: LineRange,
    pub verdict: Verdict,
    /// `path:lines` it now cites, for updated refs.
    pub now: Option<String>,
    /// For a ref left alone: why, from its report (`broken at line 212: fail_closed: ...`).
    pub why: Option<String>,
}

/// Everything `fix` will do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixPlan {
    pub changes: Vec<FileChange>,
    /// Drifted refs rewritten to their new place.
    pub relocated: Vec<RefOutcome>,
    /// Verified refs that only gained `at`.
    pub stamped: usize,
    /// Ambiguous, broken and error refs, which `fix` never moves.
    pub left_alone: Vec<RefOutcome>,
    /// Of those, refs without `at` that gained the one their history was followed from (the
    /// newest commit at which they held at their cited place).
    pub history_stamped: usize,
    /// Docs links pinned to a revision, left as they were.
    pub kept_pinned: Vec<KeptLink>,
    /// `rev:` before and after, when it pinned another revision than the one verified.
    pub rev: Option<(String, String)>,
}

/// A scalar rewritten with the quoting it had (`"201-248"` stays double-quoted).
fn requote(source: &str, span: ByteSpan, value: &str) -> String {
    match source.as_bytes().get(span.start) {
        Some(b'"') => format!("\"{value}\""),
        Some(b'\'') => format!("'{value}'"),
        _ => value.to_string(),
    }
}

fn span_edit<T>(
    anchors_path: &Path,
    source: &str,
    located: &Located<T>,
    what: &str,
    value: &str,
) -> Result<Edit, FixError> {
    let span = located.span.ok_or_else(|| FixError::NoSpan {
        path: anchors_path.to_path_buf(),
        what: what.to_string(),
    })?;
    Ok(Edit {
        range: span.start..span.end,
        replacement: requote(source, span, value),
    })
}

/// Inserts `at: COMMIT` after the ref's `lines` value: a new line with the keys' indentation in
/// a block mapping, `, at: COMMIT` in a flow mapping.
fn insert_at(anchors_path: &Path, source: &str, r: &Ref, commit: &str) -> Result<Edit, FixError> {
    let span = r.lines.span.ok_or_else(|| FixError::NoSpan {
        path: anchors_path.to_path_buf(),
        what: "lines".to_string(),
    })?;
    Ok(insert_key_after(
        source,
        span,
        "lines",
        r.position.column,
        &format!("at: {commit}"),
    ))
}

/// Inserts `entry` (`key: value`) into the mapping holding the scalar at `span`, whose key
/// is `key`: on a new line after it with the keys' indentation in a block mapping, as
/// `, entry` after it in a flow mapping. `column` (1-based) is the mapping's, should the key
/// not be found on its line.
pub(crate) fn insert_key_after(
    source: &str,
    span: ByteSpan,
    key: &str,
    column: u32,
    entry: &str,
) -> Edit {
    let rest = &source[span.end..];
    let next = rest.trim_start_matches([' ', '\t']).chars().next();
    if matches!(next, Some(',') | Some('}')) {
        return Edit {
            range: span.end..span.end,
            replacement: format!(", {entry}"),
        };
    }
    let line_end = rest.find('\n').map_or(source.len(), |i| span.end + i + 1);
    let newline = if source[..line_end].ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    // The column of the key is the column of the mapping's keys.
    let line_start = source[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let key_column = source[line_start..span.start]
        .rfind(key)
        .unwrap_or_else(|| (column as usize).saturating_sub(1));
    let indent: String = source[line_start..line_start + key_column]
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let prefix = if line_end == source.len() && !source.ends_with('\n') {
        newline
    } else {
        ""
    };
    Edit {
        range: line_end..line_end,
        replacement: format!("{prefix}{indent}{entry}{newline}"),
    }
}

/// The refs of `report` paired with the anchors refs they verified (claims may be filtered),
/// claims paired by id.
fn pairs<'a>(
    anchors: &'a AnchorsFile,
    report: &'a Report,
) -> Vec<(&'a Claim, &'a Ref, &'a RefReport)> {
    let by_id: HashMap<&str, &Claim> = anchors
        .claims
        .iter()
        .map(|c| (c.id.value.as_str(), c))
        .collect();
    report
        .claims
        .iter()
        .filter_map(|rc| {
            let claim = *by_id.get(rc.id.as_str())?;
            Some(
                claim
                    .refs
                    .iter()
                    .zip(&rc.refs)
                    .map(move |(r, rr)| (claim, r, rr)),
            )
        })
        .flatten()
        .collect()
}

/// The edit of a `rev:` that pins another revision than the one `report` verified, so that a
/// plain `verify` right after `fix` checks the lines `fix` wrote: the verified revision's name
/// when it is fixed too, else its commit id. Refused (with both revisions named) at the working
/// tree, which no commit names, and for a run limited to some claims, whose other refs still
/// cite the pinned revision's lines.
fn rev_edit(
    anchors: &AnchorsFile,
    source: &str,
    report: &Report,
    commit: Option<&str>,
    revisions: &Revisions<'_>,
) -> Result<Option<RevChange>, FixError> {
    let Some(pinned) = &anchors.rev else {
        return Ok(None);
    };
    if pinned.value == report.rev || !(revisions.is_fixed)(&pinned.value) {
        return Ok(None);
    }
    let refuse = |why| FixError::PinnedRev {
        path: anchors.path.clone(),
        pinned: pinned.value.clone(),
        rev: report.rev.clone(),
        why,
    };
    let Some(commit) = commit else {
        return Err(refuse(
            "no commit names (run fix with --rev naming a commit or tag)",
        ));
    };
    if report.claims.len() < anchors.claims.len() {
        return Err(refuse(
            "is not where the claims left out with --claim were checked (run fix on every claim)",
        ));
    }
    let new = if (revisions.is_fixed)(&report.rev) {
        report.rev.clone()
    } else {
        commit.to_string()
    };
    Ok(Some(RevChange {
        edit: span_edit(&anchors.path, source, pinned, "rev", &new)?,
        from: pinned.value.clone(),
        to: new,
    }))
}

/// A `rev:` that `fix` rewrites, and how.
struct RevChange {
    edit: Edit,
    from: String,
    to: String,
}

/// Why `fix` leaves a ref that is not drifted or verified alone, from its report: a broken
/// ref's first failing expectation, at the line it points at, and the commit that broke it;
/// an ambiguous ref's candidates; an error. `fix` rewrites only drifted refs, so a weakened
/// line is never hidden inside a rewritten citation.
fn why_left_alone(rr: &RefReport) -> String {
    match &rr.outcome {
        Outcome::Broken { culprit } => {
            let checked = rr.checked.as_ref().map_or(&rr.path, |c| &c.path);
            let mut why = match rr.expectations.iter().find(|e| !e.ok) {
                Some(e) => {
                    let at = match e.near_miss {
                        Some(line) if *checked == rr.path => format!(" at line {line}"),
                        Some(line) => format!(" at {checked}:{line}"),
                        None => String::new(),
                    };
                    format!("broken{at}: {}: {}", e.kind, e.message)
                }
                None => "broken".to_string(),
            };
            if let Some(culprit) = culprit {
                why.push_str(&format!(" ({culprit})"));
            }
            why
        }
        Outcome::Ambiguous(candidates) => format!(
            "ambiguous: its evidence holds at {} places (take one with --pick N)",
            candidates.len()
        ),
        Outcome::Error(why) => format!("error: {why}"),
        outcome => outcome.verdict().to_string(),
    }
}

/// Plans the rewrite of `anchors` (read from `source`) and its docs pages after `report`.
/// `commit` is the verified commit written as `at`; `None` (the working tree) writes no `at`.
pub fn plan(
    anchors: &AnchorsFile,
    source: &str,
    report: &Report,
    commit: Option<&str>,
    docs_pages: &[(PathBuf, String)],
    revisions: &Revisions<'_>,
) -> Result<FixPlan, FixError> {
    let mut plan = FixPlan::default();
    let mut edits: Vec<Edit> = Vec::new();
    if let Some(change) = rev_edit(anchors, source, report, commit, revisions)? {
        edits.push(change.edit);
        plan.rev = Some((change.from, change.to));
    }
    // (old path, old lines) -> (new path, new lines) for the docs.
    let mut moves: Vec<(String, LineRange, String, LineRange)> = Vec::new();
    let path = anchors.path.as_path();
    for (claim, r, rr) in pairs(anchors, report) {
        let outcome = |now: Option<String>| RefOutcome {
            claim: claim.id.value.clone(),
            path: r.path.value.clone(),
            lines: r.lines.value,
            verdict: rr.verdict(),
            now,
            why: None,
        };
        match &rr.outcome {
            Outcome::Drifted {
                relocation: reloc, ..
            } => {
                let new = &reloc.place;
                if new.lines != r.lines.value {
                    edits.push(span_edit(
                        path,
                        source,
                        &r.lines,
                        "lines",
                        &new.lines.to_string(),
                    )?);
                }
                if new.path != r.path.value {
                    edits.push(span_edit(path, source, &r.path, "path", &new.path)?);
                }
                // The function the evidence is in now, when the cited one was renamed or the
                // code moved out of it.
                if let (Some(symbol), Some(now)) = (&r.symbol, &reloc.symbol) {
                    edits.push(span_edit(path, source, symbol, "symbol", now)?);
                }
                if let Some(commit) = commit {
                    match &r.at {
                        Some(at) => edits.push(span_edit(path, source, at, "at", commit)?),
                        None => edits.push(insert_at(path, source, r, commit)?),
                    }
                }
                moves.push((
                    r.path.value.clone(),
                    r.lines.value,
                    new.path.clone(),
                    new.lines,
                ));
                plan.relocated
                    .push(outcome(Some(format!("{}:{}", new.path, new.lines))));
            }
            // A ref that needs review is where it was cited: `fix` stamps it like a verified
            // one and never approves it.
            Outcome::Verified | Outcome::NeedsReview { .. } => {
                if let (Some(commit), None) = (commit, &r.at) {
                    edits.push(insert_at(path, source, r, commit)?);
                    plan.stamped += 1;
                }
            }
            _ => {
                // Where the lines last held is true whatever happened since; with it written,
                // the next run follows history without looking for it.
                if let (Some(found), None) = (&rr.history_from, &r.at) {
                    edits.push(insert_at(path, source, r, found)?);
                    plan.history_stamped += 1;
                }
                plan.left_alone.push(RefOutcome {
                    why: Some(why_left_alone(rr)),
                    ..outcome(None)
                });
            }
        }
    }
    if !edits.is_empty() {
        let after = apply(path, source, &edits)?;
        plan.changes.push(FileChange {
            path: anchors.path.clone(),
            before: source.to_string(),
            after,
        });
    }
    for (page_path, text) in docs_pages {
        let mut page_edits = Vec::new();
        for citation in docs::scan(text) {
            let Some((old_path, _, new_path, new_lines)) = moves
                .iter()
                .find(|(p, l, _, _)| citation.names(p) && citation.lines == *l)
            else {
                continue;
            };
            match citation_edits(&citation, old_path, new_path, *new_lines, commit, revisions) {
                Ok(edits) => page_edits.extend(edits),
                Err((revision, reason)) => plan.kept_pinned.push(KeptLink {
                    page: page_path.clone(),
                    line: citation.line,
                    column: citation.column,
                    revision,
                    now: format!("{new_path}:{new_lines}"),
                    reason,
                }),
            }
        }
        if !page_edits.is_empty() {
            let after = apply(page_path, text, &page_edits)?;
            plan.changes.push(FileChange {
                path: page_path.clone(),
                before: text.clone(),
                after,
            });
        }
    }
    Ok(plan)
}

/// The edits that make `citation` cite `new_path:new_lines` now that its ref moved there from
/// `old_path`. A link pinned to a fixed revision names the code there, so new lines alone would
/// point it at other code: it is pinned to the verified `commit` along with them, or kept as it
/// is (`Err` with its revision and why).
fn citation_edits(
    citation: &docs::Citation,
    old_path: &str,
    new_path: &str,
    new_lines: LineRange,
    commit: Option<&str>,
    revisions: &Revisions<'_>,
) -> Result<Vec<Edit>, (String, &'static str)> {
    let pinned = citation
        .revision
        .as_ref()
        .filter(|r| (revisions.is_fixed)(&r.name));
    let repin = match (pinned, commit) {
        (None, _) => None,
        (Some(r), _) if revisions.keep_pinned => return Err((r.name.clone(), "--keep-pinned")),
        (Some(r), None) => {
            return Err((
                r.name.clone(),
                "the working tree has no commit to pin it to",
            ));
        }
        (Some(r), Some(commit)) => Some((r, commit)),
    };
    let mut edits = vec![Edit {
        range: citation.lines_span.clone(),
        replacement: citation.format_lines(new_lines),
    }];
    if new_path != old_path {
        // The revision lies inside the path's span: rewrite both in one edit.
        let mut text = citation.renamed_path(old_path, new_path);
        if let Some((revision, commit)) = repin {
            let at = revision.span.start - citation.path_span.start;
            let end = revision.span.end - citation.path_span.start;
            if text.get(at..end) == Some(revision.name.as_str()) {
                text.replace_range(at..end, commit);
            }
        }
        edits.push(Edit {
            range: citation.path_span.clone(),
            replacement: text,
        });
    } else if let Some((revision, commit)) = repin {
        edits.push(Edit {
            range: revision.span.clone(),
            replacement: commit.to_string(),
        });
    }
    Ok(edits)
}

/// A unified diff of every planned change, as `--dry-run` prints it.
pub fn unified_diff(plan: &FixPlan, display: impl Fn(&Path) -> String) -> String {
    let mut out = String::new();
    for change in &plan.changes {
        let name = display(&change.path);
        let diff = similar::TextDiff::from_lines(&change.before, &change.after);
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{name}"), &format!("b/{name}"))
                .to_string(),
        );
    }
    out
}

/// Writes every planned change atomically, or none: refusing if any file changed since it was
/// read (checked again right before each rename), or is a symbolic link.
pub fn write_all(plan: &FixPlan) -> Result<(), FixError> {
    let files: Vec<atomic::Replacement<'_>> = plan
        .changes
        .iter()
        .map(|c| atomic::Replacement {
            path: &c.path,
            expected: c.before.as_bytes(),
            contents: c.after.as_bytes(),
        })
        .collect();
    atomic::replace_all(&files)?;
    Ok(())
}
