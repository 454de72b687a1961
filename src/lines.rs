//! 1-based line numbers, inclusive line ranges and positions in a text: every 0/1-based
//! conversion, and every byte offset turned into a line and column, lives here.

use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 1-based line number, as people and editors count lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LineNo(NonZeroU32);

impl LineNo {
    /// The line number `n` (1-based); `None` for 0.
    pub fn new(n: u32) -> Option<Self> {
        NonZeroU32::new(n).map(Self)
    }

    /// The line holding tree-sitter / 0-based row `row`.
    pub fn from_zero_based(row: usize) -> Self {
        let n = u32::try_from(row.saturating_add(1)).unwrap_or(u32::MAX);
        Self(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
    }

    /// The 1-based number.
    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The 0-based row, as tree-sitter counts.
    pub fn zero_based(self) -> usize {
        self.0.get() as usize - 1
    }
}

impl fmt::Display for LineNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An inclusive range of lines, `start <= end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineRange {
    start: LineNo,
    end: LineNo,
}

/// `[start, end]`, for the result cache.
impl Serialize for LineRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.start, self.end).serialize(serializer)
    }
}

/// `[start, end]`; a reversed range is refused, so a stored range keeps the invariant.
impl<'de> Deserialize<'de> for LineRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (start, end) = <(LineNo, LineNo)>::deserialize(deserializer)?;
        LineRange::new(start, end)
            .ok_or_else(|| serde::de::Error::custom(format!("reversed range {start}-{end}")))
    }
}

/// Why a `lines` value could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineRangeError {
    #[error("line numbers start at 1, not 0")]
    Zero,
    #[error("range {start}-{end} is reversed: the first line must not be after the last")]
    Reversed { start: u32, end: u32 },
    #[error("`{0}` is not a line or range: write `127` or `201-248`")]
    Malformed(String),
}

impl LineRange {
    /// The range `start..=end`; `None` when reversed.
    pub fn new(start: LineNo, end: LineNo) -> Option<Self> {
        (start <= end).then_some(Self { start, end })
    }

    /// A range of one line.
    pub fn single(line: LineNo) -> Self {
        Self {
            start: line,
            end: line,
        }
    }

    /// The range covering 0-based rows `start_row..=end_row`.
    pub fn from_zero_based(start_row: usize, end_row: usize) -> Self {
        let (a, b) = if start_row <= end_row {
            (start_row, end_row)
        } else {
            (end_row, start_row)
        };
        Self {
            start: LineNo::from_zero_based(a),
            end: LineNo::from_zero_based(b),
        }
    }

    /// Parses `127` or `201-248` (spaces around the dash allowed).
    pub fn parse(text: &str) -> Result<Self, LineRangeError> {
        let text = text.trim();
        let number = |s: &str| -> Result<u32, LineRangeError> {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(LineRangeError::Malformed(text.to_string()));
            }
            s.parse::<u32>()
                .map_err(|_| LineRangeError::Malformed(text.to_string()))
        };
        let (start, end) = match text.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let n = number(text)?;
                (n, n)
            }
        };
        let (Some(s), Some(e)) = (LineNo::new(start), LineNo::new(end)) else {
            return Err(LineRangeError::Zero);
        };
        Self::new(s, e).ok_or(LineRangeError::Reversed { start, end })
    }

    pub fn start(self) -> LineNo {
        self.start
    }

    pub fn end(self) -> LineNo {
        self.end
    }

    /// Number of lines in the range.
    pub fn len(self) -> u32 {
        self.end.get() - self.start.get() + 1
    }

    /// Always false: a range holds at least one line.
    pub fn is_empty(self) -> bool {
        false
    }

    pub fn contains_line(self, line: LineNo) -> bool {
        self.start <= line && line <= self.end
    }

    /// True when `other` lies wholly inside this range.
    pub fn contains(self, other: LineRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub fn overlaps(self, other: LineRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// The smallest range covering both.
    pub fn cover(self, other: LineRange) -> LineRange {
        LineRange {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// Lines between the two ranges (0 when they touch or overlap).
    pub fn distance(self, other: LineRange) -> u32 {
        if self.overlaps(other) {
            0
        } else if other.start > self.end {
            other.start.get() - self.end.get()
        } else {
            self.start.get() - other.end.get()
        }
    }
}

impl fmt::Display for LineRange {
    /// `127` for one line, `201-248` otherwise, as anchors.yaml and the docs write them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// A 1-based line and column in a text (the column counts characters), as messages and editors
/// give them: `anchors.yaml:12:9`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// Where byte `offset` of `text` is (an offset past the end is the end). The column counts
    /// the characters before it on its line.
    pub fn of_offset(text: &str, offset: usize) -> Position {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Position {
    /// `12:9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// The 0-based row and byte column of byte `offset` of `text`, as tree-sitter counts them.
pub fn zero_based_row_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let row = before.iter().filter(|b| **b == b'\n').count();
    let column = before.iter().rev().take_while(|b| **b != b'\n').count();
    (row, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    #[test]
    fn parses_single_lines_and_ranges() {
        assert_eq!(LineRange::parse("127").unwrap(), range(127, 127));
        assert_eq!(LineRange::parse("201-248").unwrap(), range(201, 248));
        assert_eq!(LineRange::parse(" 3 - 5 ").unwrap(), range(3, 5));
    }

    #[test]
    fn rejects_zero_reversed_and_garbage() {
        assert_eq!(LineRange::parse("0"), Err(LineRangeError::Zero));
        assert_eq!(LineRange::parse("0-4"), Err(LineRangeError::Zero));
        assert_eq!(
            LineRange::parse("9-3"),
            Err(LineRangeError::Reversed { start: 9, end: 3 })
        );
        for bad in ["", "a", "1-", "-3", "1-2-3", "+4", "1.5", "99999999999"] {
            assert!(
                matches!(LineRange::parse(bad), Err(LineRangeError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn zero_based_round_trip() {
        let r = LineRange::from_zero_based(200, 247);
        assert_eq!(r, range(201, 248));
        assert_eq!(r.start().zero_based(), 200);
        assert_eq!(r.to_string(), "201-248");
        assert_eq!(
            LineRange::single(LineNo::new(127).unwrap()).to_string(),
            "127"
        );
    }

    #[test]
    fn containment_overlap_and_distance() {
        assert!(range(10, 20).contains(range(12, 20)));
        assert!(!range(10, 20).contains(range(9, 12)));
        assert!(range(10, 20).overlaps(range(20, 30)));
        assert_eq!(range(10, 20).distance(range(25, 30)), 5);
        assert_eq!(range(10, 20).distance(range(1, 4)), 6);
        assert_eq!(range(10, 20).cover(range(1, 4)), range(1, 20));
    }

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let text = "ab\nçd\n";
        assert_eq!(
            Position::of_offset(text, 0),
            Position { line: 1, column: 1 }
        );
        assert_eq!(
            Position::of_offset(text, 3),
            Position { line: 2, column: 1 }
        );
        // `ç` is two bytes and one character.
        assert_eq!(
            Position::of_offset(text, 5),
            Position { line: 2, column: 2 }
        );
        assert_eq!(
            Position::of_offset(text, 99),
            Position { line: 3, column: 1 }
        );
        assert_eq!(Position::of_offset(text, 5).to_string(), "2:2");
        assert_eq!(zero_based_row_column(text.as_bytes(), 5), (1, 2));
    }
}
