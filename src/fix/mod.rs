//! `fix`: rewrites drifted refs in anchors.yaml and the matching docs citations by splicing the
//! exact byte spans of the scalars, so every other byte (comments, quoting, order, CRLF) stays.

pub mod write;

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::anchors::{AnchorsFile, ByteSpan, Claim, Located, Ref};
use crate::docs;
use crate::lines::LineRange;
use crate::report::{RefReport, Report, Verdict};

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
    #[error(transparent)]
    Write(#[from] write::WriteError),
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
}

/// Everything `fix` will do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixPlan {
    pub changes: Vec<FileChange>,
    /// Drifted refs rewritten to their new place.
    pub relocated: Vec<RefOutcome>,
    /// Verified refs that only gained `at`.
    pub stamped: usize,
    /// Ambiguous, broken and error refs, which `fix` never touches.
    pub left_alone: Vec<RefOutcome>,
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
    let rest = &source[span.end..];
    let next = rest.trim_start_matches([' ', '\t']).chars().next();
    if matches!(next, Some(',') | Some('}')) {
        return Ok(Edit {
            range: span.end..span.end,
            replacement: format!(", at: {commit}"),
        });
    }
    let line_end = rest.find('\n').map_or(source.len(), |i| span.end + i + 1);
    let newline = if source[..line_end].ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    // The column of the `lines` key is the column of the ref's keys.
    let line_start = source[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let key_column = source[line_start..span.start]
        .find("lines")
        .unwrap_or_else(|| (r.position.column as usize).saturating_sub(1));
    let indent: String = source[line_start..line_start + key_column]
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let prefix = if line_end == source.len() && !source.ends_with('\n') {
        newline
    } else {
        ""
    };
    Ok(Edit {
        range: line_end..line_end,
        replacement: format!("{prefix}{indent}at: {commit}{newline}"),
    })
}

/// The refs of `report` paired with the anchors refs they verified (claims may be filtered).
fn pairs<'a>(
    anchors: &'a AnchorsFile,
    report: &'a Report,
) -> Vec<(&'a Claim, &'a Ref, &'a RefReport)> {
    report
        .claims
        .iter()
        .filter_map(|rc| {
            let claim = anchors.claims.iter().find(|c| c.id.value == rc.id)?;
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

/// Plans the rewrite of `anchors` (read from `source`) and its docs pages after `report`.
/// `commit` is the verified commit written as `at`; `None` (the working tree) writes no `at`.
pub fn plan(
    anchors: &AnchorsFile,
    source: &str,
    report: &Report,
    commit: Option<&str>,
    docs_pages: &[(PathBuf, String)],
) -> Result<FixPlan, FixError> {
    let mut plan = FixPlan::default();
    let mut edits: Vec<Edit> = Vec::new();
    // (old path, old lines) -> (new path, new lines) for the docs.
    let mut moves: Vec<(String, LineRange, String, LineRange)> = Vec::new();
    let path = anchors.path.as_path();
    for (claim, r, rr) in pairs(anchors, report) {
        let outcome = |now: Option<String>| RefOutcome {
            claim: claim.id.value.clone(),
            path: r.path.value.clone(),
            lines: r.lines.value,
            verdict: rr.verdict,
            now,
        };
        match (rr.verdict, &rr.relocated) {
            (Verdict::Drifted, Some(reloc)) => {
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
            (Verdict::Verified, _) => {
                if let (Some(commit), None) = (commit, &r.at) {
                    edits.push(insert_at(path, source, r, commit)?);
                    plan.stamped += 1;
                }
            }
            _ => plan.left_alone.push(outcome(None)),
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
            page_edits.push(Edit {
                range: citation.lines_span.clone(),
                replacement: citation.format_lines(*new_lines),
            });
            if new_path != old_path {
                page_edits.push(Edit {
                    range: citation.path_span.clone(),
                    replacement: citation.renamed_path(old_path, new_path),
                });
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
    let files: Vec<write::Replacement<'_>> = plan
        .changes
        .iter()
        .map(|c| write::Replacement {
            path: &c.path,
            expected: c.before.as_bytes(),
            contents: c.after.as_bytes(),
        })
        .collect();
    write::replace_all(&files)?;
    Ok(())
}
