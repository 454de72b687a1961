//! Whether a branch terminates on every path, after Go's terminating-statement rules, extended
//! with fatal calls and error responses; and why it does not when it falls open.

use tree_sitter::Node;

use super::GoFile;
use super::calls::{callee_text, last_segment};
use super::walk::{code_children, descendants_where, statements};
use crate::lines::LineNo;

/// How deep nested `if`/`switch`/blocks are followed; deeper code counts as not terminating
/// rather than risking the stack.
const MAX_NESTING: usize = 200;

/// The statement that ends a branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminator {
    /// What it is: `log.Fatalf`, `panic`, `return fmt.Errorf(...)`, `return after http.Error`.
    pub what: String,
    pub line: LineNo,
}

/// Why a branch does not terminate: the fail-open shapes worth naming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailOpen {
    /// Every statement is a logging call; execution continues after the `if`.
    OnlyLogs { line: LineNo },
    /// `return nil` (or `return x, nil`) from a function whose last result is `error`.
    ReturnsNilError { line: LineNo },
    /// A bare `return` with no error response or error value before it.
    ReturnsWithoutError { line: LineNo },
    /// An error response (`http.Error`, `w.WriteHeader`) with no `return` after it.
    ErrorResponseWithoutReturn { callee: String, line: LineNo },
    /// The branch is empty.
    Empty { line: LineNo },
    /// Anything else that can reach the end of the branch.
    FallsThrough { line: LineNo },
}

impl FailOpen {
    pub fn line(&self) -> LineNo {
        match self {
            FailOpen::OnlyLogs { line }
            | FailOpen::ReturnsNilError { line }
            | FailOpen::ReturnsWithoutError { line }
            | FailOpen::ErrorResponseWithoutReturn { line, .. }
            | FailOpen::Empty { line }
            | FailOpen::FallsThrough { line } => *line,
        }
    }
}

/// The outcome for one branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Termination {
    Terminates(Terminator),
    Open(FailOpen),
}

impl Termination {
    pub fn terminator(&self) -> Option<&Terminator> {
        match self {
            Termination::Terminates(t) => Some(t),
            Termination::Open(_) => None,
        }
    }
}

/// What the enclosing function returns, which decides what a `return` means.
#[derive(Clone, Debug, Default)]
struct Results {
    count: usize,
    last_is_error: bool,
    /// The name of the last result when results are named.
    last_name: Option<String>,
}

fn results_of(file: &GoFile, function: Option<Node<'_>>) -> Results {
    let Some(function) = function else {
        return Results::default();
    };
    let Some(result) = function.child_by_field_name("result") else {
        return Results::default();
    };
    if result.kind() != "parameter_list" {
        return Results {
            count: 1,
            last_is_error: file.node_text(result).trim() == "error",
            last_name: None,
        };
    }
    let mut count = 0;
    let mut last = Results::default();
    for declaration in code_children(result) {
        let mut cursor = declaration.walk();
        let names: Vec<String> = declaration
            .children_by_field_name("name", &mut cursor)
            .map(|n| file.node_text(n))
            .collect();
        let is_error = declaration
            .child_by_field_name("type")
            .is_some_and(|t| file.node_text(t).trim() == "error");
        count += names.len().max(1);
        last = Results {
            count: 0,
            last_is_error: is_error,
            last_name: names.last().cloned(),
        };
    }
    Results { count, ..last }
}

/// Whether `branch` (a block, an `if` in an else position, or a case's statements) terminates.
/// `function` is the function enclosing it (whose results decide what a `return` means); the
/// caller knows it from its walk, which keeps 100,000 nested guards linear.
pub fn branch_termination(
    file: &GoFile,
    branch: Node<'_>,
    function: Option<Node<'_>>,
) -> Termination {
    let results = results_of(file, function);
    list_termination(file, branch, &results, 0)
}

fn list_termination(
    file: &GoFile,
    branch: Node<'_>,
    results: &Results,
    depth: usize,
) -> Termination {
    let line = file.node_lines(branch).start();
    if branch.kind() == "if_statement" {
        return statement_termination(file, branch, &[], results, depth);
    }
    let stmts = statements(branch);
    let Some((last, before)) = stmts.split_last() else {
        return Termination::Open(FailOpen::Empty { line });
    };
    match statement_termination(file, *last, before, results, depth) {
        Termination::Terminates(t) => Termination::Terminates(t),
        Termination::Open(
            open @ (FailOpen::ReturnsNilError { .. } | FailOpen::ReturnsWithoutError { .. }),
        ) => Termination::Open(open),
        Termination::Open(open) => Termination::Open(diagnose(file, &stmts).unwrap_or(open)),
    }
}

/// The most telling fail-open shape of a statement list that does not terminate.
fn diagnose(file: &GoFile, stmts: &[Node<'_>]) -> Option<FailOpen> {
    for stmt in stmts.iter().rev() {
        if let Some(callee) = statement_callee(file, *stmt)
            && is_error_response(&callee)
        {
            let line = file.node_lines(*stmt).start();
            return Some(FailOpen::ErrorResponseWithoutReturn { callee, line });
        }
    }
    let only_logs = stmts
        .iter()
        .all(|s| statement_callee(file, *s).is_some_and(|c| is_logging(&c)));
    let first = file.node_lines(*stmts.first()?).start();
    only_logs.then_some(FailOpen::OnlyLogs { line: first })
}

fn statement_termination(
    file: &GoFile,
    stmt: Node<'_>,
    before: &[Node<'_>],
    results: &Results,
    depth: usize,
) -> Termination {
    let line = file.node_lines(stmt).start();
    let falls = Termination::Open(FailOpen::FallsThrough { line });
    if depth > MAX_NESTING {
        return falls;
    }
    let terminates = |what: String| Termination::Terminates(Terminator { what, line });
    match stmt.kind() {
        "return_statement" => return_termination(file, stmt, before, results),
        "goto_statement" => terminates("goto".to_string()),
        "expression_statement" => match statement_callee(file, stmt) {
            Some(callee) if is_fatal_call(file, stmt, &callee) => terminates(callee),
            _ => falls,
        },
        "block" => list_termination(file, stmt, results, depth + 1),
        "labeled_statement" => match code_children(stmt)
            .into_iter()
            .find(|n| n.kind() != "label_name")
        {
            Some(inner) => statement_termination(file, inner, before, results, depth + 1),
            None => falls,
        },
        "if_statement" => {
            let (Some(then), Some(otherwise)) = (
                stmt.child_by_field_name("consequence"),
                stmt.child_by_field_name("alternative"),
            ) else {
                return falls;
            };
            let first = list_termination(file, then, results, depth + 1);
            let second = list_termination(file, otherwise, results, depth + 1);
            match (first, second) {
                (Termination::Terminates(t), Termination::Terminates(_)) => {
                    Termination::Terminates(t)
                }
                _ => falls,
            }
        }
        "for_statement" => {
            let unconditional = code_children(stmt).iter().all(|c| c.kind() == "block");
            if unconditional && !has_break(stmt) {
                terminates("endless for loop".to_string())
            } else {
                falls
            }
        }
        "expression_switch_statement" | "type_switch_statement" | "select_statement" => {
            let clauses: Vec<Node<'_>> = code_children(stmt)
                .into_iter()
                .filter(|c| {
                    matches!(
                        c.kind(),
                        "expression_case" | "type_case" | "communication_case" | "default_case"
                    )
                })
                .collect();
            let has_default = clauses.iter().any(|c| c.kind() == "default_case");
            let all_terminate = clauses.iter().all(|c| {
                !has_break(*c)
                    && matches!(
                        list_termination(file, *c, results, depth + 1),
                        Termination::Terminates(_)
                    )
            });
            if (has_default || stmt.kind() == "select_statement")
                && all_terminate
                && !clauses.is_empty()
            {
                terminates(format!(
                    "{} with every case terminating",
                    stmt.kind().replace('_', " ")
                ))
            } else {
                falls
            }
        }
        _ => falls,
    }
}

fn return_termination(
    file: &GoFile,
    stmt: Node<'_>,
    before: &[Node<'_>],
    results: &Results,
) -> Termination {
    let line = file.node_lines(stmt).start();
    let values = code_children(stmt)
        .into_iter()
        .find(|n| n.kind() == "expression_list")
        .map(code_children)
        .unwrap_or_default();
    let responded = before
        .iter()
        .filter_map(|s| statement_callee(file, *s))
        .find(|c| is_error_response(c));
    let terminates = |what: String| Termination::Terminates(Terminator { what, line });
    if let Some(last) = values.last() {
        let text = file.node_text(*last);
        if results.last_is_error && text.trim() == "nil" {
            return Termination::Open(FailOpen::ReturnsNilError { line });
        }
        return terminates(format!("return {}", abbreviate(&text)));
    }
    if let Some(callee) = responded {
        return terminates(format!("return after {callee}"));
    }
    if results.count > 0
        && let Some(name) = &results.last_name
        && assigns_non_nil(file, before, name)
    {
        return terminates(format!("return with {name} set"));
    }
    Termination::Open(FailOpen::ReturnsWithoutError { line })
}

/// True when one of `stmts` assigns something other than `nil` to `name`.
fn assigns_non_nil(file: &GoFile, stmts: &[Node<'_>], name: &str) -> bool {
    stmts.iter().any(|s| {
        if s.kind() != "assignment_statement" {
            return false;
        }
        let (Some(left), Some(right)) = (
            s.child_by_field_name("left"),
            s.child_by_field_name("right"),
        ) else {
            return false;
        };
        let lefts = code_children(left);
        let rights = code_children(right);
        lefts
            .iter()
            .position(|l| file.node_text(*l) == name)
            .and_then(|i| rights.get(i))
            .is_some_and(|r| file.node_text(*r).trim() != "nil")
    })
}

/// True when a `break` inside `node` (not inside a nested loop, switch or select) exits it.
fn has_break(node: Node<'_>) -> bool {
    let root_id = node.id();
    descendants_where(node, |n| {
        n.id() == root_id
            || !matches!(
                n.kind(),
                "for_statement"
                    | "expression_switch_statement"
                    | "type_switch_statement"
                    | "select_statement"
                    | "func_literal"
            )
    })
    .any(|n| n.kind() == "break_statement")
}

/// The callee of an expression statement that is a call.
pub fn statement_callee(file: &GoFile, stmt: Node<'_>) -> Option<String> {
    let expr = (stmt.kind() == "expression_statement")
        .then(|| stmt.named_child(0))
        .flatten()
        .unwrap_or(stmt);
    (expr.kind() == "call_expression")
        .then(|| callee_text(file, expr))
        .flatten()
}

fn is_fatal_call(file: &GoFile, stmt: Node<'_>, callee: &str) -> bool {
    let segment = last_segment(callee);
    let qualified = callee.contains('.');
    match callee {
        "panic" | "runtime.Goexit" => return true,
        "os.Exit" => {
            let arg = stmt
                .named_child(0)
                .and_then(|call| call.child_by_field_name("arguments"))
                .and_then(|args| code_children(args).first().copied());
            return arg.is_none_or(|a| file.node_text(a).trim() != "0");
        }
        _ => {}
    }
    qualified
        && (segment.starts_with("Fatal") || segment.starts_with("Panic") || segment == "FailNow")
}

/// Calls that send an error to an HTTP client.
pub fn is_error_response(callee: &str) -> bool {
    let segment = last_segment(callee);
    callee == "http.Error"
        || callee == "http.NotFound"
        || segment == "WriteHeader"
        || (callee.contains('.') && segment.starts_with("Abort"))
}

/// Calls that only log: `log.Printf`, `logger.Warn`, `t.Logf`, `fmt.Println`, `klog.Errorf`.
pub fn is_logging(callee: &str) -> bool {
    const LOGGING: [&str; 12] = [
        "Print", "Warn", "Error", "Info", "Debug", "Log", "Trace", "Notice", "Fprint", "V",
        "Output", "Sugar",
    ];
    let segment = last_segment(callee);
    callee.contains('.')
        && !is_error_response(callee)
        && LOGGING.iter().any(|p| segment.starts_with(p))
}

/// A one-line, bounded rendering of an expression for messages.
fn abbreviate(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 40 {
        let head: String = flat.chars().take(37).collect();
        format!("{head}...")
    } else {
        flat
    }
}
