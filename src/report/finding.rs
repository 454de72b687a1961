//! Findings: each failing or touched ref with its code, and the words every CI format uses to
//! describe it, so SARIF, annotations, JUnit and Markdown say the same thing.

use crate::model::codes::Code;
use crate::model::review::{Gate, Waiver, waived_text};
use crate::model::{ClaimReport, Outcome, Place, RefReport, Report, Verdict};

/// One ref worth reporting.
#[derive(Clone, Copy, Debug)]
pub struct Finding<'a> {
    pub claim: &'a ClaimReport,
    /// The ref's position within its claim (stable while anchors.yaml keeps its order).
    pub index: usize,
    pub r: &'a RefReport,
    pub code: Code,
    /// The waiver letting it pass, if one does.
    pub waiver: Option<&'a Waiver>,
    /// Reported but not failing the run: drifted under `--allow-drift`, waived, or of a
    /// `gate: warn` claim.
    pub lets_pass: bool,
}

/// Every failing or touched ref, in anchors.yaml order.
pub fn findings(report: &Report) -> Vec<Finding<'_>> {
    report
        .claims
        .iter()
        .flat_map(|claim| {
            claim.refs.iter().enumerate().filter_map(move |(index, r)| {
                Code::of_ref(r).map(|code| Finding {
                    claim,
                    index,
                    r,
                    code,
                    waiver: report
                        .ref_fails(r)
                        .then(|| report.waiver_of(claim, index))
                        .flatten()
                        .filter(|_| r.verdict() != Verdict::Error),
                    lets_pass: report.lets_pass(claim, index),
                })
            })
        })
        .collect()
}

fn place(p: &Place) -> String {
    format!("{}:{}", p.path, p.lines)
}

impl Finding<'_> {
    /// `src/a.go:201-248`.
    pub fn cited(&self) -> String {
        format!("{}:{}", self.r.path, self.r.lines)
    }

    /// Where the evidence is at the verified revision, for annotations that must land on code
    /// that exists there: the new place of a drifted ref, the history-mapped place of a broken
    /// or touched one, else the cited place.
    pub fn current(&self) -> Place {
        self.r.current()
    }

    /// One line saying what happened to the claim's evidence.
    pub fn headline(&self) -> String {
        let claim = self.claim;
        let r = self.r;
        let title = claim.title.as_deref().unwrap_or(&claim.id);
        match &r.outcome {
            Outcome::Verified => format!(
                "claim {} ({title}) still verifies, but this change touched its cited lines: {}",
                claim.id,
                r.touched.as_deref().unwrap_or("modified")
            ),
            Outcome::NeedsReview { .. } => format!(
                "claim {} ({title}): {} changed since the claim was approved{}",
                claim.id,
                self.cited(),
                claim
                    .approval
                    .as_ref()
                    .map(|a| format!(" by {} on {}", a.by, a.on))
                    .unwrap_or_default()
            ),
            Outcome::Drifted { relocation, .. } => format!(
                "claim {} ({title}): evidence moved from {} to {} (found by {})",
                claim.id,
                self.cited(),
                place(&relocation.place),
                relocation.found_by()
            ),
            Outcome::Ambiguous(candidates) => format!(
                "claim {} ({title}): evidence moved to one of {} places",
                claim.id,
                candidates.len()
            ),
            Outcome::Broken { .. } => format!(
                "claim {} ({title}) is no longer backed by {}",
                claim.id,
                self.cited()
            ),
            Outcome::Error(_) => format!(
                "claim {} ({title}): {} could not be checked",
                claim.id,
                self.cited()
            ),
        }
    }

    /// A few words for a table cell: the reason, or where the evidence went; never empty.
    pub fn why(&self) -> String {
        let r = self.r;
        match &r.outcome {
            Outcome::Verified => format!(
                "still verifies; touched: {}",
                r.touched.as_deref().unwrap_or("modified")
            ),
            Outcome::NeedsReview { review, .. } if !review.diff.is_empty() => {
                format!("code changed since approval: {}", review.diff[0].describe())
            }
            Outcome::NeedsReview { .. } => "code changed since approval".to_string(),
            Outcome::Drifted { relocation, .. } => format!(
                "moved to {} (found by {})",
                place(&relocation.place),
                relocation.found_by()
            ),
            Outcome::Ambiguous(candidates) => {
                let places: Vec<String> = candidates.iter().map(|c| place(&c.place)).collect();
                format!("moved to one of: {}", places.join(", "))
            }
            Outcome::Broken { .. } | Outcome::Error(_) => {
                let reason = r.reason();
                if !reason.is_empty() {
                    reason
                } else if let Some(note) = r.notes.first() {
                    note.clone()
                } else if let Some(touched) = &r.touched {
                    format!("evidence found nowhere; this change touched it: {touched}")
                } else {
                    "evidence found nowhere".to_string()
                }
            }
        }
    }

    /// Further lines: the reason, candidates, culprit, touch, notes, docs citations.
    pub fn details(&self) -> Vec<String> {
        let r = self.r;
        let mut lines = Vec::new();
        let reason = r.reason();
        // A drifted ref's expectations fail at the old place by definition; the headline says
        // where they hold now.
        if !reason.is_empty() && r.verdict() != Verdict::Drifted {
            lines.push(reason);
        }
        for (i, c) in r.candidates().iter().enumerate() {
            lines.push(format!("candidate {}: {c}", i + 1));
        }
        if !r.candidates().is_empty() {
            lines.push(format!(
                "to take one: anchorcheck fix --claim {} --pick N",
                self.claim.id
            ));
        }
        if let Some(review) = r.review() {
            for change in &review.diff {
                lines.push(change.describe());
            }
            for commit in &review.commits {
                lines.push(format!(
                    "changed in {} {} '{}' by {}",
                    commit.short, commit.date, commit.subject, commit.author
                ));
            }
            lines.extend(review.note.iter().cloned());
        }
        if let Some(culprit) = r.culprit() {
            lines.push(culprit.to_string());
        }
        if let (Some(touched), false) = (&r.touched, r.verdict() == Verdict::Verified) {
            lines.push(format!("this change touched the cited lines: {touched}"));
        }
        lines.extend(r.notes.iter().cloned());
        for cite in &r.cited_by {
            lines.push(format!("cited by {cite}"));
        }
        if let Some(w) = self.waiver {
            lines.push(waived_text(w));
        } else if self.lets_pass
            && self.claim.gate == Gate::Warn
            && r.verdict() != Verdict::Verified
        {
            lines.push("gate: warn (reported, does not fail the run)".to_string());
        }
        lines
    }

    /// The headline and the details, one per line.
    pub fn message(&self) -> String {
        let mut lines = vec![self.headline()];
        lines.extend(self.details());
        lines.join("\n")
    }
}

/// What a verified ref's expectations found, for a table cell: `routes holds at lines 7-8`.
pub fn holds(r: &RefReport) -> String {
    let parts: Vec<String> = r
        .expectations
        .iter()
        .map(|e| {
            let lines: Vec<String> = e.matches.iter().map(|m| m.to_string()).collect();
            match lines.len() {
                0 => format!("{} holds", e.kind),
                1 => format!("{} holds at line {}", e.kind, lines[0]),
                _ => format!("{} holds at lines {}", e.kind, lines.join(", ")),
            }
        })
        .collect();
    if parts.is_empty() {
        "verified".to_string()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{codes, sample};

    #[test]
    fn findings_cover_failing_and_touched_refs_in_order() {
        let report = sample::report();
        let found: Vec<(&str, &str)> = findings(&report)
            .iter()
            .map(|f| (f.claim.id.as_str(), f.code.id))
            .collect();
        assert_eq!(
            found,
            [
                ("agent-saas-mtls", codes::REF_TOUCHED.id),
                ("agent-saas-mtls", codes::REF_BROKEN.id),
                ("workload-identity", codes::REF_ERROR.id),
                ("agent-routes-spiffe", codes::REF_DRIFTED.id),
                ("audit-log", codes::REF_AMBIGUOUS.id),
            ]
        );
    }

    #[test]
    fn drifted_message_names_new_place_and_skips_stale_reason() {
        let report = sample::report();
        let drifted = findings(&report)
            .into_iter()
            .find(|f| f.code == codes::REF_DRIFTED)
            .unwrap();
        let message = drifted.message();
        assert!(
            message.contains("from src/saas/back/cmd/agent_routes.go:40-52 to src/saas/back/cmd/agent_routes.go:46-58 (found by history)"),
            "{message}"
        );
        assert!(message.contains("cited by docs/security.md:57:1"));
        assert!(!message.contains("requireSPIFFE"));
    }
}
