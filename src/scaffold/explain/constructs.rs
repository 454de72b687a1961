//! The constructs `explain` recognises in a range, one function per kind: route registrations,
//! guards, TLS settings, calls, strings and identifiers, each with the expectations that would
//! cite it, checked on the range.

use std::collections::{BTreeMap, HashSet};

use globset::{Glob, GlobMatcher};

use super::{Check, Construct, ConstructKind, check};
use crate::anchors::{ClientAuth, TlsHook, TlsVersion};
use crate::go::calls::CallSite;
use crate::go::conditions::{Condition, suggested_when};
use crate::go::{GoFile, symbols};
use crate::lines::{LineNo, LineRange};
use crate::scaffold::yaml::{flow_list, quoted, scalar};

/// A router and a sorted method set: the routes of one `routes` suggestion.
type RouteGroup = (String, Vec<String>);

/// Route registrations whose registering call starts in the range, one `routes` expectation
/// per router and method set.
pub(super) fn routes(file: &GoFile, range: LineRange) -> Vec<Construct> {
    let cited: Vec<_> = file
        .cached_registrations()
        .iter()
        .filter(|r| range.contains_line(r.line()))
        .collect();
    // Routes grouped by (router, methods): each group is one expectation, with `when`
    // matching the conditions its registrations run under, if any.
    let mut groups: BTreeMap<RouteGroup, (Vec<String>, Vec<Condition>)> = BTreeMap::new();
    for r in cited.iter().filter(|r| r.path_resolved) {
        let mut methods = r.methods.clone();
        methods.sort();
        let (paths, conditions) = groups.entry((router_name(&r.router), methods)).or_default();
        if !paths.contains(&r.path) {
            paths.push(r.path.clone());
        }
        conditions.extend(r.conditions(file));
    }
    let group_checks: Vec<((String, Vec<String>), Check)> = groups
        .into_iter()
        .map(|((router, methods), (paths, conditions))| {
            let mut yaml = format!(
                "routes: {{ on: {}, paths: {}",
                scalar(&router),
                flow_list(&paths)
            );
            if !methods.is_empty() {
                yaml.push_str(&format!(", methods: {}", flow_list(&methods)));
            }
            yaml.push_str(&when_field(&conditions));
            yaml.push_str(" }");
            ((router, methods), check(file, range, yaml, true))
        })
        .collect();
    cited
        .iter()
        .map(|r| {
            let mut methods = r.methods.clone();
            methods.sort();
            let key = (router_name(&r.router), methods);
            let methods = if r.methods.is_empty() {
                String::new()
            } else {
                format!("{} ", r.methods.join(","))
            };
            let path = if r.path_resolved {
                r.path.clone()
            } else {
                format!("{} (not a constant)", r.path)
            };
            Construct {
                kind: ConstructKind::Route,
                line: r.line(),
                summary: format!("{methods}{path} on {} ({})", r.router, r.method_call),
                checks: group_checks
                    .iter()
                    .filter(|(k, _)| *k == key && r.path_resolved)
                    .map(|(_, c)| c.clone())
                    .collect(),
                rank: 0,
            }
        })
        .collect()
}

/// How `on` names a router: its last selector segment (`mtlsMux` for `l.mtlsMux`), which
/// matches wherever the router is reached from.
fn router_name(router: &str) -> String {
    router.rsplit('.').next().unwrap_or(router).to_string()
}

/// Names too common in conditions to say what a guard is about.
const NOISE: &[&str] = &["err", "ok", "r", "w", "req", "ctx"];

/// Go's predeclared types and functions: a conversion or `len(x)` is not what a guard is about.
const PREDECLARED: &[&str] = &[
    "nil", "true", "false", "iota", "len", "cap", "append", "make", "new", "copy", "delete", "min",
    "max", "string", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32",
    "uint64", "uintptr", "byte", "rune", "bool", "float32", "float64", "error", "any",
];

/// Names of one guard worth an expectation.
const MAX_NAMES_PER_GUARD: usize = 3;

/// Guards (`if`, tagless `switch` and `select` cases) whose head line is in the range. A guard
/// gets one `fail_closed` per name its condition is about, each anchored, so dropping one
/// operand of `a || b` fails. Common names (`err`, `ok`) are evidence when no guard of the
/// range that names something more telling holds, or when the error checked comes from a
/// security-relevant call just above.
pub(super) fn guards(file: &GoFile, range: LineRange) -> Vec<Construct> {
    let matchers = security_matchers();
    // Each cited guard with its checks, one per name, and whether the error it checks came
    // from a security-relevant call: `if err != nil` right after `AuthorizeAdminToken(...)`
    // refuses what the call rejected, as telling as the call itself.
    let cited: Vec<_> = file
        .cached_guards()
        .iter()
        .filter(|g| range.contains_line(g.line()))
        .map(|g| {
            let checks: Vec<(bool, Check)> = condition_names(&g.mentions)
                .iter()
                .map(|name| {
                    let when = format!("^{}$", regex::escape(name));
                    let yaml = format!("fail_closed: {{ when: {} }}", quoted(&when));
                    let noise = NOISE.contains(&name.as_str());
                    (noise, guard_check(file, range, g.lines, yaml, true))
                })
                .collect();
            let checks_a_security_call = file.cached_calls().iter().any(|c| {
                c.line() <= g.line()
                    && c.line().get() + ERROR_CHECK_LINES >= g.line().get()
                    && matchers.iter().any(|m| m.is_match(&c.callee))
            });
            (g, checks, checks_a_security_call)
        })
        .collect();
    // Common names are left to a guard that says more, when one holds: a telling guard that
    // fails does not make the `err` guard next to it noise.
    let telling = cited
        .iter()
        .any(|(_, checks, _)| checks.iter().any(|(noise, check)| !noise && check.holds));
    cited
        .into_iter()
        .map(|(g, checks, checks_a_security_call)| Construct {
            kind: ConstructKind::Guard,
            line: g.line(),
            summary: format!("{} {}", g.keyword, shorten(&g.condition, 80)),
            checks: checks
                .into_iter()
                .map(|(noise, check)| Check {
                    evidence: !(telling && noise) || checks_a_security_call,
                    ..check
                })
                .collect(),
            rank: 0,
        })
        .collect()
}

/// How many lines above a guard the call whose error it checks may be (`v, err := f(...)` on
/// one line, or wrapped over a few).
const ERROR_CHECK_LINES: u32 = 3;

/// A guard's `fail_closed` check, about that guard: evaluated on the guard's own lines (so the
/// evidence or the failure named is this guard's, not another's of the range mentioning the
/// same name), and holding only when it also holds on the whole range, as `verify` will
/// evaluate it; when only the range fails, the message says both.
fn guard_check(
    file: &GoFile,
    range: LineRange,
    guard: LineRange,
    yaml: String,
    evidence: bool,
) -> Check {
    let own = check(file, guard, yaml.clone(), evidence);
    if !own.holds {
        return own;
    }
    let whole = check(file, range, yaml, evidence);
    if whole.holds {
        return own;
    }
    Check {
        message: format!("{}; but in the cited range, {}", own.message, whole.message),
        holds: false,
        ..own
    }
}

/// The names a condition is about: its selectors, callees and identifiers, without the parts
/// of longer ones also listed (`cfg` and `MTLSRequired` of `cfg.MTLSRequired`), call chains,
/// predeclared names, and common names unless nothing else is left; selectors first, at most
/// [`MAX_NAMES_PER_GUARD`].
pub(super) fn condition_names(mentions: &[String]) -> Vec<String> {
    let simple: Vec<&String> = mentions
        .iter()
        .filter(|m| !m.contains(['(', ')', '[', ' ']) && !PREDECLARED.contains(&m.as_str()))
        .filter(|m| *m != "_")
        .collect();
    // `cfg` and `MTLS` of `cfg.MTLS.Required` are parts of it, and so is `cfg.MTLS`.
    let is_part = |m: &str| {
        simple.iter().any(|other| {
            other.len() > m.len()
                && (other.split('.').any(|segment| segment == m)
                    || other.starts_with(&format!("{m}.")))
        })
    };
    let leaves: Vec<&String> = simple.iter().copied().filter(|m| !is_part(m)).collect();
    let mut names: Vec<String> = leaves
        .iter()
        .filter(|m| !NOISE.contains(&m.as_str()))
        .map(|m| (*m).clone())
        .collect();
    if names.is_empty() {
        names = leaves.iter().map(|m| (*m).clone()).collect();
    }
    // Stable: selectors (what a guard checks on a value) before bare names, source order kept.
    names.sort_by_key(|n| !n.contains('.'));
    names.truncate(MAX_NAMES_PER_GUARD);
    names
}

/// TLS configurations with a setting in the range: one `tls` expectation with the client
/// authentication and minimum version they set.
pub(super) fn tls(file: &GoFile, range: LineRange) -> Vec<Construct> {
    file.cached_tls()
        .iter()
        .filter(|c| c.settings.iter().any(|s| range.contains_line(s.line)))
        .map(|config| {
            let mut fields = Vec::new();
            if let Some(mode) = config
                .get("ClientAuth")
                .and_then(|s| ClientAuth::parse(&s.value))
            {
                fields.push(format!("client_auth: {}", mode.key()));
            }
            if let Some(version) = config
                .get("MinVersion")
                .and_then(|s| TlsVersion::parse(&s.value))
            {
                fields.push(format!("min_version: {}", quoted(version.as_str())));
            }
            for hook in TlsHook::ALL {
                if config.get(hook.go_name()).is_some_and(|s| s.value != "nil") {
                    fields.push(format!("{}: {}", hook.key(), TlsHook::SET));
                }
            }
            if !fields.is_empty() {
                let when = when_field(&config.conditions);
                if let Some(when) = when.strip_prefix(", ") {
                    fields.push(when.to_string());
                }
            }
            let line = config
                .settings
                .iter()
                .map(|s| s.line)
                .find(|l| range.contains_line(*l))
                .unwrap_or(config.lines.start());
            let settings: Vec<String> = config
                .settings
                .iter()
                .map(|s| format!("{}: {}", s.field, s.value))
                .collect();
            Construct {
                kind: ConstructKind::Tls,
                line,
                summary: format!(
                    "{} {{ {} }}",
                    config.target,
                    shorten(&settings.join(", "), 100)
                ),
                checks: if fields.is_empty() {
                    Vec::new()
                } else {
                    let yaml = format!("tls: {{ {} }}", fields.join(", "));
                    vec![check(file, range, yaml, true)]
                },
                rank: 0,
            }
        })
        .collect()
}

/// Callees worth citing as evidence of a security property: constant-time comparisons,
/// certificate checks, TLS listeners, fatal exits, authentication and middleware.
const SECURITY_CALLS: &[&str] = &[
    "hmac.Equal",
    "subtle.ConstantTime*",
    "x509.*",
    "*Verif*",
    "tls.Listen",
    "tls.NewListener",
    "tls.Server",
    "tls.Dial*",
    "*ListenAndServeTLS",
    "*ServeTLS",
    "log.Fatal*",
    "*.Fatal*",
    "os.Exit",
    "panic",
    "runtime.Goexit",
    "bcrypt.*",
    "jwt.*",
    "*Authenticat*",
    "*Authoriz*",
    "*Middleware",
    "*CheckSignature*",
    "*ValidateToken*",
];

fn security_matchers() -> Vec<GlobMatcher> {
    SECURITY_CALLS
        .iter()
        .filter_map(|g| Glob::new(g).ok().map(|g| g.compile_matcher()))
        .collect()
}

/// Calls whose callee is in the range (each callee once); the security-relevant ones are
/// evidence.
pub(super) fn calls(file: &GoFile, range: LineRange) -> Vec<Construct> {
    let matchers = security_matchers();
    let mut seen: HashSet<&str> = HashSet::new();
    file.cached_calls()
        .iter()
        .filter(|c| range.contains_line(c.line()))
        .filter(|c| seen.insert(c.callee.as_str()))
        .map(|c| {
            let relevant = matchers.iter().any(|m| m.is_match(&c.callee));
            Construct {
                kind: ConstructKind::Call,
                line: c.line(),
                summary: format!("{}(...)", c.callee),
                checks: call_check(file, range, c, relevant).into_iter().collect(),
                rank: 0,
            }
        })
        .collect()
}

/// `call:` for the call's callee, shortest form that holds first: its last two segments
/// (`hmac.Middleware` for `l.hmac.Middleware`, which survives renaming the receiver), then the
/// callee as written; each with `when` matching the conditions the call runs under when it
/// only runs under some.
fn call_check(file: &GoFile, range: LineRange, call: &CallSite, evidence: bool) -> Option<Check> {
    let callee = call.callee.as_str();
    let segments: Vec<&str> = callee.split('.').collect();
    let mut forms = Vec::new();
    if segments.len() > 2 {
        forms.push(segments[segments.len() - 2..].join("."));
    }
    forms.push(callee.to_string());
    let mut last = None;
    let mut when: Option<String> = None;
    for form in forms {
        let c = check(file, range, format!("call: {}", scalar(&form)), evidence);
        if c.holds {
            return Some(c);
        }
        last = Some(c);
        let when = when.get_or_insert_with(|| when_field(&call.conditions(file)));
        if !when.is_empty() {
            let yaml = format!("call: {{ name: {}{when} }}", scalar(&form));
            let c = check(file, range, yaml, evidence);
            if c.holds {
                return Some(c);
            }
        }
    }
    last
}

/// `, when: "REGEX"` matching every one of `conditions`, or nothing when there are none.
fn when_field(conditions: &[Condition]) -> String {
    let all: Vec<&Condition> = conditions.iter().collect();
    suggested_when(&all)
        .map(|re| format!(", when: {}", quoted(&re)))
        .unwrap_or_default()
}

/// String literals in the range (values up to 80 characters; the first eight).
pub(super) fn strings(file: &GoFile, range: LineRange) -> Vec<Construct> {
    let mut seen = HashSet::new();
    file.cached_strings()
        .iter()
        .filter(|s| range.contains_line(s.lines.start()))
        .filter(|s| !s.value.trim().is_empty() && s.value.chars().count() <= 80)
        .filter(|s| seen.insert(s.value.clone()))
        .take(8)
        .map(|s| Construct {
            kind: ConstructKind::String,
            line: s.lines.start(),
            summary: quoted(&s.value),
            checks: vec![check(
                file,
                range,
                format!("string: {}", quoted(&s.value)),
                true,
            )],
            rank: 0,
        })
        .collect()
}

/// Names too general to say what a range is about.
const GENERAL: &[&str] = &[
    "err", "nil", "ok", "ctx", "context", "fmt", "errors", "log", "http", "string", "int", "int64",
    "uint", "byte", "bool", "error", "any", "len", "append", "make", "new", "true", "false", "r",
    "w", "req", "resp", "res", "i", "j", "k", "n", "s", "b", "t", "x", "v", "c",
];

/// The identifiers used in the range (general names left out), ranked by what the range is
/// about: names declared in it first, then names other than packages, then the longest, then
/// the most used.
pub(super) fn identifiers(file: &GoFile, range: LineRange) -> Vec<Construct> {
    let declared: HashSet<String> = symbols::declarations(file)
        .into_iter()
        .filter(|d| range.contains_line(d.lines.start()))
        .map(|d| d.name.rsplit('.').next().unwrap_or(&d.name).to_string())
        .collect();
    // name -> (uses, first line, only ever a package name)
    let mut counts: BTreeMap<&str, (usize, LineNo, bool)> = BTreeMap::new();
    for id in file
        .cached_identifiers()
        .iter()
        .filter(|i| range.contains_line(i.line))
        .filter(|i| !GENERAL.contains(&i.name.as_str()) && i.name != "_")
    {
        let entry = counts.entry(id.name.as_str()).or_insert((0, id.line, true));
        entry.0 += 1;
        entry.2 &= id.kind == "package_identifier";
    }
    let mut ranked: Vec<(&str, usize, LineNo, bool)> = counts
        .into_iter()
        .map(|(n, (c, l, package))| (n, c, l, package))
        .collect();
    ranked.sort_by_key(|(name, count, line, package)| {
        (
            !declared.contains(*name),
            *package,
            std::cmp::Reverse(name.len()),
            std::cmp::Reverse(*count),
            *line,
        )
    });
    ranked
        .into_iter()
        .enumerate()
        .map(|(rank, (name, _, line, _))| Construct {
            kind: ConstructKind::Identifier,
            line,
            summary: name.to_string(),
            checks: vec![check(
                file,
                range,
                format!("identifier: {}", scalar(name)),
                true,
            )],
            rank,
        })
        .collect()
}

/// `text`, cut at a character boundary with `...` when longer than `max` bytes.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}
