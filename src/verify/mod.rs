//! Verdicts: reads each cited file once, evaluates every ref on its one tree, and assembles the
//! report in anchors.yaml order.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::anchors::{AnchorsFile, Claim, Ref};
use crate::expect::{self, ExpectationResult};
use crate::go::{GoFile, symbols};
use crate::lines::{LineNo, LineRange};
use crate::report::{ClaimReport, Excerpt, RefReport, Report, Verdict};
use crate::source::{FileProblem, Files};

/// What to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Only these claim ids (all when empty).
    pub claims: Vec<String>,
}

/// Why verification could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("no claim with id `{id}` in anchors.yaml{hint}")]
    UnknownClaim { id: String, hint: String },
}

/// Describes the revision being verified, for the report header.
#[derive(Clone, Debug)]
pub struct RevisionInfo {
    pub repo: String,
    pub rev: String,
    pub commit: Option<String>,
}

/// The claims selected by `options`, in file order; an unknown id is an error, never a pass.
pub fn select_claims<'a>(
    anchors: &'a AnchorsFile,
    options: &VerifyOptions,
) -> Result<Vec<&'a Claim>, VerifyError> {
    let ids: Vec<&str> = anchors.claims.iter().map(|c| c.id.value.as_str()).collect();
    for wanted in &options.claims {
        if !ids.contains(&wanted.as_str()) {
            let hint = crate::anchors::did_you_mean(wanted, &ids)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(VerifyError::UnknownClaim {
                id: wanted.clone(),
                hint,
            });
        }
    }
    Ok(anchors
        .claims
        .iter()
        .filter(|c| options.claims.is_empty() || options.claims.contains(&c.id.value))
        .collect())
}

/// Verifies the selected claims against `files`. Each distinct path is read and parsed once,
/// files in parallel; the report keeps anchors.yaml order whatever the scheduling.
pub fn verify(
    anchors: &AnchorsFile,
    files: &dyn Files,
    revision: RevisionInfo,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    let claims = select_claims(anchors, options)?;

    // Group refs by path, remembering each ref's place in the output.
    let mut by_path: Vec<(&str, Vec<(usize, usize, &Ref)>)> = Vec::new();
    let mut path_index: HashMap<&str, usize> = HashMap::new();
    for (ci, claim) in claims.iter().enumerate() {
        for (ri, r) in claim.refs.iter().enumerate() {
            let path = r.path.value.as_str();
            let slot = *path_index.entry(path).or_insert_with(|| {
                by_path.push((path, Vec::new()));
                by_path.len() - 1
            });
            by_path[slot].1.push((ci, ri, r));
        }
    }

    let evaluated: Vec<(usize, usize, RefReport)> = by_path
        .par_iter()
        .flat_map_iter(|(path, refs)| {
            let parsed = read_and_parse(files, path);
            refs.iter()
                .map(|(ci, ri, r)| (*ci, *ri, verify_ref(r, &parsed)))
                .collect::<Vec<_>>()
        })
        .collect();

    let mut slots: Vec<Vec<Option<RefReport>>> =
        claims.iter().map(|c| vec![None; c.refs.len()]).collect();
    for (ci, ri, report) in evaluated {
        slots[ci][ri] = Some(report);
    }
    let claims = claims
        .iter()
        .zip(slots)
        .map(|(claim, refs)| {
            let refs: Vec<RefReport> = refs.into_iter().flatten().collect();
            let verdict = refs
                .iter()
                .map(|r| r.verdict)
                .max()
                .unwrap_or(Verdict::Verified);
            ClaimReport {
                id: claim.id.value.clone(),
                title: claim.title.clone(),
                status: claim.status,
                owner: claim.owner.clone(),
                verdict,
                refs,
            }
        })
        .collect();
    Ok(Report {
        tool: format!("anchorcheck {}", env!("CARGO_PKG_VERSION")),
        repo: revision.repo,
        rev: revision.rev,
        commit: revision.commit,
        claims,
    })
}

fn read_and_parse(files: &dyn Files, path: &str) -> Result<GoFile, String> {
    let blob = files.read(path).map_err(|p: FileProblem| p.to_string())?;
    GoFile::parse(blob.bytes).map_err(|e| e.to_string())
}

/// Verifies one ref on its parsed file.
pub fn verify_ref(r: &Ref, parsed: &Result<GoFile, String>) -> RefReport {
    let lines = r.lines.value;
    let mut report = RefReport {
        path: r.path.value.clone(),
        lines,
        verdict: Verdict::Error,
        error: None,
        relocated: None,
        candidates: Vec::new(),
        expectations: Vec::new(),
        parse_errors: Vec::new(),
        excerpt: None,
    };
    let file = match parsed {
        Ok(file) => file,
        Err(reason) => {
            report.error = Some(reason.clone());
            return report;
        }
    };
    let line_count = file.line_count();
    if lines.end().get() > line_count {
        report.error = Some(format!(
            "lines {lines} are past the end of the file ({line_count} lines)"
        ));
        return report;
    }
    report.expectations = r
        .expect
        .iter()
        .map(|e| expect::evaluate(e, file, lines))
        .collect();
    if r.expect.is_empty()
        && let Some(symbol) = &r.symbol
    {
        report
            .expectations
            .push(symbol_declared(file, &symbol.value, lines));
    }
    report.parse_errors = file.parse_error_lines(lines);
    report.verdict = if report.expectations.iter().all(|e| e.ok) {
        Verdict::Verified
    } else {
        Verdict::Broken
    };
    if report.verdict != Verdict::Verified {
        report.excerpt = Some(excerpt(file, lines));
    }
    report
}

/// A ref naming only a symbol holds when a declaration of that symbol starts in the range.
fn symbol_declared(file: &GoFile, symbol: &str, lines: LineRange) -> ExpectationResult {
    let decls = symbols::declarations(file);
    let named: Vec<_> = decls.iter().filter(|d| d.is_named(symbol)).collect();
    if let Some(d) = named.iter().find(|d| lines.contains_line(d.lines.start())) {
        return ExpectationResult {
            kind: "symbol",
            ok: true,
            message: format!("{symbol} is declared at lines {}", d.lines),
            matches: vec![d.lines],
            near_miss: None,
        };
    }
    let (message, near_miss) = match named.first() {
        Some(d) => (
            format!(
                "{symbol} is declared at lines {}, outside lines {lines}",
                d.lines
            ),
            Some(d.lines.start()),
        ),
        None => (format!("no declaration of {symbol} in the file"), None),
    };
    ExpectationResult {
        kind: "symbol",
        ok: false,
        message,
        matches: Vec::new(),
        near_miss,
    }
}

fn excerpt(file: &GoFile, lines: LineRange) -> Excerpt {
    let text = (lines.start().get()..=lines.end().get())
        .filter_map(LineNo::new)
        .map(|l| file.line_text(l))
        .collect();
    Excerpt {
        first_line: lines.start(),
        lines: text,
    }
}
