//! The terminal audit: every claim with its status, owner and verdict, and each ref's cited code
//! with the lines that matched its expectations marked.

use std::fmt::Write as _;

use super::marks::{ExcerptLine, marked_lines, pieces};
use super::style::{BOLD, DIM, GREEN, RED, RESET, token_color, verdict_color};
use crate::model::ExpectationResult;
use crate::model::{ClaimReport, Commit, Excerpt, RefReport, Report, Verdict};

/// How to draw the terminal audit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditStyle {
    /// ANSI colours (the CLI turns this on only for terminals).
    pub color: bool,
}

/// Excerpts longer than this fold unmarked stretches, so a long function does not bury the
/// lines that prove the claim.
const UNFOLDED_LINES: usize = 30;
/// Unmarked lines kept on each side of a marked one when folding.
const CONTEXT: usize = 2;

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, codes: &str, text: &str) -> String {
        if self.color {
            format!("{codes}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn verdict(&self, verdict: Verdict) -> String {
        let label = verdict.as_str().to_uppercase();
        self.paint(&format!("{BOLD}{}", verdict_color(verdict)), &label)
    }
}

/// Renders the audit of every claim in the report. `resolved` describes the commit the
/// revision resolved to, when known.
pub fn render(report: &Report, resolved: Option<&Commit>, style: AuditStyle) -> String {
    let p = Painter { color: style.color };
    let mut out = String::new();
    let commit = match (resolved, &report.commit) {
        (Some(c), _) => format!("commit {} {} '{}'", c.short, c.date, c.subject),
        (None, Some(id)) => format!("commit {}", &id[..id.len().min(12)]),
        (None, None) => "no commit".to_string(),
    };
    let _ = writeln!(
        out,
        "{} of {} at {} ({commit})",
        p.paint(BOLD, "Audit"),
        report.repo,
        report.rev
    );
    for claim in &report.claims {
        out.push('\n');
        render_claim(&mut out, claim, report, &p);
    }
    for finding in &report.docs {
        let _ = writeln!(out, "\ndocs: {}: {}", finding.location(), finding.message);
    }
    let _ = writeln!(out, "\n{}", report.summary());
    out
}

fn render_claim(out: &mut String, claim: &ClaimReport, report: &Report, p: &Painter) {
    let title = claim.title.as_deref().unwrap_or("(no title)");
    let _ = writeln!(
        out,
        "{} {}  {}",
        p.verdict(claim.verdict),
        p.paint(BOLD, &claim.id),
        title
    );
    let _ = writeln!(
        out,
        "  status: {}   owner: {}",
        claim.status.as_str(),
        claim.owner.as_deref().unwrap_or("(none)")
    );
    for (term, value) in super::html::review_facts(claim, report) {
        let _ = writeln!(out, "  {}: {value}", term.to_lowercase());
    }
    if claim.refs.is_empty() {
        let _ = writeln!(
            out,
            "  no refs: nothing was checked for this {} claim",
            claim.status.as_str()
        );
    }
    for r in &claim.refs {
        render_ref(out, r, p);
    }
}

fn render_ref(out: &mut String, r: &RefReport, p: &Painter) {
    let _ = writeln!(
        out,
        "\n  [{}] {}:{}",
        p.paint(verdict_color(r.verdict()), r.verdict().as_str()),
        r.path,
        r.lines
    );
    if let Some(error) = r.error() {
        let _ = writeln!(out, "    error: {error}");
    }
    render_expectations(out, &r.expectations, p);
    if let Some(excerpt) = &r.excerpt {
        render_excerpt(out, excerpt, &r.expectations, p);
    }
    if let Some(reloc) = r.relocated() {
        let _ = writeln!(
            out,
            "    now at {}:{} (found by {})",
            reloc.place.path,
            reloc.place.lines,
            reloc.found_by()
        );
        if !r.expectations.iter().all(|e| e.ok) {
            render_expectations(out, &reloc.expectations, p);
        }
        if let Some(excerpt) = &reloc.excerpt {
            render_excerpt(out, excerpt, &reloc.expectations, p);
        }
    }
    for (i, c) in r.candidates().iter().enumerate() {
        let _ = writeln!(out, "    candidate {}: {c}", i + 1);
    }
    if let Some(review) = r.review() {
        for line in review.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    if let Some(culprit) = r.culprit() {
        let _ = writeln!(out, "    {culprit}");
    }
    for note in &r.notes {
        let _ = writeln!(out, "    note: {note}");
    }
    if !r.parse_errors.is_empty() {
        let lines: Vec<String> = r.parse_errors.iter().map(|l| l.to_string()).collect();
        let _ = writeln!(
            out,
            "    note: syntax errors at line {}; results may be incomplete",
            lines.join(", ")
        );
    }
    for c in &r.cited_by {
        let _ = writeln!(out, "    cited by {c}");
    }
}

fn render_expectations(out: &mut String, expectations: &[ExpectationResult], p: &Painter) {
    for e in expectations {
        let (sign, color) = if e.ok { ("ok", GREEN) } else { ("FAIL", RED) };
        let _ = writeln!(
            out,
            "    {} {}: {}",
            p.paint(color, sign),
            e.kind,
            e.message
        );
    }
}

/// Indexes of the lines to show: all of a short excerpt, else marked lines with context.
fn visible(lines: &[ExcerptLine<'_>]) -> Vec<bool> {
    if lines.len() <= UNFOLDED_LINES || !lines.iter().any(|l| l.mark.is_marked()) {
        return vec![true; lines.len()];
    }
    let mut show = vec![false; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        if line.mark.is_marked() || i == 0 || i + 1 == lines.len() {
            let from = i.saturating_sub(CONTEXT);
            let to = (i + CONTEXT).min(lines.len() - 1);
            show[from..=to].iter_mut().for_each(|s| *s = true);
        }
    }
    show
}

fn render_excerpt(
    out: &mut String,
    excerpt: &Excerpt,
    expectations: &[ExpectationResult],
    p: &Painter,
) {
    let lines = marked_lines(excerpt, expectations);
    let width = lines.last().map_or(1, |l| l.number.to_string().len());
    let show = visible(&lines);
    let mut i = 0;
    while i < lines.len() {
        if !show[i] {
            let hidden = show[i..].iter().take_while(|s| !**s).count();
            let _ = writeln!(
                out,
                "    {:>width$}   {}",
                "",
                p.paint(DIM, &format!("... {hidden} unmarked lines ...")),
            );
            i += hidden;
            continue;
        }
        let line = &lines[i];
        let gutter = if !line.mark.missed.is_empty() {
            p.paint(RED, "!")
        } else if !line.mark.matched.is_empty() {
            p.paint(GREEN, ">")
        } else {
            " ".to_string()
        };
        let code: String = if p.color {
            pieces(line.text, line.highlights)
                .into_iter()
                .map(|(t, class)| match class {
                    Some(c) => p.paint(token_color(c), t),
                    None => t.to_string(),
                })
                .collect()
        } else {
            line.text.to_string()
        };
        let code = code.replace('\t', "    ");
        let label = if !line.mark.missed.is_empty() {
            p.paint(
                RED,
                &format!("  <- near miss: {}", line.mark.missed.join(", ")),
            )
        } else if !line.mark.matched.is_empty() {
            p.paint(DIM, &format!("  <- {}", line.mark.matched.join(", ")))
        } else {
            String::new()
        };
        let _ = writeln!(out, "  {gutter} {:>width$} | {code}{label}", line.number);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;

    #[test]
    fn audit_report_snapshot() {
        let out = render(&sample::report(), None, AuditStyle { color: false });
        assert!(!out.contains('\x1b'));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn colours_only_when_asked() {
        let out = render(&sample::report(), None, AuditStyle { color: true });
        assert!(out.contains(&format!("{BOLD}{RED}BROKEN{RESET}")));
    }

    #[test]
    fn long_excerpts_fold_unmarked_stretches_but_keep_marked_lines() {
        let mut report = sample::report();
        let r = &mut report.claims[0].refs[1];
        let excerpt = r.excerpt.as_mut().unwrap();
        excerpt.lines = (0..40).map(|i| format!("\tline{i}")).collect();
        let out = render(&report, None, AuditStyle { color: false });
        assert!(out.contains("unmarked lines ..."), "{out}");
        assert!(
            out.contains("! 3182 |     line1  <- near miss: fail_closed"),
            "{out}"
        );
        assert!(out.contains("  3220 |     line39"), "{out}");
    }
}
