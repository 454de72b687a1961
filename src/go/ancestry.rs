//! Parents and enclosing functions of the nodes matchers ask about, found in one cursor walk.
//!
//! tree-sitter's `Node::parent` searches down from the root, so it costs the node's depth, and
//! asking it for each of 100,000 nested calls is quadratic. Matchers that look upward (router
//! resolution, gorilla method chains, a guard's enclosing function) ask this index instead.

use std::collections::HashMap;

use tree_sitter::Node;

use super::walk::is_function;
use super::{GoFile, KindName};
use crate::lines::LineRange;

/// Kinds whose parent and enclosing function are recorded: the only ones matchers look up from.
const RECORDED: &[&str] = &[
    "call_expression",
    "selector_expression",
    "identifier",
    "func_literal",
    "function_declaration",
    "method_declaration",
    "argument_list",
    "if_statement",
    "for_statement",
    "assignment_statement",
    "block",
    "statement_list",
    "expression_case",
    "type_case",
    "communication_case",
    "default_case",
];

/// Upward links for one file's tree.
pub struct Ancestry<'a> {
    file: &'a GoFile,
    /// Node id -> its links.
    links: HashMap<usize, Links<'a>>,
}

#[derive(Clone, Copy)]
struct Links<'a> {
    parent: Option<Node<'a>>,
    /// The innermost function strictly enclosing the node.
    function: Option<Node<'a>>,
    /// The outermost function enclosing the node (the node itself when it is one).
    outermost: Option<Node<'a>>,
}

impl<'a> Ancestry<'a> {
    /// Walks the whole tree once with a cursor, keeping the stack of open nodes.
    pub fn new(file: &'a GoFile) -> Ancestry<'a> {
        Ancestry::walked(file, |_| true, None)
    }

    /// Links for the nodes overlapping `region` (and some of their siblings), walking only
    /// there: what a scan of a few lines of a large file asks about. Every answer is the same
    /// as [`Ancestry::new`]'s: a recorded node's open nodes are its ancestors either way, and a
    /// node not recorded is looked up from the tree.
    pub fn over(file: &'a GoFile, region: LineRange) -> Ancestry<'a> {
        Ancestry::walked(
            file,
            |node| file.node_lines(node).overlaps(region),
            super::walk::region_rows(file, region),
        )
    }

    /// Walks the tree with a cursor, keeping the stack of open nodes, descending only into
    /// nodes `enter` accepts; with `rows` (0-based, inclusive), past the children of each
    /// node that end before the first row and not on to those starting after the last.
    fn walked(
        file: &'a GoFile,
        enter: impl Fn(Node<'a>) -> bool,
        rows: Option<(usize, usize)>,
    ) -> Ancestry<'a> {
        let mut links = HashMap::new();
        let mut cursor = file.root().walk();
        // Open nodes from the root down, and the indices among them of function nodes.
        let mut stack: Vec<Node<'a>> = Vec::new();
        let mut functions: Vec<usize> = Vec::new();
        loop {
            let node = cursor.node();
            if RECORDED.contains(&node.kind_name()) {
                let outermost = functions
                    .first()
                    .map(|&i| stack[i])
                    .or_else(|| is_function(node).then_some(node));
                let links_of = Links {
                    parent: stack.last().copied(),
                    function: functions.last().map(|&i| stack[i]),
                    outermost,
                };
                links.insert(node.id(), links_of);
            }
            let entered = enter(node)
                && match rows {
                    Some((first, _)) => super::walk::goto_first_child_from_row(&mut cursor, first),
                    None => cursor.goto_first_child(),
                };
            if entered {
                if is_function(node) {
                    functions.push(stack.len());
                }
                stack.push(node);
                continue;
            }
            loop {
                // Siblings come in source order: past one starting after the rows, all are.
                if cursor.goto_next_sibling()
                    && rows.is_none_or(|(_, last)| cursor.node().start_position().row <= last)
                {
                    break;
                }
                if !cursor.goto_parent() {
                    return Ancestry { file, links };
                }
                stack.pop();
                if functions.last() == Some(&stack.len()) {
                    functions.pop();
                }
            }
        }
    }

    /// The node's parent (from the index when recorded, else from tree-sitter).
    pub fn parent(&self, node: Node<'a>) -> Option<Node<'a>> {
        match self.links.get(&node.id()) {
            Some(links) => links.parent,
            None => node.parent(),
        }
    }

    /// The innermost function-like node strictly enclosing `node`.
    pub fn enclosing_function(&self, node: Node<'a>) -> Option<Node<'a>> {
        match self.links.get(&node.id()) {
            Some(links) => links.function,
            // One descent from the root, never a walk up through `Node::parent`.
            None => super::walk::enclosing_function(self.file, node),
        }
    }

    /// The outermost function enclosing `node` (itself when it is a function at the top).
    pub fn outermost_function(&self, node: Node<'a>) -> Option<Node<'a>> {
        match self.links.get(&node.id()) {
            Some(links) => links.outermost,
            None => self
                .enclosing_functions(node)
                .last()
                .or_else(|| is_function(node).then_some(node)),
        }
    }

    /// The functions enclosing `node`, innermost first.
    pub fn enclosing_functions(&self, node: Node<'a>) -> impl Iterator<Item = Node<'a>> + '_ {
        std::iter::successors(self.enclosing_function(node), |f| {
            self.enclosing_function(*f)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::go::walk::descendants;

    #[test]
    fn parents_and_functions_agree_with_tree_sitter() {
        let src = b"package a\nfunc f() { go func() { g(x.y) }() }\nvar v = h(1)\n".to_vec();
        let file = GoFile::parse(src).unwrap();
        let ancestry = Ancestry::new(&file);
        for node in descendants(file.root()) {
            assert_eq!(ancestry.parent(node), node.parent(), "{}", node.kind());
            // tree-sitter's own walk up, innermost first.
            let expected =
                std::iter::successors(node.parent(), |n| n.parent()).find(|n| is_function(*n));
            assert_eq!(
                ancestry.enclosing_function(node),
                expected,
                "{}",
                node.kind()
            );
        }
        // Built over a region, it answers the same for every node, recording only near it.
        let line = LineRange::single(crate::lines::LineNo::new(3).unwrap());
        let near = Ancestry::over(&file, line);
        for node in descendants(file.root()) {
            assert_eq!(near.parent(node), node.parent(), "{}", node.kind());
            let expected = ancestry.enclosing_function(node);
            assert_eq!(near.enclosing_function(node), expected, "{}", node.kind());
            let expected = ancestry.outermost_function(node);
            assert_eq!(near.outermost_function(node), expected, "{}", node.kind());
        }
        assert!(near.links.len() < ancestry.links.len() / 2);
        let call = descendants(file.root())
            .find(|n| file.node_text(*n) == "g(x.y)")
            .unwrap();
        let kinds: Vec<&str> = ancestry
            .enclosing_functions(call)
            .map(|f| f.kind())
            .collect();
        assert_eq!(kinds, ["func_literal", "function_declaration"]);
    }
}
