//! Disagreements between docs pages and anchors.yaml, and where a page cites a ref: what
//! `docs` finds and every format reports.

use crate::lines::{LineRange, Position};

/// A disagreement between a docs page and anchors.yaml.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocsFinding {
    /// The file it is about, from the repository root: the docs page, or the anchors file for a
    /// ref that no page cites.
    pub page: String,
    /// Where in that file, when the finding is about a citation or a ref; `None` for the whole
    /// page.
    pub position: Option<Position>,
    pub kind: DocsFindingKind,
    pub message: String,
    /// What it is about, in words that stay the same while the finding does: the citation as
    /// written (`server.go:10-12`), `claim:path` of a ref no page cites (its lines move with
    /// drift), empty for a whole page. Fingerprints are made of it, not of the message.
    pub subject: String,
    /// The same, typed: what `--allow-drift` compares with the drifted refs.
    pub about: DocsSubject,
}

/// What a docs finding is about, for deciding whether drift explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocsSubject {
    /// The whole page.
    Page,
    /// A citation on the page: the path as written and the lines it names.
    Citation { path: String, lines: LineRange },
    /// A ref of anchors.yaml: its claim, path and cited lines.
    Ref {
        claim: String,
        path: String,
        lines: LineRange,
    },
}

/// What a docs finding is about. Its identity in SARIF fingerprints is the variant's name
/// (`UnknownCitation`), derived: fingerprints are output, so a variant is never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum DocsFindingKind {
    /// The page could not be read (missing, not UTF-8): nothing on it was checked.
    UnreadablePage,
    /// A citation on the page that no ref has.
    UnknownCitation,
    /// A ref that no page cites.
    UncitedRef,
}

impl DocsFindingKind {
    /// The stable name fingerprints are made of.
    pub fn id(self) -> &'static str {
        self.into()
    }
}

impl DocsFinding {
    /// True when the page itself could not be read: that fails every run, whichever claims
    /// were selected, since nothing on the page was checked.
    pub fn is_unreadable_page(&self) -> bool {
        self.kind == DocsFindingKind::UnreadablePage
    }

    /// Where it is, as every format names it for people: `docs/security.md:12:3`, or the page
    /// alone.
    pub fn location(&self) -> String {
        match self.position {
            Some(at) => format!("{}:{at}", self.page),
            None => self.page.clone(),
        }
    }
}

/// Where a docs page cites a ref.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocsLocation {
    /// The page, from the repository root.
    pub page: String,
    /// 1-based line and column of the citation.
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for DocsLocation {
    /// `docs/security.md:12:3`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.page, self.line, self.column)
    }
}

/// True when a citation's path as written names a repo-relative ref path: either ends with the
/// other at a `/` boundary.
pub fn names_path(cited: &str, path: &str) -> bool {
    suffix_at_boundary(cited, path) || suffix_at_boundary(path, cited)
}

fn suffix_at_boundary(long: &str, short: &str) -> bool {
    long == short
        || (long.ends_with(short)
            && long.as_bytes().get(long.len() - short.len() - 1) == Some(&b'/'))
}
