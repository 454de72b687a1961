//! The text report for people: one line per claim, a rustc-style excerpt per failing ref, and
//! the summary line.

use std::fmt::Write as _;

use annotate_snippets::renderer::DecorStyle;
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::style::{BOLD, RESET, verdict_color};
use crate::model::review::{Gate, waived_text};
use crate::model::{ClaimReport, Outcome, RefReport, Report, Verdict};

/// How to draw the text report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextStyle {
    /// ANSI colours (the CLI turns this on only for terminals).
    pub color: bool,
}

/// Citations up to this many lines are shown whole; longer ones fold to the marked lines.
const UNFOLDED_LINES: usize = 15;

/// Renders the whole report.
pub fn render(report: &Report, style: TextStyle) -> String {
    let mut out = String::new();
    let id_width = report
        .claims
        .iter()
        .map(|c| c.id.chars().count())
        .max()
        .unwrap_or(0);
    // Wide enough for "unchecked" and "ambiguous" always (so columns do not move from run to
    // run), and for "needs-review" when a claim has it.
    let verdict_width = report
        .claims
        .iter()
        .map(|c| c.verdict.as_str().len())
        .chain([9])
        .max()
        .unwrap_or(9);
    for claim in &report.claims {
        let verdict = format!("{:<verdict_width$}", claim.verdict.as_str());
        let verdict = if style.color {
            format!("{}{BOLD}{verdict}{RESET}", verdict_color(claim.verdict))
        } else {
            verdict
        };
        let title = claim.title.as_deref().unwrap_or("");
        let refs = match claim.refs.len() {
            0 => "no refs".to_string(),
            1 => "1 ref".to_string(),
            n => format!("{n} refs"),
        };
        let _ = writeln!(
            out,
            "{verdict} {:<id_width$}  {title} [{}, {refs}]",
            claim.id,
            claim.status.as_str()
        );
    }
    let touched: Vec<(&str, &RefReport, &str)> = report
        .claims
        .iter()
        .flat_map(|c| {
            c.refs
                .iter()
                .filter_map(move |r| r.touched.as_deref().map(|t| (c.id.as_str(), r, t)))
        })
        .collect();
    if !touched.is_empty() {
        out.push_str("\nthe change touches cited evidence (review these claims):\n");
        for (claim, r, how) in &touched {
            let _ = writeln!(
                out,
                "  touched   {claim}: {}:{} ({how}) [{}]",
                r.path,
                r.lines,
                r.verdict()
            );
        }
    }
    let failing: Vec<(&ClaimReport, usize, &RefReport)> = report
        .claims
        .iter()
        .flat_map(|c| c.refs.iter().enumerate().map(move |(i, r)| (c, i, r)))
        .filter(|(_, _, r)| r.verdict() != Verdict::Verified)
        .collect();
    if !failing.is_empty() {
        out.push('\n');
    }
    for (claim, index, r) in failing {
        out.push_str(&render_ref(&claim.id, r, style));
        if report.ref_fails(r) {
            if let Some(w) = report
                .waiver_of(claim, index)
                .filter(|_| r.verdict() != Verdict::Error)
            {
                let _ = writeln!(out, "  = {}", waived_text(w));
            } else if claim.gate == Gate::Warn && r.verdict() != Verdict::Error {
                out.push_str("  = gate: warn (reported, does not fail the run)\n");
            }
        }
        out.push('\n');
    }
    let notices = report.waiver_notices();
    for (_, text) in &notices {
        let _ = writeln!(out, "{text}");
    }
    if !notices.is_empty() {
        out.push('\n');
    }
    for finding in &report.docs {
        let tolerated = if report.tolerates(finding) {
            " (tolerated by --allow-drift: drift explains it and `anchorcheck fix` rewrites it)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "docs: {}: {}{tolerated}",
            finding.location(),
            finding.message
        );
    }
    if !report.docs.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", report.summary());
    if let Some(command) = &report.fix_command {
        let _ = writeln!(out, "to fix the drift: {command}");
    }
    if let Some(notice) = report.refs_without_at_notice() {
        let _ = writeln!(out, "{notice}");
    }
    out
}

/// One failing ref as a rustc-style diagnostic with the cited lines.
pub fn render_ref(claim_id: &str, r: &RefReport, style: TextStyle) -> String {
    let renderer = if style.color {
        Renderer::styled().decor_style(DecorStyle::Unicode)
    } else {
        Renderer::plain().decor_style(DecorStyle::Ascii)
    };
    let level = match r.verdict() {
        Verdict::Drifted | Verdict::Ambiguous => Level::WARNING,
        _ => Level::ERROR,
    };
    let state = match &r.outcome {
        Outcome::Verified => "verified".to_string(),
        Outcome::NeedsReview { .. } => "needs review (changed since approval)".to_string(),
        Outcome::Drifted { .. } => "has drifted".to_string(),
        Outcome::Ambiguous(_) => "is ambiguous".to_string(),
        Outcome::Broken { .. } => "is broken".to_string(),
        Outcome::Error(why) => format!("could not be checked: {why}"),
    };
    let title = format!("{claim_id}: {}:{} {state}", r.path, r.lines);
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut primary = Group::with_title(level.primary_title(title));
    if let Some(excerpt) = &r.excerpt {
        let source = excerpt.lines.join("\n");
        let line_offsets = line_offsets(&excerpt.lines);
        // The lines are those checked: where history mapped the citation (another file after
        // a rename or move), else the cited ones.
        let shown = r.checked.as_ref().map_or(&r.path, |c| &c.path);
        let mut snippet = Snippet::source(source)
            .line_start(excerpt.first_line.get() as usize)
            .fold(excerpt.lines.len() > UNFOLDED_LINES)
            .path(shown.clone());
        let mut annotated = false;
        for e in r.expectations.iter().filter(|e| !e.ok) {
            let label = format!("{}: {}", e.kind, e.message);
            let index = e.near_miss.and_then(|line| {
                line.get()
                    .checked_sub(excerpt.first_line.get())
                    .map(|i| i as usize)
            });
            match index.and_then(|i| line_offsets.get(i).map(|span| (i, span))) {
                Some((i, span)) => {
                    let text = &excerpt.lines[i];
                    let indent = text.len() - text.trim_start().len();
                    let start = span.start + indent;
                    let end = span.end.max(start);
                    snippet =
                        snippet.annotation(AnnotationKind::Primary.span(start..end).label(label));
                    annotated = true;
                }
                None => notes.push(label),
            }
        }
        if !annotated {
            // Show where the citation starts even when no line is to blame.
            let first = line_offsets.first().cloned().unwrap_or(0..0);
            snippet = snippet.annotation(AnnotationKind::Context.span(first).label("cited here"));
        }
        primary = primary.element(snippet);
    }
    if let Some(reloc) = r.relocated() {
        notes.push(format!(
            "evidence now at {}:{} (found by {})",
            reloc.place.path,
            reloc.place.lines,
            reloc.found_by()
        ));
    }
    if let Some(review) = r.review() {
        for change in &review.diff {
            notes.push(format!("changed since approval: {}", change.describe()));
        }
        for c in &review.commits {
            notes.push(format!(
                "changed in {} {} '{}' by {}",
                c.short, c.date, c.subject, c.author
            ));
        }
        notes.extend(review.note.iter().cloned());
    }
    if let Some(culprit) = r.culprit() {
        notes.push(culprit.to_string());
    }
    notes.extend(r.notes.iter().cloned());
    for (i, c) in r.candidates().iter().enumerate() {
        notes.push(format!("candidate {}: {c}", i + 1));
    }
    if !r.candidates().is_empty() {
        notes.push(format!(
            "to take one: anchorcheck fix --claim {claim_id} --pick N"
        ));
    }
    if !r.parse_errors.is_empty() {
        let lines: Vec<String> = r.parse_errors.iter().map(|l| l.to_string()).collect();
        notes.push(format!(
            "the cited range holds syntax errors at line {}; results may be incomplete",
            lines.join(", ")
        ));
    }
    for note in notes {
        primary = primary.element(Level::NOTE.message(note));
    }
    groups.push(primary);
    let mut out = renderer.render(&groups);
    out.push('\n');
    out
}

/// Byte span of each line's content within the joined excerpt.
fn line_offsets(lines: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut offsets = Vec::with_capacity(lines.len());
    let mut start = 0;
    for line in lines {
        offsets.push(start..start + line.len());
        start += line.len() + 1;
    }
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;

    /// The claim lines' ids start in one column, whatever the verdicts.
    fn id_columns(out: &str, report: &Report) -> Vec<usize> {
        report
            .claims
            .iter()
            .map(|c| {
                let line = out
                    .lines()
                    .find(|l| l.starts_with(c.verdict.as_str()))
                    .unwrap();
                line.find(&format!(" {} ", c.id)).unwrap()
            })
            .collect()
    }

    #[test]
    fn the_verdict_column_is_nine_wide_and_widens_for_needs_review() {
        let mut report = sample::report();
        let out = render(&report, TextStyle { color: false });
        let columns = id_columns(&out, &report);
        assert!(columns.iter().all(|&c| c == 9), "{columns:?}\n{out}");
        report.claims[0].verdict = Verdict::NeedsReview;
        let out = render(&report, TextStyle { color: false });
        let columns = id_columns(&out, &report);
        assert!(
            columns.iter().all(|&c| c == "needs-review".len()),
            "{columns:?}\n{out}"
        );
    }
}
