//! Stack-safe tree walks: pre-order iteration with a `TreeCursor` or a stack of nodes, never
//! recursion.

use tree_sitter::{Node, TreeCursor};

use super::{GoFile, KindName};
use crate::lines::LineRange;

/// Pre-order iterator over `root` and its descendants that only descends into nodes for which
/// `enter` holds; stack-safe on arbitrarily deep trees because it walks with a `TreeCursor`.
pub struct Descendants<'tree, F> {
    cursor: TreeCursor<'tree>,
    enter: F,
    /// Tracked here because `TreeCursor::depth` walks the cursor's whole stack on each call.
    depth: usize,
    started: bool,
    done: bool,
    /// The row (0-based) where the root's children start to matter: entering the root goes
    /// straight to its first child reaching that row, rather than past every earlier one in turn.
    from: Option<usize>,
}

impl<'tree, F: FnMut(Node<'tree>) -> bool> Iterator for Descendants<'tree, F> {
    type Item = Node<'tree>;

    fn next(&mut self) -> Option<Node<'tree>> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            return Some(self.cursor.node());
        }
        let current = self.cursor.node();
        let entered = (self.enter)(current)
            && match self.from.take().filter(|_| self.depth == 0) {
                Some(first) => goto_first_child_from_row(&mut self.cursor, first),
                None => self.cursor.goto_first_child(),
            };
        if entered {
            self.depth += 1;
            return Some(self.cursor.node());
        }
        loop {
            if self.depth == 0 {
                self.done = true;
                return None;
            }
            if self.cursor.goto_next_sibling() {
                return Some(self.cursor.node());
            }
            if !self.cursor.goto_parent() {
                self.done = true;
                return None;
            }
            self.depth -= 1;
        }
    }
}

/// Every node under `root` (inclusive), in source order.
pub fn descendants<'tree>(
    root: Node<'tree>,
) -> Descendants<'tree, impl FnMut(Node<'tree>) -> bool> {
    descendants_where(root, |_| true)
}

/// Nodes under `root` (inclusive) in source order, not descending below nodes where `enter` is
/// false (those nodes themselves are still yielded).
pub fn descendants_where<'tree, F: FnMut(Node<'tree>) -> bool>(
    root: Node<'tree>,
    enter: F,
) -> Descendants<'tree, F> {
    Descendants {
        cursor: root.walk(),
        enter,
        depth: 0,
        started: false,
        done: false,
        from: None,
    }
}

/// Moves `cursor` to the first child of its node that may reach row `first_row` (0-based),
/// stepping over the children ending before that row inside tree-sitter in one call rather than
/// one `goto_next_sibling` each (nothing inside those reaches the row either). For trees
/// without errors only ([`region_rows`]): a child ending at the row's first column is passed,
/// which is right for every node but a zero-width one, and only error recovery makes those.
pub(crate) fn goto_first_child_from_row(cursor: &mut TreeCursor<'_>, first_row: usize) -> bool {
    // tree-sitter's search gives up when the first child ending past the point is a hidden
    // group whose visible children all end before it (a declaration and the newline ending
    // it, so a point on a blank line between declarations); then the children are stepped
    // through one by one.
    first_row > 0
        && cursor
            .goto_first_child_for_point(tree_sitter::Point {
                row: first_row,
                column: 0,
            })
            .is_some()
        || cursor.goto_first_child()
}

/// The 0-based rows of `region`, for walks that skip what lies before and after them
/// ([`goto_first_child_from_row`]); `None` when the tree has errors (walk it all, as before).
pub(crate) fn region_rows(file: &GoFile, region: LineRange) -> Option<(usize, usize)> {
    (!file.root().has_error()).then(|| (region.start().zero_based(), region.end().zero_based()))
}

/// As [`descendants_where`], skipping the root's children that end by the start of line
/// `row` (0-based): a few lines of a file of thousands of declarations are reached without
/// stepping past each declaration before them.
pub fn descendants_from_row<'tree, F: FnMut(Node<'tree>) -> bool>(
    root: Node<'tree>,
    row: usize,
    enter: F,
) -> Descendants<'tree, F> {
    Descendants {
        from: Some(row),
        ..descendants_where(root, enter)
    }
}

/// Nodes of the file overlapping `region`, in source order; subtrees outside it are skipped, so
/// scanning a few lines of a large file stays cheap.
pub fn nodes_overlapping<'a>(
    file: &'a GoFile,
    region: LineRange,
) -> impl Iterator<Item = Node<'a>> + 'a {
    Overlapping {
        file,
        region,
        rows: region_rows(file, region),
        stack: vec![file.root()],
        cursor: None,
    }
}

/// The walk of [`nodes_overlapping`]: each node overlapping the region, then its children.
/// A node's children are taken by index (`Node::child`), several times faster than a
/// `TreeCursor` steps through them; but each index is found from the first child, so the
/// children of a node with many (a file's declarations, a long block or literal) are stepped
/// through with a cursor, from the first that may reach the region to the last starting in it.
struct Overlapping<'a> {
    file: &'a GoFile,
    region: LineRange,
    /// [`region_rows`] of the region.
    rows: Option<(usize, usize)>,
    /// The nodes still to look at, the next last.
    stack: Vec<Node<'a>>,
    cursor: Option<TreeCursor<'a>>,
}

/// The most children of a node taken by index in [`Overlapping`].
const FEW_CHILDREN: u32 = 16;

impl<'a> Iterator for Overlapping<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        while let Some(node) = self.stack.pop() {
            if !self.file.node_lines(node).overlaps(self.region) {
                continue;
            }
            let from = self.stack.len();
            let count = node.child_count();
            if count <= FEW_CHILDREN {
                self.stack.extend((0..count).filter_map(|i| node.child(i)));
            } else {
                let cursor = self.cursor.get_or_insert_with(|| node.walk());
                cursor.reset(node);
                let mut more = match self.rows {
                    Some((first, _)) => goto_first_child_from_row(cursor, first),
                    None => cursor.goto_first_child(),
                };
                while more {
                    let child = cursor.node();
                    // Siblings come in source order: past one starting after the rows, all are.
                    if self
                        .rows
                        .is_some_and(|(_, last)| child.start_position().row > last)
                    {
                        break;
                    }
                    self.stack.push(child);
                    more = cursor.goto_next_sibling();
                }
            }
            self.stack[from..].reverse();
            return Some(node);
        }
        None
    }
}

/// The innermost function-like node (`function_declaration`, `method_declaration`,
/// `func_literal`) strictly enclosing `node`. Descends from the root with a cursor because
/// `Node::parent` itself searches from the root, which would make a walk up quadratic.
pub fn enclosing_function<'a>(file: &'a GoFile, node: Node<'a>) -> Option<Node<'a>> {
    let mut cursor = file.root().walk();
    let mut found = None;
    loop {
        let current = cursor.node();
        if current.id() == node.id() {
            return found;
        }
        if is_function(current) {
            found = Some(current);
        }
        if cursor
            .goto_first_child_for_byte(node.start_byte())
            .is_none()
        {
            return found;
        }
        let child = cursor.node();
        if child.start_byte() > node.start_byte() || child.end_byte() < node.end_byte() {
            return found;
        }
    }
}

/// True for nodes that have their own parameters and results.
pub fn is_function(node: Node<'_>) -> bool {
    matches!(
        node.kind_name(),
        "function_declaration" | "method_declaration" | "func_literal"
    )
}

/// True for comment nodes.
pub fn is_comment(node: Node<'_>) -> bool {
    node.kind_name() == "comment"
}

/// True for string literal nodes, interpreted or raw.
pub fn is_string_literal(node: Node<'_>) -> bool {
    matches!(
        node.kind_name(),
        "interpreted_string_literal" | "raw_string_literal"
    )
}

/// The named children of `node`, skipping comments.
pub fn code_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|n| !is_comment(*n))
        .collect()
}

/// The statements of a `block` (through its `statement_list`), or of a case clause.
pub fn statements(block: Node<'_>) -> Vec<Node<'_>> {
    let list = if block.kind_name() == "statement_list" {
        Some(block)
    } else {
        code_children(block)
            .into_iter()
            .find(|n| n.kind_name() == "statement_list")
    };
    list.map(code_children)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.kind_name() != "empty_statement")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_are_preorder_and_stay_inside_the_root() {
        let file = GoFile::parse(b"package a\nfunc f() { g(1) }\nfunc h() {}\n".to_vec()).unwrap();
        let first_fn = file.root().named_child(1).unwrap();
        let kinds: Vec<&str> = descendants(first_fn)
            .map(|n| n.kind())
            .filter(|k| k.ends_with("expression"))
            .collect();
        assert_eq!(kinds, ["call_expression"]);
        assert!(descendants(first_fn).all(|n| n.end_byte() <= first_fn.end_byte()));
    }

    #[test]
    fn enclosing_function_finds_the_innermost() {
        let file =
            GoFile::parse(b"package a\nfunc f() { go func() { g() }() }\n".to_vec()).unwrap();
        let call = descendants(file.root())
            .filter(|n| n.kind() == "call_expression")
            .last()
            .unwrap();
        assert_eq!(
            enclosing_function(&file, call).unwrap().kind(),
            "func_literal"
        );
    }
}
