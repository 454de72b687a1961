//! One evaluator per expectation kind, all behind [`evaluate`].

use crate::anchors::Expectation;
use crate::go::GoFile;
use crate::go::conditions::{Condition, unmatched};
use crate::lines::{LineNo, LineRange};
use crate::model::{CheckKind, ExpectationResult};

mod call;
mod combinators;
mod fail_closed;
mod literal;
mod query;
mod routes;
mod text;
mod tls;

/// An expectation's result with what relocation needs to keep a citation's shape: for every
/// construct that satisfied it, the line that cites it (its head: a call's name, a guard's
/// `if`, a TLS field) and all its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub result: ExpectationResult,
    /// (head, lines) of each satisfying construct.
    pub cited: Vec<(LineNo, LineRange)>,
    /// For a failure: whether a construct the range cites fails on its own terms, so the
    /// evidence was weakened where it is rather than moved. Relocation must not look for such
    /// evidence elsewhere: a weakened guard would hide behind another one.
    pub in_place: InPlace,
}

/// How a failure relates to the constructs the range cites, least to most telling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum InPlace {
    /// Nothing cited fails: the evidence is not here, and may have moved.
    #[default]
    Absent,
    /// A cited construct fails, in a way other code shifted into the range could too (an `if`
    /// mentioning the name whose body goes on with other work).
    Cited,
    /// A cited construct fails in a shape weakening takes: a guard that only logs or returns
    /// nil, a TLS setting under a condition or too low, a call with other arguments, a route on
    /// another router, what a `not` forbids.
    Weakened,
}

/// A result whose matches are whole constructs cited by their first lines.
impl From<ExpectationResult> for Evidence {
    fn from(result: ExpectationResult) -> Self {
        let cited = result.matches.iter().map(|m| (m.start(), *m)).collect();
        Evidence {
            result,
            cited,
            in_place: InPlace::Absent,
        }
    }
}

impl Evidence {
    /// A success whose matches are the given constructs' lines, cited by their heads.
    fn pass_cited(
        kind: impl Into<CheckKind>,
        message: String,
        cited: Vec<(LineNo, LineRange)>,
    ) -> Self {
        let matches = cited.iter().map(|(_, lines)| *lines).collect();
        Evidence {
            result: ExpectationResult::pass(kind, message, matches),
            cited,
            in_place: InPlace::Absent,
        }
    }

    /// A failure of a construct the range cites, in a shape weakening takes.
    fn weakened(result: ExpectationResult) -> Self {
        Evidence {
            result,
            cited: Vec::new(),
            in_place: InPlace::Weakened,
        }
    }
}

impl ExpectationResult {
    fn pass(kind: impl Into<CheckKind>, message: String, matches: Vec<LineRange>) -> Self {
        ExpectationResult {
            kind: kind.into(),
            ok: true,
            message,
            matches,
            near_miss: None,
        }
    }

    /// A failure found without evaluating anything, such as evidence whose file was deleted.
    pub fn unchecked(kind: impl Into<CheckKind>, message: String) -> Self {
        Self::fail(kind, message, None)
    }

    fn fail(kind: impl Into<CheckKind>, message: String, near_miss: Option<LineNo>) -> Self {
        ExpectationResult {
            kind: kind.into(),
            ok: false,
            message,
            matches: Vec::new(),
            near_miss,
        }
    }

    /// A failure whose nearest near miss, at `line`, lies outside the range:
    /// `{missing}; nearest: line {line}{detail}, outside the range`.
    fn fail_elsewhere(
        kind: impl Into<CheckKind>,
        missing: String,
        line: LineNo,
        detail: &str,
    ) -> Self {
        Self::fail(
            kind,
            format!("{missing}; nearest: line {line}{detail}, outside the range"),
            Some(line),
        )
    }
}

/// How far a failing expectation looks for the near miss its message points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Anywhere in the file: what reports show.
    File,
    /// Only the range: for callers that only ask whether it holds and what matched (searching
    /// every declaration of a file for moved evidence), where a search of the whole file per
    /// failure would make the search quadratic. Whether it holds, and the matches and message
    /// of a success, are the same as with [`Scope::File`].
    Range,
}

/// Evaluates `expectation` on the constructs `range` cites: those whose head line (a call's
/// name, a guard's `if`, a TLS field, a token) lies inside it, each taken whole.
pub fn evaluate(expectation: &Expectation, file: &GoFile, range: LineRange) -> ExpectationResult {
    evaluate_scoped(expectation, file, range, Scope::File)
}

/// [`evaluate`], with failures looking for near misses only as far as `scope`.
pub fn evaluate_scoped(
    expectation: &Expectation,
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> ExpectationResult {
    evaluate_evidence(expectation, file, range, scope).result
}

/// [`evaluate_scoped`], with the head line of every match.
pub fn evaluate_evidence(
    expectation: &Expectation,
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> Evidence {
    match expectation {
        Expectation::Call(pattern) => call::evaluate(pattern, file, range, scope),
        Expectation::Routes(spec) => routes::evaluate(spec, file, range, scope),
        Expectation::FailClosed(spec) => fail_closed::evaluate(spec, file, range, scope),
        Expectation::Tls(spec) => tls::evaluate(spec, file, range),
        Expectation::String(value) => literal::evaluate_string(value, file, range, scope).into(),
        Expectation::Identifier(name) => {
            literal::evaluate_identifier(name, file, range, scope).into()
        }
        Expectation::Query(spec) => query::evaluate(spec, file, range).into(),
        Expectation::Text(needle) => text::evaluate_text(needle, file, range).into(),
        Expectation::Regex(pattern) => text::evaluate_regex(pattern, file, range).into(),
        Expectation::Not(inner) => combinators::evaluate_not(inner, file, range),
        Expectation::Any(inner) => combinators::evaluate_any(inner, file, range, scope),
        Expectation::All(inner) => combinators::evaluate_all(inner, file, range, scope),
    }
}

/// Whether `expectation`, holding at `range` of `file`, holds there only because what the
/// range cited where the ref was written (`was_range` of `was_file`, its `at`) was weakened in
/// a way that still passes on its own terms: a guard whose abort condition narrowed. The
/// failure is [`InPlace::Weakened`]: the code is where it was, and must not be looked for
/// elsewhere.
pub fn narrowed(
    expectation: &Expectation,
    was_file: &GoFile,
    was_range: LineRange,
    file: &GoFile,
    range: LineRange,
) -> Option<Evidence> {
    match expectation {
        Expectation::FailClosed(spec) => {
            fail_closed::narrowed(spec, was_file, was_range, file, range)
        }
        _ => None,
    }
}

/// True when `expectation` is compared with the code as it was where the ref was written
/// (see [`narrowed`]).
pub fn compares_with_at(expectation: &Expectation) -> bool {
    matches!(expectation, Expectation::FailClosed(_))
}

/// True when whether `expectation` holds at a range, and what it says when it does, is read
/// from the declarations the range overlaps alone, but for what the tree notes as asked
/// outside them ([`GoFile::asked_outside`]): a `call` (its callee, literal arguments and the
/// conditions around it, in its function) and a `fail_closed` (the guard, its branches and the
/// guards around it, in its function; a returned package-level variable is noted). Such
/// expectations may be checked on a tree of the cited declarations alone
/// ([`GoFile::parse_cited`]).
pub(crate) fn cited_declarations_answer(expectation: &Expectation) -> bool {
    matches!(
        expectation,
        Expectation::Call(_) | Expectation::FailClosed(_)
    )
}

/// `line 127` or `lines 201-248`, for messages.
fn lines_phrase(range: LineRange) -> String {
    if range.len() == 1 {
        format!("line {range}")
    } else {
        format!("lines {range}")
    }
}

/// The item whose line is nearest `range` (inside it counts as distance 0); earliest on ties.
fn nearest<T>(
    items: impl IntoIterator<Item = T>,
    range: LineRange,
    line_of: impl Fn(&T) -> LineNo,
) -> Option<T> {
    items.into_iter().min_by_key(|item| {
        let line = line_of(item);
        (range.distance(LineRange::single(line)), line)
    })
}

/// The item nearest `range` (by its `place`, earliest on ties) among the file's `facts` (its
/// cached whole-file scan of one kind) that `keep` accepts (those outside the range): where the
/// evidence likely went, for a failure's message. With [`Scope::Range`] there is none.
fn nearest_elsewhere<'f, T>(
    file: &'f GoFile,
    range: LineRange,
    scope: Scope,
    facts: impl FnOnce(&'f GoFile) -> &'f [T],
    keep: impl Fn(&T) -> bool,
    place: impl Fn(&T) -> LineRange,
) -> Option<&'f T> {
    if scope == Scope::Range {
        return None;
    }
    facts(file)
        .iter()
        .filter(|item| keep(item))
        .min_by_key(|item| {
            let lines = place(item);
            (range.distance(lines), lines.start())
        })
}

/// How many cited constructs of one expectation are placed under their conditions before the
/// first conditional one is reported: each costs a descent from the root, and a range holding
/// thousands of matching calls (hostile nesting) must stay linear.
const MAX_PLACED: usize = 32;

/// The first of `hits` (route registrations, calls) that runs whenever its function does, or
/// only under conditions that `when` all matches. Otherwise the first hit's first condition
/// that `when` does not match; `None` when there are no hits.
fn unconditional<'h, T>(
    hits: &[&'h T],
    when: Option<&regex::Regex>,
    conditions_of: impl Fn(&T) -> Vec<Condition>,
) -> Result<&'h T, Option<Condition>> {
    let mut first_failure = None;
    for hit in hits.iter().take(MAX_PLACED) {
        let found = conditions_of(hit);
        match unmatched(&found, when) {
            None => return Ok(hit),
            Some(condition) => {
                first_failure.get_or_insert_with(|| condition.clone());
            }
        }
    }
    Err(first_failure)
}

/// `when X` or `when X, which `when: RE` does not match`, for a construct found only under a
/// condition.
fn only_phrase(condition: &Condition, when: Option<&regex::Regex>) -> String {
    match when {
        Some(w) => format!(
            "{}, which `when: {}` does not match",
            condition.phrase,
            w.as_str()
        ),
        None => condition.phrase.clone(),
    }
}

/// ` (and N more)` when more than one thing matched, for success messages.
fn and_more(count: usize) -> String {
    if count > 1 {
        format!(" (and {} more)", count - 1)
    } else {
        String::new()
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::go::GoFile;
    use crate::lines::{LineNo, LineRange};

    pub fn go(source: &str) -> GoFile {
        GoFile::parse(source.as_bytes().to_vec()).unwrap()
    }

    pub fn lines(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    pub fn line(n: u32) -> LineNo {
        LineNo::new(n).unwrap()
    }

    /// The whole file as a range.
    pub fn all(file: &GoFile) -> LineRange {
        file.full_range().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{all, go};
    use super::{CheckKind, evaluate};
    use crate::anchors::ExpectationKind;
    use crate::anchors::{
        CallPattern, ClientAuth, Expectation, FailClosedSpec, RoutesSpec, TlsSpec,
    };

    /// Every kind on a 50,000-deep expression: walks must be iterative (no stack overflow). How
    /// long such inputs take is measured by `bench/hostile.sh`, not asserted here.
    #[test]
    fn deeply_nested_expressions_do_not_overflow_or_stall() {
        let depth = 50_000;
        let nested_calls = format!("{}\"/x\"{}", "f(".repeat(depth), ")".repeat(depth));
        let concatenation = vec!["\"a\""; depth].join(" + ");
        let src = format!(
            "package a\nfunc g() {{\n\tmux.HandleFunc({nested_calls}, h)\n\tlog.Print({concatenation})\n\tif {} {{\n\t\tpanic(1)\n\t}}\n}}\n",
            vec!["mtls"; depth].join(" && ")
        );
        let file = go(&src);
        let kinds = [
            Expectation::Call(CallPattern {
                name: "panic".into(),
                glob: None,
                args: None,
                when: None,
            }),
            Expectation::Routes(RoutesSpec {
                paths: vec!["/x".into()],
                on: None,
                methods: Vec::new(),
                exactly: false,
                when: None,
            }),
            Expectation::FailClosed(FailClosedSpec {
                when: regex::Regex::new("mtls").unwrap(),
                sinks: Vec::new(),
            }),
            Expectation::Tls(TlsSpec {
                client_auth: Some(ClientAuth::RequireAndVerifyClientCert),
                min_version: None,
                set: Vec::new(),
                when: None,
            }),
            Expectation::String("/x".into()),
            Expectation::Identifier("mtls".into()),
            Expectation::Text("panic(1)".into()),
        ];
        let results: Vec<bool> = kinds
            .iter()
            .map(|k| evaluate(k, &file, all(&file)).ok)
            .collect();
        assert_eq!(results, [true, false, true, false, true, true, true]);
    }

    /// The kinds are named once (`ExpectationKind`); this pins that each evaluator reports the
    /// kind it evaluates, so a result is never filed under another kind's name.
    #[test]
    fn every_kind_is_reported_under_its_own_name_by_its_evaluator() {
        let yaml = "version: 1\nclaims:\n  - id: c\n    status: required\n    refs:\n      - path: a.go\n        lines: 1\n        expect:\n          - call: f\n          - routes: { paths: [/x] }\n          - fail_closed: { when: x }\n          - tls: { min_version: \"1.3\" }\n          - string: s\n          - identifier: x\n          - query: \"(identifier) @i\"\n          - text: t\n          - regex: r\n          - not: { call: f }\n          - any: [{ call: f }]\n          - all: [{ call: f }]\n";
        let anchors = crate::anchors::parse(
            yaml,
            std::path::Path::new("anchors.yaml"),
            std::path::Path::new("anchors.yaml"),
        )
        .expect("every kind validates");
        let expectations = &anchors.claims[0].refs[0].expect;
        let kinds: Vec<ExpectationKind> = expectations.iter().map(|e| e.kind_of()).collect();
        assert_eq!(
            kinds,
            ExpectationKind::ALL,
            "the file names every kind, in order"
        );
        let file = go("package a\n\nfunc g(x int) { f(\"s\") }\n");
        for e in expectations {
            assert_eq!(
                evaluate(e, &file, all(&file)).kind,
                CheckKind::Expectation(e.kind_of()),
                "{e:?}"
            );
        }
        for &kind in ExpectationKind::ALL {
            assert_eq!(ExpectationKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(
            Expectation::KINDS.to_vec(),
            ExpectationKind::ALL
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
        );
    }
}
