//! Completion in anchors.yaml, from the model the schema is made of: expectation keys, `tls:`
//! keys, and the values of `client_auth:` and `min_version:`.

use std::path::Path;

use lsp_types::{CompletionItem, CompletionItemKind, Position as LspPosition};

use super::convert;
use super::workspace::{self, Workspace};
use crate::anchors::{ClientAuth, ExpectationKind, TlsVersion, accepted_keys};

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
            .map(|c| value(c.key(), &format!("tls.{}", c.go_name())))
            .collect();
    }
    if last_key.starts_with("min_version:") {
        return TlsVersion::ALL
            .iter()
            .map(|v| {
                let mut item = value(v.as_str(), &format!("tls.{}", v.go_name()));
                item.insert_text = Some(format!("\"{}\"", v.as_str()));
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
        let keys = accepted_keys()
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
