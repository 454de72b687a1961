//! The JSON report: a versioned contract other tools script against.
//!
//! Schema 1 (lines are 1-based and inclusive, written `START-END` or `LINE`):
//!
//! ```json
//! {"schema": 1, "tool": "anchorcheck 0.1.0", "repo": ".", "rev": "HEAD", "commit": "<40-hex>",
//!  "claims": [{"id": "agent-saas-mtls", "title": "...", "status": "required", "owner": "...",
//!    "verdict": "verified",
//!    "refs": [{"path": "src/a.go", "lines": "201-248", "verdict": "verified", "error": null,
//!      "relocated": null, "candidates": [], "parse_errors": [], "culprit": null,
//!      "history_from": null, "notes": [],
//!      "touched": null, "cited_by": [{"page": "docs/security.md", "line": 40, "column": 5}],
//!      "expectations": [{"kind": "routes", "ok": true, "message": "...",
//!                        "matches": ["212-212"], "near_miss": null}]}]}],
//!  "docs": [{"page": "docs/security.md", "line": 12, "column": 3, "message": "...",
//!            "tolerated": false}],
//!  "summary": {"claims": 1, "refs": 1, "verified": 1, "drifted": 0, "ambiguous": 0,
//!              "broken": 0, "error": 0, "unchecked": 0, "docs_failing": 1,
//!              "docs_tolerated": 0},
//!  "fix_command": null, "refs_without_at": 0}
//! ```
//!
//! A claim's `verdict` is its worst ref's, or `unchecked` for a claim without refs (a `planned`
//! or `retired` one): nothing was checked for it, and `summary.unchecked` counts such claims
//! apart from `verified`. (`unchecked` and `summary.unchecked` were added within schema 1, and
//! later a docs finding's `tolerated` and `summary.docs_failing`/`docs_tolerated`: new values
//! and fields are additive, so readers that ignore what they do not know keep working.) A docs
//! finding is `tolerated` when `--allow-drift` lets it pass: it cites exactly the old or new
//! place of a drifted ref, which `fix` rewrites.
//! Paths (`path`, `page`) are relative to the repository root, whatever directory anchors.yaml
//! is in. `relocated` is `{path, lines, how, detail}` (how: history, symbol or search; detail:
//! null, or more about how, such as "moved to another file in 4e1c9a2" when history followed
//! code into a file git did not pair as a rename), and `symbol` when the ref's `symbol` names
//! no declaration at the new place (the declaration the evidence is in now, which `fix`
//! writes), when the verdict is drifted and null otherwise; `candidates` lists the places of an ambiguous ref, best first, as `{path, lines,
//! how, distance, similarity, same_declaration, why}`: `distance` is the lines from where the
//! ref was looked for (null in another file), `similarity` the percent of the cited text the
//! place holds (null when not measured), `same_declaration` whether it is in the declaration
//! the ref's lines were in (null when unknown), and `why` says all that in words; `fix --pick N`
//! takes the Nth. `culprit` is `{kind, commit, short, date, subject}` for a broken or drifted ref
//! with history: kind `broke` names the first commit after `at` at which the ref stopped
//! verifying at its mapped place, `moved` the first that moved its lines. `history_from` is the
//! full id of the commit history was followed from for a ref without `at` (the newest at which
//! it held at its cited place; `fix` writes it as `at`), null otherwise. `notes` holds anything
//! else worth saying, such as "history unavailable: commit X is not in this repository".
//! `touched` (from `diff`) says how the change touched the cited lines even when they still
//! verify; `checked` (`{path, lines}`, present only then) is where a ref that neither verified
//! nor drifted was checked when history mapped its lines elsewhere: where they went; `cited_by` lists where the `docs` pages cite the ref; `fix_command` is the exact
//! `anchorcheck fix` invocation that rewrites the drift, or null when nothing drifted;
//! `refs_without_at` counts the refs checked without `at` (0 under `diff` and at `WORKTREE`),
//! which `fix` would pin to the verified commit.
//!
//! The review workflow (issue 26) adds fields only where they apply, so a file without
//! approvals, gates or waivers renders as before:
//!
//! - a claim's `verdict` and a ref's may be `needs-review`: every expectation holds but the
//!   cited code's tokens changed since the claim's approval;
//! - a claim's `gate` is `"warn"` when it is (absent for the default `block`);
//! - a claim's `approved` is `{at, by, on, fingerprint, current, changed}`: the approval as
//!   written, the fingerprint of the code now (null when a ref could not be read) and whether
//!   they differ;
//! - `waiver` (`{claim, ref, reason, expires, owner}`, `ref` 1-based or null for the whole
//!   claim) sits beside the verdict of a claim whose every failing ref is waived, and of each
//!   waived ref;
//! - a `needs-review` ref's `review` is `{diff, commits, note}`: `diff` lists the token changes
//!   from the approved commit as `{old_line, new_line, removed, added}` (tokens joined by
//!   spaces; a line is null for a pure insertion or deletion), `commits` the commits after the
//!   approved one that changed the file's tokens (along first parents, at most 20), oldest first, as `{commit, short, date, subject,
//!   author, pr}`, and `note` what could not be shown (no history: the fingerprint alone
//!   decided);
//! - `culprit` (blame) also has `author` and `pr` (the pull-request number its subject
//!   carries as `(#123)`, else null), and its `kind` may be `changed` (the first commit after
//!   approval that changed a `needs-review` ref's file);
//! - `summary` has `needs_review`, `waived`, `warned`, `waivers_expired` and `waivers_unused`
//!   when they are not 0;
//! - the top-level `waivers` lists every waiver of the selected claims, each with its `state`:
//!   `applied`, `unused` (its claim does not fail) or `expired` (it fails the run).

use std::io::Write as _;

use serde::Serialize;

use crate::lines::LineRange;
use crate::model::review::{Gate, TokenChange, Waiver};
use crate::model::{ClaimOutcome, ClaimReport, Commit, CulpritKind, RefReport, Report, Verdict};

/// The schema version of this output.
pub const SCHEMA: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: u32,
    tool: &'a str,
    repo: &'a str,
    rev: &'a str,
    commit: Option<&'a str>,
    claims: JsonClaims<'a>,
    docs: Vec<JsonDocsFinding<'a>>,
    summary: JsonSummary,
    fix_command: Option<&'a str>,
    refs_without_at: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    waivers: Vec<JsonWaiverState<'a>>,
}

#[derive(Serialize)]
struct JsonWaiver<'a> {
    claim: &'a str,
    #[serde(rename = "ref")]
    r#ref: Option<usize>,
    reason: &'a str,
    expires: String,
    owner: &'a str,
}

#[derive(Serialize)]
struct JsonWaiverState<'a> {
    #[serde(flatten)]
    waiver: JsonWaiver<'a>,
    state: &'static str,
}

fn json_waiver(w: &Waiver) -> JsonWaiver<'_> {
    JsonWaiver {
        claim: &w.claim,
        r#ref: w.r#ref,
        reason: &w.reason,
        expires: w.expires.to_string(),
        owner: &w.owner,
    }
}

#[derive(Serialize)]
struct JsonApproved<'a> {
    at: &'a str,
    by: &'a str,
    on: &'a str,
    fingerprint: &'a str,
    current: Option<&'a str>,
    changed: bool,
}

#[derive(Serialize)]
struct JsonReview<'a> {
    diff: &'a [TokenChange],
    commits: Vec<JsonCommit<'a>>,
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonCommit<'a> {
    commit: &'a str,
    short: &'a str,
    date: &'a str,
    subject: &'a str,
    author: &'a str,
    pr: Option<u64>,
}

fn json_commit(c: &Commit) -> JsonCommit<'_> {
    JsonCommit {
        commit: &c.id,
        short: &c.short,
        date: &c.date,
        subject: &c.subject,
        author: &c.author,
        pr: c.pr,
    }
}

#[derive(Serialize)]
struct JsonDocsFinding<'a> {
    page: &'a str,
    line: Option<u32>,
    column: Option<u32>,
    message: &'a str,
    /// `--allow-drift` lets it pass: drift explains it and `fix` resolves it.
    tolerated: bool,
}

#[derive(Serialize)]
struct JsonClaim<'a> {
    id: &'a str,
    title: Option<&'a str>,
    status: &'static str,
    owner: Option<&'a str>,
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    gate: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approved: Option<JsonApproved<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<JsonWaiver<'a>>,
    refs: JsonRefs<'a>,
}

#[derive(Serialize)]
struct JsonRef<'a> {
    path: &'a str,
    lines: String,
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<JsonWaiver<'a>>,
    error: Option<&'a str>,
    relocated: Option<JsonRelocated<'a>>,
    candidates: Vec<JsonCandidate<'a>>,
    parse_errors: Vec<u32>,
    culprit: Option<JsonCulprit<'a>>,
    history_from: Option<&'a str>,
    notes: &'a [String],
    touched: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    review: Option<JsonReview<'a>>,
    /// Where a ref that did not verify was checked, when history mapped it elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    checked: Option<JsonPlace<'a>>,
    cited_by: Vec<JsonDocsLocation<'a>>,
    expectations: Vec<JsonExpectation<'a>>,
}

#[derive(Serialize)]
struct JsonPlace<'a> {
    path: &'a str,
    lines: String,
}

#[derive(Serialize)]
struct JsonDocsLocation<'a> {
    page: &'a str,
    line: u32,
    column: u32,
}

#[derive(Serialize)]
struct JsonCulprit<'a> {
    kind: &'static str,
    commit: &'a str,
    short: &'a str,
    date: &'a str,
    subject: &'a str,
    author: &'a str,
    pr: Option<u64>,
}

#[derive(Serialize)]
struct JsonRelocated<'a> {
    path: &'a str,
    lines: String,
    how: &'static str,
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    symbol: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonCandidate<'a> {
    path: &'a str,
    lines: String,
    how: &'a str,
    distance: Option<u32>,
    similarity: Option<u32>,
    same_declaration: Option<bool>,
    why: String,
}

#[derive(Serialize)]
struct JsonExpectation<'a> {
    kind: &'a str,
    ok: bool,
    message: &'a str,
    matches: Vec<String>,
    near_miss: Option<u32>,
}

#[derive(Serialize)]
struct JsonSummary {
    claims: usize,
    refs: usize,
    verified: usize,
    drifted: usize,
    ambiguous: usize,
    broken: usize,
    error: usize,
    unchecked: usize,
    /// Docs findings that fail the run, and those `--allow-drift` lets pass.
    docs_failing: usize,
    docs_tolerated: usize,
    #[serde(skip_serializing_if = "is_zero")]
    needs_review: usize,
    #[serde(skip_serializing_if = "is_zero")]
    waived: usize,
    #[serde(skip_serializing_if = "is_zero")]
    warned: usize,
    #[serde(skip_serializing_if = "is_zero")]
    waivers_expired: usize,
    #[serde(skip_serializing_if = "is_zero")]
    waivers_unused: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Matches are written as ranges even for one line (`212-212`), so scripts can split on `-`.
fn span(range: LineRange) -> String {
    format!("{}-{}", range.start(), range.end())
}

/// Renders the report as pretty-printed JSON with a trailing newline.
pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    // Writing to memory fails only if serialising does, which plain strings and numbers cannot.
    match write(report, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!("{{\"schema\": {SCHEMA}, \"error\": \"{e}\"}}\n"),
    }
}

/// Writes the report as [`render`] makes it, into `out` as it is made: a report of 330,000
/// refs is never held as one text (hundreds of megabytes) before it is printed.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let json = json_report(report);
    // `#` only occurs inside strings, where `\u0023` means the same: no line is a `##[` command.
    let escaped = super::workflow::CommandEscaper::new(out, "\\u0023", "\\u003a");
    // The pretty printer writes a token at a time; the escaper takes them in large pieces.
    let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, escaped);
    serde_json::to_writer_pretty(&mut buffered, &json).map_err(std::io::Error::other)?;
    buffered.write_all(b"\n")?;
    buffered
        .into_inner()
        .map_err(|e| e.into_error())?
        .finish()?;
    Ok(())
}

/// The report in the shape of schema 1, its claims and refs made as they are serialised.
fn json_report(report: &Report) -> JsonReport<'_> {
    let summary = report.summary();
    JsonReport {
        schema: SCHEMA,
        tool: &report.tool,
        repo: &report.repo,
        rev: &report.rev,
        commit: report.commit.as_deref(),
        claims: JsonClaims(report),
        docs: report
            .docs
            .iter()
            .map(|d| JsonDocsFinding {
                page: &d.page,
                line: d.position.map(|at| at.line),
                column: d.position.map(|at| at.column),
                message: &d.message,
                tolerated: report.tolerates(d),
            })
            .collect(),
        summary: JsonSummary {
            claims: summary.claims,
            refs: summary.refs,
            verified: summary.verified,
            drifted: summary.drifted,
            ambiguous: summary.ambiguous,
            broken: summary.broken,
            error: summary.error,
            unchecked: summary.unchecked,
            docs_failing: summary.docs_failing,
            docs_tolerated: summary.docs_tolerated,
            needs_review: summary.needs_review,
            waived: summary.waived,
            warned: summary.warned,
            waivers_expired: summary.waivers_expired,
            waivers_unused: summary.waivers_unused,
        },
        fix_command: report.fix_command.as_deref(),
        refs_without_at: report.refs_without_at,
        waivers: report
            .waivers
            .iter()
            .map(|w| JsonWaiverState {
                waiver: json_waiver(w),
                state: report.waiver_state(w).as_str(),
            })
            .collect(),
    }
}

/// The claims, each made as it is written: a report of 330,000 refs never holds a second,
/// JSON-shaped copy of itself.
struct JsonClaims<'a>(&'a Report);

impl Serialize for JsonClaims<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.claims.iter().map(|c| json_claim(self.0, c)))
    }
}

/// A claim's refs, each made as it is written.
struct JsonRefs<'a> {
    report: &'a Report,
    claim: &'a ClaimReport,
}

impl Serialize for JsonRefs<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.claim
                .refs
                .iter()
                .enumerate()
                .map(|(index, r)| json_ref(self.report, self.claim, index, r)),
        )
    }
}

/// One claim as JSON, its refs made as they are written.
fn json_claim<'a>(report: &'a Report, c: &'a ClaimReport) -> JsonClaim<'a> {
    JsonClaim {
        id: &c.id,
        title: c.title.as_deref(),
        status: c.status.as_str(),
        owner: c.owner.as_deref(),
        verdict: c.verdict.as_str(),
        gate: (c.gate == Gate::Warn).then_some("warn"),
        approved: c.approval.as_ref().map(|a| JsonApproved {
            at: &a.at,
            by: &a.by,
            on: &a.on,
            fingerprint: &a.fingerprint,
            current: a.current.as_deref(),
            changed: a.changed(),
        }),
        waiver: (report.claim_outcome(c) == ClaimOutcome::Waived)
            .then(|| {
                (0..c.refs.len())
                    .filter(|&i| report.ref_fails(&c.refs[i]))
                    .find_map(|i| report.waiver_of(c, i))
            })
            .flatten()
            .map(json_waiver),
        refs: JsonRefs { report, claim: c },
    }
}

/// One ref as JSON.
fn json_ref<'a>(
    report: &'a Report,
    c: &'a ClaimReport,
    index: usize,
    r: &'a RefReport,
) -> JsonRef<'a> {
    JsonRef {
        path: &r.path,
        lines: r.lines.to_string(),
        verdict: r.verdict().as_str(),
        waiver: (report.ref_fails(r) && r.verdict() != Verdict::Error)
            .then(|| report.waiver_of(c, index))
            .flatten()
            .map(json_waiver),
        error: r.error(),
        relocated: r.relocated().map(|rel| JsonRelocated {
            path: &rel.place.path,
            lines: rel.place.lines.to_string(),
            how: rel.how.as_str(),
            detail: rel.detail.as_deref(),
            symbol: rel.symbol.as_deref(),
        }),
        candidates: r
            .candidates()
            .iter()
            .map(|c| JsonCandidate {
                path: &c.place.path,
                lines: c.place.lines.to_string(),
                how: c.how.as_str(),
                distance: c.distance,
                similarity: c.similarity,
                same_declaration: c.same_declaration,
                why: c.why(),
            })
            .collect(),
        parse_errors: r.parse_errors.iter().map(|l| l.get()).collect(),
        culprit: r.culprit().map(|c| JsonCulprit {
            kind: match c.kind {
                CulpritKind::Broke => "broke",
                CulpritKind::Moved => "moved",
                CulpritKind::Changed => "changed",
            },
            commit: &c.commit.id,
            short: &c.commit.short,
            date: &c.commit.date,
            subject: &c.commit.subject,
            author: &c.commit.author,
            pr: c.commit.pr,
        }),
        history_from: r.history_from.as_deref(),
        notes: &r.notes,
        touched: r.touched.as_deref(),
        review: r.review().map(|v| JsonReview {
            diff: &v.diff,
            commits: v.commits.iter().map(json_commit).collect(),
            note: v.note.as_deref(),
        }),
        checked: r
            .checked
            .as_ref()
            .filter(|_| r.verdict() != Verdict::Verified && r.relocated().is_none())
            .map(|p| JsonPlace {
                path: &p.path,
                lines: p.lines.to_string(),
            }),
        cited_by: r
            .cited_by
            .iter()
            .map(|d| JsonDocsLocation {
                page: &d.page,
                line: d.line,
                column: d.column,
            })
            .collect(),
        expectations: r
            .expectations
            .iter()
            .map(|e| JsonExpectation {
                kind: e.kind.as_str(),
                ok: e.ok,
                message: &e.message,
                matches: e.matches.iter().copied().map(span).collect(),
                near_miss: e.near_miss.map(|l| l.get()),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;

    /// A writer that takes at most `n` bytes a call, as a pipe may.
    struct Trickle(Vec<u8>, usize);

    impl std::io::Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.1);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_streamed_report_is_the_whole_texts_escaped() {
        let mut report = sample::report();
        let claim = &mut report.claims[0];
        claim.title = Some("##[error]forged\n::warning::x #\u{200B}#[y] é#é".into());
        claim.refs[0].notes = vec!["\r::add-mask::s".into(), "##".into(), "[z]".into()];
        // As it was made before it streamed: the whole text, then escaped.
        let mut whole = serde_json::to_string_pretty(&json_report(&report)).unwrap();
        whole.push('\n');
        let whole = super::super::workflow::escape_commands(&whole, "\\u0023", "\\u003a");
        assert!(whole.contains("\\u0023["), "{whole}");
        assert_eq!(render(&report), whole);
        for n in [1, 2, 3, 7] {
            let mut out = Trickle(Vec::new(), n);
            write(&report, &mut out).unwrap();
            assert_eq!(
                String::from_utf8(out.0).unwrap(),
                whole,
                "{n} bytes a write"
            );
        }
    }
}
