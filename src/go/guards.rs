//! Guards: `if` statements, and the cases of tagless `switch` and `select` statements, with
//! what their conditions mention and whether their branches end.

use std::borrow::Cow;
use std::collections::HashSet;

use tree_sitter::Node;

use super::KindName;
use super::ancestry::Ancestry;
use super::literals::compact;
use super::predicate::{Predicate, non_nil};
use super::termination::{
    Entry, FailOpen, Sinks, Termination, branch_termination, case_non_nil, no_sinks,
};
use super::walk::{code_children, descendants, is_function};
use super::{GoFile, MAX_NODE_TEXT, Placement, nodes_of_kinds_placed};
use crate::lines::{LineNo, LineRange};

/// Longest selector or callee worth reporting as a mention.
const MAX_MENTION: usize = 256;

/// How far up from a guard the guards around it are asked what they prove non-nil.
const MAX_ENCLOSING_STEPS: usize = 24;

/// One `if` statement, or one case of a tagless `switch` (`case err != nil:`) or a `select`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guard {
    /// `if`, or `case` for a switch or select case.
    pub keyword: &'static str,
    pub lines: LineRange,
    /// The condition's text, whitespace collapsed (`<N bytes>` when very long).
    pub condition: String,
    /// Identifiers, fields, selectors and callees in the condition and the init statement,
    /// in source order without duplicates (`cfg.MTLSRequired`, `cfg`, `MTLSRequired`, `err`,
    /// `validateMTLS`).
    pub mentions: Vec<String>,
    /// Whether the `then` block terminates.
    pub then_branch: Termination,
    /// Whether the `else` branch (block or `else if`) terminates, when there is one.
    pub else_branch: Option<Termination>,
    /// The condition taken apart, to compare with another version of the guard; `None` when
    /// it is too large, or is a communication (`case <-ctx.Done():`).
    pub parts: Option<Predicate>,
}

impl Guard {
    /// The `if` (or `case`) line: a range citing it cites the whole guard.
    pub fn line(&self) -> LineNo {
        self.lines.start()
    }

    /// The first branch that terminates on every path.
    pub fn terminating_branch(&self) -> Option<&Termination> {
        std::iter::once(&self.then_branch)
            .chain(self.else_branch.as_ref())
            .find(|t| t.terminator().is_some())
    }
}

/// Guards whose `if` (or `case`) line lies inside `region`, in source order.
pub fn guards(file: &GoFile, region: LineRange) -> Cow<'_, [Guard]> {
    file.cited_guards(region)
}

/// The guards whose `if` (or `case`) line lies inside `region`, judged with the built-in rules
/// and walking only the nodes overlapping it: the guards [`scan_plain`] of the whole file cites
/// there, in the same order (a guard's line is its first, so it overlaps the region).
pub(crate) fn scan_cited(file: &GoFile, region: LineRange) -> Vec<Guard> {
    guards_with_sinks(file, region, &no_sinks)
}

/// Walks the tree for the `if` statements placed relative to `region`, with `sinks` naming
/// project helpers that never return.
pub(crate) fn scan(
    file: &GoFile,
    region: LineRange,
    placement: Placement,
    sinks: Sinks<'_>,
) -> Vec<Guard> {
    let ancestry = Ancestry::over(file, region);
    nodes_of_kinds_placed(
        file,
        region,
        &["if_statement", "expression_case", "communication_case"],
        placement,
    )
    .into_iter()
    .filter_map(|node| guard(file, &ancestry, node, sinks))
    .collect()
}

/// The `if` statements whose `if` line lies inside `region`, judged with `sinks`.
pub fn guards_with_sinks(file: &GoFile, region: LineRange, sinks: Sinks<'_>) -> Vec<Guard> {
    scan(file, region, Placement::Overlapping, sinks)
        .into_iter()
        .filter(|g| region.contains_line(g.line()))
        .collect()
}

/// Judged with the built-in rules only, as the whole-file facts are.
pub(crate) fn scan_plain(file: &GoFile, region: LineRange) -> Vec<Guard> {
    scan(file, region, Placement::Within, &no_sinks)
}

fn guard<'a>(
    file: &'a GoFile,
    ancestry: &Ancestry<'a>,
    node: Node<'a>,
    sinks: Sinks<'_>,
) -> Option<Guard> {
    if node.kind_name() != "if_statement" {
        return case_guard(file, ancestry, node, sinks);
    }
    let function = ancestry.enclosing_function(node);
    let condition = node.child_by_field_name("condition")?;
    let consequence = node.child_by_field_name("consequence")?;
    let mut mentions = Mentions::default();
    let parts = node
        .child_by_field_name("initializer")
        .into_iter()
        .chain(std::iter::once(condition));
    for part in parts {
        collect_mentions(file, part, &mut mentions);
    }
    let judge = |branch: Node<'a>, then_branch: bool| {
        judged(
            file,
            ancestry,
            node,
            non_nil(file, condition, then_branch),
            |entry| {
                branch_termination(
                    file,
                    branch,
                    function,
                    sinks,
                    &Entry {
                        in_case: false,
                        ..entry
                    },
                )
            },
        )
    };
    Some(Guard {
        keyword: "if",
        lines: file.node_lines(node),
        condition: condition_text(file, &[condition]),
        mentions: mentions.in_order,
        then_branch: judge(consequence, true),
        else_branch: node
            .child_by_field_name("alternative")
            .map(|alt| judge(alt, false)),
        parts: Predicate::of(file, condition),
    })
}

/// `judge` on entering a branch of `node` knowing `proven` non-nil there; asked again with
/// what the guards around `node` prove only when it returns an error nothing proved, so the
/// walk up is made only for those.
fn judged<'a>(
    file: &'a GoFile,
    ancestry: &Ancestry<'a>,
    node: Node<'a>,
    proven: Vec<String>,
    judge: impl Fn(Entry) -> Termination,
) -> Termination {
    let first = judge(Entry {
        non_nil: proven.clone(),
        in_case: false,
    });
    if !matches!(
        first,
        Termination::Open(FailOpen::ReturnsPossiblyNilError { .. })
    ) {
        return first;
    }
    let mut known = proven;
    known.extend(enclosing_non_nil(file, ancestry, node));
    judge(Entry {
        non_nil: known,
        in_case: false,
    })
}

/// A case of a tagless `switch` (`case err != nil, !ok:`, any of its values) or of a
/// `select` (`case <-ctx.Done():`); a `default` or a case of a switch on a value is dispatch,
/// not a guard. An empty case lets the code after the switch run, as any case that goes on.
fn case_guard<'a>(
    file: &'a GoFile,
    ancestry: &Ancestry<'a>,
    node: Node<'a>,
    sinks: Sinks<'_>,
) -> Option<Guard> {
    let switch = ancestry.parent(node)?;
    let (values, parts) = match node.kind_name() {
        "expression_case" => {
            if switch.kind_name() != "expression_switch_statement"
                || switch.child_by_field_name("value").is_some()
            {
                return None;
            }
            let values = code_children(node.child_by_field_name("value")?);
            let parts = Predicate::any_of(file, &values);
            (values, parts)
        }
        _ => (vec![node.child_by_field_name("communication")?], None),
    };
    let mut mentions = Mentions::default();
    let parts_mentioned = switch
        .child_by_field_name("initializer")
        .into_iter()
        .chain(values.iter().copied());
    for part in parts_mentioned {
        collect_mentions(file, part, &mut mentions);
    }
    let function = ancestry.enclosing_function(node);
    let proven = case_non_nil(file, switch, node);
    let judge = |entry: Entry| {
        let entry = Entry {
            in_case: true,
            ..entry
        };
        branch_termination(file, node, function, sinks, &entry)
    };
    let then_branch = match judged(file, ancestry, node, proven, judge) {
        Termination::Open(FailOpen::Empty { line }) => {
            Termination::Open(FailOpen::FallsThrough { line })
        }
        other => other,
    };
    Some(Guard {
        keyword: "case",
        lines: file.node_lines(node),
        condition: condition_text(file, &values),
        mentions: mentions.in_order,
        then_branch,
        else_branch: None,
        parts,
    })
}

/// The conditions' text, whitespace collapsed, joined by `, ` (`<N bytes>` when very long).
fn condition_text(file: &GoFile, nodes: &[Node<'_>]) -> String {
    let texts: Option<Vec<String>> = nodes
        .iter()
        .map(|n| {
            file.short_text(*n, MAX_NODE_TEXT)
                .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .collect();
    texts.map(|t| t.join(", ")).unwrap_or_else(|| {
        let bytes: usize = nodes.iter().map(|n| n.byte_range().len()).sum();
        format!("<{bytes} bytes>")
    })
}

/// What the guards around `node` (in its function, a few levels up) prove non-nil where it
/// is: `err` for a guard inside `if err != nil { ... }`.
fn enclosing_non_nil<'a>(file: &'a GoFile, ancestry: &Ancestry<'a>, node: Node<'a>) -> Vec<String> {
    let mut proven = Vec::new();
    let mut child = node;
    for _ in 0..MAX_ENCLOSING_STEPS {
        let Some(parent) = ancestry.parent(child) else {
            break;
        };
        if is_function(parent) {
            break;
        }
        match parent.kind_name() {
            "if_statement" => {
                let in_then = parent
                    .child_by_field_name("consequence")
                    .is_some_and(|c| c.id() == child.id());
                let in_else = parent
                    .child_by_field_name("alternative")
                    .is_some_and(|c| c.id() == child.id());
                if let Some(condition) = parent.child_by_field_name("condition")
                    && (in_then || in_else)
                {
                    proven.extend(non_nil(file, condition, in_then));
                }
            }
            "expression_case" => {
                if let Some(switch) = ancestry.parent(parent) {
                    proven.extend(case_non_nil(file, switch, parent));
                }
            }
            _ => {}
        }
        child = parent;
    }
    proven
}

/// Mentions in order, with a set so huge conditions stay linear.
#[derive(Default)]
struct Mentions {
    in_order: Vec<String>,
    seen: HashSet<String>,
}

fn collect_mentions(file: &GoFile, root: Node<'_>, out: &mut Mentions) {
    for node in descendants(root) {
        let text = match node.kind_name() {
            "identifier" | "field_identifier" | "selector_expression" => {
                file.short_text(node, MAX_MENTION)
            }
            "call_expression" => node
                .child_by_field_name("function")
                .and_then(|f| file.short_text(f, MAX_MENTION)),
            _ => continue,
        };
        let Some(text) = text.map(|t| compact(&t)) else {
            continue;
        };
        if out.seen.insert(text.clone()) {
            out.in_order.push(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(src: &str) -> Vec<Guard> {
        let file = GoFile::parse(src.as_bytes().to_vec()).unwrap();
        file.cached_guards().to_vec()
    }

    #[test]
    fn tagless_switch_and_select_cases_are_guards_and_value_switches_are_not() {
        let guards = scanned(
            "package a\nfunc f(ctx context.Context, mode string) error {\n\tswitch v, err := load(); {\n\tcase err != nil, v == nil:\n\t\treturn err\n\tcase !v.MTLS:\n\t\tbreak\n\tdefault:\n\t}\n\tswitch mode {\n\tcase \"off\":\n\t\treturn nil\n\t}\n\tselect {\n\tcase <-ctx.Done():\n\t\treturn ctx.Err()\n\t}\n\treturn nil\n}\n",
        );
        let summary: Vec<(u32, &str, &str)> = guards
            .iter()
            .map(|g| (g.line().get(), g.keyword, g.condition.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (4, "case", "err != nil, v == nil"),
                (6, "case", "!v.MTLS"),
                (15, "case", "<-ctx.Done()")
            ]
        );
        // `err` is proven non-nil only on the first alternative: `v == nil` returns it as is.
        assert!(matches!(
            guards[0].then_branch,
            Termination::Open(FailOpen::ReturnsPossiblyNilError { .. })
        ));
        assert_eq!(guards[0].lines.start().get(), 4);
        assert_eq!(
            guards[0].mentions[..2],
            ["v".to_string(), "err".to_string()]
        );
        // A plain `break` in a case leaves only the switch: the code after it runs.
        assert!(guards[1].then_branch.terminator().is_none());
        assert!(guards[2].then_branch.terminator().is_some());
        assert_eq!(
            guards[0].parts.as_ref().map(|p| p.alternatives.len()),
            Some(2)
        );
        assert_eq!(guards[2].parts, None, "a communication is not taken apart");
    }

    #[test]
    fn a_guard_inside_another_knows_what_that_one_proved() {
        let guards = scanned(
            "package a\nfunc f() error {\n\terr := dial()\n\tif err != nil {\n\t\tswitch {\n\t\tcase isTimeout(err):\n\t\t\treturn err\n\t\t}\n\t\tif !retry {\n\t\t\treturn err\n\t\t}\n\t}\n\tif !retry {\n\t\treturn err\n\t}\n\treturn nil\n}\n",
        );
        let closed: Vec<(u32, bool)> = guards
            .iter()
            .map(|g| (g.line().get(), g.then_branch.terminator().is_some()))
            .collect();
        // The outer guard goes on when `retry` holds; the last one returns a possibly-nil `err`.
        assert_eq!(closed, [(4, false), (6, true), (9, true), (13, false)]);
    }
}
