//! Call expressions: callee names and arguments.

use tree_sitter::Node;

use super::literals::{compact, decode_literal};
use super::walk::{code_children, is_string_literal};
use super::{GoFile, MAX_NODE_TEXT, nodes_of_kinds};
use crate::lines::{LineNo, LineRange};

/// One call in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    /// The `function` node's text without whitespace: `mux.HandleFunc`, `l.srv.ListenAndServeTLS`.
    pub callee: String,
    pub args: Vec<CallArgument>,
    pub lines: LineRange,
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

    /// The first line of the call, for messages.
    pub fn line(&self) -> LineNo {
        self.lines.start()
    }
}

/// The part of a dotted name after its last `.`.
pub fn last_segment(name: &str) -> &str {
    name.rsplit_once('.').map(|(_, s)| s).unwrap_or(name)
}

/// Calls lying wholly inside `region`, in source order (outer calls before the calls in their
/// arguments).
pub fn calls(file: &GoFile, region: LineRange) -> Vec<CallSite> {
    file.cached_calls()
        .iter()
        .filter(|c| region.contains(c.lines))
        .cloned()
        .collect()
}

/// Walks the tree for the calls inside `region`.
pub(crate) fn scan(file: &GoFile, region: LineRange) -> Vec<CallSite> {
    nodes_of_kinds(file, region, &["call_expression"])
        .into_iter()
        .filter_map(|node| call_site(file, node))
        .collect()
}

/// The call at `node` when it is a `call_expression`.
pub fn call_site(file: &GoFile, node: Node<'_>) -> Option<CallSite> {
    if node.kind() != "call_expression" {
        return None;
    }
    let function = node.child_by_field_name("function")?;
    let args = node
        .child_by_field_name("arguments")
        .map(code_children)
        .unwrap_or_default()
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
        callee: compact(&file.short_text(function, MAX_NODE_TEXT)?),
        args,
        lines: file.node_lines(node),
    })
}

/// The callee text of a call node, without building the whole [`CallSite`].
pub fn callee_text(file: &GoFile, call: Node<'_>) -> Option<String> {
    let function = call.child_by_field_name("function")?;
    Some(compact(&file.short_text(function, MAX_NODE_TEXT)?))
}
