//! TLS configuration: `tls.Config` literals and field assignments on config values, with the
//! condition an assignment depends on.

use tree_sitter::Node;

use super::KindName;
use super::conditions::{Condition, Step, conditions, path_to};
use super::literals::compact;
use super::walk::code_children;
use super::{GoFile, MAX_NODE_TEXT, nodes_of_kinds};
use crate::lines::{LineNo, LineRange};

/// Fields of `tls.Config` worth tracking when assigned one by one.
pub const TRACKED_FIELDS: [&str; 8] = [
    "ClientAuth",
    "MinVersion",
    "MaxVersion",
    "InsecureSkipVerify",
    "VerifyPeerCertificate",
    "VerifyConnection",
    "ClientCAs",
    "GetConfigForClient",
];

/// One field setting, from a literal (`ClientAuth: tls.RequireAndVerifyClientCert`) or an
/// assignment (`cfg.MinVersion = tls.VersionTLS13`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSetting {
    pub field: String,
    /// The value's text without whitespace.
    pub value: String,
    pub line: LineNo,
    /// The conditions it applies under inside its function, outermost first (a literal's
    /// fields take the literal's); empty when it applies whenever the function runs.
    pub conditions: Vec<Condition>,
}

impl TlsSetting {
    /// The innermost condition it applies under, as messages say it (`when cfg.X != nil`).
    pub fn only(&self) -> Option<&str> {
        self.conditions.last().map(|c| c.phrase.as_str())
    }
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
    /// The configuration value it sets, as written: the assigned operand (`cfg`,
    /// `l.tlsConfig`), or for a literal the name it is bound to (`cfg` in `cfg :=
    /// &tls.Config{..}`, `srv.TLSConfig` for a field of a bound literal); `None` for a literal
    /// returned or passed on.
    pub value: Option<String>,
    /// The byte range of the literal or assignment statement.
    pub bytes: (usize, usize),
    /// The conditions it applies under inside its function, outermost first.
    pub conditions: Vec<Condition>,
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
    nodes
        .into_iter()
        .filter_map(|node| match node.kind_name() {
            "composite_literal" => literal_config(file, node),
            "assignment_statement" => assignment_config(file, node),
            _ => None,
        })
        .collect()
}

/// The path down to `node`, its conditions, and for a literal the value it is bound to.
fn placed<'a>(file: &'a GoFile, node: Node<'a>) -> (Option<Vec<Step<'a>>>, Vec<Condition>) {
    let bytes = (node.start_byte(), node.end_byte());
    let path = path_to(file, bytes);
    let found = match &path {
        Some(path) => conditions(file, path),
        None => super::conditions::conditions_at(file, bytes, file.node_lines(node).start()),
    };
    (path, found)
}

fn literal_config(file: &GoFile, node: Node<'_>) -> Option<TlsConfig> {
    let type_text = compact(&file.short_text(node.child_by_field_name("type")?, MAX_NODE_TEXT)?);
    let body = node.child_by_field_name("body")?;
    let mut settings: Vec<TlsSetting> = code_children(body)
        .into_iter()
        .filter(|e| e.kind_name() == "keyed_element")
        .filter_map(|element| {
            let key = element.child_by_field_name("key")?;
            let value = element.child_by_field_name("value")?;
            Some(TlsSetting {
                field: compact(&file.short_text(key, MAX_NODE_TEXT)?),
                value: compact(&file.short_text(value, MAX_NODE_TEXT)?),
                line: file.node_lines(element).start(),
                conditions: Vec::new(),
            })
        })
        .collect();
    let is_literal = type_text == "tls.Config";
    let sets_insecure = settings.iter().any(|s| s.field == "InsecureSkipVerify");
    if !is_literal && !sets_insecure {
        return None;
    }
    let (path, found) = placed(file, node);
    for setting in &mut settings {
        setting.conditions.clone_from(&found);
    }
    let lines = file.node_lines(node);
    let mut heads = vec![lines.start()];
    heads.extend(settings.iter().map(|s| s.line));
    heads.dedup();
    Some(TlsConfig {
        lines,
        target: type_text,
        is_literal,
        settings,
        heads,
        value: path.and_then(|p| bound_name(file, &p)),
        bytes: (node.start_byte(), node.end_byte()),
        conditions: found,
    })
}

/// The name a composite literal at the end of `path` is bound to: `cfg` for `cfg :=
/// &tls.Config{..}`, `var cfg = ..` or `cfg = ..`; `srv.TLSConfig` for the value of a
/// `TLSConfig:` field of a literal bound to `srv`.
fn bound_name(file: &GoFile, path: &[Step<'_>]) -> Option<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut i = path.len().checked_sub(1)?;
    loop {
        let child = path[i].node;
        let parent = path.get(i.checked_sub(1)?)?.node;
        match parent.kind_name() {
            "unary_expression" | "parenthesized_expression" | "literal_element" => {}
            "keyed_element" => {
                let key = parent.child_by_field_name("key")?;
                if key.id() == child.id() {
                    return None;
                }
                keys.push(compact(&file.short_text(key, MAX_NODE_TEXT)?));
                // keyed_element -> literal_value -> composite_literal
                i = i.checked_sub(2)?;
                if path[i - 1].node.kind_name() != "composite_literal" {
                    return None;
                }
            }
            "expression_list" => {
                let statement = path.get(i.checked_sub(2)?)?.node;
                let index = code_children(parent)
                    .iter()
                    .position(|n| n.id() == child.id())?;
                let left = match statement.kind_name() {
                    "short_var_declaration" | "assignment_statement"
                        if path[i - 1].field == Some("right") =>
                    {
                        code_children(statement.child_by_field_name("left")?)
                    }
                    "var_spec" => {
                        let mut cursor = statement.walk();
                        statement
                            .children_by_field_name("name", &mut cursor)
                            .collect()
                    }
                    _ => return None,
                };
                let name = compact(&file.short_text(*left.get(index)?, MAX_NODE_TEXT)?);
                keys.push(name);
                keys.reverse();
                return Some(keys.join("."));
            }
            _ => return None,
        }
        i -= 1;
    }
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
        if left.kind_name() != "selector_expression" {
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
                conditions: Vec::new(),
            });
        }
    }
    let target = target?;
    let (_, found) = placed(file, node);
    for setting in &mut settings {
        setting.conditions.clone_from(&found);
    }
    let lines = file.node_lines(node);
    Some(TlsConfig {
        lines,
        value: Some(target.clone()),
        target,
        is_literal: false,
        settings,
        heads: vec![lines.start()],
        bytes: (node.start_byte(), node.end_byte()),
        conditions: found,
    })
}
