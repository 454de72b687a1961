//! The requests: hover, completion, go-to-definition, CodeLens and the `update citation` code
//! action. None writes a file: the code action is a workspace edit the editor applies.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use lsp_types::{
    CodeAction, CodeActionKind, CodeLens, Command, CompletionItem, CompletionItemKind, Hover,
    HoverContents, InlayHint, InlayHintLabel, Location, MarkupContent, MarkupKind,
    Position as LspPosition, Range, TextEdit, Uri, WorkspaceEdit,
};

use super::convert;
use super::diagnostics::{cited_refs, ref_message};
use super::workspace::{self, Loaded, Workspace};
use crate::anchors::{ACCEPTED_KEYS, ClientAuth, ExpectationKind, Ref, TlsVersion};
use crate::docs;
use crate::fix::{self, Revisions};
use crate::lines::LineRange;
use crate::report::{Place, RefReport, Verdict};
use crate::source::Files;

/// Most cited lines a hover shows.
const HOVER_LINES: usize = 40;

/// The claim and ref (by index) whose mapping holds 1-based `line` of the anchors file.
pub fn ref_at_line(loaded: &Loaded, line: u32) -> Option<(usize, usize)> {
    let mut starts: Vec<(u32, usize, Option<usize>)> = Vec::new();
    for (c, claim) in loaded.anchors.claims.iter().enumerate() {
        starts.push((claim.id.position.line, c, None));
        for (i, r) in claim.refs.iter().enumerate() {
            starts.push((r.position.line, c, Some(i)));
        }
    }
    starts.sort();
    let (_, c, r) = starts.iter().rev().find(|(start, _, _)| *start <= line)?;
    Some((*c, (*r)?))
}

/// The citation of a page under a byte offset.
fn citation_at(text: &str, offset: usize) -> Option<docs::Citation> {
    docs::scan(text)
        .into_iter()
        .find(|c| c.path_span.start <= offset && offset <= c.lines_span.end)
}

/// The cited lines as the editor has them, at most [`HOVER_LINES`].
fn cited_code(ws: &Workspace, loaded: &Loaded, place: &Place) -> Option<String> {
    let files = workspace::editor_files(loaded, &ws.buffers)?;
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
            let _ = writeln!(out, " · **{}**\n", rr.verdict);
            if rr.verdict != Verdict::Verified {
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

/// Where a ref (anchors.yaml) or a citation (a page) points: the cited lines in the working
/// tree.
pub fn definition(ws: &Workspace, path: &Path, at: LspPosition) -> Option<Location> {
    let loaded = ws.loaded.as_ref()?;
    let workdir = loaded.workdir()?;
    let place = if ws.anchors_path.as_deref() == Some(path) {
        let (c, i) = ref_at_line(loaded, convert::line_of(at))?;
        let r = &loaded.anchors.claims[c].refs[i];
        Place {
            path: r.path.value.clone(),
            lines: r.lines.value,
        }
    } else {
        loaded.page_named(path)?;
        let text = ws.text_of(path)?;
        let citation = citation_at(&text, convert::position_to_offset(&text, at))?;
        match cited_refs(loaded, &citation).first() {
            Some((_, _, r, _)) => Place {
                path: r.path.value.clone(),
                lines: r.lines.value,
            },
            None => Place {
                path: citation.path.clone(),
                lines: citation.lines,
            },
        }
    };
    let full = workdir.join(&place.path);
    let text = ws.text_of(&full).unwrap_or_default();
    Some(Location {
        uri: convert::path_to_uri(&full)?,
        range: convert::lines_range(&text, place.lines),
    })
}

/// Completion in anchors.yaml: `tls:` values after `client_auth:` and `min_version:`, `tls:`
/// keys inside a `tls:` mapping, else the expectation keys.
pub fn completion(ws: &Workspace, path: &Path, at: LspPosition) -> Vec<CompletionItem> {
    if ws.anchors_path.as_deref() != Some(path) && !workspace::is_anchors_file(path) {
        return Vec::new();
    }
    let text = ws.text_of(path).unwrap_or_default();
    let offset = convert::position_to_offset(&text, at);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..offset];
    let value = |label: &str, detail: &str| CompletionItem {
        label: label.to_string(),
        kind: Some(CompletionItemKind::VALUE),
        detail: Some(detail.to_string()),
        ..CompletionItem::default()
    };
    let key = |label: &str, detail: &str| CompletionItem {
        label: label.to_string(),
        kind: Some(CompletionItemKind::PROPERTY),
        detail: Some(detail.to_string()),
        insert_text: Some(format!("{label}: ")),
        ..CompletionItem::default()
    };
    let last_key = before
        .rsplit(['{', ',', '-'])
        .next()
        .unwrap_or(before)
        .trim_start();
    if last_key.starts_with("client_auth:") {
        return ClientAuth::ALL
            .iter()
            .map(|(yaml, go, _)| value(yaml, &format!("tls.{go}")))
            .collect();
    }
    if last_key.starts_with("min_version:") {
        return TlsVersion::ALL
            .iter()
            .map(|(yaml, go, _)| {
                let mut item = value(yaml, &format!("tls.{go}"));
                item.insert_text = Some(format!("\"{yaml}\""));
                item
            })
            .collect();
    }
    let in_tls = before.contains("tls:") || {
        // A block `tls:` mapping: the nearest less indented line above opens it.
        let indent = before.len() - before.trim_start().len();
        text[..line_start]
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty() && l.len() - l.trim_start().len() < indent)
            .is_some_and(|l| l.trim_start().trim_start_matches("- ").starts_with("tls:"))
    };
    if in_tls {
        let keys = ACCEPTED_KEYS
            .iter()
            .find(|(kind, _)| *kind == ExpectationKind::Tls.name())
            .map(|(_, keys)| *keys)
            .unwrap_or_default();
        return keys.iter().map(|k| key(k, "tls expectation key")).collect();
    }
    ExpectationKind::ALL
        .iter()
        .map(|k| key(k.name(), "expectation"))
        .collect()
}

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
            Some(rr) => (rr.current(), rr.verdict.to_string()),
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
    cited_ranges(ws, path)
        .into_iter()
        .map(|(lines, title)| {
            let first = LineRange::single(lines.start());
            InlayHint {
                position: convert::lines_range(&text, first).end,
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

/// The smallest single edit turning `before` into `after`.
fn text_edit(before: &str, after: &str) -> TextEdit {
    let mut prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !before.is_char_boundary(prefix) || !after.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = before.len().min(after.len()) - prefix;
    let mut suffix = before
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while !before.is_char_boundary(before.len() - suffix)
        || !after.is_char_boundary(after.len() - suffix)
    {
        suffix -= 1;
    }
    TextEdit {
        range: Range {
            start: convert::offset_to_position(before, prefix),
            end: convert::offset_to_position(before, before.len() - suffix),
        },
        new_text: after[prefix..after.len() - suffix].to_string(),
    }
}

/// The `update citation` action of one drifted ref: what `fix` would write to anchors.yaml and
/// the pages for it, computed from the editor's texts, as a workspace edit.
#[allow(
    clippy::mutable_key_type,
    reason = "lsp-types keys a workspace edit's changes by Uri, whose parse cache is a Cell"
)]
fn update_citation(ws: &Workspace, loaded: &Loaded, c: usize, i: usize) -> Option<CodeAction> {
    let claim = &loaded.anchors.claims[c];
    let rr = loaded.reports.get(&claim.id.value)?.refs.get(i)?;
    if rr.verdict != Verdict::Drifted {
        return None;
    }
    let now = rr.relocated.as_ref()?.place.clone();
    let report = workspace::report_for_ref(loaded, &claim.id.value, i)?;
    let pages: Vec<(PathBuf, String)> = loaded
        .pages
        .iter()
        .filter_map(|(_, full, _)| Some((full.clone(), ws.text_of(full)?)))
        .collect();
    let git = loaded.snapshot.as_ref().ok()?.git();
    let is_fixed = |name: &str| git.names_fixed_revision(name);
    let revisions = Revisions {
        is_fixed: &is_fixed,
        keep_pinned: false,
    };
    let plan = fix::plan(
        &loaded.anchors,
        &loaded.source,
        &report,
        None,
        &pages,
        &revisions,
    )
    .ok()?;
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for change in &plan.changes {
        let uri = convert::path_to_uri(&change.path)?;
        changes.insert(uri, vec![text_edit(&change.before, &change.after)]);
    }
    if changes.is_empty() {
        return None;
    }
    Some(CodeAction {
        title: format!(
            "update citation: `{}` {}:{} -> {}:{}",
            claim.id.value, rr.path, rr.lines, now.path, now.lines
        ),
        kind: Some(CodeActionKind::QUICKFIX),
        edit: Some(WorkspaceEdit {
            changes: Some(changes),
            ..WorkspaceEdit::default()
        }),
        is_preferred: Some(true),
        ..CodeAction::default()
    })
}

/// Code actions at a range of anchors.yaml (the ref there) or of a page (the citations there).
pub fn code_actions(ws: &Workspace, path: &Path, range: Range) -> Vec<CodeAction> {
    let Some(loaded) = &ws.loaded else {
        return Vec::new();
    };
    // Spans and texts must be the ones the model was read from.
    if !ws.problems.is_empty() {
        return Vec::new();
    }
    let mut refs: Vec<(usize, usize)> = Vec::new();
    if ws.anchors_path.as_deref() == Some(path) {
        for line in convert::line_of(range.start)..=convert::line_of(range.end) {
            if let Some(found) = ref_at_line(loaded, line)
                && !refs.contains(&found)
            {
                refs.push(found);
            }
        }
    } else if loaded.page_named(path).is_some() {
        let Some(text) = ws.text_of(path) else {
            return Vec::new();
        };
        let from = convert::position_to_offset(&text, range.start);
        let to = convert::position_to_offset(&text, range.end);
        for citation in docs::scan(&text) {
            if citation.path_span.start <= to && from <= citation.lines_span.end {
                for (claim, i, _, _) in cited_refs(loaded, &citation) {
                    let c = loaded
                        .anchors
                        .claims
                        .iter()
                        .position(|x| x.id.value == claim.id.value);
                    if let Some(c) = c
                        && !refs.contains(&(c, i))
                    {
                        refs.push((c, i));
                    }
                }
            }
        }
    }
    refs.into_iter()
        .filter_map(|(c, i)| update_citation(ws, loaded, c, i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_spans_exactly_what_changed() {
        let before = "a: 1\nlines: 10-20\nz: 2\n";
        let after = "a: 1\nlines: 12-22\nz: 2\n";
        let edit = text_edit(before, after);
        assert_eq!((edit.range.start.line, edit.range.start.character), (1, 8));
        assert_eq!((edit.range.end.line, edit.range.end.character), (1, 12));
        assert_eq!(edit.new_text, "2-22");
        let same = text_edit(before, before);
        assert_eq!(same.new_text, "");
        assert_eq!(same.range.start, same.range.end);
    }
}
