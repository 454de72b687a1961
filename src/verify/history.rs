//! Maps a cited line range through the hunks of a diff, as `git log -L` does: unchanged lines
//! shift by the hunks above them, and an end that falls inside an edited hunk widens to the
//! hunk's new extent.

use std::collections::{BTreeMap, HashMap, HashSet};

use rayon::prelude::*;

use crate::lines::{LineNo, LineRange};
use crate::source::history::{CommitInfo, Endpoint, FileChange, Hunk};
use crate::source::{GitRepo, SourceError};

/// Where `range` is after a change with these hunks (sorted by `old_start`, no context lines);
/// `None` when every line of it was deleted.
pub fn map_range(range: LineRange, hunks: &[Hunk]) -> Option<LineRange> {
    let start = map_line(range.start().get(), hunks, End::Start);
    let end = map_line(range.end().get(), hunks, End::Last);
    LineRange::new(LineNo::new(start)?, LineNo::new(end)?)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Start,
    Last,
}

/// True when some hunk changes a line of `range` itself or inserts lines between its ends.
pub fn edits_inside(range: LineRange, hunks: &[Hunk]) -> bool {
    let (a, b) = (range.start().get(), range.end().get());
    hunks.iter().any(|h| {
        if h.old_lines == 0 {
            // Inserted after line `old_start`: inside when between the first and last line.
            a <= h.old_start && h.old_start < b
        } else {
            h.old_start <= b && h.old_start + h.old_lines > a
        }
    })
}

fn map_line(line: u32, hunks: &[Hunk], end: End) -> u32 {
    let mut delta: i64 = 0;
    for h in hunks {
        if h.old_lines == 0 {
            // An insertion after old line `old_start`: it moves `line` only when above it. For
            // the last line, an insertion right after the range's first lines is inside it.
            if h.old_start < line {
                delta += i64::from(h.new_lines);
                continue;
            }
            break;
        }
        let old_end = h.old_start + h.old_lines - 1;
        if old_end < line {
            delta += i64::from(h.new_lines) - i64::from(h.old_lines);
            continue;
        }
        if h.old_start <= line {
            // The line itself was edited or deleted: widen to the hunk's new extent.
            return match (end, h.new_lines) {
                (End::Start, 0) => h.new_start + 1,
                (End::Start, _) => h.new_start,
                (End::Last, 0) => h.new_start,
                (End::Last, n) => h.new_start + n - 1,
            };
        }
        break;
    }
    u32::try_from(i64::from(line) + delta).unwrap_or(0)
}

/// Where one cited range went between its `at` commit and the verified revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The path at the verified revision (a rename moves it).
    pub path: String,
    /// The lines there; `None` when every cited line was deleted.
    pub lines: Option<LineRange>,
    /// Each step of history that changed the cited file, oldest first.
    pub steps: Vec<Step>,
    /// How history touched the cited lines themselves (not merely shifted them), first time.
    pub touched: Option<String>,
    /// The file was deleted with no rename found; nothing more to follow.
    pub file_gone: bool,
    /// The commit that deleted it (`None` when not deleted, or deleted in the working tree).
    pub deleted_in: Option<CommitInfo>,
}

/// The cited place after one commit (or the working tree, `commit: None`) that changed its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub commit: Option<CommitInfo>,
    pub path: String,
    pub lines: Option<LineRange>,
}

/// What history could say about a ref with `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryOutcome {
    Mapped(Mapping),
    /// The `at` commit is not in the repository (a shallow clone, or a rewritten history).
    Unavailable(String),
}

/// One ref to follow: its cited path, lines and `at`.
#[derive(Clone, Debug)]
pub struct Tracked<'a> {
    pub path: &'a str,
    pub lines: LineRange,
    pub at: &'a str,
}

/// Maps every tracked ref from its `at` to `target` (whose commit is `target_commit`, or HEAD's
/// for the working tree). Refs sharing an `at` share one walk and one tree diff per step, so the
/// cost grows with commits and cited files, not with refs.
pub fn map_through_history(
    git: &GitRepo,
    target: &Endpoint,
    target_commit: Option<&str>,
    tracked: &[Tracked<'_>],
) -> Result<Vec<HistoryOutcome>, SourceError> {
    let mut outcomes: Vec<Option<HistoryOutcome>> = vec![None; tracked.len()];
    let mut by_at: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, t) in tracked.iter().enumerate() {
        by_at.entry(t.at).or_default().push(i);
    }
    // A commit, tree or blob missing between `at` and the revision (a partial or shallow
    // clone) leaves the refs of that `at` without history, not the run without a report.
    let unavailable = |at: &str, e: &SourceError| {
        HistoryOutcome::Unavailable(format!(
            "history unavailable: {e} (following it from {at}; a partial or shallow clone?)"
        ))
    };
    'groups: for (at, members) in by_at {
        let Some(start) = git.find_commit(at)? else {
            let message = format!(
                "history unavailable: commit {at} is not in this repository (shallow clone?)"
            );
            for i in members {
                outcomes[i] = Some(HistoryOutcome::Unavailable(message.clone()));
            }
            continue;
        };
        let mut steps: Vec<(String, Endpoint, Option<CommitInfo>)> = Vec::new();
        let mut previous = start.id.clone();
        if let Some(head) = target_commit {
            let chain = match git.commit_chain(&start.id, head) {
                Ok(chain) => chain,
                Err(e) => {
                    for i in members {
                        outcomes[i] = Some(unavailable(at, &e));
                    }
                    continue 'groups;
                }
            };
            for commit in chain {
                steps.push((
                    previous.clone(),
                    Endpoint::Commit(commit.id.clone()),
                    Some(commit.clone()),
                ));
                previous = commit.id;
            }
        }
        if *target == Endpoint::Worktree {
            steps.push((previous, Endpoint::Worktree, None));
        }
        let mut state: Vec<Mapping> = members
            .iter()
            .map(|&i| Mapping {
                path: tracked[i].path.to_string(),
                lines: Some(tracked[i].lines),
                steps: Vec::new(),
                touched: None,
                file_gone: false,
                deleted_in: None,
            })
            .collect();
        let mut diffs = StepChanges::new(git, &steps);
        for (step, (_, _, commit)) in steps.iter().enumerate() {
            let mut paths: Vec<String> = state
                .iter()
                // A file whose cited lines were all deleted is still followed through renames,
                // so symbol and search relocation look in the file where it is now.
                .filter(|m| !m.file_gone)
                .map(|m| m.path.clone())
                .collect();
            paths.sort();
            paths.dedup();
            if paths.is_empty() {
                break;
            }
            let changes = match diffs.at(step, &paths) {
                Ok(changes) => changes,
                Err(e) => {
                    for i in members {
                        outcomes[i] = Some(unavailable(at, &e));
                    }
                    continue 'groups;
                }
            };
            for mapping in &mut state {
                if mapping.file_gone {
                    continue;
                }
                let Some(change) = changes.get(&mapping.path) else {
                    continue;
                };
                let Some(lines) = mapping.lines else {
                    match change {
                        FileChange::Renamed { new_path, .. } => mapping.path = new_path.clone(),
                        FileChange::Deleted => {
                            mapping.file_gone = true;
                            mapping.deleted_in.clone_from(commit);
                        }
                        FileChange::Modified { .. } => {}
                    }
                    continue;
                };
                if *change == FileChange::Deleted {
                    mapping.file_gone = true;
                    mapping.deleted_in.clone_from(commit);
                }
                let (path, new_lines, touch) = match change {
                    FileChange::Modified { hunks } => (
                        mapping.path.clone(),
                        map_range(lines, hunks),
                        edits_inside(lines, hunks).then(|| format!("lines {lines} modified")),
                    ),
                    FileChange::Renamed { new_path, hunks } => (
                        new_path.clone(),
                        map_range(lines, hunks),
                        Some(format!("{} renamed to {new_path}", mapping.path)),
                    ),
                    FileChange::Deleted => (
                        mapping.path.clone(),
                        None,
                        Some(format!("{} deleted", mapping.path)),
                    ),
                };
                let lines = new_lines;
                if mapping.touched.is_none()
                    && let Some(touch) = touch
                {
                    mapping.touched = Some(match commit {
                        Some(c) => format!("{touch} in {} '{}'", c.short, c.subject),
                        None => format!("{touch} in the working tree"),
                    });
                }
                mapping.path = path.clone();
                mapping.lines = lines;
                mapping.steps.push(Step {
                    commit: commit.clone(),
                    path,
                    lines,
                });
            }
        }
        for (&i, mapping) in members.iter().zip(state) {
            outcomes[i] = Some(HistoryOutcome::Mapped(mapping));
        }
    }
    Ok(outcomes.into_iter().flatten().collect())
}

/// The changes of every step of one walk to the files followed, computed ahead for all steps
/// at once and in parallel (the tree diffs and hunks are most of the cost of following
/// history). A path joins the set the first time a step needs it (a rename's new name), and
/// from then on its changes are computed for that step and every later one. What a step says
/// of a path does not depend on which other paths are asked for with it, so the results are
/// those of one diff per step.
struct StepChanges<'g, 's> {
    git: &'g GitRepo,
    steps: &'s [(String, Endpoint, Option<CommitInfo>)],
    known: Vec<HashMap<String, FileChange>>,
    asked: HashSet<String>,
}

impl<'g, 's> StepChanges<'g, 's> {
    fn new(git: &'g GitRepo, steps: &'s [(String, Endpoint, Option<CommitInfo>)]) -> Self {
        StepChanges {
            git,
            steps,
            known: vec![HashMap::new(); steps.len()],
            asked: HashSet::new(),
        }
    }

    /// What step `step` changed in `paths` (sorted); only changed paths are present.
    fn at(
        &mut self,
        step: usize,
        paths: &[String],
    ) -> Result<&HashMap<String, FileChange>, SourceError> {
        let new: Vec<String> = paths
            .iter()
            .filter(|p| !self.asked.contains(*p))
            .cloned()
            .collect();
        if !new.is_empty() {
            let git = self.git;
            let ahead: Vec<HashMap<String, FileChange>> = self.steps[step..]
                .par_iter()
                .map(|(old, new_end, _)| git.changes(old, new_end, &new))
                .collect::<Result<_, _>>()?;
            for (known, found) in self.known[step..].iter_mut().zip(ahead) {
                known.extend(found);
            }
            self.asked.extend(new);
        }
        Ok(&self.known[step])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    fn hunk(old_start: u32, old_lines: u32, new_start: u32, new_lines: u32) -> Hunk {
        Hunk {
            old_start,
            old_lines,
            new_start,
            new_lines,
        }
    }

    #[test]
    fn insertion_above_shifts_the_range() {
        // Two lines inserted after line 3.
        assert_eq!(
            map_range(range(10, 20), &[hunk(3, 0, 4, 2)]),
            Some(range(12, 22))
        );
    }

    #[test]
    fn deletion_above_shifts_the_range_up() {
        assert_eq!(
            map_range(range(10, 20), &[hunk(2, 3, 1, 0)]),
            Some(range(7, 17))
        );
    }

    #[test]
    fn edits_below_leave_it_alone() {
        assert_eq!(
            map_range(range(10, 20), &[hunk(25, 2, 25, 9)]),
            Some(range(10, 20))
        );
        assert_eq!(
            map_range(range(10, 20), &[hunk(20, 0, 21, 4)]),
            Some(range(10, 20))
        );
    }

    #[test]
    fn insertion_inside_grows_the_range() {
        assert_eq!(
            map_range(range(10, 20), &[hunk(12, 0, 13, 3)]),
            Some(range(10, 23))
        );
        // Right after the first line is inside too.
        assert_eq!(
            map_range(range(10, 20), &[hunk(10, 0, 11, 1)]),
            Some(range(10, 21))
        );
    }

    #[test]
    fn edited_ends_widen_to_the_hunk() {
        // Lines 8-11 replaced by 6 lines starting at 8: the start is inside, keep 8.
        assert_eq!(
            map_range(range(10, 20), &[hunk(8, 4, 8, 6)]),
            Some(range(8, 22))
        );
        // Lines 19-24 replaced by 2 lines at 19: the end widens to the hunk's new end.
        assert_eq!(
            map_range(range(10, 20), &[hunk(19, 6, 19, 2)]),
            Some(range(10, 20))
        );
    }

    #[test]
    fn edits_inside_ignores_shifts_and_edits_elsewhere() {
        assert!(!edits_inside(
            range(10, 20),
            &[hunk(3, 0, 4, 2), hunk(25, 1, 27, 1)]
        ));
        assert!(
            !edits_inside(range(10, 20), &[hunk(20, 0, 21, 3)]),
            "insertion after the end"
        );
        assert!(edits_inside(range(10, 20), &[hunk(12, 0, 13, 1)]));
        assert!(edits_inside(range(10, 20), &[hunk(20, 1, 20, 1)]));
        assert!(edits_inside(range(10, 20), &[hunk(5, 6, 5, 2)]));
    }

    #[test]
    fn fully_deleted_range_is_gone() {
        assert_eq!(map_range(range(10, 20), &[hunk(9, 13, 8, 0)]), None);
    }

    #[test]
    fn several_hunks_compose() {
        let hunks = [hunk(1, 0, 2, 5), hunk(15, 1, 20, 2), hunk(30, 2, 36, 0)];
        assert_eq!(map_range(range(10, 20), &hunks), Some(range(15, 26)));
    }
}
