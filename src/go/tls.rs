//! TLS configuration: `tls.Config` literals and field assignments on config values.

use tree_sitter::Node;

use super::literals::compact;
use super::walk::code_children;
use super::{GoFile, MAX_NODE_TEXT, nodes_of_kinds};
use crate::lines::{LineNo, LineRange};

/// Fields of `tls.Config` worth tracking when assigned one by one.
const TRACKED_FIELDS: [&str; 4] = [
    "ClientAuth",
    "MinVersion",
    "MaxVersion",
    "InsecureSkipVerify",
];

/// One field setting, from a literal (`ClientAuth: tls.RequireAndVerifyClientCert`) or an
/// assignment (`cfg.MinVersion = tls.VersionTLS13`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSetting {
    pub field: String,
    /// The value's text without whitespace.
    pub value: String,
    pub line: LineNo,
}

/// A configuration: a `tls.Config` literal, an assignment to a tracked field of some value, or
/// a literal of another type that sets `InsecureSkipVerify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    pub lines: LineRange,
    /// `tls.Config` for a literal of that type, the assigned operand (`cfg`, `l.tlsConfig`) for
    /// an assignment, or the literal's type for other literals.
    pub target: String,
    /// True for a `tls.Config{...}` literal, whose unset fields take Go's defaults.
    pub is_literal: bool,
    pub settings: Vec<TlsSetting>,
}

impl TlsConfig {
    /// The value set for `field`, last one winning.
    pub fn get(&self, field: &str) -> Option<&TlsSetting> {
        self.settings.iter().rev().find(|s| s.field == field)
    }
}

/// TLS configurations lying wholly inside `region`, in source order.
pub fn configs(file: &GoFile, region: LineRange) -> Vec<TlsConfig> {
    file.cached_tls()
        .iter()
        .filter(|c| region.contains(c.lines))
        .cloned()
        .collect()
}

/// Walks the tree for the TLS configurations inside `region`.
pub(crate) fn scan(file: &GoFile, region: LineRange) -> Vec<TlsConfig> {
    nodes_of_kinds(file, region, &["composite_literal", "assignment_statement"])
        .into_iter()
        .filter_map(|node| match node.kind() {
            "composite_literal" => literal_config(file, node),
            "assignment_statement" => assignment_config(file, node),
            _ => None,
        })
        .collect()
}

fn literal_config(file: &GoFile, node: Node<'_>) -> Option<TlsConfig> {
    let type_text = compact(&file.short_text(node.child_by_field_name("type")?, MAX_NODE_TEXT)?);
    let body = node.child_by_field_name("body")?;
    let settings: Vec<TlsSetting> = code_children(body)
        .into_iter()
        .filter(|e| e.kind() == "keyed_element")
        .filter_map(|element| {
            let key = element.child_by_field_name("key")?;
            let value = element.child_by_field_name("value")?;
            Some(TlsSetting {
                field: compact(&file.short_text(key, MAX_NODE_TEXT)?),
                value: compact(&file.short_text(value, MAX_NODE_TEXT)?),
                line: file.node_lines(element).start(),
            })
        })
        .collect();
    let is_literal = type_text == "tls.Config";
    let sets_insecure = settings.iter().any(|s| s.field == "InsecureSkipVerify");
    (is_literal || sets_insecure).then(|| TlsConfig {
        lines: file.node_lines(node),
        target: type_text,
        is_literal,
        settings,
    })
}

fn assignment_config(file: &GoFile, node: Node<'_>) -> Option<TlsConfig> {
    let operator = node.child_by_field_name("operator")?;
    if file.node_text(operator) != "=" {
        return None;
    }
    let lefts = code_children(node.child_by_field_name("left")?);
    let rights = code_children(node.child_by_field_name("right")?);
    let mut target = None;
    let mut settings = Vec::new();
    for (left, right) in lefts.into_iter().zip(rights) {
        if left.kind() != "selector_expression" {
            continue;
        }
        let (Some(operand), Some(field)) = (
            left.child_by_field_name("operand"),
            left.child_by_field_name("field"),
        ) else {
            continue;
        };
        let field = file.node_text(field);
        if TRACKED_FIELDS.contains(&field.as_str()) {
            target.get_or_insert_with(|| {
                compact(&file.short_text(operand, MAX_NODE_TEXT).unwrap_or_default())
            });
            settings.push(TlsSetting {
                field,
                value: compact(&file.short_text(right, MAX_NODE_TEXT)?),
                line: file.node_lines(left).start(),
            });
        }
    }
    Some(TlsConfig {
        lines: file.node_lines(node),
        target: target?,
        is_literal: false,
        settings,
    })
}
