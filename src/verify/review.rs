//! The review workflow at verification: a claim's fingerprint (the SHA-256 of its refs' cited
//! code as Go tokens, comments and layout left out), and for a claim with `approved:` whose
//! code fingerprints differently now, the refs that changed become `needs-review`, with the
//! token diff from the approved commit and the commits that changed their file since.

use std::collections::HashMap;

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use similar::{Algorithm, DiffTag};

use crate::anchors::{AnchorsFile, Approval};
use crate::go::GoFile;
use crate::go::tokens::{CodeToken, code_tokens};
use crate::lines::LineRange;
use crate::model::review::{ApprovalState, Review, TokenChange};
use crate::model::{
    ClaimReport, Commit, Culprit, CulpritKind, Outcome, Place, RefReport, Report, Verdict,
};
use crate::source::Files;

use super::HistorySource;

/// At most this many commits that changed a ref's file since approval are looked at (the
/// newest), and those that changed its tokens listed.
const MAX_COMMITS: usize = 20;

/// The tokens at each of `places`, each file read and parsed once (only the declarations the
/// places need, when a partial parse is sure to agree with the whole file), files in
/// parallel, trees dropped as soon as their tokens are taken; `None` for a file that cannot
/// be read or parsed.
fn tokens_of_places(
    places: impl Iterator<Item = Place>,
    files: &dyn Files,
) -> HashMap<Place, Option<Vec<CodeToken>>> {
    let mut by_path: HashMap<String, Vec<LineRange>> = HashMap::new();
    for place in places {
        by_path.entry(place.path).or_default().push(place.lines);
    }
    by_path
        .into_par_iter()
        .flat_map_iter(|(path, mut ranges)| {
            ranges.sort();
            ranges.dedup();
            let file = files.read(&path).ok().and_then(|blob| {
                match GoFile::parse_covering(&blob.bytes, &ranges) {
                    Ok(Some(partial)) => Some(partial),
                    _ => GoFile::parse(blob.bytes).ok(),
                }
            });
            ranges
                .into_iter()
                .map(|lines| {
                    let tokens = file.as_ref().map(|f| code_tokens(f, lines));
                    let place = Place {
                        path: path.clone(),
                        lines,
                    };
                    (place, tokens)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Each ref's tokens where its evidence is at the verified revision, from tokens taken
/// already; `None` when a ref could not be checked.
fn tokens_in(
    refs: &[RefReport],
    tokens: &HashMap<Place, Option<Vec<CodeToken>>>,
) -> Option<Vec<Vec<CodeToken>>> {
    refs.iter()
        .map(|r| {
            if r.verdict() == Verdict::Error {
                return None;
            }
            tokens.get(&r.current())?.clone()
        })
        .collect()
}

/// The fingerprint of a claim's refs' tokens: lower-case hex SHA-256 over each ref's tokens,
/// each token length-prefixed so no two token lists hash alike by concatenation.
pub fn fingerprint(tokens: &[Vec<CodeToken>]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"anchorcheck-fingerprint-v1");
    for r in tokens {
        hasher.update((r.len() as u64).to_le_bytes());
        for t in r {
            hasher.update((t.text.len() as u64).to_le_bytes());
            hasher.update(t.text.as_bytes());
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fingerprint of each of `claims`' code at the verified revision (the new place of a
/// drifted ref), for `approve`: every cited file read and parsed once for all of them. `None`
/// for a claim a ref of which is in error or could not be read.
pub fn claim_fingerprints(claims: &[&ClaimReport], files: &dyn Files) -> Vec<Option<String>> {
    let tokens = tokens_of_places(
        claims
            .iter()
            .flat_map(|c| c.refs.iter().map(RefReport::current)),
        files,
    );
    claims
        .iter()
        .map(|c| tokens_in(&c.refs, &tokens).map(|t| fingerprint(&t)))
        .collect()
}

/// The token changes from `old` to `new`, one per run of removed and added tokens.
pub fn token_diff(old: &[CodeToken], new: &[CodeToken]) -> Vec<TokenChange> {
    let a: Vec<&str> = old.iter().map(|t| t.text.as_str()).collect();
    let b: Vec<&str> = new.iter().map(|t| t.text.as_str()).collect();
    let join = |tokens: &[CodeToken]| {
        tokens
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    similar::capture_diff_slices(Algorithm::Myers, &a, &b)
        .into_iter()
        .filter_map(|op| {
            let (tag, o, n) = op.as_tag_tuple();
            (tag != DiffTag::Equal).then(|| TokenChange {
                old_line: old
                    .get(o.start)
                    .filter(|_| !o.is_empty())
                    .map(|t| t.line.get()),
                new_line: new
                    .get(n.start)
                    .filter(|_| !n.is_empty())
                    .map(|t| t.line.get()),
                removed: join(&old[o]),
                added: join(&new[n]),
            })
        })
        .collect()
}

/// The whole file's tokens at `spec`, as text; `None` when it is absent or unreadable there.
fn file_tokens(history: &HistorySource<'_>, spec: &str, path: &str) -> Option<Vec<String>> {
    let snapshot = history.git.resolve(spec).ok()?;
    let file = GoFile::parse(snapshot.read(path).ok()?.bytes).ok()?;
    let all = file.full_range()?;
    Some(
        code_tokens(&file, all)
            .into_iter()
            .map(|t| t.text)
            .collect(),
    )
}

/// True when commit `id` changed the tokens of `path` (not only its comments or layout), so
/// it is named among the commits that changed a ref since approval and blamed for it.
fn changed_tokens(history: &HistorySource<'_>, id: &str, path: &str) -> bool {
    file_tokens(history, &format!("{id}^"), path) != file_tokens(history, id, path)
}

/// Marks the refs of approved claims whose code changed since approval as `needs-review`
/// (refs that did not verify keep their verdict), and records every approved claim's state.
pub(super) fn attach(
    report: &mut Report,
    anchors: &AnchorsFile,
    files: &dyn Files,
    history: Option<&HistorySource<'_>>,
) {
    let approvals: HashMap<&str, &Approval> = anchors
        .claims
        .iter()
        .filter_map(|c| Some((c.id.value.as_str(), c.approved.as_ref()?)))
        .collect();
    if approvals.is_empty() {
        return;
    }
    // Every cited file of an approved claim, parsed once.
    let parsed = tokens_of_places(
        report
            .claims
            .iter()
            .filter(|c| approvals.contains_key(c.id.as_str()))
            .flat_map(|c| c.refs.iter().map(RefReport::current)),
        files,
    );
    for claim in &mut report.claims {
        let Some(approved) = approvals.get(claim.id.as_str()).copied() else {
            continue;
        };
        let now = tokens_in(&claim.refs, &parsed);
        let state = ApprovalState {
            at: approved.at.value.clone(),
            by: approved.by.value.clone(),
            on: approved.on.value.to_string(),
            fingerprint: approved.fingerprint.value.clone(),
            current: now.as_ref().map(|t| fingerprint(t)),
        };
        if let (true, Some(now)) = (state.changed(), &now) {
            mark_changed(claim, approved, now, history);
        }
        claim.approval = Some(state);
    }
}

/// The refs of `claim` that changed since `approved`, with their diff and commits: with the
/// approved commit at hand and its cited code fingerprinting as approved, the refs whose
/// tokens differ; otherwise (a shallow clone, refs moved since) every verified ref, on the
/// fingerprint's word.
fn mark_changed(
    claim: &mut ClaimReport,
    approved: &Approval,
    now: &[Vec<CodeToken>],
    history: Option<&HistorySource<'_>>,
) {
    let at = &approved.at.value;
    let then_snapshot = history.and_then(|h| h.git.resolve(at).ok());
    // The cited lines at the approved commit, each file read and parsed once.
    let then: Option<Vec<Vec<CodeToken>>> = then_snapshot.as_ref().and_then(|snapshot| {
        let cited = |r: &RefReport| Place {
            path: r.path.clone(),
            lines: r.lines,
        };
        let tokens = tokens_of_places(claim.refs.iter().map(cited), snapshot);
        claim
            .refs
            .iter()
            .map(|r| tokens.get(&cited(r))?.clone())
            .collect()
    });
    let note = match (&then_snapshot, &then) {
        (None, _) => Some(format!(
            "history unavailable: the approved commit {} is not in this repository; the \
             fingerprint alone says the code changed",
            &at[..7.min(at.len())]
        )),
        (Some(_), Some(then)) if fingerprint(then) != approved.fingerprint.value => Some(
            "the cited lines at the approved commit do not fingerprint as approved (the refs \
             were moved since): no diff shown"
                .to_string(),
        ),
        (Some(_), None) => {
            Some("the cited code at the approved commit could not be read: no diff".to_string())
        }
        _ => None,
    };
    let comparable = note.is_none();
    let target = history.and_then(|h| h.target_commit.clone());
    for (i, r) in claim.refs.iter_mut().enumerate() {
        if r.verdict() != Verdict::Verified {
            continue;
        }
        let diff = match (&then, comparable) {
            (Some(then), true) => token_diff(&then[i], &now[i]),
            _ => Vec::new(),
        };
        if comparable && diff.is_empty() {
            continue;
        }
        let place = r.current();
        let commits: Vec<Commit> = match (history, &target, &then_snapshot) {
            (Some(h), Some(target), Some(_)) => h
                .git
                .commits_changing(&place.path, at, target, MAX_COMMITS)
                .ok()
                .flatten()
                .unwrap_or_default()
                .iter()
                .filter(|c| changed_tokens(h, &c.id, &place.path))
                .map(Commit::from)
                .collect(),
            _ => Vec::new(),
        };
        // A verified ref has no culprit: the first commit that changed its code is one.
        let culprit = commits.first().map(|first| {
            Box::new(Culprit {
                kind: CulpritKind::Changed,
                commit: first.clone(),
            })
        });
        r.outcome = Outcome::NeedsReview {
            review: Box::new(Review {
                diff,
                commits,
                note: note.clone(),
            }),
            culprit,
        };
    }
    claim.verdict = claim
        .refs
        .iter()
        .map(|r| r.verdict())
        .max()
        .unwrap_or(Verdict::Unchecked);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<CodeToken> {
        let file = GoFile::parse(src.as_bytes().to_vec()).unwrap();
        let all = LineRange::parse(&format!("1-{}", file.line_count())).unwrap();
        code_tokens(&file, all)
    }

    #[test]
    fn comments_and_layout_do_not_change_the_fingerprint_and_tokens_do() {
        let base = "package a\n\nfunc f(ok bool) error {\n\tif !ok {\n\t\treturn errDenied\n\t}\n\treturn nil\n}\n";
        let commented = "package a\n\n// f checks.\nfunc f(ok bool) error {\n\tif !ok { // refuse\n\t\treturn errDenied /* always */\n\t}\n\n\treturn nil;\n}\n";
        let weakened = "package a\n\nfunc f(ok bool) error {\n\tif !ok {\n\t\tlog.Print(errDenied)\n\t}\n\treturn nil\n}\n";
        let fp = |s: &str| fingerprint(&[tokens(s)]);
        assert_eq!(fp(base), fp(commented));
        assert_ne!(fp(base), fp(weakened));
        let diff = token_diff(&tokens(base), &tokens(weakened));
        let described: Vec<String> = diff.iter().map(TokenChange::describe).collect();
        assert_eq!(
            described,
            ["line 5: - return + log . Print (", "line 5: + )"],
            "{diff:?}"
        );
    }
}
