//! `if` statements as guards: what their conditions mention and whether their branches end.

use std::collections::HashSet;

use tree_sitter::Node;

use super::ancestry::Ancestry;
use super::literals::compact;
use super::termination::{Sinks, Termination, branch_termination, no_sinks};
use super::walk::descendants;
use super::{GoFile, MAX_NODE_TEXT, Placement, cited, nodes_of_kinds_placed};
use crate::lines::{LineNo, LineRange};

/// Longest selector or callee worth reporting as a mention.
const MAX_MENTION: usize = 256;

/// One `if` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guard {
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
}

impl Guard {
    /// The `if` line: a range citing it cites the whole guard.
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

/// `if` statements whose `if` line lies inside `region`, in source order.
pub fn guards(file: &GoFile, region: LineRange) -> &[Guard] {
    cited(file.cached_guards(), region, Guard::line)
}

/// Walks the tree for the `if` statements placed relative to `region`, with `sinks` naming
/// project helpers that never return.
pub(crate) fn scan(
    file: &GoFile,
    region: LineRange,
    placement: Placement,
    sinks: Sinks<'_>,
) -> Vec<Guard> {
    let ancestry = Ancestry::new(file);
    nodes_of_kinds_placed(file, region, &["if_statement"], placement)
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
    Some(Guard {
        lines: file.node_lines(node),
        condition: file
            .short_text(condition, MAX_NODE_TEXT)
            .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| format!("<{} bytes>", condition.byte_range().len())),
        mentions: mentions.in_order,
        then_branch: branch_termination(file, consequence, function, sinks),
        else_branch: node
            .child_by_field_name("alternative")
            .map(|alt| branch_termination(file, alt, function, sinks)),
    })
}

/// Mentions in order, with a set so huge conditions stay linear.
#[derive(Default)]
struct Mentions {
    in_order: Vec<String>,
    seen: HashSet<String>,
}

fn collect_mentions(file: &GoFile, root: Node<'_>, out: &mut Mentions) {
    for node in descendants(root) {
        let text = match node.kind() {
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
