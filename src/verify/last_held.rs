//! For a ref without `at` that does not hold at its cited place: the newest commit before the
//! verified revision at which it held there, so history can be followed from it as from `at`.
//! Only the versions of the cited file are checked, found by walking back along first parents
//! and comparing tree ids (the commits that did not change the file cost a few tree reads).

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::HistorySource;
use super::parses::{ParseCache, misfit_at};
use super::shape;
use crate::anchors::Ref;
use crate::source::history::{Endpoint, PathVersion};
use crate::source::{Files, SourceError};

/// Versions of one stretch where a ref held that are compared, at most.
const MAX_STRETCH: usize = 8;

/// What the walk back found for one ref.
pub(super) struct LastHeld {
    /// The newest commit at which the ref held at its cited path and lines.
    pub at: Option<String>,
    /// Says where history starts, or why it does not.
    pub note: String,
}

/// For each of `refs`, the newest commit among the `depth` before the verified one at which it
/// held at its cited place. A citation can still hold a few lines off after code was inserted
/// above it (it cites a construct by its first line), so of the newest stretch of versions in
/// which it held, the one where the cited lines fit the evidence best is taken (fewest lines
/// cited outside it and left out of it), then the one where they cut the fewest constructs (a
/// blank line cited, a closing brace left out: [`shape::cut`]), the newest on a tie: the one it
/// was written against.
/// Refs of one file share the walk and the parses of its versions.
pub(super) fn find(
    source: &HistorySource<'_>,
    refs: &[&Ref],
    depth: usize,
) -> Result<Vec<LastHeld>, SourceError> {
    let Some(from) = source.target_commit.as_deref() else {
        return Ok(refs
            .iter()
            .map(|_| LastHeld {
                at: None,
                note: "no `at`, and the repository has no commits to look back through".to_string(),
            })
            .collect());
    };
    let mut by_path: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in refs.iter().enumerate() {
        by_path.entry(r.path.value.as_str()).or_default().push(i);
    }
    let paths: Vec<String> = by_path.keys().map(|p| p.to_string()).collect();
    let history = match source.git.path_versions(from, &paths, depth) {
        Ok(history) => history,
        // An object missing from a partial or shallow clone: no history, and a note saying so.
        Err(e) => {
            let note = format!("history unavailable: {e} (looking for where it last held)");
            return Ok(refs
                .iter()
                .map(|_| LastHeld {
                    at: None,
                    note: note.clone(),
                })
                .collect());
        }
    };
    // The verified commit's own version is the one that just failed; with the working tree,
    // HEAD's version may still hold.
    let skip = usize::from(matches!(source.target, Endpoint::Commit(_)));
    let groups: Vec<(&str, &Vec<usize>, &Vec<_>)> = by_path
        .iter()
        .zip(&history.versions)
        .map(|((path, members), versions)| (*path, members, versions))
        .collect();
    let found: Vec<(usize, Option<String>)> = groups
        .par_iter()
        .flat_map_iter(|(path, members, versions)| {
            let parses = ParseCache::new(true);
            members
                .iter()
                .map(|&i| {
                    let r = refs[i];
                    // How far the cited lines are from their evidence, then how many
                    // construct ends they cut (a range read a few lines off that still holds
                    // the same single-line evidence fits it as well as the right one).
                    let misfit = |v: &PathVersion| -> Option<(u32, u32)> {
                        v.blob.as_ref()?;
                        let snapshot = source.git.resolve(&v.commit).ok()?;
                        let misfit = misfit_at(r, &snapshot, path, r.lines.value, &parses)?;
                        let cut = snapshot
                            .read(path)
                            .map_or(0, |blob| shape::cut(&blob.bytes, r.lines.value));
                        Some((misfit, cut))
                    };
                    // The newest stretch of versions where it held; of those, the one it fits
                    // best, the newest on a tie.
                    let mut held: Vec<(&PathVersion, (u32, u32))> = Vec::new();
                    for v in versions.iter().skip(skip) {
                        match misfit(v) {
                            Some(m) if held.len() < MAX_STRETCH => held.push((v, m)),
                            Some(_) => break,
                            None if held.is_empty() => continue,
                            None => break,
                        }
                    }
                    let best = held.iter().min_by_key(|(_, m)| *m);
                    (i, best.map(|(v, _)| v.commit.clone()))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut out: Vec<Option<LastHeld>> = refs.iter().map(|_| None).collect();
    for (i, at) in found {
        let r = refs[i];
        let cited = format!("{}:{}", r.path.value, r.lines.value);
        let note = match &at {
            Some(commit) => format!(
                "history from {} (last verified there; no `at`)",
                &commit[..7.min(commit.len())]
            ),
            None if history.complete => {
                format!("no `at`, and it held at {cited} in no earlier commit")
            }
            None => format!(
                "no `at`, and it held at {cited} in none of the {} commits before this one (--history-depth {depth})",
                history.walked.saturating_sub(1)
            ),
        };
        out[i] = Some(LastHeld { at, note });
    }
    Ok(out.into_iter().flatten().collect())
}
