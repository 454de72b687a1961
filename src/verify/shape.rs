//! Shape-preserving relocation: a citation that moves keeps the shape it had around its
//! evidence. One that cited a guard's `if` line moves to that `if` line, one that cited a
//! whole function to the whole function, one that cited a function and two lines above it
//! keeps those lines; a range grows or shrinks only where the code it cited did.
//!
//! A [`Shape`] is measured once, where the citation last held ([`Shape::of`]: the file at
//! `at`, or any version history found it holding in), or guessed from the cited range's
//! length when no such version is known ([`Shape::of_length`]). [`Shape::place`] then puts it
//! around the evidence found in a region of the file being verified, whatever found that
//! region: history hunks, a symbol's declaration, or a search of every declaration. Both ends
//! are anchored to landmarks of the evidence (the first and last cited construct's head and
//! lines, and its top-level declaration) at the offsets they had, so the cost is that of
//! evaluating the ref on the region once: linear in the region's size.

use std::borrow::Cow;

use crate::anchors::{Expectation, Ref};
use crate::expect::{self, Scope};
use crate::go::GoFile;
use crate::go::segments::{self, Segment};
use crate::go::symbols;
use crate::lines::{LineNo, LineRange};

use super::evaluate::holds;

/// One construct that satisfies an expectation: the line citing it (its head) and its lines.
type Cited = (LineNo, LineRange);

/// Lines of context on each side of a construct's head compared to recognise it.
const CONTEXT: u32 = 2;

/// How a citation sits around the evidence it cites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// The cited range's length.
    len: u32,
    anchored: Option<Anchored>,
}

/// A shape measured on the code the citation held in.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Anchored {
    start: Edge,
    end: Edge,
    /// The first and last cited constructs, to recognise them where the evidence went.
    first: Recognised,
    last: Recognised,
    /// How many constructs the range cited.
    constructs: usize,
}

/// A construct as it can be recognised elsewhere: the lines around its head, and where its
/// head sat in its declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Recognised {
    /// Trimmed lines from `head - CONTEXT` to `head + CONTEXT` (empty past the file's ends).
    context: Vec<String>,
    /// Lines from the declaration's first line to the head.
    depth: u32,
}

/// One end of a range: a landmark and the offset from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Edge {
    landmark: Landmark,
    offset: i64,
}

/// Lines of the evidence an end can be anchored to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Landmark {
    FirstHead,
    FirstStart,
    LastHead,
    LastEnd,
    DeclarationStart,
    DeclarationEnd,
}

/// The landmarks of one group of cited constructs.
#[derive(Clone, Copy, Debug)]
struct Landmarks {
    first_head: u32,
    first_start: u32,
    last_head: u32,
    last_end: u32,
    declaration: LineRange,
}

impl Landmarks {
    fn new(group: &[Cited], declaration: LineRange) -> Option<Landmarks> {
        let first = group.first()?;
        let last = group.last()?;
        Some(Landmarks {
            first_head: first.0.get(),
            first_start: group.iter().map(|c| c.1.start().get()).min()?,
            last_head: last.0.get(),
            last_end: group.iter().map(|c| c.1.end().get()).max()?,
            declaration,
        })
    }

    fn get(&self, landmark: Landmark) -> u32 {
        match landmark {
            Landmark::FirstHead => self.first_head,
            Landmark::FirstStart => self.first_start,
            Landmark::LastHead => self.last_head,
            Landmark::LastEnd => self.last_end,
            Landmark::DeclarationStart => self.declaration.start().get(),
            Landmark::DeclarationEnd => self.declaration.end().get(),
        }
    }

    /// The landmark nearest `line` among `choices` (earlier ones win ties), with the offset.
    fn edge(&self, line: u32, choices: &[Landmark]) -> Edge {
        let offset = |l: Landmark| i64::from(line) - i64::from(self.get(l));
        let landmark = choices
            .iter()
            .copied()
            .min_by_key(|l| offset(*l).unsigned_abs())
            .unwrap_or(Landmark::FirstHead);
        Edge {
            landmark,
            offset: offset(landmark),
        }
    }

    fn apply(&self, edge: Edge) -> i64 {
        i64::from(self.get(edge.landmark)) + edge.offset
    }
}

impl Shape {
    /// The shape of `range` around the evidence `r` cites there in `file` (the version the
    /// citation was written for, or any where it held); `None` when it does not hold there.
    pub fn of(r: &Ref, file: &GoFile, range: LineRange) -> Option<Shape> {
        let cited = evidence(r, file, range)?;
        let all = merged(&cited);
        let (first, last) = (*all.first()?, *all.last()?);
        let declaration = symbols::top_level_ranges(file)
            .into_iter()
            .find(|d| d.contains_line(first.0))
            .unwrap_or_else(|| cover(&all));
        let marks = Landmarks::new(&all, declaration)?;
        let whole_declaration = range == declaration;
        let (starts, ends): (&[Landmark], &[Landmark]) = if whole_declaration {
            (&[Landmark::DeclarationStart], &[Landmark::DeclarationEnd])
        } else {
            (
                &[
                    Landmark::FirstHead,
                    Landmark::FirstStart,
                    Landmark::DeclarationStart,
                ],
                &[
                    Landmark::LastHead,
                    Landmark::LastEnd,
                    Landmark::DeclarationEnd,
                ],
            )
        };
        Some(Shape {
            len: range.len(),
            anchored: Some(Anchored {
                start: marks.edge(range.start().get(), starts),
                end: marks.edge(range.end().get(), ends),
                first: recognised(file, first.0, declaration),
                last: recognised(file, last.0, declaration),
                constructs: all.len(),
            }),
        })
    }

    /// A shape known only by the cited range's length, when no version the citation held in
    /// is at hand: the evidence's heads, its whole constructs or its declaration, whichever is
    /// nearest that length.
    pub fn of_length(range: LineRange) -> Shape {
        Shape {
            len: range.len(),
            anchored: None,
        }
    }

    /// The range with this shape around the evidence of `r` in `region` of `file` (a
    /// declaration, or any lines history or a search points at), when every expectation of
    /// `r` holds in `region`. When the shape cannot be kept there (the code around the evidence
    /// changed too much), the smallest span covering the evidence's constructs.
    pub fn place(&self, r: &Ref, file: &GoFile, region: LineRange) -> Option<LineRange> {
        let cited = evidence(r, file, region)?;
        let all = merged(&cited);
        if all.is_empty() {
            return Some(region);
        }
        // The evidence at its tightest: one construct per expectation where that holds (a
        // call), else every construct (each path of `routes`), else the region.
        let tight = [cover(&tightest_group(&cited)), cover(&all)]
            .into_iter()
            .find(|span| holds(r, file, *span))
            .unwrap_or(region);
        let shaped = match &self.anchored {
            Some(anchored) => anchored.place(file, &all, region),
            None => {
                let group: Vec<Cited> = all
                    .iter()
                    .copied()
                    .filter(|c| tight.contains_line(c.0))
                    .collect();
                self.by_length(file, &group, tight, region)
            }
        };
        Some(
            shaped
                .filter(|range| holds(r, file, *range))
                .unwrap_or(tight),
        )
    }

    /// Among the evidence's heads, its constructs, the statements and blocks enclosing them
    /// and its declaration, the span nearest the cited length (the longer one on ties: never
    /// narrower than need be).
    fn by_length(
        &self,
        file: &GoFile,
        group: &[Cited],
        tight: LineRange,
        region: LineRange,
    ) -> Option<LineRange> {
        let heads = group
            .iter()
            .map(|c| LineRange::single(c.0))
            .reduce(LineRange::cover)?;
        let mut options = vec![heads, tight, region];
        options.extend(
            file.enclosing_spans(tight)
                .into_iter()
                .filter(|span| region.contains(*span)),
        );
        options.sort_by_key(|o| (o.len().abs_diff(self.len), std::cmp::Reverse(o.len())));
        options.into_iter().next()
    }
}

impl Anchored {
    fn place(&self, file: &GoFile, all: &[Cited], region: LineRange) -> Option<LineRange> {
        // The construct the citation started at, recognised by its lines and its depth in the
        // declaration; then the one it ended at, as far after it as before.
        let score = |c: &Cited, r: &Recognised| {
            let same = recognised(file, c.0, region)
                .context
                .iter()
                .zip(&r.context)
                .filter(|(a, b)| a == b && !a.is_empty())
                .count();
            let depth = c.0.get().saturating_sub(region.start().get());
            (std::cmp::Reverse(same), depth.abs_diff(r.depth), c.0)
        };
        let first = *all.iter().min_by_key(|c| score(c, &self.first))?;
        let last = if self.constructs == 1 {
            first
        } else {
            *all.iter()
                .filter(|c| c.0 >= first.0)
                .min_by_key(|c| score(c, &self.last))?
        };
        let group: Vec<Cited> = all
            .iter()
            .copied()
            .filter(|c| first.0 <= c.0 && c.0 <= last.0)
            .collect();
        let marks = Landmarks::new(&group, region)?;
        let lines = i64::from(file.line_count().max(1));
        let start = marks.apply(self.start).clamp(1, lines);
        let end = marks.apply(self.end).clamp(1, lines);
        let start = LineNo::new(u32::try_from(start).ok()?)?;
        let end = LineNo::new(u32::try_from(end).ok()?)?;
        LineRange::new(start, end)
    }
}

/// The lines around a head and its depth in its declaration.
fn recognised(file: &GoFile, head: LineNo, declaration: LineRange) -> Recognised {
    let h = head.get();
    let context = (h.saturating_sub(CONTEXT)..=h + CONTEXT)
        .map(|n| match LineNo::new(n) {
            Some(line) if n <= file.line_count() => file.line_text(line).trim().to_string(),
            _ => String::new(),
        })
        .collect();
    Recognised {
        context,
        depth: h.saturating_sub(declaration.start().get()),
    }
}

/// The constructs each positive expectation of `r` cites in `range` (a ref naming only its
/// symbol: the symbol's declaration); `None` when one does not hold there.
fn evidence(r: &Ref, file: &GoFile, range: LineRange) -> Option<Vec<Vec<Cited>>> {
    if r.expect.is_empty() {
        let results = super::evaluate::evaluate_ref_scoped(r, file, range, Scope::Range);
        let symbol = results.first().filter(|s| s.ok)?;
        return Some(vec![
            symbol.matches.iter().map(|m| (m.start(), *m)).collect(),
        ]);
    }
    let mut cited = Vec::new();
    for e in &r.expect {
        let found = expect::evaluate_evidence(e, file, range, Scope::Range);
        if !found.result.ok {
            return None;
        }
        // What must be absent is no landmark of what is present.
        if !matches!(e, Expectation::Not(_)) && !found.cited.is_empty() {
            cited.push(found.cited);
        }
    }
    Some(cited)
}

/// Every cited construct once, by head.
fn merged(cited: &[Vec<Cited>]) -> Vec<Cited> {
    let mut all: Vec<Cited> = cited.iter().flatten().copied().collect();
    all.sort();
    all.dedup();
    all
}

/// The lines covering a group of constructs.
fn cover(group: &[Cited]) -> LineRange {
    group
        .iter()
        .map(|c| c.1.cover(LineRange::single(c.0)))
        .reduce(LineRange::cover)
        .unwrap_or(LineRange::single(LineNo::from_zero_based(0)))
}

/// One construct per expectation, as close together as they come: each construct of the
/// first expectation with the nearest of every other, keeping the tightest. Sorted by head.
fn tightest_group(cited: &[Vec<Cited>]) -> Vec<Cited> {
    let Some((first, rest)) = cited.split_first() else {
        return Vec::new();
    };
    let mut best: Option<Vec<Cited>> = None;
    for anchor in first {
        let mut group = vec![*anchor];
        for set in rest {
            if let Some(nearest) = set.iter().min_by_key(|c| (c.1.distance(anchor.1), c.0)) {
                group.push(*nearest);
            }
        }
        group.sort();
        group.dedup();
        if best
            .as_ref()
            .is_none_or(|b| cover(&group).len() < cover(b).len())
        {
            best = Some(group);
        }
    }
    best.unwrap_or_default()
}

/// How many construct ends the lines `range` of `source` cut or pad with: a blank first or
/// last line, each bracket closed in the range but opened before it or opened in it but
/// closed after it, and a first or last line inside a raw string or block comment that
/// begins before it or ends after it. Brackets inside strings, runes and comments are not
/// counted (a multi-line raw string holding `{` is one literal). 0 for a range of whole
/// statements; a citation read a few lines off (a blank line and a `var` above it, its closing
/// braces left out) scores more, so of two places that hold the evidence equally well the one
/// that cites whole code is the one it was written against.
pub fn cut(source: &[u8], range: LineRange) -> u32 {
    Lines::upto(Cow::Borrowed(source), range.end().get()).cut(range)
}

/// [`cut`] of `range`, and whether those lines read as a whole citation at shifted lines: they
/// cut a construct and reach across the top level ([`Lines::spans_top_level`]: from one
/// declaration into the next, or from the code above into a declaration's head). A citation
/// cut inside one declaration (an `if` line, a head with its guard) may be cited so; one that
/// cuts across the top level was written against other lines.
pub fn cut_across(source: &[u8], range: LineRange) -> (u32, bool) {
    match cut(source, range) {
        0 => (0, false),
        cut => (
            cut,
            Lines::upto(Cow::Borrowed(source), range.end().get()).spans_top_level(range),
        ),
    }
}

/// A file's lines lexed once, for asking [`cut`], [`Lines::spans_top_level`] and the cited text of many
/// ranges of one file: each question then costs its range, not the file (330,000 refs of 100
/// files asked each its own lexing of the whole file).
pub struct Lines<'a> {
    source: Cow<'a, [u8]>,
    /// The byte offset each line starts at (as `split` on `\n` cuts them).
    starts: Vec<usize>,
    /// The lines lexed, from the 0-based line `lexed_from` on.
    lexed: Vec<Lexed>,
    lexed_from: usize,
}

impl<'a> Lines<'a> {
    /// Every line of `source`.
    pub fn new(source: &'a [u8]) -> Self {
        Self::upto(Cow::Borrowed(source), u32::MAX)
    }

    /// Every line of `source`, kept with them (to be asked about later, by many refs).
    pub fn owned(source: Vec<u8>) -> Lines<'static> {
        Lines::upto(Cow::Owned(source), u32::MAX)
    }

    /// The first `upto` lines of `source`: enough for ranges ending there.
    pub fn first(source: &'a [u8], upto: u32) -> Self {
        Self::upto(Cow::Borrowed(source), upto)
    }

    /// [`Lines::first`] for ranges starting at line `from` (1-based) or below it, lexed from
    /// the start of the top-level declaration `from` lies in (by `segments`, the file's
    /// [`segments::segments`](crate::go::segments::segments)), not from the file's start. The
    /// segment scan reads brackets, strings, runes and comments as [`lex`] does (and gives no
    /// segments for a file with a newline in a string or rune, where [`lex`] ends the string
    /// and the scan would not), and a declaration starts a line at the top level, outside
    /// every bracket, string and comment: [`lex`] stands there as at the file's start, so
    /// every line from it on is lexed as from the start.
    pub fn first_from(source: &'a [u8], segments: &[Segment], from: u32, upto: u32) -> Self {
        let row = (from as usize).saturating_sub(1);
        let (row, byte) = segments[..segments.partition_point(|s| s.rows.start <= row)]
            .last()
            .map_or((0, 0), |s| (s.rows.start, s.bytes.start));
        Self::upto_from(Cow::Borrowed(source), upto, row, byte)
    }

    fn upto(source: Cow<'a, [u8]>, upto: u32) -> Self {
        Self::upto_from(source, upto, 0, 0)
    }

    /// The first `upto` lines of `source`, lexed from the 0-based line `row`, which starts at
    /// `byte` at the top level.
    fn upto_from(source: Cow<'a, [u8]>, upto: u32, row: usize, byte: usize) -> Self {
        let mut starts = vec![0];
        starts.extend(
            memchr::memchr_iter(b'\n', &source)
                .map(|i| i + 1)
                .take((upto as usize).saturating_sub(1)),
        );
        let lexed = lex(&source[byte..], (upto as usize).saturating_sub(row));
        Lines {
            source,
            starts,
            lexed,
            lexed_from: row,
        }
    }

    /// The lexing of the 0-based line `index`, `None` past the lines lexed.
    fn lexed(&self, index: usize) -> Option<&Lexed> {
        self.lexed.get(index.checked_sub(self.lexed_from)?)
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.source
    }

    /// How many lines the file has ([`crate::go::count_lines`]).
    pub fn count(&self) -> u32 {
        crate::go::count_lines(&self.source)
    }

    /// Where line `n` (1-based) starts and ends (before its newline), `None` past the last.
    fn span(&self, n: usize) -> Option<(usize, usize)> {
        let start = *self.starts.get(n.checked_sub(1)?)?;
        let end =
            memchr::memchr(b'\n', &self.source[start..]).map_or(self.source.len(), |e| start + e);
        Some((start, end))
    }

    /// Line `n` (1-based) without its newline, `None` past the last.
    fn line(&self, n: usize) -> Option<&[u8]> {
        self.span(n).map(|(start, end)| &self.source[start..end])
    }

    /// The bytes of `range`'s lines, joined by their newlines (those past the end left out).
    pub fn text(&self, range: LineRange) -> &[u8] {
        let (a, b) = (range.start().get() as usize, range.end().get() as usize);
        match (self.span(a), self.span(b.min(self.starts.len()))) {
            (Some((start, _)), Some((_, end))) => &self.source[start..end],
            _ => &[],
        }
    }

    /// [`cut`] of `range`.
    pub fn cut(&self, range: LineRange) -> u32 {
        let (a, b) = (range.start().get(), range.end().get());
        let blank = |line: Option<&[u8]>| u32::from(line.is_none_or(|l| l.trim_ascii().is_empty()));
        let (first_line, last_line) = if self.starts.len() < a as usize {
            (None, None)
        } else {
            (
                self.line(a as usize),
                self.line((b as usize).min(self.starts.len())),
            )
        };
        let mut score = blank(first_line) + blank(last_line);
        let (Some(first), Some(last)) = (self.lexed(a as usize - 1), self.lexed(b as usize - 1))
        else {
            return score;
        };
        score += u32::from(!first.code_at_start) + u32::from(!last.code_at_end);
        let from = self.lexed_from;
        let lowest = self.lexed[a as usize - 1 - from..b as usize - from]
            .iter()
            .map(|l| l.lowest)
            .min()
            .unwrap_or(first.depth)
            .min(first.depth);
        // Closed before being opened in the range, and opened without being closed.
        score +=
            (first.depth - lowest).unsigned_abs() + (last.depth_at_end - lowest).unsigned_abs();
        score
    }

    /// True when a line of `range` after its first begins at the top level of the file
    /// (outside every bracket, string and comment): the range reaches past the end of the
    /// top-level construct it begins in, or begins before one.
    pub fn spans_top_level(&self, range: LineRange) -> bool {
        let (a, b) = (range.start().get() as usize, range.end().get() as usize);
        let from = self.lexed_from;
        debug_assert!(a > from, "line {a} was not lexed");
        self.lexed
            .iter()
            .take(b - from)
            .skip(a - from)
            .any(|l| l.depth == 0 && l.code_at_start)
    }
}

/// One line of Go as [`lex`] read it: the bracket depth at its start (from the file's start),
/// the lowest it reached in it and at its end, and whether it begins and ends in code (not
/// inside a raw string or block comment).
struct Lexed {
    depth: i32,
    lowest: i32,
    depth_at_end: i32,
    code_at_start: bool,
    code_at_end: bool,
}

/// The first `upto` lines of `source` lexed for brackets outside strings, runes and comments.
fn lex(source: &[u8], upto: usize) -> Vec<Lexed> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Quoted(u8),
        Raw,
        Block,
    }
    let mut out: Vec<Lexed> = Vec::new();
    let (mut state, mut depth) = (State::Code, 0i32);
    let mut line = Lexed {
        depth: 0,
        lowest: 0,
        depth_at_end: 0,
        code_at_start: true,
        code_at_end: true,
    };
    let mut i = 0;
    while i < source.len() && out.len() < upto {
        // Straight to the next byte that can change the state, the depth or the line.
        let rest = &source[i..];
        i += match state {
            State::Code => rest.iter().position(|&b| !segments::is_inert_byte(b)),
            State::Quoted(q) => memchr::memchr3(b'\\', b'\n', q, rest),
            State::Raw => memchr::memchr2(b'`', b'\n', rest),
            State::Block => memchr::memchr2(b'*', b'\n', rest),
        }
        .unwrap_or(rest.len());
        if i == source.len() {
            break;
        }
        let c = source[i];
        let next = source.get(i + 1).copied();
        if c == b'\n' {
            if matches!(state, State::Quoted(_)) {
                state = State::Code;
            }
            line.depth_at_end = depth;
            line.code_at_end = state == State::Code;
            out.push(line);
            line = Lexed {
                depth,
                lowest: depth,
                depth_at_end: depth,
                code_at_start: state == State::Code,
                code_at_end: true,
            };
            i += 1;
            continue;
        }
        match state {
            State::Code => match c {
                b'/' if next == Some(b'/') => {
                    while i + 1 < source.len() && source[i + 1] != b'\n' {
                        i += 1;
                    }
                }
                b'/' if next == Some(b'*') => {
                    state = State::Block;
                    i += 1;
                }
                b'"' | b'\'' => state = State::Quoted(c),
                b'`' => state = State::Raw,
                b'(' | b'{' | b'[' => depth += 1,
                b')' | b'}' | b']' => {
                    depth -= 1;
                    line.lowest = line.lowest.min(depth);
                }
                _ => {}
            },
            State::Quoted(_) if c == b'\\' => i += usize::from(next.is_some_and(|n| n != b'\n')),
            State::Quoted(q) if c == q => state = State::Code,
            State::Raw if c == b'`' => state = State::Code,
            State::Block if c == b'*' && next == Some(b'/') => {
                state = State::Code;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    if out.len() < upto {
        line.depth_at_end = depth;
        line.code_at_end = state == State::Code;
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anchors::{CallPattern, FailClosedSpec, Located, Position};

    fn lines(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    fn go(src: &str) -> GoFile {
        GoFile::parse(src.as_bytes().to_vec()).unwrap()
    }

    fn located<T>(value: T) -> Located<T> {
        Located {
            value,
            position: Position { line: 1, column: 1 },
            span: None,
        }
    }

    fn reference(range: LineRange, expect: Vec<Expectation>) -> Ref {
        Ref {
            path: located("a.go".to_string()),
            lines: located(range),
            at: None,
            symbol: None,
            expect,
            position: Position { line: 1, column: 1 },
        }
    }

    fn guard(when: &str) -> Expectation {
        Expectation::FailClosed(FailClosedSpec {
            when: regex::Regex::new(when).unwrap(),
            sinks: Vec::new(),
        })
    }

    fn call(name: &str) -> Expectation {
        Expectation::Call(CallPattern {
            name: name.into(),
            glob: None,
            args: None,
            when: None,
        })
    }

    /// The line holding `needle` (1-based).
    fn line_of(src: &str, needle: &str) -> u32 {
        src.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1
    }

    const OLD: &str = "package a

// serve checks the client.
func serve(w http.ResponseWriter, r *http.Request) {
\tctx := r.Context()
\tif err := checkOrigin(r); err != nil {
\t\thttp.Error(w, \"origin\", 403)
\t\treturn
\t}
\tif err := checkMTLS(r); err != nil {
\t\thttp.Error(w, \"mtls\", 403)
\t\treturn
\t}
\thandle(ctx, w, r)
}
";

    /// The function moved down under a new one, and its guards grew.
    const NEW: &str = "package a

func other() {
\tsetup()
}

// serve checks the client.
func serve(w http.ResponseWriter, r *http.Request) {
\tctx := r.Context()
\tif err := checkOrigin(r); err != nil {
\t\tlog.Printf(\"bad origin: %v\", err)
\t\thttp.Error(w, \"origin\", 403)
\t\treturn
\t}
\tif err := checkMTLS(r); err != nil {
\t\tmetrics.Denied.Inc()
\t\thttp.Error(w, \"mtls\", 403)
\t\treturn
\t}
\thandle(ctx, w, r)
}
";

    fn moved(r: &Ref, old: LineRange) -> LineRange {
        let shape = Shape::of(r, &go(OLD), old).expect("holds where written");
        let new = go(NEW);
        let declaration = symbols::top_level_ranges(&new)
            .into_iter()
            .find(|d| new.lines_text(*d)[0].starts_with("func serve"))
            .unwrap();
        shape.place(r, &new, declaration).unwrap()
    }

    #[test]
    fn a_cited_if_line_moves_to_that_if_line() {
        let at = line_of(OLD, "checkMTLS");
        let r = reference(lines(at, at), vec![guard("checkMTLS|checkOrigin")]);
        let to = line_of(NEW, "checkMTLS");
        assert_eq!(moved(&r, lines(at, at)), lines(to, to));
    }

    #[test]
    fn a_whole_function_moves_to_the_whole_function_grown_with_its_code() {
        let r = reference(lines(4, 15), vec![guard("checkMTLS")]);
        assert_eq!(moved(&r, lines(4, 15)), lines(8, 21));
    }

    #[test]
    fn context_around_the_evidence_is_kept() {
        // The doc comment and the function, cited together.
        let r = reference(lines(3, 15), vec![call("checkOrigin")]);
        assert_eq!(moved(&r, lines(3, 15)), lines(7, 21));
        // A guard and the line after it.
        let at = line_of(OLD, "checkMTLS");
        let r = reference(lines(at, at + 4), vec![guard("checkMTLS")]);
        let to = line_of(NEW, "checkMTLS");
        assert_eq!(moved(&r, lines(at, at + 4)), lines(to, to + 5));
    }

    #[test]
    fn the_cited_one_of_two_alike_constructs_is_the_one_followed() {
        // Both guards write an error: the second was cited, the second is followed.
        let at = line_of(OLD, "\"mtls\"");
        let r = reference(lines(at, at), vec![call("http.Error")]);
        let to = line_of(NEW, "\"mtls\"");
        assert_eq!(moved(&r, lines(at, at)), lines(to, to));
        let at = line_of(OLD, "\"origin\"");
        let r = reference(lines(at, at), vec![call("http.Error")]);
        let to = line_of(NEW, "\"origin\"");
        assert_eq!(moved(&r, lines(at, at)), lines(to, to));
    }

    #[test]
    fn by_length_the_nearest_enclosing_span_is_chosen() {
        let new = go(NEW);
        let declaration = lines(8, 21);
        let r = reference(lines(1, 1), vec![guard("checkMTLS")]);
        let place = |len: u32| {
            Shape::of_length(lines(100, 100 + len - 1))
                .place(&r, &new, declaration)
                .unwrap()
        };
        let guard_line = line_of(NEW, "checkMTLS");
        assert_eq!(place(1), lines(guard_line, guard_line));
        assert_eq!(place(5), lines(guard_line, guard_line + 4), "the guard");
        assert_eq!(place(12), declaration, "the function, never narrowed");
        assert_eq!(place(40), declaration);
    }

    #[test]
    fn cut_counts_brackets_of_code_only() {
        let src = "package a\n\nfunc f() string {\n\tcfg := `org {\n\t\troot }\n\t}`\n\ts := \"{(\" // {\n\t/* }\n\t} */\n\treturn cfg + s\n}\n";
        assert_eq!(cut(src.as_bytes(), lines(3, 11)), 0, "the function whole");
        assert_eq!(cut(src.as_bytes(), lines(4, 6)), 0, "the raw string whole");
        // Beginning inside the raw string (statements of the body otherwise).
        assert_eq!(cut(src.as_bytes(), lines(5, 10)), 1);
        // Ending inside the block comment, with the function's `{` open.
        assert_eq!(cut(src.as_bytes(), lines(3, 8)), 2);
        assert_eq!(cut(src.as_bytes(), lines(2, 11)), 1, "a blank first line");
    }

    /// Pieces of Go (and of not quite Go) that open and close brackets, strings, runes and
    /// comments across lines, and start top-level declarations.
    const PIECES: [&str; 13] = [
        "func f() {\n\tx := 1\n}\n",
        "func g() {\n\ts := `raw\n{\n`\n\t_ = s\n}\n",
        "/* block\n{ */\n",
        "var x = (\n\t1\n)\n",
        "type T struct {\n\ta int // }\n}\n",
        "func h() {\n\tr := '{'\n\tq := \"a{(\" // {\n}\n",
        "func e() {\n\te := \"\\\"{\"\n}\n",
        "import \"fmt\"\n",
        "\n",
        "const c = ']'\n",
        "func k() {\n\tq := \"a\\\nb{\"\n}\n",
        "func m() {\n\t/* { */ if x {\n\t\treturn\n\t}\n}\n",
        "}\n",
    ];

    /// Lexed from the declaration a range starts in, a file answers every range starting there
    /// or below as lexed from its start, whatever its strings, runes and comments hold: the
    /// segment scan and the lexer must agree on where code is (a newline escaped in a string,
    /// which the scan once took into the string, must leave the file without segments).
    #[test]
    fn lexed_from_a_declaration_lines_answer_as_lexed_from_the_start() {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let mut runner = TestRunner::new(Config {
            cases: 400,
            ..Config::default()
        });
        let pieces = vec(0..PIECES.len(), 1..24);
        let with_segments = std::cell::Cell::new(0);
        runner
            .run(&(pieces, 1u32..40), |(pieces, from)| {
                let src: String = std::iter::once("package a\n")
                    .chain(pieces.iter().map(|&p| PIECES[p]))
                    .collect();
                let Some(segments) = crate::go::segments::segments(src.as_bytes()) else {
                    return Ok(());
                };
                with_segments.set(with_segments.get() + 1);
                let count = crate::go::count_lines(src.as_bytes());
                let from = from.min(count);
                let start = Lines::first(src.as_bytes(), count);
                let declared = Lines::first_from(src.as_bytes(), &segments, from, count);
                for a in from..=count {
                    for b in a..=count {
                        let range = lines(a, b);
                        prop_assert_eq!(
                            declared.cut(range),
                            start.cut(range),
                            "cut {}-{} of {:?}",
                            a,
                            b,
                            src
                        );
                        prop_assert_eq!(
                            declared.spans_top_level(range),
                            start.spans_top_level(range),
                            "spans {}-{} of {:?}",
                            a,
                            b,
                            src
                        );
                        prop_assert_eq!(declared.text(range), start.text(range));
                    }
                }
                Ok(())
            })
            .unwrap();
        let with_segments = with_segments.get();
        assert!(with_segments > 50, "{with_segments} files had segments");
    }

    /// One lexing of the whole file answers every range as lexing up to that range did, and
    /// its text is the range's lines joined, past the file's end too (ranges are checked
    /// against the file's length only by some callers).
    #[test]
    fn a_file_lexed_once_answers_every_range_as_lexed_for_it() {
        let src = "package a\n\nfunc f() string {\n\tcfg := `org {\n\t\troot }\n\t}`\n\ts := \"{(\" // {\n\t/* }\n\t} */\n\treturn cfg + s\n}\n\nfunc g() {}";
        let whole = Lines::new(src.as_bytes());
        let pieces: Vec<&str> = src.split('\n').collect();
        for a in 1..=pieces.len() as u32 + 2 {
            for b in a..=pieces.len() as u32 + 2 {
                let range = lines(a, b);
                assert_eq!(whole.cut(range), cut(src.as_bytes(), range), "cut {a}-{b}");
                let joined: Vec<&str> = pieces
                    .iter()
                    .skip(a as usize - 1)
                    .take((b + 1 - a) as usize)
                    .copied()
                    .collect();
                assert_eq!(
                    whole.text(range),
                    joined.join("\n").as_bytes(),
                    "text {a}-{b}"
                );
                let spans = lex(src.as_bytes(), b as usize)
                    .iter()
                    .skip(a as usize)
                    .any(|l| l.depth == 0 && l.code_at_start);
                assert_eq!(whole.spans_top_level(range), spans, "spans {a}-{b}");
            }
        }
    }

    #[test]
    fn a_range_spans_the_top_level_past_its_first_line() {
        let src = "package a\n\nfunc f() {\n\tx := `\n}`\n}\n\nfunc g() {}\n";
        let spans = |a, b| Lines::new(src.as_bytes()).spans_top_level(lines(a, b));
        assert!(!spans(3, 6), "f whole, a `}}` inside its raw string");
        assert!(!spans(4, 5));
        assert!(spans(5, 7), "past f's end");
        assert!(spans(2, 4), "a blank line, then f's head");
        assert!(!spans(8, 8));
    }
}
