//! One verification of the workspace: the working tree with the open Go buffers laid over it,
//! the claims asked for, and the docs pages (open buffers first) checked against every ref.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::loaded::{Buffer, Loaded};
use crate::anchors::{AnchorsFile, Claim};
use crate::docs::{self, PageError};
use crate::model::{ClaimReport, Outcome, Report, Verdict};
use crate::source::{GitRepo, OverlayFiles, Snapshot, WORKTREE};
use crate::verify::{self, HistorySource, RevisionInfo, VerifyError, VerifyOptions};

/// Opens the repository of an anchors file at its working tree.
pub fn open_worktree(file: &AnchorsFile) -> Result<Snapshot, String> {
    let base = file.path.parent().unwrap_or(Path::new("."));
    let dir = match &file.repo {
        Some(repo) => base.join(repo),
        None => base.to_path_buf(),
    };
    GitRepo::open(&dir)
        .and_then(|git| git.resolve(WORKTREE))
        .map_err(|e| e.to_string())
}

/// The open Go buffers of the working tree, laid over it.
fn overlay<'a>(snapshot: &'a Snapshot, buffers: &HashMap<PathBuf, Buffer>) -> OverlayFiles<'a> {
    let mut files = OverlayFiles::new(snapshot);
    if let Some(workdir) = snapshot.git().workdir() {
        for (path, buffer) in buffers {
            if let Ok(rel) = path.strip_prefix(workdir)
                && let Some(rel) = rel.to_str()
                && rel.ends_with(".go")
            {
                files.insert(rel.replace('\\', "/"), buffer.text.as_bytes());
            }
        }
    }
    files
}

/// The files as the editor has them: for reading cited lines (hover).
pub fn editor_files<'a>(
    loaded: &'a Loaded,
    buffers: &HashMap<PathBuf, Buffer>,
) -> Option<OverlayFiles<'a>> {
    Some(overlay(loaded.snapshot.as_ref().ok()?, buffers))
}

/// Verifies `claims` (every claim when empty) against the working tree with the buffers laid
/// over it, and keeps each claim's report.
pub fn verify_claims(loaded: &mut Loaded, buffers: &HashMap<PathBuf, Buffer>, claims: Vec<String>) {
    let snapshot = match &loaded.snapshot {
        Ok(snapshot) => snapshot,
        Err(e) => {
            loaded.run_error = Some(e.clone());
            return;
        }
    };
    let files = overlay(snapshot, buffers);
    // History is the saved working tree's: a ref with `at` is followed to its place on disk,
    // then checked (and relocated when unsaved edits moved it) in the buffer.
    let history = HistorySource {
        git: snapshot.git(),
        target: snapshot.endpoint(),
        target_commit: snapshot.commit.clone(),
    };
    let revision = RevisionInfo {
        repo: loaded
            .anchors
            .repo
            .clone()
            .unwrap_or_else(|| ".".to_string()),
        rev: WORKTREE.to_string(),
        commit: snapshot.commit.clone(),
    };
    let asked = claims.clone();
    let options = VerifyOptions {
        claims,
        ..VerifyOptions::default()
    };
    loaded.run_error = None;
    // The pages as saved: where they cite each ref (the buffers' citations are checked by
    // `check_docs`).
    let pages = docs::read_pages(&loaded.anchors);
    match verify::verify(
        &loaded.anchors,
        &files,
        &pages,
        Some(&history),
        revision,
        &options,
    ) {
        Ok(report) => {
            for claim in report.claims {
                loaded.reports.insert(claim.id.clone(), claim);
            }
        }
        // Only claims without refs were asked for: nothing to check, nothing wrong.
        Err(VerifyError::NothingToVerify { .. }) => {
            for claim in &loaded.anchors.claims {
                if asked.is_empty() || asked.contains(&claim.id.value) {
                    loaded
                        .reports
                        .insert(claim.id.value.clone(), unchecked(claim));
                }
            }
        }
        Err(e) => loaded.run_error = Some(e.to_string()),
    }
}

fn unchecked(claim: &Claim) -> ClaimReport {
    ClaimReport {
        id: claim.id.value.clone(),
        title: claim.title.clone(),
        status: claim.status,
        owner: claim.owner.clone(),
        verdict: Verdict::Unchecked,
        refs: Vec::new(),
        gate: claim.gate,
        approval: None,
    }
}

/// Reads the docs pages (open buffers first) and checks their citations against every ref.
pub fn check_docs(loaded: &mut Loaded, buffers: &HashMap<PathBuf, Buffer>) {
    loaded.pages = docs::read_pages(&loaded.anchors)
        .into_iter()
        .map(|mut page| {
            if let Some(buffer) = buffers.get(&page.full) {
                page.text = Ok(buffer.text.clone());
            }
            page
        })
        .collect();
    let pages: Vec<(String, Result<String, PageError>)> = loaded
        .pages
        .iter()
        .map(|page| (page.name.clone(), page.text.clone()))
        .collect();
    let refs = docs::cited_refs(&loaded.anchors);
    let name = loaded
        .anchors
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    loaded.docs = docs::check(&pages, &refs, &name);
}

/// The report `fix` would be given for one ref: its claim with that ref as verified, every
/// other ref of the claim as verified (which `fix` leaves alone at the working tree).
pub fn report_for_ref(loaded: &Loaded, claim: &str, index: usize) -> Option<Report> {
    let mut claim_report = loaded.reports.get(claim)?.clone();
    for (i, r) in claim_report.refs.iter_mut().enumerate() {
        if i != index {
            r.outcome = Outcome::Verified;
            r.history_from = None;
        }
    }
    let snapshot = loaded.snapshot.as_ref().ok()?;
    Some(Report {
        tool: format!("anchorcheck {}", env!("CARGO_PKG_VERSION")),
        repo: loaded
            .anchors
            .repo
            .clone()
            .unwrap_or_else(|| ".".to_string()),
        rev: WORKTREE.to_string(),
        commit: snapshot.commit.clone(),
        claims: vec![claim_report],
        docs: Vec::new(),
        fix_command: None,
        refs_without_at: 0,
        links: None,
        allow_drift: false,
        waivers: Vec::new(),
        today: crate::anchors::Date::today(),
    })
}
