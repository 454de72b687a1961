//! What cites a Go file's ranges: a CodeLens above each, or an inlay hint for clients that
//! show no CodeLens.

use std::path::Path;

use lsp_types::{CodeLens, Command, InlayHint, InlayHintLabel, Position as LspPosition, Range};

use super::convert;
use super::workspace::Workspace;
use crate::lines::LineRange;
use crate::model::Place;

/// Each cited range of a Go file and what cites it: "cited by 2 claims: a (verified), b
/// (broken)", in line order.
fn cited_ranges(ws: &Workspace, path: &Path) -> Vec<(LineRange, String)> {
    let Some(loaded) = &ws.loaded else {
        return Vec::new();
    };
    let Some(rel) = ws.repo_relative(path) else {
        return Vec::new();
    };
    let mut by_range: Vec<(LineRange, Vec<String>)> = Vec::new();
    for (claim, r, rr) in loaded.refs() {
        let (place, verdict) = match rr {
            Some(rr) => (rr.current(), rr.verdict().to_string()),
            None => (
                Place {
                    path: r.path.value.clone(),
                    lines: r.lines.value,
                },
                "not checked yet".to_string(),
            ),
        };
        if place.path != rel {
            continue;
        }
        let entry = format!("{} ({verdict})", claim.id.value);
        match by_range.iter_mut().find(|(lines, _)| *lines == place.lines) {
            Some((_, entries)) if !entries.contains(&entry) => entries.push(entry),
            Some(_) => {}
            None => by_range.push((place.lines, vec![entry])),
        }
    }
    by_range.sort();
    by_range
        .into_iter()
        .map(|(lines, entries)| {
            let claims = if entries.len() == 1 {
                "claim"
            } else {
                "claims"
            };
            let title = format!(
                "cited by {} {claims}: {}",
                entries.len(),
                entries.join(", ")
            );
            (lines, title)
        })
        .collect()
}

/// The CodeLens above each cited range of a Go file.
pub fn code_lens(ws: &Workspace, path: &Path) -> Vec<CodeLens> {
    cited_ranges(ws, path)
        .into_iter()
        .map(|(lines, title)| {
            let line = u32::try_from(lines.start().zero_based()).unwrap_or(u32::MAX);
            CodeLens {
                range: Range {
                    start: LspPosition::new(line, 0),
                    end: LspPosition::new(line, 0),
                },
                command: Some(Command {
                    title,
                    // No command runs: the lens informs, in every editor alike.
                    command: String::new(),
                    arguments: None,
                }),
                data: None,
            }
        })
        .collect()
}

/// The same as inlay hints at the end of each cited range's first line, for clients that show
/// no CodeLens.
pub fn inlay_hints(ws: &Workspace, path: &Path) -> Vec<InlayHint> {
    let text = ws.text_of(path).unwrap_or_default();
    let index = convert::LineIndex::new(&text);
    cited_ranges(ws, path)
        .into_iter()
        .map(|(lines, title)| {
            let first = LineRange::single(lines.start());
            InlayHint {
                position: convert::lines_range(&index, first).end,
                label: InlayHintLabel::String(title),
                kind: None,
                text_edits: None,
                tooltip: None,
                padding_left: Some(true),
                padding_right: None,
                data: None,
            }
        })
        .collect()
}
