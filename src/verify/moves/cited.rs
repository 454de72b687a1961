//! The cited text as the move search compares it, and where a file holds it: line by line, or
//! by shape with names renamed; the cited lines themselves, or the declaration around them.

use similar::{Algorithm, DiffOp};

use super::renamed::{self, Shapes};
use crate::lines::{LineNo, LineRange};
use crate::source::history::{each_line, line_hash};

/// Of the cited lines holding a letter or digit, the share (in thousandths) that must be found
/// again in a file for it to hold the move.
const MIN_SIMILARITY: usize = 600;
/// The letters and digits those lines must hold together: `git blame -C`'s default, so that a
/// line such as `return err` is never taken for a move.
const MIN_MOVED_CHARS: usize = 40;
/// The same share, for lines found by their shape when names were renamed on the way
/// ([`renamed`]): nearly all of them, since each line alone says less.
const MIN_SHAPE_SIMILARITY: usize = 800;
/// Lines that may lie between two cited lines found in a file beyond those between them where
/// they were cited (lines added inside the moved code).
const MAX_GAP: usize = 5;

/// The cited lines of a ref, as the move search compares them.
pub(super) struct Cited {
    /// Hash of each line, trimmed.
    hashes: Vec<u64>,
    /// Letters and digits on each line.
    chars: Vec<usize>,
    /// Hashes of the lines around them (up to [`CONTEXT_LINES`] each side) holding a letter or
    /// digit, which tell apart files that hold the cited lines equally well.
    context: Vec<u64>,
    /// The cited lines, and the shape of each, for code moved with its names changed.
    lines: Vec<Vec<u8>>,
    shapes: Shapes,
}

/// Lines each side of the cited ones that break ties between files holding them.
const CONTEXT_LINES: usize = 10;

impl Cited {
    /// Lines `a..=b` (0-based) of `lines`, with their context; `None` when out of range.
    pub(super) fn of(lines: &[&[u8]], a: usize, b: usize) -> Option<Cited> {
        let cited = lines.get(a..=b)?;
        let around = lines[a.saturating_sub(CONTEXT_LINES)..a]
            .iter()
            .chain(lines.iter().skip(b + 1).take(CONTEXT_LINES));
        Some(Cited {
            hashes: cited.iter().map(|l| line_hash(l.trim_ascii())).collect(),
            chars: cited.iter().map(|l| alphanumeric(l)).collect(),
            context: around
                .filter(|l| alphanumeric(l) > 0)
                .map(|l| line_hash(l.trim_ascii()))
                .collect(),
            lines: cited.iter().map(|l| l.to_vec()).collect(),
            shapes: Shapes::of(cited.iter().copied()),
        })
    }

    /// How many of the context lines are among `lines` (sorted line hashes of a file).
    pub(super) fn context_in(&self, lines: &[u64]) -> usize {
        self.context
            .iter()
            .filter(|h| lines.binary_search(h).is_ok())
            .count()
    }

    /// Whether one of the cited lines, trimmed, hashes to `hash`.
    pub(super) fn has_line(&self, hash: u64) -> bool {
        self.hashes.contains(&hash)
    }

    /// Whether the lines hold enough text ([`MIN_MOVED_CHARS`]) to tell a move from a
    /// coincidence.
    pub(super) fn enough_text(&self) -> bool {
        self.chars.iter().sum::<usize>() >= MIN_MOVED_CHARS
    }

    pub(super) fn significant(&self) -> usize {
        self.chars.iter().filter(|&&c| c > 0).count()
    }

    /// Whether enough of the cited lines are among `lines` (sorted line hashes of a file) for
    /// it to hold them: the cheap test made of every file that could.
    pub(super) fn mostly_in(&self, lines: &[u64]) -> bool {
        let present = (0..self.hashes.len())
            .filter(|&i| self.chars[i] > 0 && lines.binary_search(&self.hashes[i]).is_ok())
            .count();
        present * 1000 >= self.significant() * MIN_SIMILARITY
    }

    /// The letters and digits of the cited lines that are among `lines` (sorted line hashes of
    /// a file) as they were: how much of the cited text a file kept, renamed or not.
    pub(super) fn text_in(&self, lines: &[u64]) -> usize {
        (0..self.hashes.len())
            .filter(|&i| lines.binary_search(&self.hashes[i]).is_ok())
            .map(|i| self.chars[i])
            .sum()
    }

    /// Where the cited lines are in a file with these line hashes (in order), keeping their
    /// shape: `None` unless enough of them are there, in order (see [`MIN_SIMILARITY`] and
    /// [`MIN_MOVED_CHARS`]).
    pub(super) fn found_in(&self, file: &[u64]) -> Option<Match> {
        if !self.may_match(&self.hashes, file, MIN_SIMILARITY) {
            return None;
        }
        self.matched(&self.hashes, file, MIN_SIMILARITY, |_| true)
    }

    /// Where the cited lines are in a file with these line shapes, their names renamed
    /// consistently on the way (see [`renamed`] and [`MIN_SHAPE_SIMILARITY`]).
    pub(super) fn found_renamed_in(&self, file: &[&[u8]]) -> Option<Match> {
        let shapes = Shapes::of(file.iter().copied());
        if !self.may_match(&self.shapes.hashes, &shapes.hashes, MIN_SHAPE_SIMILARITY) {
            return None;
        }
        let cited: Vec<&[u8]> = self.lines.iter().map(Vec::as_slice).collect();
        self.matched(
            &self.shapes.hashes,
            &shapes.hashes,
            MIN_SHAPE_SIMILARITY,
            |pairs| renamed::renamed(&cited, file, pairs),
        )
    }

    /// Whether the lines `cited` (one hash per cited line) could be found among `file`'s:
    /// only a cited line the file has can be, so when those lines cannot reach the thresholds
    /// [`Cited::matched`] asks of the lines it finds, the diff (slow over a long file, most of
    /// all one holding none of them) cannot either.
    fn may_match(&self, cited: &[u64], file: &[u64], min_similarity: usize) -> bool {
        let mut present = file.to_vec();
        present.sort_unstable();
        let (mut significant, mut chars) = (0usize, 0usize);
        for (hash, &c) in cited.iter().zip(&self.chars) {
            if present.binary_search(hash).is_ok() {
                significant += usize::from(c > 0);
                chars += c;
            }
        }
        significant * 1000 >= self.significant() * min_similarity && chars >= MIN_MOVED_CHARS
    }

    /// Where the lines `cited` (one hash per cited line) are among `file`'s: the group of lines
    /// found together holding the most text, when it holds at least `min_similarity`
    /// thousandths of the significant cited lines and [`MIN_MOVED_CHARS`], and `accept` takes
    /// its pairs of (cited, file) line indexes.
    pub(super) fn matched(
        &self,
        cited: &[u64],
        file: &[u64],
        min_similarity: usize,
        accept: impl Fn(&[(usize, usize)]) -> bool,
    ) -> Option<Match> {
        let mut matched: Vec<(usize, usize)> = Vec::new();
        for op in similar::capture_diff_slices(Algorithm::Patience, cited, file) {
            if let DiffOp::Equal {
                old_index,
                new_index,
                len,
            } = op
            {
                matched.extend((0..len).map(|k| (old_index + k, new_index + k)));
            }
        }
        // Lines found far from the others are coincidences (a `return nil` elsewhere): keep the
        // group of lines found together that holds the most text.
        let chars_of =
            |group: &[(usize, usize)]| -> usize { group.iter().map(|(i, _)| self.chars[*i]).sum() };
        let matched = matched
            .chunk_by(|a, b| b.1 - a.1 <= b.0 - a.0 + MAX_GAP)
            .max_by_key(|group| chars_of(group))?;
        let significant = matched.iter().filter(|(i, _)| self.chars[*i] > 0).count();
        let chars = chars_of(matched);
        if significant * 1000 < self.significant() * min_similarity
            || chars < MIN_MOVED_CHARS
            || !accept(matched)
        {
            return None;
        }
        let (&(i1, p1), &(i2, p2)) = (matched.first()?, matched.last()?);
        let last_row = file.len().checked_sub(1)?;
        // The lines before the first found keep their offset; the end is where the cited lines
        // after the last found end in the file (see [`end_after`]).
        let start = p1.saturating_sub(i1);
        let (end, run) = end_after(cited, file, i2, p2);
        let end = end.min(last_row);
        // The last cited lines found again there are found lines too.
        let mut pairs = matched.to_vec();
        pairs.extend((0..run).rev().map(|k| (cited.len() - 1 - k, end - k)));
        let line = |row: usize| LineNo::new(u32::try_from(row + 1).ok()?);
        let tight = LineRange::new(line(p1)?, line(p2)?)?;
        let shaped = LineRange::new(line(start)?, line(end)?)?;
        let total: usize = self.chars.iter().sum();
        Some(Match {
            shaped,
            tight,
            similarity: chars * 1000 / total.max(1),
            pairs,
        })
    }
}

/// The file row where the cited lines end, when the last of them found together is cited line
/// `i` at file row `p`: the cited lines after it, when some are not found (two lines joined into
/// one, a `}` paired by the diff with a look-alike further on), end where the longest run of the
/// last cited lines is found again after `p`, the run nearest their offset when several are as
/// long; at their offset from `p` when none is found. With the length of that run.
fn end_after(cited: &[u64], file: &[u64], i: usize, p: usize) -> (usize, usize) {
    let after = cited.len() - 1 - i;
    let by_offset = p + after;
    if after == 0 {
        return (p, 0);
    }
    let run_at = |q: usize| {
        (0..after)
            .take_while(|&k| q - k > p && cited[cited.len() - 1 - k] == file[q - k])
            .count()
    };
    (p + 1..=(by_offset + MAX_GAP).min(file.len().saturating_sub(1)))
        .map(|q| (run_at(q), q))
        .filter(|&(run, _)| run > 0)
        .max_by_key(|&(run, q)| (run, std::cmp::Reverse(q.abs_diff(by_offset))))
        .map_or((by_offset, 0), |(run, q)| (q, run))
}

/// Where a file holds the cited lines.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Match {
    /// Their lines there, keeping the cited shape where lines at the ends were edited.
    shaped: LineRange,
    /// The span of the lines found.
    tight: LineRange,
    /// The share of the cited letters and digits found, in thousandths.
    pub(super) similarity: usize,
    /// The (cited, file) line indexes (0-based) found together.
    pairs: Vec<(usize, usize)>,
}

/// What is looked for: the cited lines, or the declaration around them.
pub(super) struct Unit {
    pub(super) cited: Cited,
    /// With the declaration: the first and last cited line, as offsets into it.
    inner: Option<(usize, usize)>,
}

impl Unit {
    /// The cited lines themselves.
    pub(super) fn lines(cited: Cited) -> Unit {
        Unit { cited, inner: None }
    }

    /// Whether it is the cited lines themselves, not the declaration around them.
    pub(super) fn is_cited_lines(&self) -> bool {
        self.inner.is_none()
    }

    /// The smallest of `declarations` (the line spans of a file's declarations) strictly around
    /// `lines` of the file (split into `lines_of`), when it holds enough text to be told from a
    /// coincidence.
    pub(super) fn enclosing(
        lines_of: &[&[u8]],
        declarations: &[LineRange],
        lines: LineRange,
    ) -> Option<Unit> {
        let declaration = declarations
            .iter()
            .filter(|d| d.contains(lines) && **d != lines)
            .min_by_key(|d| d.len())?;
        let (da, db) = (
            declaration.start().zero_based(),
            declaration.end().zero_based(),
        );
        let cited = Cited::of(lines_of, da, db)?;
        if !cited.enough_text() {
            return None;
        }
        let inner = (
            lines.start().zero_based() - da,
            lines.end().zero_based() - da,
        );
        Some(Unit {
            cited,
            inner: Some(inner),
        })
    }

    /// The ranges to check the ref's evidence at, in order, where `found` places the unit: its
    /// shaped then its tight span, or for a declaration the cited lines' place inside it (each
    /// at the offset from the nearest line found before it).
    pub(super) fn placements(&self, found: &Match) -> Vec<LineRange> {
        let Some((first, last)) = self.inner else {
            return vec![found.shaped, found.tight];
        };
        // A cited line's row at its offset from the nearest line found before it, and from the
        // nearest found after it.
        let from_before = |k: usize| -> Option<usize> {
            let &(i, p) = found.pairs.iter().rev().find(|(i, _)| *i <= k)?;
            Some(p + (k - i))
        };
        let from_after = |k: usize| -> Option<usize> {
            let &(i, p) = found.pairs.iter().find(|(i, _)| *i >= k)?;
            p.checked_sub(i - k)
        };
        let a = from_before(first).or_else(|| from_after(first));
        // The last line no further than either says: two lines joined after it leave the line
        // found after it one row nearer.
        let b = match (from_before(last), from_after(last)) {
            (Some(x), Some(y)) if a.is_some_and(|a| x.min(y) >= a) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        let line = |row: usize| LineNo::new(u32::try_from(row + 1).ok()?);
        a.and_then(line)
            .zip(b.and_then(line))
            .and_then(|(a, b)| LineRange::new(a, b))
            .into_iter()
            .collect()
    }
}

/// Letters and digits on a line.
pub(super) fn alphanumeric(line: &[u8]) -> usize {
    line.iter().filter(|b| b.is_ascii_alphanumeric()).count()
}

/// The lines of `bytes`, without their line endings.
pub(super) fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = Vec::new();
    each_line(bytes, |line| lines.push(line));
    lines
}

/// How a search compares the cited lines with a file's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Matching {
    /// Line by line, as `git blame -C` does.
    Exact,
    /// By shape, names renamed consistently ([`renamed`]).
    Renamed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::history::hash_lines;

    /// The lines as `split` on `\n` gives them, the empty piece after a last `\n` left out.
    fn split_naively(bytes: &[u8]) -> Vec<&[u8]> {
        let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        if bytes.ends_with(b"\n") {
            lines.pop();
        }
        lines
    }

    #[test]
    fn lines_split_and_hash_as_split_on_newlines_does() {
        let cases: [&[u8]; 12] = [
            b"",
            b"\n",
            b"\n\n",
            b"a",
            b"a\n",
            b"a\nb",
            b"a\n\nb\n",
            b"\na",
            b"  x := 1\r\n\ty()\r\n",
            b"\t}\n}\n\n",
            b"func f() {\n\treturn\n}",
            b" \n \n ",
        ];
        for bytes in cases {
            let naive = split_naively(bytes);
            assert_eq!(split_lines(bytes), naive, "{bytes:?}");
            let hashes: Vec<u64> = naive.iter().map(|l| line_hash(l.trim_ascii())).collect();
            assert_eq!(hash_lines(bytes), hashes, "{bytes:?}");
        }
        let file = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/zen-mesh/src/saas/back/internal/identity/spiffe.go"
        ))
        .unwrap();
        assert_eq!(split_lines(&file), split_naively(&file));
    }

    /// The presence check before the diff turns away only files the diff would not find the
    /// cited lines in: on blocks of the zen-mesh fixture's files, against their file whole,
    /// with every other or every third line left out, and without the block, and against the
    /// next file.
    #[test]
    fn found_in_turns_away_only_files_the_diff_finds_nothing_in() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/zen-mesh");
        let paths = crate::source::local::go_paths(&root);
        let sources: Vec<Vec<u8>> = paths
            .iter()
            .map(|p| std::fs::read(root.join(p)).unwrap())
            .collect();
        let (mut turned_away, mut diffed) = (0, 0);
        for (k, source) in sources.iter().enumerate() {
            let lines = split_lines(source);
            for len in [3, 12] {
                for a in (0..lines.len().saturating_sub(len)).step_by(43) {
                    let cited = Cited::of(&lines, a, a + len - 1).unwrap();
                    let without: Vec<&[u8]> = lines[..a]
                        .iter()
                        .chain(&lines[a + len..])
                        .copied()
                        .collect();
                    let hashed = |kept: &[&[u8]]| -> Vec<u64> {
                        kept.iter().map(|l| line_hash(l.trim_ascii())).collect()
                    };
                    let every = |n: usize| -> Vec<u64> {
                        hashed(&lines.iter().copied().step_by(n).collect::<Vec<_>>())
                    };
                    let other = hash_lines(&sources[(k + 1) % sources.len()]);
                    for file in [hashed(&lines), every(2), every(3), hashed(&without), other] {
                        let found = cited.found_in(&file);
                        let diff = cited.matched(&cited.hashes, &file, MIN_SIMILARITY, |_| true);
                        assert_eq!(found, diff, "{}: lines {a}+{len}", paths[k]);
                        if cited.may_match(&cited.hashes, &file, MIN_SIMILARITY) {
                            diffed += 1;
                        } else {
                            turned_away += 1;
                        }
                    }
                }
            }
        }
        assert!(
            turned_away > 100 && diffed > 100,
            "{turned_away} turned away, {diffed} diffed"
        );
    }
}
