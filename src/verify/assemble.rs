//! The report in anchors.yaml order: each claim's refs (checked or reused), its verdict (its
//! worst ref's), where the docs pages cite each ref, and the docs findings.
//!
//! Takes every ref's settled report (one list per path, and those reused by commit); gives the
//! `model::Report`.

use std::collections::HashMap;

use crate::anchors::{AnchorsFile, Claim};
use crate::docs;
use crate::model::{ClaimReport, RefReport, Report, Verdict};
use crate::source::location;

use super::{RevisionInfo, VerifyOptions};

/// Where a job's report goes: its claim's index among the selected claims, and the ref's
/// among the claim's.
pub(super) struct Slot {
    pub(super) claim: usize,
    pub(super) index: usize,
}

/// What the report says about the run itself.
pub(super) struct Run<'o> {
    pub(super) revision: RevisionInfo,
    pub(super) options: &'o VerifyOptions,
    /// Refs checked without `at` (see [`Report::refs_without_at`]).
    pub(super) refs_without_at: usize,
    /// The docs pages, as read once for the run.
    pub(super) pages: &'o [docs::Page],
}

/// The report of `claims`: `evaluated` holds each job's report (by index into `places`, where
/// it goes), `reused` the reports kept by commit (by claim and ref index).
pub(super) fn report(
    anchors: &AnchorsFile,
    claims: &[&Claim],
    places: &[Slot],
    evaluated: Vec<Vec<(usize, RefReport)>>,
    reused: Vec<(usize, usize, RefReport)>,
    run: Run<'_>,
) -> Report {
    let mut slots: Vec<Vec<Option<RefReport>>> =
        claims.iter().map(|c| vec![None; c.refs.len()]).collect();
    // One file's list at a time, each freed once its reports have moved.
    for (j, report) in evaluated.into_iter().flatten() {
        slots[places[j].claim][places[j].index] = Some(report);
    }
    for (claim, index, report) in reused {
        slots[claim][index] = Some(report);
    }
    let checked = if anchors.docs.is_empty() {
        docs::DocsCheck::default()
    } else {
        check_docs(anchors, run.pages)
    };
    let offsets = ref_offsets(anchors);
    let waivers = anchors
        .waivers
        .iter()
        .filter(|w| claims.iter().any(|c| c.id.value == w.claim))
        .cloned()
        .collect();
    let claims = claims
        .iter()
        .zip(slots)
        .map(|(claim, refs_in)| {
            // Sized once: a claim's 100 reports grown by doubling would take room for 128.
            let mut refs: Vec<RefReport> = Vec::with_capacity(refs_in.len());
            refs.extend(refs_in.into_iter().flatten());
            if let Some(&first) = offsets.get(claim.id.value.as_str()) {
                for (i, r) in refs.iter_mut().enumerate() {
                    r.cited_by = checked.cited_by.get(first + i).cloned().unwrap_or_default();
                }
            }
            let verdict = refs
                .iter()
                .map(|r| r.verdict())
                .max()
                // A claim without refs (planned or retired) had nothing checked.
                .unwrap_or(Verdict::Unchecked);
            ClaimReport {
                id: claim.id.value.clone(),
                title: claim.title.clone(),
                status: claim.status,
                owner: claim.owner.clone(),
                verdict,
                refs,
                gate: claim.gate,
                approval: None,
            }
        })
        .collect();
    // The docs must agree with every ref, so disagreements count only when all claims are
    // verified; a page that cannot be read fails every run.
    let docs = if run.options.claims.is_empty() {
        checked.findings
    } else {
        let unreadable = |f: &crate::model::DocsFinding| f.is_unreadable_page();
        checked.findings.into_iter().filter(unreadable).collect()
    };
    Report {
        tool: format!("anchorcheck {}", env!("CARGO_PKG_VERSION")),
        repo: run.revision.repo,
        rev: run.revision.rev,
        commit: run.revision.commit,
        claims,
        docs,
        fix_command: None,
        refs_without_at: run.refs_without_at,
        links: None,
        allow_drift: false,
        waivers,
        today: crate::anchors::Date::today(),
    }
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

/// Checks the docs pages against every ref of the file (not only the selected claims').
fn check_docs(anchors: &AnchorsFile, pages: &[docs::Page]) -> docs::DocsCheck {
    // Findings name files from the root of the repository holding anchors.yaml, whatever
    // directory it is in, so CI can place them; outside any work tree, as anchors.yaml names them.
    let base = anchors.path.parent().unwrap_or(std::path::Path::new("."));
    let root = location::worktree_root(if base.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        base
    });
    let from_root = |full: &std::path::Path, written: &str| -> String {
        root.as_deref()
            .and_then(|root| location::relative_to(root, full))
            .unwrap_or_else(|| written.to_string())
    };
    let pages: Vec<(String, Result<String, docs::PageError>)> = pages
        .iter()
        .map(|page| (from_root(&page.full, &page.name), page.text.clone()))
        .collect();
    let anchors_name = anchors
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "anchors.yaml".to_string());
    let anchors_name = from_root(&anchors.path, &anchors_name);
    let refs = docs::cited_refs(anchors);
    docs::check(&pages, &refs, &anchors_name)
}
