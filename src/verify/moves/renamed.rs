//! Moved code whose names changed on the way. A refactor that moves a type into its own package
//! often renames as it goes: the receiver `pcr` becomes `r`, `FinalizerName` becomes
//! `finalizerName`, `ProxyClassReconciler` becomes `Reconciler`. Line by line the text differs,
//! so the exact search finds too little of it; line by line the shape is the same. The cited
//! lines are looked for by shape (identifiers written as one placeholder), and a place found so
//! is taken only when its identifiers are the cited ones renamed consistently (one new name for
//! each old one, and back) with most of them unchanged: another function of the same shape,
//! with its own names, is not the cited code.

use std::collections::HashMap;

use crate::go::KEYWORDS;
use crate::source::history::line_hash;

/// Of the identifier occurrences on the lines found, the share (in thousandths) that must keep
/// their name: a rename moves a few names, not all of them.
const MIN_UNCHANGED: usize = 500;
/// Of the identifier occurrences on the lines found, the share (in thousandths) that must
/// follow the one renaming of their name.
const MIN_CONSISTENT: usize = 950;

/// Besides Go's keywords, the names a rename does not touch, kept in the shape: the predeclared
/// values, and `err` (every function's error is called that).
const KEPT: [&str; 4] = ["nil", "true", "false", "err"];

/// The shape of each line of a text: the hash of the line (trimmed) with every identifier
/// written `#`.
pub(super) struct Shapes {
    pub(super) hashes: Vec<u64>,
}

impl Shapes {
    pub(super) fn of<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Shapes {
        let mut skeleton = Vec::new();
        let hashes = lines
            .into_iter()
            .map(|line| {
                skeleton.clear();
                for token in tokens(line.trim_ascii()) {
                    match token {
                        Token::Name(_) => skeleton.push(b'#'),
                        Token::Kept(text) => skeleton.extend_from_slice(text),
                    }
                }
                line_hash(&skeleton)
            })
            .collect();
        Shapes { hashes }
    }
}

/// Whether the identifiers of the line pairs `pairs` (a line of `cited`, a line of `file` of
/// the same shape) are the cited ones renamed consistently (one new name for each old one, and
/// back), most of them unchanged.
pub(super) fn renamed(cited: &[&[u8]], file: &[&[u8]], pairs: &[(usize, usize)]) -> bool {
    let mut forward: HashMap<&[u8], HashMap<&[u8], usize>> = HashMap::new();
    let mut backward: HashMap<&[u8], HashMap<&[u8], usize>> = HashMap::new();
    let (mut total, mut unchanged) = (0usize, 0usize);
    for &(i, j) in pairs {
        let (Some(old), Some(new)) = (cited.get(i), file.get(j)) else {
            return false;
        };
        let (old, new) = (names(old), names(new));
        if old.len() != new.len() {
            return false;
        }
        for (a, b) in old.into_iter().zip(new) {
            total += 1;
            unchanged += usize::from(a == b);
            *forward.entry(a).or_default().entry(b).or_default() += 1;
            *backward.entry(b).or_default().entry(a).or_default() += 1;
        }
    }
    if total == 0 {
        return false;
    }
    // Occurrences that follow the most common renaming of their name, both ways.
    let followed = |map: &HashMap<&[u8], HashMap<&[u8], usize>>| -> usize {
        map.values()
            .map(|to| to.values().copied().max().unwrap_or(0))
            .sum()
    };
    let consistent = followed(&forward).min(followed(&backward));
    unchanged * 1000 >= total * MIN_UNCHANGED && consistent * 1000 >= total * MIN_CONSISTENT
}

/// The identifiers of a line a rename may change, in order.
fn names(line: &[u8]) -> Vec<&[u8]> {
    tokens(line.trim_ascii())
        .filter_map(|t| match t {
            Token::Name(name) => Some(name),
            Token::Kept(_) => None,
        })
        .collect()
}

/// A piece of a line: an identifier a rename may change, or anything else (keywords, the names
/// of [`KEPT`], operators, literals' other characters).
enum Token<'a> {
    Name(&'a [u8]),
    Kept(&'a [u8]),
}

/// The tokens of a line: each identifier (letters, digits, `_`, any non-ASCII byte, not
/// starting with a digit) alone, everything else a byte at a time.
fn tokens(line: &[u8]) -> impl Iterator<Item = Token<'_>> {
    let mut i = 0;
    std::iter::from_fn(move || {
        let c = *line.get(i)?;
        let start = i;
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
        if word(c) && !c.is_ascii_digit() {
            while line.get(i).is_some_and(|b| word(*b)) {
                i += 1;
            }
            let name = &line[start..i];
            let kept = KEYWORDS.iter().chain(&KEPT).any(|k| k.as_bytes() == name);
            Some(if kept {
                Token::Kept(name)
            } else {
                Token::Name(name)
            })
        } else {
            i += 1;
            Some(Token::Kept(&line[start..i]))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(text: &str) -> Shapes {
        Shapes::of(text.lines().map(str::as_bytes))
    }

    fn lines(text: &str) -> Vec<&[u8]> {
        text.lines().map(str::as_bytes).collect()
    }

    const CITED: &str = "logger := pcr.logger.With(\"ProxyClass\", req.Name)
err = pcr.Get(ctx, req.NamespacedName, pc)
if !pc.DeletionTimestamp.IsZero() {
return reconcile.Result{}, pcr.maybeCleanup(ctx, logger, pc)";

    #[test]
    fn a_renamed_receiver_keeps_the_shape_and_is_consistent() {
        let moved = CITED.replace("pcr.", "r.");
        assert_eq!(shapes(CITED).hashes, shapes(&moved).hashes);
        let pairs: Vec<_> = (0..4).map(|i| (i, i)).collect();
        assert!(renamed(&lines(CITED), &lines(&moved), &pairs));
    }

    #[test]
    fn other_code_of_the_same_shape_is_not_a_rename() {
        let other = "span := s.tracer.Start(\"Gateway\", in.ID)
err = s.Fetch(c, in.Key, gw)
if !gw.CreatedAt.IsZero() {
return result.Value{}, s.release(c, span, gw)";
        assert_eq!(shapes(CITED).hashes, shapes(other).hashes);
        let pairs: Vec<_> = (0..4).map(|i| (i, i)).collect();
        assert!(!renamed(&lines(CITED), &lines(other), &pairs));
    }

    #[test]
    fn one_name_split_into_two_is_not_consistent() {
        // `pc` becomes `a` on some lines and `b` on others, with most names unchanged.
        let cited = "x(pc, y, z, w)\nx(pc, y, z, w)\nx(pc, y, z, w)\nx(pc, y, z, w)";
        let split = "x(a, y, z, w)\nx(b, y, z, w)\nx(a, y, z, w)\nx(b, y, z, w)";
        let pairs: Vec<_> = (0..4).map(|i| (i, i)).collect();
        assert!(!renamed(&lines(cited), &lines(split), &pairs));
    }

    #[test]
    fn keywords_stay_in_the_shape() {
        assert_ne!(shapes("if ok {").hashes, shapes("for ok {").hashes);
        assert_eq!(shapes("if ok {").hashes, shapes("if done {").hashes);
    }
}
