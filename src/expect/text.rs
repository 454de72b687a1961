//! `text` and `regex`: the range's source with comments blanked out.

use super::{ExpectationResult, and_more, lines_phrase};
use crate::anchors::ExpectationKind;
use crate::go::GoFile;
use crate::go::tokens::{CodeText, code_text, comments};
use crate::lines::{LineNo, LineRange};

pub(super) fn evaluate_text(needle: &str, file: &GoFile, range: LineRange) -> ExpectationResult {
    const KIND: ExpectationKind = ExpectationKind::Text;
    let code = code_text(file, range);
    if !crate::budget::charge(code.text.len() as u64) {
        return unbudgeted(KIND);
    }
    let hits: Vec<LineRange> = code
        .text
        .match_indices(needle)
        .map(|(at, found)| span_lines(&code, at, found.len()))
        .collect();
    if let Some(first) = hits.first() {
        return ExpectationResult::pass(
            KIND,
            format!(
                "{needle:?} at line {}{}",
                first.start(),
                and_more(hits.len())
            ),
            hits,
        );
    }
    let missing = format!(
        "{needle:?} does not appear in the code of {}",
        lines_phrase(range)
    );
    let (message, near) = explain(
        file,
        range,
        missing,
        |t| t.contains(needle),
        |t| t.to_lowercase().contains(&needle.to_lowercase()),
    );
    ExpectationResult::fail(KIND, message, near)
}

/// The most matching work one `regex` evaluation may take: the bytes of text times the bytes
/// of the pattern's NFA. The regex crate matches in linear time, but the constant is the NFA:
/// `(?s)(?:.{0,100}a){10}ZZZ` (289 KB) took 28 s over 2.2 MB. Counting it this way is the same
/// on every machine; `(?i)\w+` over a whole 8 MiB file still fits.
pub const REGEX_WORK_LIMIT: u64 = 160_000_000_000;

pub(super) fn evaluate_regex(
    pattern: &regex::Regex,
    file: &GoFile,
    range: LineRange,
) -> ExpectationResult {
    const KIND: ExpectationKind = ExpectationKind::Regex;
    let code = code_text(file, range);
    let nfa = crate::anchors::regex_nfa_bytes(pattern.as_str()).unwrap_or(0) as u64;
    let work = nfa.saturating_mul(code.text.len() as u64);
    if work > REGEX_WORK_LIMIT {
        return ExpectationResult::fail(
            KIND,
            format!(
                "/{}/ was not run: its {nfa}-byte automaton over the {} bytes of {} exceeds the matching budget ({REGEX_WORK_LIMIT} byte-steps); narrow the range or simplify the pattern",
                pattern.as_str(),
                code.text.len(),
                lines_phrase(range)
            ),
            None,
        );
    }
    if !crate::budget::charge(work / crate::budget::REGEX_BYTES_PER_STEP) {
        return unbudgeted(KIND);
    }
    let hits: Vec<LineRange> = pattern
        .find_iter(&code.text)
        .map(|m| span_lines(&code, m.start(), m.len()))
        .collect();
    if let Some(first) = hits.first() {
        return ExpectationResult::pass(
            KIND,
            format!(
                "/{}/ at line {}{}",
                pattern.as_str(),
                first.start(),
                and_more(hits.len())
            ),
            hits,
        );
    }
    let missing = format!(
        "nothing in the code of {} matches /{}/",
        lines_phrase(range),
        pattern.as_str()
    );
    let (message, near) = explain(file, range, missing, |t| pattern.is_match(t), |_| false);
    ExpectationResult::fail(KIND, message, near)
}

/// The result of a scan the run's work budget refused: a failure, and the ref is cut short.
fn unbudgeted(kind: ExpectationKind) -> ExpectationResult {
    ExpectationResult::fail(
        kind,
        "not run: the work budget is exhausted".to_string(),
        None,
    )
}

/// The lines a match of `len` bytes at `at` covers.
fn span_lines(code: &CodeText, at: usize, len: usize) -> LineRange {
    let start = code.line_at(at);
    let end = code.line_at(at + len.saturating_sub(1));
    LineRange::new(start, end).unwrap_or(LineRange::single(start))
}

/// Points at a comment holding the text, or a line holding it in another case.
fn explain(
    file: &GoFile,
    range: LineRange,
    missing: String,
    exact: impl Fn(&str) -> bool,
    loose: impl Fn(&str) -> bool,
) -> (String, Option<LineNo>) {
    if let Some(c) = comments(file, range).iter().find(|c| exact(&c.text)) {
        let line = c.lines.start().max(range.start());
        return (
            format!("{missing}; line {line}: it appears only in a comment"),
            Some(line),
        );
    }
    let code = code_text(file, range);
    for (offset, line_text) in code.text.split_inclusive('\n').scan(0, |at, l| {
        let start = *at;
        *at += l.len();
        Some((start, l))
    }) {
        if loose(line_text) {
            let line = code.line_at(offset);
            return (
                format!("{missing}; nearest: line {line}, with different case"),
                Some(line),
            );
        }
    }
    (missing, None)
}

#[cfg(test)]
mod tests {
    use super::super::evaluate;
    use super::super::test_support::{all, go, line, lines};
    use crate::anchors::Expectation;

    const SRC: &str = "package a\nfunc f() {\n\t// ClientAuth: tls.RequireAndVerifyClientCert\n\tserve(/* mtls */ x)\n\tcfg.MTLS = true\n}\n";

    #[test]
    fn text_ignores_comments() {
        let file = go(SRC);
        let r = evaluate(
            &Expectation::Text("RequireAndVerifyClientCert".into()),
            &file,
            all(&file),
        );
        assert!(!r.ok);
        assert!(
            r.message.ends_with("line 3: it appears only in a comment"),
            "{}",
            r.message
        );
        assert!(!evaluate(&Expectation::Text("mtls".into()), &file, all(&file)).ok);
        let r = evaluate(&Expectation::Text("MTLS = true".into()), &file, all(&file));
        assert!(r.ok);
        assert_eq!(r.matches, vec![lines(5, 5)]);
    }

    #[test]
    fn regex_ignores_comments_and_reports_lines() {
        let file = go(SRC);
        let found = Expectation::Regex(regex::Regex::new(r"serve\(\s+x\)").unwrap());
        let r = evaluate(&found, &file, all(&file));
        assert!(r.ok, "{}", r.message);
        assert_eq!(r.matches, vec![lines(4, 4)]);
        let in_comment = Expectation::Regex(regex::Regex::new("Require\\w+").unwrap());
        let r = evaluate(&in_comment, &file, all(&file));
        assert!(!r.ok);
        assert_eq!(r.near_miss, Some(line(3)));
    }

    #[test]
    fn multi_line_match_spans_its_lines() {
        let file = go(SRC);
        let r = evaluate(
            &Expectation::Regex(regex::Regex::new(r"x\)\n\s*cfg").unwrap()),
            &file,
            all(&file),
        );
        assert_eq!(r.matches, vec![lines(4, 5)]);
    }

    /// Issue 17: `(?s)(?:.{0,100}a){10}ZZZ` over 2.2 MB took 28 s per ref.
    #[test]
    fn a_regex_too_costly_for_its_range_is_not_run() {
        let body = format!("// {}\n", "b".repeat(97)).repeat(22_000);
        let file = go(&format!("package a\n{body}var x = 1\n"));
        let costly = regex::Regex::new("(?s)(?:.{0,100}a){10}ZZZ").unwrap();
        let started = std::time::Instant::now();
        let r = evaluate(&Expectation::Regex(costly), &file, all(&file));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(!r.ok);
        assert!(r.message.contains("was not run"), "{}", r.message);
        // An ordinary pattern over the same range runs.
        let plain = regex::Regex::new(r"var x = \d").unwrap();
        assert!(evaluate(&Expectation::Regex(plain), &file, all(&file)).ok);
    }
}
