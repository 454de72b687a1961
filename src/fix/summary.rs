//! What `fix` says it did (or, with `--dry-run`, would do): the candidate picked, the diff of
//! every file for a dry run, each ref moved, stamped or left alone, links kept pinned, and the
//! files written.

use std::fmt::Write as _;
use std::path::Path;

use super::{FixPlan, Picked, unified_diff};

/// The summary of `plan`; `anchors` is how messages name the anchors file, and paths are
/// shown relative to `cwd` when inside it.
pub fn summary(
    plan: &FixPlan,
    picked: Option<&Picked>,
    dry_run: bool,
    anchors: &Path,
    cwd: &Path,
) -> String {
    let display = |p: &Path| p.strip_prefix(cwd).unwrap_or(p).display().to_string();
    let (fix, set) = if dry_run {
        ("would fix", "would set")
    } else {
        ("fixed", "set")
    };
    let mut out = String::new();
    if let Some(p) = picked {
        let _ = writeln!(
            out,
            "picked candidate {} for claim {} ({}:{}): {}",
            p.index, p.claim, p.path, p.lines, p.candidate
        );
    }
    if dry_run {
        out.push_str(&unified_diff(plan, display));
    }
    for r in &plan.relocated {
        let _ = writeln!(
            out,
            "{fix} {}: {}:{} -> {}",
            r.claim,
            r.path,
            r.lines,
            r.now.as_deref().unwrap_or("?")
        );
    }
    if plan.stamped > 0 {
        let _ = writeln!(out, "{set} `at` on {} verified ref(s)", plan.stamped);
    }
    if plan.history_stamped > 0 {
        let _ = writeln!(
            out,
            "{set} `at` on {} ref(s) left alone, from the commit where each last held",
            plan.history_stamped
        );
    }
    if let Some((old, new)) = &plan.rev {
        let _ = writeln!(out, "{set} rev: {old} -> {new} (the revision fix verified)");
    }
    for link in &plan.kept_pinned {
        let _ = writeln!(
            out,
            "kept pinned {}:{}:{}: the link names {}, its ref now cites {} ({})",
            display(&link.page),
            link.line,
            link.column,
            link.revision,
            link.now,
            link.reason
        );
    }
    for r in &plan.left_alone {
        let why = r.why.clone().unwrap_or_else(|| r.verdict.to_string());
        let _ = writeln!(
            out,
            "left alone {}: {}:{} is {why}",
            r.claim, r.path, r.lines
        );
    }
    if plan.changes.is_empty() {
        let _ = writeln!(out, "nothing to fix in {}", anchors.display());
    } else if !dry_run {
        let names: Vec<String> = plan.changes.iter().map(|c| display(&c.path)).collect();
        let _ = writeln!(out, "wrote {}", names.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::fix::{FileChange, KeptLink, RefOutcome};
    use crate::lines::{LineNo, LineRange};
    use crate::model::{Candidate, How, Place, Verdict};

    fn lines(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    fn outcome(claim: &str, verdict: Verdict, now: Option<&str>) -> RefOutcome {
        RefOutcome {
            claim: claim.into(),
            path: "a.go".into(),
            lines: lines(4, 9),
            verdict,
            now: now.map(str::to_string),
            why: None,
        }
    }

    fn plan() -> FixPlan {
        FixPlan {
            changes: vec![FileChange {
                path: PathBuf::from("/repo/anchors.yaml"),
                before: "lines: 4-9\n".into(),
                after: "lines: 6-11\n".into(),
            }],
            relocated: vec![outcome("moved", Verdict::Drifted, Some("a.go:6-11"))],
            stamped: 2,
            left_alone: vec![RefOutcome {
                why: Some(
                    "broken at line 6: fail_closed: line 6: the guard is commented out".into(),
                ),
                ..outcome("gone", Verdict::Broken, None)
            }],
            history_stamped: 1,
            kept_pinned: vec![KeptLink {
                page: PathBuf::from("/repo/docs/a.md"),
                line: 3,
                column: 7,
                revision: "v1.0".into(),
                now: "a.go:6-11".into(),
                reason: "it names a tag",
            }],
            rev: Some(("v1.0".into(), "0123abc".into())),
        }
    }

    #[test]
    fn a_fix_says_what_it_wrote_with_paths_from_the_working_directory() {
        let text = summary(
            &plan(),
            None,
            false,
            Path::new("anchors.yaml"),
            Path::new("/repo"),
        );
        assert_eq!(
            text,
            "fixed moved: a.go:4-9 -> a.go:6-11\n\
             set `at` on 2 verified ref(s)\n\
             set `at` on 1 ref(s) left alone, from the commit where each last held\n\
             set rev: v1.0 -> 0123abc (the revision fix verified)\n\
             kept pinned docs/a.md:3:7: the link names v1.0, its ref now cites a.go:6-11 (it names a tag)\n\
             left alone gone: a.go:4-9 is broken at line 6: fail_closed: line 6: the guard is commented out\n\
             wrote anchors.yaml\n"
        );
    }

    #[test]
    fn a_dry_run_shows_the_diff_and_says_would() {
        let picked = Picked {
            claim: "moved".into(),
            path: "a.go".into(),
            lines: lines(4, 9),
            candidate: Candidate {
                place: Place {
                    path: "a.go".into(),
                    lines: lines(6, 11),
                },
                how: How::Search,
                distance: Some(2),
                similarity: None,
                same_declaration: None,
            },
            index: 2,
        };
        let text = summary(
            &plan(),
            Some(&picked),
            true,
            Path::new("anchors.yaml"),
            Path::new("/repo"),
        );
        assert!(
            text.starts_with(
                "picked candidate 2 for claim moved (a.go:4-9): a.go:6-11: 2 lines from the cited place (found by search)\n--- a/anchors.yaml\n+++ b/anchors.yaml\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nwould fix moved: a.go:4-9 -> a.go:6-11\n"),
            "{text}"
        );
        assert!(text.contains("\nwould set rev: v1.0 -> 0123abc"), "{text}");
        assert!(!text.contains("wrote"), "{text}");
    }

    #[test]
    fn nothing_to_fix_names_the_anchors_file() {
        let text = summary(
            &FixPlan::default(),
            None,
            false,
            Path::new("sec/anchors.yaml"),
            Path::new("/repo"),
        );
        assert_eq!(text, "nothing to fix in sec/anchors.yaml\n");
    }
}
