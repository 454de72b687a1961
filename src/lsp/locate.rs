//! What is under the cursor: the ref of anchors.yaml on a line, the citation of a page at an
//! offset, and where either points (go-to-definition).

use std::path::Path;

use lsp_types::{Location, Position as LspPosition};

use super::convert;
use super::diagnostics::cited_refs;
use super::loaded::Loaded;
use super::workspace::Workspace;
use crate::docs;
use crate::model::Place;

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
pub fn citation_at(text: &str, offset: usize) -> Option<docs::Citation> {
    docs::scan(text)
        .into_iter()
        .find(|c| c.path_span.start <= offset && offset <= c.lines_span.end)
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
        range: convert::lines_range(&convert::LineIndex::new(&text), place.lines),
    })
}
