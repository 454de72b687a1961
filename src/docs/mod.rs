//! Code citations in Markdown docs pages: `path:START-END`, `path:LINE`, `path#LSTART-LEND` and
//! GitHub blob links ending in `#L10-L20`, found with their exact byte spans.

pub mod context;

use std::ops::Range;
use std::sync::OnceLock;

use pulldown_cmark::{Event, Parser, Tag};
use regex::Regex;

use crate::lines::{LineNo, LineRange};

/// How a citation writes its lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineStyle {
    /// `path:201-248` or `path:127`.
    Colon,
    /// `path#L201-L248` or `path#L127` (GitHub anchors).
    Anchor,
}

/// One citation in a docs page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citation {
    /// The path as written (for links, everything before the anchor, e.g. `.../blob/main/src/a.go`).
    pub path: String,
    pub lines: LineRange,
    pub style: LineStyle,
    /// Bytes of the path as written.
    pub path_span: Range<usize>,
    /// Bytes of the line part after the separator: `201-248` or `L201-L248`.
    pub lines_span: Range<usize>,
    /// 1-based line and column of the citation in the page.
    pub line: u32,
    pub column: u32,
}

impl Citation {
    /// How this citation would write `lines`.
    pub fn format_lines(&self, lines: LineRange) -> String {
        match self.style {
            LineStyle::Colon => lines.to_string(),
            LineStyle::Anchor if lines.len() == 1 => format!("L{}", lines.start()),
            LineStyle::Anchor => format!("L{}-L{}", lines.start(), lines.end()),
        }
    }

    /// True when this citation names `path` (a repo-relative ref path): either ends with the
    /// other at a `/` boundary, so `src/a.go` cites `testdata/x/src/a.go` and a blob URL cites
    /// `src/a.go`.
    pub fn names(&self, path: &str) -> bool {
        suffix_at_boundary(&self.path, path) || suffix_at_boundary(path, &self.path)
    }

    /// The path this citation should write once its ref moved from `old` to `new`, keeping the
    /// citation's own prefix or shortening.
    pub fn renamed_path(&self, old: &str, new: &str) -> String {
        if let Some(prefix) = self.path.strip_suffix(old) {
            // The citation is longer (a URL): keep its prefix.
            return format!("{prefix}{new}");
        }
        if let Some(dropped) = old.strip_suffix(self.path.as_str())
            && let Some(rest) = new.strip_prefix(dropped)
        {
            return rest.to_string();
        }
        new.to_string()
    }
}

fn suffix_at_boundary(long: &str, short: &str) -> bool {
    long == short
        || (long.ends_with(short)
            && long.as_bytes().get(long.len() - short.len() - 1) == Some(&b'/'))
}

fn citation_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)
            (?P<path>[A-Za-z0-9_.@~+-]+(?:/[A-Za-z0-9_.@~+-]+)*\.go)
            (?:
                :(?P<colon>[0-9]+(?:-[0-9]+)?)\b
              | \#(?P<anchor>L[0-9]+(?:-L[0-9]+)?)\b
            )",
        )
        .unwrap_or_else(|e| panic!("the citation regex is valid: {e}"))
    })
}

/// Every citation in `markdown`, in page order. Text, inline code, code blocks and link
/// destinations are scanned; a citation is reported once even when a link repeats it.
pub fn scan(markdown: &str) -> Vec<Citation> {
    let mut regions: Vec<Range<usize>> = Vec::new();
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Text(_) | Event::Code(_) | Event::Html(_) | Event::InlineHtml(_) => {
                regions.push(range)
            }
            Event::Start(Tag::Link { .. }) | Event::Start(Tag::Image { .. }) => regions.push(range),
            _ => {}
        }
    }
    let mut found: Vec<Citation> = Vec::new();
    for region in regions {
        let Some(text) = markdown.get(region.clone()) else {
            continue;
        };
        for caps in citation_regex().captures_iter(text) {
            let Some(path) = caps.name("path") else {
                continue;
            };
            let (style, lines_match) = match (caps.name("colon"), caps.name("anchor")) {
                (Some(m), _) => (LineStyle::Colon, m),
                (_, Some(m)) => (LineStyle::Anchor, m),
                _ => continue,
            };
            let Some(lines) = parse_lines(lines_match.as_str()) else {
                continue;
            };
            let start = region.start + path.start();
            if found.iter().any(|c| c.path_span.start == start) {
                continue;
            }
            let before = &markdown[..start];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            found.push(Citation {
                path: path.as_str().to_string(),
                lines,
                style,
                path_span: start..region.start + path.end(),
                lines_span: region.start + lines_match.start()..region.start + lines_match.end(),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            });
        }
    }
    found.sort_by_key(|c| c.path_span.start);
    found
}

fn parse_lines(text: &str) -> Option<LineRange> {
    let cleaned = text.replace('L', "");
    let (a, b) = match cleaned.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let n = cleaned.parse().ok()?;
            (n, n)
        }
    };
    LineRange::new(LineNo::new(a)?, LineNo::new(b)?)
}

/// A disagreement between a docs page and anchors.yaml.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocsFinding {
    /// The file it is about, from the repository root: the docs page, or the anchors file for a
    /// ref that no page cites.
    pub page: String,
    /// 1-based position in the page, when the finding is about a citation.
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

/// How a finding about a page that could not be read (missing, not UTF-8) begins.
const UNREADABLE_PAGE: &str = "docs page cannot be read";

impl DocsFinding {
    /// True when the page itself could not be read: that fails every run, whichever claims
    /// were selected, since nothing on the page was checked.
    pub fn is_unreadable_page(&self) -> bool {
        self.line.is_none() && self.message.starts_with(UNREADABLE_PAGE)
    }
}

/// Reads each docs page named in anchors.yaml, beneath the anchors file's directory: no
/// symbolic link in any component (a page that is a link would be replaced by `fix` while its
/// target stayed stale), regular files only, at most [`crate::source::MAX_FILE_BYTES`].
pub fn read_pages(
    anchors: &crate::anchors::AnchorsFile,
) -> Vec<(String, std::path::PathBuf, Result<String, String>)> {
    let base = anchors.path.parent().unwrap_or(std::path::Path::new("."));
    let base = if base.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        base
    };
    anchors
        .docs
        .iter()
        .map(|page| {
            let full = base.join(&page.value);
            let text = read_page(base, &page.value);
            (page.value.clone(), full, text)
        })
        .collect()
}

fn read_page(base: &std::path::Path, page: &str) -> Result<String, String> {
    use crate::source::{FileProblem, MAX_FILE_BYTES, local};
    let bytes = local::read_beneath(base, page, MAX_FILE_BYTES).map_err(|p| match p {
        FileProblem::Missing => "no such file".to_string(),
        other => other.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())
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

/// The outcome of checking the docs pages against the refs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocsCheck {
    pub findings: Vec<DocsFinding>,
    /// For each ref (in the order given), the citations of it.
    pub cited_by: Vec<Vec<DocsLocation>>,
}

/// A ref as the docs check sees it.
#[derive(Clone, Copy, Debug)]
pub struct CitedRef<'a> {
    pub claim: &'a str,
    pub path: &'a str,
    pub lines: LineRange,
    /// Where the ref's `path` is written in the anchors file (1-based line and column), so a
    /// ref no page cites is reported there.
    pub line: u32,
    pub column: u32,
}

/// Checks that every citation in the pages matches a ref and every ref is cited somewhere.
/// `pages` holds each page's name and its text, or why it could not be read; `anchors` names
/// the anchors file, where a ref that no page cites is reported.
pub fn check(
    pages: &[(String, Result<String, String>)],
    refs: &[CitedRef<'_>],
    anchors: &str,
) -> DocsCheck {
    let mut findings = Vec::new();
    let mut cited_by: Vec<Vec<DocsLocation>> = vec![Vec::new(); refs.len()];
    for (page, text) in pages {
        let text = match text {
            Ok(t) => t,
            Err(reason) => {
                findings.push(DocsFinding {
                    page: page.clone(),
                    line: None,
                    column: None,
                    message: format!("{UNREADABLE_PAGE}: {reason}"),
                });
                continue;
            }
        };
        for citation in scan(text) {
            let same_file: Vec<usize> = (0..refs.len())
                .filter(|&i| citation.names(refs[i].path))
                .collect();
            let exact: Vec<usize> = same_file
                .iter()
                .copied()
                .filter(|&i| refs[i].lines == citation.lines)
                .collect();
            for &i in &exact {
                cited_by[i].push(DocsLocation {
                    page: page.clone(),
                    line: citation.line,
                    column: citation.column,
                });
            }
            if !exact.is_empty() {
                continue;
            }
            let message = match same_file.first() {
                Some(&i) => format!(
                    "cites {}:{} but no ref has those lines (claim `{}` cites {}:{})",
                    citation.path, citation.lines, refs[i].claim, refs[i].path, refs[i].lines
                ),
                None => format!(
                    "cites {}:{}, a file no ref in anchors.yaml covers",
                    citation.path, citation.lines
                ),
            };
            findings.push(DocsFinding {
                page: page.clone(),
                line: Some(citation.line),
                column: Some(citation.column),
                message,
            });
        }
    }
    let readable = pages.iter().any(|(_, t)| t.is_ok());
    if readable {
        for (r, citations) in refs.iter().zip(&cited_by) {
            if citations.is_empty() {
                let names: Vec<&str> = pages.iter().map(|(p, _)| p.as_str()).collect();
                findings.push(DocsFinding {
                    page: anchors.to_string(),
                    line: Some(r.line),
                    column: Some(r.column),
                    message: format!(
                        "claim `{}` cites {}:{}, which no docs page mentions ({})",
                        r.claim,
                        r.path,
                        r.lines,
                        names.join(", ")
                    ),
                });
            }
        }
    }
    DocsCheck { findings, cited_by }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# Security\n\nRoutes: `src/saas/back/cmd/mtls_listener.go:201-248`.\n\
        Guard: src/saas/back/src/main.go:3181-3190 and [CAP-004](https://github.com/zen/mesh/blob/main/src/evidence/evidence.go#L127).\n\
        Also see `pkg/a.go#L10-L20` but not `notgo.txt:5` or `a.go:` alone.\n";

    #[test]
    fn finds_every_citation_style_with_spans() {
        let found = scan(PAGE);
        let summary: Vec<(String, String, LineStyle)> = found
            .iter()
            .map(|c| (c.path.clone(), c.lines.to_string(), c.style))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "src/saas/back/cmd/mtls_listener.go".to_string(),
                    "201-248".to_string(),
                    LineStyle::Colon
                ),
                (
                    "src/saas/back/src/main.go".to_string(),
                    "3181-3190".to_string(),
                    LineStyle::Colon
                ),
                (
                    "github.com/zen/mesh/blob/main/src/evidence/evidence.go".to_string(),
                    "127".to_string(),
                    LineStyle::Anchor
                ),
                (
                    "pkg/a.go".to_string(),
                    "10-20".to_string(),
                    LineStyle::Anchor
                ),
            ]
        );
        for c in &found {
            assert_eq!(&PAGE[c.path_span.clone()], c.path);
        }
        assert_eq!(&PAGE[found[0].lines_span.clone()], "201-248");
        assert_eq!(&PAGE[found[3].lines_span.clone()], "L10-L20");
        assert_eq!((found[0].line, found[0].column), (3, 10));
    }

    #[test]
    fn paths_match_by_suffix_at_a_slash() {
        let found = scan(PAGE);
        assert!(found[0].names("testdata/zen-mesh/src/saas/back/cmd/mtls_listener.go"));
        assert!(found[2].names("src/evidence/evidence.go"));
        assert!(!found[0].names("back/cmd/other_listener.go"));
        assert!(!found[3].names("xpkg/a.go"));
    }

    #[test]
    fn check_reports_stale_citations_and_uncited_refs() {
        let lines =
            |a, b| LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap();
        let at = |line| (line, 9);
        let cited = |claim, path, lines, (line, column)| CitedRef {
            claim,
            path,
            lines,
            line,
            column,
        };
        let refs = [
            cited(
                "mtls",
                "x/src/saas/back/cmd/mtls_listener.go",
                lines(201, 248),
                at(5),
            ),
            cited(
                "guard",
                "x/src/saas/back/src/main.go",
                lines(3183, 3192),
                at(9),
            ),
            cited("hidden", "x/hidden.go", lines(1, 2), at(14)),
        ];
        let pages = vec![
            ("docs/security.md".to_string(), Ok(PAGE.to_string())),
            (
                "docs/gone.md".to_string(),
                Err("No such file or directory".to_string()),
            ),
        ];
        let checked = check(&pages, &refs, "secdocs/anchors.yaml");
        assert_eq!(checked.cited_by[0].len(), 1, "the mtls ref is cited once");
        assert_eq!(
            (checked.cited_by[0][0].line, checked.cited_by[0][0].column),
            (3, 10)
        );
        let findings: Vec<String> = checked
            .findings
            .iter()
            .map(|f| format!("{}:{}: {}", f.page, f.line.unwrap_or(0), f.message))
            .collect();
        assert!(
            findings[0].contains("src/saas/back/src/main.go:3181-3190 but no ref has those lines"),
            "{findings:#?}"
        );
        assert!(
            findings
                .iter()
                .any(|f| f.starts_with("docs/gone.md:0: docs page cannot be read"))
        );
        // A ref no page cites is reported where anchors.yaml writes it.
        assert!(findings.iter().any(|f| {
            f.starts_with("secdocs/anchors.yaml:14: claim `hidden` cites x/hidden.go:1-2, which no docs page mentions (docs/security.md, docs/gone.md)")
        }), "{findings:#?}");
        assert!(findings.iter().any(|f| f.contains("claim `guard`")));
        assert!(
            !findings.iter().any(|f| f.contains("claim `mtls`")),
            "{findings:#?}"
        );
    }

    #[test]
    fn formats_and_renames_like_the_original() {
        let found = scan(PAGE);
        let range = LineRange::new(LineNo::new(5).unwrap(), LineNo::new(9).unwrap()).unwrap();
        assert_eq!(found[0].format_lines(range), "5-9");
        assert_eq!(found[3].format_lines(range), "L5-L9");
        assert_eq!(
            found[0].renamed_path(
                "testdata/zen-mesh/src/saas/back/cmd/mtls_listener.go",
                "testdata/zen-mesh/src/saas/back/cmd/listener/mtls.go"
            ),
            "src/saas/back/cmd/listener/mtls.go"
        );
        assert_eq!(
            found[2].renamed_path("src/evidence/evidence.go", "src/evidence/caps.go"),
            "github.com/zen/mesh/blob/main/src/evidence/caps.go"
        );
    }
}
