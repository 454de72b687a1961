//! GitHub Actions workflow commands: an inline annotation per failing or touched ref
//! (`::error` for broken and error refs, `::warning` for drifted, ambiguous and touched ones),
//! one per docs disagreement, and a closing `::notice` with the summary and the fix command.
//!
//! GitHub shows at most 10 error and 10 warning annotations per step and drops the rest without
//! a word, so errors come first, at most [`ANNOTATIONS_PER_LEVEL`] of each level are written,
//! and one more `::notice` lists every finding left out and says where the full report is.

use std::fmt::Write as _;

use super::finding::findings;
use crate::model::codes::{self, Level};
use crate::model::{Report, Verdict};

/// How many annotations of one level (error, warning) GitHub shows for one step.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

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

/// One annotation before it is written: its level, properties and message.
struct Annotation {
    level: Level,
    properties: Vec<(&'static str, String)>,
    message: String,
}

impl Annotation {
    /// `file:line title`, for the list of annotations left out.
    fn describe(&self) -> String {
        let get = |key: &str| {
            self.properties
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str())
        };
        let mut place = get("file").unwrap_or("").to_string();
        if let Some(line) = get("line") {
            let _ = write!(place, ":{line}");
        }
        if let Some(end) = get("endLine").filter(|end| Some(*end) != get("line")) {
            let _ = write!(place, "-{end}");
        }
        let first = self.message.lines().next().unwrap_or("");
        format!("{} {place}: {first}", self.level.as_str())
    }
}

/// Every annotation of the report, in anchors.yaml order: refs, then docs disagreements.
fn annotations(report: &Report) -> Vec<Annotation> {
    let mut all = Vec::new();
    for f in findings(report) {
        let title = format!("anchorcheck {}: {}", f.code.id, f.claim.id);
        // Annotate the code as it is at the verified revision, where the PR shows it.
        let at = f.current();
        // What a waiver or `gate: warn` lets pass is a warning, so levels agree with the exit
        // code; its message says which.
        let level = if f.lets_pass {
            Level::Warning
        } else {
            f.code.level
        };
        all.push(Annotation {
            level,
            properties: vec![
                ("file", at.path),
                ("line", at.lines.start().to_string()),
                ("endLine", at.lines.end().to_string()),
                ("title", title),
            ],
            message: f.message(),
        });
    }
    for d in &report.docs {
        let code = codes::DOCS_MISMATCH;
        let mut properties = vec![("file", d.page.clone())];
        if let Some(at) = d.position {
            properties.push(("line", at.line.to_string()));
            properties.push(("col", at.column.to_string()));
        }
        properties.push(("title", format!("anchorcheck {}", code.id)));
        // What fails the run is an error; what `--allow-drift` lets pass is a warning.
        let level = if report.tolerates(d) {
            codes::Level::Warning
        } else {
            code.level
        };
        all.push(Annotation {
            level,
            properties,
            message: d.message.clone(),
        });
    }
    for (state, text) in report.waiver_notices() {
        if state == crate::model::review::WaiverState::Expired {
            all.push(Annotation {
                level: Level::Error,
                properties: vec![("title", "anchorcheck waiver-expired".to_string())],
                message: text,
            });
        }
    }
    all
}

/// Renders the report as workflow commands, one per line: errors, then warnings, at most
/// [`ANNOTATIONS_PER_LEVEL`] of each, then a notice listing the rest, then the summary notice.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let all = annotations(report);
    let mut left_out: Vec<&Annotation> = Vec::new();
    for level in [Level::Error, Level::Warning] {
        let of_level: Vec<&Annotation> = all.iter().filter(|a| a.level == level).collect();
        let (shown, rest) = of_level.split_at(of_level.len().min(ANNOTATIONS_PER_LEVEL));
        for a in shown {
            let properties: Vec<(&str, String)> =
                a.properties.iter().map(|(k, v)| (*k, v.clone())).collect();
            out.push_str(&command(level.as_str(), &properties, &a.message));
        }
        left_out.extend(rest);
    }
    if !left_out.is_empty() {
        let count = |level: Level| left_out.iter().filter(|a| a.level == level).count();
        let mut message = format!(
            "{} more errors and {} more warnings are not annotated: GitHub shows at most \
             {ANNOTATIONS_PER_LEVEL} of each per step. The full report is in the job summary \
             (`--format markdown`, which the anchorcheck action writes there). Not annotated:",
            count(Level::Error),
            count(Level::Warning)
        );
        for a in &left_out {
            let _ = write!(message, "\n- {}", a.describe());
        }
        out.push_str(&command(
            "notice",
            &[("title", "anchorcheck: more findings".to_string())],
            &message,
        ));
    }
    let mut notice = report.summary().to_string();
    let unchecked: Vec<String> = report
        .claims
        .iter()
        .filter(|c| c.verdict == Verdict::Unchecked)
        .map(|c| format!("{} ({})", c.id, c.status.as_str()))
        .collect();
    if !unchecked.is_empty() {
        let _ = write!(notice, "\nUnchecked, no refs: {}", unchecked.join(", "));
    }
    for (state, text) in report.waiver_notices() {
        if state == crate::model::review::WaiverState::Unused {
            let _ = write!(notice, "\n{text}");
        }
    }
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
    use crate::model::sample;

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
    fn errors_before_warnings_for_drift_and_touch() {
        let out = render(&sample::report());
        let kinds: Vec<&str> = out.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "::error",   // broken
                "::error",   // error
                "::error",   // docs
                "::warning", // touched but verified
                "::warning", // drifted
                "::warning", // ambiguous
                "::notice"
            ]
        );
        let broken = out.lines().next().unwrap();
        assert!(
            broken.starts_with(
                "::error file=src/saas/back/src/main.go,line=3181,endLine=3184,title=anchorcheck ref-broken%3A agent-saas-mtls::"
            ),
            "{broken}"
        );
        let notice = out.lines().last().unwrap();
        assert!(
            notice.ends_with("run: anchorcheck fix --rev HEAD"),
            "{notice}"
        );
        assert!(
            notice.contains("%0AUnchecked, no refs: admin-sso (planned)%0A"),
            "{notice}"
        );
    }

    /// The sample with `n` more broken refs and `n` more drifted ones.
    fn with_many_findings(n: usize) -> Report {
        let mut report = sample::report();
        let broken = report.claims[0].refs[1].clone();
        let drifted = report.claims[2].refs[0].clone();
        for _ in 0..n {
            report.claims[0].refs.push(broken.clone());
            report.claims[2].refs.push(drifted.clone());
        }
        report
    }

    #[test]
    fn at_most_ten_errors_and_ten_warnings_then_a_notice_listing_the_rest() {
        // 3 errors and 3 warnings in the sample, 16 more of each: 19 of each in all.
        let out = render(&with_many_findings(16));
        let count = |prefix: &str| out.lines().filter(|l| l.starts_with(prefix)).count();
        assert_eq!(count("::error "), ANNOTATIONS_PER_LEVEL, "{out}");
        assert_eq!(count("::warning "), ANNOTATIONS_PER_LEVEL, "{out}");
        let notices: Vec<&str> = out.lines().filter(|l| l.starts_with("::notice ")).collect();
        assert_eq!(notices.len(), 2, "{out}");
        let more = unescape(notices[0]);
        assert!(
            more.contains("9 more errors and 9 more warnings are not annotated"),
            "{more}"
        );
        assert!(more.contains("job summary"), "{more}");
        let listed = more.lines().filter(|l| l.starts_with("- ")).count();
        assert_eq!(listed, 18, "{more}");
        assert!(
            more.contains("- error src/saas/back/src/main.go:3181-3184: claim agent-saas-mtls"),
            "{more}"
        );
        // Every command is one line, errors all come before warnings.
        let lines: Vec<&str> = out.lines().collect();
        let last_error = lines
            .iter()
            .rposition(|l| l.starts_with("::error "))
            .unwrap();
        let first_warning = out
            .lines()
            .position(|l| l.starts_with("::warning "))
            .unwrap();
        assert!(last_error < first_warning);
    }

    #[test]
    fn no_extra_notice_within_the_limits() {
        let out = render(&with_many_findings(7));
        assert_eq!(
            out.lines().filter(|l| l.starts_with("::notice ")).count(),
            1
        );
        assert_eq!(
            out.lines().filter(|l| l.starts_with("::error ")).count(),
            10
        );
    }

    #[test]
    fn messages_and_properties_escape_percent_newlines_commas_and_colons() {
        let mut report = sample::report();
        let path = "src/we,ird:dir/100%.go";
        let message = "50% of a, b: c\r\nnext line";
        report.claims[1].id = "id,with:colon%".into();
        report.claims[1].refs[0].path = path.into();
        report.claims[1].refs[0].outcome = crate::model::Outcome::Error(message.into());
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
