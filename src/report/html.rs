//! The audit as one self-contained HTML page: inline CSS, no scripts, every piece of repository
//! text escaped by the template engine (maud escapes all interpolations).

use maud::{DOCTYPE, Markup, PreEscaped, Render, html};

use super::marks::{marked_lines, pieces};
use crate::model::ExpectationResult;
use crate::model::links::Links;
use crate::model::{ClaimReport, Commit, Excerpt, Place, RefReport, Report, Verdict};

/// The page's style sheet: light theme with contrast of at least 4.5:1 for all text, narrow
/// screens scroll code sideways, print drops the chrome and keeps the marks.
const CSS: &str = include_str!("audit.css");

/// A verdict as a badge: a symbol and the word, so colour is never the only signal.
fn badge(verdict: Verdict) -> Markup {
    let symbol = match verdict {
        Verdict::Unchecked => "–",
        Verdict::Verified => "✓",
        Verdict::NeedsReview => "≠",
        Verdict::Drifted => "↪",
        Verdict::Ambiguous => "?",
        Verdict::Broken => "✗",
        Verdict::Error => "!",
    };
    html! {
        span class={"badge " (verdict.as_str())} {
            span aria-hidden="true" { (symbol) } " " (verdict.as_str())
        }
    }
}

/// `path:lines` in code, linked to the code at the verified commit when the report has links.
fn place_code(path: &str, lines: crate::lines::LineRange, links: Option<&Links>) -> Markup {
    let text = html! { code { (path) ":" (lines) } };
    match links {
        Some(links) => {
            let url = links.to(&Place {
                path: path.to_string(),
                lines,
            });
            html! { a.code-link href=(url) { (text) } }
        }
        None => text,
    }
}

fn anchor(claim: &ClaimReport) -> String {
    format!("claim-{}", claim.id)
}

/// Renders the page. `resolved` describes the commit the revision resolved to, when known.
pub fn render(report: &Report, resolved: Option<&Commit>) -> String {
    page(report, resolved, &Claims(report)).into_string()
}

/// Writes the page to `out` as [`render`] makes it, one claim's section at a time: the page of
/// 330,000 refs is hundreds of MB, never held whole.
pub fn write(
    report: &Report,
    resolved: Option<&Commit>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let here = ClaimsHere::default();
    let frame = page(report, resolved, &here).into_string();
    let (before, after) = frame.split_at(here.at.get());
    out.write_all(before.as_bytes())?;
    let mut section = String::new();
    for claim in &report.claims {
        section.clear();
        claim_section(claim, report).render_to(&mut section);
        out.write_all(section.as_bytes())?;
    }
    out.write_all(after.as_bytes())
}

/// Every claim's section, in the page.
struct Claims<'a>(&'a Report);

impl Render for Claims<'_> {
    fn render_to(&self, buffer: &mut String) {
        for claim in &self.0.claims {
            claim_section(claim, self.0).render_to(buffer);
        }
    }
}

/// Where the claims' sections go in the page, recorded as the page is rendered without them.
#[derive(Default)]
struct ClaimsHere {
    at: std::cell::Cell<usize>,
}

impl Render for ClaimsHere {
    fn render_to(&self, buffer: &mut String) {
        self.at.set(buffer.len());
    }
}

/// The page, with `claims` where the claims' sections go.
fn page(report: &Report, resolved: Option<&Commit>, claims: &impl Render) -> Markup {
    let summary = report.summary();
    let commit_id = resolved.map(|c| c.id.as_str()).or(report.commit.as_deref());
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content=(report.tool);
                title { "Evidence audit: " (report.repo) " at " (report.rev) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { "Evidence audit" }
                    dl.meta {
                        dt { "Repository" } dd { code { (report.repo) } }
                        dt { "Revision" } dd { code { (report.rev) } }
                        dt { "Commit" }
                        dd {
                            @match commit_id {
                                Some(id) => code.sha { (id) },
                                None => "none (empty repository)",
                            }
                        }
                        @if let Some(c) = resolved {
                            dt { "Date" } dd { time datetime=(c.date) { (c.date) } }
                            dt { "Subject" } dd { (c.subject) }
                        }
                        dt { "Checked by" } dd { (report.tool) }
                    }
                    p.totals { (summary.to_string()) }
                }
                main {
                    section aria-labelledby="claims-heading" {
                        h2 #claims-heading { "Claims" }
                        (summary_table(report, resolved))
                    }
                    @if !report.docs.is_empty() {
                        section aria-labelledby="docs-heading" {
                            h2 #docs-heading { "Documentation citations" }
                            ul.docs {
                                @for f in &report.docs {
                                    li {
                                        code { (f.location()) }
                                        ": " (f.message)
                                    }
                                }
                            }
                        }
                    }
                    (claims)
                }
            }
        }
    }
}

fn summary_table(report: &Report, resolved: Option<&Commit>) -> Markup {
    let at = match (resolved, &report.commit) {
        (Some(c), _) => format!("{} at {} ({})", report.rev, c.short, c.date),
        (None, Some(id)) => format!("{} at {}", report.rev, &id[..id.len().min(12)]),
        (None, None) => report.rev.clone(),
    };
    html! {
        div.table-wrap {
            table.summary {
                caption { "Every claim and its verdict, " (at) }
                thead {
                    tr {
                        th scope="col" { "Claim" }
                        th scope="col" { "Verdict" }
                        th scope="col" { "Status" }
                        th scope="col" { "Owner" }
                        th scope="col" { "Refs" }
                    }
                }
                tbody {
                    @for claim in &report.claims {
                        tr {
                            th scope="row" {
                                a href={"#" (anchor(claim))} { (claim.id) }
                                @if let Some(title) = &claim.title { span.title { (title) } }
                            }
                            td { (badge(claim.verdict)) }
                            td { (claim.status.as_str()) }
                            td { (claim.owner.as_deref().unwrap_or("—")) }
                            td.num { (claim.refs.len()) }
                        }
                    }
                }
            }
        }
    }
}

/// What the review workflow says of a claim, for the audit: its approval, its gate when it is
/// `warn`, and the waivers that let its refs pass.
pub(super) fn review_facts(claim: &ClaimReport, report: &Report) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    if let Some(a) = &claim.approval {
        facts.push(("Approval", a.describe()));
    }
    if claim.gate == crate::model::review::Gate::Warn {
        facts.push(("Gate", "warn: reported, does not fail the run".to_string()));
    }
    for (i, r) in claim.refs.iter().enumerate() {
        if report.ref_fails(r)
            && r.verdict() != Verdict::Error
            && let Some(w) = report.waiver_of(claim, i)
        {
            facts.push((
                "Waiver",
                format!("ref {}: {}", i + 1, crate::model::review::waived_text(w)),
            ));
        }
    }
    facts
}

fn claim_section(claim: &ClaimReport, report: &Report) -> Markup {
    let links = report.links.as_ref();
    let facts = review_facts(claim, report);
    let id = anchor(claim);
    html! {
        section.claim id=(id) aria-labelledby={(id) "-heading"} {
            h2 id={(id) "-heading"} { (badge(claim.verdict)) " " code { (claim.id) } }
            @if let Some(title) = &claim.title { p.claim-title { (title) } }
            dl.facts {
                dt { "Status" } dd { (claim.status.as_str()) }
                dt { "Owner" } dd { (claim.owner.as_deref().unwrap_or("—")) }
                dt { "Verdict" } dd { (claim.verdict.as_str()) }
                @for (term, value) in &facts { dt { (term) } dd { (value) } }
            }
            @if claim.refs.is_empty() { p { "No refs cite code for this " (claim.status.as_str()) " claim: nothing was checked." } }
            @for (i, r) in claim.refs.iter().enumerate() {
                (ref_article(r, &format!("{id}-ref-{}", i + 1), links))
            }
            p.back { a href="#claims-heading" { "Back to the claims" } }
        }
    }
}

fn ref_article(r: &RefReport, id: &str, links: Option<&Links>) -> Markup {
    let checked_elsewhere = r.excerpt.as_ref().is_some_and(|e| {
        e.first_line != r.lines.start() || e.lines.len() != r.lines.len() as usize
    });
    html! {
        article.ref id=(id) {
            // The cited lines are linked only where they are the evidence at the verified commit;
            // lines history mapped them to are shown beside them (a new place has its own line).
            @let (cited, now) = (r.cited(), r.current());
            h3 {
                (badge(r.verdict())) " " (place_code(&cited.path, cited.lines, links.filter(|_| cited == now)))
                @if cited != now && r.relocated().is_none() {
                    " → " (place_code(&now.path, now.lines, links))
                }
            }
            (expectation_list(&r.expectations))
            @if let Some(error) = r.error() { p.problem { strong { "Error: " } (error) } }
            @if let Some(excerpt) = &r.excerpt {
                @let caption = if checked_elsewhere { "Lines checked (mapped through history)" } else { "Cited lines" };
                (code_block(excerpt, &r.expectations, &format!("{caption} of {}", r.path)))
            }
            @if let Some(reloc) = r.relocated() {
                p.moved {
                    strong { "Now at: " } (place_code(&reloc.place.path, reloc.place.lines, links))
                    " (found by " (reloc.found_by()) ")"
                }
                @if !r.expectations.iter().all(|e| e.ok) { (expectation_list(&reloc.expectations)) }
                @if let Some(excerpt) = &reloc.excerpt {
                    (code_block(excerpt, &reloc.expectations, &format!("Evidence now in {}", reloc.place.path)))
                }
            }
            @if !r.candidates().is_empty() {
                p { strong { "Candidates, best first:" } }
                ol.candidates { @for c in r.candidates() { li { (place_code(&c.place.path, c.place.lines, links)) ": " (c.why()) } } }
            }
            @if let Some(review) = r.review() {
                p { strong { "Changed since approval:" } }
                ul.review {
                    @for change in &review.diff { li { code { (change.describe()) } } }
                    @for c in &review.commits { li { "in " code.sha { (c.short) } " " (c.date) " '" (c.subject) "' by " (c.author) } }
                    @if let Some(note) = &review.note { li { (note) } }
                }
            }
            @if let Some(culprit) = r.culprit() {
                p.culprit { strong { "Culprit: " } (culprit.to_string()) " " code.sha { (culprit.commit.id) } }
            }
            @for note in &r.notes { p.note { strong { "Note: " } (note) } }
            @if !r.parse_errors.is_empty() {
                p.note {
                    strong { "Note: " } "syntax errors at line "
                    (r.parse_errors.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", "))
                    "; results may be incomplete"
                }
            }
            @if !r.cited_by.is_empty() {
                p.cited {
                    "Cited by "
                    @for (i, c) in r.cited_by.iter().enumerate() {
                        @if i > 0 { ", " }
                        code { (c.page) ":" (c.line) }
                    }
                }
            }
        }
    }
}

fn expectation_list(expectations: &[ExpectationResult]) -> Markup {
    html! {
        @if !expectations.is_empty() {
            ul.expectations {
                @for e in expectations {
                    li class=(if e.ok { "ok" } else { "fail" }) {
                        span.sign aria-hidden="true" { (if e.ok { "✓" } else { "✗" }) }
                        " " strong { (if e.ok { "holds" } else { "fails" }) }
                        " " code { (e.kind) } ": " (e.message)
                    }
                }
            }
        }
    }
}

/// An excerpt as a table: line number, mark (symbol plus words for screen readers), code.
fn code_block(excerpt: &Excerpt, expectations: &[ExpectationResult], caption: &str) -> Markup {
    let lines = marked_lines(excerpt, expectations);
    html! {
        figure.excerpt {
            figcaption { (caption) }
            div.code-wrap tabindex="0" role="region" aria-label=(caption) {
                table.code {
                    @for line in &lines {
                        @let class = if !line.mark.missed.is_empty() { Some("miss") } else if !line.mark.matched.is_empty() { Some("hit") } else { None };
                        tr class=[class] {
                            td.ln { (line.number) }
                            td.mk {
                                @if !line.mark.missed.is_empty() {
                                    span aria-hidden="true" { "✗" }
                                    span.sr { "near miss: " (line.mark.missed.join(", ")) }
                                } @else if !line.mark.matched.is_empty() {
                                    span aria-hidden="true" { "▶" }
                                    span.sr { "matched: " (line.mark.matched.join(", ")) }
                                }
                            }
                            td.src {
                                code {
                                    @for (text, token) in pieces(line.text, line.highlights) {
                                        @match token {
                                            Some(t) => span class={"t-" (t.as_str())} { (text) },
                                            None => (text),
                                        }
                                    }
                                }
                                @if line.mark.is_marked() {
                                    span.tag aria-hidden="true" {
                                        (if line.mark.missed.is_empty() { line.mark.matched.join(", ") } else { line.mark.missed.join(", ") })
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Highlight, TokenClass, sample};

    #[test]
    fn highlighted_tokens_are_escaped_inside_their_spans() {
        let mut report = sample::report();
        let excerpt = report.claims[0].refs[1].excerpt.as_mut().unwrap();
        excerpt.lines[1] = "\t\tlog.Printf(\"</script><b>\")".into();
        let mut highlights = vec![Vec::new(); excerpt.lines.len()];
        highlights[1] = vec![Highlight {
            start: 13,
            end: 27,
            class: TokenClass::String,
        }];
        excerpt.highlights = Some(highlights);
        let page = render(&report, None);
        assert!(
            page.contains(r#"<span class="t-string">&quot;&lt;/script&gt;&lt;b&gt;&quot;</span>"#),
            "{page}"
        );
        assert!(!page.contains("</script>"));
    }

    #[test]
    fn cited_places_link_to_the_code_when_links_are_known() {
        let mut report = sample::report();
        report.links = Some(Links::from_base(
            &crate::model::links::LinkBase::parse("https://git.example/o/r/blob").unwrap(),
            "c0ffee",
        ));
        let page = render(&report, None);
        let doc = scraper::Html::parse_document(&page);
        let hrefs: Vec<&str> = doc
            .select(&scraper::Selector::parse("a.code-link").unwrap())
            .filter_map(|a| a.value().attr("href"))
            .collect();
        // Four refs whose cited lines are the evidence, one new place, two candidates; the
        // drifted ref's stale lines are not linked.
        assert_eq!(hrefs.len(), 7, "{hrefs:#?}");
        assert!(!hrefs.iter().any(|h| h.ends_with("agent_routes.go#L40-L52")));
        assert!(hrefs.contains(
            &"https://git.example/o/r/blob/c0ffee/src/saas/back/cmd/agent_routes.go#L46-L58"
        ));
        let unlinked = render(&sample::report(), None);
        assert!(!unlinked.contains("code-link"));
    }

    #[test]
    fn the_page_written_claim_by_claim_is_the_page_rendered_whole() {
        let mut linked = sample::report();
        linked.links = Some(Links::from_base(
            &crate::model::links::LinkBase::parse("https://git.example/o/r/blob").unwrap(),
            "c0ffee",
        ));
        let mut no_claims = sample::report();
        no_claims.claims.clear();
        for report in [sample::report(), linked, no_claims] {
            let mut written = Vec::new();
            write(&report, None, &mut written).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), render(&report, None));
        }
    }

    #[test]
    fn verdicts_are_badges_with_words_not_colour_alone() {
        let page = render(&sample::report(), None);
        let doc = scraper::Html::parse_document(&page);
        let badges: Vec<String> = doc
            .select(&scraper::Selector::parse("table.summary .badge").unwrap())
            .map(|b| b.text().collect::<String>())
            .collect();
        assert_eq!(
            badges,
            [
                "✗ broken",
                "! error",
                "↪ drifted",
                "? ambiguous",
                "– unchecked"
            ]
        );
    }

    #[test]
    fn near_miss_line_is_marked_with_words_for_screen_readers() {
        let page = render(&sample::report(), None);
        let doc = scraper::Html::parse_document(&page);
        let marked: Vec<String> = doc
            .select(&scraper::Selector::parse("tr.miss").unwrap())
            .map(|tr| tr.text().collect::<String>())
            .collect();
        assert_eq!(marked.len(), 1);
        assert!(
            marked[0].starts_with("3182✗near miss: fail_closed"),
            "{marked:?}"
        );
    }
}
