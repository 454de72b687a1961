//! Whether a branch can fall through to the code after it, after Go's terminating-statement
//! rules extended with fatal calls and handler returns; and why it can when it falls open.

use tree_sitter::Node;

use super::calls::{callee_text, last_segment};
use super::literals::compact;
use super::predicate::non_nil;
use super::walk::{code_children, descendants_where, statements};
use super::{GoFile, KindName};
use crate::lines::LineNo;

/// How deep nested `if`/`switch`/blocks are followed; deeper code counts as not terminating
/// rather than risking the stack.
const MAX_NESTING: usize = 200;

/// Project helpers that never return (`sinks` of `fail_closed`), by callee name.
pub type Sinks<'s> = &'s dyn Fn(&str) -> bool;

/// No project helpers: only the built-in rules.
pub fn no_sinks(_: &str) -> bool {
    false
}

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
    /// A bare `return` from a function with named results, none of them set to an error.
    ReturnsWithoutError { line: LineNo },
    /// `return x, err` where nothing on the path proves `err` non-nil: the caller may be told
    /// it succeeded.
    ReturnsPossiblyNilError { name: String, line: LineNo },
    /// An error response (`http.Error`, `w.WriteHeader`, a writer like `h.handleError`) with no
    /// `return` after it.
    ErrorResponseWithoutReturn { callee: String, line: LineNo },
    /// The branch is empty.
    Empty { line: LineNo },
    /// Anything else that can reach the end of the branch.
    FallsThrough { line: LineNo },
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
    if result.kind_name() != "parameter_list" {
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

/// What is known on entering a branch, from its guard and the guards around it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Names proven non-nil there (`err` under `if err != nil`), whitespace removed.
    pub non_nil: Vec<String>,
    /// The branch is a `switch` or `select` case, which a plain `break` only leaves for the
    /// code after the switch.
    pub in_case: bool,
}

impl Entry {
    fn with(&self, non_nil: Vec<String>, in_case: bool) -> Entry {
        let mut known = self.non_nil.clone();
        known.extend(non_nil);
        Entry {
            non_nil: known,
            in_case,
        }
    }
}

/// Whether `branch` (a block, an `if` in an else position, or a case's statements) can fall
/// through. `function` is the function enclosing it (whose results decide what a `return`
/// means); the caller knows it from its walk, which keeps 100,000 nested guards linear.
/// `sinks` names project helpers that never return; `entry` what holds on entering it.
pub fn branch_termination(
    file: &GoFile,
    branch: Node<'_>,
    function: Option<Node<'_>>,
    sinks: Sinks<'_>,
    entry: &Entry,
) -> Termination {
    let walk = Walk {
        file,
        results: results_of(file, function),
        sinks,
    };
    walk.list(branch, 0, entry)
}

/// What one branch's analysis needs to know about its surroundings.
struct Walk<'f, 's> {
    file: &'f GoFile,
    results: Results,
    sinks: Sinks<'s>,
}

impl Walk<'_, '_> {
    /// A statement list ends the branch at its first statement that cannot complete normally:
    /// whatever follows a `log.Fatal` or a `return` never runs.
    fn list(&self, branch: Node<'_>, depth: usize, entry: &Entry) -> Termination {
        let file = self.file;
        let line = file.node_lines(branch).start();
        if branch.kind_name() == "if_statement" {
            return self.statement(branch, &[], depth, entry);
        }
        let stmts = statements(branch);
        if stmts.is_empty() {
            return Termination::Open(FailOpen::Empty { line });
        }
        let mut last = None;
        for (i, stmt) in stmts.iter().enumerate() {
            match self.statement(*stmt, &stmts[..i], depth, entry) {
                Termination::Terminates(t) => return Termination::Terminates(t),
                Termination::Open(
                    open @ (FailOpen::ReturnsNilError { .. }
                    | FailOpen::ReturnsWithoutError { .. }
                    | FailOpen::ReturnsPossiblyNilError { .. }),
                ) => return Termination::Open(open),
                Termination::Open(open) => last = Some(open),
            }
        }
        let open = last.unwrap_or(FailOpen::FallsThrough { line });
        Termination::Open(diagnose(file, &stmts).unwrap_or(open))
    }

    fn statement(
        &self,
        stmt: Node<'_>,
        before: &[Node<'_>],
        depth: usize,
        entry: &Entry,
    ) -> Termination {
        let file = self.file;
        let line = file.node_lines(stmt).start();
        let falls = Termination::Open(FailOpen::FallsThrough { line });
        if depth > MAX_NESTING {
            return falls;
        }
        let terminates = |what: String| Termination::Terminates(Terminator { what, line });
        match stmt.kind_name() {
            "return_statement" => self.return_statement(stmt, before, entry),
            "goto_statement" => terminates(flat(&file.node_text(stmt))),
            // Leaves the loop body: the code after it in the loop does not run.
            "continue_statement" => terminates(flat(&file.node_text(stmt))),
            // A labelled `break` leaves the statement it names, around the guard; a plain one
            // leaves the innermost loop, switch or select, which is around the guard unless the
            // branch is itself a case (then the code after the switch runs).
            "break_statement" => {
                let labelled = code_children(stmt)
                    .iter()
                    .any(|c| c.kind_name() == "label_name");
                if labelled || !entry.in_case {
                    terminates(flat(&file.node_text(stmt)))
                } else {
                    falls
                }
            }
            "expression_statement" => match statement_callee(file, stmt) {
                Some(callee) if is_fatal_call(file, stmt, &callee) || (self.sinks)(&callee) => {
                    terminates(callee)
                }
                _ => falls,
            },
            "block" => self.list(stmt, depth + 1, entry),
            "labeled_statement" => match code_children(stmt)
                .into_iter()
                .find(|n| n.kind_name() != "label_name")
            {
                Some(inner) => self.statement(inner, before, depth + 1, entry),
                None => falls,
            },
            "if_statement" => {
                let (Some(then), Some(otherwise)) = (
                    stmt.child_by_field_name("consequence"),
                    stmt.child_by_field_name("alternative"),
                ) else {
                    return falls;
                };
                let proves = |then_branch| {
                    stmt.child_by_field_name("condition")
                        .map(|c| non_nil(file, c, then_branch))
                        .unwrap_or_default()
                };
                let first = self.list(then, depth + 1, &entry.with(proves(true), entry.in_case));
                let second = self.list(
                    otherwise,
                    depth + 1,
                    &entry.with(proves(false), entry.in_case),
                );
                match (first, second) {
                    (Termination::Terminates(t), Termination::Terminates(_)) => {
                        Termination::Terminates(t)
                    }
                    _ => falls,
                }
            }
            "for_statement" => {
                let unconditional = code_children(stmt).iter().all(|c| c.kind_name() == "block");
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
                            c.kind_name(),
                            "expression_case" | "type_case" | "communication_case" | "default_case"
                        )
                    })
                    .collect();
                if stmt.kind_name() == "select_statement" && clauses.is_empty() {
                    return terminates("select {} blocking forever".to_string());
                }
                let has_default = clauses.iter().any(|c| c.kind_name() == "default_case");
                let all_terminate = clauses.iter().all(|c| {
                    let inside = entry.with(case_non_nil(file, stmt, *c), true);
                    !has_break(*c)
                        && matches!(
                            self.list(*c, depth + 1, &inside),
                            Termination::Terminates(_)
                        )
                });
                if (has_default || stmt.kind_name() == "select_statement")
                    && all_terminate
                    && !clauses.is_empty()
                {
                    terminates(format!(
                        "{} with every case terminating",
                        stmt.kind_name().replace('_', " ")
                    ))
                } else {
                    falls
                }
            }
            _ => falls,
        }
    }

    /// A `return` ends the branch unless it reports success: `return nil` as the error, or a
    /// bare `return` leaving every named result unset. In a function without results (an
    /// HTTP handler) a `return` is the refusal itself, whatever wrote the error before it.
    fn return_statement(&self, stmt: Node<'_>, before: &[Node<'_>], entry: &Entry) -> Termination {
        let file = self.file;
        let results = &self.results;
        let line = file.node_lines(stmt).start();
        let values = code_children(stmt)
            .into_iter()
            .find(|n| n.kind_name() == "expression_list")
            .map(code_children)
            .unwrap_or_default();
        let terminates = |what: String| Termination::Terminates(Terminator { what, line });
        if let Some(last) = values.last() {
            let text = file.node_text(*last);
            if results.last_is_error {
                match error_value(file, *last, before, entry) {
                    ErrorValue::Nil => {
                        return Termination::Open(FailOpen::ReturnsNilError { line });
                    }
                    ErrorValue::Unproven(name) => {
                        return Termination::Open(FailOpen::ReturnsPossiblyNilError { name, line });
                    }
                    ErrorValue::NonNil => {}
                }
            }
            return terminates(format!("return {}", abbreviate(&text)));
        }
        let responded = before
            .iter()
            .rev()
            .find_map(|s| error_writer_call(file, *s));
        if results.count == 0 {
            return terminates(match responded {
                Some(callee) => format!("return after {callee}"),
                None => "return".to_string(),
            });
        }
        if let Some(callee) = responded {
            return terminates(format!("return after {callee}"));
        }
        if let Some(name) = &results.last_name
            && (assigns_non_nil(file, before, name) || entry.non_nil.contains(&compact(name)))
        {
            return terminates(format!("return with {name} set"));
        }
        Termination::Open(FailOpen::ReturnsWithoutError { line })
    }
}

/// What a returned error is on the path that returns it.
enum ErrorValue {
    Nil,
    /// Built in the return or known non-nil: a call (`errors.New`, `fmt.Errorf`, a wrapper),
    /// a composite literal, a sentinel (`ErrDenied`, `errNoMTLS`, a package-level variable of
    /// the file), a variable the guards on the path proved non-nil or the branch assigned.
    NonNil,
    /// A variable nothing on the path proves non-nil.
    Unproven(String),
}

fn error_value(file: &GoFile, value: Node<'_>, before: &[Node<'_>], entry: &Entry) -> ErrorValue {
    let mut value = value;
    while value.kind_name() == "parenthesized_expression" {
        match code_children(value).first() {
            Some(inner) => value = *inner,
            None => break,
        }
    }
    let text = compact(&file.node_text(value));
    if text == "nil" {
        return ErrorValue::Nil;
    }
    if !matches!(value.kind_name(), "identifier" | "selector_expression") {
        return ErrorValue::NonNil;
    }
    let name = last_segment(&text);
    // `ErrDenied`, `errNoMTLS`, `jwt.ErrExpired`, `io.EOF`: package-level errors.
    let sentinel = ["Err", "err"].iter().any(|p| {
        name.strip_prefix(p)
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }) || (value.kind_name() == "selector_expression"
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
    // Asked last: the file's package-level variables are the one thing here outside the
    // guard's function (see `GoFile::parse_cited`).
    let package_var =
        || value.kind_name() == "identifier" && file.package_vars().binary_search(&text).is_ok();
    if sentinel
        || entry.non_nil.contains(&text)
        || assigns_non_nil(file, before, &file.node_text(value))
        || package_var()
    {
        ErrorValue::NonNil
    } else {
        ErrorValue::Unproven(text)
    }
}

/// What a tagless `case x != nil:` of `switch` proves non-nil in its statements.
pub fn case_non_nil(file: &GoFile, switch: Node<'_>, clause: Node<'_>) -> Vec<String> {
    let tagless = switch.kind_name() == "expression_switch_statement"
        && switch.child_by_field_name("value").is_none();
    let values = clause
        .child_by_field_name("value")
        .map(code_children)
        .unwrap_or_default();
    match values.as_slice() {
        [only] if tagless => non_nil(file, *only, true),
        _ => Vec::new(),
    }
}

/// Whitespace collapsed.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The most telling fail-open shape of a statement list that does not terminate.
fn diagnose(file: &GoFile, stmts: &[Node<'_>]) -> Option<FailOpen> {
    for stmt in stmts.iter().rev() {
        if let Some(callee) = error_writer_call(file, *stmt) {
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

/// The callee of `stmt` when it sends an error to a client: an error writer by name, or a
/// call whose name says error and whose first argument is the response writer
/// (`render.Error(w, r, err)`), which is no logging call.
fn error_writer_call(file: &GoFile, stmt: Node<'_>) -> Option<String> {
    let callee = statement_callee(file, stmt)?;
    if is_error_writer(&callee) {
        return Some(callee);
    }
    let segment = last_segment(&callee).to_ascii_lowercase();
    let first_argument = stmt
        .named_child(0)
        .and_then(|call| call.child_by_field_name("arguments"))
        .and_then(|args| code_children(args).first().map(|a| file.node_text(*a)));
    let to_writer = first_argument.is_some_and(|a| {
        let a = a.trim();
        matches!(a, "w" | "rw" | "writer") || a.ends_with("Writer")
    });
    (to_writer && segment.contains("err")).then_some(callee)
}

/// True when one of `stmts` assigns (or declares) `name` with something other than `nil`.
fn assigns_non_nil(file: &GoFile, stmts: &[Node<'_>], name: &str) -> bool {
    stmts.iter().any(|s| {
        if !matches!(
            s.kind_name(),
            "assignment_statement" | "short_var_declaration"
        ) {
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
                n.kind_name(),
                "for_statement"
                    | "expression_switch_statement"
                    | "type_switch_statement"
                    | "select_statement"
                    | "func_literal"
            )
    })
    .any(|n| n.kind_name() == "break_statement")
}

/// The callee of an expression statement that is a call.
pub fn statement_callee(file: &GoFile, stmt: Node<'_>) -> Option<String> {
    let expr = (stmt.kind_name() == "expression_statement")
        .then(|| stmt.named_child(0))
        .flatten()
        .unwrap_or(stmt);
    callee_text(file, expr)
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

/// Error responses and the project's own error writers, by name: `h.handleError`,
/// `writeJSONError`, `s.renderErr`, `forbidden`. Logging calls are not writers.
pub fn is_error_writer(callee: &str) -> bool {
    const WORDS: [&str; 5] = ["error", "forbid", "unauthori", "deny", "reject"];
    if is_error_response(callee) {
        return true;
    }
    let segment = last_segment(callee).to_ascii_lowercase();
    !is_logging(callee)
        && !matches!(callee, "fmt.Errorf" | "errors.New")
        && (WORDS.iter().any(|w| segment.contains(w)) || segment.ends_with("err"))
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
