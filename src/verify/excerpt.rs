//! What a report says of a range: its place, and its lines as an excerpt of the file already
//! parsed. Shared by the first check, relocation, settling and the baseline comparison, so
//! none of them reaches back into another for it.

use crate::go::GoFile;
use crate::lines::LineRange;
use crate::model::{Excerpt, Place};

pub(super) fn place(path: &str, lines: LineRange) -> Place {
    Place {
        path: path.to_string(),
        lines,
    }
}

/// The lines of `lines`, with their Go syntax classes when `highlighted` (from the tree already
/// parsed, so nothing is read or parsed twice).
pub(super) fn excerpt(file: &GoFile, lines: LineRange, highlighted: bool) -> Excerpt {
    Excerpt {
        first_line: lines.start(),
        lines: file.lines_text(lines),
        highlights: highlighted.then(|| crate::go::highlight::highlight(file, lines)),
    }
}
