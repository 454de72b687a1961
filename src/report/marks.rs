//! Which excerpt lines the expectations point at, shared by the audit renderers.

use crate::lines::LineNo;
use crate::model::ExpectationResult;
use crate::model::{Excerpt, Highlight};

/// What the expectations say about one excerpt line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineMark {
    /// Kinds of the satisfied expectations whose matches cover the line.
    pub matched: Vec<&'static str>,
    /// Kinds of the failed expectations that point at the line (near miss or violating match).
    pub missed: Vec<&'static str>,
}

impl LineMark {
    pub fn is_marked(&self) -> bool {
        !self.matched.is_empty() || !self.missed.is_empty()
    }
}

/// One excerpt line with its number, text, syntax classes and mark.
#[derive(Clone, Debug)]
pub struct ExcerptLine<'a> {
    pub number: LineNo,
    pub text: &'a str,
    pub highlights: &'a [Highlight],
    pub mark: LineMark,
}

fn push_once(kinds: &mut Vec<&'static str>, kind: &'static str) {
    if !kinds.contains(&kind) {
        kinds.push(kind);
    }
}

/// The excerpt's lines, each marked by the expectations evaluated on the same place.
pub fn marked_lines<'a>(
    excerpt: &'a Excerpt,
    expectations: &[ExpectationResult],
) -> Vec<ExcerptLine<'a>> {
    let first = excerpt.first_line.get();
    excerpt
        .lines
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let number = LineNo::new(first + i as u32).unwrap_or(excerpt.first_line);
            let mut mark = LineMark::default();
            for e in expectations {
                let covered = e.matches.iter().any(|m| m.contains_line(number));
                if e.ok && covered {
                    push_once(&mut mark.matched, e.kind.as_str());
                } else if !e.ok && (covered || e.near_miss == Some(number)) {
                    push_once(&mut mark.missed, e.kind.as_str());
                }
            }
            let highlights = excerpt
                .highlights
                .as_ref()
                .and_then(|h| h.get(i))
                .map_or(&[][..], Vec::as_slice);
            ExcerptLine {
                number,
                text,
                highlights,
                mark,
            }
        })
        .collect()
}

/// Splits a line into `(text, class)` pieces by its highlights; pieces without a class are
/// plain. Highlights that overlap, run backwards or do not fall on character boundaries (a
/// line that was not valid UTF-8) are skipped, so the whole text is always covered once.
pub fn pieces<'a>(
    text: &'a str,
    highlights: &[Highlight],
) -> Vec<(&'a str, Option<crate::model::TokenClass>)> {
    let mut out = Vec::new();
    let mut at = 0;
    for h in highlights {
        if (h.start as usize) < at || h.end <= h.start {
            continue;
        }
        let (Some(before), Some(token)) = (text.get(at..h.start as usize), text.get(h.span()))
        else {
            continue;
        };
        if !before.is_empty() {
            out.push((before, None));
        }
        out.push((token, Some(h.class)));
        at = h.end as usize;
    }
    if let Some(rest) = text.get(at..)
        && !rest.is_empty()
    {
        out.push((rest, None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anchors::ExpectationKind;
    use crate::lines::LineRange;
    use crate::model::CheckKind;
    use crate::model::TokenClass;

    fn line(n: u32) -> LineNo {
        LineNo::new(n).unwrap()
    }

    #[test]
    fn marks_matched_and_near_miss_lines() {
        let excerpt = Excerpt {
            first_line: line(10),
            lines: vec!["a".into(), "b".into(), "c".into()],
            highlights: None,
        };
        let results = vec![
            ExpectationResult {
                kind: CheckKind::Expectation(ExpectationKind::Call),
                ok: true,
                message: String::new(),
                matches: vec![LineRange::new(line(10), line(11)).unwrap()],
                near_miss: None,
            },
            ExpectationResult {
                kind: CheckKind::Expectation(ExpectationKind::FailClosed),
                ok: false,
                message: String::new(),
                matches: vec![],
                near_miss: Some(line(12)),
            },
        ];
        let marks: Vec<LineMark> = marked_lines(&excerpt, &results)
            .into_iter()
            .map(|l| l.mark)
            .collect();
        assert_eq!(marks[0].matched, ["call"]);
        assert_eq!(marks[1].matched, ["call"]);
        assert!(marks[1].missed.is_empty());
        assert_eq!(marks[2].missed, ["fail_closed"]);
        assert!(marks[2].matched.is_empty());
    }

    #[test]
    fn pieces_cover_the_text_and_skip_bad_highlights() {
        let h = |start, end, class| Highlight { start, end, class };
        let got = pieces(
            "if x { é }",
            &[
                h(0, 2, TokenClass::Keyword),
                h(1, 3, TokenClass::Type),
                h(8, 9, TokenClass::String),
            ],
        );
        let text: String = got.iter().map(|(t, _)| *t).collect();
        assert_eq!(text, "if x { é }");
        assert_eq!(got[0], ("if", Some(TokenClass::Keyword)));
        assert!(got.iter().all(|(_, c)| *c != Some(TokenClass::String)));
    }
}
