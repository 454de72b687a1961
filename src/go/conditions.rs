//! The conditions a construct runs under inside its function (the `if` branches, `switch` cases
//! and `select` cases between it and the function body), and whether one statement can run
//! after another. Both come from one descent from the root to the construct, never from walks
//! up through `Node::parent`, which searches from the root at every step.
//!
//! A branch whose other branch ends by leaving (`if err != nil { return err } else { .. }`),
//! or a `switch` case whose every other clause, `default` among them, ends by leaving, is not
//! one either: it is the only way on, like the code after a guard. Loops are not conditions: a registration in `for _, r := range routes { ... }` runs for
//! every route. Neither are `if` conditions or init statements themselves: in
//! `if err := srv.ListenAndServeTLS(...); err != nil`, the call always runs. A closure passed
//! to a router's `Route` or `Group` runs when the router is built, so the conditions around the
//! call that passes it still apply inside it; any other function literal starts afresh.

use regex::Regex;
use tree_sitter::Node;

use super::KindName;
use super::calls::{CallSite, callee_text};
use super::routers::selector_call;
use super::walk::{code_children, is_function, statements};
use super::{GoFile, MAX_NODE_TEXT};
use crate::lines::{LineNo, LineRange};

impl CallSite {
    /// The conditions the call runs under inside its function, outermost first, less those of
    /// a refusal it is part of. In a branch that ends by leaving, a call (an error writer, a
    /// log line, `conn.Close()` before `return`, the `errors.New(..)` it returns) is the
    /// guard's response: the conditions from that branch outwards are the guard's, which
    /// `fail_closed` judges, while conditions inside the branch still count.
    pub fn conditions(&self, file: &GoFile) -> Vec<Condition> {
        let all = conditions_at(file, self.bytes, self.head);
        match all.iter().rposition(|c| c.leaves) {
            Some(k) => all[k + 1..].to_vec(),
            None => all,
        }
    }
}

/// How many levels a descent goes down before giving up: real statements sit a few dozen
/// levels deep; a construct deeper than this is reported as under a condition rather than
/// walked, so that hostile nesting stays linear.
const MAX_DEPTH: usize = 512;

/// One condition a construct runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// How messages name it: `when cfg.X != nil`, `when a is false (line 12)`, `in case "h2"
    /// of the switch at line 40`, `in the default case at line 9`, `in the select case at
    /// line 3`.
    pub phrase: String,
    /// The source a `when:` regex is matched against, whitespace runs folded to one space: an
    /// `if`'s condition and init statement; a `switch` case's values and the switch's tag; a
    /// `select` case's communication.
    pub texts: Vec<String>,
    /// The line of the `if`, `switch` or `select`.
    pub line: LineNo,
    /// All the lines of that statement.
    pub statement: LineRange,
    /// The branch ends by leaving (`return`, `continue`, `break`, `goto`, `panic`,
    /// `log.Fatal*`, `os.Exit`): it is a guard's response, whose condition is the guard's.
    pub leaves: bool,
}

impl Condition {
    /// True when `when` matches one of the texts it is written as (the empty text, for a
    /// condition written as none: a tagless switch's `default`, a `select`'s `default`).
    pub fn matches(&self, when: &Regex) -> bool {
        if self.texts.is_empty() {
            return when.is_match("");
        }
        self.texts.iter().any(|t| when.is_match(t))
    }
}

/// The first of `conditions` that `when` does not match (the first of them when there is no
/// `when`).
pub fn unmatched<'c>(conditions: &'c [Condition], when: Option<&Regex>) -> Option<&'c Condition> {
    conditions
        .iter()
        .find(|c| when.is_none_or(|w| !c.matches(w)))
}

/// One level of a descent: a node, and the field of its parent it fills.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    pub node: Node<'a>,
    pub field: Option<&'a str>,
}

/// The nodes from the root down to the innermost one holding `bytes` (a construct's byte
/// range); `None` when that is deeper than `MAX_DEPTH` levels.
pub fn path_to(file: &GoFile, bytes: (usize, usize)) -> Option<Vec<Step<'_>>> {
    let (start, end) = bytes;
    let mut cursor = file.root().walk();
    let mut steps = vec![Step {
        node: cursor.node(),
        field: None,
    }];
    loop {
        if steps.len() > MAX_DEPTH {
            return None;
        }
        if cursor.goto_first_child_for_byte(start).is_none() {
            return Some(steps);
        }
        let child = cursor.node();
        if child.start_byte() > start || child.end_byte() < end {
            return Some(steps);
        }
        steps.push(Step {
            node: child,
            field: cursor.field_name(),
        });
    }
}

/// The conditions the construct holding `bytes` runs under, outermost first.
pub fn conditions_at(file: &GoFile, bytes: (usize, usize), line: LineNo) -> Vec<Condition> {
    match path_to(file, bytes) {
        Some(path) => conditions(file, &path),
        None => vec![Condition {
            phrase: "deep inside nested statements".to_string(),
            texts: Vec::new(),
            line,
            statement: LineRange::single(line),
            leaves: false,
        }],
    }
}

/// The conditions along `path` since its innermost function, outermost first.
pub fn conditions(file: &GoFile, path: &[Step<'_>]) -> Vec<Condition> {
    let mut out = Vec::new();
    for (i, step) in path.iter().enumerate() {
        let node = step.node;
        if is_function(node) {
            if !is_router_closure(file, path, i) {
                out.clear();
            }
            continue;
        }
        let Some(parent) = i.checked_sub(1).map(|j| path[j].node) else {
            continue;
        };
        let line = file.node_lines(parent).start();
        match (parent.kind_name(), step.field, node.kind_name()) {
            // A branch whose other branch leaves is the way on, as the code after a guard is.
            ("if_statement", Some("consequence"), _)
                if parent
                    .child_by_field_name("alternative")
                    .is_some_and(|other| leaves(file, other)) => {}
            ("if_statement", Some("alternative"), _)
                if parent
                    .child_by_field_name("consequence")
                    .is_some_and(|other| leaves(file, other)) => {}
            ("if_statement", Some("consequence"), _) => {
                let (cond, texts) = if_texts(file, parent);
                out.push(Condition {
                    phrase: format!("when {cond}"),
                    texts,
                    line,
                    statement: file.node_lines(parent),
                    leaves: leaves(file, node),
                });
            }
            ("if_statement", Some("alternative"), _) => {
                let (cond, texts) = if_texts(file, parent);
                out.push(Condition {
                    phrase: format!("when {cond} is false (line {line})"),
                    texts,
                    line,
                    statement: file.node_lines(parent),
                    leaves: leaves(file, node),
                });
            }
            (
                "expression_switch_statement" | "type_switch_statement" | "select_statement",
                _,
                _,
            ) if is_case(node) && only_way_on(file, parent, node) => {}
            (
                "expression_switch_statement" | "type_switch_statement",
                _,
                "expression_case" | "type_case" | "default_case",
            ) => {
                let tag = parent.child_by_field_name("value").map(|v| text(file, v));
                let values = match node.kind_name() {
                    "expression_case" => node.child_by_field_name("value").map(|v| text(file, v)),
                    "type_case" => {
                        let mut cursor = node.walk();
                        let types: Vec<String> = node
                            .children_by_field_name("type", &mut cursor)
                            .filter(|n| n.is_named())
                            .map(|n| text(file, n))
                            .collect();
                        (!types.is_empty()).then(|| types.join(", "))
                    }
                    _ => None,
                };
                let phrase = match &values {
                    Some(v) => format!("in case {} of the switch at line {line}", abbreviate(v)),
                    None => format!("in the default case at line {line}"),
                };
                out.push(Condition {
                    phrase,
                    texts: values.into_iter().chain(tag).collect(),
                    line,
                    statement: file.node_lines(parent),
                    leaves: leaves(file, node),
                });
            }
            ("select_statement", _, "communication_case" | "default_case") => {
                let communication = node
                    .child_by_field_name("communication")
                    .map(|c| text(file, c));
                out.push(Condition {
                    phrase: format!("in the select case at line {line}"),
                    texts: communication.into_iter().collect(),
                    line,
                    statement: file.node_lines(parent),
                    leaves: leaves(file, node),
                });
            }
            _ => {}
        }
    }
    out
}

/// True when a branch (a block, an `else if`, a case clause) ends by leaving: its last
/// statement is `return`, `continue`, `break`, `goto` or a call that never returns.
fn leaves(file: &GoFile, branch: Node<'_>) -> bool {
    if branch.kind_name() == "if_statement" {
        return false;
    }
    let Some(last) = statements(branch).last().copied() else {
        return false;
    };
    match last.kind_name() {
        "return_statement" | "continue_statement" | "break_statement" | "goto_statement" => true,
        "expression_statement" => last
            .named_child(0)
            .and_then(|call| callee_text(file, call))
            .is_some_and(|callee| never_returns(&callee)),
        _ => false,
    }
}

/// Calls that never return: `panic`, `os.Exit`, `runtime.Goexit`, `log.Fatal*`, `*.Fatal*`,
/// `*.Panic*`, `t.FailNow`.
fn never_returns(callee: &str) -> bool {
    let last = callee.rsplit_once('.').map_or(callee, |(_, l)| l);
    matches!(
        callee,
        "panic" | "os.Exit" | "runtime.Goexit" | "syscall.Exit"
    ) || (callee.contains('.')
        && (last.starts_with("Fatal") || last.starts_with("Panic") || last == "FailNow"))
}

/// An `if`'s condition as messages show it, and the texts `when:` is matched against.
fn if_texts(file: &GoFile, statement: Node<'_>) -> (String, Vec<String>) {
    let condition = statement
        .child_by_field_name("condition")
        .map(|c| text(file, c))
        .unwrap_or_default();
    let mut texts = vec![condition.clone()];
    texts.extend(
        statement
            .child_by_field_name("initializer")
            .map(|i| text(file, i)),
    );
    (abbreviate(&condition), texts)
}

/// True when `path[i]`, a function literal, is passed to a router's `Route` or `Group`, which
/// call it while the router is built.
fn is_router_closure(file: &GoFile, path: &[Step<'_>], i: usize) -> bool {
    if path[i].node.kind_name() != "func_literal" || i < 2 {
        return false;
    }
    let (arguments, call) = (path[i - 1].node, path[i - 2].node);
    arguments.kind_name() == "argument_list"
        && call.kind_name() == "call_expression"
        && selector_call(file, call)
            .is_some_and(|(_, method)| matches!(method.as_str(), "Route" | "Group"))
}

/// Whether code at `later` can run after code at `earlier` in one call of the function that
/// holds both (`later` starting after `earlier` ends): false when they are in different
/// functions, in different branches of one `if`, in different cases of one `switch` or
/// `select`, or when a `return` follows `earlier` in a block that `later` is not in.
pub fn runs_after(earlier: &[Step<'_>], later: &[Step<'_>]) -> bool {
    let function = |path: &[Step<'_>]| {
        path.iter()
            .rev()
            .find(|s| is_function(s.node))
            .map(|s| s.node.id())
    };
    if function(earlier) != function(later) {
        return false;
    }
    let common = earlier
        .iter()
        .zip(later)
        .take_while(|(a, b)| a.node.id() == b.node.id())
        .count();
    if common == 0 || common >= earlier.len() || common >= later.len() {
        return true;
    }
    let parent = earlier[common - 1].node;
    let (a, b) = (earlier[common], later[common]);
    let exclusive = match parent.kind_name() {
        "if_statement" => {
            matches!(
                (a.field, b.field),
                (Some("consequence"), Some("alternative"))
                    | (Some("alternative"), Some("consequence"))
            )
        }
        "expression_switch_statement" | "type_switch_statement" | "select_statement" => {
            is_case(a.node) && is_case(b.node) && !falls_through(a.node)
        }
        _ => false,
    };
    if exclusive {
        return false;
    }
    // A `return` after `earlier` in one of its own blocks ends every path from it there.
    (common..earlier.len().saturating_sub(1)).all(|j| {
        let list = earlier[j].node;
        if list.kind_name() != "statement_list" {
            return true;
        }
        let statement_end = earlier[j + 1].node.end_byte();
        !code_children(list)
            .into_iter()
            .any(|s| s.start_byte() >= statement_end && s.kind_name() == "return_statement")
    })
}

/// True when every other clause of a `switch` or `select` ends by leaving and one of them or
/// `case` itself is the `default` (a `select` always takes a clause): `case` is then the only
/// way on, as the code after a guard is.
fn only_way_on(file: &GoFile, statement: Node<'_>, case: Node<'_>) -> bool {
    let clauses: Vec<Node<'_>> = code_children(statement)
        .into_iter()
        .filter(|n| is_case(*n))
        .collect();
    let others: Vec<&Node<'_>> = clauses.iter().filter(|c| c.id() != case.id()).collect();
    let exhaustive = statement.kind_name() == "select_statement"
        || clauses.iter().any(|c| c.kind_name() == "default_case");
    exhaustive && !others.is_empty() && others.iter().all(|c| leaves(file, **c))
}

fn is_case(node: Node<'_>) -> bool {
    matches!(
        node.kind_name(),
        "expression_case" | "type_case" | "default_case" | "communication_case"
    )
}

/// True when a case clause ends in `fallthrough`, so the next case runs after it.
fn falls_through(case: Node<'_>) -> bool {
    code_children(case)
        .into_iter()
        .filter(|n| n.kind_name() == "statement_list")
        .flat_map(code_children)
        .last()
        .is_some_and(|s| s.kind_name() == "fallthrough_statement")
}

/// A node's source on one line (whitespace runs folded), or its size when too long to copy.
fn text(file: &GoFile, node: Node<'_>) -> String {
    file.short_text(node, MAX_NODE_TEXT)
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| format!("<{} bytes>", node.byte_range().len()))
}

/// One line, at most 60 characters, for messages.
fn abbreviate(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 60 {
        format!("{}...", flat.chars().take(57).collect::<String>())
    } else {
        flat
    }
}

/// A regex every one of `conditions` matches: each one's first text, escaped, as alternatives;
/// for suggestions. `None` when there are none or one has no text.
pub fn suggested_when(conditions: &[&Condition]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for condition in conditions {
        let first = condition.texts.first()?;
        let escaped = regex::escape(first);
        if !parts.contains(&escaped) {
            parts.push(escaped);
        }
    }
    (!parts.is_empty()).then(|| parts.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(src: &str) -> GoFile {
        GoFile::parse(src.as_bytes().to_vec()).unwrap()
    }

    /// The byte range of the first occurrence of `needle`.
    fn bytes_of(src: &str, needle: &str) -> (usize, usize) {
        let start = src.find(needle).unwrap();
        (start, start + needle.len())
    }

    fn phrases(src: &str, needle: &str) -> Vec<String> {
        let f = file(src);
        let path = path_to(&f, bytes_of(src, needle)).unwrap();
        conditions(&f, &path)
            .into_iter()
            .map(|c| c.phrase)
            .collect()
    }

    #[test]
    fn branches_and_cases_are_conditions_loops_and_init_statements_are_not() {
        let src = "package a\nfunc f() {\n\tif os.Getenv(\"X\") != \"\" {\n\t\ta()\n\t} else {\n\t\tb()\n\t}\n\tfor _, r := range rs {\n\t\tc()\n\t}\n\tif err := d(); err != nil {\n\t\treturn\n\t}\n\tswitch mode {\n\tcase \"strict\":\n\t\te()\n\tdefault:\n\t\tg()\n\t}\n}\n";
        assert_eq!(phrases(src, "a()"), ["when os.Getenv(\"X\") != \"\""]);
        assert_eq!(
            phrases(src, "b()"),
            ["when os.Getenv(\"X\") != \"\" is false (line 3)"]
        );
        assert!(phrases(src, "c()").is_empty());
        assert!(phrases(src, "d()").is_empty());
        assert_eq!(
            phrases(src, "e()"),
            ["in case \"strict\" of the switch at line 14"]
        );
        assert_eq!(phrases(src, "g()"), ["in the default case at line 14"]);
        let guarded = "package a\nfunc f() error {\n\tif err != nil {\n\t\treturn err\n\t} else {\n\t\ta()\n\t}\n\tif ok {\n\t\tb()\n\t} else {\n\t\tpanic(1)\n\t}\n\treturn nil\n}\n";
        assert!(phrases(guarded, "a()").is_empty());
        assert!(phrases(guarded, "b()").is_empty());
        let switched = "package a\nfunc f(mode string) error {\n\tswitch mode {\n\tcase \"strict\":\n\t\ta()\n\tdefault:\n\t\treturn errUnknown\n\t}\n\tswitch mode {\n\tcase \"x\":\n\t\tb()\n\tcase \"y\":\n\t\treturn errY\n\t}\n\treturn nil\n}\n";
        assert!(phrases(switched, "a()").is_empty());
        assert_eq!(
            phrases(switched, "b()"),
            ["in case \"x\" of the switch at line 9"]
        );
    }

    #[test]
    fn closures_start_afresh_unless_a_router_calls_them() {
        let src = "package a\nfunc f() {\n\tif on {\n\t\tr.Route(\"/v1\", func(r chi.Router) {\n\t\t\tr.Get(\"/a\", h)\n\t\t})\n\t\tgo func() {\n\t\t\tb()\n\t\t}()\n\t}\n}\n";
        assert_eq!(phrases(src, "r.Get"), ["when on"]);
        assert!(phrases(src, "b()").is_empty());
    }

    #[test]
    fn a_case_matches_by_its_values_or_the_switch_tag() {
        let src = "package a\nfunc f() {\n\tswitch c.ClientAuth {\n\tcase \"RequireAndVerifyClientCert\":\n\t\tx()\n\t}\n}\n";
        let f = file(src);
        let path = path_to(&f, bytes_of(src, "x()")).unwrap();
        let found = conditions(&f, &path);
        assert!(found[0].matches(&Regex::new("RequireAndVerify").unwrap()));
        assert!(found[0].matches(&Regex::new("^c\\.ClientAuth$").unwrap()));
        assert!(!found[0].matches(&Regex::new("Getenv").unwrap()));
    }

    #[test]
    fn later_code_in_another_branch_or_after_a_return_does_not_run_after() {
        let src = "package a\nfunc f() {\n\tswitch m {\n\tcase 1:\n\t\tone()\n\tcase 2:\n\t\ttwo()\n\t}\n\tif x {\n\t\tthree()\n\t\treturn\n\t}\n\tfour()\n\tif y {\n\t\tfive()\n\t}\n}\nfunc g() {\n\tsix()\n}\n";
        let f = file(src);
        let at = |needle: &str| path_to(&f, bytes_of(src, needle)).unwrap();
        assert!(!runs_after(&at("one()"), &at("two()")));
        assert!(runs_after(&at("one()"), &at("four()")));
        assert!(!runs_after(&at("three()"), &at("four()")));
        assert!(runs_after(&at("four()"), &at("five()")));
        assert!(!runs_after(&at("five()"), &at("six()")));
    }
}
