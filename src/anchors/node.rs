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
    match plain_tree(source) {
        Some(root) => Ok(root),
        None => parse_with_serde(source),
    }
}

/// The node tree of a document written plainly, as [`parse_with_serde`] reads it, built
/// straight from the YAML parser's events (the serde layer, which types every scalar through
/// `deserialize_any` and wraps every node in `Spanned`, takes about twice as long as the
/// parser). `None` for anything it does not read exactly as [`parse_with_serde`] does, which
/// then reads the document: a syntax error or a safety limit near, an anchor, alias, tag,
/// merge key, directive, explicit or second document, a key that is not a string, or a plain
/// scalar whose type is not sure ([`plain_scalar`]: a number but a decimal integer, and
/// anything else starting with a sign or `~`).
fn plain_tree(source: &str) -> Option<Node> {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};

    enum Open {
        Seq(Node, Vec<Node>),
        Map(Node, Vec<(Node, Node)>, Option<Node>),
    }
    let budget = budget();
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.simple_key_max_lookahead = budget.simple_key_max_lookahead;
    options.flow_nesting_limit = budget.flow_nesting_limit;
    options.block_nesting_limit = options.block_nesting_limit.max(MAX_DEPTH + 1);
    options.emit_comments = false;
    let mut open: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    let (mut nodes, mut documents) = (0usize, 0usize);
    for item in Parser::new_from_str_with_options(source, options) {
        let (event, span) = item.ok()?;
        let byte_span = match (span.start.byte_offset(), span.end.byte_offset()) {
            (Some(start), Some(end)) => Some(ByteSpan { start, end }),
            _ => None,
        };
        let at = |value| Node {
            value,
            position: Position {
                line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
                column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
            },
            span: byte_span,
        };
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::DocumentStart(explicit, version) => {
                documents += 1;
                if explicit || version.is_some() || documents > 1 {
                    return None;
                }
                continue;
            }
            Event::SequenceStart(_, 0, None) | Event::MappingStart(_, 0, None) => {
                nodes += 1;
                if open.len() + 1 >= MAX_DEPTH || nodes > MAX_NODES / 2 {
                    return None;
                }
                open.push(match event {
                    Event::SequenceStart(..) => Open::Seq(at(NodeValue::Null), Vec::new()),
                    _ => Open::Map(at(NodeValue::Null), Vec::new(), None),
                });
                continue;
            }
            Event::SequenceEnd => match open.pop()? {
                Open::Seq(mut node, mut items) => {
                    items.shrink_to_fit();
                    node.value = NodeValue::Seq(items);
                    node
                }
                Open::Map(..) => return None,
            },
            Event::MappingEnd => match open.pop()? {
                Open::Map(mut node, mut entries, None) => {
                    entries.shrink_to_fit();
                    node.value = NodeValue::Map(entries);
                    node
                }
                _ => return None,
            },
            Event::Scalar(text, style, 0, None) => {
                nodes += 1;
                if nodes > MAX_NODES / 2 {
                    return None;
                }
                let value = if style == ScalarStyle::Plain {
                    plain_scalar(&text)?
                } else {
                    NodeValue::Str(text.into_owned())
                };
                at(value)
            }
            _ => return None,
        };
        match open.last_mut() {
            None if root.is_none() => root = Some(node),
            None => return None,
            Some(Open::Seq(_, items)) => items.push(node),
            Some(Open::Map(_, _, key @ None)) => match &node.value {
                NodeValue::Str(name) if name != "<<" => *key = Some(node),
                _ => return None,
            },
            Some(Open::Map(_, entries, key)) => entries.push((key.take()?, node)),
        }
    }
    root.filter(|_| open.is_empty())
}

/// A plain scalar's value, where it is sure to be what serde-saphyr's `deserialize_any`
/// makes of it under YAML 1.2's core schema with strict booleans; `None` where it might not be.
fn plain_scalar(text: &str) -> Option<NodeValue> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(first) = text.bytes().next() else {
        return Some(NodeValue::Null);
    };
    // The parser never ends a plain scalar in a blank; typing would trim one.
    if text.ends_with([' ', '\t', '\r', '\n']) {
        return None;
    }
    let string = match text {
        "~" | "null" | "Null" | "NULL" => return Some(NodeValue::Null),
        "true" | "True" | "TRUE" => return Some(NodeValue::Bool(true)),
        "false" | "False" | "FALSE" => return Some(NodeValue::Bool(false)),
        // A decimal integer without a leading zero, well inside 64 bits.
        _ if digits(text) && (text == "0" || first != b'0') && text.len() <= 18 => {
            return text.parse().ok().map(NodeValue::Int);
        }
        // A dot needs a digit after it, or `inf` or `nan`, to start a number (`.`, `./x`
        // and `..` are strings).
        _ if first == b'.' => {
            let rest = &text[1..];
            !(rest.bytes().next().is_some_and(|b| b.is_ascii_digit())
                || ["inf", "Inf", "INF", "nan", "NaN", "NAN"].contains(&rest))
        }
        // Past a digit, a float needs a dot, a sign, a decimal exponent (`12e34`, which a
        // commit id may be) or digits alone (`007`, or past 64 bits), and an integer in
        // another radix its prefix: other commit ids and `47-49` are neither.
        _ if first.is_ascii_digit() => {
            let bytes = text.as_bytes();
            let radix = bytes.len() > 1 && b"xXoObB".contains(&bytes[1]);
            let exponent = text
                .split_once(['e', 'E'])
                .is_some_and(|(a, b)| digits(a) && digits(b));
            let alphanumeric = bytes.iter().all(u8::is_ascii_alphanumeric) && !digits(text);
            let range =
                bytes.contains(&b'-') && bytes.iter().all(|&b| b.is_ascii_digit() || b == b'-');
            (alphanumeric && !radix && !exponent) || range
        }
        // No number starts with anything but a digit, a sign or a dot, and past a letter only
        // the words above are not strings.
        _ => !matches!(first, b'+' | b'-' | b'~'),
    };
    string.then(|| NodeValue::Str(text.to_string()))
}

/// Reads a whole document into a node tree through serde-saphyr.
fn parse_with_serde(source: &str) -> Result<Node, SyntaxError> {
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

    /// Plain scalars whose type is easy to get wrong, and values of other styles.
    const SCALARS: [&str; 56] = [
        "1",
        "0",
        "007",
        "18446744073709551616",
        "1e5",
        "12e34",
        "0x1F",
        "0o7",
        "47-49",
        "2027-01-01",
        ".",
        "./a",
        ".5",
        ".inf",
        "-.inf",
        "-1",
        "+1",
        "~",
        "null",
        "Null",
        "true",
        "FALSE",
        "yes",
        "on",
        "nan",
        "inf",
        "1.5",
        "1_000",
        "abc",
        "a b",
        "(*T).M",
        "/x",
        "'quoted'",
        "\"dq\\n\"",
        "''",
        "431a65ad96",
        "1e",
        "e5",
        "-",
        "a: b",
        "1E5",
        "1e-5",
        "1.",
        "0b101",
        "0B1",
        "1e5x",
        "12:30",
        "0-1",
        "1-",
        "--1",
        "9e999",
        "..",
        ".e5",
        "~x",
        "Infinity",
        "123456789012345678",
    ];

    /// A document of nested maps and lists, block and flow, with keys and values from
    /// `SCALARS`.
    fn document(shape: &[(u8, usize, usize)]) -> String {
        let mut out = String::from("version: 1\nclaims:\n");
        for (i, &(kind, a, b)) in shape.iter().enumerate() {
            let (a, b) = (SCALARS[a % SCALARS.len()], SCALARS[b % SCALARS.len()]);
            match kind % 7 {
                0 => out.push_str(&format!("  - id: c{i}\n    lines: {a}\n")),
                1 => out.push_str(&format!("  - {{k{i}: {a}, {b}: x}}\n")),
                2 => out.push_str(&format!("  - [{a}, {b}]\n")),
                3 => out.push_str(&format!(
                    "  - refs:\n      - at: {a}\n        expect:\n          - {{call: {b}}}\n"
                )),
                4 => out.push_str(&format!("  - {a}\n")),
                5 => out.push_str(&format!("  - k:\n    v: {b}\n    w:\n  -\n")),
                _ => out.push_str(&format!("  - {b}: {a}\n")),
            }
        }
        out
    }

    /// Built straight from the parser's events, a document's tree is serde-saphyr's, node for
    /// node (values, positions and spans), or it is left to serde-saphyr; and plainly written
    /// documents are built straight.
    #[test]
    fn the_plain_tree_is_serdes_or_none() {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let mut runner = TestRunner::new(Config {
            cases: 1000,
            ..Config::default()
        });
        let built = std::cell::Cell::new(0);
        runner
            .run(&vec((0u8..7, 0usize..56, 0usize..56), 1..5), |shape| {
                let src = document(&shape);
                if let Some(tree) = plain_tree(&src) {
                    built.set(built.get() + 1);
                    prop_assert_eq!(Ok(tree), parse_with_serde(&src), "{}", src);
                }
                Ok(())
            })
            .unwrap();
        assert!(built.get() > 50, "{} documents built straight", built.get());
        let plain = "version: 1\nrepo: .\nclaims:\n  - id: a\n    refs:\n      - path: 'x.go'\n        lines: 47-49\n        at: 431a65ad96c356b92ecf960a1db342e9d1db4dd7\n        symbol: (*T).M\n        expect:\n          - {call: 'log.Fatal', args: [1, \"x\"]}\n          - fail_closed: {when: '^err$'}\n      - {path: y.go, lines: 3}\n";
        let tree = plain_tree(plain).expect("a plainly written document built straight");
        assert_eq!(Ok(tree), parse_with_serde(plain));
    }
}
