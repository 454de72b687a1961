//! What anchorcheck sees in a cited range: the enclosing declaration, the constructs whose head
//! lies in the range, and for each the expectation that would cite it, evaluated by the same
//! evaluators `verify` uses (so a suggestion that is shown as holding does hold).

mod constructs;

use std::collections::HashSet;

#[cfg(test)]
use constructs::condition_names;
use constructs::{calls, guards, identifiers, routes, strings, tls};

use super::Location;
use crate::anchors::parse_expectation;
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
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
        self.into()
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

/// The declaration holding the whole range. Blank and comment lines at the range's edges do
/// not decide it: a function cited with the blank line after it is still that function's.
fn enclosing(file: &GoFile, range: LineRange) -> Option<Enclosing> {
    let range = code_lines(file, range);
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

/// `range` without the blank and comment-only lines at its edges (itself when it has nothing
/// else).
fn code_lines(file: &GoFile, range: LineRange) -> LineRange {
    let is_code = |line: u32| {
        LineNo::new(line).is_some_and(|l| {
            let text = file.line_text(l);
            let text = text.trim();
            !text.is_empty() && !text.starts_with("//")
        })
    };
    let (a, b) = (range.start().get(), range.end().get());
    let Some(start) = (a..=b).find(|&l| is_code(l)) else {
        return range;
    };
    let end = (start..=b).rev().find(|&l| is_code(l)).unwrap_or(start);
    match (LineNo::new(start), LineNo::new(end)) {
        (Some(s), Some(e)) => LineRange::new(s, e).unwrap_or(range),
        _ => range,
    }
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
    fn conditional_settings_routes_and_calls_are_suggested_with_when() {
        let src = "package a\n\nfunc serve(c Settings, pool *x509.CertPool, ln net.Listener) {\n\tcfg := &tls.Config{MinVersion: tls.VersionTLS12}\n\tif c.TrustedCAFile != \"\" {\n\t\tcfg.ClientCAs = pool\n\t\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n\t}\n\tcfg.VerifyPeerCertificate = validator(c)\n\tif c.Debug {\n\t\tmux.HandleFunc(\"/debug/pprof/\", pprof)\n\t\tln = tls.NewListener(ln, cfg)\n\t}\n}\n";
        let file = go(src);
        let e = explain(&file, lines(5, 8));
        assert_eq!(
            yaml_of(&e),
            [
                r#"tls: { client_cas: set, when: "c\\.TrustedCAFile != \"\"" }"#,
                r#"tls: { client_auth: require_and_verify, when: "c\\.TrustedCAFile != \"\"" }"#,
            ]
        );
        let e = explain(&file, lines(9, 9));
        assert_eq!(yaml_of(&e), ["tls: { verify_peer_certificate: set }"]);
        let e = explain(&file, lines(11, 12));
        assert_eq!(
            yaml_of(&e),
            [
                r#"routes: { on: mux, paths: [/debug/pprof/], when: "c\\.Debug" }"#,
                r#"call: { name: tls.NewListener, when: "c\\.Debug" }"#,
            ]
        );
        for (start, end) in [(5, 8), (9, 9), (11, 12)] {
            for c in explain(&file, lines(start, end)).suggested() {
                let expectation = parse_expectation(&c.yaml).unwrap();
                assert!(expect::evaluate(&expectation, &file, lines(start, end)).ok);
            }
        }
    }

    #[test]
    fn a_constant_is_about_its_string_and_name() {
        let file = go(LISTENER);
        let e = explain(&file, lines(8, 8));
        let yaml = yaml_of(&e);
        assert!(yaml.contains(&r#"string: ":9443""#), "{yaml:#?}");
        assert!(yaml.contains(&"identifier: DefaultMTLSAddr"), "{yaml:#?}");
    }

    /// An admin handler: the token is authorised (the error guard refuses), then the subject
    /// is checked; later, a certificate branch that is a success path.
    const ADMIN: &str = r#"package api

func (h *Handler) DeleteProvisioner(w http.ResponseWriter, r *http.Request) {
	adm, err := h.auth.AuthorizeAdminToken(r, token)
	if err != nil {
		render.Error(w, r, err)
		return
	}
	if adm.Subject == "" {
		render.Error(w, r, errors.New("no subject"))
		return
	}
	h.db.Delete(adm.Subject)
}

func peer(conn *tls.Conn, cert *x509.Certificate) error {
	if cert == nil {
		return errors.New("no certificate")
	}
	if conn == nil {
		log.Printf("no conn")
	} else if cert != nil {
		log.Printf("peer %s", cert.Subject)
	}
	return nil
}
"#;

    #[test]
    fn blank_and_comment_lines_at_the_edges_do_not_decide_the_declaration() {
        let file = go(LISTENER);
        for (a, b) in [(15, 21), (14, 20), (14, 21)] {
            let e = explain(&file, lines(a, b));
            assert_eq!(
                e.declaration.as_ref().map(|d| d.symbol.as_str()),
                Some("NewConfig"),
                "{a}-{b}"
            );
        }
        // Code of two declarations is in none.
        assert_eq!(explain(&file, lines(15, 22)).declaration, None);
    }

    #[test]
    fn an_error_guard_after_an_authorising_call_is_evidence() {
        let file = go(ADMIN);
        let e = explain(&file, lines(4, 12));
        let yaml = yaml_of(&e);
        assert!(
            yaml.contains(&r#"fail_closed: { when: "^err$" }"#),
            "{yaml:#?}"
        );
        assert!(
            yaml.contains(&r#"fail_closed: { when: "^adm\\.Subject$" }"#),
            "{yaml:#?}"
        );
    }

    #[test]
    fn guard_evidence_is_about_the_guard_it_is_listed_under() {
        let file = go(ADMIN);
        // Two guards mention `cert`: the refusal on line 17 and the success branch on 22.
        let e = explain(&file, lines(16, 26));
        let guard = |line: u32| {
            e.constructs
                .iter()
                .find(|c| c.kind == ConstructKind::Guard && c.line.get() == line)
                .unwrap_or_else(|| panic!("no guard on line {line}: {:#?}", e.constructs))
        };
        // The refusal holds where it is, but `^cert$` fails on the range for line 22's sake:
        // not suggested, and the message names both.
        let refusal = &guard(17).checks[0];
        assert!(!refusal.holds, "{refusal:?}");
        assert!(refusal.message.starts_with("line 17:"), "{refusal:?}");
        assert!(refusal.message.contains("line 22"), "{refusal:?}");
        let own = explain(&file, lines(17, 19));
        assert!(own.constructs[0].checks[0].holds, "{own:#?}");
        let success = guard(22)
            .checks
            .iter()
            .find(|c| c.yaml.contains("cert"))
            .unwrap();
        assert!(!success.holds, "{success:?}");
        assert!(success.message.starts_with("line 22:"), "{success:?}");
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
