//! For a ref without `at` that does not hold at its cited place: the newest commit before the
//! verified revision at which it held there, so history can be followed from it as from `at`.
//! Only the versions of the cited file are checked, found by walking back along first parents
//! and comparing tree ids (the commits that did not change the file cost a few tree reads).

use std::collections::BTreeMap;
use std::rc::Rc;

use rayon::prelude::*;

use super::HistorySource;
use super::parses::{ParseCache, misfit_at};
use super::provenance::{Origins, OriginsMemo};
use super::shape;
use crate::anchors::Ref;
use crate::budget::{self, FileBudgets, Metered};
use crate::expect;
use crate::go::GoFile;
use crate::go::segments::Segment;
use crate::lines::LineRange;
use crate::model::{Candidate, How, Outcome, Place, RefReport};
use crate::source::history::{Endpoint, PathVersion};
use crate::source::{FileBlob, Files, SourceError};

/// Versions of one stretch where a ref held that are compared, at most.
const MAX_STRETCH: usize = 8;

/// Versions past the newest stretch where a ref held that are looked through for an older
/// version where it held other code at its cited lines, at most.
const MAX_GAP: usize = 8;

/// What the walk back found for one ref.
pub(super) struct LastHeld {
    /// The newest commit at which the ref held at its cited path and lines.
    pub at: Option<String>,
    /// Says where history starts, or why it does not.
    pub note: String,
    /// Set when the work budget ran out during the walk: what the ref's report says instead.
    pub cut: Option<String>,
    /// Other commits of the stretch where it held at which the cited lines held other code
    /// than at `at` (code that slid into them, not the same code shifted): each, the best fit
    /// of its part of the stretch. Which code the citation meant is not known; history is
    /// followed from each, and where they lead apart the ref is ambiguous.
    pub rivals: Vec<String>,
}

/// For each of `refs`, the newest commit among the `depth` before the verified one at which it
/// held at its cited place. A citation can still hold a few lines off after code was inserted
/// above it (it cites a construct by its first line), so of the newest stretch of versions in
/// which it held, the one where the cited lines fit the evidence best is taken (fewest lines
/// cited outside it and left out of it), then the one where they cut the fewest constructs (a
/// blank line cited, a closing brace left out: [`shape::cut`]), the newest on a tie: the one it
/// was written against. A version where they held cutting a construct across the top level
/// (from the line above into a declaration's head, or past its end) comes after every one where
/// they did not; when the stretch has only such versions, up to [`MAX_WHOLE_VERSIONS`] older
/// ones are looked through for the newest where it held whole, which is taken instead.
/// Which code the citation meant is a guess, safe only while the cited lines held the same
/// code: where, between two versions of the stretch, the cited lines' code does not descend
/// from the older version's cited lines (provenance's line origins: code inserted above pushed
/// other code into them), or where past the stretch (within [`MAX_GAP`] versions) the ref held
/// again in code the stretch's does not descend from, those other versions are rivals
/// ([`LastHeld::rivals`]), followed too and weighed by [`weigh_rivals`].
/// Refs of one file share the walk and the parses of its versions, and its budget (each file's
/// walk its own, on one thread: which refs it cuts short depends on nothing else).
pub(super) fn find(
    source: &HistorySource<'_>,
    refs: &[&Ref],
    depth: usize,
    budgets: &FileBudgets,
) -> Result<Vec<LastHeld>, SourceError> {
    let Some(from) = source.target_commit.as_deref() else {
        return Ok(refs
            .iter()
            .map(|_| LastHeld {
                at: None,
                note: "no `at`, and the repository has no commits to look back through".to_string(),
                cut: None,
                rivals: Vec::new(),
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
                    cut: None,
                    rivals: Vec::new(),
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
    let found: Vec<Found> = groups
        .par_iter()
        .flat_map_iter(|(path, members, versions)| {
            let _metered = Metered::install(&budgets.of(path));
            walk_path(source, refs, path, members, versions, skip)
        })
        .collect();
    let mut out: Vec<Option<LastHeld>> = refs.iter().map(|_| None).collect();
    for Found { i, at, cut, rivals } in found {
        let r = refs[i];
        let cited = format!("{}:{}", r.path.value, r.lines.value);
        let note = match &at {
            // The walk stopped before it could say: the ref's error says why.
            None if cut.is_some() => {
                format!("no `at`, and the walk back to where it last held at {cited} was cut short")
            }
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
        out[i] = Some(LastHeld {
            at,
            note,
            cut,
            rivals,
        });
    }
    Ok(out.into_iter().flatten().collect())
}

/// What the walk of one path found for one ref (its index among the refs).
struct Found {
    i: usize,
    at: Option<String>,
    cut: Option<String>,
    rivals: Vec<String>,
}

/// Where a ref of one path still looks for the newest stretch of versions where it held.
struct Walk<'v> {
    /// Each version where it held, with its fit — whether the cited lines cut a construct
    /// across the top level there ([`shape::cut_across`]), how far they are from their evidence
    /// and how many construct ends they cut (a range read a few lines off that still holds the
    /// same single-line evidence fits it as well as the right one) — and which code it held:
    /// the count of the newer versions of the stretch whose cited lines do not descend from the
    /// next older one's (0 while the same code, shifted or edited, held them).
    held: Vec<(&'v PathVersion, (bool, u32, u32), usize)>,
    /// Set once the newest stretch ended holding the ref only across the top level: how many
    /// older versions are still looked through for one where it held whole.
    whole_left: Option<usize>,
    /// The file at the oldest version of the stretch.
    oldest: Option<Rc<FileBlob>>,
    /// Versions looked through past the stretch, once it ended.
    past: Option<usize>,
    /// The first older version past the stretch where it held other code.
    beyond: Option<&'v PathVersion>,
    /// For a ref with a guard compared with where it was written ([`expect::compares_with_at`]):
    /// the newest version of the stretch, parsed, and the index (in `held`) of the first older
    /// version of the stretch, holding the same code, against which a guard there is narrowed.
    /// The versions newer than that one hold a guard weakened while it was cited, and are not
    /// where the ref was written: history is followed from that one, where the baseline finds
    /// the narrowing.
    newest: Option<Rc<GoFile>>,
    widened_at: Option<usize>,
    done: bool,
    cut: Option<String>,
}

impl Walk<'_> {
    /// The newest stretch where the ref held is over. If it held there only as a whole
    /// citation at shifted lines would (code inserted above it moved its construct down, and
    /// the range still held the evidence across the top level), older versions are looked
    /// through for the one it was written against, where it held whole (versions in between
    /// may have held other code there). Else, when the stretch ended at a version where it did
    /// not hold (`gap`), up to [`MAX_GAP`] older ones are looked through for a rival; else it
    /// is done.
    fn end_stretch(&mut self, gap: bool) {
        let across = self.held.iter().all(|(_, (across, _, _), _)| *across);
        if across && self.whole_left.is_none() {
            self.whole_left = Some(MAX_WHOLE_VERSIONS);
        } else if gap {
            self.past = Some(1);
            self.done = 1 > MAX_GAP;
        } else {
            self.done = true;
        }
    }
}

/// The walk back for the refs `members` of one path, version by version, newest first: each
/// version is read and parsed once for all of them and dropped before the next, so memory
/// stays that of one version however many commits changed the file (and the newer one's
/// bytes, to tell whether the cited lines held the same code in both). Returns each ref's
/// chosen commit, its rivals, and the budget's message when the walk was cut short for it.
fn walk_path(
    source: &HistorySource<'_>,
    refs: &[&Ref],
    path: &str,
    members: &[usize],
    versions: &[PathVersion],
    skip: usize,
) -> Vec<Found> {
    let mut walks: Vec<Walk<'_>> = members
        .iter()
        .map(|_| Walk {
            held: Vec::new(),
            whole_left: None,
            oldest: None,
            past: None,
            beyond: None,
            newest: None,
            widened_at: None,
            done: false,
            cut: None,
        })
        .collect();
    // The newer version's blob, and the origins of its lines in this one, worked out once for
    // all the refs of the path that held in both.
    let mut newer: Option<Rc<FileBlob>> = None;
    // The origins of a stretch's oldest version in an older one past it.
    let past_origins = OriginsMemo::default();
    for v in versions.iter().skip(skip) {
        if walks.iter().all(|w| w.done) {
            break;
        }
        // This version's blob, read once for all the refs of its path, and its whole parse,
        // shared by them and dropped with it.
        let blob = read_version(source, v, path).map(Rc::new);
        let parses = ParseCache::metered();
        let mut origins: Option<Origins> = None;
        for (walk, &i) in walks.iter_mut().zip(members).filter(|(w, _)| !w.done) {
            let r = refs[i];
            budget::take_cut();
            let searching = walk.whole_left.is_some();
            let fit = blob.as_ref().and_then(|blob| {
                let (cut, across) = shape::cut_across(&blob.bytes, r.lines.value);
                // Past the stretch, only a version where it holds whole counts.
                if searching && across {
                    return None;
                }
                let misfit = misfit_at(r, blob, r.lines.value, &parses)?;
                Some((across, misfit, cut))
            });
            if let Some(message) = budget::take_cut_message() {
                // Past the stretch, only a rival was looked for: the stretch stands.
                if walk.past.is_none() {
                    walk.cut = Some(message);
                }
                walk.done = true;
                continue;
            }
            // The newest stretch of versions where it held; of those, the one it fits best,
            // the newest on a tie, one where it cuts nothing across the top level first. Past
            // it, the first older version where it held again is a rival when the code at its
            // cited lines is other code than the stretch's.
            match fit {
                // Past a stretch held only across the top level: the newest older version
                // where it held whole, taken instead (other code than the stretch's when the
                // stretch's does not descend from it).
                Some(fit) if walk.whole_left.is_some() => {
                    let last = walk.held.last().map_or(0, |&(_, _, identity)| identity);
                    let other = match (&blob, &walk.oldest) {
                        (Some(old), Some(stretch)) => past_origins
                            .between(Some(old), &stretch.bytes)
                            .slid_into(r.lines.value),
                        _ => false,
                    };
                    walk.held.push((v, fit, last + usize::from(other)));
                    walk.done = true;
                }
                None if walk.whole_left.is_some() => {
                    let left = walk.whole_left.unwrap_or(0);
                    walk.whole_left = Some(left.saturating_sub(1));
                    walk.done = left <= 1;
                }
                Some(_) if walk.past.is_some() => {
                    if let (Some(old), Some(stretch)) = (&blob, &walk.oldest)
                        && past_origins
                            .between(Some(old), &stretch.bytes)
                            .slid_into(r.lines.value)
                    {
                        walk.beyond = Some(v);
                    }
                    walk.done = true;
                }
                Some(fit) if walk.held.len() < MAX_STRETCH => {
                    // Held in the newer version too (the stretch has no gap): did the code
                    // there descend from the code cited here?
                    let identity = match (walk.held.last(), &blob, &newer) {
                        (Some(&(_, _, identity)), Some(old), Some(new)) => {
                            let origins = origins.get_or_insert_with(|| {
                                Origins::between(Some(&old.bytes), &new.bytes)
                            });
                            identity + usize::from(origins.slid_into(r.lines.value))
                        }
                        (last, _, _) => last.map_or(0, |&(_, _, identity)| identity),
                    };
                    walk.held.push((v, fit, identity));
                    walk.oldest = blob.clone();
                    if identity == 0
                        && walk.widened_at.is_none()
                        && let Some(blob) = &blob
                    {
                        narrowed_since(walk, r, blob, &parses);
                    }
                }
                Some(_) => walk.end_stretch(false),
                None if walk.held.is_empty() => {}
                None if walk.past.is_some() => {
                    let past = walk.past.map_or(1, |p| p + 1);
                    walk.past = Some(past);
                    walk.done = past > MAX_GAP;
                }
                None => walk.end_stretch(true),
            }
        }
        newer = blob;
    }
    walks
        .into_iter()
        .zip(members)
        .map(|(walk, &i)| {
            let best = |identity: Option<usize>| {
                walk.held
                    .iter()
                    .filter(|(_, _, id)| identity.is_none_or(|want| *id == want))
                    .min_by_key(|(_, m, _)| *m)
            };
            let chosen = match walk.widened_at {
                // The newest version before the guard was narrowed, the best fit of those.
                Some(k) => walk.held[k..]
                    .iter()
                    .filter(|(_, _, id)| *id == 0)
                    .min_by_key(|(_, m, _)| *m),
                None => best(None),
            }
            .filter(|_| walk.cut.is_none());
            let at = chosen.map(|(v, _, _)| v.commit.clone());
            // The best fit of each other code the cited lines held in the stretch.
            // and the older version past the stretch where other code held.
            let rivals = match (chosen, walk.held.last()) {
                (Some(&(_, _, own)), Some(&(_, _, last))) => (0..=last)
                    .filter(|&id| id != own)
                    .filter_map(|id| best(Some(id)))
                    .map(|&(v, _, _)| v)
                    .chain(walk.beyond)
                    .map(|v| v.commit.clone())
                    .collect(),
                _ => Vec::new(),
            };
            Found {
                i,
                at,
                cut: walk.cut,
                rivals,
            }
        })
        .collect()
}

/// For a ref with a guard compared with where it was written, at the version just pushed onto
/// its stretch (`blob`, holding the same code as the newest one): keeps the newest version's
/// parse, or, at an older one, notes when a guard at the cited lines of the newest is narrowed
/// against this one's ([`Walk::widened_at`]).
fn narrowed_since(walk: &mut Walk<'_>, r: &Ref, blob: &FileBlob, parses: &ParseCache) {
    if !r.expect.iter().any(expect::compares_with_at) {
        return;
    }
    let lines = r.lines.value;
    let Some(file) = parses.covering(blob, lines) else {
        return;
    };
    let Some(newest) = &walk.newest else {
        walk.newest = Some(file);
        return;
    };
    let narrowed = r
        .expect
        .iter()
        .any(|e| expect::narrowed(e, &file, lines, newest, lines).is_some());
    if narrowed {
        walk.widened_at = Some(walk.held.len() - 1);
    }
}

/// The report of a ref without `at` followed from where it last held (`followed`, from
/// `LastHeld::at`) and from each of its rivals (`rivals`, by commit): where it holds
/// (verified, drifted, ambiguous) and a rival finds it broken or an error, the cited lines held
/// different code at those commits and which the citation meant is not known: ambiguous
/// between the places where the expectations hold, with a note naming the commits, and no
/// commit for `fix` to write as `at`. Never drifted or verified onto other code: the code the
/// author cited may be the one that is gone. Else `followed` as it is.
pub(super) fn weigh_rivals(
    followed: Option<RefReport>,
    rivals: Vec<(String, Option<RefReport>)>,
) -> Option<RefReport> {
    let mut report = followed?;
    // Only a rival that finds the ref broken (or cannot say) where the commit chosen finds it
    // holding makes the guess matter to the first rule: where both hold, the code either
    // meant is still there, and the newest is followed as before (a generic call held at
    // the same lines by other calls through a file's history is the common case).
    if !holds(&report) || rivals.iter().all(|(_, r)| r.as_ref().is_none_or(holds)) {
        return Some(report);
    }
    let cited = report.lines;
    let from = report.history_from.clone().unwrap_or_default();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut said = vec![format!("from {} {}", short(&from), led_to(&report))];
    for r in std::iter::once(&report).chain(rivals.iter().filter_map(|(_, r)| r.as_ref())) {
        for candidate in held_places(r, &report.path, cited) {
            if !candidates.iter().any(|c| c.place == candidate.place) {
                candidates.push(candidate);
            }
        }
    }
    for (commit, r) in &rivals {
        if let Some(r) = r {
            said.push(format!("from {} {}", short(commit), led_to(r)));
        }
    }
    if candidates.is_empty() {
        return Some(report);
    }
    report.notes.push(format!(
        "no `at`, and the cited lines held different code at {} and {} (other code slid into \
         them): history {}; adding `at` says which code is cited",
        short(&from),
        rivals
            .iter()
            .map(|(c, _)| short(c))
            .collect::<Vec<_>>()
            .join(", "),
        said.join(", ")
    ));
    report.history_from = None;
    Some(report.with_outcome(Outcome::Ambiguous(candidates)))
}

/// Whether a report says the expectations hold somewhere: verified, drifted or ambiguous.
fn holds(r: &RefReport) -> bool {
    !matches!(r.outcome, Outcome::Broken { .. } | Outcome::Error(_))
}

/// The first 7 characters of a commit id.
fn short(commit: &str) -> &str {
    &commit[..7.min(commit.len())]
}

/// Where a report's expectations were checked at the revision.
fn checked(r: &RefReport) -> Place {
    r.checked.as_deref().cloned().unwrap_or_else(|| Place {
        path: r.path.clone(),
        lines: r.lines,
    })
}

/// The places a report says the expectations hold, as candidates (`path`:`cited` is the
/// cited place the distance is from).
fn held_places(r: &RefReport, path: &str, cited: LineRange) -> Vec<Candidate> {
    let candidate = |place: Place, how: How| {
        let distance = (place.path == path).then(|| place.lines.distance(cited));
        Candidate {
            place,
            how,
            distance,
            similarity: None,
            same_declaration: None,
        }
    };
    match &r.outcome {
        Outcome::Drifted { relocation, .. } => {
            vec![candidate(relocation.place.clone(), relocation.how)]
        }
        Outcome::Ambiguous(candidates) => candidates.clone(),
        Outcome::Verified | Outcome::NeedsReview { .. } => {
            vec![candidate(checked(r), How::History)]
        }
        Outcome::Broken { .. } | Outcome::Error(_) => Vec::new(),
    }
}

/// What following history led a report to, for the note.
fn led_to(r: &RefReport) -> String {
    match &r.outcome {
        Outcome::Broken { .. } => "finds it broken".to_string(),
        Outcome::Error(_) => "fails with an error".to_string(),
        _ => format!(
            "leads to {}",
            held_places(r, &r.path, r.lines)
                .iter()
                .map(|c| format!("{}:{}", c.place.path, c.place.lines))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    }
}

/// Versions whose cited lines differ from the newer one's that the walk back for a whole
/// citation compares, at most.
const MAX_WHOLE_VERSIONS: usize = 32;

/// For each of `refs` (refs without `at` that hold at their cited place in `files`, the
/// verified revision): when the cited lines cut a construct there (start or end inside one, or
/// on a blank line: [`shape::cut`]), the newest commit before it at which they held the
/// evidence as whole constructs (versions in between may have held other code there, not
/// holding it: the cited code moved down and back up). Code inserted above a cited function
/// leaves a generic expectation holding at the old line numbers, over the end of the code
/// above and without the function's end: history followed from where the citation was last
/// whole says where the function went. A citation that cut the same way where it was written
/// (an `if` line, a head without its body) was not whole at those lines then; the caller moves
/// a ref only where history puts it whole. Versions whose cited lines are the same text as the
/// newer one's are not compared again, nor parsed where they cut. `None` for a ref not
/// followed. Each file's walk draws on its own budget, the one [`find`] drew on.
/// As [`find`]'s, the commit found may hold other code at the cited lines than the citation
/// was written against: past it, the walk goes on through [`MAX_STRETCH`] more changes of
/// the cited lines, and the first older version where they hold whole code the code found
/// does not descend from is its rival. `known[i]`, when set, is `refs[i]`'s
/// [`cut_across_texts`] at the verified revision, worked out by the check that read the file.
pub(super) fn find_whole(
    source: &HistorySource<'_>,
    files: &dyn Files,
    refs: &[&Ref],
    known: &[Option<CitedText>],
    depth: usize,
    budgets: &FileBudgets,
) -> Result<Vec<Option<Whole>>, SourceError> {
    let mut out: Vec<Option<Whole>> = refs.iter().map(|_| None).collect();
    let Some(from) = source.target_commit.as_deref() else {
        return Ok(out);
    };
    // The cited lines now, for the refs whose range cuts a construct; each file read and lexed
    // once for all its refs, unless the first check, which read it, answered for each.
    let mut refs_by_path: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in refs.iter().enumerate() {
        refs_by_path
            .entry(r.path.value.as_str())
            .or_default()
            .push(i);
    }
    // Files are read and lexed in parallel; the map keeps them in path order.
    let by_path: BTreeMap<&str, CitedTexts> = refs_by_path
        .into_par_iter()
        .filter_map(|(path, members)| {
            let cited: CitedTexts = if members.iter().all(|&i| known[i].is_some()) {
                members
                    .into_iter()
                    .filter_map(|i| Some((i, known[i].clone()??)))
                    .collect()
            } else {
                let blob = files.read(path).ok()?;
                let lines: Vec<LineRange> = members.iter().map(|&i| refs[i].lines.value).collect();
                let texts = cut_across_texts(&blob.bytes, &lines, None);
                members
                    .into_iter()
                    .zip(texts)
                    .filter_map(|(i, text)| Some((i, text?)))
                    .collect()
            };
            (!cited.is_empty()).then_some((path, cited))
        })
        .collect();
    if by_path.is_empty() {
        return Ok(out);
    }
    let paths: Vec<String> = by_path.keys().map(|p| p.to_string()).collect();
    // Without history there is nothing to follow, and the ref stays verified where it is.
    let Ok(history) = source.git.path_versions(from, &paths, depth) else {
        return Ok(out);
    };
    let skip = usize::from(matches!(source.target, Endpoint::Commit(_)));
    let groups: Vec<(&str, &CitedTexts, &Vec<PathVersion>)> = by_path
        .iter()
        .zip(&history.versions)
        .map(|((path, members), versions)| (*path, members, versions))
        .collect();
    let found: Vec<(usize, Option<Whole>)> = groups
        .par_iter()
        .flat_map_iter(|(path, members, versions)| {
            let _metered = Metered::install(&budgets.of(path));
            walk_whole(
                source,
                files,
                refs,
                path,
                members,
                &versions[skip.min(versions.len())..],
            )
        })
        .collect();
    for (i, at) in found {
        out[i] = at;
    }
    Ok(out)
}

/// For each range of `lines` of the file `source`: the text of its lines when they cut a
/// construct reaching across the top level, what [`find_whole`] follows (a range inside a
/// declaration that cuts it, an `if` line or a head with its guard, is cited so; one running
/// past the file's end is not followed). The file is lexed as far as the last range ends: from
/// its start, or, given its `segments`
/// ([`segments::segments`](crate::go::segments::segments)), from the top-level declaration the
/// first range starts in.
pub(super) fn cut_across_texts(
    source: &[u8],
    lines: &[LineRange],
    segments: Option<&[Segment]>,
) -> Vec<CitedText> {
    let line_count = crate::go::count_lines(source);
    let inside = || lines.iter().filter(|l| l.end().get() <= line_count);
    let (Some(from), Some(upto)) = (
        inside().map(|l| l.start().get()).min(),
        inside().map(|l| l.end().get()).max(),
    ) else {
        return vec![None; lines.len()];
    };
    let shape = match segments {
        Some(segments) => shape::Lines::first_from(source, segments, from, upto),
        None => shape::Lines::first(source, upto),
    };
    lines
        .iter()
        .map(|&l| {
            (l.end().get() <= line_count && shape.cut(l) > 0 && shape.spans_top_level(l))
                .then(|| shape.text(l).to_vec())
        })
        .collect()
}

/// A ref's cited lines at the verified revision when they cut a construct reaching across the
/// top level ([`cut_across_texts`]); `None` when they do not, or run past the file's end.
pub(super) type CitedText = Option<Vec<u8>>;

/// Refs of one path by index, each with its cited lines' text at the verified revision.
type CitedTexts = Vec<(usize, Vec<u8>)>;

/// Where [`find_whole`] follows a ref from.
pub(super) struct Whole {
    /// The newest commit at which the cited lines held the evidence whole.
    pub at: String,
    /// An older commit at which they held it whole in other code, which the code at `at`
    /// does not descend from.
    pub rival: Option<String>,
}

/// The walk back of [`find_whole`] for the refs `members` of one path (with their cited text
/// at the verified revision), newest version first: each ref stops at the first version where
/// it holds cutting no construct (the commit returned), where the file is gone or shorter than
/// the cited lines, or after [`MAX_WHOLE_VERSIONS`] changes of its cited lines; past that
/// commit, it looks through [`MAX_STRETCH`] more changes for a rival. A walk the budget cuts
/// short is not followed (its ref stays where it holds).
fn walk_whole(
    source: &HistorySource<'_>,
    files: &dyn Files,
    refs: &[&Ref],
    path: &str,
    members: &[(usize, Vec<u8>)],
    versions: &[PathVersion],
) -> Vec<(usize, Option<Whole>)> {
    struct Walk {
        newer: Vec<u8>,
        compared: usize,
        done: bool,
        /// The commit found, with the file there; then the changes compared past it.
        at: Option<(String, Rc<FileBlob>, usize)>,
        rival: Option<String>,
    }
    let mut walks: Vec<Walk> = members
        .iter()
        .map(|(_, text)| Walk {
            newer: text.clone(),
            compared: 0,
            done: false,
            at: None,
            rival: None,
        })
        .collect();
    // The origins of the file at a commit found in an older version, worked out once.
    let origins = OriginsMemo::default();
    // The file at the verified revision, read once a rival is looked at.
    let mut now: Option<Option<FileBlob>> = None;
    for v in versions {
        if walks.iter().all(|w| w.done) {
            break;
        }
        let Some(blob) = read_version(source, v, path) else {
            break;
        };
        let blob = Rc::new(blob);
        let line_count = crate::go::count_lines(&blob.bytes);
        let shape = shape::Lines::new(&blob.bytes);
        let parses = ParseCache::metered();
        for (walk, (i, _)) in walks.iter_mut().zip(members).filter(|(w, _)| !w.done) {
            let r = refs[*i];
            let lines = r.lines.value;
            if lines.end().get() > line_count {
                walk.done = true;
                continue;
            }
            let text = shape.text(lines);
            if text == walk.newer.as_slice() {
                // The same lines as the newer version: they hold and cut as they did there.
                continue;
            }
            walk.compared += 1;
            walk.newer = text.to_vec();
            walk.done = walk.compared >= MAX_WHOLE_VERSIONS;
            // Only a range reaching across the top level (from one declaration into the next, or
            // from the code above into a declaration's head) is a whole citation shifted; one
            // inside a declaration that cuts it (an `if` line, a head with its guard) is cited so.
            if shape.cut(lines) > 0 && shape.spans_top_level(lines) {
                continue;
            }
            budget::take_cut();
            let holds = misfit_at(r, &blob, lines, &parses).is_some();
            if budget::take_cut_message().is_some() {
                walk.done = true;
                walk.at = None;
                continue;
            }
            match &mut walk.at {
                None if holds => walk.at = Some((v.commit.clone(), Rc::clone(&blob), 0)),
                None => {}
                Some((_, found, past)) => {
                    *past += 1;
                    // A rival only where the code it held at the cited lines is gone from the
                    // file now: the ref holds where cited, and code of the rival's still in
                    // the file was rewritten, not deleted (a function grown since, whose old
                    // version held other code at these lines years before).
                    if holds && origins.between(Some(&blob), &found.bytes).slid_into(lines) {
                        let now = now.get_or_insert_with(|| files.read(path).ok());
                        let gone = now.as_ref().is_some_and(|now| {
                            !Origins::between(Some(&blob.bytes), &now.bytes).keeps_any(lines)
                        });
                        if gone {
                            walk.rival = Some(v.commit.clone());
                        }
                        walk.done = true;
                    }
                    walk.done |= *past >= MAX_STRETCH;
                }
            }
        }
    }
    walks
        .into_iter()
        .zip(members)
        .map(|(walk, (i, _))| {
            let whole = walk.at.map(|(at, _, _)| Whole {
                at,
                rival: walk.rival,
            });
            (*i, whole)
        })
        .collect()
}

/// `path` as it was at version `v` of its history; `None` where the file was not there.
fn read_version(source: &HistorySource<'_>, v: &PathVersion, path: &str) -> Option<FileBlob> {
    v.blob.as_ref()?;
    source.git.resolve(&v.commit).ok()?.read(path).ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use git2::{Repository, Signature};

    use super::*;
    use crate::anchors;
    use crate::budget::WorkBudget;
    use crate::source::GitRepo;
    use crate::verify::parses::kept_trees;

    /// Commits each of `versions` in turn as `a.go` of a new repository at `dir`, each on the
    /// last; returns the last commit's id.
    fn commit_versions(dir: &Path, versions: impl IntoIterator<Item = String>) -> String {
        let repo = Repository::init(dir).unwrap();
        let sig = Signature::now("t", "t@example.com").unwrap();
        let mut parent: Option<git2::Oid> = None;
        for src in versions {
            std::fs::write(dir.join("a.go"), src).unwrap();
            let mut index = repo.index().unwrap();
            index.add_path(Path::new("a.go")).unwrap();
            let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
            let parents: Vec<git2::Commit<'_>> = parent
                .iter()
                .map(|id| repo.find_commit(*id).unwrap())
                .collect();
            let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
            parent = Some(
                repo.commit(Some("HEAD"), &sig, &sig, "edit", &tree, &parents)
                    .unwrap(),
            );
        }
        parent.unwrap().to_string()
    }

    /// `yaml` as an anchors file.
    fn parsed(yaml: &str) -> anchors::AnchorsFile {
        anchors::parse(yaml, Path::new("anchors.yaml"), Path::new("anchors.yaml")).unwrap()
    }

    /// The history of `git` verified at its commit `head`.
    fn at_head<'g>(git: &'g GitRepo, head: &str) -> HistorySource<'g> {
        HistorySource {
            git,
            target: Endpoint::Commit(head.to_string()),
            target_commit: Some(head.to_string()),
        }
    }

    /// One claim citing lines 3-5 of `a.go` for a call to `panic`.
    const PANIC_AT_3_5: &str = "version: 1\nclaims:\n  - id: c\n    status: required\n    refs:\n      - path: a.go\n        lines: 3-5\n        expect:\n          - call: panic\n";

    /// Issue 23, row 3: a ref without `at` over a file changed in many commits kept every
    /// parsed version until the walk ended (7.9 GB for 200 versions of 2.6 MB). Each version
    /// is now parsed once for all the path's refs and dropped before the next.
    #[test]
    fn the_walk_back_keeps_one_parsed_version_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let head = commit_versions(
            dir.path(),
            (0..12).map(|k| format!("package a\n\nfunc f() int {{\n\treturn {k}\n}}\n")),
        );
        let yaml = "version: 1\nclaims:\n  - id: c\n    status: required\n    refs:\n      - path: a.go\n        lines: 3-5\n        expect:\n          - text: nowhere\n      - path: a.go\n        lines: 3-5\n        expect:\n          - identifier: nowhere\n";
        let file = parsed(yaml);
        let refs: Vec<&Ref> = file.claims[0].refs.iter().collect();
        let git = GitRepo::open(dir.path()).unwrap();
        let source = at_head(&git, &head);
        let history = git
            .path_versions(&head, &["a.go".to_string()], 100)
            .unwrap();
        assert_eq!(history.versions[0].len(), 12);
        kept_trees::take_peak();
        let found = walk_path(&source, &refs, "a.go", &[0, 1], &history.versions[0], 1);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|f| f.at.is_none() && f.cut.is_none()));
        assert_eq!(kept_trees::take_peak(), 1, "one parsed version at a time");
    }

    /// Issue 24: the refs of one file without `at` share the walk back, so the work budget
    /// pays for each version's whole parse once, not once per ref. Five refs that hold in no
    /// version make every version parsed whole; a budget for the eleven versions once (the
    /// verified commit's own is skipped) is enough for all five, where a walk per ref would
    /// need five times it. The self-check's refs without `at` 200 commits later (traefik, 463
    /// files) parse 1,675 versions of 1,633 distinct blobs: this sharing is already what they
    /// get.
    #[test]
    fn the_refs_of_one_file_pay_for_each_version_once() {
        let dir = tempfile::tempdir().unwrap();
        let filler: String = (0..200).map(|i| format!("var v{i} = {i}\n")).collect();
        let version =
            |k: usize| format!("package a\n\nfunc f() int {{\n\treturn {k:02}\n}}\n{filler}");
        // Every version is the same size.
        let size = version(0).len() as u64;
        let head = commit_versions(dir.path(), (0..12).map(version));
        let one =
            "      - path: a.go\n        lines: 3-5\n        expect:\n          - text: nowhere\n";
        let yaml = format!(
            "version: 1\nclaims:\n  - id: c\n    status: required\n    refs:\n{}",
            one.repeat(5)
        );
        let file = parsed(&yaml);
        let refs: Vec<&Ref> = file.claims[0].refs.iter().collect();
        let git = GitRepo::open(dir.path()).unwrap();
        let source = at_head(&git, &head);
        let history = git
            .path_versions(&head, &["a.go".to_string()], 100)
            .unwrap();
        // Each version is parsed whole once (equal sizes), with the text scans of the cited
        // lines to spare.
        let once = 11 * size * budget::PARSE_COST_PER_BYTE;
        let budget = WorkBudget::new(once + once / 10);
        let _metered = Metered::install(&budget);
        let found = walk_path(
            &source,
            &refs,
            "a.go",
            &[0, 1, 2, 3, 4],
            &history.versions[0],
            1,
        );
        assert_eq!(found.len(), 5);
        assert!(
            found.iter().all(|f| f.at.is_none() && f.cut.is_none()),
            "no ref of the file is cut short"
        );
        assert!(!budget.exhausted());
    }

    /// Counts the reads of the files it hands out.
    struct Counting<'a> {
        inner: &'a dyn Files,
        reads: std::sync::atomic::AtomicUsize,
    }

    impl<'a> Counting<'a> {
        fn of(inner: &'a dyn Files) -> Self {
            Counting {
                inner,
                reads: Default::default(),
            }
        }
    }

    impl Files for Counting<'_> {
        fn read(&self, path: &str) -> Result<FileBlob, crate::source::FileProblem> {
            self.reads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.read(path)
        }

        fn go_files_in(&self, dir: &str) -> Vec<String> {
            self.inner.go_files_in(dir)
        }
    }

    /// Issue 25: a plain verify read and lexed each held ref's file a second time, on the main
    /// thread, to tell whether its cited lines cut across the top level. What the first check
    /// worked out from the file it read answers as that read did, and the file is not read
    /// again.
    #[test]
    fn the_look_back_reads_no_file_the_first_check_worked_out() {
        let dir = tempfile::tempdir().unwrap();
        let whole = "package a\n\nfunc f() {\n\tpanic(1)\n}\n".to_string();
        // A line inserted above: lines 3-5 still hold the call, cutting across the top level.
        let shifted = "package a\n\nvar x = 1\nfunc f() {\n\tpanic(1)\n}\n".to_string();
        let head = commit_versions(dir.path(), [whole, shifted.clone()]);
        let file = parsed(PANIC_AT_3_5);
        let refs: Vec<&Ref> = file.claims[0].refs.iter().collect();
        let git = GitRepo::open(dir.path()).unwrap();
        let source = at_head(&git, &head);
        let snapshot = git.resolve(&head).unwrap();
        let files = Counting::of(&snapshot);
        let budgets = FileBudgets::new(budget::DEFAULT_WORK_BUDGET);
        let read_here = find_whole(&source, &files, &refs, &[None], 100, &budgets).unwrap();
        assert_eq!(files.reads.swap(0, std::sync::atomic::Ordering::Relaxed), 1);
        let known = cut_across_texts(shifted.as_bytes(), &[refs[0].lines.value], None);
        assert!(
            known[0].is_some(),
            "the cited lines cut across the top level"
        );
        let worked_out = find_whole(
            &source,
            &files,
            &refs,
            &[Some(known[0].clone())],
            100,
            &budgets,
        )
        .unwrap();
        assert_eq!(files.reads.load(std::sync::atomic::Ordering::Relaxed), 0);
        let at = |found: &[Option<Whole>]| found[0].as_ref().map(|w| w.at.clone());
        assert!(
            at(&read_here).is_some(),
            "followed from where the lines were whole"
        );
        assert_eq!(at(&read_here), at(&worked_out));
    }

    /// Issue 25: a ref without `at` that held where cited had its file read and lexed again
    /// by the look back for where its lines were last whole; the first check's read now
    /// answers it, and a plain verify reads each such file once.
    #[test]
    fn a_plain_verify_reads_a_held_refs_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let version = |k: usize| format!("package a\n\nfunc f() {{\n\tpanic({k})\n}}\n");
        let head = commit_versions(dir.path(), (0..3).map(version));
        let file = parsed(PANIC_AT_3_5);
        let git = GitRepo::open(dir.path()).unwrap();
        let source = at_head(&git, &head);
        let snapshot = git.resolve(&head).unwrap();
        let files = Counting::of(&snapshot);
        let revision = crate::verify::RevisionInfo {
            repo: ".".to_string(),
            rev: head.clone(),
            commit: Some(head.clone()),
        };
        let options = crate::verify::VerifyOptions::default();
        let report =
            crate::verify::verify(&file, &files, &[], Some(&source), revision, &options).unwrap();
        assert_eq!(
            report.claims[0].refs[0].verdict(),
            crate::model::Verdict::Verified
        );
        assert_eq!(files.reads.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}
