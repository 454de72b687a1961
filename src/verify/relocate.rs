//! Finding where evidence went when the cited lines no longer hold it: by symbol, then by
//! searching the file's top-level declarations.

use crate::anchors::{Expectation, Ref};
use crate::go::GoFile;
use crate::go::symbols;
use crate::lines::{LineNo, LineRange};

use super::evaluate::holds;
use super::shape::Shape;

/// A place the evidence was found, with what ranks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub lines: LineRange,
    /// Lines between the candidate and the old position.
    pub distance: u32,
    /// How much of the old text the candidate shares, 0..=1000.
    pub similarity: u32,
    /// Whether it lies in the declaration the cited lines were in; `None` when that is unknown.
    pub same_declaration: Option<bool>,
}

/// The name of the innermost declaration holding all of `lines` (`Type.Method` for methods).
pub fn enclosing_declaration(file: &GoFile, lines: LineRange) -> Option<String> {
    file.cached_declarations()
        .iter()
        .filter(|d| d.lines.contains(lines) || d.top_level.contains(lines))
        .min_by_key(|d| d.lines.len())
        .map(|d| d.name.clone())
}

/// Share of `old` lines (trimmed, non-empty) also present in `new`, in thousandths.
fn similarity(old: &[String], new: &[String]) -> u32 {
    let old: Vec<&str> = old
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    if old.is_empty() {
        return 0;
    }
    let new: std::collections::HashSet<&str> = new.iter().map(|l| l.trim()).collect();
    let shared = old.iter().filter(|l| new.contains(*l)).count();
    u32::try_from(shared * 1000 / old.len()).unwrap_or(0)
}

/// Ranks candidates best first: in the declaration the cited lines were in (`old_declaration`,
/// as a symbol), then nearest the old position, then most similar text, then earliest.
fn rank(
    file: &GoFile,
    spans: Vec<LineRange>,
    old: LineRange,
    old_text: &[String],
    old_declaration: Option<&str>,
) -> Vec<Candidate> {
    let declarations = old_declaration.map(|_| file.cached_declarations());
    let mut candidates: Vec<Candidate> = spans
        .into_iter()
        .map(|lines| Candidate {
            lines,
            distance: lines.distance(old),
            similarity: similarity(old_text, &file.lines_text(lines)),
            same_declaration: old_declaration
                .zip(declarations.as_ref())
                .map(|(name, decls)| {
                    decls
                        .iter()
                        .filter(|d| d.lines.contains(lines) || d.top_level.contains(lines))
                        .any(|d| d.is_named(name))
                }),
        })
        .collect();
    candidates.sort_by(|a, b| {
        (a.same_declaration != Some(true))
            .cmp(&(b.same_declaration != Some(true)))
            .then(a.distance.cmp(&b.distance))
            .then(b.similarity.cmp(&a.similarity))
            .then(a.lines.cmp(&b.lines))
    });
    candidates.dedup_by(|a, b| a.lines == b.lines);
    candidates
}

/// The declaration of `r.symbol` in `file`: where the evidence is inside it, cited with the
/// old `shape`. When the declaration's text is unchanged from `old_decl` the cited offset
/// inside it is kept.
pub fn symbol_candidates(
    r: &Ref,
    file: &GoFile,
    old: LineRange,
    old_text: &[String],
    old_decl: Option<&OldDeclaration>,
    shape: &Shape,
) -> Vec<Candidate> {
    let Some(symbol) = &r.symbol else {
        return Vec::new();
    };
    let mut spans = Vec::new();
    for decl in file
        .cached_declarations()
        .iter()
        .filter(|d| d.is_named(&symbol.value))
    {
        if let Some(old_decl) = old_decl
            && file.lines_text(decl.lines) == old_decl.text
        {
            let offset = old
                .start()
                .get()
                .saturating_sub(old_decl.lines.start().get());
            let start = decl.lines.start().get() + offset;
            let kept = LineNo::new(start)
                .zip(LineNo::new(start + old.len() - 1))
                .and_then(|(a, b)| LineRange::new(a, b));
            if let Some(kept) = kept
                && holds(r, file, kept)
            {
                spans.push(kept);
                continue;
            }
        }
        if let Some(span) = shape.place(r, file, decl.lines) {
            spans.push(span);
        }
    }
    rank(file, spans, old, old_text, Some(&symbol.value))
}

/// The declaration that held the cited lines at `at`, to tell whether it changed since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OldDeclaration {
    pub lines: LineRange,
    pub text: Vec<String>,
}

/// The declaration named `symbol` in the old file, with its text.
pub fn old_declaration(file: &GoFile, symbol: &str) -> Option<OldDeclaration> {
    let decl = file
        .cached_declarations()
        .iter()
        .find(|d| d.is_named(symbol))?;
    Some(OldDeclaration {
        lines: decl.lines,
        text: file.lines_text(decl.lines),
    })
}

/// The most work [`search_candidates`] may do for one ref (see [`search_work`]): about two
/// seconds here. Searching a file of 40,000 functions for one failing ref costs 1.6e9 and took
/// 3.3 s; 200,000 functions (8 MB) would have taken many minutes.
pub const SEARCH_WORK_LIMIT: u64 = 1_000_000_000;

/// The work [`search_candidates`] would do for `r` in `file`, counted the same on every
/// machine: every top-level declaration is evaluated for each expectation, and each evaluation
/// passes the file's top-level nodes on its way to the declaration's own, so the work grows
/// with the square of their number.
pub fn search_work(r: &Ref, file: &GoFile) -> u64 {
    let top = file.root().child_count() as u64;
    let nodes = file.root().descendant_count() as u64;
    leaves(r)
        .0
        .saturating_mul(top.saturating_mul(top).saturating_add(nodes))
}

/// Steps of the run's work budget (about a nanosecond each) per top-level node an
/// evaluation in a window passes, for most expectations: 1.6e9 of those took 3.3 s here.
pub const STEPS_PER_NODE: u64 = 2;

/// The same for a raw `query`, whose cursor passes each top-level node on its way to the
/// window at far greater cost: 20,000 windows of a 20,000-function file took 137 s of CPU.
pub const QUERY_STEPS_PER_NODE: u64 = 400;

/// How many expectations are evaluated for each place `r` is looked for at, and how many of
/// them are raw queries.
fn leaves(r: &Ref) -> (u64, u64) {
    fn count(e: &Expectation) -> (u64, u64) {
        match e {
            Expectation::Not(inner) => count(inner),
            Expectation::Any(inner) | Expectation::All(inner) => inner
                .iter()
                .map(count)
                .fold((0, 0), |(a, b), (c, d)| (a + c, b + d)),
            Expectation::Query(_) => (1, 1),
            _ => (1, 0),
        }
    }
    let (all, queries) = r
        .expect
        .iter()
        .map(count)
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    (all.max(1), queries)
}

/// The budget steps of searching one window of `lines` lines in a file of `top` top-level
/// nodes for `r`: each expectation passes the top-level nodes, and its own window.
fn window_steps(r: &Ref, top: u64, lines: u64) -> u64 {
    let (all, queries) = leaves(r);
    let per_node = (all - queries)
        .saturating_mul(STEPS_PER_NODE)
        .saturating_add(queries.saturating_mul(QUERY_STEPS_PER_NODE));
    per_node.saturating_mul(top.saturating_add(lines))
}

/// The budget steps [`search_candidates`] takes for `r` in `file`, each window drawn as it
/// is searched.
pub fn search_steps(r: &Ref, file: &GoFile) -> u64 {
    let top = file.root().child_count() as u64;
    let lines = u64::from(file.line_count());
    window_steps(r, top, 0)
        .saturating_mul(top)
        .saturating_add(window_steps(r, 0, lines))
}

/// Every top-level declaration of `file` holding all the evidence, cited with the old `shape`,
/// except spans lying wholly inside `failed`: evidence found inside the range that just failed
/// was weakened there (a `not` or `exactly` now fails), not moved. `old_declaration` names the
/// declaration the cited lines were in, when known, to rank candidates in it first.
pub fn search_candidates(
    r: &Ref,
    file: &GoFile,
    failed: Option<LineRange>,
    old: LineRange,
    old_text: &[String],
    shape: &Shape,
    old_declaration: Option<&str>,
) -> Vec<Candidate> {
    if r.expect.is_empty() || r.expect.iter().all(|e| matches!(e, Expectation::Not(_))) {
        // Nothing positive to look for: searching would match everywhere.
        return Vec::new();
    }
    // Each window draws its work from the run's budget as it is searched; refused, the search
    // stops (the ref is cut short).
    let top = file.root().child_count() as u64;
    file.scan_whole_from_now();
    let spans: Vec<LineRange> = symbols::top_level_ranges(file)
        .into_iter()
        .take_while(|region| crate::budget::charge(window_steps(r, top, u64::from(region.len()))))
        .filter_map(|region| shape.place(r, file, region))
        .filter(|span| failed.is_none_or(|f| !f.contains(*span)))
        .collect();
    rank(file, spans, old, old_text, old_declaration)
}
