//! The mutation operators: each edits the text of one cited Go file at the base commit, at the
//! construct a ref's expectation is about (found with tree-sitter in the cited lines), and says
//! whether the edit weakens what the expectation claims or leaves it as true as it was.
//!
//! Independent of anchorcheck's matchers on purpose: the constructs are found with this file's
//! own small rules, so a bug in anchorcheck cannot hide behind the same bug here.

use regex::Regex;
use tree_sitter::{Node, Parser, Tree};

/// Whether a mutant must come out `broken` or must not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Weakening,
    Equivalent,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Weakening => "weakening",
            Class::Equivalent => "equivalent",
        }
    }
}

/// What a ref's expectations are about, as far as the operators need to know.
#[derive(Debug, Default)]
pub struct Expectations {
    /// `fail_closed.when` of each `fail_closed`.
    pub guards: Vec<Regex>,
    pub tls: Vec<TlsExpect>,
    pub routes: Vec<RouteExpect>,
    /// `call` names (`call: X` or `call: {name: X}`), globs as written.
    pub calls: Vec<String>,
    /// `query` patterns.
    pub queries: Vec<String>,
    /// Every string anywhere in the ref's expectations (regexes included): a local variable
    /// whose name one of them mentions is never renamed.
    pub words: Vec<String>,
}

#[derive(Debug, Default)]
pub struct TlsExpect {
    pub client_auth: Option<String>,
    pub min_version: Option<String>,
}

#[derive(Debug, Default)]
pub struct RouteExpect {
    pub paths: Vec<String>,
    pub on: Option<String>,
    /// `methods`, upper case; empty when the expectation names none.
    pub methods: Vec<String>,
}

/// One replacement of a byte range of the base text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// One mutant of one ref.
#[derive(Clone, Debug)]
pub struct Mutation {
    pub op: &'static str,
    pub class: Class,
    /// The line (1-based, in the base file) of the construct it changes.
    pub line: usize,
    /// The edits of the cited file, applied together.
    pub edits: Vec<Edit>,
    /// A file the mutant adds (path, contents): the function moved out of the cited file.
    pub new_file: Option<(String, String)>,
}

/// An operator that could not be applied to a ref, with the reason.
#[derive(Clone, Debug)]
pub struct Skip {
    pub op: &'static str,
    pub class: Class,
    pub reason: String,
}

/// The weakening operators, in report order.
pub const WEAKENING: &[&str] = &[
    "drop_abort",
    "drop_continue",
    "body_to_log",
    "and_bypass",
    "comment_out",
    "return_nil",
    "downgrade_client_auth",
    "later_override",
    "insecure_skip_verify",
    "lower_min_version",
    "wrap_in_if",
    "route_other_mux",
    "drop_middleware",
];

/// The equivalent operators, in report order.
pub const EQUIVALENT: &[&str] = &[
    "insert_func_above",
    "log_before_abort",
    "rewrap_call",
    "add_comments",
    "rename_local",
    "move_func_to_file",
    "delete_lines_above",
];

/// The equivalent operators that move the cited code without changing what it means: each is
/// combined with every weakening (and with the equivalents of `COMPOUND_EQUIVALENT`) into
/// compound mutants.
pub const DRIFT: &[&str] = &[
    "insert_func_above",
    "move_func_to_file",
    "add_comments",
    "rewrap_call",
    "delete_lines_above",
];

/// The equivalent operators that change the cited code itself (not only where it is): combined
/// with each drift operator, they must still not come out `broken`.
pub const COMPOUND_EQUIVALENT: &[&str] = &["log_before_abort", "rename_local"];

const BYPASS: &str = "os.Getenv(\"ANCHORCHECK_BYPASS\") == \"\"";
const COND: &str = "os.Getenv(\"ANCHORCHECK_X\") != \"\"";

pub fn parse(text: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_go::LANGUAGE.into())
        .expect("tree-sitter-go loads");
    parser.parse(text, None).expect("tree-sitter parses")
}

/// Every mutant of the ref citing `lines` (1-based, inclusive) of `path`, whose base text is
/// `text`, and every operator that could not be applied with the reason. Mutants whose text
/// no longer parses (where the base parsed) are dropped as skips: the bench mutates code as a
/// person would, not into syntax errors.
pub fn mutants(
    path: &str,
    text: &str,
    lines: (usize, usize),
    exp: &Expectations,
) -> (Vec<Mutation>, Vec<Skip>) {
    let tree = parse(text);
    let cx = Cx {
        path,
        text,
        src: text.as_bytes(),
        lines,
        exp,
        root: tree.root_node(),
    };
    let mut out = Vec::new();
    let mut skips = Vec::new();
    cx.guards(&mut out, &mut skips);
    cx.tls(&mut out, &mut skips);
    cx.routes(&mut out, &mut skips);
    cx.calls(&mut out, &mut skips);
    cx.equivalents(&mut out, &mut skips);

    let base_ok = !tree.root_node().has_error();
    let mut kept = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for m in out {
        let new = apply(text, &m.edits);
        if new == text {
            continue;
        }
        if !seen.insert((m.op, new.clone())) {
            continue;
        }
        if base_ok && parse(&new).root_node().has_error() {
            skips.push(Skip {
                op: m.op,
                class: m.class,
                reason: format!("line {}: the mutant does not parse", m.line),
            });
            continue;
        }
        kept.push(m);
    }
    (kept, skips)
}

/// What a mutant's commit writes on top of the base: the cited file's new text and a file it
/// adds (the function moved out of the cited file), if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub text: String,
    pub new_file: Option<(String, String)>,
}

/// The files `m` writes when applied alone to the base text `text`.
pub fn version(text: &str, m: &Mutation) -> Version {
    Version {
        text: apply(text, &m.edits),
        new_file: m.new_file.clone(),
    }
}

/// Whether two edits of the same text touch the same bytes. A zero-width insert at the start
/// or end of a replacement does not: it goes before or after it.
fn overlaps(a: &Edit, b: &Edit) -> bool {
    let inside = |p: usize, e: &Edit| e.start < p && p < e.end;
    match (a.start == a.end, b.start == b.end) {
        (true, true) => false,
        (true, false) => inside(a.start, b),
        (false, true) => inside(b.start, a),
        (false, false) => a.start < b.end && b.start < a.end,
    }
}

/// `change` (a weakening, or an equivalent edit of the cited code) and `drift` (an operator of
/// `DRIFT`: the code moves) applied together to the base text `text`: the compound mutant's
/// final files. When `drift` moves the function to a new file, the edits of `change` inside
/// it go with it. `Err` says why the two cannot be combined (they edit the same bytes, or the
/// result does not parse).
pub fn combine(text: &str, change: &Mutation, drift: &Mutation) -> Result<Version, String> {
    if change.new_file.is_some() {
        return Err(format!("{} adds a file itself", change.op));
    }
    let mut edits: Vec<Edit> = Vec::new();
    let mut new_file = None;
    match &drift.new_file {
        Some((path, contents)) => {
            let [cut] = drift.edits.as_slice() else {
                return Err(format!("{} is not one cut", drift.op));
            };
            let moved = &text[cut.start..cut.end];
            let Some(header) = contents.strip_suffix(moved) else {
                return Err(format!("{}'s new file does not end with the cut", drift.op));
            };
            let mut inner = Vec::new();
            for e in &change.edits {
                let at_end = e.start == e.end && e.start == cut.end;
                if cut.start <= e.start && e.end <= cut.end && !at_end {
                    inner.push(Edit {
                        start: e.start - cut.start,
                        end: e.end - cut.start,
                        text: e.text.clone(),
                    });
                } else if overlaps(e, cut) {
                    return Err(format!("{} crosses the moved function's edge", change.op));
                } else {
                    edits.push(e.clone());
                }
            }
            edits.push(cut.clone());
            new_file = Some((path.clone(), format!("{header}{}", apply(moved, &inner))));
        }
        None => {
            for d in &drift.edits {
                if let Some(e) = change.edits.iter().find(|e| overlaps(e, d)) {
                    return Err(format!(
                        "{} and {} edit the same bytes ({}..{})",
                        change.op, drift.op, e.start, e.end
                    ));
                }
            }
            // At the same byte, a replacement goes first and an insert then lands before it
            // (`apply` keeps the order of edits that start at the same byte).
            edits.extend(change.edits.iter().filter(|e| e.start != e.end).cloned());
            edits.extend(drift.edits.iter().cloned());
            edits.extend(change.edits.iter().filter(|e| e.start == e.end).cloned());
        }
    }
    let v = Version {
        text: apply(text, &edits),
        new_file,
    };
    let base_ok = !parse(text).root_node().has_error();
    let parses = !parse(&v.text).root_node().has_error()
        && v.new_file
            .as_ref()
            .is_none_or(|(_, c)| !parse(c).root_node().has_error());
    if base_ok && !parses {
        return Err("the compound mutant does not parse".into());
    }
    Ok(v)
}

/// The text with the edits applied (edits do not overlap).
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut edits: Vec<&Edit> = edits.iter().collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut s = text.to_string();
    for e in edits {
        s.replace_range(e.start..e.end, &e.text);
    }
    s
}

struct Cx<'a, 't> {
    path: &'a str,
    text: &'a str,
    src: &'a [u8],
    lines: (usize, usize),
    exp: &'a Expectations,
    root: Node<'t>,
}

fn line(n: Node) -> usize {
    n.start_position().row + 1
}

fn all_nodes<'t>(root: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        out.push(n);
        let mut c = n.walk();
        let kids: Vec<Node> = n.children(&mut c).collect();
        stack.extend(kids.into_iter().rev());
    }
    out
}

fn named_kids<'t>(n: Node<'t>) -> Vec<Node<'t>> {
    let mut c = n.walk();
    n.named_children(&mut c).collect()
}

/// The statements of a block, case or statement list, comments left out.
fn statements<'t>(n: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    for k in named_kids(n) {
        if k.kind() == "statement_list" {
            out.extend(named_kids(k).into_iter().filter(|s| s.kind() != "comment"));
        } else if n.kind() == "statement_list" && k.kind() != "comment" {
            out.push(k);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Abort {
    Return,
    Continue,
    Fatal,
}

fn callee_text<'s>(call: Node, src: &'s [u8]) -> &'s str {
    call.child_by_field_name("function")
        .and_then(|f| f.utf8_text(src).ok())
        .unwrap_or("")
}

fn abort_kind(stmt: Node, src: &[u8]) -> Option<Abort> {
    match stmt.kind() {
        "return_statement" => Some(Abort::Return),
        "continue_statement" => Some(Abort::Continue),
        "expression_statement" => {
            let call = stmt.named_child(0)?;
            if call.kind() != "call_expression" {
                return None;
            }
            let f = callee_text(call, src);
            let last = f.rsplit('.').next().unwrap_or(f);
            let fatal = f == "panic"
                || f == "os.Exit"
                || f == "runtime.Goexit"
                || last.starts_with("Fatal")
                || last.starts_with("Panic")
                || last == "FailNow";
            fatal.then_some(Abort::Fatal)
        }
        _ => None,
    }
}

/// A fail-closed guard: an `if` or a tagless `switch` case whose body ends in an abort.
struct Guard<'t> {
    node: Node<'t>,
    cond: Node<'t>,
    /// The node holding the body's statements (a block, or the case itself).
    body: Node<'t>,
    stmts: Vec<Node<'t>>,
    abort: Node<'t>,
    kind: Abort,
}

/// Whether an identifier, selector or callee in `n` matches `re`.
fn mentions(n: Node, src: &[u8], re: &Regex) -> bool {
    all_nodes(n).into_iter().any(|k| {
        matches!(
            k.kind(),
            "identifier" | "field_identifier" | "selector_expression" | "call_expression"
        ) && {
            let t = if k.kind() == "call_expression" {
                callee_text(k, src)
            } else {
                k.utf8_text(src).unwrap_or("")
            };
            re.is_match(t)
        }
    })
}

/// The leading whitespace of the line holding byte `at`.
fn indent_at(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let rest = &text[start..];
    let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..n]
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The byte after the line feed ending the line holding `at` (or the end of the text).
fn next_line(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// Whether `n` is alone on its lines: only whitespace before it on its first line and after it
/// on its last.
fn whole_lines(text: &str, n: Node) -> bool {
    let before = &text[line_start(text, n.start_byte())..n.start_byte()];
    let end = n.end_byte();
    let after_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    before.trim().is_empty() && text[end..after_end].trim().is_empty()
}

/// An edit deleting statement `n`: its whole line when it is alone on it.
fn delete_stmt(text: &str, n: Node) -> Edit {
    if whole_lines(text, n) {
        Edit {
            start: line_start(text, n.start_byte()),
            end: next_line(text, n.end_byte()),
            text: String::new(),
        }
    } else {
        Edit {
            start: n.start_byte(),
            end: n.end_byte(),
            text: String::new(),
        }
    }
}

/// The statement holding `n` whose parent is a statement list (or a block), if `n` is inside
/// one without crossing a function literal.
fn enclosing_stmt(n: Node) -> Option<Node> {
    let mut cur = n;
    loop {
        let p = cur.parent()?;
        if matches!(p.kind(), "statement_list" | "block") {
            return Some(cur);
        }
        if matches!(
            p.kind(),
            "func_literal" | "function_declaration" | "method_declaration" | "source_file"
        ) {
            return None;
        }
        cur = p;
    }
}

/// The top-level declaration holding byte `at`.
fn top_decl(root: Node, at: usize) -> Option<Node> {
    named_kids(root)
        .into_iter()
        .find(|d| d.start_byte() <= at && at < d.end_byte() && d.kind() != "comment")
}

/// The comment lines right above a declaration (its doc comment), as the byte it starts at.
fn doc_start(text: &str, decl: Node) -> usize {
    let mut start = decl.start_byte();
    let mut prev = decl.prev_sibling();
    while let Some(p) = prev {
        if p.kind() != "comment" || p.end_position().row + 1 < decl_row_of(start, text) {
            break;
        }
        start = p.start_byte();
        prev = p.prev_sibling();
    }
    line_start(text, start)
}

fn decl_row_of(byte: usize, text: &str) -> usize {
    text[..byte].matches('\n').count()
}

fn wrap_if(text: &str, stmt: Node) -> Edit {
    let ind = indent_at(text, stmt.start_byte()).to_string();
    let start = line_start(text, stmt.start_byte());
    let end = next_line(text, stmt.end_byte());
    let body: String = text[start..end]
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                "\n".to_string()
            } else {
                format!("\t{l}\n")
            }
        })
        .collect();
    Edit {
        start,
        end,
        text: format!("{ind}if {COND} {{\n{body}{ind}}}\n"),
    }
}

/// The string value of a Go string literal node.
fn string_value(n: Node, src: &[u8]) -> Option<String> {
    let t = n.utf8_text(src).ok()?;
    match n.kind() {
        "raw_string_literal" => Some(t.trim_matches('`').to_string()),
        "interpreted_string_literal" => Some(t.trim_matches('"').replace("\\\"", "\"")),
        _ => None,
    }
}

const ROUTE_METHODS: &[&str] = &[
    "Handle",
    "HandleFunc",
    "Get",
    "Post",
    "Put",
    "Delete",
    "Patch",
    "Head",
    "Options",
    "Connect",
    "Trace",
    "Method",
    "MethodFunc",
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "HEAD",
    "OPTIONS",
    "Any",
    "Mount",
    "Route",
    "Group",
    "Path",
    "PathPrefix",
];

impl<'a, 't> Cx<'a, 't> {
    fn in_range(&self, n: Node) -> bool {
        let l = line(n);
        self.lines.0 <= l && l <= self.lines.1
    }

    fn t(&self, n: Node) -> &'a str {
        n.utf8_text(self.src).unwrap_or("")
    }

    fn found(&self, op: &'static str, class: Class, n: Node, edits: Vec<Edit>) -> Mutation {
        Mutation {
            op,
            class,
            line: line(n),
            edits,
            new_file: None,
        }
    }

    fn cond_mentions(&self, n: Node, cond: Node, re: &Regex) -> bool {
        mentions(cond, self.src, re)
            || n.child_by_field_name("initializer")
                .is_some_and(|i| mentions(i, self.src, re))
    }

    fn guard_mentions(&self, g: &Guard, re: &Regex) -> bool {
        self.cond_mentions(g.node, g.cond, re)
    }

    fn find_guards(&self) -> Vec<Guard<'t>> {
        let mut out = Vec::new();
        for n in all_nodes(self.root) {
            if !self.in_range(n) {
                continue;
            }
            let (cond, body) = match n.kind() {
                "if_statement" => {
                    let (Some(c), Some(b)) = (
                        n.child_by_field_name("condition"),
                        n.child_by_field_name("consequence"),
                    ) else {
                        continue;
                    };
                    (c, b)
                }
                "expression_case" => {
                    // Only the cases of a tagless switch test a condition.
                    let tagless = n.parent().is_some_and(|s| {
                        s.kind() == "expression_switch_statement"
                            && s.child_by_field_name("value").is_none()
                    });
                    let Some(v) = n.child_by_field_name("value") else {
                        continue;
                    };
                    if !tagless || v.named_child_count() != 1 {
                        continue;
                    }
                    (v.named_child(0).expect("one value"), n)
                }
                _ => continue,
            };
            let mentioned = self
                .exp
                .guards
                .iter()
                .any(|re| self.cond_mentions(n, cond, re));
            if !mentioned {
                continue;
            }
            let stmts = statements(body);
            let Some(&abort) = stmts.last() else { continue };
            let Some(kind) = abort_kind(abort, self.src) else {
                continue;
            };
            out.push(Guard {
                node: n,
                cond,
                body,
                stmts,
                abort,
                kind,
            });
        }
        out
    }

    fn guards(&self, out: &mut Vec<Mutation>, skips: &mut Vec<Skip>) {
        if self.exp.guards.is_empty() {
            return;
        }
        let guards = self.find_guards();
        if guards.is_empty() {
            skips.push(Skip {
                op: "drop_abort",
                class: Class::Weakening,
                reason: "no guard with a matching condition and an abort in the cited lines".into(),
            });
        }
        let text = self.text;
        // The `when` regexes each guard satisfies: removing a guard weakens the expectation
        // only when one of its regexes is satisfied by no other guard in the range.
        let matched: Vec<Vec<usize>> = guards
            .iter()
            .map(|g| {
                (0..self.exp.guards.len())
                    .filter(|&i| self.guard_mentions(g, &self.exp.guards[i]))
                    .collect()
            })
            .collect();
        for (gi, g) in guards.iter().enumerate() {
            let w = Class::Weakening;
            let sole = matched[gi].iter().any(|ri| {
                matched
                    .iter()
                    .enumerate()
                    .all(|(gj, m)| gj == gi || !m.contains(ri))
            });
            // Drop the abort (or the `continue` ending a loop guard).
            let op = if g.kind == Abort::Continue {
                "drop_continue"
            } else {
                "drop_abort"
            };
            out.push(self.found(op, w, g.node, vec![delete_stmt(text, g.abort)]));

            // The body only logs.
            let ind = indent_at(text, g.node.start_byte()).to_string();
            let (start, end) = if g.body.kind() == "block" {
                (g.body.start_byte() + 1, g.body.end_byte() - 1)
            } else {
                let first = g.stmts[0];
                (
                    line_start(text, first.start_byte()),
                    g.stmts.last().expect("abort").end_byte(),
                )
            };
            let log = if g.body.kind() == "block" {
                format!("\n{ind}\tlog.Printf(\"anchorcheck bench: check failed\")\n{ind}")
            } else {
                format!("{ind}\tlog.Printf(\"anchorcheck bench: check failed\")")
            };
            out.push(self.found(
                "body_to_log",
                w,
                g.node,
                vec![Edit {
                    start,
                    end,
                    text: log,
                }],
            ));

            // A bypass operand.
            let c = self.t(g.cond);
            let needs_parens = g.cond.kind() == "binary_expression"
                && g.cond
                    .child_by_field_name("operator")
                    .is_some_and(|o| self.t(o) == "||");
            let new = if needs_parens {
                format!("({c}) && {BYPASS}")
            } else {
                format!("{c} && {BYPASS}")
            };
            out.push(self.found(
                "and_bypass",
                w,
                g.node,
                vec![Edit {
                    start: g.cond.start_byte(),
                    end: g.cond.end_byte(),
                    text: new,
                }],
            ));

            // Commented out, when it stands alone on its lines and is not an `else if`.
            let chained = g.node.parent().is_some_and(|p| p.kind() == "if_statement");
            let span_end = if g.node.kind() == "expression_case" {
                g.abort.end_byte()
            } else {
                g.node.end_byte()
            };
            let alone = {
                let before = &text[line_start(text, g.node.start_byte())..g.node.start_byte()];
                let after_end = text[span_end..]
                    .find('\n')
                    .map_or(text.len(), |i| span_end + i);
                before.trim().is_empty() && text[span_end..after_end].trim().is_empty()
            };
            if !sole {
                skips.push(Skip {
                    op: "comment_out",
                    class: w,
                    reason: format!(
                        "line {}: another guard in the range satisfies the same `when`, so the \
                         expectation still holds without this one",
                        line(g.node)
                    ),
                });
            } else if !chained && alone {
                let start = line_start(text, g.node.start_byte());
                let end = next_line(text, span_end);
                let commented: String = text[start..end]
                    .lines()
                    .map(|l| {
                        let n = l.len() - l.trim_start().len();
                        format!("{}// {}\n", &l[..n], &l[n..])
                    })
                    .collect();
                out.push(self.found(
                    "comment_out",
                    w,
                    g.node,
                    vec![Edit {
                        start,
                        end,
                        text: commented,
                    }],
                ));
            } else {
                skips.push(Skip {
                    op: "comment_out",
                    class: w,
                    reason: format!(
                        "line {}: the guard is an `else if` or shares its lines with other code",
                        line(g.node)
                    ),
                });
            }

            // `return err` -> `return nil`.
            if g.kind == Abort::Return {
                let last = g
                    .abort
                    .named_child(0)
                    .and_then(|l| l.named_children(&mut l.walk()).last());
                match last {
                    Some(e) if self.t(e) != "nil" && self.t(e).to_lowercase().contains("err") => {
                        out.push(self.found(
                            "return_nil",
                            w,
                            g.node,
                            vec![Edit {
                                start: e.start_byte(),
                                end: e.end_byte(),
                                text: "nil".into(),
                            }],
                        ))
                    }
                    _ => skips.push(Skip {
                        op: "return_nil",
                        class: w,
                        reason: format!(
                            "line {}: the guard's return has no error value",
                            line(g.node)
                        ),
                    }),
                }
            }

            // Equivalent: a log line before the abort.
            let e = Class::Equivalent;
            let aind = indent_at(text, g.abort.start_byte()).to_string();
            let edit = if whole_lines(text, g.abort) {
                Edit {
                    start: line_start(text, g.abort.start_byte()),
                    end: line_start(text, g.abort.start_byte()),
                    text: format!("{aind}log.Printf(\"anchorcheck bench: refusing\")\n"),
                }
            } else {
                Edit {
                    start: g.abort.start_byte(),
                    end: g.abort.start_byte(),
                    text: "log.Printf(\"anchorcheck bench: refusing\"); ".into(),
                }
            };
            out.push(self.found("log_before_abort", e, g.abort, vec![edit]));
        }
    }

    fn tls(&self, out: &mut Vec<Mutation>, skips: &mut Vec<Skip>) {
        let want_auth = self.exp.tls.iter().any(|t| {
            t.client_auth
                .as_deref()
                .is_some_and(|c| c != "no_client_cert")
        });
        let want_min = self
            .exp
            .tls
            .iter()
            .any(|t| t.min_version.as_deref().is_some_and(|v| v != "1.0"));
        if !want_auth && !want_min {
            return;
        }
        let text = self.text;
        let w = Class::Weakening;
        // Settings: (field name, value node, the node to cite, the config's name and the
        // statement after which a later override goes, the literal if any).
        struct Setting<'t> {
            field: String,
            value: Node<'t>,
            head: Node<'t>,
            stmt: Option<Node<'t>>,
            var: Option<String>,
            literal: Option<Node<'t>>,
            assignment: bool,
        }
        let mut settings = Vec::new();
        for n in all_nodes(self.root) {
            match n.kind() {
                "composite_literal" => {
                    let ty = n
                        .child_by_field_name("type")
                        .map(|t| self.t(t))
                        .unwrap_or("");
                    if !(ty == "Config" || ty.ends_with(".Config")) {
                        continue;
                    }
                    let Some(body) = n.child_by_field_name("body") else {
                        continue;
                    };
                    let lit_cited = self.in_range(n);
                    for kv in named_kids(body) {
                        if kv.kind() != "keyed_element" {
                            continue;
                        }
                        let (Some(k), Some(v)) = (
                            kv.child_by_field_name("key"),
                            kv.child_by_field_name("value"),
                        ) else {
                            continue;
                        };
                        let key = self.t(k);
                        if !(key == "ClientAuth" || key == "MinVersion") {
                            continue;
                        }
                        if !(lit_cited || self.in_range(kv)) {
                            continue;
                        }
                        // The statement binding the literal to a name: `cfg := &tls.Config{`.
                        let mut up = n;
                        if let Some(p) = up.parent()
                            && p.kind() == "unary_expression"
                        {
                            up = p;
                        }
                        let stmt = enclosing_stmt(n);
                        let var = up.parent().and_then(|l| {
                            let decl = l.parent()?;
                            let direct = l.kind() == "expression_list"
                                && l.named_child_count() == 1
                                && matches!(
                                    decl.kind(),
                                    "short_var_declaration" | "assignment_statement"
                                );
                            if !direct {
                                return None;
                            }
                            let left = decl.child_by_field_name("left")?;
                            (left.named_child_count() == 1)
                                .then(|| self.t(left).to_string())
                                .filter(|_| Some(decl) == stmt)
                        });
                        settings.push(Setting {
                            field: key.to_string(),
                            value: v,
                            head: kv,
                            stmt,
                            var,
                            literal: Some(body),
                            assignment: false,
                        });
                    }
                }
                "assignment_statement" => {
                    if !self.in_range(n) {
                        continue;
                    }
                    let (Some(l), Some(r)) = (
                        n.child_by_field_name("left"),
                        n.child_by_field_name("right"),
                    ) else {
                        continue;
                    };
                    if l.named_child_count() != 1 || r.named_child_count() != 1 {
                        continue;
                    }
                    let target = l.named_child(0).expect("one");
                    if target.kind() != "selector_expression" {
                        continue;
                    }
                    let Some(f) = target.child_by_field_name("field") else {
                        continue;
                    };
                    let field = self.t(f);
                    if !(field == "ClientAuth" || field == "MinVersion") {
                        continue;
                    }
                    let var = target
                        .child_by_field_name("operand")
                        .map(|o| self.t(o).to_string());
                    settings.push(Setting {
                        field: field.to_string(),
                        value: r.named_child(0).expect("one"),
                        head: n,
                        stmt: enclosing_stmt(n).filter(|s| *s == n),
                        var,
                        literal: None,
                        assignment: true,
                    });
                }
                _ => {}
            }
        }
        if settings.is_empty() {
            skips.push(Skip {
                op: "downgrade_client_auth",
                class: w,
                reason: "no ClientAuth or MinVersion setting in the cited lines".into(),
            });
            return;
        }
        let mut insecure_done = std::collections::HashSet::new();
        for s in &settings {
            let claimed = match s.field.as_str() {
                "ClientAuth" => want_auth,
                _ => want_min,
            };
            if !claimed {
                continue;
            }
            let v = self.t(s.value);
            let q = v
                .split_once('.')
                .map(|(q, _)| q)
                .filter(|q| !q.contains(['(', ' ']))
                .unwrap_or("tls");
            let weak = if s.field == "ClientAuth" {
                format!("{q}.NoClientCert")
            } else {
                format!("{q}.VersionTLS10")
            };
            let op = if s.field == "ClientAuth" {
                "downgrade_client_auth"
            } else {
                "lower_min_version"
            };
            out.push(self.found(
                op,
                w,
                s.head,
                vec![Edit {
                    start: s.value.start_byte(),
                    end: s.value.end_byte(),
                    text: weak.clone(),
                }],
            ));

            // A later conditional override of the same field of the same config.
            match (&s.var, s.stmt) {
                (Some(var), Some(stmt)) => {
                    let ind = indent_at(text, stmt.start_byte()).to_string();
                    let at = next_line(text, stmt.end_byte());
                    out.push(self.found(
                        "later_override",
                        w,
                        s.head,
                        vec![Edit {
                            start: at,
                            end: at,
                            text: format!(
                                "{ind}if {COND} {{\n{ind}\t{var}.{} = {weak}\n{ind}}}\n",
                                s.field
                            ),
                        }],
                    ));
                }
                _ => skips.push(Skip {
                    op: "later_override",
                    class: w,
                    reason: format!(
                        "line {}: the tls.Config literal is not bound to a variable by its statement",
                        line(s.head)
                    ),
                }),
            }

            // InsecureSkipVerify: true, once per literal or assignment.
            let key = s.literal.map_or(s.head.id(), |l| l.id());
            if insecure_done.insert(key) {
                if let Some(lit) = s.literal {
                    let already = named_kids(lit).into_iter().any(|kv| {
                        kv.child_by_field_name("key")
                            .is_some_and(|k| self.t(k) == "InsecureSkipVerify")
                    });
                    if !already {
                        let first = named_kids(lit).into_iter().find(|k| k.kind() != "comment");
                        let edit = match first {
                            Some(f) if whole_lines(text, f) || line(f) != line(lit) => {
                                let ind = indent_at(text, f.start_byte()).to_string();
                                let at = line_start(text, f.start_byte());
                                Edit {
                                    start: at,
                                    end: at,
                                    text: format!("{ind}InsecureSkipVerify: true,\n"),
                                }
                            }
                            _ => Edit {
                                start: lit.start_byte() + 1,
                                end: lit.start_byte() + 1,
                                text: "InsecureSkipVerify: true, ".into(),
                            },
                        };
                        out.push(self.found("insecure_skip_verify", w, s.head, vec![edit]));
                    }
                } else {
                    skips.push(Skip {
                        op: "insecure_skip_verify",
                        class: w,
                        reason: format!(
                            "line {}: a field assignment, not a literal: an InsecureSkipVerify \
                             statement beside it is another construct than the one the ref claims",
                            line(s.head)
                        ),
                    });
                }
            }

            // The setting applies only under a condition.
            if s.assignment {
                match s.stmt {
                    Some(stmt) => {
                        out.push(self.found("wrap_in_if", w, s.head, vec![wrap_if(text, stmt)]))
                    }
                    None => skips.push(Skip {
                        op: "wrap_in_if",
                        class: w,
                        reason: format!("line {}: not a statement of a block", line(s.head)),
                    }),
                }
            } else {
                skips.push(Skip {
                    op: "wrap_in_if",
                    class: w,
                    reason: format!(
                        "line {}: a field of a tls.Config literal (wrapping the declaration would \
                         leave the config undeclared; later_override covers it)",
                        line(s.head)
                    ),
                });
            }
        }
    }

    /// Route registrations in the cited lines whose path one of `paths` ends with (every one
    /// when `paths` is empty).
    fn registrations(&self, paths: &[String]) -> Vec<Node<'t>> {
        let mut out = Vec::new();
        for n in all_nodes(self.root) {
            if n.kind() != "call_expression" {
                continue;
            }
            let Some(f) = n.child_by_field_name("function") else {
                continue;
            };
            if f.kind() != "selector_expression" {
                continue;
            }
            let Some(field) = f.child_by_field_name("field") else {
                continue;
            };
            if !ROUTE_METHODS.contains(&self.t(field)) || !self.in_range(field) {
                continue;
            }
            let Some(args) = n.child_by_field_name("arguments") else {
                continue;
            };
            let first_two = named_kids(args).into_iter().take(2).collect::<Vec<_>>();
            let strings: Vec<String> = first_two
                .iter()
                .filter_map(|a| string_value(*a, self.src))
                .collect();
            // The path is the last string of the first two arguments (`MethodFunc("GET",
            // "/x", h)`), a Go 1.22 pattern's part after the method, or a constant.
            let hit = match strings.last() {
                Some(v) => {
                    let p = v.rsplit(' ').next().unwrap_or(v);
                    paths.is_empty()
                        || (!p.is_empty() && paths.iter().any(|want| want.ends_with(p)))
                }
                // A path in a constant cannot be told from another: only when any path will do.
                None => {
                    paths.is_empty()
                        && first_two.first().is_some_and(|a| {
                            matches!(a.kind(), "identifier" | "selector_expression")
                        })
                }
            };
            if hit {
                out.push(n);
            }
        }
        out
    }

    fn routes(&self, out: &mut Vec<Mutation>, skips: &mut Vec<Skip>) {
        let w = Class::Weakening;
        for r in &self.exp.routes {
            let regs = self.registrations(&r.paths);
            if regs.is_empty() {
                skips.push(Skip {
                    op: "wrap_in_if",
                    class: w,
                    reason: "no registration of a claimed path found in the cited lines".into(),
                });
                continue;
            }
            let all_regs = if self.exp.queries.is_empty() {
                regs.clone()
            } else {
                self.registrations(&[])
            };
            for reg in all_regs {
                self.drop_middleware(reg, out);
            }
            for reg in regs {
                // A registration of another method than the claimed ones is not what the
                // expectation is about (its middleware may still be, below).
                let method = self.method_of(reg);
                let claimed_method = r.methods.is_empty()
                    || method
                        .as_ref()
                        .is_none_or(|m| r.methods.iter().any(|x| x.eq_ignore_ascii_case(m)));
                if claimed_method {
                    self.route_weakenings(r, reg, out, skips);
                }
            }
        }
    }

    /// The HTTP method a registration registers, when it says.
    fn method_of(&self, reg: Node) -> Option<String> {
        let f = reg.child_by_field_name("function")?;
        let name = self.t(f.child_by_field_name("field")?);
        let args = named_kids(reg.child_by_field_name("arguments")?);
        if name == "Method" || name == "MethodFunc" {
            return args.first().and_then(|a| string_value(*a, self.src));
        }
        if let Some(v) = args.first().and_then(|a| string_value(*a, self.src))
            && let Some((m, _)) = v.split_once(' ')
        {
            return Some(m.to_string());
        }
        // gorilla/mux: `.Methods("GET")` chained on the registration.
        if let Some(sel) = reg.parent().filter(|p| p.kind() == "selector_expression")
            && sel
                .child_by_field_name("field")
                .is_some_and(|x| self.t(x) == "Methods")
            && let Some(call) = sel.parent().filter(|p| p.kind() == "call_expression")
        {
            return call
                .child_by_field_name("arguments")
                .and_then(|a| a.named_child(0))
                .and_then(|a| string_value(a, self.src));
        }
        let upper = name.to_uppercase();
        [
            "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
        ]
        .contains(&upper.as_str())
        .then_some(upper)
    }

    fn route_weakenings(
        &self,
        r: &RouteExpect,
        reg: Node<'t>,
        out: &mut Vec<Mutation>,
        skips: &mut Vec<Skip>,
    ) {
        let w = Class::Weakening;
        {
            {
                match enclosing_stmt(reg) {
                    Some(stmt) => {
                        out.push(self.found("wrap_in_if", w, reg, vec![wrap_if(self.text, stmt)]))
                    }
                    None => skips.push(Skip {
                        op: "wrap_in_if",
                        class: w,
                        reason: format!(
                            "line {}: the registration is not a statement of a block",
                            line(reg)
                        ),
                    }),
                }
                // The router: the operand of the registering method, or the name a chain of
                // calls starts from (`apiRouter.Methods("GET").Path("/x")`).
                let mut operand = reg
                    .child_by_field_name("function")
                    .and_then(|f| f.child_by_field_name("operand"));
                while let Some(o) = operand.filter(|o| o.kind() == "call_expression") {
                    operand = o
                        .child_by_field_name("function")
                        .filter(|f| f.kind() == "selector_expression")
                        .and_then(|f| f.child_by_field_name("operand"));
                }
                match (&r.on, operand) {
                    (Some(_), Some(o))
                        if matches!(o.kind(), "identifier" | "selector_expression") =>
                    {
                        out.push(self.found(
                            "route_other_mux",
                            w,
                            reg,
                            vec![Edit {
                                start: o.start_byte(),
                                end: o.end_byte(),
                                text: "publicMux".into(),
                            }],
                        ))
                    }
                    (None, _) => skips.push(Skip {
                        op: "route_other_mux",
                        class: w,
                        reason: "the routes expectation names no router (`on`)".into(),
                    }),
                    _ => skips.push(Skip {
                        op: "route_other_mux",
                        class: w,
                        reason: format!(
                            "line {}: the router is a call chain, not a name",
                            line(reg)
                        ),
                    }),
                }
            }
        }
    }

    /// A middleware wrapper the ref claims (a `call` or a `query` naming it) dropped from a
    /// registration's handler.
    fn drop_middleware(&self, reg: Node<'t>, out: &mut Vec<Mutation>) {
        let w = Class::Weakening;
        {
            {
                let Some(args) = reg.child_by_field_name("arguments") else {
                    return;
                };
                let Some(handler) = named_kids(args).into_iter().last() else {
                    return;
                };
                if handler.kind() != "call_expression" {
                    return;
                }
                let callee = callee_text(handler, self.src);
                let last = callee.rsplit('.').next().unwrap_or(callee);
                let claimed = self.exp.calls.iter().any(|c| call_matches(c, callee))
                    || self.exp.queries.iter().any(|q| q.contains(last));
                let inner = handler
                    .child_by_field_name("arguments")
                    .and_then(|a| a.named_child(0));
                if let (true, Some(inner)) = (claimed, inner) {
                    out.push(self.found(
                        "drop_middleware",
                        w,
                        reg,
                        vec![Edit {
                            start: handler.start_byte(),
                            end: handler.end_byte(),
                            text: self.t(inner).to_string(),
                        }],
                    ));
                }
            }
        }
    }

    /// Calls in the cited lines matching a `call` expectation.
    fn claimed_calls(&self) -> Vec<Node<'t>> {
        all_nodes(self.root)
            .into_iter()
            .filter(|n| {
                n.kind() == "call_expression"
                    && n.child_by_field_name("function").is_some_and(|f| {
                        let name = f
                            .child_by_field_name("field")
                            .filter(|_| f.kind() == "selector_expression")
                            .unwrap_or(f);
                        self.in_range(name)
                    })
                    && self
                        .exp
                        .calls
                        .iter()
                        .any(|c| call_matches(c, callee_text(*n, self.src)))
            })
            .collect()
    }

    fn calls(&self, out: &mut Vec<Mutation>, skips: &mut Vec<Skip>) {
        if self.exp.calls.is_empty() || !self.exp.routes.is_empty() {
            // A route's `call` (its middleware) is mutated with the route.
            return;
        }
        let w = Class::Weakening;
        for call in self.claimed_calls() {
            match enclosing_stmt(call) {
                Some(stmt)
                    if stmt.kind() == "expression_statement"
                        || stmt.kind() == "assignment_statement" =>
                {
                    out.push(self.found("wrap_in_if", w, call, vec![wrap_if(self.text, stmt)]))
                }
                Some(stmt) => skips.push(Skip {
                    op: "wrap_in_if",
                    class: w,
                    reason: format!(
                        "line {}: the call is in a {} (wrapping it would change what is declared or returned after it)",
                        line(call),
                        stmt.kind()
                    ),
                }),
                None => skips.push(Skip {
                    op: "wrap_in_if",
                    class: w,
                    reason: format!("line {}: the call is not in a statement of a block", line(call)),
                }),
            }
        }
    }

    fn equivalents(&self, out: &mut Vec<Mutation>, skips: &mut Vec<Skip>) {
        let e = Class::Equivalent;
        let text = self.text;
        let first_byte = byte_of_line(text, self.lines.0);
        // The declaration of the first cited line that is in one (a range may start on the
        // declaration's doc comment).
        let decl =
            (self.lines.0..=self.lines.1).find_map(|l| top_decl(self.root, byte_of_line(text, l)));

        // A function inserted above the cited declaration.
        match decl {
            Some(d) => {
                let at = doc_start(text, d);
                out.push(Mutation {
                    op: "insert_func_above",
                    class: e,
                    line: line(d),
                    edits: vec![Edit {
                        start: at,
                        end: at,
                        text: "func anchorcheckBenchInserted() int {\n\treturn 42\n}\n\n".into(),
                    }],
                    new_file: None,
                });
            }
            None => skips.push(Skip {
                op: "insert_func_above",
                class: e,
                reason: "the cited lines are in no top-level declaration".into(),
            }),
        }

        // The function above the cited declaration (and its doc comment) deleted: the lines
        // shift up.
        let above = decl.and_then(|d| {
            let mut prev = d.prev_named_sibling();
            while let Some(p) = prev {
                if matches!(p.kind(), "function_declaration" | "method_declaration") {
                    return Some(p);
                }
                prev = p.prev_named_sibling();
            }
            None
        });
        match above {
            Some(p) => {
                let start = doc_start(text, p);
                let mut end = next_line(text, p.end_byte());
                if text[end..].starts_with('\n') {
                    end += 1;
                }
                out.push(Mutation {
                    op: "delete_lines_above",
                    class: e,
                    line: line(p),
                    edits: vec![Edit {
                        start,
                        end,
                        text: String::new(),
                    }],
                    new_file: None,
                });
            }
            None => skips.push(Skip {
                op: "delete_lines_above",
                class: e,
                reason: "no function above the cited declaration".into(),
            }),
        }

        // Comments and a blank line inside the range, or a trailing comment on a one-line one.
        let in_string = |at: usize| {
            self.root
                .descendant_for_byte_range(at, at)
                .is_some_and(|n| {
                    matches!(
                        n.kind(),
                        "raw_string_literal"
                            | "interpreted_string_literal"
                            | "raw_string_literal_content"
                            | "interpreted_string_literal_content"
                            | "comment"
                    ) && n.start_byte() < at
                })
        };
        let mut done = false;
        if self.lines.1 > self.lines.0 {
            for l in self.lines.0 + 1..=self.lines.1 {
                let at = byte_of_line(text, l);
                if at >= text.len() || in_string(at) {
                    continue;
                }
                let ind = indent_at(text, at).to_string();
                out.push(Mutation {
                    op: "add_comments",
                    class: e,
                    line: l,
                    edits: vec![Edit {
                        start: at,
                        end: at,
                        text: format!(
                            "{ind}// anchorcheck bench: a comment inside the cited range.\n\n"
                        ),
                    }],
                    new_file: None,
                });
                done = true;
                break;
            }
        } else {
            let at = next_line(text, first_byte);
            let end = if text[..at].ends_with('\n') {
                at - 1
            } else {
                at
            };
            if !in_string(end) && end > first_byte {
                out.push(Mutation {
                    op: "add_comments",
                    class: e,
                    line: self.lines.0,
                    edits: vec![Edit {
                        start: end,
                        end,
                        text: " // anchorcheck bench: reviewed".into(),
                    }],
                    new_file: None,
                });
                done = true;
            }
        }
        if !done {
            skips.push(Skip {
                op: "add_comments",
                class: e,
                reason: "every line of the range is inside a string or comment".into(),
            });
        }

        self.rewrap(out, skips);
        self.rename(decl, out, skips);

        // The cited function moved, unchanged, to a new file of its package.
        match decl {
            Some(d) if matches!(d.kind(), "function_declaration" | "method_declaration") => {
                let last_byte = byte_of_line(text, self.lines.1);
                if last_byte >= d.end_byte() || first_byte < doc_start(text, d) {
                    skips.push(Skip {
                        op: "move_func_to_file",
                        class: e,
                        reason: "the cited lines run past the function and its doc comment".into(),
                    });
                } else {
                    let start = doc_start(text, d);
                    let end = next_line(text, d.end_byte());
                    let pkg = named_kids(self.root)
                        .into_iter()
                        .find(|n| n.kind() == "package_clause")
                        .map(|p| self.t(p).to_string())
                        .unwrap_or_else(|| "package main".into());
                    let imports: Vec<&str> = named_kids(self.root)
                        .into_iter()
                        .filter(|n| n.kind() == "import_declaration")
                        .map(|n| self.t(n))
                        .collect();
                    let dir = self.path.rsplit_once('/').map_or("", |(d, _)| d);
                    let name = if dir.is_empty() {
                        "anchorcheck_moved.go".to_string()
                    } else {
                        format!("{dir}/anchorcheck_moved.go")
                    };
                    let contents =
                        format!("{pkg}\n\n{}\n\n{}", imports.join("\n\n"), &text[start..end]);
                    out.push(Mutation {
                        op: "move_func_to_file",
                        class: e,
                        line: line(d),
                        edits: vec![Edit {
                            start,
                            end,
                            text: String::new(),
                        }],
                        new_file: Some((name, contents)),
                    });
                }
            }
            _ => skips.push(Skip {
                op: "move_func_to_file",
                class: e,
                reason: "the cited lines are not in a function or method".into(),
            }),
        }
    }

    /// A cited call re-wrapped: one argument a line, or a multi-line call joined on one line.
    fn rewrap(&self, out: &mut Vec<Mutation>, skips: &mut Vec<Skip>) {
        let e = Class::Equivalent;
        let text = self.text;
        let mut calls: Vec<Node> = Vec::new();
        for r in &self.exp.routes {
            calls.extend(self.registrations(&r.paths));
        }
        calls.extend(self.claimed_calls());
        if calls.is_empty() {
            calls = all_nodes(self.root)
                .into_iter()
                .filter(|n| n.kind() == "call_expression" && self.in_range(*n))
                .collect();
        }
        let pick = calls.into_iter().find(|c| {
            c.child_by_field_name("arguments").is_some_and(|a| {
                let args = named_kids(a);
                args.len() >= 2
                    && args.iter().all(|x| x.kind() != "comment")
                    && !all_nodes(a).iter().any(|n| {
                        n.kind() == "raw_string_literal" && self.t(*n).contains('\n')
                            || n.kind() == "func_literal"
                    })
            })
        });
        let Some(call) = pick else {
            skips.push(Skip {
                op: "rewrap_call",
                class: e,
                reason: "no call with two or more plain arguments in the cited lines".into(),
            });
            return;
        };
        let a = call.child_by_field_name("arguments").expect("checked");
        let args: Vec<&str> = named_kids(a).into_iter().map(|x| self.t(x)).collect();
        let multi = a.start_position().row != a.end_position().row;
        let new = if multi {
            let joined: Vec<String> = args
                .iter()
                .map(|x| x.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            format!("({})", joined.join(", "))
        } else {
            let ind = indent_at(text, call.start_byte());
            let mut s = String::from("(\n");
            for x in &args {
                s.push_str(&format!("{ind}\t{x},\n"));
            }
            s.push_str(ind);
            s.push(')');
            s
        };
        out.push(Mutation {
            op: "rewrap_call",
            class: e,
            line: line(call),
            edits: vec![Edit {
                start: a.start_byte(),
                end: a.end_byte(),
                text: new,
            }],
            new_file: None,
        });
    }

    /// A local variable of the cited function that no expectation names, renamed throughout.
    fn rename(&self, decl: Option<Node<'t>>, out: &mut Vec<Mutation>, skips: &mut Vec<Skip>) {
        let e = Class::Equivalent;
        let Some(d) =
            decl.filter(|d| matches!(d.kind(), "function_declaration" | "method_declaration"))
        else {
            skips.push(Skip {
                op: "rename_local",
                class: e,
                reason: "the cited lines are not in a function or method".into(),
            });
            return;
        };
        let Some(body) = d.child_by_field_name("body") else {
            return;
        };
        let nodes = all_nodes(body);
        // Names declared with := or var in the body.
        let mut declared: Vec<&str> = Vec::new();
        for n in &nodes {
            let names: Vec<Node> = match n.kind() {
                "short_var_declaration" | "range_clause" => n
                    .child_by_field_name("left")
                    .map(named_kids)
                    .unwrap_or_default(),
                "var_spec" => named_kids(*n)
                    .into_iter()
                    .take_while(|k| k.kind() == "identifier")
                    .collect(),
                _ => Vec::new(),
            };
            for k in names {
                if k.kind() == "identifier" && self.t(k) != "_" {
                    declared.push(self.t(k));
                }
            }
        }
        let is_use = |n: &Node| {
            n.kind() == "identifier"
                && !n.parent().is_some_and(|p| {
                    p.kind() == "literal_element"
                        && p.parent().is_some_and(|kv| {
                            kv.kind() == "keyed_element" && kv.child_by_field_name("key") == Some(p)
                        })
                })
        };
        let named_by_exp = |name: &str| {
            self.exp.guards.iter().any(|re| re.is_match(name))
                || self.exp.words.iter().any(|w| {
                    Regex::new(&format!(r"\b{}\b", regex::escape(name)))
                        .is_ok_and(|re| re.is_match(w))
                        || Regex::new(w).is_ok_and(|re| re.is_match(name))
                })
        };
        let pick = declared.into_iter().find(|name| {
            !named_by_exp(name)
                && nodes
                    .iter()
                    .any(|n| is_use(n) && self.t(*n) == *name && self.in_range(*n))
        });
        let Some(name) = pick else {
            skips.push(Skip {
                op: "rename_local",
                class: e,
                reason: "no local variable used in the cited lines that no expectation names"
                    .into(),
            });
            return;
        };
        let new = format!("{name}Renamed");
        let edits: Vec<Edit> = nodes
            .iter()
            .filter(|n| is_use(n) && self.t(**n) == name)
            .map(|n| Edit {
                start: n.start_byte(),
                end: n.end_byte(),
                text: new.clone(),
            })
            .collect();
        out.push(Mutation {
            op: "rename_local",
            class: e,
            line: self.lines.0,
            edits,
            new_file: None,
        });
    }
}

/// Whether callee text `callee` is what a `call` expectation `pattern` names: the whole callee
/// or a suffix at a `.`, or a glob with `*`.
pub fn call_matches(pattern: &str, callee: &str) -> bool {
    if pattern.contains('*') {
        let re = format!(
            "(^|\\.){}$",
            pattern
                .split('*')
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(".*")
        );
        return Regex::new(&re).is_ok_and(|r| r.is_match(callee));
    }
    callee == pattern || callee.ends_with(&format!(".{pattern}"))
}

/// The byte where 1-based line `l` starts (the text's length past its end).
pub fn byte_of_line(text: &str, l: usize) -> usize {
    if l <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(l - 2)
        .map_or(text.len(), |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard_exp(when: &str) -> Expectations {
        Expectations {
            guards: vec![Regex::new(when).unwrap()],
            words: vec![when.into()],
            ..Default::default()
        }
    }

    fn ops(ms: &[Mutation]) -> Vec<&'static str> {
        ms.iter().map(|m| m.op).collect()
    }

    fn mutated(text: &str, ms: &[Mutation], op: &str) -> String {
        let m = ms.iter().find(|m| m.op == op).expect(op);
        apply(text, &m.edits)
    }

    const GUARD: &str = "package p

func check(tok string) error {
	v, err := parse(tok)
	if err != nil {
		return err
	}
	use(v)
	return nil
}
";

    #[test]
    fn guard_operators() {
        let (ms, _) = mutants("p/a.go", GUARD, (4, 7), &guard_exp("^err$"));
        let o = ops(&ms);
        for op in [
            "drop_abort",
            "body_to_log",
            "and_bypass",
            "comment_out",
            "return_nil",
            "log_before_abort",
            "insert_func_above",
            "add_comments",
            "rename_local",
            "move_func_to_file",
        ] {
            assert!(o.contains(&op), "{op} missing from {o:?}");
        }
        assert!(!mutated(GUARD, &ms, "drop_abort").contains("return err"));
        assert!(
            mutated(GUARD, &ms, "and_bypass")
                .contains("if err != nil && os.Getenv(\"ANCHORCHECK_BYPASS\") == \"\" {")
        );
        assert!(
            mutated(GUARD, &ms, "comment_out")
                .contains("\t// if err != nil {\n\t\t// return err\n\t// }\n")
        );
        assert!(mutated(GUARD, &ms, "return_nil").contains("\t\treturn nil\n\t}"));
        assert!(mutated(GUARD, &ms, "body_to_log").contains("if err != nil {\n\t\tlog.Printf"));
        // `err` is what the expectation names; `v` is renamed.
        let r = mutated(GUARD, &ms, "rename_local");
        assert!(r.contains("vRenamed, err := parse(tok)") && r.contains("use(vRenamed)"));
    }

    #[test]
    fn comment_out_only_the_sole_guard_of_a_when() {
        // Both guards mention `jws`: without one, the other still satisfies `^jws$`.
        let src = "package p

func f(jws []int, k int) error {
	if len(jws) == 0 {
		return errNone
	}
	if len(jws) > 1 && k > 0 {
		return errMany
	}
	return nil
}
";
        let (ms, skips) = mutants("a.go", src, (4, 9), &guard_exp("^jws$"));
        assert!(!ops(&ms).contains(&"comment_out"));
        assert!(skips.iter().any(|s| s.op == "comment_out"));
        // `^k$` is satisfied by the second guard alone: it may be commented out.
        let mut exp = guard_exp("^jws$");
        exp.guards.push(Regex::new("^k$").unwrap());
        let (ms, _) = mutants("a.go", src, (4, 9), &exp);
        let c: Vec<usize> = ms
            .iter()
            .filter(|m| m.op == "comment_out")
            .map(|m| m.line)
            .collect();
        assert_eq!(c, vec![7]);
    }

    #[test]
    fn bypass_parenthesises_a_disjunction() {
        let src = "package p\n\nfunc f() {\n\tif a || b {\n\t\tpanic(1)\n\t}\n}\n";
        let (ms, _) = mutants("a.go", src, (4, 4), &guard_exp("^a$"));
        assert!(mutated(src, &ms, "and_bypass").contains("if (a || b) && os.Getenv"));
    }

    #[test]
    fn loop_guard_continue_and_switch_case() {
        let src = "package p

func f(xs []int) error {
	for _, x := range xs {
		if x < 0 {
			continue
		}
	}
	switch {
	case bad():
		return errBad
	}
	return nil
}
";
        let (ms, _) = mutants("a.go", src, (5, 11), &guard_exp("^(x|bad)$"));
        let o = ops(&ms);
        assert!(o.contains(&"drop_continue"));
        let m = ms
            .iter()
            .find(|m| m.op == "and_bypass" && m.line == 10)
            .expect("case guard");
        assert!(apply(src, &m.edits).contains("case bad() && os.Getenv"));
    }

    #[test]
    fn tls_operators() {
        let src = "package p

import \"crypto/tls\"

func cfg() *tls.Config {
	c := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAndVerifyClientCert,
	}
	return c
}

func cfg2(c *tls.Config) {
	c.ClientAuth = tls.RequireAndVerifyClientCert
}
";
        let exp = Expectations {
            tls: vec![TlsExpect {
                client_auth: Some("require_and_verify".into()),
                min_version: Some("1.2".into()),
            }],
            ..Default::default()
        };
        let (ms, _) = mutants("a.go", src, (6, 9), &exp);
        assert!(
            mutated(src, &ms, "downgrade_client_auth").contains("ClientAuth: tls.NoClientCert")
        );
        assert!(mutated(src, &ms, "lower_min_version").contains("MinVersion: tls.VersionTLS10"));
        assert!(
            mutated(src, &ms, "insecure_skip_verify")
                .contains("\t\tInsecureSkipVerify: true,\n\t\tMinVersion")
        );
        let over = ms
            .iter()
            .find(|m| m.op == "later_override" && m.line == 8)
            .unwrap();
        assert!(apply(src, &over.edits).contains(
            "\t}\n\tif os.Getenv(\"ANCHORCHECK_X\") != \"\" {\n\t\tc.ClientAuth = tls.NoClientCert\n\t}\n\treturn c"
        ));
        let (ms, _) = mutants("a.go", src, (14, 14), &exp);
        assert!(mutated(src, &ms, "wrap_in_if").contains(
            "\tif os.Getenv(\"ANCHORCHECK_X\") != \"\" {\n\t\tc.ClientAuth = tls.RequireAndVerifyClientCert\n\t}\n"
        ));
    }

    #[test]
    fn route_operators() {
        let src = "package p

func routes(mux *http.ServeMux) {
	mux.Handle(\"/admin\", requireAuth(adminHandler))
	mux.HandleFunc(\"/healthz\", health)
}
";
        let exp = Expectations {
            routes: vec![RouteExpect {
                paths: vec!["/admin".into()],
                on: Some("mux".into()),
                methods: Vec::new(),
            }],
            calls: vec!["requireAuth".into()],
            ..Default::default()
        };
        let (ms, _) = mutants("a.go", src, (4, 4), &exp);
        assert!(
            mutated(src, &ms, "drop_middleware").contains("mux.Handle(\"/admin\", adminHandler)")
        );
        assert!(mutated(src, &ms, "route_other_mux").contains("publicMux.Handle(\"/admin\""));
        assert!(
            mutated(src, &ms, "wrap_in_if")
                .contains("\tif os.Getenv(\"ANCHORCHECK_X\") != \"\" {\n\t\tmux.Handle(")
        );
        assert!(
            mutated(src, &ms, "rewrap_call")
                .contains("mux.Handle(\n\t\t\"/admin\",\n\t\trequireAuth(adminHandler),\n\t)")
        );
        assert!(mutated(src, &ms, "add_comments").contains("adminHandler)) // anchorcheck"));
        let moved = ms.iter().find(|m| m.op == "move_func_to_file").unwrap();
        let (name, contents) = moved.new_file.clone().unwrap();
        assert_eq!(name, "anchorcheck_moved.go");
        assert!(contents.starts_with("package p\n") && contents.contains("func routes("));
        assert!(!apply(src, &moved.edits).contains("func routes("));
    }

    #[test]
    fn compound_mutants() {
        let src = format!(
            "package p\n\nfunc before() int {{\n\treturn 1\n}}\n\n{}",
            GUARD.strip_prefix("package p\n\n").unwrap()
        );
        let (ms, _) = mutants("p/a.go", &src, (8, 11), &guard_exp("^err$"));
        let get = |op: &str| ms.iter().find(|m| m.op == op).expect(op);
        // The function above, deleted with the blank line after it.
        assert_eq!(mutated(&src, &ms, "delete_lines_above"), GUARD);
        let drop = get("drop_abort");
        // Moved to a new file, weakened: the weakening goes with the function.
        let moved = combine(&src, drop, get("move_func_to_file")).unwrap();
        assert!(!moved.text.contains("func check") && moved.text.contains("func before"));
        let (name, contents) = moved.new_file.unwrap();
        assert_eq!(name, "p/anchorcheck_moved.go");
        assert!(contents.contains("func check") && !contents.contains("return err"));
        // Lines shifted down, weakened.
        let shifted = combine(&src, drop, get("insert_func_above")).unwrap();
        assert!(
            shifted.text.contains("anchorcheckBenchInserted")
                && !shifted.text.contains("return err")
        );
        assert_eq!(shifted.new_file, None);
        // A comment inserted where the commented-out guard starts lands above it.
        let out = ms
            .iter()
            .find(|m| m.op == "comment_out")
            .expect("comment_out");
        let both = combine(&src, out, get("add_comments")).unwrap();
        assert!(
            both.text
                .contains("inside the cited range.\n\n\t// if err != nil {"),
            "{}",
            both.text
        );
    }

    #[test]
    fn call_patterns() {
        assert!(call_matches("log.Fatal*", "log.Fatalf"));
        assert!(call_matches("Verify", "cert.Verify"));
        assert!(!call_matches("Lock", "u.Unlock"));
    }
}
