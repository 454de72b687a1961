//! The ANSI styles of the terminal formats (`text` and `audit`): every escape code they use,
//! and the colour of each verdict and of each kind of Go token.

use super::{TokenClass, Verdict};

pub const RESET: &str = "\x1b[0m";
pub const BOLD: &str = "\x1b[1m";
pub const DIM: &str = "\x1b[2m";
pub const GREEN: &str = "\x1b[32m";
pub const YELLOW: &str = "\x1b[33m";
pub const RED: &str = "\x1b[31m";

/// Green for verified, yellow for what moved, red for what failed; an unchecked claim is dim.
pub fn verdict_color(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Unchecked => DIM,
        Verdict::Verified => GREEN,
        Verdict::Drifted | Verdict::Ambiguous => YELLOW,
        Verdict::Broken | Verdict::Error => RED,
    }
}

/// Go syntax highlighting of cited code.
pub fn token_color(class: TokenClass) -> &'static str {
    match class {
        TokenClass::Keyword => "\x1b[35m",
        TokenClass::String => GREEN,
        TokenClass::Comment => "\x1b[2;3m",
        TokenClass::Number | TokenClass::Constant => "\x1b[36m",
        TokenClass::Function => "\x1b[34m",
        TokenClass::Type => YELLOW,
    }
}
