//! What a docs page says around each citation: the sentence or table row that cites it and the
//! heading it sits under, as plain text, for scaffolding claims from a page (`init`).

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::Citation;

/// The words around one citation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CitationContext {
    /// The nearest heading above the citation, as plain text.
    pub heading: Option<String>,
    /// The sentence holding the citation, as plain text with every citation and the brackets
    /// left empty by removing them taken out (`Startup stops when mTLS is off`). Empty when the
    /// citation stands alone.
    pub sentence: String,
    /// The table row holding the citation, when it is in a table: its cells as plain text,
    /// with the header row's cells.
    pub row: Option<TableRow>,
    /// Citations with the same `group` share their sentence (or table row).
    pub group: usize,
}

/// A table row and its table's header, as plain text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRow {
    pub header: Vec<String>,
    pub cells: Vec<String>,
}

impl TableRow {
    /// The cell under the header column named `name` (case-insensitive), when it is not empty.
    pub fn cell(&self, name: &str) -> Option<&str> {
        let i = self
            .header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))?;
        self.cells
            .get(i)
            .map(String::as_str)
            .filter(|c| !c.is_empty())
    }
}

/// A block of text (paragraph, list item, heading, table cell) as plain text, with where each
/// piece of it came from in the page.
#[derive(Default)]
struct Block {
    text: String,
    /// (offset in `text`, byte range in the page) of each piece.
    pieces: Vec<(usize, Range<usize>)>,
    /// Where code spans are in `text`: no sentence ends inside one (`/v1/agent/...`).
    code: Vec<Range<usize>>,
}

impl Block {
    fn push(&mut self, piece: &str, source: Range<usize>) {
        self.pieces.push((self.text.len(), source));
        self.text.push_str(piece);
    }

    /// The offset in `text` of page byte `at`, when a piece holds it.
    fn offset_of(&self, at: usize, page: &str) -> Option<usize> {
        self.pieces.iter().find_map(|(offset, source)| {
            if !source.contains(&at) {
                return None;
            }
            // A code span's range includes its backticks; its text starts after them.
            let raw = page.get(source.clone())?;
            let lead = raw.len() - raw.trim_start_matches('`').len();
            let within = at.checked_sub(source.start + lead)?;
            Some(offset + within)
        })
    }

    /// For page byte `at` that no piece holds but that lies among the block's pieces (a link
    /// destination between the link text and what follows): the end of the piece before it.
    fn offset_near(&self, at: usize) -> Option<usize> {
        let first = self.pieces.first()?.1.start;
        let last = self.pieces.last()?.1.end;
        if at < first || at >= last {
            return None;
        }
        let before = self.pieces.iter().rposition(|(_, s)| s.end <= at)?;
        Some(
            self.pieces
                .get(before + 1)
                .map_or(self.text.len(), |(offset, _)| *offset),
        )
    }
}

/// A page's text blocks in order, each with the heading above it and its table row.
#[derive(Default)]
struct PageBlocks {
    blocks: Vec<Block>,
    block_heading: Vec<Option<String>>,
    /// Index into `rows` of the table row a block (a cell) belongs to.
    block_row: Vec<Option<usize>>,
    rows: Vec<TableRow>,
    /// The latest heading seen.
    heading: Option<String>,
    /// The block being read.
    current: Option<Block>,
}

impl PageBlocks {
    /// Ends the block being read, keeping it when it holds any text.
    fn close(&mut self, row: Option<usize>) {
        if let Some(block) = self.current.take()
            && !block.text.trim().is_empty()
        {
            self.blocks.push(block);
            self.block_heading.push(self.heading.clone());
            self.block_row.push(row);
        }
    }
}

/// One citation's place in a block of plain text.
struct Placed {
    block: usize,
    /// Byte range of the citation's text in the block's plain text.
    span: Range<usize>,
}

/// The context of every citation of `citations` (as [`super::scan`] found them in `markdown`),
/// in the same order.
pub fn contexts(markdown: &str, citations: &[Citation]) -> Vec<CitationContext> {
    let mut page = PageBlocks::default();
    let mut in_heading: Option<Block> = None;
    let mut in_header = false;
    let mut row: Option<(usize, Vec<String>)> = None;
    let mut header: Vec<String> = Vec::new();

    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES).into_offset_iter();
    for (event, range) in parser {
        let row_index = row.as_ref().map(|(i, _)| *i);
        match event {
            Event::Start(Tag::Heading { .. }) => in_heading = Some(Block::default()),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(block) = in_heading.take() {
                    page.heading = Some(plain(&block.text));
                }
            }
            // A paragraph inside a list item closes the item's text so far.
            Event::Start(Tag::Paragraph | Tag::Item | Tag::TableCell | Tag::CodeBlock(_)) => {
                page.close(row_index);
                page.current = Some(Block::default());
            }
            Event::End(TagEnd::TableCell) => {
                let text = page
                    .current
                    .as_ref()
                    .map(|b| plain(&b.text))
                    .unwrap_or_default();
                if in_header {
                    header.push(text);
                } else if let Some((_, cells)) = row.as_mut() {
                    cells.push(text);
                }
                page.close(row_index);
            }
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::CodeBlock) => page.close(None),
            Event::Start(Tag::Table(_)) => header.clear(),
            Event::Start(Tag::TableHead) => in_header = true,
            Event::End(TagEnd::TableHead) => in_header = false,
            Event::Start(Tag::TableRow) => {
                page.rows.push(TableRow {
                    header: header.clone(),
                    cells: Vec::new(),
                });
                row = Some((page.rows.len() - 1, Vec::new()));
            }
            Event::End(TagEnd::TableRow) => {
                if let Some((i, cells)) = row.take() {
                    page.rows[i].cells = cells;
                }
            }
            Event::Text(text) => {
                let block = match in_heading.as_mut() {
                    Some(block) => block,
                    None => page.current.get_or_insert_with(Block::default),
                };
                block.push(&text, range);
            }
            Event::Code(code) => {
                let block = match in_heading.as_mut() {
                    Some(block) => block,
                    None => page.current.get_or_insert_with(Block::default),
                };
                let start = block.text.len();
                block.push(&code, range);
                block.code.push(start..block.text.len());
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(block) = page.current.as_mut() {
                    block.push(" ", range);
                }
            }
            _ => {}
        }
    }
    page.close(None);
    let PageBlocks {
        blocks,
        block_heading,
        block_row,
        rows,
        ..
    } = page;

    // Where each citation sits in the plain text of its block. A citation only in a link's
    // destination has no text of its own: it sits, empty, right after the link text.
    let placed: Vec<Option<Placed>> = citations
        .iter()
        .map(|c| {
            let exact = blocks.iter().enumerate().find_map(|(b, block)| {
                let start = block.offset_of(c.path_span.start, markdown)?;
                let end = block
                    .offset_of(c.lines_span.end.saturating_sub(1), markdown)
                    .map_or(start, |e| e + 1);
                Some(Placed {
                    block: b,
                    span: start..end.max(start),
                })
            });
            exact.or_else(|| {
                blocks.iter().enumerate().find_map(|(b, block)| {
                    let at = block.offset_near(c.path_span.start)?;
                    Some(Placed {
                        block: b,
                        span: at..at,
                    })
                })
            })
        })
        .collect();

    // Sentences: split each block's text, then map citations to the sentence holding them.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut out = Vec::with_capacity(citations.len());
    for (i, citation) in citations.iter().enumerate() {
        let Some(place) = placed.get(i).and_then(Option::as_ref) else {
            out.push(CitationContext {
                heading: heading_before(markdown, citation.path_span.start),
                sentence: String::new(),
                row: None,
                group: next_group(&mut groups, (usize::MAX, i)),
            });
            continue;
        };
        let block = &blocks[place.block];
        let whole = sentence_around(&block.text, &block.code, place.span.clone());
        let in_block: Vec<Range<usize>> = placed
            .iter()
            .flatten()
            .filter(|p| p.block == place.block)
            .map(|p| p.span.clone())
            .collect();
        let clause = clause_around(
            &block.text,
            whole.clone(),
            &block.code,
            place.span.clone(),
            &in_block,
        );
        // A clause that refers back (`it then exits`) needs the sentence it continues.
        let refers_back = block.text[clause.clone()]
            .split_whitespace()
            .next()
            .is_some_and(|w| REFERRING.contains(&w.to_ascii_lowercase().as_str()));
        let sentence = if refers_back { whole } else { clause };
        let cited_here: Vec<Range<usize>> = placed
            .iter()
            .flatten()
            .filter(|p| {
                p.block == place.block
                    && p.span.start >= sentence.start
                    && p.span.end <= sentence.end
            })
            .map(|p| p.span.clone())
            .collect();
        let row = block_row[place.block].map(|r| rows[r].clone());
        let key = match block_row[place.block] {
            Some(r) => (usize::MAX - 1 - r, 0),
            None => (place.block, sentence.start),
        };
        out.push(CitationContext {
            heading: block_heading[place.block].clone(),
            sentence: without_citations(&block.text, sentence, &cited_here),
            row,
            group: next_group(&mut groups, key),
        });
    }
    out
}

/// The group number of `key`, numbering new keys in order of first appearance.
fn next_group(groups: &mut Vec<(usize, usize)>, key: (usize, usize)) -> usize {
    match groups.iter().position(|k| *k == key) {
        Some(i) => i,
        None => {
            groups.push(key);
            groups.len() - 1
        }
    }
}

/// The last heading before byte `at` of the page, for a citation outside any text block.
fn heading_before(markdown: &str, at: usize) -> Option<String> {
    let mut found = None;
    let mut text: Option<String> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        if range.start >= at {
            break;
        }
        match event {
            Event::Start(Tag::Heading { .. }) => text = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = text.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => found = text.take().map(|h| plain(&h)),
            _ => {}
        }
    }
    found
}

/// The byte range of the sentence of `text` holding `span`: from after the previous sentence
/// end (`.`, `!` or `?` followed by a space, outside brackets and code spans) to its own end.
fn sentence_around(text: &str, code: &[Range<usize>], span: Range<usize>) -> Range<usize> {
    let mut ends: Vec<usize> = Vec::new();
    let mut depth = 0i32;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if code.iter().any(|c| c.contains(&i)) {
            continue;
        }
        match b {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'.' | b'!' | b'?' if depth <= 0 => {
                let at_end = bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
                // `e.g.`, `i.e.` and version numbers do not end a sentence.
                let abbreviation =
                    i >= 1 && bytes[i - 1].is_ascii_alphabetic() && i >= 2 && bytes[i - 2] == b'.';
                if at_end && !abbreviation && !(span.start <= i && i < span.end) {
                    ends.push(i + 1);
                }
            }
            _ => {}
        }
    }
    let start = ends
        .iter()
        .rev()
        .find(|&&e| e <= span.start)
        .copied()
        .unwrap_or(0);
    let end = ends
        .iter()
        .find(|&&e| e > span.start)
        .copied()
        .unwrap_or(text.len());
    start..end
}

/// First words of a clause that lean on the one before it.
const REFERRING: &[&str] = &[
    "it", "its", "they", "their", "this", "that", "these", "those", "then", "so",
];

/// The clause of `sentence` (a range of `text`) holding `span`: sentences joined by `;` (outside
/// brackets and code spans) make one claim per part that cites code. A part citing nothing
/// belongs to the claim next to it ("X must hold; it is refused otherwise: `a.go:1`" is one
/// claim), the one after it when there is one, else the one before.
fn clause_around(
    text: &str,
    sentence: Range<usize>,
    code: &[Range<usize>],
    span: Range<usize>,
    citations: &[Range<usize>],
) -> Range<usize> {
    let mut depth = 0i32;
    let mut bounds = vec![sentence.start];
    for i in sentence.clone() {
        if code.iter().any(|c| c.contains(&i)) {
            continue;
        }
        match text.as_bytes()[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b';' if depth <= 0 => bounds.push(i + 1),
            _ => {}
        }
    }
    // Each part: from after its `;` to before the next one (or the sentence's end).
    let parts: Vec<Range<usize>> = bounds
        .iter()
        .enumerate()
        .map(|(k, &start)| {
            let end = bounds.get(k + 1).map_or(sentence.end, |next| next - 1);
            start..end
        })
        .collect();
    let cites = |part: &Range<usize>| citations.iter().any(|c| part.contains(&c.start));
    let Some(mine) = parts.iter().position(|p| p.contains(&span.start)) else {
        return sentence;
    };
    let mut first = mine;
    while first > 0 && !cites(&parts[first - 1]) {
        // A part citing nothing goes with the next citing part: this one.
        first -= 1;
    }
    let mut last = mine;
    // Parts after the last citing one go with it.
    if !parts[mine + 1..].iter().any(cites) {
        last = parts.len() - 1;
    }
    parts[first].start..parts[last].end
}

/// The sentence at `range` of `text` with the citations at `cited` taken out, and with them
/// the brackets and separators they leave behind.
fn without_citations(text: &str, range: Range<usize>, cited: &[Range<usize>]) -> String {
    let mut kept = String::new();
    let mut at = range.start;
    let mut sorted: Vec<&Range<usize>> = cited.iter().collect();
    sorted.sort_by_key(|r| r.start);
    for c in sorted {
        if c.start > at {
            kept.push_str(&text[at..c.start]);
            // Words that only lead to the citation ("implemented by", "see") go with it.
            let trimmed = connective().replace(&kept, "$sep").into_owned();
            kept = trimmed;
        }
        at = at.max(c.end);
    }
    if at < range.end {
        kept.push_str(&text[at..range.end]);
    }
    plain(&tidy(&kept))
}

/// Words at the end of a text that only lead to a citation right after them, when they follow
/// a separator or an opening bracket: `, implemented by`, `(see`, `; as enforced in`.
fn connective() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)(?P<sep>^|[,;:(\[—–]|\s-)\s*(?:as\s+)?(?:(?:(?:is|are)\s+)?(?:implemented|enforced|defined|done|handled|registered|checked|configured|set|shown|wired)\s+(?:up\s+)?(?:by|in|at)|see(?:\s+also)?|cf\.?|via|in|at)\s*$",
        )
        .unwrap_or_else(|e| panic!("the connective regex is valid: {e}"))
    })
}

/// Removes the empty brackets and dangling separators that taking citations out leaves.
fn tidy(text: &str) -> String {
    let mut s = text.to_string();
    loop {
        let before = s.clone();
        for empty in ["()", "( )", "[]", "(, )", "(,)", "(; )", "(and)", "( and )"] {
            s = s.replace(empty, "");
        }
        if s == before {
            break;
        }
    }
    let s = s.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '.' | ':' | ';' | ',' | '-' | '—' | '–')
    });
    s.replace(" ,", ",").replace(" .", ".").replace(" ;", ";")
}

/// Whitespace collapsed and trimmed.
fn plain(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::scan;

    fn contexts_of(page: &str) -> Vec<CitationContext> {
        contexts(page, &scan(page))
    }

    #[test]
    fn a_citation_in_prose_takes_its_sentence_without_the_citation() {
        let page = "# Security\n\n## Agent traffic\n\nAgents reach the back end on one listener, port 9443\n(`src/cmd/listener.go:27`). Its TLS configuration requires a client certificate\n(`src/cmd/listener.go:117-127`).\n";
        let found = contexts_of(page);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].sentence,
            "Agents reach the back end on one listener, port 9443"
        );
        assert_eq!(
            found[1].sentence,
            "Its TLS configuration requires a client certificate"
        );
        assert_eq!(found[0].heading.as_deref(), Some("Agent traffic"));
        assert_ne!(found[0].group, found[1].group);
    }

    #[test]
    fn citations_of_one_sentence_share_a_group() {
        let page = "Keys are checked (`a.go:3-9`) and rotated daily (`b.go:10`).\n\nOther text (`c.go:1`).\n";
        let found = contexts_of(page);
        assert_eq!(found[0].group, found[1].group);
        assert_ne!(found[1].group, found[2].group);
        assert_eq!(found[0].sentence, "Keys are checked and rotated daily");
    }

    #[test]
    fn a_list_item_citing_first_takes_the_words_after_the_dash() {
        let page = "Source references:\n\n- src/saas/back/cmd/mtls_listener.go:201-248 — agent routes on mTLS listener\n- `src/saas/back/src/main.go:3181-3190` — mTLS enforcement fail-closed\n";
        let found = contexts_of(page);
        assert_eq!(found[0].sentence, "agent routes on mTLS listener");
        assert_eq!(found[1].sentence, "mTLS enforcement fail-closed");
    }

    #[test]
    fn a_table_row_gives_its_cells_by_header() {
        let page = "| Capability | Status | Owner | Code |\n|---|---|---|---|\n| Agent mTLS | Required | SaaS/back | `src/l.go:201-248` |\n| HMAC | Required | middleware | `src/h.go:10-20` |\n";
        let found = contexts_of(page);
        assert_eq!(found.len(), 2);
        let row = found[0].row.as_ref().unwrap();
        assert_eq!(row.cell("capability"), Some("Agent mTLS"));
        assert_eq!(row.cell("Owner"), Some("SaaS/back"));
        assert_eq!(
            found[1].row.as_ref().unwrap().cell("Status"),
            Some("Required")
        );
        assert_ne!(found[0].group, found[1].group);
    }

    #[test]
    fn code_spans_do_not_end_a_sentence_and_semicolons_split_claims() {
        let page = "The routes are on the mTLS mux and nowhere else\n(`l.go:201-248`); the public listener answers `/v1/agent/...` with an error (`p.go:12`).\n";
        let found = contexts_of(page);
        assert_eq!(
            found[0].sentence,
            "The routes are on the mTLS mux and nowhere else"
        );
        assert_eq!(
            found[1].sentence,
            "the public listener answers /v1/agent/... with an error"
        );
        assert_ne!(found[0].group, found[1].group);
    }

    #[test]
    fn a_clause_without_citations_is_part_of_the_claim_and_connectives_go_with_citations() {
        let page = "Raft connections must present a server certificate; the connection is closed otherwise: `rpc.go:326-329`, implemented by `rpc.go:909-929`.\n";
        let found = contexts_of(page);
        assert_eq!(found[0].group, found[1].group);
        assert_eq!(
            found[0].sentence,
            "Raft connections must present a server certificate; the connection is closed otherwise"
        );
        let page = "Tokens expire after an hour (see `t.go:10`); refresh is audited, as enforced by `a.go:3`.\n";
        let found = contexts_of(page);
        assert_eq!(found[0].sentence, "Tokens expire after an hour");
        assert_eq!(found[1].sentence, "refresh is audited");
    }

    #[test]
    fn a_clause_that_refers_back_keeps_its_sentence() {
        let page = "An agent can require its identity at startup; it then exits rather than starting (`b.go:111-116`).\n";
        let found = contexts_of(page);
        assert_eq!(
            found[0].sentence,
            "An agent can require its identity at startup; it then exits rather than starting"
        );
    }

    #[test]
    fn abbreviations_and_versions_do_not_end_a_sentence() {
        let page = "It accepts TLS 1.3 only, e.g. for agents (`a.go:5`). Next one.\n";
        let found = contexts_of(page);
        assert_eq!(
            found[0].sentence,
            "It accepts TLS 1.3 only, e.g. for agents"
        );
    }

    #[test]
    fn a_citation_only_in_a_link_target_takes_the_link_text_sentence() {
        let page = "## Routes\n\nThe [agent routes](https://github.com/o/r/blob/main/src/l.go#L201-L248) are on mTLS.\n";
        let found = contexts_of(page);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].heading.as_deref(), Some("Routes"));
        assert_eq!(found[0].sentence, "The agent routes are on mTLS");
    }
}
