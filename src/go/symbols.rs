//! Top-level declarations of a Go file: funcs, methods, types, consts and vars with their lines.

use tree_sitter::Node;

use super::{GoFile, KindName};
use crate::lines::LineRange;

/// What a declaration declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclKind {
    Func,
    Method,
    Type,
    Const,
    Var,
}

/// One named top-level declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    pub kind: DeclKind,
    /// `Name`, or `Type.Method` for methods (pointer receivers too).
    pub name: String,
    /// Whether a method has a pointer receiver (`(*Type).Method`).
    pub pointer_receiver: bool,
    /// Lines of this declaration: the func or method with its doc comment excluded, or the single
    /// spec inside a `const (...)` / `var (...)` / `type (...)` group.
    pub lines: LineRange,
    /// Lines of the whole top-level declaration (the group, for grouped specs).
    pub top_level: LineRange,
}

impl Declaration {
    /// True when `symbol` (as written in anchors.yaml) names this declaration. `T.M` and
    /// `(*T).M` both name a method of `T`, whatever its receiver kind: people write one or the
    /// other without checking which the code uses.
    pub fn is_named(&self, symbol: &str) -> bool {
        canonical_symbol(symbol) == self.name
    }
}

/// The canonical spelling of a symbol: `(*T).M` is written `T.M`.
pub fn canonical_symbol(symbol: &str) -> std::borrow::Cow<'_, str> {
    match symbol
        .strip_prefix("(*")
        .and_then(|rest| rest.split_once(")."))
    {
        Some((ty, method)) => format!("{ty}.{method}").into(),
        None => symbol.into(),
    }
}

/// Every named top-level declaration, in file order.
pub fn declarations(file: &GoFile) -> Vec<Declaration> {
    #[cfg(test)]
    walks::add(1);
    let root = file.root();
    let mut out = Vec::new();
    let mut cursor = root.walk();
    for top in root.named_children(&mut cursor) {
        let top_lines = file.node_lines(top);
        match top.kind_name() {
            "function_declaration" => {
                if let Some(name) = top.child_by_field_name("name") {
                    out.push(Declaration {
                        kind: DeclKind::Func,
                        name: file.node_text(name),
                        pointer_receiver: false,
                        lines: top_lines,
                        top_level: top_lines,
                    });
                }
            }
            "method_declaration" => {
                let Some(name) = top.child_by_field_name("name") else {
                    continue;
                };
                let (receiver, pointer) = top
                    .child_by_field_name("receiver")
                    .and_then(|r| receiver_type(file, r))
                    .unwrap_or_default();
                out.push(Declaration {
                    kind: DeclKind::Method,
                    name: format!("{receiver}.{}", file.node_text(name)),
                    pointer_receiver: pointer,
                    lines: top_lines,
                    top_level: top_lines,
                });
            }
            "type_declaration" | "const_declaration" | "var_declaration" => {
                let kind = match top.kind_name() {
                    "type_declaration" => DeclKind::Type,
                    "const_declaration" => DeclKind::Const,
                    _ => DeclKind::Var,
                };
                collect_specs(file, top, kind, top_lines, &mut out);
            }
            _ => {}
        }
    }
    out
}

/// Lines of every top-level declaration or statement except the package clause and comments:
/// the regions search relocation looks in.
pub fn top_level_ranges(file: &GoFile) -> Vec<LineRange> {
    let root = file.root();
    let mut cursor = root.walk();
    root.named_children(&mut cursor)
        .filter(|n| {
            !matches!(
                n.kind_name(),
                "comment" | "package_clause" | "import_declaration"
            )
        })
        .map(|n| file.node_lines(n))
        .collect()
}

/// Specs of a declaration, looking inside `(...)` groups.
fn collect_specs(
    file: &GoFile,
    decl: Node<'_>,
    kind: DeclKind,
    top_lines: LineRange,
    out: &mut Vec<Declaration>,
) {
    let mut stack = vec![decl];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        for child in children.into_iter().rev() {
            match child.kind_name() {
                "type_spec" | "type_alias" | "const_spec" | "var_spec" => {
                    let spec_lines = file.node_lines(child);
                    let mut names = child.walk();
                    for name in child.children_by_field_name("name", &mut names) {
                        out.push(Declaration {
                            kind,
                            name: file.node_text(name),
                            pointer_receiver: false,
                            lines: if spec_lines == top_lines {
                                top_lines
                            } else {
                                spec_lines
                            },
                            top_level: top_lines,
                        });
                    }
                }
                "const_spec_list" | "var_spec_list" | "type_spec_list" => stack.push(child),
                _ => {}
            }
        }
    }
    out.sort_by_key(|d| d.lines.start());
}

/// The receiver's base type name and whether it is a pointer: `(l *mtlsListener)` -> `mtlsListener`.
fn receiver_type(file: &GoFile, receiver: Node<'_>) -> Option<(String, bool)> {
    let mut cursor = receiver.walk();
    let param = receiver
        .named_children(&mut cursor)
        .find(|n| n.kind_name() == "parameter_declaration")?;
    let mut ty = param.child_by_field_name("type")?;
    let mut pointer = false;
    loop {
        match ty.kind_name() {
            "pointer_type" => {
                pointer = true;
                ty = ty.named_child(0)?;
            }
            "generic_type" => ty = ty.child_by_field_name("type")?,
            "parenthesized_type" => ty = ty.named_child(0)?,
            _ => break,
        }
    }
    Some((file.node_text(ty), pointer))
}

/// How many times this thread listed a file's declarations: what tests of sharing count.
#[cfg(test)]
pub(crate) mod walks {
    use std::cell::Cell;

    thread_local! {
        static MADE: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) fn add(n: usize) {
        MADE.set(MADE.get() + n);
    }

    /// How many since the last call.
    pub(crate) fn take() -> usize {
        MADE.replace(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "package a

// Listener serves mTLS.
type Listener struct {
\tmux int
}

const (
\tPortMTLS = 9443
\tPortPublic = 8080
)

var defaultTimeout = 5

func New() *Listener {
\treturn &Listener{}
}

func (l *Listener) Serve() error {
\treturn nil
}

func (s Store[K]) Get(k K) {}
";

    fn find<'a>(decls: &'a [Declaration], name: &str) -> &'a Declaration {
        decls.iter().find(|d| d.name == name).expect(name)
    }

    #[test]
    fn finds_every_kind_of_top_level_declaration() {
        let file = GoFile::parse(SRC.as_bytes().to_vec()).unwrap();
        let decls = declarations(&file);
        assert_eq!(find(&decls, "Listener").kind, DeclKind::Type);
        assert_eq!(find(&decls, "Listener").lines.to_string(), "4-6");
        assert_eq!(find(&decls, "PortPublic").lines.to_string(), "10");
        assert_eq!(find(&decls, "PortPublic").top_level.to_string(), "8-11");
        assert_eq!(find(&decls, "defaultTimeout").kind, DeclKind::Var);
        assert_eq!(find(&decls, "New").lines.to_string(), "15-17");
        let serve = find(&decls, "Listener.Serve");
        assert!(serve.pointer_receiver);
        assert_eq!(serve.lines.to_string(), "19-21");
        assert_eq!(find(&decls, "Store.Get").kind, DeclKind::Method);
    }

    #[test]
    fn matches_symbol_spellings() {
        let file = GoFile::parse(SRC.as_bytes().to_vec()).unwrap();
        let decls = declarations(&file);
        let serve = find(&decls, "Listener.Serve");
        assert!(serve.is_named("Listener.Serve"));
        assert!(serve.is_named("(*Listener).Serve"));
        // Issue 12: `(*adminHandler).checkOrigin` for a value receiver found nothing.
        let get = find(&decls, "Store.Get");
        assert!(!get.pointer_receiver);
        assert!(get.is_named("(*Store).Get"));
        assert!(get.is_named("Store.Get"));
        assert!(!get.is_named("Get"));
        assert!(!serve.is_named("(*Listen).Serve"));
    }
}
