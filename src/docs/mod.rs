//! Code citations in Markdown docs pages: `path:START-END`, `path:LINE`, `path#LSTART-LEND` and
//! GitHub blob links ending in `#L10-L20`, found with their exact byte spans.

pub(crate) mod context;

use std::ops::Range;
use std::sync::OnceLock;

use pulldown_cmark::{Event, Parser, Tag};
use regex::Regex;

use crate::lines::{LineNo, LineRange, Position};
use crate::model::{DocsFinding, DocsFindingKind, DocsLocation, DocsSubject, names_path};
use crate::source::FileProblem;

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
    /// The revision a blob link names (`v2.6.0` in `.../blob/v2.6.0/server.go#L10`), with its
    /// bytes; `None` for plain citations.
    pub revision: Option<LinkRevision>,
}

/// The revision segment of a blob link (GitHub `/blob/REV/`, GitLab `/-/blob/REV/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRevision {
    pub name: String,
    pub span: Range<usize>,
}

/// The revision segment of a citation's path, when it is a blob link; `offset` is where the
/// path starts in the page.
fn link_revision(path: &str, offset: usize) -> Option<LinkRevision> {
    let at = path.find("/blob/")? + "/blob/".len();
    let len = path[at..].find('/')?;
    (len > 0).then(|| LinkRevision {
        name: path[at..at + len].to_string(),
        span: offset + at..offset + at + len,
    })
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
        names_path(&self.path, path)
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
            let at = Position::of_offset(markdown, start);
            found.push(Citation {
                path: path.as_str().to_string(),
                lines,
                style,
                path_span: start..region.start + path.end(),
                lines_span: region.start + lines_match.start()..region.start + lines_match.end(),
                line: at.line,
                column: at.column,
                revision: link_revision(path.as_str(), start),
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

/// A citation this many lines or fewer from a ref of the same file is taken for a slip and
/// named as "did you mean".
const NEAR_LINES: u32 = 5;

/// Why a docs page could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("no such file")]
    Missing,
    #[error("not valid UTF-8")]
    NotUtf8,
    /// A link, a directory, a file too large, or a read that failed.
    #[error(transparent)]
    File(FileProblem),
}

/// A docs page named in anchors.yaml, as read once for a run: what `verify` checks the
/// citations of and what `fix` rewrites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// As anchors.yaml names it (relative to the anchors file's directory).
    pub name: String,
    /// Where it is on disk.
    pub full: std::path::PathBuf,
    /// Its text, or why it could not be read.
    pub text: Result<String, PageError>,
}

/// Reads each docs page named in anchors.yaml, beneath the anchors file's directory: no
/// symbolic link in any component (a page that is a link would be replaced by `fix` while its
/// target stayed stale), regular files only, at most [`crate::source::MAX_FILE_BYTES`].
pub fn read_pages(anchors: &crate::anchors::AnchorsFile) -> Vec<Page> {
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
            Page {
                name: page.value.clone(),
                full,
                text,
            }
        })
        .collect()
}

fn read_page(base: &std::path::Path, page: &str) -> Result<String, PageError> {
    use crate::source::{MAX_FILE_BYTES, local};
    let bytes = local::read_beneath(base, page, MAX_FILE_BYTES).map_err(|p| match p {
        FileProblem::Missing => PageError::Missing,
        other => PageError::File(other),
    })?;
    String::from_utf8(bytes).map_err(|_| PageError::NotUtf8)
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

/// Every ref of the anchors file, as the docs check sees it.
pub fn cited_refs(anchors: &crate::anchors::AnchorsFile) -> Vec<CitedRef<'_>> {
    anchors
        .claims
        .iter()
        .flat_map(|c| {
            c.refs.iter().map(|r| CitedRef {
                claim: &c.id.value,
                path: &r.path.value,
                lines: r.lines.value,
                line: r.path.position.line,
                column: r.path.position.column,
            })
        })
        .collect()
}

/// Checks that every citation in the pages matches a ref and every ref is cited somewhere.
/// `pages` holds each page's name and its text, or why it could not be read; `anchors` names
/// the anchors file, where a ref that no page cites is reported.
pub fn check(
    pages: &[(String, Result<String, PageError>)],
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
                    position: None,
                    kind: DocsFindingKind::UnreadablePage,
                    message: format!("docs page cannot be read: {reason}"),
                    subject: String::new(),
                    about: DocsSubject::Page,
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
            // The ref of that file nearest the citation: one a few lines off is most likely
            // the one meant (an off-by-one), any other only the closest there is.
            let nearest = same_file.iter().copied().min_by_key(|&i| {
                let start = |r: LineRange| i64::from(r.start().get());
                (
                    refs[i].lines.distance(citation.lines),
                    (start(refs[i].lines) - start(citation.lines)).abs(),
                )
            });
            let message = match nearest {
                Some(i) if refs[i].lines.distance(citation.lines) <= NEAR_LINES => format!(
                    "cites {}:{} but no ref has those lines; did you mean claim `{}`, {}:{}?",
                    citation.path, citation.lines, refs[i].claim, refs[i].path, refs[i].lines
                ),
                Some(i) => format!(
                    "cites {}:{} but no ref has those lines (the nearest, claim `{}`, cites {}:{})",
                    citation.path, citation.lines, refs[i].claim, refs[i].path, refs[i].lines
                ),
                None => format!(
                    "cites {}:{}, a file no ref in anchors.yaml covers",
                    citation.path, citation.lines
                ),
            };
            findings.push(DocsFinding {
                page: page.clone(),
                position: Some(Position {
                    line: citation.line,
                    column: citation.column,
                }),
                kind: DocsFindingKind::UnknownCitation,
                message,
                subject: format!("{}:{}", citation.path, citation.lines),
                about: DocsSubject::Citation {
                    path: citation.path.clone(),
                    lines: citation.lines,
                },
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
                    position: Some(Position {
                        line: r.line,
                        column: r.column,
                    }),
                    kind: DocsFindingKind::UncitedRef,
                    message: format!(
                        "claim `{}` cites {}:{}, which no docs page mentions ({})",
                        r.claim,
                        r.path,
                        r.lines,
                        names.join(", ")
                    ),
                    subject: format!("{}:{}", r.claim, r.path),
                    about: DocsSubject::Ref {
                        claim: r.claim.to_string(),
                        path: r.path.to_string(),
                        lines: r.lines,
                    },
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
        let revision = found[2]
            .revision
            .as_ref()
            .expect("a blob link names a revision");
        assert_eq!(revision.name, "main");
        assert_eq!(&PAGE[revision.span.clone()], "main");
        assert!(found[0].revision.is_none());
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
            ("docs/gone.md".to_string(), Err(PageError::Missing)),
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
            .map(|f| format!("{}: {}", f.location(), f.message))
            .collect();
        assert!(
            findings[0].contains(
                "src/saas/back/src/main.go:3181-3190 but no ref has those lines; did you mean claim `guard`, x/src/saas/back/src/main.go:3183-3192?"
            ),
            "{findings:#?}"
        );
        assert!(
            findings
                .iter()
                .any(|f| f == "docs/gone.md: docs page cannot be read: no such file")
        );
        let kinds: Vec<DocsFindingKind> = checked.findings.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                DocsFindingKind::UnknownCitation,
                DocsFindingKind::UnknownCitation,
                DocsFindingKind::UnknownCitation,
                DocsFindingKind::UnreadablePage,
                DocsFindingKind::UncitedRef,
                DocsFindingKind::UncitedRef,
            ],
            "{findings:#?}"
        );
        assert!(checked.findings[3].is_unreadable_page());
        assert!(!checked.findings[2].is_unreadable_page());
        // A ref no page cites is reported where anchors.yaml writes it.
        assert!(findings.iter().any(|f| {
            f.starts_with("secdocs/anchors.yaml:14:9: claim `hidden` cites x/hidden.go:1-2, which no docs page mentions (docs/security.md, docs/gone.md)")
        }), "{findings:#?}");
        assert!(findings.iter().any(|f| f.contains("claim `guard`")));
        assert!(
            !findings.iter().any(|f| f.contains("claim `mtls`")),
            "{findings:#?}"
        );
    }

    #[test]
    fn a_citation_a_line_off_names_the_near_ref_not_the_first() {
        let lines =
            |a, b| LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap();
        let refs = [
            CitedRef {
                claim: "remote-mtls",
                path: "server.go",
                lines: lines(522, 529),
                line: 6,
                column: 15,
            },
            CitedRef {
                claim: "localhost-default",
                path: "server.go",
                lines: lines(1287, 1287),
                line: 12,
                column: 15,
            },
        ];
        let pages = vec![(
            "docs/a.md".to_string(),
            Ok("Default: `server.go:1286`. Far: `server.go:900`.\n".to_string()),
        )];
        let messages: Vec<String> = check(&pages, &refs, "anchors.yaml")
            .findings
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert_eq!(
            messages[0],
            "cites server.go:1286 but no ref has those lines; did you mean claim `localhost-default`, server.go:1287?"
        );
        assert_eq!(
            messages[1],
            "cites server.go:900 but no ref has those lines (the nearest, claim `remote-mtls`, cites server.go:522-529)"
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
