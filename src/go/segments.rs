//! Top-level declarations found by a lexical scan, without parsing: where each `func`, `type`,
//! `var`, `const` and `import` begins, so a partial parse can include only the ones it needs.
//!
//! The scan tracks comments, strings, runes and raw strings (which may hold a line starting
//! with `func`) and bracket depth; a declaration starts at a keyword at the start of a line at
//! depth 0. Whenever the scan is unsure (unbalanced brackets, an unterminated literal) it gives
//! up and the caller parses the whole file.

use std::collections::HashSet;
use std::ops::Range;

/// What a segment declares at the top level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// The comments before the package clause (a license, build constraints, a package's doc
    /// comment), when nothing but comments precedes it: kept only when asked about.
    Preamble,
    /// Everything else before the first declaration: the package clause and the comments
    /// after it (with the preamble, when the scan did not split it off).
    Header,
    Import,
    Const,
    Var,
    Func,
    Type,
}

/// One top-level declaration with the comments and blank lines after it, up to the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub kind: SegmentKind,
    pub bytes: Range<usize>,
    /// 0-based rows, end exclusive.
    pub rows: Range<usize>,
    /// Names bound by `const`/`var` specs anywhere inside (a function's local constants), which
    /// string resolution may look up from other declarations.
    pub binds: Vec<String>,
    /// A `const (`/`var (` group inside: its names were not listed, so keep it to be safe.
    pub binds_unknown: bool,
}

/// A byte of an identifier (any non-ASCII byte counts: Go letters beyond ASCII are UTF-8).
pub(super) fn is_ident_byte(b: u8) -> bool {
    IDENT_BYTES[usize::from(b)]
}

/// [`is_ident_byte`] by byte: one load per byte where the scans spend most of their time.
static IDENT_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
        b += 1;
    }
    table
};

/// Whether byte `b` of Go code leaves a scan of lines, brackets, literals and comments as it
/// was: anything but a newline, a slash, a quote or a bracket. [`segments`] steps over these
/// inside brackets (identifiers it looks at word by word), as does the look back's lexer.
pub(crate) fn is_inert_byte(b: u8) -> bool {
    INERT_BYTES[usize::from(b)]
}

/// [`is_inert_byte`] by byte.
static INERT_BYTES: [bool; 256] = {
    let mut table = [true; 256];
    let told = b"\n\"'`/{}()[]";
    let mut k = 0;
    while k < told.len() {
        table[told[k] as usize] = false;
        k += 1;
    }
    table
};

/// The end of the identifier starting at `start` of `source`.
pub(super) fn ident_end(source: &[u8], start: usize) -> usize {
    source[start..]
        .iter()
        .position(|&b| !is_ident_byte(b))
        .map_or(source.len(), |n| start + n)
}

/// One lexical token the scan cares about.
enum Token<'s> {
    Ident(&'s [u8]),
    Open,
    Close,
    Comma,
    Assign,
    /// A block comment.
    Comment,
    Other,
}

/// The segments of `source`, tiling it from byte 0 to the end; `None` when the scan is unsure.
pub fn segments(source: &[u8]) -> Option<Vec<Segment>> {
    let mut out: Vec<Segment> = Vec::new();
    let mut start = (SegmentKind::Header, 0usize, 0usize);
    let mut depth: i64 = 0;
    let mut row = 0usize;
    let mut at_line_start = true;
    let mut binds: Vec<String> = Vec::new();
    let mut binds_unknown = false;
    // After `const`/`var`: collecting the names that follow.
    let mut binding: Option<bool> = None;
    let mut pending: Vec<String> = Vec::new();
    // Whether anything but comments and blank space came before.
    let mut code_seen = false;
    let mut i = 0usize;
    let n = source.len();
    while i < n {
        if depth > 0 && binding.is_none() {
            // Inside brackets, with no `const` or `var` spec being read, only lines, literals,
            // comments, brackets and those two words tell anything: the rest is stepped over.
            let from = i;
            while i < n {
                let b = source[i];
                if is_ident_byte(b) {
                    let end = ident_end(source, i);
                    if matches!(&source[i..end], b"const" | b"var") {
                        break;
                    }
                    i = end;
                } else if is_inert_byte(b) {
                    i += 1;
                } else {
                    break;
                }
            }
            at_line_start &= i == from;
            if i == n {
                break;
            }
        }
        let b = source[i];
        if at_line_start && depth == 0 && is_ident_byte(b) {
            let end = ident_end(source, i);
            if !code_seen && i > 0 && &source[i..end] == b"package" {
                out.push(Segment {
                    kind: SegmentKind::Preamble,
                    bytes: 0..i,
                    rows: 0..row,
                    binds: Vec::new(),
                    binds_unknown: false,
                });
                start = (SegmentKind::Header, i, row);
            }
            let kind = match &source[i..end] {
                b"func" => Some(SegmentKind::Func),
                b"type" => Some(SegmentKind::Type),
                b"var" => Some(SegmentKind::Var),
                b"const" => Some(SegmentKind::Const),
                b"import" => Some(SegmentKind::Import),
                _ => None,
            };
            if let Some(kind) = kind {
                out.push(Segment {
                    kind: start.0,
                    bytes: start.1..i,
                    rows: start.2..row,
                    binds: std::mem::take(&mut binds),
                    binds_unknown: std::mem::take(&mut binds_unknown),
                });
                start = (kind, i, row);
            }
        }
        at_line_start = false;
        let token = match b {
            b'\n' => {
                row += 1;
                at_line_start = true;
                i += 1;
                if binding == Some(false) {
                    pending.clear();
                    binding = None;
                }
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                // A run of blanks at once: only a newline starts a line again.
                i += 1;
                while i < n && matches!(source[i], b' ' | b'\t' | b'\r') {
                    i += 1;
                }
                continue;
            }
            b'/' if source.get(i + 1) == Some(&b'/') => {
                i = memchr(b'\n', &source[i..]).map_or(n, |p| i + p);
                continue;
            }
            b'/' if source.get(i + 1) == Some(&b'*') => {
                let close = find(&source[i + 2..], b"*/")?;
                row += memchr::memchr_iter(b'\n', &source[i..i + 2 + close]).count();
                i += close + 4;
                Token::Comment
            }
            b'`' => {
                let close = memchr(b'`', &source[i + 1..])?;
                row += memchr::memchr_iter(b'\n', &source[i..i + 1 + close]).count();
                i += close + 2;
                Token::Other
            }
            b'"' | b'\'' => {
                let mut j = i + 1;
                loop {
                    // Straight to the next byte that matters: an escape, a newline or the quote.
                    j += memchr::memchr3(b'\\', b'\n', b, source.get(j..)?)?;
                    match source[j] {
                        // A newline, escaped or not, cannot be in a string or rune: unsure.
                        b'\\' if source.get(j + 1) == Some(&b'\n') => return None,
                        b'\\' => j += 2,
                        b'\n' => return None,
                        _ => break,
                    }
                }
                i = j + 1;
                Token::Other
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                i += 1;
                Token::Open
            }
            b'}' | b')' | b']' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
                i += 1;
                Token::Close
            }
            b',' => {
                i += 1;
                Token::Comma
            }
            b'=' if source.get(i + 1) != Some(&b'=') => {
                i += 1;
                Token::Assign
            }
            c if is_ident_byte(c) => {
                let end = ident_end(source, i);
                let word = &source[i..end];
                i = end;
                Token::Ident(word)
            }
            _ => {
                i += 1;
                Token::Other
            }
        };
        code_seen |= !matches!(token, Token::Comment);
        binding = match (binding, token) {
            (_, Token::Ident(b"const" | b"var")) => {
                pending.clear();
                Some(true)
            }
            (Some(true), Token::Ident(name)) => {
                pending.push(String::from_utf8_lossy(name).into_owned());
                Some(false)
            }
            (Some(true), Token::Open) => {
                binds_unknown = true;
                None
            }
            (Some(false), Token::Comma) => Some(true),
            // Only specs with a value bind a resolvable name (`var err error` does not).
            (Some(false), Token::Assign) => {
                binds.append(&mut pending);
                None
            }
            (
                Some(false),
                Token::Ident(_) | Token::Other | Token::Comment | Token::Open | Token::Close,
            ) => Some(false),
            _ => None,
        };
    }
    if depth != 0 {
        return None;
    }
    out.push(Segment {
        kind: start.0,
        bytes: start.1..n,
        rows: start.2..row + 1,
        binds,
        binds_unknown,
    });
    Some(out)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    memchr::memchr(needle, haystack)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// The names bound by declarations not kept (yet): the only identifiers [`needed`] looks for in
/// the kept ones. Most identifiers are told apart by their length, before any hashing.
struct Wanted<'s> {
    names: HashSet<&'s [u8]>,
    /// Bit `n` set when a name is `n` bytes long (63: that long or longer).
    lengths: u64,
}

impl<'s> Wanted<'s> {
    fn new(names: impl Iterator<Item = &'s [u8]>) -> Self {
        let mut wanted = Wanted {
            names: HashSet::new(),
            lengths: 0,
        };
        for name in names {
            wanted.lengths |= 1 << name.len().min(63);
            wanted.names.insert(name);
        }
        wanted
    }

    fn contains(&self, word: &[u8]) -> bool {
        self.lengths & (1 << word.len().min(63)) != 0 && self.names.contains(word)
    }
}

/// Adds the identifiers of `text` that `wanted` names to `out` (line comments and literals
/// skipped; block comments are not, which can only keep more than needed).
fn identifiers<'s>(text: &'s [u8], wanted: &Wanted<'_>, out: &mut HashSet<&'s [u8]>) {
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'/' && text.get(i + 1) == Some(&b'/') {
            i = memchr(b'\n', &text[i..]).map_or(text.len(), |p| i + p);
        } else if b == b'"' || b == b'`' || b == b'\'' {
            // Literals were validated by the scan; skip to the closing quote.
            let mut j = i + 1;
            while j < text.len() && text[j] != b {
                j += if b != b'`' && text[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
        } else if is_ident_byte(b) {
            let end = ident_end(text, i);
            if wanted.contains(&text[i..end]) {
                out.insert(&text[i..end]);
            }
            i = end;
        } else {
            i += 1;
        }
    }
}

/// The byte ranges a partial parse must include to answer questions about `rows` (0-based,
/// end exclusive): the header (not the comments before the package clause unless the rows
/// reach them), imports, package-level constants and variables, every
/// declaration overlapping the rows, and any declaration binding a name those use (string
/// constants resolve through every `const`/`var` spec of the file).
pub fn needed(source: &[u8], segments: &[Segment], rows: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut keep: Vec<bool> = segments
        .iter()
        .map(|s| {
            matches!(
                s.kind,
                SegmentKind::Header | SegmentKind::Import | SegmentKind::Const | SegmentKind::Var
            ) || s.binds_unknown
                || overlaps(s, rows)
        })
        .collect();
    // Only a name some declaration not kept binds can make it kept; keeping grows, so these
    // are all the names ever looked for.
    let wanted = Wanted::new(
        segments
            .iter()
            .zip(&keep)
            .filter(|(_, kept)| !**kept)
            .flat_map(|(s, _)| s.binds.iter().map(String::as_bytes)),
    );
    let mut used: HashSet<&[u8]> = HashSet::new();
    let mut scanned = vec![false; segments.len()];
    while !wanted.names.is_empty() {
        for (i, s) in segments.iter().enumerate() {
            if keep[i] && !scanned[i] {
                identifiers(&source[s.bytes.clone()], &wanted, &mut used);
                scanned[i] = true;
            }
        }
        let mut changed = false;
        for (i, s) in segments.iter().enumerate() {
            if !keep[i] && s.binds.iter().any(|b| used.contains(b.as_bytes())) {
                keep[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    kept_bytes(segments, &keep)
}

/// The byte ranges of the segments `keep` says, adjacent ones joined.
fn kept_bytes(segments: &[Segment], keep: &[bool]) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for (s, &k) in segments.iter().zip(keep) {
        if !k || s.bytes.is_empty() {
            continue;
        }
        match ranges.last_mut() {
            Some(last) if last.end == s.bytes.start => last.end = s.bytes.end,
            _ => ranges.push(s.bytes.clone()),
        }
    }
    ranges
}

/// The byte ranges of the header and the declarations overlapping `rows` (0-based, end
/// exclusive) alone: [`needed`] without the imports, the package-level constants and variables
/// and the declarations binding names, which only some questions look up (see
/// [`crate::go::GoFile::parse_cited`]).
pub fn cited(segments: &[Segment], rows: &[Range<usize>]) -> Vec<Range<usize>> {
    let keep: Vec<bool> = segments
        .iter()
        .map(|s| s.kind == SegmentKind::Header || overlaps(s, rows))
        .collect();
    kept_bytes(segments, &keep)
}

/// The rows (0-based, end exclusive) of the segments overlapping `rows`, from the first one's
/// start to the last one's end: the declarations around `rows`, which every partial parse
/// asked about `rows` holds whole. `None` when no segment overlaps them, or those segments do
/// not follow one another.
pub fn around(segments: &[Segment], rows: Range<usize>) -> Option<Range<usize>> {
    let rows = [rows];
    let mut over = segments.iter().filter(|s| overlaps(s, &rows));
    let first = over.next()?;
    let mut end = first.rows.end;
    for s in over {
        if s.rows.start != end {
            return None;
        }
        end = s.rows.end;
    }
    Some(first.rows.start..end).filter(|rows| !rows.is_empty())
}

fn overlaps(segment: &Segment, rows: &[Range<usize>]) -> bool {
    rows.iter()
        .any(|r| r.start < segment.rows.end && segment.rows.start < r.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A newline in a string or rune, escaped or not, is not Go: the scan is unsure rather
    /// than count the rows after it one short.
    #[test]
    fn a_newline_in_a_string_leaves_no_segments() {
        assert!(segments(b"package a\n\nvar s = \"a\nb\"\n").is_none());
        assert!(segments(b"package a\n\nvar s = \"a\\\nb\"\n").is_none());
        let escaped = segments(b"package a\n\nvar s = \"a\\\\\"\n\nfunc f() {}\n").unwrap();
        assert_eq!(escaped.last().unwrap().rows.start, 4);
    }

    /// Inside a body, the scan still sees what tells: a local `const` or `var` spec's names
    /// (not a word merely ending in `const`), brackets, literals holding brackets or a line
    /// starting `func`, and every line.
    #[test]
    fn a_body_is_scanned_for_its_bindings_brackets_literals_and_lines() {
        let src = b"package a\n\nfunc f() {\n\txconst := g(\"{(\", '}')\n\
            \tconst limit = 3\n\tvar (\n\t\tx = 1\n\t)\n\ts := `\nfunc h() {\n`\n\
            \t_ = s // }\n}\n\nfunc k() {}\n";
        let segments = segments(src).unwrap();
        let kinds: Vec<SegmentKind> = segments.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [SegmentKind::Header, SegmentKind::Func, SegmentKind::Func]
        );
        let body = &segments[1];
        assert_eq!(body.binds, ["limit"]);
        assert!(body.binds_unknown);
        assert_eq!(body.rows, 2..14);
        assert_eq!(segments[2].rows, 14..16);
    }

    /// The declarations around some rows run from the first one they overlap, through the
    /// comments and blank lines after the last, to where the next declaration starts.
    #[test]
    fn the_declarations_around_rows_span_every_declaration_they_overlap() {
        let src =
            b"package a\n\nfunc f() {\n\tg()\n}\n\n// h does.\nfunc h() {\n}\n\nfunc k() {}\n";
        let segments = segments(src).unwrap();
        // Row 3 (`g()`) is inside f, whose segment runs through h's doc comment.
        assert_eq!(around(&segments, 3..4), Some(2..7));
        // Rows 3-7 reach into h: f's segment and h's, up to k.
        assert_eq!(around(&segments, 3..8), Some(2..10));
        assert_eq!(around(&segments, 10..11), Some(10..12));
        assert_eq!(around(&segments, 40..41), None);
        // Segments that do not follow one another make no span.
        let gap = [segments[1].clone(), segments[3].clone()];
        assert_eq!(around(&gap, 0..12), None);
    }
}
