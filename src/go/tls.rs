//! TLS configuration: `tls.Config` literals and field assignments on config values, with the
//! condition an assignment depends on.

use tree_sitter::Node;

use super::ancestry::Ancestry;
use super::literals::compact;
use super::walk::{code_children, is_function};
use super::{GoFile, MAX_NODE_TEXT, nodes_of_kinds};
use crate::lines::{LineNo, LineRange};

/// Fields of `tls.Config` worth tracking when assigned one by one.
const TRACKED_FIELDS: [&str; 4] = [
    "ClientAuth",
    "MinVersion",
    "MaxVersion",
    "InsecureSkipVerify",
];

/// How many enclosing statements are looked through for a condition; deeper nesting is
/// reported as a condition rather than walked.
const MAX_CONDITION_DEPTH: usize = 256;

/// One field setting, from a literal (`ClientAuth: tls.RequireAndVerifyClientCert`) or an
/// assignment (`cfg.MinVersion = tls.VersionTLS13`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSetting {
    pub field: String,
    /// The value's text without whitespace.
    pub value: String,
    pub line: LineNo,
    /// For an assignment nested under a condition inside its function, when it applies
    /// (`when cfg.EncryptedClientHelloKeys != nil`); `None` when it applies whenever the
    /// function runs, as a literal's fields do.
    pub only: Option<String>,
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
    /// The lines that cite it: a literal's first line and each of its fields' lines, or an
    /// assignment's line. A cited configuration is evaluated whole.
    pub heads: Vec<LineNo>,
}

impl TlsConfig {
    /// The value set for `field`, last one winning.
    pub fn get(&self, field: &str) -> Option<&TlsSetting> {
        self.settings.iter().rev().find(|s| s.field == field)
    }

    /// True when `region` holds one of the lines that cite it.
    pub fn cited_by(&self, region: LineRange) -> bool {
        self.heads.iter().any(|h| region.contains_line(*h))
    }
}

/// TLS configurations cited by `region` (one of their heads inside it), in source order.
pub fn configs(file: &GoFile, region: LineRange) -> Vec<&TlsConfig> {
    file.cached_tls()
        .iter()
        .filter(|c| c.cited_by(region))
        .collect()
}

/// Walks the tree for the TLS configurations inside `region`.
pub(crate) fn scan(file: &GoFile, region: LineRange) -> Vec<TlsConfig> {
    let nodes = nodes_of_kinds(file, region, &["composite_literal", "assignment_statement"]);
    // Built only when there is an assignment to place under its conditions.
    let mut ancestry: Option<Ancestry<'_>> = None;
    nodes
        .into_iter()
        .filter_map(|node| match node.kind() {
            "composite_literal" => literal_config(file, node),
            "assignment_statement" => assignment_config(file, node, &mut ancestry),
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
                only: None,
            })
        })
        .collect();
    let is_literal = type_text == "tls.Config";
    let sets_insecure = settings.iter().any(|s| s.field == "InsecureSkipVerify");
    let lines = file.node_lines(node);
    let mut heads = vec![lines.start()];
    heads.extend(settings.iter().map(|s| s.line));
    heads.dedup();
    (is_literal || sets_insecure).then_some(TlsConfig {
        lines,
        target: type_text,
        is_literal,
        settings,
        heads,
    })
}

fn assignment_config<'a>(
    file: &'a GoFile,
    node: Node<'a>,
    ancestry: &mut Option<Ancestry<'a>>,
) -> Option<TlsConfig> {
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
                only: None,
            });
        }
    }
    let target = target?;
    let ancestry = ancestry.get_or_insert_with(|| Ancestry::new(file));
    let only = condition(file, ancestry, node);
    for setting in &mut settings {
        setting.only.clone_from(&only);
    }
    let lines = file.node_lines(node);
    Some(TlsConfig {
        lines,
        target,
        is_literal: false,
        settings,
        heads: vec![lines.start()],
    })
}

/// When a statement runs, if not whenever its function does: the innermost condition between
/// it and its enclosing function (`when cfg.X != nil`, `in case "h2" of the switch at line
/// 40`, `when the loop at line 31 runs`).
fn condition<'a>(file: &GoFile, ancestry: &Ancestry<'a>, statement: Node<'a>) -> Option<String> {
    let mut child = statement;
    for _ in 0..MAX_CONDITION_DEPTH {
        let parent = ancestry.parent(child)?;
        if is_function(parent) {
            return None;
        }
        let line = file.node_lines(parent).start();
        let text = |n: Node<'_>| {
            file.short_text(n, MAX_NODE_TEXT)
                .map(|t| abbreviate(&t))
                .unwrap_or_else(|| format!("<{} bytes>", n.byte_range().len()))
        };
        match parent.kind() {
            "if_statement" => {
                let cond = parent.child_by_field_name("condition").map(text)?;
                let in_alternative = parent
                    .child_by_field_name("alternative")
                    .is_some_and(|a| a.id() == child.id());
                let in_consequence = parent
                    .child_by_field_name("consequence")
                    .is_some_and(|c| c.id() == child.id());
                if in_consequence {
                    return Some(format!("when {cond}"));
                }
                if in_alternative {
                    return Some(format!("when {cond} is false (line {line})"));
                }
            }
            "expression_case" | "type_case" => {
                let value = parent.child_by_field_name("value").map(text);
                return Some(format!(
                    "in case {} of the switch at line {}",
                    value.unwrap_or_default(),
                    ancestry
                        .parent(parent)
                        .map_or(line, |s| file.node_lines(s).start())
                ));
            }
            "default_case" => return Some(format!("in the default case at line {line}")),
            "communication_case" => return Some(format!("in the select case at line {line}")),
            "for_statement" => return Some(format!("when the loop at line {line} runs")),
            _ => {}
        }
        child = parent;
    }
    Some("deep inside nested statements".to_string())
}

/// One line, at most 60 characters, for messages.
fn abbreviate(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 60 {
        format!("{}...", flat.chars().take(57).collect::<String>())
    } else {
        flat
    }
}
