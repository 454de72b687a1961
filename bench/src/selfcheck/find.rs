//! Finds, in real Go files, the constructs a documentation page cites (calls, fail-closed
//! guards, TLS settings, route registrations) and writes the citations a careful author would:
//! the head line alone, the whole construct, the whole enclosing function, with and without
//! `symbol`.
//!
//! Deliberately independent of anchorcheck's own matchers: it walks tree-sitter trees with its
//! own small rules, taken from the README's definitions, so a disagreement between the two is
//! a bug in one of them rather than the same bug twice.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use tree_sitter::{Node, Parser};

/// What was cited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Call,
    Guard,
    Tls,
    Route,
    /// A TLS setting applied only under a condition: cited to check it is *not* accepted.
    ConditionalTls,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Guard => "fail_closed",
            Kind::Tls => "tls",
            Kind::Route => "routes",
            Kind::ConditionalTls => "tls (conditional)",
        }
    }
}

/// How much a citation covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Form {
    /// The construct's head line: a call's name, a guard's `if`, a TLS field.
    Head,
    /// Every line of the construct.
    Construct,
    /// The whole enclosing top-level function.
    Function,
}

impl Form {
    pub fn name(self) -> &'static str {
        match self {
            Form::Head => "head line",
            Form::Construct => "whole construct",
            Form::Function => "whole function",
        }
    }
}

/// One generated ref.
#[derive(Clone, Debug)]
pub struct Citation {
    pub kind: Kind,
    pub form: Form,
    pub path: String,
    pub lines: (u32, u32),
    pub symbol: Option<String>,
    /// One expectation in YAML flow style: `{call: mu.Lock}`.
    pub expect: String,
}

/// A construct found, before choosing how to cite it.
struct Found {
    kind: Kind,
    head: u32,
    lines: (u32, u32),
    /// May it be cited by its whole function (no other construct there contradicts it)?
    whole_function_ok: bool,
    /// And by its whole lines?
    whole_construct_ok: bool,
    expect: String,
}

/// The enclosing top-level declaration: its symbol spellings and lines.
#[derive(Clone)]
struct Declaration {
    symbols: Vec<String>,
    lines: (u32, u32),
}

/// Every citation of each file, in the files' order, parsed in parallel: one list per file.
/// The ordinal that cycles the forms is seeded per file, so runs are deterministic.
pub fn citations_of_files(files: &[(String, Vec<u8>)]) -> Vec<Vec<Citation>> {
    use rayon::prelude::*;
    files
        .par_iter()
        .map_init(
            || {
                let mut parser = Parser::new();
                parser
                    .set_language(&tree_sitter_go::LANGUAGE.into())
                    .expect("Go grammar");
                parser
            },
            |parser, (path, source)| {
                let mut ordinal = path.bytes().map(usize::from).sum::<usize>();
                citations(path, source, parser, &mut ordinal)
            },
        )
        .collect()
}

/// Every citable construct of one file, with the citations to make of each: `ordinal` counts
/// constructs across files so the forms cycle evenly.
pub fn citations(
    path: &str,
    source: &[u8],
    parser: &mut Parser,
    ordinal: &mut usize,
) -> Vec<Citation> {
    let Some(tree) = parser.parse(source, None) else {
        return Vec::new();
    };
    let root = tree.root_node();
    if root.has_error() {
        // Not trusted: tree-sitter's recovery may differ from what Go means.
        return Vec::new();
    }
    let file = File { source };
    let mut out = Vec::new();
    let mut cursor = root.walk();
    for top in root.named_children(&mut cursor) {
        let declaration = file.declaration(top);
        let mut found = Vec::new();
        for node in descendants(top) {
            match node.kind() {
                "call_expression" => {
                    found.extend(file.call(node, *ordinal + found.len()));
                    found.extend(file.route(node, top));
                }
                "if_statement" => found.extend(file.guard(node, top)),
                "composite_literal" => found.extend(file.tls_literal(node, top)),
                "assignment_statement" => found.extend(file.tls_assignment(node, top)),
                _ => {}
            }
        }
        for f in found {
            *ordinal += 1;
            out.extend(cite(path, f, declaration.as_ref(), *ordinal));
        }
    }
    out
}

/// Chooses the citation of one construct, cycling through forms and symbol spellings.
fn cite(
    path: &str,
    f: Found,
    declaration: Option<&Declaration>,
    ordinal: usize,
) -> Option<Citation> {
    let head = (f.head, f.head);
    let symbol_of = |d: &Declaration| d.symbols[ordinal / 5 % d.symbols.len()].clone();
    let (form, lines, symbol) = if f.kind == Kind::ConditionalTls {
        (Form::Head, head, None)
    } else {
        match (ordinal % 5, declaration) {
            (1, Some(d)) => (Form::Head, head, Some(symbol_of(d))),
            (2, _) if f.whole_construct_ok => (Form::Construct, f.lines, None),
            (3, Some(d)) if f.whole_function_ok => (Form::Function, d.lines, Some(symbol_of(d))),
            (4, Some(d)) if f.whole_function_ok => (Form::Function, d.lines, None),
            _ => (Form::Head, head, None),
        }
    };
    Some(Citation {
        kind: f.kind,
        form,
        path: path.to_string(),
        lines,
        symbol,
        expect: f.expect,
    })
}

struct File<'s> {
    source: &'s [u8],
}

/// 1-based first line of a node.
fn line(node: Node<'_>) -> u32 {
    node.start_position().row as u32 + 1
}

/// 1-based lines of a node (one ending at column 0 ends on the line before).
fn lines(node: Node<'_>) -> (u32, u32) {
    let end = node.end_position();
    let end_row = if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    };
    (line(node), end_row as u32 + 1)
}

/// Pre-order walk with a cursor.
fn descendants(root: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut cursor = root.walk();
    let mut depth = 0usize;
    loop {
        out.push(cursor.node());
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if depth == 0 {
                return out;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
            depth -= 1;
        }
    }
}

fn named(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|n| n.kind() != "comment")
        .collect()
}

/// The statements of a block.
fn statements(block: Node<'_>) -> Vec<Node<'_>> {
    named(block)
        .into_iter()
        .find(|n| n.kind() == "statement_list")
        .map(named)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.kind() != "empty_statement")
        .collect()
}

fn is_function(node: Node<'_>) -> bool {
    matches!(
        node.kind(),
        "function_declaration" | "method_declaration" | "func_literal"
    )
}

/// A regex matching exactly `text`.
fn exact_regex(text: &str) -> String {
    let mut out = String::from("^");
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

/// A YAML single-quoted scalar.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

const TLS_VERSIONS: [(&str, &str); 4] = [
    ("tls.VersionTLS10", "1.0"),
    ("tls.VersionTLS11", "1.1"),
    ("tls.VersionTLS12", "1.2"),
    ("tls.VersionTLS13", "1.3"),
];

const CLIENT_AUTH: [(&str, &str); 5] = [
    ("tls.NoClientCert", "no_client_cert"),
    ("tls.RequestClientCert", "request"),
    ("tls.RequireAnyClientCert", "require_any"),
    ("tls.VerifyClientCertIfGiven", "verify_if_given"),
    ("tls.RequireAndVerifyClientCert", "require_and_verify"),
];

impl<'s> File<'s> {
    fn text(&self, node: Node<'_>) -> &'s str {
        std::str::from_utf8(&self.source[node.byte_range()]).unwrap_or("")
    }

    fn compact(&self, node: Node<'_>) -> String {
        self.text(node)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    }

    fn declaration(&self, top: Node<'_>) -> Option<Declaration> {
        let name = self.text(top.child_by_field_name("name")?);
        let symbols = match top.kind() {
            "function_declaration" => vec![name.to_string()],
            "method_declaration" => {
                let receiver = named(top.child_by_field_name("receiver")?)
                    .into_iter()
                    .find(|n| n.kind() == "parameter_declaration")?;
                let mut ty = receiver.child_by_field_name("type")?;
                let mut pointer = false;
                loop {
                    match ty.kind() {
                        "pointer_type" => {
                            pointer = true;
                            ty = ty.named_child(0)?;
                        }
                        "generic_type" => ty = ty.child_by_field_name("type")?,
                        "parenthesized_type" => ty = ty.named_child(0)?,
                        _ => break,
                    }
                }
                let ty = self.text(ty);
                // Both spellings name a method whatever its receiver (README).
                let mut forms = vec![format!("{ty}.{name}")];
                if pointer {
                    forms.push(format!("(*{ty}).{name}"));
                }
                forms
            }
            _ => return None,
        };
        Some(Declaration {
            symbols,
            lines: lines(top),
        })
    }

    /// A plain callee: identifiers joined by dots (`g.mu.Lock`), and the line of its name.
    fn callee(&self, call: Node<'_>) -> Option<(String, u32)> {
        let function = call.child_by_field_name("function")?;
        let mut parts = Vec::new();
        let mut node = function;
        let head = loop {
            match node.kind() {
                "identifier" => {
                    parts.push(self.text(node));
                    break parts.len() == 1;
                }
                "selector_expression" => {
                    parts.push(self.text(node.child_by_field_name("field")?));
                    node = node.child_by_field_name("operand")?;
                }
                _ => return None,
            }
        };
        let name_node = if head {
            function
        } else {
            function.child_by_field_name("field")?
        };
        parts.reverse();
        Some((parts.join("."), line(name_node)))
    }

    fn call(&self, call: Node<'_>, ordinal: usize) -> Option<Found> {
        // A call made only under a condition needs `when` (README); only calls that run
        // whenever their function does are cited.
        if conditional(call) {
            return None;
        }
        let (callee, head) = self.callee(call)?;
        let segments: Vec<&str> = callee.split('.').collect();
        // The spellings people use: the whole callee, its last two segments, its last one.
        let name = match ordinal % 3 {
            0 => callee.clone(),
            1 if segments.len() > 2 => segments[segments.len() - 2..].join("."),
            _ => segments[segments.len() - 1].to_string(),
        };
        Some(Found {
            kind: Kind::Call,
            head,
            lines: lines(call),
            whole_function_ok: true,
            whole_construct_ok: true,
            expect: format!("{{call: {}}}", quote(&name)),
        })
    }

    /// `X.Handle("/p", h)`, `X.HandleFunc("GET /p", h)`, `X.GET("/p", h)`, `X.Get("/p", h)` on
    /// a router with no prefix anywhere in the function.
    fn route(&self, call: Node<'_>, top: Node<'_>) -> Option<Found> {
        if conditional(call) {
            return None;
        }
        let function = call.child_by_field_name("function")?;
        if function.kind() != "selector_expression" {
            return None;
        }
        let method = self.text(function.child_by_field_name("field")?);
        let operand = function.child_by_field_name("operand")?;
        if !matches!(operand.kind(), "identifier" | "selector_expression")
            || self.text(operand).contains('(')
        {
            return None;
        }
        let args = named(call.child_by_field_name("arguments")?);
        if args.len() < 2 {
            return None;
        }
        let first = args[0];
        let value = match first.kind() {
            "interpreted_string_literal" => {
                let t = self.text(first);
                let body = &t[1..t.len() - 1];
                if body.contains('\\') {
                    return None;
                }
                body.to_string()
            }
            _ => return None,
        };
        let path = match method {
            "Handle" | "HandleFunc" => {
                // Go 1.22 `[METHOD ][HOST]/PATH`.
                let rest = match value.split_once(' ') {
                    Some((m, rest)) if !m.contains('/') => rest.trim_start(),
                    _ => value.as_str(),
                };
                let slash = rest.find('/')?;
                if slash != 0 {
                    return None;
                }
                rest.to_string()
            }
            "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "Get" | "Post" | "Put" | "Delete"
            | "Patch"
                if value.starts_with('/') =>
            {
                value
            }
            _ => return None,
        };
        let scope = self.text(top);
        let prefixed = [
            "Group(",
            "PathPrefix(",
            "Route(",
            "Subrouter(",
            "Mount(",
            "With(",
        ]
        .iter()
        .any(|p| scope.contains(p));
        if prefixed {
            return None;
        }
        let (_, head) = (method, line(function.child_by_field_name("field")?));
        Some(Found {
            kind: Kind::Route,
            head,
            lines: lines(call),
            whole_function_ok: true,
            whole_construct_ok: true,
            expect: format!("{{routes: {{paths: [{}]}}}}", quote(&path)),
        })
    }

    /// An `if` one of whose top-level branch statements ends it (README's rules), cited with
    /// `when` naming the most specific thing its condition mentions.
    fn guard(&self, node: Node<'_>, top: Node<'_>) -> Option<Found> {
        if !self.is_closed(node)? {
            return None;
        }
        let mentions = self.mentions(node);
        let boring = ["err", "nil", "ok", "true", "false"];
        let pick = mentions
            .iter()
            .find(|(m, kind)| *kind == "call" && !m.is_empty() && !boring.contains(&m.as_str()))
            .or_else(|| mentions.iter().find(|(_, kind)| *kind == "selector"))
            .or_else(|| mentions.iter().find(|(m, _)| !boring.contains(&m.as_str())))
            .or_else(|| mentions.first())?
            .0
            .clone();
        let when = exact_regex(&pick);
        // Every guard a wider citation holds that mentions the same thing must be closed too,
        // or the claim is rightly broken there.
        // Case guards of tagless switches and selects are judged by anchorcheck too; a wider
        // citation holding one is left out rather than judged here.
        let holds_in = |region: Node<'_>| {
            let cases = descendants(region).into_iter().any(|n| {
                n.kind() == "select_statement"
                    || (n.kind() == "expression_switch_statement"
                        && n.child_by_field_name("value").is_none())
            });
            !cases
                && descendants(region)
                    .into_iter()
                    .filter(|n| n.kind() == "if_statement")
                    .filter(|n| self.mentions(*n).iter().any(|(m, _)| *m == pick))
                    .all(|n| self.is_closed(n) == Some(true))
        };
        Some(Found {
            kind: Kind::Guard,
            head: line(node),
            lines: lines(node),
            whole_function_ok: holds_in(top),
            whole_construct_ok: holds_in(node),
            expect: format!("{{fail_closed: {{when: {}}}}}", quote(&when)),
        })
    }

    /// What an `if`'s initializer and condition mention: callees, selectors, identifiers.
    fn mentions(&self, node: Node<'_>) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Vec::new();
        let parts = [
            node.child_by_field_name("initializer"),
            node.child_by_field_name("condition"),
        ];
        for part in parts.into_iter().flatten() {
            for n in descendants(part) {
                let mention = match n.kind() {
                    // Plain callees only: anchorcheck names a mention by its text, and a
                    // called function literal is not a name anyone writes.
                    "call_expression" => self.callee(n).map(|(c, _)| (c, "call")),
                    "selector_expression" => Some((self.compact(n), "selector")),
                    "identifier" | "field_identifier" => Some((self.compact(n), "identifier")),
                    _ => None,
                };
                if let Some(m) = mention
                    && m.0.len() <= 256
                    && !out.iter().any(|(t, _)| *t == m.0)
                {
                    out.push(m);
                }
            }
        }
        out
    }

    /// Whether the `then` branch of an `if` cannot fall through: its first top-level statement
    /// that ends it is a return (not of a nil error), `panic`, a `Fatal`/`Panic` call,
    /// `os.Exit` of a non-zero literal or `runtime.Goexit`. `None` when unsure (a bare return
    /// with named results).
    fn is_closed(&self, node: Node<'_>) -> Option<bool> {
        let then = node.child_by_field_name("consequence")?;
        let function = ancestors(node).into_iter().find(|n| is_function(*n))?;
        let result = function.child_by_field_name("result");
        let named_results = result.is_some_and(|r| {
            r.kind() == "parameter_list"
                && named(r)
                    .iter()
                    .any(|p| p.child_by_field_name("name").is_some())
        });
        let last_is_error = result.is_some_and(|r| {
            let last = if r.kind() == "parameter_list" {
                named(r).last().and_then(|p| p.child_by_field_name("type"))
            } else {
                Some(r)
            };
            last.is_some_and(|t| self.text(t).trim() == "error")
        });
        for stmt in statements(then) {
            match stmt.kind() {
                "return_statement" => {
                    let values = named(stmt)
                        .into_iter()
                        .find(|n| n.kind() == "expression_list")
                        .map(named)
                        .unwrap_or_default();
                    return match values.last() {
                        Some(v) if last_is_error => self.non_nil_error(*v, node),
                        Some(_) => Some(true),
                        None if result.is_none() => Some(true),
                        None if named_results => None,
                        None => Some(false),
                    };
                }
                "expression_statement" => {
                    let Some(call) = stmt
                        .named_child(0)
                        .filter(|c| c.kind() == "call_expression")
                    else {
                        continue;
                    };
                    let Some((callee, _)) = self.callee(call) else {
                        continue;
                    };
                    let last = callee.rsplit('.').next().unwrap_or("");
                    let qualified = callee.contains('.');
                    let fatal = callee == "panic"
                        || callee == "runtime.Goexit"
                        || (qualified
                            && (last.starts_with("Fatal")
                                || last.starts_with("Panic")
                                || last == "FailNow"));
                    let exit = callee == "os.Exit"
                        && call
                            .child_by_field_name("arguments")
                            .and_then(|a| named(a).first().copied())
                            .is_some_and(|a| a.kind() == "int_literal" && self.text(a) != "0");
                    if fatal || exit {
                        return Some(true);
                    }
                }
                _ => {}
            }
        }
        Some(false)
    }

    /// Whether a returned error is non-nil, as the README counts it, by narrower rules of its
    /// own: built in the return (a call, `&T{}`, a literal), a sentinel named `Err...`/`err...`,
    /// or the very value the guard's condition compares with `nil` (`if err != nil { return
    /// err }`). `nil` is not; `None` for anything else (a variable some other guard may have
    /// proven non-nil, or not), which is not cited.
    fn non_nil_error(&self, value: Node<'_>, guard: Node<'_>) -> Option<bool> {
        let text = self.compact(value);
        if text == "nil" {
            return Some(false);
        }
        if !matches!(value.kind(), "identifier" | "selector_expression") {
            return Some(true);
        }
        let last = text.rsplit('.').next().unwrap_or(&text);
        let sentinel = last
            .strip_prefix("Err")
            .or_else(|| last.strip_prefix("err"));
        if sentinel.is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase())) {
            return Some(true);
        }
        let condition = guard
            .child_by_field_name("condition")
            .map(|c| self.compact(c));
        if condition.is_some_and(|c| c == format!("{text}!=nil")) {
            return Some(true);
        }
        None
    }

    /// `tls.Config{...}` fields `MinVersion`/`ClientAuth` set to a known constant; none of them
    /// when the literal skips verification.
    fn tls_literal(&self, node: Node<'_>, top: Node<'_>) -> Vec<Found> {
        let Some(ty) = node.child_by_field_name("type") else {
            return Vec::new();
        };
        let Some(body) = node.child_by_field_name("body") else {
            return Vec::new();
        };
        // A literal made only under a condition is as conditional as an assignment (README);
        // not cited, since anchorcheck's "only way on" rule may or may not apply.
        if self.compact(ty) != "tls.Config" || conditional(node) {
            return Vec::new();
        }
        let elements: Vec<(String, String, u32)> = named(body)
            .into_iter()
            .filter(|e| e.kind() == "keyed_element")
            .filter_map(|e| {
                let key = self.compact(e.child_by_field_name("key")?);
                let value = self.compact(e.child_by_field_name("value")?);
                Some((key, value, line(e)))
            })
            .collect();
        if elements
            .iter()
            .any(|(k, v, _)| k == "InsecureSkipVerify" && v != "false")
        {
            return Vec::new();
        }
        let function_ok = !self.text(top).contains("InsecureSkipVerify");
        elements
            .iter()
            .filter_map(|(key, value, head)| {
                Some(Found {
                    kind: Kind::Tls,
                    head: *head,
                    lines: lines(node),
                    whole_function_ok: function_ok,
                    whole_construct_ok: true,
                    expect: tls_expect(key, value)?,
                })
            })
            .collect()
    }

    /// `x.MinVersion = tls.VersionTLS13` and `x.ClientAuth = tls.X`; those under a condition
    /// inside their function are cited to check they are refused.
    fn tls_assignment(&self, node: Node<'_>, top: Node<'_>) -> Vec<Found> {
        let Some(op) = node.child_by_field_name("operator") else {
            return Vec::new();
        };
        if self.text(op) != "=" {
            return Vec::new();
        }
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return Vec::new();
        };
        let (lefts, rights) = (named(left), named(right));
        if lefts.len() != 1 || rights.len() != 1 || lefts[0].kind() != "selector_expression" {
            return Vec::new();
        }
        let Some(field) = lefts[0].child_by_field_name("field") else {
            return Vec::new();
        };
        let Some(expect) = tls_expect(self.text(field), &self.compact(rights[0])) else {
            return Vec::new();
        };
        let conditional = ancestors(node)
            .into_iter()
            .take_while(|n| !is_function(*n))
            .any(|n| {
                matches!(
                    n.kind(),
                    "if_statement"
                        | "expression_case"
                        | "type_case"
                        | "default_case"
                        | "communication_case"
                )
            });
        let function_ok = !self.text(top).contains("InsecureSkipVerify");
        vec![Found {
            kind: if conditional {
                Kind::ConditionalTls
            } else {
                Kind::Tls
            },
            head: line(node),
            lines: lines(node),
            whole_function_ok: function_ok,
            whole_construct_ok: true,
            expect,
        }]
    }
}

/// The expectation a TLS field setting supports, when its value is a known constant.
fn tls_expect(field: &str, value: &str) -> Option<String> {
    match field {
        "MinVersion" => {
            let (_, v) = TLS_VERSIONS.iter().find(|(go, _)| *go == value)?;
            Some(format!("{{tls: {{min_version: \"{v}\"}}}}"))
        }
        "ClientAuth" => {
            let (_, mode) = CLIENT_AUTH.iter().find(|(go, _)| *go == value)?;
            Some(format!("{{tls: {{client_auth: {mode}}}}}"))
        }
        _ => None,
    }
}

/// Whether `node` runs only under a condition of its function: it is inside a branch of an
/// `if` (not its condition or initializer) or a case of a `switch` or `select`, below the
/// nearest function. Loops are not conditions. Narrower than anchorcheck's rule, which also
/// lets through a branch that is the only way on: a call this says no to is simply not cited.
fn conditional(node: Node<'_>) -> bool {
    let mut child = node;
    for parent in ancestors(node) {
        // A function literal passed as an argument (a chi `Route` closure, a handler) may run
        // under the conditions around the call: looked through, to stay on the safe side.
        let argument = parent.kind() == "func_literal"
            && parent.parent().is_some_and(|p| p.kind() == "argument_list");
        if is_function(parent) && !argument {
            return false;
        }
        let in_branch = parent.kind() == "if_statement"
            && [
                parent.child_by_field_name("consequence"),
                parent.child_by_field_name("alternative"),
            ]
            .into_iter()
            .flatten()
            .any(|branch| branch.id() == child.id());
        let in_case = matches!(
            child.kind(),
            "expression_case" | "type_case" | "default_case" | "communication_case"
        );
        if in_branch || in_case {
            return true;
        }
        child = parent;
    }
    false
}

/// The node's ancestors, innermost first (not the node).
fn ancestors(node: Node<'_>) -> Vec<Node<'_>> {
    std::iter::successors(node.parent(), |n| n.parent()).collect()
}

/// The `.go` files of a commit worth citing: not vendored, not test data, under 1 MiB.
pub fn go_files(repo: &git2::Repository, commit: git2::Oid) -> Result<Vec<(String, Vec<u8>)>> {
    let tree = repo.find_commit(commit)?.tree()?;
    let mut files = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let name = entry.name().unwrap_or("");
        if entry.kind() == Some(git2::ObjectType::Tree) {
            let skip =
                matches!(name, "vendor" | "testdata" | "third_party") || name.starts_with('.');
            return if skip {
                git2::TreeWalkResult::Skip
            } else {
                git2::TreeWalkResult::Ok
            };
        }
        if name.ends_with(".go")
            && entry.filemode() == 0o100644
            && let Ok(blob) = repo.find_blob(entry.id())
            && blob.size() < 1 << 20
        {
            files.push((format!("{dir}{name}"), blob.content().to_vec()));
        }
        git2::TreeWalkResult::Ok
    })?;
    files.sort();
    Ok(files)
}

/// anchors.yaml holding one claim per citation, with `at` when given.
pub fn anchors_yaml(citations: &[Citation], at: Option<&str>) -> String {
    let mut out = String::from("version: 1\nclaims:\n");
    for (i, c) in citations.iter().enumerate() {
        let _ = writeln!(out, "  - id: c{i}\n    status: implemented\n    refs:");
        let _ = writeln!(
            out,
            "      - path: {}\n        lines: {}",
            quote(&c.path),
            if c.lines.0 == c.lines.1 {
                c.lines.0.to_string()
            } else {
                format!("{}-{}", c.lines.0, c.lines.1)
            }
        );
        if let Some(at) = at {
            let _ = writeln!(out, "        at: {at}");
        }
        if let Some(symbol) = &c.symbol {
            let _ = writeln!(out, "        symbol: {}", quote(symbol));
        }
        let _ = writeln!(out, "        expect:\n          - {}", c.expect);
    }
    out
}

/// The repository's name: `tailscale` for `.../tailscale.git`, `.../tailscale/.git` or a
/// mirror's `.../tailscale+tailscale/repo` (owner+name).
pub fn repo_name(dir: &Path) -> String {
    let parts: Vec<String> = dir
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let pick = parts
        .iter()
        .rev()
        .find(|p| !matches!(p.as_str(), "repo" | ".git"))
        .cloned()
        .unwrap_or_else(|| "repo".to_string());
    pick.rsplit('+')
        .next()
        .unwrap_or(&pick)
        .trim_end_matches(".git")
        .to_string()
}
