//! Hover: a ref's (or a citation's) verdict, the cited code as the editor has it, and each
//! expectation's result.

use std::fmt::Write as _;
use std::path::Path;

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position as LspPosition};

use super::check;
use super::convert;
use super::diagnostics::{cited_refs, ref_message};
use super::loaded::Loaded;
use super::locate::{citation_at, ref_at_line};
use super::workspace::Workspace;
use crate::anchors::Ref;
use crate::model::{Place, RefReport, Verdict};
use crate::source::Files;

/// Most cited lines a hover shows.
const HOVER_LINES: usize = 40;

/// The cited lines as the editor has them, at most [`HOVER_LINES`].
fn cited_code(ws: &Workspace, loaded: &Loaded, place: &Place) -> Option<String> {
    let files = check::editor_files(loaded, &ws.buffers)?;
    let blob = files.read(&place.path).ok()?;
    let text = String::from_utf8_lossy(&blob.bytes);
    let lines: Vec<&str> = text
        .lines()
        .skip(place.lines.start().zero_based())
        .take((place.lines.len() as usize).min(HOVER_LINES))
        .collect();
    let mut code = lines.join("\n");
    if place.lines.len() as usize > HOVER_LINES {
        code.push_str("\n// …");
    }
    Some(code)
}

/// A ref's hover: its verdict, the cited code and each expectation's result.
fn describe_ref(
    ws: &Workspace,
    loaded: &Loaded,
    claim: &str,
    r: &Ref,
    rr: Option<&RefReport>,
) -> String {
    let mut out = String::new();
    let cited = Place {
        path: r.path.value.clone(),
        lines: r.lines.value,
    };
    let _ = write!(out, "**`{claim}`** · `{}:{}`", cited.path, cited.lines);
    match rr {
        Some(rr) => {
            let _ = writeln!(out, " · **{}**\n", rr.verdict());
            if rr.verdict() != Verdict::Verified {
                let _ = writeln!(out, "{}\n", ref_message(claim, rr));
            }
            let shown = rr.current();
            if let Some(code) = cited_code(ws, loaded, &shown) {
                if shown != cited {
                    let _ = writeln!(out, "Now at `{}:{}`:\n", shown.path, shown.lines);
                }
                let _ = writeln!(out, "```go\n{code}\n```\n");
            }
            for e in &rr.expectations {
                let mark = if e.ok { "✓" } else { "✗" };
                let _ = writeln!(out, "- {mark} `{}`: {}", e.kind, e.message);
            }
        }
        None => {
            let _ = writeln!(out, " · not checked yet\n");
            if let Some(code) = cited_code(ws, loaded, &cited) {
                let _ = writeln!(out, "```go\n{code}\n```");
            }
        }
    }
    out
}

fn markdown_hover(value: String) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: None,
    }
}

/// Hover on a ref of anchors.yaml, or on a citation of a docs page.
pub fn hover(ws: &Workspace, path: &Path, at: LspPosition) -> Option<Hover> {
    let loaded = ws.loaded.as_ref()?;
    if ws.anchors_path.as_deref() == Some(path) {
        let (c, i) = ref_at_line(loaded, convert::line_of(at))?;
        let claim = &loaded.anchors.claims[c];
        let rr = loaded
            .reports
            .get(&claim.id.value)
            .and_then(|cr| cr.refs.get(i));
        return Some(markdown_hover(describe_ref(
            ws,
            loaded,
            &claim.id.value,
            &claim.refs[i],
            rr,
        )));
    }
    loaded.page_named(path)?;
    let text = ws.text_of(path)?;
    let citation = citation_at(&text, convert::position_to_offset(&text, at))?;
    let refs = cited_refs(loaded, &citation);
    if refs.is_empty() {
        return Some(markdown_hover(format!(
            "`{}:{}` names no ref of anchors.yaml",
            citation.path, citation.lines
        )));
    }
    let parts: Vec<String> = refs
        .iter()
        .map(|(claim, _, r, rr)| {
            let title = claim
                .title
                .as_deref()
                .map(|t| format!("{t}\n\n"))
                .unwrap_or_default();
            format!(
                "{title}{}",
                describe_ref(ws, loaded, &claim.id.value, r, *rr)
            )
        })
        .collect();
    Some(markdown_hover(parts.join("\n---\n")))
}
