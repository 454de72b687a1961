//! What anchorcheck sees in a cited range: the enclosing declaration, the constructs whose head
//! lies in the range, and for each the expectation that would cite it, evaluated by the same
//! evaluators `verify` uses (so a suggestion that is shown as holding does hold).

use std::collections::{BTreeMap, HashSet};

use globset::{Glob, GlobMatcher};

use super::Location;
use super::yaml::{flow_list, quoted, scalar};
use crate::anchors::{ClientAuth, TlsVersion, parse_expectation};
use crate::expect;
use crate::go::symbols::{self, DeclKind};
use crate::go::{GoError, GoFile};
use crate::lines::{LineNo, LineRange};
use crate::source::{FileProblem, Files};

/// What a range holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub lines: LineRange,
    /// The top-level declaration holding the whole range, when one does.
    pub declaration: Option<Enclosing>,
    /// Constructs whose head is in the range, in line order.
    pub constructs: Vec<Construct>,
}

/// The declaration enclosing a range, with its symbol in canonical form (`Type.Method`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enclosing {
    pub symbol: String,
    /// `func`, `method`, `type`, `const` or `var`.
    pub kind: &'static str,
    pub lines: LineRange,
}

/// What kind of thing a construct is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConstructKind {
    Route,
    Guard,
    Tls,
    Call,
    String,
    Identifier,
}

impl ConstructKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConstructKind::Route => "route",
            ConstructKind::Guard => "guard",
            ConstructKind::Tls => "tls",
            ConstructKind::Call => "call",
            ConstructKind::String => "string",
            ConstructKind::Identifier => "identifier",
        }
    }
}

/// One construct with its head in the range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Construct {
    pub kind: ConstructKind,
    /// The line of its head (the callee, the `if`, the field).
    pub line: LineNo,
    /// What it is, in a few words (`POST /v1/agent/heartbeat on l.mtlsMux`).
    pub summary: String,
    /// The expectations that would cite it, each as one YAML `expect` item, with whether it
    /// holds on the range and what the evaluator says.
    pub checks: Vec<Check>,
    /// Order of preference among constructs of its kind (identifiers: declared in the range,
    /// then most used, then longest); 0 for kinds that have none.
    pub rank: usize,
}

/// Identifiers suggested for a range with no stronger evidence.
const MAX_IDENTIFIERS: usize = 3;

/// One expectation that would cite a construct, and its outcome on the range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The `expect` item, as YAML: `call: log.Fatal*`.
    pub yaml: String,
    pub holds: bool,
    /// Worth writing as evidence (a route, a fail-closed guard, a TLS setting, a
    /// security-relevant call, or what a range with none of those is about), as opposed to
    /// merely true of the range (any other call or identifier).
    pub evidence: bool,
    /// The evaluator's message: what matched, or why it fails (a fail-open guard says why).
    pub message: String,
}

impl Explanation {
    /// The expectations worth writing for the range, best evidence first: routes, fail-closed
    /// guards, TLS settings and security-relevant calls; when there are none of those, the
    /// strings and the (at most three) identifiers the range is about. Only ones that hold.
    pub fn suggested(&self) -> Vec<&Check> {
        let holding = |kinds: &[ConstructKind]| -> Vec<&Check> {
            let mut seen = HashSet::new();
            let mut picked: Vec<(usize, &Check)> = self
                .constructs
                .iter()
                .filter(|c| kinds.contains(&c.kind))
                .flat_map(|c| c.checks.iter().map(move |check| (c.rank, check)))
                .filter(|(_, check)| check.evidence && check.holds)
                .filter(|(_, check)| seen.insert(check.yaml.as_str()))
                .collect();
            picked.sort_by_key(|(rank, check)| {
                (check.yaml.split(':').next() != Some("string"), *rank)
            });
            let mut identifiers = 0;
            picked
                .into_iter()
                .map(|(_, check)| check)
                .filter(|check| {
                    !check.yaml.starts_with("identifier:") || {
                        identifiers += 1;
                        identifiers <= MAX_IDENTIFIERS
                    }
                })
                .collect()
        };
        let strong = holding(&[
            ConstructKind::Route,
            ConstructKind::Guard,
            ConstructKind::Tls,
            ConstructKind::Call,
        ]);
        if !strong.is_empty() {
            return strong;
        }
        holding(&[ConstructKind::String, ConstructKind::Identifier])
    }
}

/// Why a location could not be explained.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("{path}: {problem}")]
    Unreadable { path: String, problem: FileProblem },
    #[error(transparent)]
    Parser(#[from] GoError),
    #[error("{path}:{lines}: past the end of the file ({count} lines)")]
    PastTheEnd {
        path: String,
        lines: LineRange,
        count: u32,
    },
}

/// Reads and parses the file `location` names in `files` and explains its lines.
pub fn explain_at(files: &dyn Files, location: &Location) -> Result<Explanation, ExplainError> {
    let blob = files
        .read(&location.path)
        .map_err(|problem| ExplainError::Unreadable {
            path: location.path.clone(),
            problem,
        })?;
    let file = GoFile::parse(blob.bytes)?;
    if location.lines.end().get() > file.line_count() {
        return Err(ExplainError::PastTheEnd {
            path: location.path.clone(),
            lines: location.lines,
            count: file.line_count(),
        });
    }
    Ok(explain(&file, location.lines))
}

/// Explains `range` of `file`.
pub fn explain(file: &GoFile, range: LineRange) -> Explanation {
    let mut constructs = Vec::new();
    constructs.extend(routes(file, range));
    constructs.extend(guards(file, range));
    constructs.extend(tls(file, range));
    constructs.extend(calls(file, range));
    constructs.extend(strings(file, range));
    constructs.extend(identifiers(file, range));
    constructs.sort_by_key(|c| (c.line, c.kind));
    Explanation {
        lines: range,
        declaration: enclosing(file, range),
        constructs,
    }
}

/// Evaluates `yaml` (one `expect` item) on the range, as `verify` would read and check it.
fn check(file: &GoFile, range: LineRange, yaml: String, evidence: bool) -> Check {
    match parse_expectation(&yaml) {
        Ok(expectation) => {
            let result = expect::evaluate(&expectation, file, range);
            Check {
                yaml,
                holds: result.ok,
                evidence,
                message: result.message,
            }
        }
        // A suggestion that does not read back is a bug in the writer; say so, never pass it.
        Err(problems) => Check {
            message: problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            yaml,
            holds: false,
            evidence,
        },
    }
}

/// The declaration holding the whole range.
fn enclosing(file: &GoFile, range: LineRange) -> Option<Enclosing> {
    symbols::declarations(file)
        .into_iter()
        .filter(|d| d.lines.contains(range) || d.top_level.contains(range))
        .min_by_key(|d| d.lines.len())
        .map(|d| Enclosing {
            symbol: d.name.clone(),
            kind: match d.kind {
                DeclKind::Func => "func",
                DeclKind::Method => "method",
                DeclKind::Type => "type",
                DeclKind::Const => "const",
                DeclKind::Var => "var",
            },
            lines: d.lines,
        })
}

/// Route registrations whose registering call starts in the range, one `routes` expectation
/// per router and method set.
fn routes(file: &GoFile, range: LineRange) -> Vec<Construct> {
    let cited: Vec<_> = file
        .cached_registrations()
        .iter()
        .filter(|r| range.contains_line(r.line()))
        .collect();
    // Routes grouped by (router, methods): each group is one expectation.
    let mut groups: BTreeMap<(String, Vec<String>), Vec<String>> = BTreeMap::new();
    for r in cited.iter().filter(|r| r.path_resolved) {
        let mut methods = r.methods.clone();
        methods.sort();
        let paths = groups.entry((router_name(&r.router), methods)).or_default();
        if !paths.contains(&r.path) {
            paths.push(r.path.clone());
        }
    }
    let group_checks: Vec<((String, Vec<String>), Check)> = groups
        .into_iter()
        .map(|((router, methods), paths)| {
            let mut yaml = format!(
                "routes: {{ on: {}, paths: {}",
                scalar(&router),
                flow_list(&paths)
            );
            if !methods.is_empty() {
                yaml.push_str(&format!(", methods: {}", flow_list(&methods)));
            }
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

/// `if` statements whose `if` line is in the range. A guard gets one `fail_closed` per name
/// its condition is about, each anchored, so dropping one operand of `a || b` fails. `err` and
/// `ok` alone are evidence only when no guard of the range names anything more telling.
fn guards(file: &GoFile, range: LineRange) -> Vec<Construct> {
    let cited: Vec<_> = file
        .cached_guards()
        .iter()
        .filter(|g| range.contains_line(g.line()))
        .map(|g| (g, condition_names(&g.mentions)))
        .collect();
    let telling = cited
        .iter()
        .any(|(_, names)| names.iter().any(|n| !NOISE.contains(&n.as_str())));
    cited
        .into_iter()
        .map(|(g, names)| {
            let checks = names
                .iter()
                .map(|name| {
                    let when = format!("^{}$", regex::escape(name));
                    let yaml = format!("fail_closed: {{ when: {} }}", quoted(&when));
                    let evidence = !(telling && NOISE.contains(&name.as_str()));
                    check(file, range, yaml, evidence)
                })
                .collect();
            Construct {
                kind: ConstructKind::Guard,
                line: g.line(),
                summary: format!("if {}", shorten(&g.condition, 80)),
                checks,
                rank: 0,
            }
        })
        .collect()
}

/// The names a condition is about: its selectors, callees and identifiers, without the parts
/// of longer ones also listed (`cfg` and `MTLSRequired` of `cfg.MTLSRequired`), call chains,
/// predeclared names, and common names unless nothing else is left; selectors first, at most
/// [`MAX_NAMES_PER_GUARD`].
fn condition_names(mentions: &[String]) -> Vec<String> {
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
fn tls(file: &GoFile, range: LineRange) -> Vec<Construct> {
    file.cached_tls()
        .iter()
        .filter(|c| c.settings.iter().any(|s| range.contains_line(s.line)))
        .map(|config| {
            let mut fields = Vec::new();
            if let Some(mode) = config
                .get("ClientAuth")
                .and_then(|s| ClientAuth::parse(&s.value))
            {
                let yaml_name = ClientAuth::ALL
                    .iter()
                    .find(|(_, _, m)| *m == mode)
                    .map_or("require_and_verify", |(y, _, _)| y);
                fields.push(format!("client_auth: {yaml_name}"));
            }
            if let Some(version) = config
                .get("MinVersion")
                .and_then(|s| TlsVersion::parse(&s.value))
            {
                fields.push(format!("min_version: {}", quoted(version.as_str())));
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
fn calls(file: &GoFile, range: LineRange) -> Vec<Construct> {
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
                checks: call_check(file, range, &c.callee, relevant)
                    .into_iter()
                    .collect(),
                rank: 0,
            }
        })
        .collect()
}

/// `call:` for `callee`, shortest form that holds first: its last two segments
/// (`hmac.Middleware` for `l.hmac.Middleware`, which survives renaming the receiver), then the
/// callee as written.
fn call_check(file: &GoFile, range: LineRange, callee: &str, evidence: bool) -> Option<Check> {
    let segments: Vec<&str> = callee.split('.').collect();
    let mut forms = Vec::new();
    if segments.len() > 2 {
        forms.push(segments[segments.len() - 2..].join("."));
    }
    forms.push(callee.to_string());
    let mut last = None;
    for form in forms {
        let c = check(file, range, format!("call: {}", scalar(&form)), evidence);
        if c.holds {
            return Some(c);
        }
        last = Some(c);
    }
    last
}

/// String literals in the range (values up to 80 characters; the first eight).
fn strings(file: &GoFile, range: LineRange) -> Vec<Construct> {
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
fn identifiers(file: &GoFile, range: LineRange) -> Vec<Construct> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::test_support::{go, lines};

    const LISTENER: &str = r#"package cmd

import (
	"crypto/tls"
	"net/http"
)

const DefaultMTLSAddr = ":9443"

type MTLSListener struct {
	mtlsMux *http.ServeMux
	hmac    *HMAC
}

func NewConfig() *tls.Config {
	return &tls.Config{
		ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS13,
	}
}

func (l *MTLSListener) registerAgentRoutes() {
	mux := l.mtlsMux
	mux.Handle("GET /v1/agent/desired-state", l.hmac.Middleware(desired))
	mux.Handle("POST /v1/agent/heartbeat", l.hmac.Middleware(heartbeat))
}

func run(cfg Config) {
	if !cfg.MTLSRequired || cfg.CAFile == "" {
		log.Fatalf("mtls required")
	}
	if err != nil {
		log.Printf("ignored: %v", err)
	}
}
"#;

    fn yaml_of(e: &Explanation) -> Vec<&str> {
        e.suggested().iter().map(|c| c.yaml.as_str()).collect()
    }

    #[test]
    fn routes_are_suggested_with_their_router_and_methods() {
        let file = go(LISTENER);
        let e = explain(&file, lines(22, 26));
        assert_eq!(
            e.declaration.as_ref().map(|d| d.symbol.as_str()),
            Some("MTLSListener.registerAgentRoutes")
        );
        let yaml = yaml_of(&e);
        assert!(
            yaml.contains(
                &"routes: { on: mtlsMux, paths: [/v1/agent/desired-state], methods: [GET] }"
            ),
            "{yaml:#?}"
        );
        assert!(
            yaml.contains(
                &"routes: { on: mtlsMux, paths: [/v1/agent/heartbeat], methods: [POST] }"
            ),
            "{yaml:#?}"
        );
        assert!(yaml.iter().any(|y| y.contains("Middleware")), "{yaml:#?}");
    }

    #[test]
    fn a_fail_closed_guard_gets_one_anchored_expectation_per_operand() {
        let file = go(LISTENER);
        let e = explain(&file, lines(29, 31));
        let yaml = yaml_of(&e);
        assert!(
            yaml.contains(&r#"fail_closed: { when: "^cfg\\.MTLSRequired$" }"#),
            "{yaml:#?}"
        );
        assert!(
            yaml.contains(&r#"fail_closed: { when: "^cfg\\.CAFile$" }"#),
            "{yaml:#?}"
        );
        assert!(yaml.contains(&"call: log.Fatalf"), "{yaml:#?}");
    }

    #[test]
    fn a_condition_is_about_its_longest_names_without_noise() {
        let mentions: Vec<String> = [
            "_",
            "err",
            "rand.Read",
            "rand",
            "Read",
            "cfg.MTLS.Required",
            "cfg.MTLS",
            "cfg",
            "MTLS",
            "Required",
            "int64",
            "v.now().Sub",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            condition_names(&mentions),
            ["rand.Read", "cfg.MTLS.Required"]
        );
        let only_err = ["err".to_string()];
        assert_eq!(condition_names(&only_err), ["err"]);
    }

    #[test]
    fn a_fail_open_guard_is_shown_failing_and_not_suggested() {
        let file = go(LISTENER);
        let e = explain(&file, lines(32, 34));
        let guard = e
            .constructs
            .iter()
            .find(|c| c.kind == ConstructKind::Guard)
            .unwrap();
        assert!(!guard.checks.is_empty());
        assert!(guard.checks.iter().all(|c| !c.holds));
        assert!(
            guard.checks[0].message.contains("fail-open"),
            "{:?}",
            guard.checks
        );
        assert!(yaml_of(&e).iter().all(|y| !y.starts_with("fail_closed")));
    }

    #[test]
    fn tls_settings_are_suggested_as_one_tls_expectation() {
        let file = go(LISTENER);
        let e = explain(&file, lines(16, 19));
        assert_eq!(
            yaml_of(&e),
            [r#"tls: { client_auth: require_and_verify, min_version: "1.3" }"#]
        );
    }

    #[test]
    fn a_constant_is_about_its_string_and_name() {
        let file = go(LISTENER);
        let e = explain(&file, lines(8, 8));
        let yaml = yaml_of(&e);
        assert!(yaml.contains(&r#"string: ":9443""#), "{yaml:#?}");
        assert!(yaml.contains(&"identifier: DefaultMTLSAddr"), "{yaml:#?}");
    }

    #[test]
    fn every_suggestion_reads_back_and_holds() {
        let file = go(LISTENER);
        let total = file.line_count();
        for start in 1..=total {
            for end in start..=total.min(start + 12) {
                let e = explain(&file, lines(start, end));
                for c in e.suggested() {
                    let expectation = parse_expectation(&c.yaml).unwrap();
                    assert!(
                        expect::evaluate(&expectation, &file, lines(start, end)).ok,
                        "{} at {start}-{end}",
                        c.yaml
                    );
                }
            }
        }
    }
}
