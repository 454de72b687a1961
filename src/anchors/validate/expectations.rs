//! Expectations: each kind's value read into the model, the kind named by its key.

use std::sync::Arc;

use super::document::is_identifier;
use super::readers::{Lines, Validator, echoed, suggestion};
use crate::anchors::model::*;
use crate::anchors::node::{Node, NodeValue};
use crate::go::GoQuery;
use crate::go::routes::HTTP_METHODS;

pub(super) const CALL_KEYS: &[&str] = &["name", "args", "when"];
pub(super) const ROUTES_KEYS: &[&str] = &["paths", "on", "methods", "exactly", "when"];
pub(super) const FAIL_CLOSED_KEYS: &[&str] = &["when", "sinks"];
pub(super) const TLS_KEYS: &[&str] = &[
    "client_auth",
    "min_version",
    "verify_peer_certificate",
    "verify_connection",
    "client_cas",
    "get_config_for_client",
    "when",
];
pub(super) const QUERY_KEYS: &[&str] = &["pattern", "min", "max"];

/// A dotted call name: `fatal`, `s.die`, `log.Fatal`.
fn is_callee_name(s: &str) -> bool {
    s.split('.').all(is_identifier)
}

impl Validator<'_> {
    pub(super) fn expectation(&mut self, node: &Node) -> Option<Expectation> {
        let NodeValue::Map(entries) = &node.value else {
            let hint = match &node.value {
                NodeValue::Str(s) => format!(" (write `- text: {s}` or another kind)"),
                _ => String::new(),
            };
            self.problem(
                node.position,
                format!(
                    "an expectation is a one-key mapping such as `call: log.Fatal*`, found {}{hint}",
                    node.value.describe()
                ),
            );
            return None;
        };
        let Some((key, value)) = entries.first() else {
            self.problem(node.position, "an expectation must not be empty");
            return None;
        };
        let NodeValue::Str(kind) = &key.value else {
            self.problem(
                key.position,
                "an expectation's key must be its kind, such as `call`",
            );
            return None;
        };
        if let Some((extra, _)) = entries.get(1) {
            let extra_name = extra.scalar_text(self.source).unwrap_or_default();
            let message = if kind == ExpectationKind::Query.name()
                && QUERY_KEYS.contains(&extra_name.as_str())
            {
                format!(
                    "`{extra_name}` belongs inside the query: write `query: {{pattern: ..., {extra_name}: ...}}`"
                )
            } else {
                format!(
                    "an expectation has exactly one key; `{kind}` and `{extra_name}` must be separate list items"
                )
            };
            self.problem(extra.position, message);
            return None;
        }
        let Some(known) = ExpectationKind::from_name(kind) else {
            let hint = suggestion(kind, Expectation::KINDS);
            self.problem(
                key.position,
                format!("unknown expectation {}{hint}", echoed(kind)),
            );
            return None;
        };
        match known {
            ExpectationKind::Call => self.call(value).map(Expectation::Call),
            ExpectationKind::Routes => self.routes(value).map(Expectation::Routes),
            ExpectationKind::FailClosed => self.fail_closed(value).map(Expectation::FailClosed),
            ExpectationKind::Tls => self.tls(value).map(Expectation::Tls),
            ExpectationKind::String => self.text(value, kind).map(|l| Expectation::String(l.value)),
            ExpectationKind::Identifier => {
                let name = self.non_empty_text(value, kind)?;
                Some(Expectation::Identifier(name.value))
            }
            ExpectationKind::Query => self.query(value).map(Expectation::Query),
            ExpectationKind::Text => self
                .non_empty_text(value, kind)
                .map(|l| Expectation::Text(l.value)),
            ExpectationKind::Regex => self.regex(value, kind).map(Expectation::Regex),
            ExpectationKind::Not => self
                .expectation(value)
                .map(|e| Expectation::Not(Box::new(e))),
            ExpectationKind::Any | ExpectationKind::All => {
                let items = self.sequence(value, kind)?;
                if items.is_empty() {
                    self.problem(
                        value.position,
                        format!("`{kind}` needs at least one expectation"),
                    );
                    return None;
                }
                let inner: Vec<Option<Expectation>> =
                    items.iter().map(|i| self.expectation(i)).collect();
                let inner: Option<Vec<Expectation>> = inner.into_iter().collect();
                let inner = inner?;
                Some(if known == ExpectationKind::Any {
                    Expectation::Any(inner)
                } else {
                    Expectation::All(inner)
                })
            }
        }
    }

    fn call(&mut self, node: &Node) -> Option<CallPattern> {
        let mut when = None;
        let (name, args) = if let NodeValue::Map(_) = node.value {
            let fields = self.mapping(node, "`call`", CALL_KEYS)?;
            let name = self.require(&fields, "name", "`call`")?;
            let name = self.non_empty_text(name, "name")?;
            if let Some(w) = fields.get("when") {
                when = Some(self.regex(w, "when")?);
            }
            let args = match fields.get("args") {
                None => None,
                Some(args) => {
                    let items = self.sequence(args, "args")?;
                    let mut patterns = Vec::new();
                    for item in items {
                        let text = self.text(item, "args")?;
                        patterns.push(if text.value == "_" {
                            ArgPattern::Any
                        } else {
                            ArgPattern::Literal(text.value)
                        });
                    }
                    Some(patterns)
                }
            };
            (name, args)
        } else {
            (
                self.non_empty_text(node, ExpectationKind::Call.name())?,
                None,
            )
        };
        let glob = if name.value.contains(['*', '?', '[']) {
            match globset::GlobBuilder::new(&name.value)
                .literal_separator(false)
                .build()
            {
                Ok(g) => Some(g.compile_matcher()),
                Err(e) => {
                    self.problem(
                        name.position,
                        format!("invalid glob `{}`: {}", name.value, e.kind()),
                    );
                    return None;
                }
            }
        } else {
            None
        };
        Some(CallPattern {
            name: name.value,
            glob,
            args,
            when,
        })
    }

    fn fail_closed(&mut self, node: &Node) -> Option<FailClosedSpec> {
        let fields = self.mapping(node, "`fail_closed`", FAIL_CLOSED_KEYS)?;
        let when = self.require(&fields, "when", "`fail_closed`");
        let when = when.and_then(|w| self.regex(w, "when"));
        let mut sinks = Vec::new();
        let mut ok = true;
        if let Some(items) = fields.get("sinks").and_then(|n| self.sequence(n, "sinks")) {
            for item in items {
                match self.non_empty_text(item, "sinks") {
                    Some(name) if is_callee_name(&name.value) => sinks.push(name.value),
                    Some(name) => {
                        self.problem(
                            item.position,
                            format!(
                                "sink `{}` is not a function name such as `fatal` or `s.die`",
                                name.value
                            ),
                        );
                        ok = false;
                    }
                    None => ok = false,
                }
            }
        }
        Some(FailClosedSpec { when: when?, sinks }).filter(|_| ok)
    }

    fn routes(&mut self, node: &Node) -> Option<RoutesSpec> {
        let fields = self.mapping(node, "`routes`", ROUTES_KEYS)?;
        let mut paths = Vec::new();
        let mut ok = true;
        if let Some(list) = self.require(&fields, "paths", "`routes`")
            && let Some(items) = self.sequence(list, "paths")
        {
            if items.is_empty() {
                self.problem(list.position, "`paths` needs at least one path");
                ok = false;
            }
            for item in items {
                let Some(path) = self.non_empty_text(item, "paths") else {
                    ok = false;
                    continue;
                };
                if !path.value.starts_with('/') {
                    self.problem(
                        item.position,
                        format!(
                            "route path `{}` must start with `/` (put HTTP methods under `methods`)",
                            path.value
                        ),
                    );
                    ok = false;
                    continue;
                }
                paths.push(path.value);
            }
        } else {
            ok = false;
        }
        let on = fields
            .get("on")
            .and_then(|n| self.non_empty_text(n, "on"))
            .map(|l| l.value);
        let mut methods = Vec::new();
        if let Some(items) = fields
            .get("methods")
            .and_then(|n| self.sequence(n, "methods"))
        {
            for item in items {
                let Some(m) = self.non_empty_text(item, "methods") else {
                    ok = false;
                    continue;
                };
                let upper = m.value.to_ascii_uppercase();
                if HTTP_METHODS.contains(&upper.as_str()) {
                    methods.push(upper);
                } else {
                    let hint = suggestion(&upper, &HTTP_METHODS);
                    self.problem(
                        item.position,
                        format!("unknown HTTP method {}{hint}", echoed(&m.value)),
                    );
                    ok = false;
                }
            }
        }
        let exactly = match fields.get("exactly") {
            Some(n) => self.boolean(n, "exactly")?,
            None => false,
        };
        let when = match fields.get("when") {
            Some(n) => Some(self.regex(n, "when")?),
            None => None,
        };
        ok.then_some(RoutesSpec {
            paths,
            on,
            methods,
            exactly,
            when,
        })
    }

    fn tls(&mut self, node: &Node) -> Option<TlsSpec> {
        let fields = self.mapping(node, "`tls`", TLS_KEYS)?;
        let mut spec = TlsSpec {
            client_auth: None,
            min_version: None,
            set: Vec::new(),
            when: None,
        };
        let mut ok = true;
        if let Some(n) = fields.get("client_auth") {
            let text = self.non_empty_text(n, "client_auth")?;
            match ClientAuth::parse(&text.value) {
                Some(mode) => spec.client_auth = Some(mode),
                None => {
                    let names: Vec<&str> = ClientAuth::ALL.iter().map(|c| c.key()).collect();
                    let hint = suggestion(&text.value, &names);
                    self.problem(
                        n.position,
                        format!("unknown client_auth {}{hint}", echoed(&text.value)),
                    );
                    ok = false;
                }
            }
        }
        if let Some(n) = fields.get("min_version") {
            let text = self.non_empty_text(n, "min_version")?;
            match TlsVersion::parse(&text.value) {
                Some(v) => spec.min_version = Some(v),
                None => {
                    self.problem(
                        n.position,
                        format!(
                            "unknown min_version `{}`; expected one of {}",
                            text.value,
                            TlsVersion::ALL
                                .iter()
                                .map(|v| format!("`{}`", v.as_str()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    ok = false;
                }
            }
        }
        for &hook in TlsHook::ALL {
            let key = hook.key();
            let Some(n) = fields.get(key) else {
                continue;
            };
            let text = self.non_empty_text(n, key)?;
            if text.value == TlsHook::SET {
                spec.set.push(hook);
            } else {
                self.problem(
                    n.position,
                    format!(
                        "`{key}` takes `{}` (the field is set, not nil, on every path), found `{}`",
                        TlsHook::SET,
                        text.value
                    ),
                );
                ok = false;
            }
        }
        if let Some(n) = fields.get("when") {
            match self.regex(n, "when") {
                Some(re) => spec.when = Some(re),
                None => ok = false,
            }
        }
        if ok && spec.client_auth.is_none() && spec.min_version.is_none() && spec.set.is_empty() {
            self.problem(
                fields.position,
                "`tls` needs `client_auth`, `min_version`, or a field that must be `set` (`verify_peer_certificate`, `verify_connection`, `client_cas`, `get_config_for_client`)",
            );
            ok = false;
        }
        ok.then_some(spec)
    }

    fn query(&mut self, node: &Node) -> Option<QuerySpec> {
        let (pattern_node, min, max) = if let NodeValue::Map(_) = node.value {
            let fields = self.mapping(node, "`query`", QUERY_KEYS)?;
            let pattern = self.require(&fields, "pattern", "`query`")?;
            let min = match fields.get("min") {
                Some(n) => self.count(n, "min")?,
                None => 1,
            };
            let max = match fields.get("max") {
                Some(n) => Some(self.count(n, "max")?),
                None => None,
            };
            if let Some(max) = max
                && max < min
            {
                self.problem(
                    fields.position,
                    format!("`max` ({max}) is less than `min` ({min})"),
                );
                return None;
            }
            (pattern, min, max)
        } else {
            (node, 1, None)
        };
        let pattern =
            self.non_empty_text_lines(pattern_node, ExpectationKind::Query.name(), Lines::Many)?;
        match GoQuery::compile(&pattern.value) {
            Ok(query) => Some(QuerySpec {
                query: Arc::new(query),
                min,
                max,
            }),
            Err(e) => {
                let position = self.position_inside(pattern_node, &pattern.value, e.row, e.column);
                self.problem(
                    position,
                    format!("tree-sitter query does not compile: {}", e.message),
                );
                None
            }
        }
    }
}
