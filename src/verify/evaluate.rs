//! The expectations of a ref evaluated on a range of a parsed file: what the first check at the
//! cited place, the culprit search, relocation and the look back for where a ref last held all
//! ask, so they agree on what "holds" means.

use crate::anchors::ExpectationKind;
use crate::anchors::Ref;
use crate::expect::{self, InPlace, Scope};
use crate::go::GoFile;
use crate::go::symbols::Declaration;
use crate::lines::LineRange;
use crate::model::{CheckKind, ExpectationResult};

/// Evaluates every expectation of `r` on `range` (a symbol-only ref checks its declaration).
pub fn evaluate_ref(r: &Ref, file: &GoFile, range: LineRange) -> Vec<ExpectationResult> {
    evaluate_ref_scoped(r, file, range, Scope::File)
}

/// Whether every expectation of `r` holds on `range`. Failures look for no near miss
/// elsewhere in the file, as nobody reads their messages.
pub fn holds(r: &Ref, file: &GoFile, range: LineRange) -> bool {
    all_ok(&evaluate_ref_scoped(r, file, range, Scope::Range))
}

pub(super) fn evaluate_ref_scoped(
    r: &Ref,
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> Vec<ExpectationResult> {
    let mut results: Vec<ExpectationResult> = r
        .expect
        .iter()
        .map(|e| expect::evaluate_scoped(e, file, range, scope))
        .collect();
    if r.expect.is_empty()
        && let Some(symbol) = &r.symbol
    {
        results.push(symbol_declared(file, &symbol.value, range));
    }
    results
}

/// When every expectation of `r` holds on `range`, how far the range is from citing exactly
/// its evidence: the lines it cites outside the matched constructs plus the lines of those
/// constructs it leaves out (0: the range is its evidence).
pub fn misfit(r: &Ref, file: &GoFile, range: LineRange) -> Option<u32> {
    let results = evaluate_ref_scoped(r, file, range, Scope::Range);
    if !all_ok(&results) {
        return None;
    }
    let mut evidence: Vec<LineRange> = results
        .iter()
        .filter(|e| e.kind != CheckKind::Expectation(ExpectationKind::Not))
        .flat_map(|e| e.matches.iter().copied())
        .collect();
    evidence.sort();
    let mut covered: Vec<LineRange> = Vec::new();
    for m in evidence {
        match covered.last_mut() {
            Some(last) if last.end().get() + 1 >= m.start().get() => *last = last.cover(m),
            _ => covered.push(m),
        }
    }
    let inside = |m: &LineRange| -> u32 {
        let (a, b) = (
            m.start().get().max(range.start().get()),
            m.end().get().min(range.end().get()),
        );
        (b + 1).saturating_sub(a)
    };
    let cited_evidence: u32 = covered.iter().map(inside).sum();
    let evidence_lines: u32 = covered.iter().map(|m| m.len()).sum();
    Some((range.len() - cited_evidence) + (evidence_lines - cited_evidence))
}

/// True when some expectation of `r` fails at `range` on a construct the range cites, so the
/// evidence was weakened where it is, not moved. When history mapped the range there, any
/// failing cited construct says so; without history the range may hold other code that
/// shifted into it, so only the shapes weakening takes do (a guard that only logs, a TLS
/// setting under a condition).
pub fn weakened_in_place(r: &Ref, file: &GoFile, range: LineRange, history: bool) -> bool {
    let telling = if history {
        InPlace::Cited
    } else {
        InPlace::Weakened
    };
    r.expect
        .iter()
        .any(|e| expect::evaluate_evidence(e, file, range, Scope::Range).in_place >= telling)
}

pub fn all_ok(results: &[ExpectationResult]) -> bool {
    results.iter().all(|e| e.ok)
}

/// A ref naming only a symbol holds when a declaration of that symbol starts in the range.
fn symbol_declared(file: &GoFile, symbol: &str, lines: LineRange) -> ExpectationResult {
    let decls = file.cached_declarations();
    let named: Vec<&Declaration> = decls.iter().filter(|d| d.is_named(symbol)).collect();
    if let Some(d) = named.iter().find(|d| lines.contains_line(d.lines.start())) {
        return ExpectationResult {
            kind: CheckKind::Symbol,
            ok: true,
            message: format!("{symbol} is declared at lines {}", d.lines),
            matches: vec![d.lines],
            near_miss: None,
        };
    }
    let (message, near_miss) = match named.first() {
        Some(d) => (
            format!(
                "{symbol} is declared at lines {}, outside lines {lines}",
                d.lines
            ),
            Some(d.lines.start()),
        ),
        None => (format!("no declaration of {symbol} in the file"), None),
    };
    ExpectationResult {
        kind: CheckKind::Symbol,
        ok: false,
        message,
        matches: Vec::new(),
        near_miss,
    }
}
