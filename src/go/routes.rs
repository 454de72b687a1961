//! HTTP route registrations: net/http ServeMux, gorilla/mux, chi, gin and echo.

use tree_sitter::Node;

use super::KindName;
use super::ancestry::Ancestry;
use super::calls::callee;
use super::conditions::{Condition, conditions_at};
use super::literals::{ConstStrings, compact};
use super::routers::{RouterResolver, join_paths, selector_call};
use super::walk::code_children;
use super::{GoFile, MAX_NODE_TEXT, cited, nodes_of_kinds};
use crate::lines::{LineNo, LineRange};

/// HTTP methods, as net/http and the routers spell them.
pub const HTTP_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE",
];

/// One route registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRegistration {
    /// The full path: the router's prefix joined with the registered path (`/v1/agent/heartbeat`).
    pub path: String,
    /// False when the path argument is not a literal or string constant; `path` then holds its
    /// source text.
    pub path_resolved: bool,
    /// Upper-case methods the route serves; empty means every method.
    pub methods: Vec<String>,
    /// The host of a Go 1.22 `"GET example.com/x"` pattern.
    pub host: Option<String>,
    /// The receiver as written (`mux`, `r.PathPrefix("/api").Subrouter()`).
    pub receiver: String,
    /// The root router after following aliases (`l.mtlsMux`).
    pub router: String,
    /// Every name the router went by, receiver first and root last, for matching `on`.
    pub router_names: Vec<String>,
    /// The registering method (`HandleFunc`, `Get`, `GET`, `Mount`).
    pub method_call: String,
    /// Every line of the registering call.
    pub lines: LineRange,
    /// The line of the registering method's name: a range citing it cites the registration.
    pub head: LineNo,
    /// The byte range of the registering call, to find the conditions it runs under.
    pub bytes: (usize, usize),
}

impl RouteRegistration {
    pub fn line(&self) -> LineNo {
        self.head
    }

    /// True when the route serves `method` (a route without methods serves all).
    pub fn serves(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// The conditions the registration runs under inside its function, outermost first.
    pub fn conditions(&self, file: &GoFile) -> Vec<Condition> {
        conditions_at(file, self.bytes, self.head)
    }

    /// True when `name` is one of the router's names or the last selector segment of one.
    pub fn is_on(&self, name: &str) -> bool {
        self.router_names
            .iter()
            .any(|n| n == name || n.rsplit_once('.').is_some_and(|(_, last)| last == name))
    }
}

/// Route registrations whose registering method's line lies inside `region`, in order of
/// those lines. Prefixes and aliases are followed through the whole enclosing function,
/// inside or outside the region.
pub fn registrations(file: &GoFile, region: LineRange) -> &[RouteRegistration] {
    cited(file.cached_registrations(), region, RouteRegistration::line)
}

/// Walks the tree for the registrations inside `region`, sorted by head line.
pub(crate) fn scan(file: &GoFile, region: LineRange) -> Vec<RouteRegistration> {
    let constants = ConstStrings::new(file);
    let mut resolver = RouterResolver::new(file, &constants);
    let mut found: Vec<RouteRegistration> = nodes_of_kinds(file, region, &["call_expression"])
        .into_iter()
        .filter_map(|call| registration(file, &constants, &mut resolver, call))
        .collect();
    found.sort_by_key(|r| r.head);
    found
}

/// What a registering call says before its router is resolved.
struct RawRoute {
    pattern: String,
    resolved: bool,
    methods: Vec<String>,
    /// Whether `pattern` may carry Go 1.22 `METHOD host/path` syntax.
    go122: bool,
}

fn registration<'a>(
    file: &'a GoFile,
    constants: &ConstStrings<'a>,
    resolver: &mut RouterResolver<'a>,
    call: Node<'a>,
) -> Option<RouteRegistration> {
    let (receiver, method_call) = selector_call(file, call)?;
    let args = code_children(call.child_by_field_name("arguments")?);
    let raw = raw_route(
        file,
        constants,
        resolver.ancestry(),
        call,
        &method_call,
        &args,
    )?;
    let (mut methods, host, path) = if raw.go122 && raw.resolved {
        split_pattern(&raw.pattern)
    } else {
        (Vec::new(), None, raw.pattern.clone())
    };
    methods.extend(raw.methods);
    methods.extend(chained_methods(file, constants, resolver.ancestry(), call));
    methods.sort();
    methods.dedup();
    let router = resolver.resolve(receiver);
    Some(RouteRegistration {
        path: if raw.resolved {
            join_paths(&router.prefix, &path)
        } else {
            path
        },
        path_resolved: raw.resolved,
        methods,
        host,
        receiver: compact(&file.short_text(receiver, MAX_NODE_TEXT).unwrap_or_default()),
        router: router.root,
        router_names: router.names,
        method_call,
        lines: file.node_lines(call),
        head: callee(file, call)?.head,
        bytes: (call.start_byte(), call.end_byte()),
    })
}

fn raw_route<'a>(
    file: &GoFile,
    constants: &ConstStrings<'_>,
    ancestry: &Ancestry<'a>,
    call: Node<'a>,
    method_call: &str,
    args: &[Node<'_>],
) -> Option<RawRoute> {
    let string = |i: usize| args.get(i).and_then(|a| constants.resolve(*a));
    let method = |i: usize| args.get(i).and_then(|a| method_name(file, constants, *a));
    let is_method = |s: &Option<String>| s.as_deref().is_some_and(|m| HTTP_METHODS.contains(&m));
    let route = |pattern: String, methods: Vec<String>, go122: bool| {
        Some(RawRoute {
            pattern,
            resolved: true,
            methods,
            go122,
        })
    };
    let upper = method_call.to_ascii_uppercase();
    match method_call {
        // gin `Handle("GET", "/x", h)` and echo `Add("GET", "/x", h)`.
        "Handle" | "Add" if args.len() >= 3 && is_method(&method(0)) => {
            let path = string(1).filter(|p| p.starts_with('/'))?;
            route(path, vec![method(0)?], false)
        }
        "Handle" | "HandleFunc" | "Mount" if args.len() >= 2 => match string(0) {
            Some(pattern) if pattern.contains('/') => {
                route(pattern, Vec::new(), method_call != "Mount")
            }
            Some(_) => None,
            None => Some(RawRoute {
                pattern: compact(&file.short_text(args[0], MAX_NODE_TEXT)?),
                resolved: false,
                methods: Vec::new(),
                go122: false,
            }),
        },
        // gin/echo `GET(...)`, chi `Get(...)`.
        _ if HTTP_METHODS.contains(&upper.as_str()) && args.len() >= 2 => {
            let path = string(0).filter(|p| p.starts_with('/'))?;
            route(path, vec![upper], false)
        }
        "Any" if args.len() >= 2 => {
            route(string(0).filter(|p| p.starts_with('/'))?, Vec::new(), false)
        }
        // chi `Method("GET", "/x", h)`.
        "Method" | "MethodFunc" if args.len() >= 3 && is_method(&method(0)) => route(
            string(1).filter(|p| p.starts_with('/'))?,
            vec![method(0)?],
            false,
        ),
        // echo `Match([]string{"GET", "POST"}, "/x", h)`.
        "Match" if args.len() >= 3 => {
            let methods: Vec<String> = code_children(args[0])
                .into_iter()
                .filter(|n| n.kind_name() == "literal_value")
                .flat_map(code_children)
                .filter_map(|element| {
                    method_name(file, constants, element.named_child(0).unwrap_or(element))
                })
                .collect();
            route(string(1).filter(|p| p.starts_with('/'))?, methods, false)
        }
        // gorilla `Path("/x").Handler(h)` and `PathPrefix("/static").Handler(h)`.
        "Path" | "PathPrefix" if args.len() == 1 && chain_has_handler(file, ancestry, call) => {
            route(string(0).filter(|p| p.starts_with('/'))?, Vec::new(), false)
        }
        _ => None,
    }
}

/// An HTTP method argument: a string (`"GET"`) or a net/http constant (`http.MethodGet`).
fn method_name(file: &GoFile, constants: &ConstStrings<'_>, arg: Node<'_>) -> Option<String> {
    if let Some(value) = constants.resolve(arg) {
        return Some(value.to_ascii_uppercase());
    }
    let text = compact(&file.short_text(arg, MAX_NODE_TEXT)?);
    let name = text.strip_prefix("http.Method")?.to_ascii_uppercase();
    HTTP_METHODS.contains(&name.as_str()).then_some(name)
}

/// Splits a ServeMux pattern `[METHOD ][HOST]/PATH` into methods, host and path.
pub fn split_pattern(pattern: &str) -> (Vec<String>, Option<String>, String) {
    let trimmed = pattern.trim();
    let (methods, rest) = match trimmed.split_once([' ', '\t']) {
        Some((method, rest)) if !method.contains('/') => {
            (vec![method.to_string()], rest.trim_start())
        }
        _ => (Vec::new(), trimmed),
    };
    match rest.find('/') {
        Some(0) | None => (methods, None, rest.to_string()),
        Some(i) => (methods, Some(rest[..i].to_string()), rest[i..].to_string()),
    }
}

/// The gorilla calls chained on the registration (`.Methods("GET")`, `.Name(..)`) and before it
/// on the receiver (`r.Methods("GET").Path("/x")`), outermost last.
fn chain_calls<'t>(
    file: &GoFile,
    ancestry: &Ancestry<'t>,
    call: Node<'t>,
) -> Vec<(String, Node<'t>)> {
    let mut chain = Vec::new();
    let mut current = call;
    // Check each kind before looking further up: only recorded kinds have a cheap parent.
    while let Some(selector) = ancestry.parent(current)
        && selector.kind_name() == "selector_expression"
        && let Some(outer) = ancestry.parent(selector)
    {
        if selector.kind_name() != "selector_expression" || outer.kind_name() != "call_expression" {
            break;
        }
        let Some((_, method)) = selector_call(file, outer) else {
            break;
        };
        chain.push((method, outer));
        current = outer;
    }
    let mut inner = selector_call(file, call).map(|(operand, _)| operand);
    while let Some(node) = inner.filter(|n| n.kind_name() == "call_expression") {
        let Some((operand, method)) = selector_call(file, node) else {
            break;
        };
        chain.push((method, node));
        inner = Some(operand);
    }
    chain
}

/// True when the calls chained after `call` give it a handler before any `Subrouter()`.
fn chain_has_handler<'t>(file: &GoFile, ancestry: &Ancestry<'t>, call: Node<'t>) -> bool {
    let mut current = call;
    // Check each kind before looking further up: only recorded kinds have a cheap parent.
    while let Some(selector) = ancestry.parent(current)
        && selector.kind_name() == "selector_expression"
        && let Some(outer) = ancestry.parent(selector)
    {
        if selector.kind_name() != "selector_expression" || outer.kind_name() != "call_expression" {
            return false;
        }
        match selector_call(file, outer).map(|(_, m)| m).as_deref() {
            Some("Handler" | "HandlerFunc") => return true,
            Some("Subrouter") | None => return false,
            Some(_) => current = outer,
        }
    }
    false
}

fn chained_methods<'t>(
    file: &GoFile,
    constants: &ConstStrings<'_>,
    ancestry: &Ancestry<'t>,
    call: Node<'t>,
) -> Vec<String> {
    chain_calls(file, ancestry, call)
        .into_iter()
        .filter(|(m, _)| m == "Methods")
        .flat_map(|(_, node)| {
            node.child_by_field_name("arguments")
                .map(code_children)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|a| method_name(file, constants, a))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(src: &str) -> GoFile {
        GoFile::parse(src.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn splits_go122_patterns() {
        assert_eq!(split_pattern("/x"), (vec![], None, "/x".to_string()));
        assert_eq!(
            split_pattern("POST /x"),
            (vec!["POST".to_string()], None, "/x".to_string())
        );
        assert_eq!(
            split_pattern("GET example.com/x/{id}"),
            (
                vec!["GET".to_string()],
                Some("example.com".to_string()),
                "/x/{id}".to_string()
            )
        );
        assert_eq!(
            split_pattern("example.com/"),
            (vec![], Some("example.com".to_string()), "/".to_string())
        );
    }

    #[test]
    fn registration_reports_router_prefix_and_line() {
        let f = file("package a\nfunc f() {\n\tv1 := r.Group(\"/v1\")\n\tv1.GET(\"/x\", h)\n}\n");
        let found = registrations(&f, f.full_range().unwrap());
        assert_eq!(found.len(), 1);
        let route = &found[0];
        assert_eq!(route.path, "/v1/x");
        assert_eq!(route.methods, vec!["GET".to_string()]);
        assert_eq!(route.router, "r");
        assert_eq!(route.router_names, vec!["v1".to_string(), "r".to_string()]);
        assert_eq!(route.receiver, "v1");
        assert_eq!(route.line().get(), 4);
    }

    #[test]
    fn non_route_calls_are_not_registrations() {
        let f = file(
            "package a\nfunc f() {\n\tcache.Get(ctx, key)\n\th.Get(\"X-Header\")\n\thttp.Get(\"https://x/y\")\n\tq.Add(\"k\", \"v\")\n}\n",
        );
        assert!(registrations(&f, f.full_range().unwrap()).is_empty());
    }

    #[test]
    fn unresolved_path_is_kept_as_text() {
        let f = file("package a\nfunc f(p string) {\n\tmux.HandleFunc(p, h)\n}\n");
        let found = registrations(&f, f.full_range().unwrap());
        assert_eq!(found.len(), 1);
        assert!(!found[0].path_resolved);
        assert_eq!(found[0].path, "p");
    }
}
