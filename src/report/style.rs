//! The ANSI styles of the terminal formats (`text` and `audit`): every escape code they use,
//! and the colour of each verdict and of each kind of Go token.

use crate::model::{TokenClass, Verdict};

pub const RESET: &str = "\x1b[0m";
pub const BOLD: &str = "\x1b[1m";
pub const DIM: &str = "\x1b[2m";
pub const GREEN: &str = "\x1b[32m";
pub const YELLOW: &str = "\x1b[33m";
pub const RED: &str = "\x1b[31m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";
const BLUE: &str = "\x1b[34m";
const DIM_ITALIC: &str = "\x1b[2;3m";

/// Every escape sequence the terminal formats print: the ones above, and the ones
/// annotate-snippets draws the text report's excerpts with (bold bright red, yellow, blue,
/// green and cyan). Repository text may use none but these on a terminal
/// ([`super::terminal::escape_controls`]); a test renders every verdict in colour and finds no
/// other.
pub const SEQUENCES: &[&str] = &[
    RESET, BOLD, DIM, GREEN, YELLOW, RED, MAGENTA, CYAN, BLUE, DIM_ITALIC, "\x1b[91m", "\x1b[92m",
    "\x1b[94m", "\x1b[96m",
];

/// Green for verified, yellow for what moved, red for what failed; an unchecked claim is dim.
pub fn verdict_color(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Unchecked => DIM,
        Verdict::Verified => GREEN,
        Verdict::NeedsReview | Verdict::Drifted | Verdict::Ambiguous => YELLOW,
        Verdict::Broken | Verdict::Error => RED,
    }
}

/// Go syntax highlighting of cited code.
pub fn token_color(class: TokenClass) -> &'static str {
    match class {
        TokenClass::Keyword => MAGENTA,
        TokenClass::String => GREEN,
        TokenClass::Comment => DIM_ITALIC,
        TokenClass::Number | TokenClass::Constant => CYAN,
        TokenClass::Function => BLUE,
        TokenClass::Type => YELLOW,
    }
}
