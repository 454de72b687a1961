//! `routes`: every path registered (on the named router, for the named methods), and with
//! `exactly`, nothing else.

use super::{
    Evidence, ExpectationResult, InPlace, Scope, lines_phrase, nearest_elsewhere, only_phrase,
    unconditional,
};
use crate::anchors::{ExpectationKind, RoutesSpec};
use crate::go::GoFile;
use crate::go::literals::string_literals;
use crate::go::routes::{RouteRegistration, registrations};
use crate::go::tokens::comments;
use crate::lines::LineRange;

const KIND: ExpectationKind = ExpectationKind::Routes;

pub(super) fn evaluate(
    spec: &RoutesSpec,
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> Evidence {
    let found = registrations(file, range);
    let on_router = |r: &RouteRegistration| spec.on.as_deref().is_none_or(|on| r.is_on(on));
    let mut matched = Vec::new();
    for path in &spec.paths {
        let hits: Vec<&RouteRegistration> = found
            .iter()
            .filter(|r| r.path == *path && on_router(r) && spec.methods.iter().all(|m| r.serves(m)))
            .collect();
        match unconditional(&hits, spec.when.as_ref(), |r| r.conditions(file)) {
            Ok(r) => matched.push(r),
            // Registered here, but only under a condition: weakened where it is.
            Err(Some(condition)) => {
                let line = hits.first().map_or(range.start(), |r| r.line());
                return Evidence::weakened(ExpectationResult::fail(
                    KIND,
                    format!(
                        "line {line}: {path} is registered only {}",
                        only_phrase(&condition, spec.when.as_ref())
                    ),
                    Some(line),
                ));
            }
            Err(None) => {
                let result = explain_missing(spec, path, found, file, range, scope);
                let mut evidence = Evidence::from(result);
                // The path is registered here, but on another router or for other methods.
                if found.iter().any(|r| r.path == *path) {
                    evidence.in_place = InPlace::Weakened;
                }
                return evidence;
            }
        }
    }
    let router = spec
        .on
        .as_deref()
        .map(|on| format!(" on {on}"))
        .unwrap_or_default();
    if spec.exactly
        && let Some(extra) = found
            .iter()
            .find(|r| on_router(r) && !spec.paths.contains(&r.path))
    {
        return Evidence::weakened(ExpectationResult::fail(
            KIND,
            format!(
                "line {}: {} is registered{router} but not listed (exactly: true)",
                extra.line(),
                extra.path
            ),
            Some(extra.line()),
        ));
    }
    let summary: Vec<String> = matched
        .iter()
        .map(|r| format!("{} at line {}", r.path, r.line()))
        .collect();
    Evidence::pass_cited(
        KIND,
        format!("registered{router}: {}", summary.join(", ")),
        matched.iter().map(|r| (r.head, r.lines)).collect(),
    )
}

/// Why `path` has no satisfying registration, pointing at the line most worth a look.
fn explain_missing(
    spec: &RoutesSpec,
    path: &str,
    found: &[RouteRegistration],
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> ExpectationResult {
    let same_path: Vec<&RouteRegistration> = found.iter().filter(|r| r.path == path).collect();
    if let Some(on) = spec.on.as_deref()
        && let Some(other) = same_path.iter().find(|r| !r.is_on(on))
    {
        return ExpectationResult::fail(
            KIND,
            format!(
                "line {}: {path} is registered on {}, not {on}",
                other.line(),
                short(&other.router)
            ),
            Some(other.line()),
        );
    }
    if let Some(r) = same_path.first() {
        let missing: Vec<&str> = spec
            .methods
            .iter()
            .filter(|m| !r.serves(m))
            .map(String::as_str)
            .collect();
        return ExpectationResult::fail(
            KIND,
            format!(
                "line {}: {path} is registered for {}, not {}",
                r.line(),
                r.methods.join(", "),
                missing.join(", ")
            ),
            Some(r.line()),
        );
    }
    if let Some(r) = found
        .iter()
        .find(|r| r.path != path && r.path.ends_with(path))
    {
        return ExpectationResult::fail(
            KIND,
            format!(
                "line {}: registers {} (prefixed), not {path}",
                r.line(),
                r.path
            ),
            Some(r.line()),
        );
    }
    if let Some(literal) = string_literals(file, range)
        .iter()
        .find(|s| s.value.contains(path))
    {
        let line = literal.lines.start();
        let context = literal
            .argument_of
            .as_deref()
            .map(|callee| format!(" passed to {callee}"))
            .unwrap_or_default();
        return ExpectationResult::fail(
            KIND,
            format!(
                "line {line}: {path} appears only in a string{context}, not in a route registration"
            ),
            Some(line),
        );
    }
    if let Some(comment) = comments(file, range).iter().find(|c| c.text.contains(path)) {
        let line = comment.lines.start().max(range.start());
        return ExpectationResult::fail(
            KIND,
            format!("line {line}: {path} appears only in a comment"),
            Some(line),
        );
    }
    let elsewhere = nearest_elsewhere(
        file,
        range,
        scope,
        GoFile::cached_registrations,
        |r| r.path == path && !range.contains_line(r.head),
        |r| LineRange::single(r.head),
    );
    let missing = format!(
        "no route registration for {path} in {}",
        lines_phrase(range)
    );
    match elsewhere {
        Some(r) => ExpectationResult::fail_elsewhere(KIND, missing, r.line(), ""),
        None => ExpectationResult::fail(KIND, missing, None),
    }
}

/// `publicMux` for `l.publicMux`: messages name routers the way people do.
fn short(router: &str) -> &str {
    router
        .rsplit_once('.')
        .map(|(_, last)| last)
        .unwrap_or(router)
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
