//! Where the lines of a file at the verified revision came from, compared with a file at the
//! ref's `at`: kept, edited, or new. Relocation asks it so that a ref moves only to where the
//! cited code went: code that existed at `at` outside the cited lines is never that place, and
//! a cited construct still there (edited or not) must be part of the evidence wherever the ref
//! is said to be now, or the evidence was weakened in place.

use std::cell::RefCell;
use std::rc::Rc;

use similar::{Algorithm, DiffOp};

use crate::lines::{LineNo, LineRange};
use crate::source::FileBlob;

/// Where one line of the newer file came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    /// This line of the older file (1-based), unchanged.
    Kept(u32),
    /// An edit of this line of the older file: paired with it in a rewritten block because
    /// their texts are alike (a line commented out, a wrapper dropped from a call).
    Edited(u32),
    /// Not in the older file.
    New,
}

impl Origin {
    /// The older line it descends from, kept or edited.
    pub(super) fn old_line(self) -> Option<u32> {
        match self {
            Origin::Kept(l) | Origin::Edited(l) => Some(l),
            Origin::New => None,
        }
    }
}

/// How alike (normalized Levenshtein of the trimmed texts) a rewritten line must be to an old
/// line of its block to count as an edit of it rather than as new code.
const EDIT_SIMILARITY: f64 = 0.6;

/// Rewritten blocks larger than this (old lines times new lines) pair lines by position only.
const MAX_PAIRING_WORK: usize = 4096;

/// Lines longer than this (trimmed, in bytes) are never compared for likeness: a minified or
/// generated line would cost a quadratic comparison and is new code when rewritten.
const MAX_COMPARED_LINE: usize = 1_000;

/// The [`Origins`] worked out for a group of refs (those checked at one path), shared between
/// them: the refs of one file compare the same two versions, and the line diff with its
/// pairing of rewritten lines is the dearest part of following them. Keyed by the older
/// blob's id and the newer file's bytes, so a reuse is the same answer.
#[derive(Default)]
pub(super) struct OriginsMemo {
    made: RefCell<Vec<MemoEntry>>,
}

/// The older blob's id (`None`: no older file), the newer file's bytes, their origins.
type MemoEntry = (Option<String>, Box<[u8]>, Rc<Origins>);

/// At most this many pairs of versions are remembered per group (each keeps the newer file's
/// bytes); past it they are worked out each time.
const MEMO_PAIRS: usize = 8;

impl OriginsMemo {
    /// [`Origins::between`] of `old` (by blob) and `new`, worked out once per group.
    pub(super) fn between(&self, old: Option<&FileBlob>, new: &[u8]) -> Rc<Origins> {
        let id = old.map(|b| b.id.as_str());
        if id == Some("") {
            // No id to tell versions apart by.
            return Rc::new(Origins::between(old.map(|b| &b.bytes[..]), new));
        }
        if let Some((_, _, origins)) = self
            .made
            .borrow()
            .iter()
            .find(|(i, bytes, _)| i.as_deref() == id && **bytes == *new)
        {
            return Rc::clone(origins);
        }
        let origins = Rc::new(Origins::between(old.map(|b| &b.bytes[..]), new));
        let mut made = self.made.borrow_mut();
        if made.len() < MEMO_PAIRS {
            made.push((id.map(str::to_string), new.into(), Rc::clone(&origins)));
        }
        origins
    }
}

/// The origin of every line of a newer file.
#[derive(Clone, Debug, Default)]
pub(super) struct Origins {
    lines: Vec<Origin>,
    /// Whether each line of the newer file is blank.
    blank: Vec<bool>,
    /// Whether each line of the newer file says something: a few letters or digits, not only
    /// punctuation such as a closing `}` that a diff may pair with any other.
    telling: Vec<bool>,
}

/// Letters and digits a line needs to count as telling code of its own.
const TELLING_ALPHANUMERICS: usize = 4;

/// True when `line` holds enough letters and digits to be telling code of its own, not a
/// brace or a bare `return`.
pub(super) fn is_telling(line: &str) -> bool {
    line.chars().filter(char::is_ascii_alphanumeric).count() >= TELLING_ALPHANUMERICS
}

impl Origins {
    /// The origins of the lines of `new` compared with `old` (a line diff, patience first, as
    /// `git diff --patience`); with no older file, every line is new.
    pub(super) fn between(old: Option<&[u8]>, new: &[u8]) -> Origins {
        let new_lines = split(new);
        let blank = new_lines.iter().map(|l| l.trim().is_empty()).collect();
        let telling = new_lines.iter().map(|l| is_telling(l)).collect();
        let Some(old) = old else {
            return Origins {
                lines: vec![Origin::New; new_lines.len()],
                blank,
                telling,
            };
        };
        let old_lines = split(old);
        let mut lines = vec![Origin::New; new_lines.len()];
        let line_no = |i: usize| u32::try_from(i + 1).unwrap_or(u32::MAX);
        // The diff runs on interned lines: the same text, the same number, so it pairs the
        // same lines as a diff of the texts, comparing numbers instead of strings.
        let (old_ids, new_ids) = intern(&old_lines, &new_lines);
        for op in similar::capture_diff_slices(Algorithm::Patience, &old_ids, &new_ids) {
            match op {
                DiffOp::Equal {
                    old_index,
                    new_index,
                    len,
                } => {
                    for k in 0..len {
                        lines[new_index + k] = Origin::Kept(line_no(old_index + k));
                    }
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    let by_position = old_len.saturating_mul(new_len) > MAX_PAIRING_WORK;
                    // Each old line is the edit of at most one new line: the most alike pairs
                    // first (a route that lost its wrapper, not the new route added beside it).
                    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
                    for k in 0..new_len {
                        let olds: Vec<usize> = if by_position {
                            (k < old_len).then_some(k).into_iter().collect()
                        } else {
                            (0..old_len).collect()
                        };
                        for o in olds {
                            let alike = alike(&old_lines[old_index + o], &new_lines[new_index + k]);
                            if alike >= EDIT_SIMILARITY {
                                pairs.push((alike, o, k));
                            }
                        }
                    }
                    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
                    let mut old_taken = vec![false; old_len];
                    for (_, o, k) in pairs {
                        if !old_taken[o] && lines[new_index + k] == Origin::New {
                            old_taken[o] = true;
                            lines[new_index + k] = Origin::Edited(line_no(old_index + o));
                        }
                    }
                }
                DiffOp::Delete { .. } | DiffOp::Insert { .. } => {}
            }
        }
        Origins {
            lines,
            blank,
            telling,
        }
    }

    /// Where `line` came from (new past the end).
    pub(super) fn of(&self, line: LineNo) -> Origin {
        self.lines
            .get(line.zero_based())
            .copied()
            .unwrap_or(Origin::New)
    }

    /// True when some telling line of `lines` descends from an older line outside `cited`: a
    /// place that takes in code which was already there, elsewhere, is not where the cited
    /// lines went, even when some of its lines are theirs (a guard commented out, followed to
    /// the rest of its function, where another guard holds).
    pub(super) fn takes_in_outside(&self, lines: LineRange, cited: LineRange) -> bool {
        self.takes_in_outside_where(lines, cited, |_| true)
    }

    /// As [`Origins::takes_in_outside`], counting only the lines of `lines` that `counts`
    /// takes.
    pub(super) fn takes_in_outside_where(
        &self,
        lines: LineRange,
        cited: LineRange,
        counts: impl Fn(LineNo) -> bool,
    ) -> bool {
        (lines.start().get()..=lines.end().get())
            .filter_map(LineNo::new)
            .filter(|l| self.telling.get(l.zero_based()).copied().unwrap_or(false))
            .filter(|l| counts(*l))
            .any(|l| {
                self.of(l)
                    .old_line()
                    .and_then(LineNo::new)
                    .is_some_and(|old| !cited.contains_line(old))
            })
    }

    /// True when `cited` holds telling code none of which descends from the older file's lines
    /// at the same numbers: what a citation without `at` reads there is other code than it
    /// read in the older version (code inserted above pushed other code into the cited lines,
    /// or wrote new code there), not the same code shifted or edited.
    pub(super) fn slid_into(&self, cited: LineRange) -> bool {
        let mut telling = (cited.start().get()..=cited.end().get())
            .filter_map(LineNo::new)
            .filter(|l| self.telling.get(l.zero_based()).copied().unwrap_or(false))
            .peekable();
        telling.peek().is_some()
            && telling.all(|l| {
                !self
                    .of(l)
                    .old_line()
                    .and_then(LineNo::new)
                    .is_some_and(|old| cited.contains_line(old))
            })
    }

    /// True when some telling line descends (kept or edited) from the older lines `old`: some
    /// of that code is still in the newer file.
    pub(super) fn keeps_any(&self, old: LineRange) -> bool {
        self.lines.iter().enumerate().any(|(i, o)| {
            self.telling.get(i).copied().unwrap_or(false)
                && o.old_line()
                    .and_then(LineNo::new)
                    .is_some_and(|l| old.contains_line(l))
        })
    }

    /// True when every non-blank line of `lines` (at least one) descends from an older line
    /// outside `cited` (any older line with `None`): code that was already there, elsewhere.
    pub(super) fn all_from_outside(&self, lines: LineRange, cited: Option<LineRange>) -> bool {
        let mut code = (lines.start().get()..=lines.end().get())
            .filter_map(LineNo::new)
            .filter(|l| !self.blank.get(l.zero_based()).copied().unwrap_or(true))
            .peekable();
        code.peek().is_some()
            && code.all(|l| {
                self.of(l)
                    .old_line()
                    .and_then(LineNo::new)
                    .is_some_and(|old| cited.is_none_or(|c| !c.contains_line(old)))
            })
    }

    /// True when some line of `lines` descends (kept or edited) from a line of the older file:
    /// its telling lines, or its non-blank ones when none is telling. False for code written
    /// since the older file, wholly.
    pub(super) fn descends_any(&self, lines: LineRange) -> bool {
        let numbers = || (lines.start().get()..=lines.end().get()).filter_map(LineNo::new);
        let flag = |v: &[bool], l: LineNo| v.get(l.zero_based()).copied().unwrap_or(false);
        let telling = numbers().any(|l| flag(&self.telling, l));
        numbers()
            .filter(|&l| {
                if telling {
                    flag(&self.telling, l)
                } else {
                    !self.blank.get(l.zero_based()).copied().unwrap_or(true)
                }
            })
            .any(|l| self.of(l).old_line().is_some())
    }

    /// The lines descending (kept or edited) from the older lines `old`, in order.
    pub(super) fn descendants(&self, old: LineRange) -> Vec<LineNo> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                o.old_line()
                    .and_then(LineNo::new)
                    .is_some_and(|l| old.contains_line(l))
            })
            .map(|(i, _)| LineNo::from_zero_based(i))
            .collect()
    }
}

/// How alike two lines are, trimmed (normalized Levenshtein); 0 for lines too long to compare,
/// and for lines that cannot be [`EDIT_SIMILARITY`] alike, which are told without the
/// quadratic comparison.
fn alike(old: &str, new: &str) -> f64 {
    let (old, new) = (old.trim(), new.trim());
    if old.len() > MAX_COMPARED_LINE || new.len() > MAX_COMPARED_LINE {
        return 0.0;
    }
    if !may_be_alike(old, new) {
        return 0.0;
    }
    normalized_levenshtein(old, new)
}

/// strsim's `normalized_levenshtein` of `a` and `b`, to the last bit (one less the distance over
/// the longer length in characters; one for two empty strings), with the distance from
/// rapidfuzz's bit-parallel Levenshtein, on bytes when both are ASCII: two lines of a hundred
/// characters cost a few hundred word operations, not strsim's ten thousand cells.
pub(super) fn normalized_levenshtein(a: &str, b: &str) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (distance, longest) = if a.is_ascii() && b.is_ascii() {
        let distance = rapidfuzz::distance::levenshtein::distance(a.bytes(), b.bytes());
        (distance, a.len().max(b.len()))
    } else {
        let distance = rapidfuzz::distance::levenshtein::distance(a.chars(), b.chars());
        (distance, a.chars().count().max(b.chars().count()))
    };
    1.0 - (distance as f64) / (longest as f64)
}

/// False when the normalized Levenshtein similarity of `a` and `b` is surely below
/// [`EDIT_SIMILARITY`]: the distance is at least the longer length minus the characters the
/// two have in common (counted with repeats), so the similarity is at most that share of the
/// longer length. Counts bytes of ASCII lines and only lengths of others.
fn may_be_alike(a: &str, b: &str) -> bool {
    let (la, lb) = (a.chars().count(), b.chars().count());
    let longest = la.max(lb);
    if longest == 0 {
        return true;
    }
    let common = if a.is_ascii() && b.is_ascii() {
        let mut counts = [0i32; 128];
        for &c in a.as_bytes() {
            counts[usize::from(c)] += 1;
        }
        let mut common = 0;
        for &c in b.as_bytes() {
            let n = &mut counts[usize::from(c)];
            if *n > 0 {
                *n -= 1;
                common += 1;
            }
        }
        common
    } else {
        la.min(lb)
    };
    // The same arithmetic as strsim's, with the distance's lower bound: never above it.
    1.0 - ((longest - common) as f64) / (longest as f64) >= EDIT_SIMILARITY
}

/// Each line as a number, equal where the texts are equal, for both files.
fn intern<'a>(old: &'a [String], new: &'a [String]) -> (Vec<u32>, Vec<u32>) {
    let mut ids: rustc_hash::FxHashMap<&'a str, u32> = rustc_hash::FxHashMap::default();
    let mut id = |line: &'a String| {
        let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        *ids.entry(line.as_str()).or_insert(next)
    };
    let old_ids = old.iter().map(&mut id).collect();
    let new_ids = new.iter().map(&mut id).collect();
    (old_ids, new_ids)
}

/// The lines of a text, without their endings.
fn split(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u32) -> LineNo {
        LineNo::new(n).unwrap()
    }

    #[test]
    fn the_likeness_bound_never_rules_out_an_edit() {
        let lines = [
            "if err != nil {",
            "// if err != nil {",
            "\treturn err",
            "return fmt.Errorf(\"bad %s\", x)",
            "mux.HandleFunc(\"/v1/x\", h)",
            "mux.Handle(\"/v1/x\", wrap(h))",
            "}",
            "// }",
            "",
            "MinVersion: tls.VersionTLS12,",
            "MinVersion: tls.VersionTLS13,",
            "ClientAuth: tls.RequireAndVerifyClientCert,",
            "ClientAuth: tls.NoClientCert,",
            "é := \"ünïcode\"",
            "e := \"unicode\"",
            "log.Fatalf(\"no: %v\", err)",
            "log.Printf(\"no: %v\", err)",
        ];
        let mut ruled_out = 0;
        for a in lines {
            for b in lines {
                let exact = strsim::normalized_levenshtein(a, b);
                if exact >= EDIT_SIMILARITY {
                    assert!(may_be_alike(a, b), "{a:?} and {b:?} are {exact} alike");
                } else {
                    ruled_out += usize::from(!may_be_alike(a, b));
                }
                assert_eq!(alike(a, b) >= EDIT_SIMILARITY, exact >= EDIT_SIMILARITY);
            }
        }
        // The bound does its work: most unlike pairs are told without the comparison.
        assert!(ruled_out > 150, "{ruled_out}");
    }

    #[test]
    fn the_diff_of_interned_lines_pairs_as_the_diff_of_texts() {
        let old = split(b"a\nb\nc\nb\nd\n}\n}\ne\n");
        let new = split(b"b\na\nc\n}\nd\nb\ne\n}\n");
        let (old_ids, new_ids) = intern(&old, &new);
        assert_eq!(
            similar::capture_diff_slices(Algorithm::Patience, &old_ids, &new_ids),
            similar::capture_diff_slices(Algorithm::Patience, &old, &new)
        );
        assert_eq!(old_ids[1], old_ids[3]);
        assert_eq!(old_ids[1], new_ids[0]);
        assert_ne!(old_ids[0], old_ids[1]);
    }

    #[test]
    fn a_pair_of_versions_is_diffed_once_per_group() {
        let blob = |text: &str, id: &str| FileBlob {
            bytes: text.as_bytes().to_vec(),
            id: id.to_string(),
        };
        let memo = OriginsMemo::default();
        let (old, other) = (blob("a\nb\n", "1"), blob("b\nc\n", "2"));
        let first = memo.between(Some(&old), b"b\na\n");
        assert!(Rc::ptr_eq(&first, &memo.between(Some(&old), b"b\na\n")));
        let changed = memo.between(Some(&old), b"b\nx\n");
        assert!(!Rc::ptr_eq(&first, &changed));
        let direct = |old: &FileBlob, new: &[u8]| Origins::between(Some(&old.bytes), new).lines;
        assert_eq!(changed.lines, direct(&old, b"b\nx\n"));
        let from_other = memo.between(Some(&other), b"b\na\n");
        assert!(!Rc::ptr_eq(&first, &from_other));
        assert_eq!(from_other.lines, direct(&other, b"b\na\n"));
        assert_eq!(first.lines, direct(&old, b"b\na\n"));
        assert_ne!(first.lines, from_other.lines);
        // No id tells versions apart: never reused.
        let unnamed = blob("a\nb\n", "");
        let once = memo.between(Some(&unnamed), b"b\na\n");
        assert!(!Rc::ptr_eq(&once, &memo.between(Some(&unnamed), b"b\na\n")));
    }

    #[test]
    fn kept_edited_and_new_lines() {
        let old = "a\nif mtls {\n\treturn err\n}\nb\n";
        let new = "a\nx := 1\n// if mtls {\n// \treturn err\n// }\nb\n";
        let o = Origins::between(Some(old.as_bytes()), new.as_bytes());
        assert_eq!(o.of(line(1)), Origin::Kept(1));
        assert_eq!(o.of(line(2)), Origin::New);
        assert_eq!(o.of(line(3)), Origin::Edited(2));
        assert_eq!(o.of(line(4)), Origin::Edited(3));
        assert_eq!(o.of(line(6)), Origin::Kept(5));
        let cited = LineRange::new(line(2), line(4)).unwrap();
        // `}` and `// }` are too short to tell an edit from new code.
        assert_eq!(o.of(line(5)), Origin::New);
        assert_eq!(o.descendants(cited), [line(3), line(4)]);
    }

    #[test]
    fn code_from_outside_the_cited_lines_is_told_apart() {
        let old = "a\nlog(x)\nb\nlog(x)\n";
        let new = "a\nlog(x)\nb\ncount++\n\nlog(x)\n";
        let o = Origins::between(Some(old.as_bytes()), new.as_bytes());
        let range = |a, b| LineRange::new(line(a), line(b)).unwrap();
        // The twin at line 2 was there; the cited line 4 became `count++`.
        let cited = Some(range(4, 4));
        assert!(o.all_from_outside(range(2, 2), cited));
        assert!(!o.all_from_outside(range(6, 6), cited), "inserted");
        assert!(!o.all_from_outside(range(5, 5), cited), "blank only");
        assert!(o.all_from_outside(range(1, 2), None));
    }

    #[test]
    fn a_place_taking_in_telling_code_from_outside_is_told_apart() {
        let old = "f()\nif err != nil {\n\treturn err\n}\ng()\nif err != nil {\n\treturn err\n}\n";
        let new = "f()\n// if err != nil {\n\t// return err\n// }\ng()\nif err != nil {\n\treturn err\n}\n";
        let o = Origins::between(Some(old.as_bytes()), new.as_bytes());
        let range = |a, b| LineRange::new(line(a), line(b)).unwrap();
        let cited = range(1, 4);
        assert!(!o.takes_in_outside(range(1, 4), cited));
        // `g()` is short, `}` says nothing; the guard after them was there at `at`.
        assert!(!o.takes_in_outside(range(1, 5), cited));
        assert!(o.takes_in_outside(range(1, 8), cited));
    }

    #[test]
    fn code_written_since_the_older_file_descends_from_none_of_it() {
        let old = "func a() {\n\tcheck(token)\n\tlog(token)\n}\n";
        let new = "func a() {\n\tcheck(token)\n\tlog(token, 1)\n}\n\nfunc b() {\n\tcheck(token, lax)\n}\n";
        let o = Origins::between(Some(old.as_bytes()), new.as_bytes());
        let range = |a, b| LineRange::new(line(a), line(b)).unwrap();
        // Kept, and edited: both descend.
        assert_eq!(o.of(line(2)), Origin::Kept(2));
        assert!(o.descends_any(range(2, 2)));
        assert_eq!(o.of(line(3)), Origin::Edited(3));
        assert!(o.descends_any(range(3, 3)));
        // `b` is new, its call like `a`'s old one; its `}` says nothing, and is not asked.
        assert!(!o.descends_any(range(6, 8)));
        assert!(!o.descends_any(range(7, 7)));
        // A blank line comes from nowhere.
        assert!(!o.descends_any(range(5, 5)));
    }

    #[test]
    fn an_old_line_is_the_edit_of_one_new_line_only() {
        let old = "a\n\tr.MethodFunc(\"DELETE\", \"/p/{name}\", authnz(DeleteP))\nb\n";
        let new = "a\n\tr.MethodFunc(\"PATCH\", \"/p/{name}\", authnz(UpdateP))\n\tr.MethodFunc(\"DELETE\", \"/p/{name}\", DeleteP)\nb\n";
        let o = Origins::between(Some(old.as_bytes()), new.as_bytes());
        assert_eq!(o.of(line(2)), Origin::New);
        assert_eq!(o.of(line(3)), Origin::Edited(2));
    }

    #[test]
    fn unlike_rewrites_are_new_code() {
        let old = "a\n\tlog.Printf(\"renew refused: %v\", err)\nb\n";
        let new = "a\n\ts.metrics.refused++\nb\n";
        let o = Origins::between(Some(old.as_bytes()), new.as_bytes());
        assert_eq!(o.of(line(2)), Origin::New);
        assert_eq!(
            Origins::between(None, new.as_bytes()).of(line(1)),
            Origin::New
        );
    }

    #[test]
    fn normalized_levenshtein_is_strsims_to_the_bit() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut lines: Vec<String> = vec![
            String::new(),
            "é := \"ünïcode\"".into(),
            "e := \"unicode\"".into(),
            "日本語のコメント // 注".into(),
            "x".repeat(64),
            "x".repeat(65),
            format!("{}y{}", "x".repeat(70), "z".repeat(70)),
            format!("{}q{}", "x".repeat(140), "z".repeat(10)),
        ];
        for path in crate::source::local::go_paths(&root).iter().take(40) {
            let text = std::fs::read_to_string(root.join(path)).unwrap_or_default();
            lines.extend(text.lines().map(|l| l.trim().to_string()));
        }
        let mut compared = 0;
        for (i, a) in lines.iter().enumerate() {
            // Each line with the next ones (edits of one another, most of them) and a spread of
            // far ones.
            for b in lines
                .iter()
                .skip(i)
                .take(12)
                .chain(lines.iter().step_by(97))
            {
                let (ours, theirs) = (
                    normalized_levenshtein(a, b),
                    strsim::normalized_levenshtein(a, b),
                );
                assert_eq!(ours.to_bits(), theirs.to_bits(), "{a:?} and {b:?}");
                compared += 1;
            }
        }
        assert!(compared > 10_000, "{compared}");
    }
}
