//! Go string literals: decoding escapes, listing literals in a region, resolving constant paths.

use std::collections::HashMap;

use tree_sitter::Node;

use super::walk::{code_children, descendants, is_string_literal, nodes_overlapping};
use super::{GoFile, KindName, MAX_NODE_TEXT};
use crate::lines::LineRange;

/// A string literal in the source with its decoded value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringLiteral {
    /// The value after decoding escapes (lossy for invalid UTF-8).
    pub value: String,
    /// Whether it is a raw (backquoted) literal.
    pub raw: bool,
    pub lines: LineRange,
    /// The callee of the call the literal is a direct argument of, if any (`log.Printf`).
    pub argument_of: Option<String>,
}

impl StringLiteral {
    /// The line the literal starts on: a range citing it cites the literal, even a raw string
    /// running on past the range.
    pub fn head(&self) -> crate::lines::LineNo {
        self.lines.start()
    }
}

/// The string literals starting inside `region`, in source order.
pub fn string_literals(file: &GoFile, region: LineRange) -> &[StringLiteral] {
    super::cited(file.cached_strings(), region, StringLiteral::head)
}

/// Walks the tree for the string literals inside `region`.
pub(crate) fn scan(file: &GoFile, region: LineRange) -> Vec<StringLiteral> {
    // Pre-order: a call is seen before its arguments, so their callee is known by then.
    let mut callee_of_argument: HashMap<usize, String> = HashMap::new();
    let mut literals = Vec::new();
    for node in nodes_overlapping(file, region) {
        if node.kind_name() == "call_expression" {
            let callee = node
                .child_by_field_name("function")
                .and_then(|f| file.short_text(f, MAX_NODE_TEXT))
                .map(|t| compact(&t));
            if let (Some(callee), Some(args)) = (callee, node.child_by_field_name("arguments")) {
                for arg in code_children(args)
                    .into_iter()
                    .filter(|a| is_string_literal(*a))
                {
                    callee_of_argument.insert(arg.id(), callee.clone());
                }
            }
            continue;
        }
        if !is_string_literal(node) || !file.node_within(node, region) {
            continue;
        }
        if let Some(value) = decode_literal(&file.node_text(node)) {
            literals.push(StringLiteral {
                value,
                raw: node.kind_name() == "raw_string_literal",
                lines: file.node_lines(node),
                argument_of: callee_of_argument.remove(&node.id()),
            });
        }
    }
    literals
}

/// Source text with all whitespace removed, as callee and receiver names are compared.
pub fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Decodes the source text of a Go string literal (with its quotes); `None` when it is not one.
pub fn decode_literal(text: &str) -> Option<String> {
    if let Some(body) = text.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        // Go drops carriage returns from raw strings.
        return Some(body.replace('\r', ""));
    }
    let body = text.strip_prefix('"')?.strip_suffix('"')?;
    Some(decode_escapes(body))
}

/// Decodes the escapes of an interpreted string body; malformed escapes are kept verbatim.
pub fn decode_escapes(body: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let simple = match bytes[i + 1] {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            b'\'' => Some(b'\''),
            b'"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 2;
            continue;
        }
        let (digits, radix) = match bytes[i + 1] {
            b'x' => (2, 16),
            b'u' => (4, 16),
            b'U' => (8, 16),
            b'0'..=b'7' => (3, 8),
            _ => (0, 0),
        };
        let start = if radix == 8 { i + 1 } else { i + 2 };
        let value = (digits > 0)
            .then(|| bytes.get(start..start + digits))
            .flatten()
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, radix).ok());
        match (value, bytes[i + 1]) {
            // \x and octal escapes are single bytes, not code points.
            (Some(v), b'x' | b'0'..=b'7') if v <= 0xff => out.push(v as u8),
            (Some(v), b'u' | b'U') if char::from_u32(v).is_some() => {
                let c = char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
                continue;
            }
        }
        i = start + digits;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// File-level and function-level `const`/`var` names bound to one expression, for resolving
/// route paths written as constants (`mux.HandleFunc(heartbeatPath, h)`).
pub struct ConstStrings<'a> {
    file: &'a GoFile,
    values: HashMap<String, Node<'a>>,
}

/// How many names or `+` operands one resolution may follow; stops cycles and deep chains.
const RESOLVE_BUDGET: usize = 64;

impl<'a> ConstStrings<'a> {
    /// Collects every single-value `const`/`var` spec in the file (later specs win).
    pub fn new(file: &'a GoFile) -> Self {
        file.asks_outside();
        let mut values = HashMap::new();
        for node in descendants(file.root()) {
            if !matches!(node.kind_name(), "const_spec" | "var_spec") {
                continue;
            }
            let mut cursor = node.walk();
            let names: Vec<Node<'a>> = node
                .children_by_field_name("name", &mut cursor)
                .filter(|n| n.kind_name() == "identifier")
                .collect();
            let Some(value_list) = node.child_by_field_name("value") else {
                continue;
            };
            let mut cursor = value_list.walk();
            let exprs: Vec<Node<'a>> = value_list.named_children(&mut cursor).collect();
            if names.len() == exprs.len() {
                for (name, expr) in names.into_iter().zip(exprs) {
                    values.insert(file.node_text(name), expr);
                }
            }
        }
        ConstStrings { file, values }
    }

    /// The string value of `expr` when it is a literal, a known constant, or a `+` of those.
    pub fn resolve(&self, expr: Node<'_>) -> Option<String> {
        // Explicit work stack: operands are pushed right-first so they pop left to right.
        let mut out = String::new();
        let mut stack: Vec<Node<'_>> = vec![expr];
        let mut budget = RESOLVE_BUDGET;
        while let Some(node) = stack.pop() {
            budget = budget.checked_sub(1)?;
            match node.kind_name() {
                "interpreted_string_literal" | "raw_string_literal" => {
                    out.push_str(&decode_literal(&self.file.node_text(node))?);
                }
                "parenthesized_expression" => stack.push(node.named_child(0)?),
                "binary_expression" => {
                    let op = node.child_by_field_name("operator")?;
                    if op.kind_name() != "+" {
                        return None;
                    }
                    stack.push(node.child_by_field_name("right")?);
                    stack.push(node.child_by_field_name("left")?);
                }
                "identifier" => {
                    let bound = self.values.get(&self.file.node_text(node))?;
                    stack.push(*bound);
                }
                _ => return None,
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_go_escapes() {
        assert_eq!(decode_literal(r#""a\nb\t\\\"""#).unwrap(), "a\nb\t\\\"");
        assert_eq!(
            decode_literal(r#""\x41\101\u00e9\U0001F600""#).unwrap(),
            "AAé😀"
        );
        assert_eq!(decode_literal("`raw\\n`").unwrap(), "raw\\n");
        assert_eq!(decode_literal(r#""bad\q""#).unwrap(), "bad\\q");
        assert!(decode_literal("x").is_none());
    }
}
