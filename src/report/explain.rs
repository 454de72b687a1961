//! `explain` output: what anchorcheck sees in a range, for people (text) and editors (JSON).
//!
//! JSON (schema 1, lines 1-based and inclusive):
//!
//! ```json
//! {"schema": 1, "path": "src/a.go", "lines": "3181-3190", "rev": "HEAD", "commit": "<40-hex>",
//!  "declaration": {"symbol": "run", "kind": "func", "lines": "3001-3300"},
//!  "constructs": [{"kind": "guard", "line": 3181, "summary": "if !cfg.MTLSRequired",
//!    "checks": [{"expect": "fail_closed: { when: \"^cfg\\\\.MTLSRequired$\" }", "holds": true,
//!                "evidence": true, "message": "..."}]}],
//!  "suggested": ["fail_closed: { when: \"^cfg\\\\.MTLSRequired$\" }", "call: log.Fatalf"]}
//! ```
//!
//! `kind` is route, guard, tls, call, string or identifier; `line` the construct's head;
//! `checks` the `expect` items that would cite it, each evaluated on the range; `suggested`
//! the items worth pasting under a ref's `expect:` (all of them hold).

use std::fmt::Write as _;

use serde::Serialize;

use crate::scaffold::explain::{ConstructKind, Explanation};

/// Where the explained range is.
pub struct Subject<'a> {
    pub path: &'a str,
    pub rev: &'a str,
    pub commit: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonExplanation<'a> {
    schema: u32,
    path: &'a str,
    lines: String,
    rev: &'a str,
    commit: Option<&'a str>,
    declaration: Option<JsonDeclaration<'a>>,
    constructs: Vec<JsonConstruct<'a>>,
    suggested: Vec<&'a str>,
}

#[derive(Serialize)]
struct JsonDeclaration<'a> {
    symbol: &'a str,
    kind: &'a str,
    lines: String,
}

#[derive(Serialize)]
struct JsonConstruct<'a> {
    kind: &'a str,
    line: u32,
    summary: &'a str,
    checks: Vec<JsonCheck<'a>>,
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    expect: &'a str,
    holds: bool,
    evidence: bool,
    message: &'a str,
}

pub fn render_json(explanation: &Explanation, subject: &Subject<'_>) -> String {
    let json = JsonExplanation {
        schema: 1,
        path: subject.path,
        lines: explanation.lines.to_string(),
        rev: subject.rev,
        commit: subject.commit,
        declaration: explanation.declaration.as_ref().map(|d| JsonDeclaration {
            symbol: &d.symbol,
            kind: d.kind,
            lines: d.lines.to_string(),
        }),
        constructs: explanation
            .constructs
            .iter()
            .map(|c| JsonConstruct {
                kind: c.kind.as_str(),
                line: c.line.get(),
                summary: &c.summary,
                checks: c
                    .checks
                    .iter()
                    .map(|k| JsonCheck {
                        expect: &k.yaml,
                        holds: k.holds,
                        evidence: k.evidence,
                        message: &k.message,
                    })
                    .collect(),
            })
            .collect(),
        suggested: explanation
            .suggested()
            .into_iter()
            .map(|c| c.yaml.as_str())
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&json).unwrap_or_default();
    out.push('\n');
    out
}

pub fn render_text(explanation: &Explanation, subject: &Subject<'_>) -> String {
    let mut out = String::new();
    let commit = subject
        .commit
        .map(|c| format!(" ({})", &c[..c.len().min(12)]))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}:{} at {}{commit}",
        subject.path, explanation.lines, subject.rev
    );
    match &explanation.declaration {
        Some(d) => {
            let _ = writeln!(
                out,
                "inside {} {} (lines {}): `symbol: {}`",
                d.kind, d.symbol, d.lines, d.symbol
            );
        }
        None => out.push_str("not inside one top-level declaration\n"),
    }
    let mut identifiers = Vec::new();
    for c in &explanation.constructs {
        if c.kind == ConstructKind::Identifier {
            identifiers.push(c.summary.as_str());
            continue;
        }
        let _ = writeln!(
            out,
            "\nline {:<5} {:<6} {}",
            c.line.get(),
            c.kind.as_str(),
            c.summary
        );
        for check in &c.checks {
            let _ = writeln!(
                out,
                "    {} {}",
                if check.holds { "holds " } else { "FAILS " },
                check.yaml
            );
            let _ = writeln!(out, "           {}", check.message);
        }
    }
    if !identifiers.is_empty() {
        let _ = writeln!(
            out,
            "\nidentifiers (`identifier: NAME` holds for each): {}",
            identifiers.join(", ")
        );
    }
    let suggested = explanation.suggested();
    if suggested.is_empty() {
        out.push_str(
            "\nnothing here is worth an expectation: cite the lines that hold the evidence\n",
        );
    } else {
        out.push_str("\nsuggested (each holds here; paste under the ref's `expect:`):\n");
        for c in suggested {
            let _ = writeln!(out, "  - {}", c.yaml);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::test_support::{go, lines};
    use crate::scaffold::explain::explain;

    const SOURCE: &str = "package a\n\nfunc start(cfg Config) {\n\tif !cfg.MTLSRequired {\n\t\tlog.Fatal(\"mtls required\")\n\t}\n}\n";

    fn subject() -> Subject<'static> {
        Subject {
            path: "a.go",
            rev: "HEAD",
            commit: Some("0123456789abcdef0123456789abcdef01234567"),
        }
    }

    #[test]
    fn text_names_the_declaration_each_construct_and_the_suggestions() {
        let file = go(SOURCE);
        let text = render_text(&explain(&file, lines(4, 6)), &subject());
        insta::assert_snapshot!(text);
    }

    #[test]
    fn json_holds_every_check_and_the_suggestions() {
        let file = go(SOURCE);
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&explain(&file, lines(4, 6)), &subject())).unwrap();
        assert_eq!(json["schema"], 1);
        assert_eq!(json["declaration"]["symbol"], "start");
        assert_eq!(json["lines"], "4-6");
        let suggested: Vec<&str> = json["suggested"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(
            suggested,
            [
                r#"fail_closed: { when: "^cfg\\.MTLSRequired$" }"#,
                "call: log.Fatal"
            ]
        );
        assert!(json["constructs"].as_array().unwrap().len() >= 2);
    }
}
