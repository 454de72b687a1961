//! SARIF 2.1.0 for GitHub code scanning: one rule per finding code, one result per failing or
//! touched ref, with the cited place and the docs lines that cite it as related locations.
//!
//! A result sits where the evidence is at the verified revision, so code scanning shows it on
//! code that exists there: a drifted ref at its new place, a broken or touched one where history
//! mapped its lines (where the evidence was last seen), anything else at the cited lines. Paths
//! are relative to the repository root, percent-encoded as RFC 3986 relative references, and
//! lines are 1-based. `partialFingerprints` hold the
//! finding code, the claim id and the ref's index in its claim, and no path or line number, so
//! an alert keeps its identity while the code moves or is renamed.

use serde_json::{Value, json};

use super::finding::{Finding, findings};
use crate::lines::LineRange;
use crate::model::codes::{self, Code};
use crate::model::{DocsFinding, Place, Report, Verdict};

/// The `$schema` GitHub and SARIF viewers recognise.
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key of our fingerprint; bump the version if what goes into it ever changes (v1 held the
/// path, so a rename opened a new alert; v2 held a docs finding's message, so a near ref that
/// drifted opened a new alert for the same citation).
const FINGERPRINT_KEY: &str = "anchorcheckFinding/v3";

/// Renders the report as a SARIF 2.1.0 log (pretty-printed, trailing newline).
pub fn render(report: &Report) -> String {
    let found = findings(report);
    let mut results: Vec<Value> = found.iter().map(ref_result).collect();
    for (index, finding) in report.docs.iter().enumerate() {
        // Which of the identical findings before it this is, so fingerprints stay unique
        // without depending on the findings of other pages.
        let repeat = report.docs[..index]
            .iter()
            .filter(|d| {
                d.page == finding.page && d.kind == finding.kind && d.subject == finding.subject
            })
            .count();
        results.push(docs_result(repeat, finding, report.tolerates(finding)));
    }
    let mut driver = json!({
        "name": "anchorcheck",
        "version": version(&report.tool),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": codes::ALL.iter().map(rule).collect::<Vec<_>>(),
    });
    // The review workflow's rules only in a run that reports them, after the others so every
    // `ruleIndex` stays what it was.
    let review_rules: Vec<Value> = codes::REVIEW
        .iter()
        .filter(|code| found.iter().any(|f| f.code == **code))
        .map(rule)
        .collect();
    if let (false, Some(rules)) = (review_rules.is_empty(), driver["rules"].as_array_mut()) {
        rules.extend(review_rules);
    }
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
    // Claims without refs are not findings (nothing failed), but nothing vouches for them
    // either: listed so a reader of the log sees them.
    let unchecked: Vec<Value> = report
        .claims
        .iter()
        .filter(|c| c.verdict == Verdict::Unchecked)
        .map(|c| json!({ "claim": c.id, "status": c.status.as_str() }))
        .collect();
    if !unchecked.is_empty() {
        run["properties"]["unchecked"] = json!(unchecked);
    }
    if !report.waivers.is_empty() {
        let waivers: Vec<Value> = report
            .waivers
            .iter()
            .map(|w| {
                json!({
                    "claim": w.claim,
                    "ref": w.r#ref,
                    "reason": w.reason,
                    "expires": w.expires.to_string(),
                    "owner": w.owner,
                    "state": report.waiver_state(w).as_str(),
                })
            })
            .collect();
        run["properties"]["waivers"] = json!(waivers);
    }
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [run],
    });
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    // `#` only occurs inside strings, where `\u0023` means the same: no line is a `##[` command.
    super::workflow::escape_commands_owned(out, "\\u0023", "\\u003a")
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
        "properties": {
            // `security` makes code scanning read `security-severity`.
            "tags": ["security", "documentation", "anchorcheck"],
            "security-severity": code.security_severity,
            "precision": "very-high",
        },
    })
}

fn region(lines: LineRange) -> Value {
    json!({ "startLine": lines.start().get(), "endLine": lines.end().get() })
}

/// A repository path as a relative URI reference: `a dir/100%#1.go` is `a%20dir/100%25%231.go`
/// (and `:` is encoded too, so a first segment never reads as a scheme).
pub fn uri(path: &str) -> String {
    crate::model::links::encode_path(path)
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
        waiver,
        lets_pass,
    } = *finding;
    let at = finding.current();
    let cited = Place {
        path: r.path.clone(),
        lines: r.lines,
    };
    let mut related: Vec<Value> = Vec::new();
    if at != cited {
        let mut loc = location(&cited.path, region(cited.lines));
        loc["message"] = json!({ "text": format!("cited by claim {} in anchors.yaml", claim.id) });
        related.push(loc);
    }
    for cite in &r.cited_by {
        let mut loc = location(
            &cite.page,
            json!({ "startLine": cite.line, "startColumn": cite.column }),
        );
        loc["message"] = json!({ "text": format!("cites claim {}", claim.id) });
        related.push(loc);
    }
    for (i, c) in r.candidates().iter().enumerate() {
        let mut loc = location(&c.place.path, region(c.place.lines));
        let what = format!(
            "candidate {} of {}: {}",
            i + 1,
            r.candidates().len(),
            c.why()
        );
        loc["message"] = json!({ "text": what });
        related.push(loc);
    }
    for (id, loc) in related.iter_mut().enumerate() {
        loc["id"] = json!(id);
    }
    // A `gate: warn` claim's failure is a warning; a waived one keeps its level and is
    // suppressed with the waiver's justification, as code scanning shows accepted risks.
    let level = if lets_pass && waiver.is_none() && claim.gate == crate::model::review::Gate::Warn {
        codes::Level::Warning
    } else {
        code.level
    };
    let mut result = json!({
        "ruleId": code.id,
        "ruleIndex": code.index(),
        "level": level.as_str(),
        "message": { "text": finding.message() },
        "locations": [location(&at.path, region(at.lines))],
        "partialFingerprints": {
            FINGERPRINT_KEY: format!("{}:{}:{}", code.id, claim.id, index),
        },
        "properties": {
            "claim": claim.id,
            "status": claim.status.as_str(),
            "verdict": r.verdict().as_str(),
        },
    });
    if !related.is_empty() {
        result["relatedLocations"] = json!(related);
    }
    if let Some(w) = waiver {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": crate::model::review::waived_text(w),
        }]);
    }
    if let Some(culprit) = r.culprit()
        && (culprit.commit.pr.is_some() || !culprit.commit.author.is_empty())
    {
        result["properties"]["blame"] = json!({
            "commit": culprit.commit.id,
            "author": culprit.commit.author,
            "date": culprit.commit.date,
            "subject": culprit.commit.subject,
            "pr": culprit.commit.pr,
        });
    }
    result
}

/// A docs finding as a result: `warning` when `--allow-drift` lets it pass (`tolerated`), the
/// rule's `error` otherwise, so levels agree with the exit code.
fn docs_result(repeat: usize, finding: &DocsFinding, tolerated: bool) -> Value {
    let code = codes::DOCS_MISMATCH;
    let level = if tolerated {
        codes::Level::Warning
    } else {
        code.level
    };
    let region = match finding.position {
        Some(at) => json!({ "startLine": at.line, "startColumn": at.column }),
        // The whole page: SARIF needs some region, and line 1 is where a reader starts.
        None => json!({ "startLine": 1 }),
    };
    json!({
        "ruleId": code.id,
        "ruleIndex": code.index(),
        "level": level.as_str(),
        "message": { "text": finding.message },
        "locations": [location(&finding.page, region)],
        "partialFingerprints": {
            FINGERPRINT_KEY: format!(
                "{}:{}:{}:{}:{}",
                code.id,
                finding.page,
                finding.kind.id(),
                finding.subject,
                repeat
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::sample;

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

    fn result<'a>(log: &'a Value, rule: &str) -> &'a Value {
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap()
    }

    fn place_of(location: &Value) -> (String, u64, u64) {
        let p = &location["physicalLocation"];
        (
            p["artifactLocation"]["uri"].as_str().unwrap().to_string(),
            p["region"]["startLine"].as_u64().unwrap(),
            p["region"]["endLine"].as_u64().unwrap_or(0),
        )
    }

    #[test]
    fn drifted_result_sits_at_the_new_place_with_the_cited_one_related() {
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
        let at = "src/saas/back/cmd/agent_routes.go".to_string();
        assert_eq!(place_of(&drifted["locations"][0]), (at.clone(), 46, 58));
        let related = &drifted["relatedLocations"];
        assert_eq!(place_of(&related[0]), (at, 40, 52));
        assert_eq!(
            related[0]["message"]["text"],
            "cited by claim agent-routes-spiffe in anchors.yaml"
        );
        let docs = &related[1]["physicalLocation"];
        assert_eq!(docs["artifactLocation"]["uri"], "docs/security.md");
        assert_eq!(docs["region"]["startLine"], 57);
    }

    #[test]
    fn broken_result_sits_where_history_last_saw_the_evidence() {
        let mut report = sample::report();
        report.claims[0].refs[1].checked = Some(Box::new(Place {
            path: "src/saas/back/src/server.go".into(),
            lines: LineRange::parse("3190-3193").unwrap(),
        }));
        let log: Value = serde_json::from_str(&render(&report)).unwrap();
        let broken = result(&log, "ref-broken");
        assert_eq!(
            place_of(&broken["locations"][0]),
            ("src/saas/back/src/server.go".to_string(), 3190, 3193)
        );
        assert_eq!(
            place_of(&broken["relatedLocations"][0]),
            ("src/saas/back/src/main.go".to_string(), 3181, 3184)
        );
        // Without history the cited place is where it was last seen, and no related copy of it.
        let log = rendered();
        let broken = result(&log, "ref-broken");
        assert_eq!(
            place_of(&broken["locations"][0]),
            ("src/saas/back/src/main.go".to_string(), 3181, 3184)
        );
        assert_eq!(
            broken["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "docs/security.md"
        );
    }

    #[test]
    fn rules_carry_security_severity_and_tags() {
        let log = rendered();
        for rule in log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
        {
            let severity: f64 = rule["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.0..=10.0).contains(&severity), "{rule}");
            let tags = rule["properties"]["tags"].as_array().unwrap();
            assert!(tags.contains(&json!("security")), "{rule}");
        }
        let broken = &log["runs"][0]["tool"]["driver"]["rules"][codes::REF_BROKEN.index()];
        assert_eq!(broken["properties"]["security-severity"], "7.5");
    }

    #[test]
    fn unchecked_claims_are_listed_apart_and_are_no_results() {
        let log = rendered();
        assert_eq!(
            log["runs"][0]["properties"]["unchecked"],
            json!([{ "claim": "admin-sso", "status": "planned" }])
        );
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert!(
            !results
                .iter()
                .any(|r| r["properties"]["claim"] == "admin-sso")
        );
    }

    #[test]
    fn fingerprints_ignore_paths_line_numbers_and_docs_wording() {
        let mut moved = sample::report();
        for claim in &mut moved.claims {
            for r in &mut claim.refs {
                r.lines = LineRange::parse("900-910").unwrap();
                r.path = format!("renamed/{}", r.path);
                if let crate::model::Outcome::Drifted {
                    relocation: reloc, ..
                } = &mut r.outcome
                {
                    reloc.place.lines = LineRange::parse("950-960").unwrap();
                }
            }
        }
        // A docs citation moved down its page, and the near ref its message names drifted.
        for d in &mut moved.docs {
            d.message = d
                .message
                .replace("3181-3190", "3181-3190 (nearest: 3200-3209)");
            d.position = Some(crate::lines::Position {
                line: 40,
                column: 1,
            });
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
