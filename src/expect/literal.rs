//! `string` and `identifier`: a literal value or a name used in code.

use super::{ExpectationResult, Scope, and_more, lines_phrase, nearest_elsewhere};
use crate::anchors::ExpectationKind;
use crate::go::GoFile;
use crate::go::literals::string_literals;
use crate::go::tokens::{comments, identifiers};
use crate::lines::LineRange;

pub(super) fn evaluate_string(
    value: &str,
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> ExpectationResult {
    const KIND: ExpectationKind = ExpectationKind::String;
    let literals = string_literals(file, range);
    let hits: Vec<LineRange> = literals
        .iter()
        .filter(|s| s.value == value)
        .map(|s| s.lines)
        .collect();
    if let Some(first) = hits.first() {
        return ExpectationResult::pass(
            KIND,
            format!(
                "{value:?} at line {}{}",
                first.start(),
                and_more(hits.len())
            ),
            hits,
        );
    }
    let missing = format!("no string literal {value:?} in {}", lines_phrase(range));
    if let Some(partial) = literals.iter().find(|s| s.value.contains(value)) {
        let line = partial.lines.start();
        return ExpectationResult::fail(
            KIND,
            format!(
                "{missing}; nearest: line {line} has {:?}",
                abbreviate(&partial.value)
            ),
            Some(line),
        );
    }
    absent_from_code(KIND, file, range, value, missing, false, scope)
}

pub(super) fn evaluate_identifier(
    name: &str,
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> ExpectationResult {
    const KIND: ExpectationKind = ExpectationKind::Identifier;
    let found = identifiers(file, range);
    let hits: Vec<LineRange> = found
        .iter()
        .filter(|i| i.name == name)
        .map(|i| LineRange::single(i.line))
        .collect();
    if let Some(first) = hits.first() {
        return ExpectationResult::pass(
            KIND,
            format!("{name} at line {}{}", first.start(), and_more(hits.len())),
            hits,
        );
    }
    let missing = format!("identifier {name} is not used in {}", lines_phrase(range));
    let lower = name.to_ascii_lowercase();
    if let Some(similar) = found.iter().find(|i| {
        let other = i.name.to_ascii_lowercase();
        other.contains(&lower) || (lower.contains(&other) && other.len() > 2)
    }) {
        return ExpectationResult::fail(
            KIND,
            format!(
                "{missing}; nearest: line {} uses {}",
                similar.line, similar.name
            ),
            Some(similar.line),
        );
    }
    absent_from_code(KIND, file, range, name, missing, true, scope)
}

/// Explains a value missing from code: only in a comment, only in a string literal (for
/// identifiers), or present outside the range.
fn absent_from_code(
    kind: ExpectationKind,
    file: &GoFile,
    range: LineRange,
    needle: &str,
    missing: String,
    check_strings: bool,
    scope: Scope,
) -> ExpectationResult {
    if let Some(c) = comments(file, range)
        .iter()
        .find(|c| c.text.contains(needle))
    {
        let line = c.lines.start().max(range.start());
        return ExpectationResult::fail(
            kind,
            format!("{missing}; line {line}: it appears only in a comment"),
            Some(line),
        );
    }
    if check_strings
        && let Some(s) = string_literals(file, range)
            .iter()
            .find(|s| s.value.contains(needle))
    {
        let line = s.lines.start();
        return ExpectationResult::fail(
            kind,
            format!("{missing}; line {line}: it appears only inside a string literal"),
            Some(line),
        );
    }
    let single = LineRange::single;
    let outside = if check_strings {
        nearest_elsewhere(
            file,
            range,
            scope,
            GoFile::cached_identifiers,
            |i| i.name == needle && !range.contains_line(i.line),
            |i| single(i.line),
        )
        .map(|i| i.line)
    } else {
        nearest_elsewhere(
            file,
            range,
            scope,
            GoFile::cached_strings,
            |s| s.value == needle && !range.contains(s.lines),
            |s| single(s.lines.start()),
        )
        .map(|s| s.lines.start())
    };
    match outside {
        Some(line) => ExpectationResult::fail_elsewhere(kind, missing, line, ""),
        None => ExpectationResult::fail(kind, missing, None),
    }
}

fn abbreviate(text: &str) -> String {
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::evaluate;
    use super::super::test_support::{all, go, line};
    use crate::anchors::Expectation;

    #[test]
    fn string_escapes_are_decoded() {
        let file = go("package a\nvar a = \"line\\none\\t\\x41\\u00e9\"\nvar b = `C:\\raw`\n");
        let r = evaluate(
            &Expectation::String("line\none\tAé".into()),
            &file,
            all(&file),
        );
        assert!(r.ok, "{}", r.message);
        assert!(evaluate(&Expectation::String("C:\\raw".into()), &file, all(&file)).ok);
        assert!(!evaluate(&Expectation::String("line".into()), &file, all(&file)).ok);
    }

    #[test]
    fn string_only_in_a_comment_is_named() {
        let file = go("package a\n// X-Client-Cert\nvar a = 1\n");
        let r = evaluate(
            &Expectation::String("X-Client-Cert".into()),
            &file,
            all(&file),
        );
        assert!(!r.ok);
        assert!(
            r.message.ends_with("line 2: it appears only in a comment"),
            "{}",
            r.message
        );
        assert_eq!(r.near_miss, Some(line(2)));
    }

    #[test]
    fn identifier_in_code_matches_but_not_in_comments_or_strings() {
        let file = go(
            "package a\nfunc f() {\n\t// requireMTLS\n\tx := \"requireMTLS\"\n\t_ = cfg.MTLSRequired\n}\n",
        );
        let r = evaluate(
            &Expectation::Identifier("MTLSRequired".into()),
            &file,
            all(&file),
        );
        assert!(r.ok);
        assert_eq!(r.matches.len(), 1);
        let r = evaluate(
            &Expectation::Identifier("requireMTLS".into()),
            &file,
            all(&file),
        );
        assert!(!r.ok);
        assert!(
            r.message.contains("line 3: it appears only in a comment"),
            "{}",
            r.message
        );
        let only_string = go("package a\nvar x = \"requireMTLS\"\n");
        let r = evaluate(
            &Expectation::Identifier("requireMTLS".into()),
            &only_string,
            all(&only_string),
        );
        assert!(
            r.message
                .contains("line 2: it appears only inside a string literal"),
            "{}",
            r.message
        );
    }

    #[test]
    fn identifier_kinds_include_types_and_packages() {
        let file = go("package a\nfunc f() tls.Config { var l Listener; return l.cfg }\n");
        for name in ["tls", "Config", "Listener", "cfg", "l"] {
            assert!(
                evaluate(&Expectation::Identifier(name.into()), &file, all(&file)).ok,
                "{name}"
            );
        }
    }
}
