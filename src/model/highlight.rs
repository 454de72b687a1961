//! Syntax highlighting of excerpt lines, as reports carry it (classified by `go::highlight`).

/// What a highlighted token is. Plain identifiers, operators and punctuation get no class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum TokenClass {
    Keyword,
    String,
    Comment,
    Number,
    /// `true`, `false`, `nil`, `iota`.
    Constant,
    /// The callee of a call, or the name in a func or method declaration.
    Function,
    Type,
}

impl TokenClass {
    /// A short stable name, used as a CSS class and in tests.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A classified token on one line: byte offsets into that line's text (without its line ending).
/// 32-bit offsets: `audit` keeps the tokens of every cited line (a million lines at 330,000
/// refs), and a line of four gigabytes is no Go anyone cites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Highlight {
    pub start: u32,
    pub end: u32,
    pub class: TokenClass,
}

impl Highlight {
    /// Its bytes in the line's text.
    pub fn span(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}
