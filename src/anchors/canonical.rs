//! The canonical serialisation of what a ref asks: its expectations written out field by field
//! as JSON (object keys sorted, regexes and queries by their source), so two refs share a
//! result-cache entry exactly when they ask the same question.
//!
//! Written by hand rather than through `Debug`: a `Debug` derive changes with a field's name,
//! order or type and says nothing about what must stay stable. Every spec is destructured
//! without `..`, so a field added to the model does not compile until it is written here too.

use serde_json::{Value, json};

use super::model::{
    ArgPattern, CallPattern, ClientAuth, Expectation, FailClosedSpec, QuerySpec, RoutesSpec,
    TlsHook, TlsSpec, TlsVersion,
};

/// The expectations of a ref, canonically: a JSON array, one object per expectation keyed by
/// its kind.
pub fn expectations(expect: &[Expectation]) -> String {
    Value::Array(expect.iter().map(expectation).collect()).to_string()
}

fn expectation(e: &Expectation) -> Value {
    let body = match e {
        Expectation::Call(p) => call(p),
        Expectation::Routes(s) => routes(s),
        Expectation::FailClosed(s) => fail_closed(s),
        Expectation::Tls(s) => tls(s),
        Expectation::String(v) | Expectation::Identifier(v) | Expectation::Text(v) => json!(v),
        Expectation::Query(q) => query(q),
        Expectation::Regex(r) => json!(r.as_str()),
        Expectation::Not(inner) => expectation(inner),
        Expectation::Any(all) | Expectation::All(all) => {
            Value::Array(all.iter().map(expectation).collect())
        }
    };
    json!({ e.kind(): body })
}

fn when(regex: Option<&regex::Regex>) -> Value {
    json!(regex.map(regex::Regex::as_str))
}

fn call(p: &CallPattern) -> Value {
    // The glob is compiled from `name`: it asks nothing more.
    let CallPattern {
        name,
        glob: _,
        args,
        when: condition,
    } = p;
    let args: Option<Vec<Value>> = args.as_ref().map(|args| {
        args.iter()
            .map(|a| match a {
                ArgPattern::Any => json!({ "any": true }),
                ArgPattern::Literal(text) => json!({ "literal": text }),
            })
            .collect()
    });
    json!({ "name": name, "args": args, "when": when(condition.as_ref()) })
}

fn routes(s: &RoutesSpec) -> Value {
    let RoutesSpec {
        paths,
        on,
        methods,
        exactly,
        when: condition,
    } = s;
    json!({
        "paths": paths,
        "on": on,
        "methods": methods,
        "exactly": exactly,
        "when": when(condition.as_ref()),
    })
}

fn fail_closed(s: &FailClosedSpec) -> Value {
    let FailClosedSpec {
        when: condition,
        sinks,
    } = s;
    json!({ "when": condition.as_str(), "sinks": sinks })
}

fn tls(s: &TlsSpec) -> Value {
    let TlsSpec {
        client_auth,
        min_version,
        set,
        when: condition,
    } = s;
    json!({
        "client_auth": client_auth.map(ClientAuth::go_name),
        "min_version": min_version.map(TlsVersion::go_name),
        "set": set.iter().map(|h| TlsHook::key(*h)).collect::<Vec<_>>(),
        "when": when(condition.as_ref()),
    })
}

fn query(q: &QuerySpec) -> Value {
    let QuerySpec { query, min, max } = q;
    json!({ "pattern": query.source, "min": min, "max": max })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anchors::{ExpectationKind, parse};

    fn kinds_of(yaml_expect: &str) -> Vec<Expectation> {
        let yaml = format!(
            "version: 1\nclaims:\n  - id: c\n    status: required\n    refs:\n      - path: a.go\n        lines: 1\n        expect:\n{yaml_expect}"
        );
        parse(
            &yaml,
            std::path::Path::new("anchors.yaml"),
            std::path::Path::new("anchors.yaml"),
        )
        .unwrap_or_else(|e| panic!("{yaml_expect}: {e:?}"))
        .claims
        .remove(0)
        .refs
        .remove(0)
        .expect
    }

    /// One expectation of every kind with every field written, and for each field a variant
    /// that changes only it: each must key differently from the base and from every other.
    #[test]
    fn key_changes_when_any_field_of_an_expectation_changes() {
        let base = "
          - call: { name: f, args: [_, x], when: ok }
          - routes: { paths: [/a], on: r, methods: [GET], exactly: true, when: ok }
          - fail_closed: { when: err, sinks: [die] }
          - tls: { client_auth: require_and_verify, min_version: \"1.2\", verify_peer_certificate: set, when: ok }
          - string: s
          - identifier: i
          - query: { pattern: \"(identifier) @i\", min: 1, max: 2 }
          - text: t
          - regex: r
          - not: { call: g }
          - any: [{ call: g }]
          - all: [{ call: g }]
";
        let changes = [
            ("call: { name: f,", "call: { name: g,"),
            ("args: [_, x]", "args: [_, y]"),
            ("args: [_, x]", "args: [x, _]"),
            ("args: [_, x], when: ok", "when: ok"),
            (
                "name: f, args: [_, x], when: ok",
                "name: f, args: [_, x], when: ko",
            ),
            ("name: f, args: [_, x], when: ok", "name: f, args: [_, x]"),
            ("paths: [/a]", "paths: [/b]"),
            ("on: r,", "on: s,"),
            ("on: r, ", ""),
            ("methods: [GET]", "methods: [POST]"),
            ("exactly: true", "exactly: false"),
            ("exactly: true, when: ok", "exactly: true, when: ko"),
            ("fail_closed: { when: err", "fail_closed: { when: error"),
            ("sinks: [die]", "sinks: [fatal]"),
            ("client_auth: require_and_verify", "client_auth: request"),
            ("min_version: \"1.2\"", "min_version: \"1.3\""),
            ("verify_peer_certificate: set", "verify_connection: set"),
            (
                "verify_peer_certificate: set, when: ok",
                "verify_peer_certificate: set, when: ko",
            ),
            ("string: s", "string: t"),
            ("identifier: i", "identifier: j"),
            (
                "pattern: \"(identifier) @i\"",
                "pattern: \"(identifier) @j\"",
            ),
            ("min: 1", "min: 0"),
            ("max: 2", "max: 3"),
            ("text: t", "text: u"),
            ("regex: r", "regex: s"),
            ("not: { call: g }", "not: { call: h }"),
            ("any: [{ call: g }]", "any: [{ call: h }]"),
            ("any: [{ call: g }]", "any: [{ call: g }, { call: h }]"),
            ("all: [{ call: g }]", "all: [{ call: h }]"),
            ("all: [{ call: g }]", "any: [{ call: g }]"),
            ("string: s", "identifier: s"),
            ("text: t", "regex: t"),
        ];
        let base_expect = kinds_of(base);
        let covered: Vec<ExpectationKind> = base_expect.iter().map(|e| e.kind_of()).collect();
        assert_eq!(covered, ExpectationKind::ALL, "the base writes every kind");
        let mut keys = vec![expectations(&base_expect)];
        for (from, to) in changes {
            assert!(base.contains(from), "{from}");
            let changed = kinds_of(&base.replacen(from, to, 1));
            keys.push(expectations(&changed));
        }
        let distinct: std::collections::BTreeSet<&String> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "two keys are equal: {keys:#?}");
        // The same question asked twice keys the same.
        assert_eq!(keys[0], expectations(&kinds_of(base)));
    }
}
