//! The `update citation` code action: what `fix` would write for one drifted ref, computed
//! from the editor's texts and returned as a workspace edit (never written by the server).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lsp_types::{CodeAction, CodeActionKind, Range, TextEdit, Uri, WorkspaceEdit};

use super::check;
use super::convert;
use super::diagnostics::cited_refs;
use super::loaded::Loaded;
use super::locate::ref_at_line;
use super::workspace::Workspace;
use crate::docs;
use crate::fix::{self, Revisions};
use crate::model::Verdict;

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
    if rr.verdict() != Verdict::Drifted {
        return None;
    }
    let now = rr.relocated()?.place.clone();
    let report = check::report_for_ref(loaded, &claim.id.value, i)?;
    let pages: Vec<(PathBuf, String)> = loaded
        .pages
        .iter()
        .filter_map(|page| Some((page.full.clone(), ws.text_of(&page.full)?)))
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
