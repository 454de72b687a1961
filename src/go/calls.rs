//! Call expressions: callee names, the line that cites them, and arguments.

use std::borrow::Cow;

use tree_sitter::Node;

use super::KindName;
use super::literals::{compact, decode_literal};
use super::walk::{code_children, is_comment, is_string_literal};
use super::{GoFile, MAX_NODE_TEXT, Placement, nodes_of_kinds, nodes_of_kinds_placed};
use crate::lines::{LineNo, LineRange};

/// One call in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    /// The callee as people write it: whitespace, parentheses around it and type arguments
    /// dropped (`mux.HandleFunc`, `l.srv.ListenAndServeTLS`, `g.mu.Lock`, `slices.Sort`).
    pub callee: String,
    pub args: Vec<CallArgument>,
    /// Every line of the call, arguments included.
    pub lines: LineRange,
    /// The line of the callee's name (`Sprintf` in `fmt.Sprintf(`, `HandleFunc` at the end of
    /// a chain): a range citing this line cites the call.
    pub head: LineNo,
    /// The byte range of the call, to find the conditions it runs under.
    pub bytes: (usize, usize),
}

/// One positional argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallArgument {
    /// The argument's source text, trimmed; `<N bytes>` when longer than [`MAX_NODE_TEXT`].
    pub text: String,
    /// The decoded value when the argument is a string literal.
    pub string_value: Option<String>,
}

impl CallSite {
    /// The part after the last `.`: `HandleFunc` for `mux.HandleFunc`.
    pub fn last_segment(&self) -> &str {
        last_segment(&self.callee)
    }

    /// The part before the last `.` (`log` for `log.Fatalf`), empty for a plain function.
    pub fn qualifier(&self) -> &str {
        self.callee
            .rsplit_once('.')
            .map(|(q, _)| q)
            .unwrap_or_default()
    }

    /// The line that cites the call, for messages.
    pub fn line(&self) -> LineNo {
        self.head
    }
}

/// The part of a dotted name after its last `.`.
pub fn last_segment(name: &str) -> &str {
    name.rsplit_once('.').map(|(_, s)| s).unwrap_or(name)
}

/// True when `name` is `callee` or a suffix of it at a `.` boundary: `mu.Lock` and `Lock`
/// name `g.mu.Lock`, `u.Lock` does not.
pub fn names_callee(name: &str, callee: &str) -> bool {
    callee == name
        || callee
            .strip_suffix(name)
            .is_some_and(|rest| rest.ends_with('.') && !name.starts_with('.'))
}

/// Calls whose head line lies inside `region`, in order of their heads.
pub fn calls(file: &GoFile, region: LineRange) -> Cow<'_, [CallSite]> {
    file.cited_calls(region)
}

/// The calls whose head line lies inside `region`, walking only the nodes overlapping it: the
/// calls [`scan`] of the whole file cites there, in the same order. A call's head is one of its
/// lines, so the call overlaps the region, and sorting keeps source order among equal heads.
pub(crate) fn scan_cited(file: &GoFile, region: LineRange) -> Vec<CallSite> {
    let mut found: Vec<CallSite> =
        nodes_of_kinds_placed(file, region, &CALL_KINDS, Placement::Overlapping)
            .into_iter()
            .filter_map(|node| call_site(file, node))
            .filter(|c| region.contains_line(c.head))
            .collect();
    found.sort_by_key(|c| c.head);
    found
}

/// Walks the tree for the calls inside `region`, sorted by head line (source order among
/// calls on one line).
pub(crate) fn scan(file: &GoFile, region: LineRange) -> Vec<CallSite> {
    let mut found: Vec<CallSite> = nodes_of_kinds(file, region, &CALL_KINDS)
        .into_iter()
        .filter_map(|node| call_site(file, node))
        .collect();
    found.sort_by_key(|c| c.head);
    found
}

/// Node kinds that may be calls: `f[T](x)` parses as a conversion to a generic type.
const CALL_KINDS: [&str; 2] = ["call_expression", "type_conversion_expression"];

/// The call at `node` when it is one: a `call_expression`, or a generic function
/// instantiated and called (`Map[int](xs)`), which tree-sitter reads as a type conversion.
pub fn call_site(file: &GoFile, node: Node<'_>) -> Option<CallSite> {
    let callee = callee(file, node)?;
    let args = call_arguments(node)
        .into_iter()
        .map(|arg| CallArgument {
            text: file
                .short_text(arg, MAX_NODE_TEXT)
                .map(|t| t.trim().to_string())
                .unwrap_or_else(|| format!("<{} bytes>", arg.byte_range().len())),
            string_value: is_string_literal(arg)
                .then(|| decode_literal(&file.node_text(arg)))
                .flatten(),
        })
        .collect();
    Some(CallSite {
        callee: callee.name,
        args,
        lines: file.node_lines(node),
        head: callee.head,
        bytes: (node.start_byte(), node.end_byte()),
    })
}

/// The positional arguments of a call node.
fn call_arguments(node: Node<'_>) -> Vec<Node<'_>> {
    match node.kind_name() {
        "type_conversion_expression" => node.child_by_field_name("operand").into_iter().collect(),
        _ => node
            .child_by_field_name("arguments")
            .map(code_children)
            .unwrap_or_default(),
    }
}

/// A callee's normalized name and the line of its last name segment.
pub struct Callee {
    pub name: String,
    pub head: LineNo,
}

/// The callee of a call node, normalized as [`CallSite::callee`] says; `None` for nodes that
/// are not calls and callees longer than [`MAX_NODE_TEXT`].
pub fn callee(file: &GoFile, call: Node<'_>) -> Option<Callee> {
    let function = match call.kind_name() {
        "call_expression" => call.child_by_field_name("function")?,
        "type_conversion_expression" => {
            let ty = call.child_by_field_name("type")?;
            (ty.kind_name() == "generic_type").then_some(ty)?
        }
        _ => return None,
    };
    if function.byte_range().len() > MAX_NODE_TEXT {
        return None;
    }
    // Iterative: a callee may be wrapped in thousands of parentheses.
    let mut node = function;
    let mut fields: Vec<Node<'_>> = Vec::new();
    loop {
        let inner = match node.kind_name() {
            "parenthesized_expression" => first_code_child(node),
            "index_expression" => node.child_by_field_name("operand"),
            "generic_type" => node.child_by_field_name("type"),
            "selector_expression" => {
                fields.extend(node.child_by_field_name("field"));
                node.child_by_field_name("operand")
            }
            "qualified_type" => {
                fields.extend(node.child_by_field_name("name"));
                node.child_by_field_name("package")
            }
            _ => None,
        };
        match inner {
            Some(n) => node = n,
            None => break,
        }
    }
    let mut name = compact(&file.node_text(node));
    for field in fields.iter().rev() {
        name.push('.');
        name.push_str(&file.node_text(*field));
    }
    let head_node = fields.first().copied().unwrap_or(node);
    Some(Callee {
        name,
        head: LineNo::from_zero_based(head_node.start_position().row),
    })
}

fn first_code_child(node: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).find(|n| !is_comment(*n))
}

/// The normalized callee name of a call node, without building the whole [`CallSite`].
pub fn callee_text(file: &GoFile, call: Node<'_>) -> Option<String> {
    callee(file, call).map(|c| c.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites(src: &str) -> Vec<(String, u32)> {
        let file = GoFile::parse(src.as_bytes().to_vec()).unwrap();
        calls(&file, file.full_range().unwrap())
            .iter()
            .map(|c| (c.callee.clone(), c.head.get()))
            .collect()
    }

    #[test]
    fn generic_and_parenthesised_callees_are_normalized() {
        let found = sites(
            "package a\nfunc f() {\n\tg[int](x)\n\ty := pkg.Map[int, string](xs, fn)\n\t(f)(x)\n\t(s.mu).Lock()\n\th[int]()\n}\n",
        );
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["g", "pkg.Map", "f", "s.mu.Lock", "h"]);
    }

    #[test]
    fn the_head_is_the_line_of_the_callee_name() {
        let found = sites(
            "package a\nfunc f() {\n\tfmt.Sprintf(\"%s\",\n\t\ta)\n\tr.PathPrefix(\"/a\").\n\t\tSubrouter().\n\t\tHandleFunc(\"/x\", h)\n}\n",
        );
        assert_eq!(
            found,
            [
                ("fmt.Sprintf".to_string(), 3),
                ("r.PathPrefix".to_string(), 5),
                ("r.PathPrefix(\"/a\").Subrouter".to_string(), 6),
                ("r.PathPrefix(\"/a\").Subrouter().HandleFunc".to_string(), 7),
            ]
        );
    }

    #[test]
    fn names_match_at_dot_boundaries() {
        assert!(names_callee("mu.Lock", "g.mu.Lock"));
        assert!(names_callee("Lock", "s.mu.Lock"));
        assert!(names_callee("g.mu.Lock", "g.mu.Lock"));
        assert!(!names_callee("u.Lock", "g.mu.Lock"));
        assert!(!names_callee("Lock", "Unlock"));
        assert!(!names_callee(".Lock", "g.mu.Lock"));
    }
}
