//! GitHub Actions workflow commands: an inline annotation per failing or touched ref
//! (`::error` for broken and error refs, `::warning` for drifted, ambiguous and touched ones),
//! one per docs disagreement, and a closing `::notice` with the summary and the fix command.

use std::fmt::Write as _;

use super::Report;
use super::codes;
use super::finding::findings;

/// Escapes a command's message (GitHub's `escapeData`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value such as `file` or `title` (GitHub's `escapeProperty`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command: `::level prop=value,...::message`.
fn command(level: &str, properties: &[(&str, String)], message: &str) -> String {
    let props: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    format!("::{level} {}::{}\n", props.join(","), escape_data(message))
}

/// Renders the report as workflow commands, one per line.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in findings(report) {
        let title = format!("anchorcheck {}: {}", f.code.id, f.claim.id);
        // Annotate the code as it is at the verified revision, where the PR shows it.
        let at = f.current();
        out.push_str(&command(
            f.code.level.as_str(),
            &[
                ("file", at.path),
                ("line", at.lines.start().to_string()),
                ("endLine", at.lines.end().to_string()),
                ("title", title),
            ],
            &f.message(),
        ));
    }
    for d in &report.docs {
        let code = codes::DOCS_MISMATCH;
        let mut properties = vec![("file", d.page.clone())];
        if let Some(line) = d.line {
            properties.push(("line", line.to_string()));
        }
        if let Some(column) = d.column {
            properties.push(("col", column.to_string()));
        }
        properties.push(("title", format!("anchorcheck {}", code.id)));
        out.push_str(&command(code.level.as_str(), &properties, &d.message));
    }
    let mut notice = report.summary().to_string();
    if let Some(fix) = &report.fix_command {
        let _ = write!(notice, "\nTo fix the drift, run: {fix}");
    }
    out.push_str(&command(
        "notice",
        &[("title", "anchorcheck".to_string())],
        &notice,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    /// Undoes GitHub's escaping, as the runner does when it reads the command.
    fn unescape(text: &str) -> String {
        text.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    }

    #[test]
    fn github_report_snapshot() {
        insta::assert_snapshot!(render(&sample::report()));
    }

    #[test]
    fn errors_for_broken_and_error_warnings_for_drift_and_touch() {
        let out = render(&sample::report());
        let kinds: Vec<&str> = out.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "::warning", // touched but verified
                "::error",   // broken
                "::error",   // error
                "::warning", // drifted
                "::warning", // ambiguous
                "::error",   // docs
                "::notice"
            ]
        );
        let broken = out.lines().nth(1).unwrap();
        assert!(
            broken.starts_with(
                "::error file=src/saas/back/src/main.go,line=3181,endLine=3184,title=anchorcheck ref-broken%3A agent-saas-mtls::"
            ),
            "{broken}"
        );
        assert!(
            out.lines()
                .last()
                .unwrap()
                .ends_with("run: anchorcheck fix --rev HEAD")
        );
    }

    #[test]
    fn messages_and_properties_escape_percent_newlines_commas_and_colons() {
        let mut report = sample::report();
        let path = "src/we,ird:dir/100%.go";
        let message = "50% of a, b: c\r\nnext line";
        report.claims[1].id = "id,with:colon%".into();
        report.claims[1].refs[0].path = path.into();
        report.claims[1].refs[0].error = Some(message.into());
        let out = render(&report);
        let line = out.lines().find(|l| l.contains("ref-error")).unwrap();
        assert_eq!(line.lines().count(), 1, "a command must stay on one line");
        let (props, data) = line
            .strip_prefix("::error ")
            .unwrap()
            .split_once("::")
            .unwrap();
        assert!(
            props.contains("file=src/we%2Cird%3Adir/100%25.go,"),
            "{props}"
        );
        assert!(props.ends_with("title=anchorcheck ref-error%3A id%2Cwith%3Acolon%25"));
        // Properties split on unescaped commas only, so each value survives whole.
        let values: Vec<String> = props.split(',').map(unescape).collect();
        assert_eq!(values[0], format!("file={path}"));
        assert!(data.contains("50%25 of a, b: c%0D%0Anext line"), "{data}");
        assert!(unescape(data).contains(message));
    }
}
