//! Diagnostics for anchors.yaml, the docs pages and the Go files the claims cite. Every verdict
//! becomes a diagnostic through [`severity`], one place to extend when verdicts are added.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lsp_types::{Diagnostic, DiagnosticSeverity, Range};

use super::convert;
use super::loaded::{Buffer, Loaded};
use super::workspace::Workspace;
use crate::anchors::{Claim, Ref};
use crate::docs;
use crate::model::DocsFindingKind;
use crate::model::{Outcome, RefReport, Verdict};

/// The diagnostic severity of a ref's verdict in anchors.yaml and the docs pages; `None` for
/// verdicts that are no problem.
pub fn severity(verdict: Verdict) -> Option<DiagnosticSeverity> {
    match verdict {
        Verdict::Unchecked | Verdict::Verified => None,
        Verdict::Drifted | Verdict::Ambiguous | Verdict::NeedsReview => {
            Some(DiagnosticSeverity::WARNING)
        }
        Verdict::Broken | Verdict::Error => Some(DiagnosticSeverity::ERROR),
    }
}

fn diagnostic(range: Range, severity: DiagnosticSeverity, message: String) -> Diagnostic {
    Diagnostic {
        range,
        severity: Some(severity),
        source: Some("anchorcheck".to_string()),
        message,
        ..Diagnostic::default()
    }
}

/// What a ref's report says, in one message: why it failed, where it went.
pub fn ref_message(claim: &str, rr: &RefReport) -> String {
    let mut message = match &rr.outcome {
        Outcome::Drifted {
            relocation: reloc, ..
        } => format!(
            "`{claim}` drifted: the evidence is now at {}:{} (found by {}); the code action \
             `update citation` rewrites the ref and the pages as `anchorcheck fix` would",
            reloc.place.path,
            reloc.place.lines,
            reloc.found_by()
        ),
        Outcome::Ambiguous(candidates) => {
            let places: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
            format!(
                "`{claim}` is ambiguous: its evidence holds at {} places: {}",
                candidates.len(),
                places.join("; ")
            )
        }
        outcome => format!("`{claim}` is {}: {}", outcome.verdict(), rr.reason()),
    };
    if let Some(culprit) = rr.culprit() {
        message.push_str(&format!(" ({culprit})"));
    }
    for note in &rr.notes {
        message.push_str(&format!("\n{note}"));
    }
    message
}

/// The diagnostics of the anchors file: its problems while it is invalid (the CLI's messages,
/// at their positions), else one per ref that did not verify, on its `lines:`, and the docs
/// findings about it.
pub fn anchors_diagnostics(ws: &Workspace, text: &str) -> Vec<Diagnostic> {
    let text = &convert::LineIndex::new(text);
    let mut out = Vec::new();
    let start = convert::word_range(text, super::workspace::FILE_START);
    if let Some(error) = &ws.load_error {
        out.push(diagnostic(start, DiagnosticSeverity::ERROR, error.clone()));
        return out;
    }
    if !ws.problems.is_empty() {
        for p in &ws.problems {
            let range = convert::word_range(text, p.position);
            out.push(diagnostic(
                range,
                DiagnosticSeverity::ERROR,
                p.message.clone(),
            ));
        }
        return out;
    }
    let Some(loaded) = &ws.loaded else {
        return out;
    };
    if let Err(e) = &loaded.snapshot {
        out.push(diagnostic(start, DiagnosticSeverity::ERROR, e.clone()));
    }
    if let Some(e) = &loaded.run_error {
        out.push(diagnostic(start, DiagnosticSeverity::ERROR, e.clone()));
    }
    for (claim, r, rr) in loaded.refs() {
        let Some(rr) = rr else { continue };
        if let Some(severity) = severity(rr.verdict()) {
            let range = convert::word_range(text, r.lines.position);
            out.push(diagnostic(
                range,
                severity,
                ref_message(&claim.id.value, rr),
            ));
        }
    }
    for finding in &loaded.docs.findings {
        let at = match finding.kind {
            DocsFindingKind::UncitedRef => finding.position,
            DocsFindingKind::UnreadablePage => loaded
                .anchors
                .docs
                .iter()
                .find(|d| d.value == finding.page)
                .map(|d| d.position),
            DocsFindingKind::UnknownCitation => continue,
        };
        let range = convert::word_range(text, at.unwrap_or(super::workspace::FILE_START));
        let severity = match finding.kind {
            DocsFindingKind::UnreadablePage => DiagnosticSeverity::ERROR,
            _ => DiagnosticSeverity::WARNING,
        };
        let message = match finding.kind {
            DocsFindingKind::UnreadablePage => format!("{}: {}", finding.page, finding.message),
            _ => finding.message.clone(),
        };
        out.push(diagnostic(range, severity, message));
    }
    out
}

/// The refs a page's citation names at its lines, with their claims and reports.
pub fn cited_refs<'a>(
    loaded: &'a Loaded,
    citation: &docs::Citation,
) -> Vec<(&'a Claim, usize, &'a Ref, Option<&'a RefReport>)> {
    let mut out = Vec::new();
    for claim in &loaded.anchors.claims {
        let report = loaded.reports.get(&claim.id.value);
        for (i, r) in claim.refs.iter().enumerate() {
            if citation.names(&r.path.value) && citation.lines == r.lines.value {
                out.push((claim, i, r, report.and_then(|c| c.refs.get(i))));
            }
        }
    }
    out
}

/// The diagnostics of a docs page: citations that name no ref, and citations of refs that did
/// not verify (a drifted one is stale: `update citation` rewrites it).
pub fn page_diagnostics(loaded: &Loaded, name: &str, text: &str) -> Vec<Diagnostic> {
    let index = convert::LineIndex::new(text);
    let mut out = Vec::new();
    for citation in docs::scan(text) {
        let start = index.position(citation.path_span.start);
        let end = index.position(citation.lines_span.end);
        let range = Range { start, end };
        let refs = cited_refs(loaded, &citation);
        if refs.is_empty() {
            let finding = loaded.docs.findings.iter().find(|f| {
                f.kind == DocsFindingKind::UnknownCitation
                    && f.page == name
                    && f.position
                        .is_some_and(|p| p.line == citation.line && p.column == citation.column)
            });
            if let Some(finding) = finding {
                out.push(diagnostic(
                    range,
                    DiagnosticSeverity::WARNING,
                    finding.message.clone(),
                ));
            }
            continue;
        }
        for (claim, _, _, rr) in refs {
            let Some(rr) = rr else { continue };
            let Some(severity) = severity(rr.verdict()) else {
                continue;
            };
            let message = match rr.verdict() {
                Verdict::Drifted => format!("stale citation: {}", ref_message(&claim.id.value, rr)),
                _ => format!(
                    "cites a claim that does not hold: {}",
                    ref_message(&claim.id.value, rr)
                ),
            };
            out.push(diagnostic(range, severity, message));
        }
    }
    out
}

/// Whether the buffer of `path` differs from the file saved on disk.
fn unsaved(buffers: &HashMap<PathBuf, Buffer>, path: &Path) -> bool {
    buffers
        .get(path)
        .is_some_and(|b| std::fs::read(path).ok().as_deref() != Some(b.text.as_bytes()))
}

/// The diagnostics of a Go file (`rel` from the repository root): information on each cited
/// range whose claim does not hold, naming the failing expectation at its line; while the
/// buffer has unsaved edits, as what the edit does.
pub fn go_diagnostics(ws: &Workspace, loaded: &Loaded, path: &Path, rel: &str) -> Vec<Diagnostic> {
    let text = ws.text_of(path).unwrap_or_default();
    let index = convert::LineIndex::new(&text);
    let edited = unsaved(&ws.buffers, path);
    let mut out = Vec::new();
    for (claim, _, rr) in loaded.refs() {
        let Some(rr) = rr else { continue };
        let place = rr.current();
        if place.path != rel || severity(rr.verdict()).is_none() {
            continue;
        }
        let id = &claim.id.value;
        let failing = rr.expectations.iter().find(|e| !e.ok);
        let line = failing
            .and_then(|e| e.near_miss)
            .filter(|l| {
                rr.checked.as_ref().is_none_or(|c| c.path == rel) && place.lines.contains_line(*l)
            })
            .unwrap_or(place.lines.start());
        let what = match (rr.verdict(), failing) {
            (Verdict::Drifted, _) => format!(
                "`{id}` cites {}:{}, but its evidence is here now: its citation is stale",
                rr.path, rr.lines
            ),
            (_, Some(e)) => format!("line {line}: {}: {}", e.kind, e.message),
            (_, None) => rr.reason(),
        };
        let message = match rr.verdict() {
            Verdict::Drifted => what,
            _ if edited => format!("this edit makes `{id}` fail: {what}"),
            verdict => format!("`{id}` is {verdict}: {what}"),
        };
        let range = convert::lines_range(&index, crate::lines::LineRange::single(line));
        out.push(diagnostic(range, DiagnosticSeverity::INFORMATION, message));
    }
    out
}
