//! GitHub-flavoured Markdown for a PR comment or `$GITHUB_STEP_SUMMARY`: a summary table of the
//! claims, the fix command, and a collapsed details section per failing or touched ref.

use std::fmt::Write as _;

use super::finding::{Finding, findings, holds};
use super::workflow;
use crate::model::links::Links;
use crate::model::{ClaimOutcome, ClaimReport, Excerpt, Place, RefReport, Report, Verdict};

/// Escapes text for HTML (and so for Markdown's inline HTML).
fn html_chars(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escapes repository and anchors.yaml text for one line of HTML, which GitHub renders inside
/// Markdown: HTML, line breaks as `<br>` (a line break would let the text start a heading, list
/// item, table row or HTML block of its own), other control characters as U+FFFD, what would
/// start a GitHub Actions workflow command as character references (in case the summary is
/// printed to a log), and what GitHub would turn into a live mention or link even inside HTML:
/// `@name` (a zero-width space after the `@`), `scheme://` and `www.`.
fn html(text: &str) -> String {
    let one_line = html_chars(text)
        .replace("\r\n", "<br>")
        .replace(['\r', '\n'], "<br>");
    let visible: String = one_line
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    let inert = visible
        .replace('@', "@&#8203;")
        .replace("://", "&#58;//")
        .replace("www.", "www&#46;");
    workflow::escape_commands(&inert, "&#35;", "&#58;")
}

/// [`html`] for raw HTML that a renderer might still read as Markdown (the `<summary>` line,
/// the text of a `<code>` element in a paragraph): link and image brackets and backticks as
/// character references, which no context reads as syntax.
fn html_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in html(text).chars() {
        match c {
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '(' => out.push_str("&#40;"),
            ')' => out.push_str("&#41;"),
            '!' => out.push_str("&#33;"),
            '`' => out.push_str("&#96;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes repository and anchors.yaml text for Markdown inline content (a headline, a list
/// item, a table cell): as [`html`], with a backslash before every character that would make
/// a link, an image, emphasis, code, strikethrough or end a table cell.
fn text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '|' | '~'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    html(&escaped)
}

/// [`text`] for the start of a line: also escapes what would open a heading, a list item, a
/// thematic break or a setext underline there (`\#`, `\-`, `1\.`).
fn line(t: &str) -> String {
    let escaped = text(t);
    if escaped.starts_with(['#', '-', '+', '=']) {
        return format!("\\{escaped}");
    }
    let digits = escaped.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && escaped[digits..].starts_with(['.', ')']) {
        return format!("{}\\{}", &escaped[..digits], &escaped[digits..]);
    }
    escaped
}

/// Escapes text for a table cell: as [`text`] (which escapes the `|` that would end the cell).
fn cell(t: &str) -> String {
    text(t)
}

fn icon(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Unchecked => "⚪",
        Verdict::Verified => "✅",
        Verdict::NeedsReview | Verdict::Drifted | Verdict::Ambiguous => "⚠️",
        Verdict::Broken | Verdict::Error => "❌",
    }
}

/// A fence longer than any backtick run in `text`, so the block cannot be closed early.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// A code block: fenced, or, when its text holds a control character or could be read as a
/// workflow command (a Go comment `// ##[add-mask]...`), an HTML `<pre>` block whose every `#`,
/// `:` and control character is a character reference, which a fence cannot escape.
fn code_block(lang: &str, body: &str) -> String {
    let controls = body
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t');
    if !controls && !workflow::could_be_command(body) {
        let fence = fence(body);
        return format!("{fence}{lang}\n{body}{fence}\n");
    }
    let mut escaped = String::with_capacity(body.len());
    for c in html_chars(body).chars() {
        match c {
            '#' => escaped.push_str("&#35;"),
            ':' => escaped.push_str("&#58;"),
            '\r' => escaped.push_str("&#13;"),
            '\n' | '\t' => escaped.push(c),
            c if c.is_control() => escaped.push('\u{FFFD}'),
            c => escaped.push(c),
        }
    }
    format!("<pre><code>{escaped}</code></pre>\n")
}

fn excerpt_block(excerpt: &Excerpt) -> String {
    let width = (excerpt.first_line.get() as usize + excerpt.lines.len())
        .to_string()
        .len();
    let body: String = excerpt
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{:>width$} | {l}\n", excerpt.first_line.get() as usize + i))
        .collect();
    code_block("go", &body)
}

/// `path:lines` for a table cell, linked to the code when the report has links.
fn place_cell(place: &Place, links: Option<&Links>) -> String {
    let text = cell(&format!("{}:{}", place.path, place.lines));
    match links {
        Some(links) => format!("[{text}]({})", links.to(place)),
        None => text,
    }
}

/// The cited place for the where cell, linked to where the evidence is at the verified commit:
/// `a.go:10-12 → b.go:30-32` when that is elsewhere (the cited lines there are stale, and after
/// a rename the cited path does not exist).
fn where_cell(r: &RefReport, links: Option<&Links>) -> String {
    let (cited, now) = (r.cited(), r.current());
    if cited == now {
        return place_cell(&cited, links);
    }
    let text = if cited.path == now.path {
        format!("{}:{} → {}", cited.path, cited.lines, now.lines)
    } else {
        format!(
            "{}:{} → {}:{}",
            cited.path, cited.lines, now.path, now.lines
        )
    };
    let text = cell(&text);
    match links {
        Some(links) => format!("[{text}]({})", links.to(&now)),
        None => text,
    }
}

fn table_row(
    out: &mut String,
    claim: &ClaimReport,
    found: &[Finding<'_>],
    links: Option<&Links>,
    outcome: ClaimOutcome,
) {
    let mine: Vec<&Finding<'_>> = found
        .iter()
        .filter(|f| std::ptr::eq(f.claim, claim))
        .collect();
    let title = match &claim.title {
        Some(t) => format!("**{}**<br>{}", cell(&claim.id), cell(t)),
        None => format!("**{}**", cell(&claim.id)),
    };
    let touched = mine.iter().any(|f| f.r.verdict() == Verdict::Verified);
    let mut verdict = match (claim.verdict, touched) {
        (Verdict::Verified, true) => format!("{} verified, touched", icon(Verdict::Verified)),
        (v, _) => format!("{} {v}", icon(v)),
    };
    match outcome {
        ClaimOutcome::Waived => verdict.push_str(" (waived)"),
        ClaimOutcome::Warned => verdict.push_str(" (gate: warn)"),
        ClaimOutcome::Passes | ClaimOutcome::Fails => {}
    }
    let (where_, why): (Vec<String>, Vec<String>) = if claim.refs.is_empty() {
        (
            vec!["—".to_string()],
            vec![cell(&format!(
                "no refs: nothing was checked for this {} claim",
                claim.status.as_str()
            ))],
        )
    } else if mine.is_empty() {
        claim
            .refs
            .iter()
            .map(|r| (where_cell(r, links), cell(&holds(r))))
            .unzip()
    } else {
        mine.iter()
            .map(|f| (where_cell(f.r, links), cell(&f.why())))
            .unzip()
    };
    let _ = writeln!(
        out,
        "| {title} | {} | {verdict} | {} | {} |",
        claim.status.as_str(),
        where_.join("<br>"),
        why.join("<br>")
    );
}

fn details(out: &mut String, f: &Finding<'_>, links: Option<&Links>) {
    let summary = format!(
        "{} {} <code>{}</code> {}: {}",
        icon(f.r.verdict()),
        html_inline(&f.claim.id),
        html_inline(&f.cited()),
        f.r.verdict(),
        f.code.id
    );
    // Markdown inside <details> needs blank lines around it to be rendered as Markdown.
    let _ = writeln!(out, "<details><summary>{summary}</summary>\n");
    let _ = writeln!(out, "{}\n", line(&f.headline()));
    if let Some(links) = links {
        let (cited, now) = (f.r.cited(), f.r.current());
        let mut places = if cited == now {
            vec![("cited", cited)]
        } else {
            vec![("now", now)]
        };
        places.extend(
            f.r.candidates()
                .iter()
                .map(|c| ("candidate", c.place.clone())),
        );
        let linked: Vec<String> = places
            .iter()
            .map(|(what, p)| format!("{what} {}", place_cell(p, Some(links))))
            .collect();
        let _ = writeln!(out, "Code: {}\n", linked.join(" · "));
    }
    let details = f.details();
    for d in &details {
        let _ = writeln!(out, "- {}", line(d));
    }
    if !details.is_empty() {
        out.push('\n');
    }
    if let Some(excerpt) = &f.r.excerpt {
        out.push_str(&excerpt_block(excerpt));
        out.push('\n');
    }
    out.push_str("</details>\n\n");
}

/// Renders the report as Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let summary = report.summary();
    let passed = report.passed();
    let _ = writeln!(
        out,
        "## {} anchorcheck: {}\n",
        if passed { "✅" } else { "❌" },
        html(&summary.to_string())
    );
    let commit = report
        .commit
        .as_deref()
        .map(|c| format!(" ({})", &c[..c.len().min(12)]))
        .unwrap_or_default();
    // A code span would show a backslash escape as written and end at a backtick in the
    // revision's name (a branch may be called ``a`](https://x)``): HTML code instead.
    let _ = writeln!(
        out,
        "Verified at <code>{}</code>{commit}.\n",
        html_inline(&report.rev)
    );
    let found = findings(report);
    out.push_str("| claim | status | verdict | where | why |\n|---|---|---|---|---|\n");
    for claim in &report.claims {
        table_row(
            &mut out,
            claim,
            &found,
            report.links.as_ref(),
            report.claim_outcome(claim),
        );
    }
    out.push('\n');
    if let Some(fix) = &report.fix_command {
        let _ = writeln!(
            out,
            "To rewrite the drifted refs and their docs citations, run:\n\n{}",
            code_block("sh", &format!("{fix}\n"))
        );
    }
    if !report.docs.is_empty() {
        out.push_str("### Docs citations\n\n");
        for d in &report.docs {
            let tolerated = if report.tolerates(d) {
                " (tolerated by `--allow-drift`: `anchorcheck fix` rewrites it)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "- {}: {}{tolerated}",
                line(&d.location()),
                text(&d.message)
            );
        }
        out.push('\n');
    }
    let approvals: Vec<String> = report
        .claims
        .iter()
        .filter_map(|c| {
            c.approval
                .as_ref()
                .map(|a| format!("- {}: {}", cell(&c.id), text(&a.describe())))
        })
        .collect();
    let notices = report.waiver_notices();
    if !approvals.is_empty() || !notices.is_empty() {
        out.push_str("### Review\n\n");
        for line in approvals {
            let _ = writeln!(out, "{line}");
        }
        for (state, notice) in notices {
            let _ = writeln!(out, "- {}: {}", state.as_str(), text(&notice));
        }
        out.push('\n');
    }
    if !found.is_empty() {
        out.push_str("### Details\n\n");
        for f in &found {
            details(&mut out, f, report.links.as_ref());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;

    #[test]
    fn markdown_report_snapshot() {
        insta::assert_snapshot!(render(&sample::report()));
    }

    #[test]
    fn table_has_one_row_per_claim_with_five_cells() {
        let report = sample::report();
        let out = render(&report);
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| **")).collect();
        assert_eq!(rows.len(), report.claims.len());
        for row in rows {
            // Unescaped pipes delimit the cells: 5 cells make 6 delimiters.
            let delimiters = row
                .char_indices()
                .filter(|&(i, c)| c == '|' && (i == 0 || row.as_bytes()[i - 1] != b'\\'))
                .count();
            assert_eq!(delimiters, 6, "{row}");
        }
    }

    #[test]
    fn cells_escape_pipes_and_html() {
        let mut report = sample::report();
        report.claims[0].title = Some("a | b <script>alert(1)</script>".into());
        let out = render(&report);
        assert!(
            out.contains("a \\| b &lt;script&gt;alert\\(1\\)&lt;/script&gt;"),
            "{out}"
        );
        assert!(!out.contains("<script>"));
    }

    #[test]
    fn details_hold_the_excerpt_and_the_fix_command() {
        let out = render(&sample::report());
        assert_eq!(out.matches("<details>").count(), 5);
        assert!(out.contains("3182 | \t\tlog.Printf(\"mTLS disabled\")"));
        assert!(out.contains("```sh\nanchorcheck fix --rev HEAD\n```"));
        // The culprit's subject is HTML-escaped in the list.
        assert!(
            out.contains("add \\| pipe &amp; &lt;b&gt;tags&lt;/b&gt;"),
            "{out}"
        );
    }

    /// Issue 17: a newline in a docs entry injected a fake "verified" heading and table row.
    #[test]
    fn repository_text_cannot_start_a_block_of_its_own() {
        let mut report = sample::report();
        let forged = "a.md\n## ✅ anchorcheck: all verified\n| **x** | required | ✅ verified | | |\r<div>\n- item";
        report.docs[0].page = forged.into();
        report.docs[0].message = forged.into();
        report.claims[0].title = Some(forged.into());
        report.claims[1].refs[0].notes.push(forged.into());
        let out = render(&report);
        for line in out.split(['\n', '\r']) {
            assert!(!line.starts_with("## ✅ anchorcheck: all"), "{line}");
            assert!(!line.starts_with("| **x**"), "{line}");
            assert!(
                !line.starts_with("<div>") && !line.starts_with("- item"),
                "{line}"
            );
        }
        assert!(out.contains("a.md<br>## ✅ anchorcheck"), "{out}");
    }

    #[test]
    fn an_excerpt_that_could_be_a_workflow_command_is_a_pre_block() {
        let excerpt = Excerpt {
            first_line: crate::lines::LineNo::new(3).unwrap(),
            lines: vec!["// ##[add-mask]x".into(), "\t// a\r::error::b".into()],
            highlights: None,
        };
        let block = excerpt_block(&excerpt);
        assert_eq!(
            block,
            "<pre><code>3 | // &#35;&#35;[add-mask]x\n4 | \t// a&#13;&#58;&#58;error&#58;&#58;b\n</code></pre>\n"
        );
        assert!(!workflow::could_be_command(&block));
    }

    #[test]
    fn every_cited_place_links_to_the_code_when_links_are_known() {
        let mut report = sample::report();
        let plain = render(&report);
        assert!(!plain.contains("](https://"), "{plain}");
        report.links = Links::from_remote(
            "git@github.com:zen/mesh.git",
            None,
            report.commit.as_deref().unwrap(),
        );
        let out = render(&report);
        let blob = "https://github.com/zen/mesh/blob/9c1f0e2b7a4400000000000000000000000000aa";
        // The table's where cell, for failing and verified refs alike.
        assert!(
            out.contains(&format!(
                "[src/saas/back/src/main.go:3181-3184]({blob}/src/saas/back/src/main.go#L3181-L3184)"
            )),
            "{out}"
        );
        // A drifted ref links to where its evidence is now: the cited lines there are stale.
        assert!(
            out.contains(&format!(
                "| [src/saas/back/cmd/agent\\_routes.go:40-52 → 46-58]({blob}/src/saas/back/cmd/agent_routes.go#L46-L58) |"
            )),
            "{out}"
        );
        // The details: where the evidence is, each candidate.
        assert!(
            out.contains(&format!(
                "Code: now [src/saas/back/cmd/agent\\_routes.go:46-58]({blob}/src/saas/back/cmd/agent_routes.go#L46-L58)"
            )),
            "{out}"
        );
        assert_eq!(out.matches("· candidate [").count(), 2, "{out}");
    }

    #[test]
    fn why_is_never_empty() {
        let mut report = sample::report();
        // A broken ref that says nothing: no failing expectation, no error, no note.
        report.claims[0].refs[1].expectations.clear();
        report.claims[0].refs[1].touched = None;
        let out = render(&report);
        for row in out.lines().filter(|l| l.starts_with("| **")) {
            let why = row.trim_end_matches(" |").rsplit(" | ").next().unwrap();
            assert!(!why.trim().is_empty(), "{row}");
        }
        assert!(out.contains("evidence found nowhere"), "{out}");
    }

    #[test]
    fn fence_outgrows_backticks_in_the_excerpt() {
        assert_eq!(fence("a ``` b"), "````");
        assert_eq!(fence("plain"), "```");
    }

    /// Issue 23: a title or expectation text made a live link, image and mention in the
    /// details headline and lines (only the table cells were escaped as Markdown).
    #[test]
    fn repository_text_is_inert_markdown_everywhere() {
        let forged = "[click me](https://evil.example) ![img](https://evil.example/i.png) @octocat www.evil.example";
        let mut report = sample::report();
        for claim in &mut report.claims {
            claim.id = forged.into();
            claim.title = Some(forged.into());
            for r in &mut claim.refs {
                r.path = forged.into();
                r.notes.push(forged.into());
                if let crate::model::Outcome::Error(e) = &mut r.outcome {
                    *e = forged.into();
                }
            }
        }
        report.docs[0].page = forged.into();
        report.docs[0].message = forged.into();
        let out = render(&report);
        assert!(
            out.contains("\\[click me\\]\\(https&#58;//evil.example\\)"),
            "{out}"
        );
        for live in [
            "[click me](",
            "![img](",
            "](https://evil",
            "@octocat",
            "https://evil",
            "www.evil",
        ] {
            assert!(!out.contains(live), "{live} in {out}");
        }
        assert!(out.contains("@&#8203;octocat"), "{out}");
    }

    #[test]
    fn the_revision_cannot_leave_its_code() {
        let mut report = sample::report();
        report.rev = "a`[x](https://evil.example)`@b".into();
        let out = render(&report);
        assert!(
            out.contains("Verified at <code>a&#96;&#91;x&#93;&#40;https&#58;//evil.example&#41;&#96;@&#8203;b</code>"),
            "{out}"
        );
    }

    #[test]
    fn a_line_of_repository_text_cannot_open_a_block() {
        assert_eq!(line("# x"), "\\# x");
        assert_eq!(line("- x"), "\\- x");
        assert_eq!(line("12. x"), "12\\. x");
        assert_eq!(line("12 x"), "12 x");
    }
}
