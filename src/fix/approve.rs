//! `approve`: writes a claim's `approved: {at, by, on, fingerprint}` into anchors.yaml by
//! splicing byte spans as `fix` does: an existing approval's four scalars are replaced in
//! place, a claim without one gets the mapping on the line after its `id`. Every other byte
//! stays.

use std::collections::HashMap;
use std::path::Path;

use super::{Edit, FileChange, FixError, apply, insert_key_after};
use crate::anchors::{AnchorsFile, Claim, Date, Located};

/// One approval to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApproval {
    pub claim: String,
    /// The full id of the commit the claim was read at.
    pub at: String,
    pub by: String,
    pub on: Date,
    pub fingerprint: String,
}

/// `value` as a YAML scalar: plain when that reads back as the same string, else
/// double-quoted (JSON's escaping is valid YAML).
fn scalar(value: &str) -> String {
    let plain = value.chars().next().is_some_and(|c| c.is_alphanumeric())
        && !value.ends_with(' ')
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || " ._-@".contains(c))
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && value.parse::<f64>().is_err();
    if plain {
        value.to_string()
    } else {
        serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
    }
}

fn replace<T>(
    path: &Path,
    located: &Located<T>,
    what: &str,
    value: String,
) -> Result<Edit, FixError> {
    let span = located.span.ok_or_else(|| FixError::NoSpan {
        path: path.to_path_buf(),
        what: what.to_string(),
    })?;
    Ok(Edit {
        range: span.start..span.end,
        replacement: value,
    })
}

/// The change to anchors.yaml recording `approvals` (claims not in the file are skipped; the
/// caller took them from it).
pub fn plan(
    anchors: &AnchorsFile,
    source: &str,
    approvals: &[NewApproval],
) -> Result<FileChange, FixError> {
    let path = &anchors.path;
    let mut edits = Vec::new();
    let by_id: HashMap<&str, &Claim> = anchors
        .claims
        .iter()
        .map(|c| (c.id.value.as_str(), c))
        .collect();
    for new in approvals {
        let Some(&claim) = by_id.get(new.claim.as_str()) else {
            continue;
        };
        match &claim.approved {
            Some(old) => {
                edits.push(replace(path, &old.at, "approved.at", new.at.clone())?);
                edits.push(replace(path, &old.by, "approved.by", scalar(&new.by))?);
                edits.push(replace(path, &old.on, "approved.on", new.on.to_string())?);
                edits.push(replace(
                    path,
                    &old.fingerprint,
                    "approved.fingerprint",
                    new.fingerprint.clone(),
                )?);
            }
            None => {
                let span = claim.id.span.ok_or_else(|| FixError::NoSpan {
                    path: path.to_path_buf(),
                    what: "id".to_string(),
                })?;
                let entry = format!(
                    "approved: {{at: {}, by: {}, on: {}, fingerprint: {}}}",
                    new.at,
                    scalar(&new.by),
                    new.on,
                    new.fingerprint
                );
                edits.push(insert_key_after(
                    source,
                    span,
                    "id",
                    claim.position.column,
                    &entry,
                ));
            }
        }
    }
    let after = apply(path, source, &edits)?;
    Ok(FileChange {
        path: path.clone(),
        before: source.to_string(),
        after,
    })
}

/// Writes the change atomically, refusing if the file changed since it was read.
pub fn write(change: &FileChange) -> Result<(), FixError> {
    if change.before == change.after {
        return Ok(());
    }
    crate::atomic::replace_atomically(
        &change.path,
        change.before.as_bytes(),
        change.after.as_bytes(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn approval(claim: &str, by: &str) -> NewApproval {
        NewApproval {
            claim: claim.into(),
            at: COMMIT.into(),
            by: by.into(),
            on: Date::parse("2026-11-02").unwrap(),
            fingerprint: "ab".repeat(32),
        }
    }

    fn approve(source: &str, approvals: &[NewApproval]) -> String {
        let path = Path::new("anchors.yaml");
        let anchors = crate::anchors::parse(source, path, path).unwrap();
        let change = plan(&anchors, source, approvals).unwrap();
        // What was written reads back with the approval.
        let again = crate::anchors::parse(&change.after, path, path).unwrap();
        for a in approvals {
            let claim = again.claims.iter().find(|c| c.id.value == a.claim).unwrap();
            let got = claim.approved.as_ref().unwrap();
            assert_eq!(got.by.value, a.by);
            assert_eq!(got.fingerprint.value, a.fingerprint);
            assert_eq!(got.on.value, a.on);
        }
        change.after
    }

    #[test]
    fn a_new_approval_goes_after_the_id_and_keeps_every_other_byte() {
        let source = "version: 1  # top\r\nclaims:\r\n  - id: a   # the first\r\n    status: planned\r\n  - {id: b, status: planned}\r\n";
        let out = approve(
            source,
            &[approval("a", "Ana Ruiz"), approval("b", "O'Neil: \"x\"")],
        );
        let fp = "ab".repeat(32);
        assert_eq!(
            out,
            format!(
                "version: 1  # top\r\nclaims:\r\n  - id: a   # the first\r\n    approved: {{at: {COMMIT}, by: Ana Ruiz, on: 2026-11-02, fingerprint: {fp}}}\r\n    status: planned\r\n  - {{id: b, approved: {{at: {COMMIT}, by: \"O'Neil: \\\"x\\\"\", on: 2026-11-02, fingerprint: {fp}}}, status: planned}}\r\n"
            )
        );
    }

    #[test]
    fn an_existing_approval_is_replaced_in_place() {
        let old = "cd".repeat(32);
        let source = format!(
            "version: 1\nclaims:\n  - id: a\n    approved:\n      at: {}  # then\n      by: 'Bo'\n      on: 2026-01-01\n      fingerprint: {old}\n    status: planned\n",
            "f".repeat(40)
        );
        let out = approve(&source, &[approval("a", "Ana")]);
        assert_eq!(
            out,
            format!(
                "version: 1\nclaims:\n  - id: a\n    approved:\n      at: {COMMIT}  # then\n      by: Ana\n      on: 2026-11-02\n      fingerprint: {}\n    status: planned\n",
                "ab".repeat(32)
            )
        );
    }
}
