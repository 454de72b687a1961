//! SARIF 2.1.0 for GitHub code scanning: one rule per finding code, one result per failing or
//! touched ref at its cited region, with the docs lines that cite it as related locations.
//!
//! Paths are written as given in anchors.yaml (relative to the repository root), percent-encoded
//! as RFC 3986 relative references, and lines are 1-based. `partialFingerprints` hold no line numbers, so an alert keeps its identity while the
//! code around it moves.

use serde_json::{Value, json};

use super::codes::{self, Code};
use super::finding::{Finding, findings};
use super::{DocsFinding, Report};
use crate::lines::LineRange;

/// The `$schema` GitHub and SARIF viewers recognise.
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key of our fingerprint; bump the version if what goes into it ever changes.
const FINGERPRINT_KEY: &str = "anchorcheckFinding/v1";

/// Renders the report as a SARIF 2.1.0 log (pretty-printed, trailing newline).
pub fn render(report: &Report) -> String {
    let mut results: Vec<Value> = findings(report).iter().map(ref_result).collect();
    for (index, finding) in report.docs.iter().enumerate() {
        results.push(docs_result(index, finding));
    }
    let mut driver = json!({
        "name": "anchorcheck",
        "version": version(&report.tool),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": codes::ALL.iter().map(rule).collect::<Vec<_>>(),
    });
    if let Some(uri) = information_uri() {
        driver["informationUri"] = json!(uri);
    }
    let mut run = json!({
        "tool": { "driver": driver },
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "repo": report.repo,
            "rev": report.rev,
            "summary": report.summary().to_string(),
        },
    });
    if let Some(commit) = &report.commit {
        run["properties"]["commit"] = json!(commit);
    }
    if let Some(fix) = &report.fix_command {
        run["properties"]["fixCommand"] = json!(fix);
    }
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [run],
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    // `#` only occurs inside strings, where `\u0023` means the same: no line is a `##[` command.
    super::workflow::escape_commands(&out, "\\u0023", "\\u003a")
}

/// `anchorcheck 0.1.0` -> `0.1.0`.
fn version(tool: &str) -> &str {
    tool.rsplit(' ').next().unwrap_or(tool)
}

/// The project's home, when Cargo.toml names one (SARIF requires an absolute URI here).
fn information_uri() -> Option<&'static str> {
    [env!("CARGO_PKG_REPOSITORY"), env!("CARGO_PKG_HOMEPAGE")]
        .into_iter()
        .find(|u| !u.is_empty())
}

fn rule(code: &Code) -> Value {
    json!({
        "id": code.id,
        "name": code.name,
        "shortDescription": { "text": code.summary },
        "fullDescription": { "text": code.description },
        "help": {
            "text": code.help,
            "markdown": format!("**{}**\n\n{}\n\n{}", code.summary, code.description, code.help),
        },
        "defaultConfiguration": { "level": code.level.as_str() },
        "properties": { "tags": ["documentation", "anchorcheck"] },
    })
}

fn region(lines: LineRange) -> Value {
    json!({ "startLine": lines.start().get(), "endLine": lines.end().get() })
}

/// Everything but RFC 3986's unreserved characters, its sub-delimiters, `@` and `/` is
/// percent-encoded; `:` too, so a first segment never reads as a scheme.
const URI_ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'@')
    .remove(b'/');

/// A repository path as a relative URI reference: `a dir/100%#1.go` is `a%20dir/100%25%231.go`.
pub fn uri(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, URI_ESCAPED).to_string()
}

fn location(path: &str, region: Value) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(path) },
            "region": region,
        }
    })
}

fn ref_result(finding: &Finding<'_>) -> Value {
    let Finding {
        claim,
        index,
        r,
        code,
    } = *finding;
    let mut related: Vec<Value> = Vec::new();
    for cite in &r.cited_by {
        let mut loc = location(
            &cite.page,
            json!({ "startLine": cite.line, "startColumn": cite.column }),
        );
        loc["message"] = json!({ "text": format!("cites claim {}", claim.id) });
        related.push(loc);
    }
    let moved_to = r
        .relocated
        .iter()
        .map(|reloc| (&reloc.place, "evidence now here"));
    let candidates = r.candidates.iter().map(|c| (c, "candidate"));
    for (p, what) in moved_to.chain(candidates) {
        let mut loc = location(&p.path, region(p.lines));
        loc["message"] = json!({ "text": what });
        related.push(loc);
    }
    for (id, loc) in related.iter_mut().enumerate() {
        loc["id"] = json!(id);
    }
    let mut result = json!({
        "ruleId": code.id,
        "ruleIndex": code.index(),
        "level": code.level.as_str(),
        "message": { "text": finding.message() },
        "locations": [location(&r.path, region(r.lines))],
        "partialFingerprints": {
            FINGERPRINT_KEY: format!("{}:{}:{}:{}", code.id, claim.id, index, r.path),
        },
        "properties": {
            "claim": claim.id,
            "status": claim.status.as_str(),
            "verdict": r.verdict.as_str(),
        },
    });
    if !related.is_empty() {
        result["relatedLocations"] = json!(related);
    }
    result
}

fn docs_result(index: usize, finding: &DocsFinding) -> Value {
    let code = codes::DOCS_MISMATCH;
    let region = match (finding.line, finding.column) {
        (Some(line), Some(column)) => json!({ "startLine": line, "startColumn": column }),
        (Some(line), None) => json!({ "startLine": line }),
        // The whole page: SARIF needs some region, and line 1 is where a reader starts.
        _ => json!({ "startLine": 1 }),
    };
    json!({
        "ruleId": code.id,
        "ruleIndex": code.index(),
        "level": code.level.as_str(),
        "message": { "text": finding.message },
        "locations": [location(&finding.page, region)],
        "partialFingerprints": {
            FINGERPRINT_KEY: format!("{}:{}:{}:{}", code.id, finding.page, index, finding.message),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::report::sample;

    fn validator() -> jsonschema::Validator {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/schemas/sarif-schema-2.1.0.json");
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
        )
        .unwrap();
        jsonschema::validator_for(&schema).unwrap()
    }

    fn rendered() -> Value {
        serde_json::from_str(&render(&sample::report())).unwrap()
    }

    #[test]
    fn sarif_report_snapshot() {
        insta::assert_snapshot!(render(&sample::report()));
    }

    #[test]
    fn sarif_passes_the_official_schema() {
        let validator = validator();
        let log = rendered();
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    /// Issue 17: paths holding `%`, `#` and spaces were written as they are, which is not a
    /// URI (a `#` starts a fragment, `%2` is a broken escape).
    #[test]
    fn uris_are_percent_encoded_and_valid() {
        let mut report = sample::report();
        report.claims[1].refs[0].path = "we ird/100%#x:ä.go".into();
        report.docs[0].page = "docs/a b#1.md".into();
        let log: Value = serde_json::from_str(&render(&report)).unwrap();
        let text = log.to_string();
        assert!(
            text.contains("\"uri\":\"we%20ird/100%25%23x%3A%C3%A4.go\""),
            "{text}"
        );
        assert!(text.contains("\"uri\":\"docs/a%20b%231.md\""), "{text}");
        let strict = jsonschema::options()
            .should_validate_formats(true)
            .build(
                &serde_json::from_str::<Value>(
                    &std::fs::read_to_string(
                        Path::new(env!("CARGO_MANIFEST_DIR"))
                            .join("testdata/schemas/sarif-schema-2.1.0.json"),
                    )
                    .unwrap(),
                )
                .unwrap(),
            )
            .unwrap();
        let errors: Vec<String> = strict.iter_errors(&log).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        // RFC 3986 path characters only (the schema's format check does not look at them), and
        // decoding gives the path back.
        let pchar = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@/%".contains(&b);
        for uri in ["we%20ird/100%25%23x%3A%C3%A4.go", "docs/a%20b%231.md"] {
            assert!(uri.bytes().all(pchar));
        }
        assert_eq!(
            percent_encoding::percent_decode_str(&uri("we ird/100%#x:ä.go"))
                .decode_utf8()
                .unwrap(),
            "we ird/100%#x:ä.go"
        );
    }

    #[test]
    fn schema_check_rejects_a_result_without_message() {
        // Proves the validator is really applied: a required property missing must fail.
        let mut log = rendered();
        log["runs"][0]["results"][0]
            .as_object_mut()
            .unwrap()
            .remove("message");
        assert!(!validator().is_valid(&log));
    }

    #[test]
    fn every_code_appears_in_the_sample_and_as_a_rule() {
        let log = rendered();
        let rules: Vec<&str> = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        let used: Vec<&str> = log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["ruleId"].as_str().unwrap())
            .collect();
        for code in codes::ALL {
            assert!(rules.contains(&code.id), "{} has no rule", code.id);
            assert!(used.contains(&code.id), "{} not in the sample", code.id);
        }
    }

    #[test]
    fn drifted_result_names_the_relocated_region_and_docs_citation() {
        let log = rendered();
        let drifted = log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == "ref-drifted")
            .unwrap();
        let text = drifted["message"]["text"].as_str().unwrap();
        assert!(
            text.contains("to src/saas/back/cmd/agent_routes.go:46-58"),
            "{text}"
        );
        let region = &drifted["locations"][0]["physicalLocation"]["region"];
        assert_eq!(
            (region["startLine"].as_u64(), region["endLine"].as_u64()),
            (Some(40), Some(52))
        );
        let docs = &drifted["relatedLocations"][0]["physicalLocation"];
        assert_eq!(docs["artifactLocation"]["uri"], "docs/security.md");
        assert_eq!(docs["region"]["startLine"], 57);
    }

    #[test]
    fn fingerprints_ignore_line_numbers() {
        let mut moved = sample::report();
        for claim in &mut moved.claims {
            for r in &mut claim.refs {
                r.lines = LineRange::parse("900-910").unwrap();
            }
        }
        let fingerprints = |log: &Value| -> Vec<Value> {
            log["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["partialFingerprints"].clone())
                .collect()
        };
        let before = fingerprints(&rendered());
        let after: Value = serde_json::from_str(&render(&moved)).unwrap();
        assert_eq!(before, fingerprints(&after));
        let unique: std::collections::HashSet<String> =
            before.iter().map(|f| f.to_string()).collect();
        assert_eq!(unique.len(), before.len(), "fingerprints collide");
    }
}
