//! A YAML document as a tree of nodes that each keep their position and byte span.
//!
//! anchors.yaml is first read into this raw tree so that validation can report every problem
//! in one run (serde derive stops at the first) and `fix` can splice scalars in place.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::model::{ByteSpan, Position};

/// A YAML node and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub position: Position,
    /// Byte span of the node in the source, when the parser knows it.
    pub span: Option<ByteSpan>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order; duplicate keys are kept so validation can report them.
    Map(Vec<(Node, Node)>),
}

impl NodeValue {
    /// What kind of YAML value this is, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "a number",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }
}

impl Node {
    fn from_spanned(spanned: Spanned<NodeValue>) -> Node {
        let location = spanned.referenced;
        let span = location.span();
        let byte_span = match (span.byte_offset(), span.byte_len()) {
            (Some(start), Some(len)) => {
                let start = usize::try_from(start).ok();
                let len = usize::try_from(len).ok();
                start.zip(len).map(|(start, len)| ByteSpan {
                    start,
                    end: start + len,
                })
            }
            _ => None,
        };
        Node {
            value: spanned.value,
            position: Position {
                line: u32::try_from(location.line()).unwrap_or(u32::MAX),
                column: u32::try_from(location.column()).unwrap_or(u32::MAX),
            },
            span: byte_span,
        }
    }

    /// The scalar as written in `source` (plain scalars keep `0127` or `1.3` exactly), or its
    /// parsed value when the span is unknown. `None` for lists, mappings and null.
    pub fn scalar_text(&self, source: &str) -> Option<String> {
        match &self.value {
            NodeValue::Str(s) => Some(s.clone()),
            NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => {
                let raw = self
                    .span
                    .and_then(|s| source.get(s.start..s.end))
                    .map(str::trim)
                    .filter(|s| !s.is_empty());
                Some(match (raw, &self.value) {
                    (Some(raw), _) => raw.to_string(),
                    (None, NodeValue::Int(i)) => i.to_string(),
                    (None, NodeValue::Float(f)) => f.to_string(),
                    (None, NodeValue::Bool(b)) => b.to_string(),
                    (None, _) => return None,
                })
            }
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v.into()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        Ok(i128::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<NodeValue>>()? {
            items.push(Node::from_spanned(item));
        }
        // The tree lives until validation ends: a list grown by doubling (four slots for one
        // item) would hold several times the nodes it has, at 330,000 refs hundreds of MB.
        items.shrink_to_fit();
        Ok(NodeValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<NodeValue>>()? {
            let value = map.next_value::<Spanned<NodeValue>>()?;
            entries.push((Node::from_spanned(key), Node::from_spanned(value)));
        }
        entries.shrink_to_fit();
        Ok(NodeValue::Map(entries))
    }
}

/// A YAML syntax error (or a resource limit hit while reading), with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// Resource limits for reading anchors.yaml, set explicitly rather than trusting the library's
/// defaults (whose node budget would reject a legitimate 100,000-claim file). Each breach is a
/// positioned error, never a hang or an out-of-memory kill.
fn budget() -> serde_saphyr::Budget {
    let mut b = serde_saphyr::Budget::default();
    // A claim with one ref and one expectation is about 21 nodes: room for 150,000 claims.
    b.max_nodes = MAX_NODES;
    b.max_events = 2 * MAX_NODES;
    // The schema nests about 10 deep (claims > refs > expect > any/all/not); 24 leaves room for
    // combinators. Reading nests a few serde frames per level, so the bound also keeps a
    // nesting bomb within a 2 MiB thread stack in unoptimised builds.
    b.max_depth = MAX_DEPTH;
    b.flow_nesting_limit = MAX_DEPTH;
    b.max_documents = 1;
    b.max_total_scalar_bytes = super::MAX_FILE_BYTES;
    b.max_aliases = 10_000;
    b.max_anchors = 10_000;
    b.max_recorded_anchor_events = 100_000;
    b.max_recorded_anchor_bytes = 8 * 1024 * 1024;
    b.max_merge_keys = 1_000;
    b
}

/// Deepest nesting of lists and mappings (see `budget`).
pub const MAX_DEPTH: usize = 24;

/// Most nodes a document may hold (see `budget`).
pub const MAX_NODES: usize = 4_000_000;

/// Alias expansion is what makes a "billion laughs" document explode: cap the total events
/// replayed from aliases, and how deep aliases may nest inside each other.
fn alias_limits() -> serde_saphyr::options::AliasLimits {
    let mut limits = serde_saphyr::options::AliasLimits::default();
    limits.max_total_replayed_events = 100_000;
    limits.max_replay_stack_depth = 8;
    limits
}

/// Reads a whole document into a node tree, keeping duplicate keys for validation to report.
pub fn parse_document(source: &str) -> Result<Node, SyntaxError> {
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    // YAML 1.1 would read the `on:` key of `routes` as the boolean true.
    options.strict_booleans = true;
    options.with_snippet = false;
    options.budget = Some(budget());
    options.alias_limits = alias_limits();
    let root: Spanned<NodeValue> =
        serde_saphyr::from_str_with_options(source, options).map_err(|e| {
            let position = e
                .location()
                .map(|l| Position {
                    line: u32::try_from(l.line()).unwrap_or(u32::MAX).max(1),
                    column: u32::try_from(l.column()).unwrap_or(u32::MAX).max(1),
                })
                .unwrap_or(Position { line: 1, column: 1 });
            let message = e.without_snippet().to_string();
            // The library names a breached budget by its Rust name; say what it means.
            let message = match message.strip_prefix("budget breached: ") {
                Some(limit) => format!(
                    "the file exceeds a safety limit for reading YAML (aliases, nesting, size or documents): {limit}"
                ),
                None => message,
            };
            SyntaxError { position, message }
        })?;
    Ok(Node::from_spanned(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_entries(node: &Node) -> &[(Node, Node)] {
        match &node.value {
            NodeValue::Map(entries) => entries,
            other => panic!("expected a map, got {other:?}"),
        }
    }

    #[test]
    fn keeps_positions_spans_and_duplicate_keys() {
        let src = "version: 1\nlines: \"201-248\"\nat: 1234567\nat: x\n";
        let root = parse_document(src).unwrap();
        let entries = map_entries(&root);
        assert_eq!(entries.len(), 4, "duplicate `at` is kept");
        let (key, value) = &entries[1];
        assert_eq!(key.position, Position { line: 2, column: 1 });
        assert_eq!(value.position, Position { line: 2, column: 8 });
        let span = value.span.unwrap();
        assert_eq!(&src[span.start..span.end], "\"201-248\"");
        assert_eq!(entries[2].1.scalar_text(src).as_deref(), Some("1234567"));
    }

    #[test]
    fn plain_numbers_keep_their_written_text() {
        let src = "v: 1.30\nw: 0127\n";
        let root = parse_document(src).unwrap();
        let entries = map_entries(&root);
        assert_eq!(entries[0].1.scalar_text(src).as_deref(), Some("1.30"));
        assert_eq!(entries[1].1.scalar_text(src).as_deref(), Some("0127"));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse_document("claims:\n  - id: [unclosed\n").unwrap_err();
        assert!(err.position.line >= 2, "{err:?}");
    }
}
