//! Which router a route is registered on: following local aliases, groups, sub-routers and
//! closure parameters back to a root router, composing path prefixes on the way.

use std::collections::HashMap;

use tree_sitter::Node;

use super::ancestry::Ancestry;
use super::literals::{ConstStrings, compact};
use super::walk::{code_children, descendants_where, is_function};
use super::{GoFile, KindName};

/// How many aliases, groups and closures one resolution follows; stops cycles.
const MAX_STEPS: usize = 32;

/// How many enclosing functions a name is looked up in: real code nests a few closures, and
/// 100,000 nested ones must not make each lookup walk them all.
const MAX_SCOPES: usize = 16;

/// The router a receiver expression stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterRef {
    /// The root router after following aliases: `l.mtlsMux`, `mtls`, `r`.
    pub root: String,
    /// Every name met on the way, receiver first and root last (`mux`, `l.mtlsMux`).
    pub names: Vec<String>,
    /// The path prefix groups, sub-routers and mounts add (`/v1`), empty when none.
    pub prefix: String,
}

/// A local binding `name := value` / `name = value` / `var name = value`.
#[derive(Clone, Copy)]
struct Binding<'a> {
    /// Where the whole statement ends: only uses after it see the binding.
    end_byte: usize,
    value: Node<'a>,
}

/// Resolves receivers; caches each function's bindings across the registrations of one scan.
pub struct RouterResolver<'a> {
    file: &'a GoFile,
    constants: &'a ConstStrings<'a>,
    bindings: HashMap<usize, HashMap<String, Vec<Binding<'a>>>>,
    /// Each outermost function's `X.Mount(prefix, name)` calls: (name, X, prefix argument).
    mounts: HashMap<usize, Vec<(String, Node<'a>, Node<'a>)>>,
    ancestry: Ancestry<'a>,
}

impl<'a> RouterResolver<'a> {
    pub fn new(file: &'a GoFile, constants: &'a ConstStrings<'a>) -> Self {
        RouterResolver {
            file,
            constants,
            bindings: HashMap::new(),
            mounts: HashMap::new(),
            ancestry: Ancestry::new(file),
        }
    }

    /// Upward links of the file's nodes, shared with the route scan.
    pub fn ancestry(&self) -> &Ancestry<'a> {
        &self.ancestry
    }

    /// The router `receiver` (the operand of `X.HandleFunc`) stands for.
    pub fn resolve(&mut self, receiver: Node<'a>) -> RouterRef {
        let mut expr = receiver;
        let mut names: Vec<String> = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        for _ in 0..MAX_STEPS {
            let next = match expr.kind_name() {
                "parenthesized_expression" => expr.named_child(0),
                "unary_expression" => expr.child_by_field_name("operand"),
                "identifier" | "selector_expression" => {
                    let name = compact(&self.file.node_text(expr));
                    let next = self.follow_name(expr, &name, &mut prefixes);
                    names.push(name);
                    next
                }
                "call_expression" => self.follow_call(expr, &mut prefixes),
                _ => None,
            };
            // At a constructor or unknown expression, a chi `Mount` may still nest the root.
            let next = next.or_else(|| {
                let root = names.last()?;
                self.follow_mount(expr, root, &mut prefixes)
            });
            match next {
                Some(n) => expr = n,
                None => break,
            }
        }
        let root = names
            .last()
            .cloned()
            .unwrap_or_else(|| compact(&self.file.node_text(expr)));
        if names.is_empty() {
            names.push(root.clone());
        }
        prefixes.reverse();
        RouterRef {
            root,
            names,
            prefix: prefixes
                .iter()
                .fold(String::new(), |acc, p| join_paths(&acc, p)),
        }
    }

    /// The expression a name was bound to, or for a closure parameter of `Route`/`Group`, the
    /// router the closure was passed to.
    fn follow_name(
        &mut self,
        use_site: Node<'a>,
        name: &str,
        prefixes: &mut Vec<String>,
    ) -> Option<Node<'a>> {
        let scopes: Vec<Node<'a>> = self
            .ancestry
            .enclosing_functions(use_site)
            .take(MAX_SCOPES)
            .collect();
        for scope in scopes {
            let bound = self
                .scope_bindings(scope)
                .get(name)
                .and_then(|list| {
                    list.iter()
                        .rev()
                        .find(|b| b.end_byte <= use_site.start_byte())
                })
                .map(|b| b.value);
            if bound.is_some() {
                return bound;
            }
            if declares_parameter(self.file, scope, name) {
                let call = self
                    .ancestry
                    .parent(scope)
                    .filter(|p| p.kind_name() == "argument_list")
                    .and_then(|p| self.ancestry.parent(p))
                    .filter(|c| c.kind_name() == "call_expression")?;
                let (operand, method) = selector_call(self.file, call)?;
                if method == "Route" {
                    prefixes.push(self.first_string_arg(call)?);
                } else if method != "Group" {
                    return None;
                }
                return Some(operand);
            }
        }
        None
    }

    /// The receiver of a router-returning call (`X.Group("/v1")`, `X.PathPrefix("/a")`,
    /// `X.Subrouter()`, `X.With(mw)`), recording its prefix.
    fn follow_call(&mut self, call: Node<'a>, prefixes: &mut Vec<String>) -> Option<Node<'a>> {
        let (operand, method) = selector_call(self.file, call)?;
        match method.as_str() {
            "Group" | "Route" | "PathPrefix" => {
                if let Some(prefix) = self.first_string_arg(call) {
                    prefixes.push(prefix);
                } else if method == "PathPrefix" {
                    return None;
                }
                Some(operand)
            }
            "Subrouter" | "With" | "Methods" | "Host" | "Schemes" | "Headers" | "Queries"
            | "Name" => Some(operand),
            _ => None,
        }
    }

    /// For a root router `name` mounted with `X.Mount("/p", name)` in the enclosing function,
    /// the mounting router `X`.
    fn follow_mount(
        &mut self,
        at: Node<'a>,
        name: &str,
        prefixes: &mut Vec<String>,
    ) -> Option<Node<'a>> {
        let scope = if is_function(at) {
            at
        } else {
            self.ancestry.enclosing_function(at)?
        };
        let outer = self.ancestry.outermost_function(scope).unwrap_or(scope);
        let file = self.file;
        // Collected once per outermost function: scanning it again for every registration
        // would be quadratic in a function with many registrations.
        let mounts = self
            .mounts
            .entry(outer.id())
            .or_insert_with(|| collect_mounts(file, outer));
        let (_, operand, prefix) = *mounts.iter().find(|(mounted, _, _)| mounted == name)?;
        prefixes.push(self.constants.resolve(prefix)?);
        Some(operand)
    }

    fn first_string_arg(&self, call: Node<'a>) -> Option<String> {
        let args = call.child_by_field_name("arguments").map(code_children)?;
        self.constants.resolve(*args.first()?)
    }

    fn scope_bindings(&mut self, scope: Node<'a>) -> &HashMap<String, Vec<Binding<'a>>> {
        let file = self.file;
        self.bindings
            .entry(scope.id())
            .or_insert_with(|| collect_bindings(file, scope))
    }
}

/// `(operand, method)` of a call `operand.method(...)`.
pub fn selector_call<'t>(file: &GoFile, call: Node<'t>) -> Option<(Node<'t>, String)> {
    let function = call.child_by_field_name("function")?;
    if function.kind_name() != "selector_expression" {
        return None;
    }
    let operand = function.child_by_field_name("operand")?;
    let field = function.child_by_field_name("field")?;
    Some((operand, file.node_text(field)))
}

/// Every `X.Mount(prefix, name)` call inside `outer`, in source order.
fn collect_mounts<'a>(file: &GoFile, outer: Node<'a>) -> Vec<(String, Node<'a>, Node<'a>)> {
    descendants_where(outer, |_| true)
        .filter(|n| n.kind_name() == "call_expression")
        .filter_map(|node| {
            let (operand, method) = selector_call(file, node)?;
            if method != "Mount" {
                return None;
            }
            let args = node
                .child_by_field_name("arguments")
                .map(code_children)
                .unwrap_or_default();
            let (prefix, mounted) = (args.first()?, args.get(1)?);
            let name = compact(&file.short_text(*mounted, super::MAX_NODE_TEXT)?);
            Some((name, operand, *prefix))
        })
        .collect()
}

/// The bindings made directly in a function (not inside nested closures), by name, in order.
fn collect_bindings<'a>(file: &GoFile, scope: Node<'a>) -> HashMap<String, Vec<Binding<'a>>> {
    let scope_id = scope.id();
    let mut out: HashMap<String, Vec<Binding<'a>>> = HashMap::new();
    for node in descendants_where(scope, |n| {
        n.id() == scope_id || n.kind_name() != "func_literal"
    }) {
        let (left, right) = match node.kind_name() {
            "short_var_declaration" | "assignment_statement" => {
                let is_plain = node
                    .child_by_field_name("operator")
                    .is_none_or(|op| matches!(op.kind_name(), "=" | ":="));
                if !is_plain {
                    continue;
                }
                let (Some(l), Some(r)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ) else {
                    continue;
                };
                (code_children(l), code_children(r))
            }
            "var_spec" => {
                let mut cursor = node.walk();
                let names: Vec<Node<'a>> =
                    node.children_by_field_name("name", &mut cursor).collect();
                let values = node
                    .child_by_field_name("value")
                    .map(code_children)
                    .unwrap_or_default();
                (names, values)
            }
            _ => continue,
        };
        if left.len() != right.len() {
            continue;
        }
        for (name, value) in left.into_iter().zip(right) {
            out.entry(compact(&file.node_text(name)))
                .or_default()
                .push(Binding {
                    end_byte: node.end_byte(),
                    value,
                });
        }
    }
    out
}

fn declares_parameter(file: &GoFile, function: Node<'_>, name: &str) -> bool {
    let Some(params) = function.child_by_field_name("parameters") else {
        return false;
    };
    code_children(params).into_iter().any(|declaration| {
        let mut cursor = declaration.walk();
        declaration
            .children_by_field_name("name", &mut cursor)
            .any(|n| file.node_text(n) == name)
    })
}

/// `prefix` + `path` with exactly one `/` between them.
pub fn join_paths(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        return path.to_string();
    }
    if path.is_empty() {
        return prefix.to_string();
    }
    match (prefix.ends_with('/'), path.starts_with('/')) {
        (true, true) => format!("{prefix}{}", &path[1..]),
        (false, false) => format!("{prefix}/{path}"),
        _ => format!("{prefix}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::join_paths;

    #[test]
    fn joins_paths_with_one_slash() {
        assert_eq!(join_paths("", "/x"), "/x");
        assert_eq!(join_paths("/v1", "/x"), "/v1/x");
        assert_eq!(join_paths("/v1/", "/x"), "/v1/x");
        assert_eq!(join_paths("/v1", "x"), "/v1/x");
        assert_eq!(join_paths("/v1", ""), "/v1");
    }
}
