//! JUnit XML for test dashboards: one testsuite, one testcase per claim (classname
//! `anchorcheck.<status>`), a `failure` per drifted, ambiguous or broken ref and an `error` per
//! ref that could not be checked, `skipped` for a claim without refs (nothing was checked), and a
//! `docs` testcase when the docs pages disagree. What `--allow-drift` lets pass (drifted refs, and
//! the docs findings their drift explains) is told in `system-out`, not as a failure, so the
//! failures agree with the exit code.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::finding::{Finding, findings};
use crate::model::codes;
use crate::model::{ClaimOutcome, ClaimReport, DocsFinding, Report, Verdict};

type XmlWriter = Writer<Vec<u8>>;

/// Renders the report as JUnit XML (UTF-8, trailing newline).
pub fn render(report: &Report) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let _ = write_report(&mut writer, report);
    let mut out = String::from_utf8(writer.into_inner()).unwrap_or_default();
    out.push('\n');
    // Outside our tags, in text and attribute values, character references mean the same
    // characters: a carriage return (which the Actions runner reads as a line break) and what
    // would start a workflow command are written as references.
    let out = out.replace('\r', "&#13;");
    super::workflow::escape_commands_owned(out, "&#35;", "&#58;")
}

/// XML 1.0 allows no control characters but tab, newline and carriage return, even escaped.
fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c.is_control() && (c as u32) < 0x20 => '\u{FFFD}',
            '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

fn write_report(w: &mut XmlWriter, report: &Report) -> io::Result<()> {
    let summary = report.summary();
    let errors = report
        .claims
        .iter()
        .filter(|c| c.verdict == Verdict::Error)
        .count();
    let docs_case = !report.docs.is_empty();
    let docs_fail = report.docs.iter().any(|d| !report.tolerates(d));
    let waivers_case = !report.waivers.is_empty();
    let waivers_fail = summary.waivers_expired > 0;
    let tests = report.claims.len() + usize::from(docs_case) + usize::from(waivers_case);
    // A claim that fails the run is a failure, or an error when a ref could not be checked.
    let failures = report
        .claims
        .iter()
        .filter(|c| c.verdict != Verdict::Error && report.claim_outcome(c) == ClaimOutcome::Fails)
        .count()
        + usize::from(docs_fail)
        + usize::from(waivers_fail);
    let skipped = (summary.unchecked + summary.waived).to_string();
    let (tests, failures, errors) = (tests.to_string(), failures.to_string(), errors.to_string());
    let name = xml_safe(&format!("anchorcheck {}", report.rev));
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("testsuites")
        .with_attribute(("name", "anchorcheck"))
        .with_attribute(("tests", tests.as_str()))
        .with_attribute(("failures", failures.as_str()))
        .with_attribute(("errors", errors.as_str()))
        .write_inner_content(|w| {
            w.create_element("testsuite")
                .with_attribute(("name", name.as_str()))
                .with_attribute(("tests", tests.as_str()))
                .with_attribute(("failures", failures.as_str()))
                .with_attribute(("errors", errors.as_str()))
                .with_attribute(("skipped", skipped.as_str()))
                .write_inner_content(|w| {
                    write_properties(w, report)?;
                    let found = findings(report);
                    for claim in &report.claims {
                        write_claim(w, claim, &found, report)?;
                    }
                    if docs_case {
                        write_docs(w, report)?;
                    }
                    if waivers_case {
                        write_waivers(w, report)?;
                    }
                    w.create_element("system-out")
                        .write_text_content(BytesText::new(&xml_safe(&summary.to_string())))?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn write_properties(w: &mut XmlWriter, report: &Report) -> io::Result<()> {
    let mut properties: Vec<(&str, String)> = vec![
        ("tool", report.tool.clone()),
        ("repo", report.repo.clone()),
        ("rev", report.rev.clone()),
    ];
    if let Some(commit) = &report.commit {
        properties.push(("commit", commit.clone()));
    }
    if let Some(fix) = &report.fix_command {
        properties.push(("fix-command", fix.clone()));
    }
    w.create_element("properties").write_inner_content(|w| {
        for (name, value) in &properties {
            w.create_element("property")
                .with_attribute(("name", *name))
                .with_attribute(("value", xml_safe(value).as_str()))
                .write_empty()?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The lines a failing ref contributes to its testcase's failure text.
fn finding_lines(finding: &Finding<'_>) -> Vec<String> {
    let mut lines = vec![format!("[{}] {}", finding.code.id, finding.headline())];
    lines.extend(finding.details().into_iter().map(|d| format!("  {d}")));
    lines
}

/// One claim's testcase; what does not fail the run (drifted refs under `allow_drift`, refs of
/// a `gate: warn` claim) is told in `system-out` like touched refs; a waived claim is skipped
/// with the waiver's reason.
fn write_claim(
    w: &mut XmlWriter,
    claim: &ClaimReport,
    found: &[Finding<'_>],
    report: &Report,
) -> io::Result<()> {
    let classname = format!("anchorcheck.{}", claim.status.as_str());
    let name = match &claim.title {
        Some(title) => format!("{}: {title}", claim.id),
        None => claim.id.clone(),
    };
    let mine = found.iter().filter(|f| std::ptr::eq(f.claim, claim));
    let (touched, failing): (Vec<&Finding<'_>>, Vec<&Finding<'_>>) = mine.partition(|f| {
        f.lets_pass
            || f.code == codes::REF_TOUCHED
            || (report.allow_drift && f.code == codes::REF_DRIFTED)
    });
    let waived: Vec<String> = touched
        .iter()
        .filter_map(|f| f.waiver.map(crate::model::review::waived_text))
        .collect();
    let touched: Vec<String> = touched.iter().flat_map(|f| finding_lines(f)).collect();
    let element = w
        .create_element("testcase")
        .with_attribute(("name", xml_safe(&name).as_str()))
        .with_attribute(("classname", classname.as_str()));
    if claim.verdict == Verdict::Unchecked {
        // Nothing was checked: a skipped test, not a passing one.
        let message = format!(
            "{} claim without refs: nothing was checked",
            claim.status.as_str()
        );
        element.write_inner_content(|w| {
            w.create_element("skipped")
                .with_attribute(("message", message.as_str()))
                .write_empty()?;
            Ok(())
        })?;
        return Ok(());
    }
    if failing.is_empty() && touched.is_empty() {
        element.write_empty()?;
        return Ok(());
    }
    let waived_claim = report.claim_outcome(claim) == ClaimOutcome::Waived;
    element.write_inner_content(|w| {
        if waived_claim {
            w.create_element("skipped")
                .with_attribute(("message", xml_safe(&waived.join("; ")).as_str()))
                .write_empty()?;
        }
        if !failing.is_empty() {
            // `error` means "could not run" to dashboards; anything else failed as a check.
            let tag = if claim.verdict == Verdict::Error {
                "error"
            } else {
                "failure"
            };
            let message: Vec<String> = failing.iter().map(|f| f.headline()).collect();
            let body: Vec<String> = failing.iter().flat_map(|f| finding_lines(f)).collect();
            w.create_element(tag)
                .with_attribute(("message", xml_safe(&message.join("; ")).as_str()))
                .with_attribute(("type", failing[0].code.id))
                .write_text_content(BytesText::new(&xml_safe(&body.join("\n"))))?;
        }
        if !touched.is_empty() {
            w.create_element("system-out")
                .write_text_content(BytesText::new(&xml_safe(&touched.join("\n"))))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The waivers testcase: a failure naming each expired waiver, and in `system-out` the
/// applied and unused ones.
fn write_waivers(w: &mut XmlWriter, report: &Report) -> io::Result<()> {
    use crate::model::review::{WaiverState, waiver_text};
    let mut expired = Vec::new();
    let mut others = Vec::new();
    for waiver in &report.waivers {
        let state = report.waiver_state(waiver);
        let line = waiver_text(waiver, state);
        if state == WaiverState::Expired {
            expired.push(line);
        } else {
            others.push(line);
        }
    }
    w.create_element("testcase")
        .with_attribute(("name", "waivers"))
        .with_attribute(("classname", "anchorcheck.waivers"))
        .write_inner_content(|w| {
            if !expired.is_empty() {
                w.create_element("failure")
                    .with_attribute(("message", xml_safe(&expired.join("; ")).as_str()))
                    .with_attribute(("type", "waiver-expired"))
                    .write_text_content(BytesText::new(&xml_safe(&expired.join("\n"))))?;
            }
            if !others.is_empty() {
                w.create_element("system-out")
                    .write_text_content(BytesText::new(&xml_safe(&others.join("\n"))))?;
            }
            Ok(())
        })?;
    Ok(())
}

/// The docs testcase: a failure listing the findings that fail the run, and in `system-out`
/// those `--allow-drift` lets pass.
fn write_docs(w: &mut XmlWriter, report: &Report) -> io::Result<()> {
    let line = |d: &DocsFinding| format!("{}: {}", d.location(), d.message);
    let (tolerated, failing): (Vec<&DocsFinding>, Vec<&DocsFinding>) =
        report.docs.iter().partition(|d| report.tolerates(d));
    let failing: Vec<String> = failing.into_iter().map(line).collect();
    let tolerated: Vec<String> = tolerated
        .into_iter()
        .map(|d| format!("{} (tolerated by --allow-drift)", line(d)))
        .collect();
    let message = format!(
        "{} disagreement(s) between the docs pages and anchors.yaml",
        failing.len()
    );
    w.create_element("testcase")
        .with_attribute(("name", "docs citations agree with anchors.yaml"))
        .with_attribute(("classname", "anchorcheck.docs"))
        .write_inner_content(|w| {
            if !failing.is_empty() {
                w.create_element("failure")
                    .with_attribute(("message", message.as_str()))
                    .with_attribute(("type", codes::DOCS_MISMATCH.id))
                    .write_text_content(BytesText::new(&xml_safe(&failing.join("\n"))))?;
            }
            if !tolerated.is_empty() {
                w.create_element("system-out")
                    .write_text_content(BytesText::new(&xml_safe(&tolerated.join("\n"))))?;
            }
            Ok(())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;

    /// An element's name and attributes.
    type Element = (String, Vec<(String, String)>);

    /// Each element, and the text of each `failure` or `error`, read with a strict XML parser.
    fn parse(xml: &str) -> (Vec<Element>, Vec<String>) {
        let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let mut elements = Vec::new();
        let mut texts = Vec::new();
        for node in doc.descendants().filter(|n| n.is_element()) {
            let name = node.tag_name().name().to_string();
            if name == "failure" || name == "error" {
                texts.push(node.text().unwrap_or("").to_string());
            }
            let attrs = node
                .attributes()
                .map(|a| (a.name().to_string(), a.value().to_string()))
                .collect();
            elements.push((name, attrs));
        }
        (elements, texts)
    }

    fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> &'a str {
        attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn junit_report_snapshot() {
        insta::assert_snapshot!(render(&sample::report()));
    }

    #[test]
    fn junit_has_one_testcase_per_claim_and_parses() {
        let report = sample::report();
        let (elements, texts) = parse(&render(&report));
        let suites = elements.iter().filter(|(n, _)| n == "testsuite").count();
        assert_eq!(suites, 1);
        let cases: Vec<&str> = elements
            .iter()
            .filter(|(n, _)| n == "testcase")
            .map(|(_, a)| attr(a, "classname"))
            .collect();
        assert_eq!(
            cases,
            [
                "anchorcheck.required",
                "anchorcheck.planned",
                "anchorcheck.implemented",
                "anchorcheck.partial",
                "anchorcheck.planned",
                "anchorcheck.docs"
            ]
        );
        let skipped: Vec<&str> = elements
            .iter()
            .filter(|(n, _)| n == "skipped")
            .map(|(_, a)| attr(a, "message"))
            .collect();
        assert_eq!(skipped, ["planned claim without refs: nothing was checked"]);
        let suite = elements.iter().find(|(n, _)| n == "testsuite").unwrap();
        assert_eq!(attr(&suite.1, "skipped"), "1");
        let failures: Vec<(&str, &str)> = elements
            .iter()
            .filter(|(n, _)| n == "failure" || n == "error")
            .map(|(n, a)| (n.as_str(), attr(a, "type")))
            .collect();
        assert_eq!(
            failures,
            [
                ("failure", "ref-broken"),
                ("error", "ref-error"),
                ("failure", "ref-drifted"),
                ("failure", "ref-ambiguous"),
                ("failure", "docs-mismatch")
            ]
        );
        assert!(texts[0].contains("broken since 4e1c9a2"), "{}", texts[0]);
        assert!(
            texts[2].contains("add | pipe & <b>tags</b>"),
            "{}",
            texts[2]
        );
    }

    #[test]
    fn junit_escapes_markup_and_drops_control_characters() {
        let mut report = sample::report();
        report.claims[0].id = "a<b>&\"c\"".into();
        report.claims[0].refs[1].expectations[0].message = "bell \u{7} ]]> </failure>".into();
        let (elements, texts) = parse(&render(&report));
        let first = elements.iter().find(|(n, _)| n == "testcase").unwrap();
        assert!(attr(&first.1, "name").starts_with("a<b>&\"c\": "));
        assert!(
            texts[0].contains("bell \u{FFFD} ]]> </failure>"),
            "{}",
            texts[0]
        );
    }
}
