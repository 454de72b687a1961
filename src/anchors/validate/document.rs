//! The document: the file's version, repository, revision and docs pages, its claims and their
//! refs (paths that stay in the repository, line ranges, commit ids, symbols).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use strum::VariantNames;

use super::readers::{Validator, suggestion};
use crate::anchors::model::*;
use crate::anchors::node::{Node, NodeValue};
use crate::lines::LineRange;

pub(super) const TOP_KEYS: &[&str] = &[
    "version",
    "repo",
    "rev",
    "docs",
    "claims",
    "waivers",
    "max_waiver_days",
];
pub(super) const CLAIM_KEYS: &[&str] =
    &["id", "title", "status", "owner", "refs", "gate", "approved"];
pub(super) const REF_KEYS: &[&str] = &["path", "lines", "at", "symbol", "expect"];

/// A Go identifier.
pub(super) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// A name a declaration can have: an identifier, not a keyword, not `_`.
fn is_declarable(s: &str) -> bool {
    is_identifier(s) && s != "_" && !crate::go::KEYWORDS.contains(&s)
}

/// `None` when `symbol` can name a Go declaration (a func, `Type.Method`, `(*Type).Method`,
/// type, const or var); else a hint saying which spelling would (empty when none applies).
fn symbol_problem(symbol: &str) -> Option<String> {
    let pair = |ty: &str, method: &str| is_declarable(ty) && is_declarable(method);
    let generic = symbol
        .split_once("].")
        .or_else(|| symbol.split_once("])."))
        .and_then(|(generic, method)| {
            Some((generic.trim_start_matches("(*").split_once('[')?.0, method))
        });
    if let Some((ty, method)) = generic
        && pair(ty, method)
    {
        return Some(format!(
            "; type parameters are not part of the name: write `{ty}.{method}`"
        ));
    }
    if let Some((ty, method)) = symbol
        .strip_prefix("(*")
        .and_then(|rest| rest.split_once(")."))
    {
        return (!pair(ty, method)).then(String::new);
    }
    if let Some((ty, method)) = symbol.strip_prefix('*').and_then(|r| r.split_once('.'))
        && pair(ty, method)
    {
        return Some(format!("; write `(*{ty}).{method}` or `{ty}.{method}`"));
    }
    if let Some((ty, method)) = symbol
        .strip_prefix('(')
        .and_then(|rest| rest.split_once(")."))
        && pair(ty, method)
    {
        return Some(format!("; write `{ty}.{method}`"));
    }
    if let Some((_, name)) = symbol.rsplit_once('/') {
        let name = name.split_once('.').map_or(name, |(_, n)| n);
        return Some(format!(
            "; it is looked up in the ref's own package: write `{name}` without the import path"
        ));
    }
    let parts: Vec<&str> = symbol.split('.').collect();
    match parts.as_slice() {
        [name] if is_declarable(name) => None,
        [ty, method] if pair(ty, method) => None,
        [name] | [_, name] if crate::go::KEYWORDS.contains(name) || *name == "_" => Some(format!(
            "; `{name}` is a Go keyword or the blank identifier"
        )),
        _ => Some(String::new()),
    }
}

impl Validator<'_> {
    pub(super) fn file(&mut self, root: &Node, path: &Path) -> Option<AnchorsFile> {
        if matches!(root.value, NodeValue::Null) {
            self.problem(
                root.position,
                "the file is empty: expected `version: 1` and `claims`",
            );
            return None;
        }
        let fields = self.mapping(root, "anchors.yaml", TOP_KEYS)?;
        match self.require(&fields, "version", "anchors.yaml") {
            Some(node) if node.value == NodeValue::Int(1) => {}
            Some(node) => {
                let found = node
                    .scalar_text(self.source)
                    .unwrap_or_else(|| node.value.describe().to_string());
                self.problem(
                    node.position,
                    format!("unsupported version `{found}`: this anchorcheck reads version 1"),
                );
            }
            None => {}
        }
        let repo = fields
            .get("repo")
            .and_then(|n| self.non_empty_text(n, "repo"))
            .map(|l| l.value);
        let rev = fields
            .get("rev")
            .and_then(|n| self.non_empty_text(n, "rev"));
        let mut docs = Vec::new();
        if let Some(items) = fields.get("docs").and_then(|n| self.sequence(n, "docs")) {
            for item in items {
                if let Some(doc) =
                    self.relative_path(item, "docs", "docs page", "the anchors file's directory")
                {
                    docs.push(doc);
                }
            }
        }
        let mut claims = Vec::new();
        if let Some(node) = self.require(&fields, "claims", "anchors.yaml")
            && let Some(items) = self.sequence(node, "claims")
        {
            // Sized once (and the lists below): growth by doubling leaves up to half of each
            // list unused, which at 330,000 refs is hundreds of megabytes.
            claims.reserve_exact(items.len());
            for item in items {
                if let Some(claim) = self.claim(item) {
                    claims.push(claim);
                }
            }
        }
        // A map, not a scan of the ids seen so far: 100,000 claims must stay linear.
        let mut seen: HashMap<&str, &Located<String>> = HashMap::new();
        let mut duplicates = Vec::new();
        for claim in &claims {
            if let Some(first) = seen.get(claim.id.value.as_str()) {
                duplicates.push((
                    claim.id.position,
                    format!(
                        "duplicate claim id `{}` (first used at line {})",
                        claim.id.value, first.position.line
                    ),
                ));
            } else {
                seen.insert(&claim.id.value, &claim.id);
            }
        }
        for (position, message) in duplicates {
            self.problem(position, message);
        }
        let max_waiver_days = self.max_waiver_days(&fields, root);
        let waivers = fields
            .get("waivers")
            .map(|n| self.waivers(n, fields.get("claims")))
            .unwrap_or_default();
        Some(AnchorsFile {
            path: PathBuf::from(path),
            repo,
            rev,
            docs,
            claims,
            waivers,
            max_waiver_days,
        })
    }

    fn claim(&mut self, node: &Node) -> Option<Claim> {
        let fields = self.mapping(node, "a claim", CLAIM_KEYS)?;
        let id = self
            .require(&fields, "id", "claim")
            .and_then(|n| self.non_empty_text(n, "id"));
        if let Some(id) = &id
            && !id
                .value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            self.problem(
                id.position,
                format!(
                    "claim id `{}` may only hold letters, digits, `.`, `_` and `-`",
                    id.value
                ),
            );
        }
        let what = match &id {
            Some(id) => format!("claim `{}`", id.value),
            None => "claim".to_string(),
        };
        let title = fields
            .get("title")
            .and_then(|n| self.text(n, "title"))
            .map(|l| l.value);
        let owner = fields
            .get("owner")
            .and_then(|n| self.text(n, "owner"))
            .map(|l| l.value);
        let status = self
            .require(&fields, "status", &what)
            .and_then(|n| self.status(n));
        let mut refs = Vec::new();
        if let Some(items) = fields.get("refs").and_then(|n| self.sequence(n, "refs")) {
            refs.reserve_exact(items.len());
            for item in items {
                if let Some(r) = self.reference(item) {
                    refs.push(r);
                }
            }
        }
        if let Some(status) = status
            && status.needs_evidence()
        {
            let empty = match fields.get("refs") {
                None => true,
                Some(n) => matches!(&n.value, NodeValue::Seq(items) if items.is_empty()),
            };
            if empty {
                let position = fields.get("refs").map_or(fields.position, |n| n.position);
                self.problem(
                    position,
                    format!(
                        "{what} is {} and needs at least one ref citing its evidence",
                        status.as_str()
                    ),
                );
            }
        }
        let gate = fields
            .get("gate")
            .map_or(Some(Gate::Block), |n| self.gate(n));
        let approved = fields.get("approved").and_then(|n| self.approval(n));
        Some(Claim {
            id: id?,
            title,
            status: status?,
            owner,
            refs,
            gate: gate?,
            approved,
            position: fields.position,
        })
    }

    fn status(&mut self, node: &Node) -> Option<ClaimStatus> {
        let text = self.non_empty_text(node, "status")?;
        match text.value.parse::<ClaimStatus>() {
            Ok(s) => Some(s),
            Err(_) => {
                let hint = suggestion(&text.value, ClaimStatus::VARIANTS);
                self.problem(
                    node.position,
                    format!(
                        "unknown status {}{hint}",
                        super::readers::echoed(&text.value)
                    ),
                );
                None
            }
        }
    }

    fn reference(&mut self, node: &Node) -> Option<Ref> {
        let fields = self.mapping(node, "a ref", REF_KEYS)?;
        let path = self
            .require(&fields, "path", "ref")
            .and_then(|n| self.repo_path(n));
        let lines = self
            .require(&fields, "lines", "ref")
            .and_then(|n| self.lines(n));
        let at = fields.get("at").and_then(|n| self.commit_id(n));
        let symbol = fields.get("symbol").and_then(|n| self.symbol(n));
        let mut expect = Vec::new();
        let mut expect_ok = true;
        if let Some(items) = fields
            .get("expect")
            .and_then(|n| self.sequence(n, "expect"))
        {
            expect.reserve_exact(items.len());
            for item in items {
                match self.expectation(item) {
                    Some(e) => expect.push(e),
                    None => expect_ok = false,
                }
            }
        }
        if expect_ok && !fields.had_unknown && expect.is_empty() && fields.get("symbol").is_none() {
            let position = fields.get("expect").map_or(fields.position, |n| n.position);
            self.problem(
                position,
                "ref has no `expect` and no `symbol`: it would check nothing",
            );
        }
        Some(Ref {
            path: path?,
            lines: lines?,
            at,
            symbol,
            expect,
            position: fields.position,
        })
    }

    fn repo_path(&mut self, node: &Node) -> Option<Located<String>> {
        self.relative_path(node, "path", "path", "the repository root")
    }

    /// A path that stays beneath its base directory (the repository root for a ref, the anchors
    /// file's directory for a docs page): relative, forward slashes, no `..`, `.` or empty
    /// components, so reading it never leaves the tree it names.
    fn relative_path(
        &mut self,
        node: &Node,
        what: &str,
        noun: &str,
        base: &str,
    ) -> Option<Located<String>> {
        let path = self.non_empty_text(node, what)?;
        let p = path.value.as_str();
        let complaint = if p.contains('\\') {
            Some("use forward slashes".to_string())
        } else if p.starts_with('/') || p.as_bytes().get(1) == Some(&b':') {
            Some(format!("it must be relative to {base}, not absolute"))
        } else if p.split('/').any(|c| c == "..") {
            Some("it must not contain `..`".to_string())
        } else if p.split('/').any(|c| c == "." || c.is_empty()) {
            Some("write it without `.` or empty components".to_string())
        } else {
            None
        };
        if let Some(complaint) = complaint {
            self.problem(node.position, format!("{noun} `{p}`: {complaint}"));
            return None;
        }
        Some(path)
    }

    fn lines(&mut self, node: &Node) -> Option<Located<LineRange>> {
        let text = self.text(node, "lines")?;
        match LineRange::parse(&text.value) {
            Ok(range) => Some(Located {
                value: range,
                position: text.position,
                span: text.span,
            }),
            Err(e) => {
                self.problem(node.position, format!("`lines`: {e}"));
                None
            }
        }
    }

    fn commit_id(&mut self, node: &Node) -> Option<Located<String>> {
        let text = self.non_empty_text(node, "at")?;
        let v = &text.value;
        if (4..=40).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(text)
        } else {
            self.problem(
                node.position,
                format!("`at` must be a commit id (4 to 40 hex digits), found `{v}`"),
            );
            None
        }
    }

    fn symbol(&mut self, node: &Node) -> Option<Located<String>> {
        let text = self.non_empty_text(node, "symbol")?;
        match symbol_problem(&text.value) {
            None => Some(text),
            Some(hint) => {
                self.problem(
                    node.position,
                    format!(
                        "`symbol` must name a func, `Type.Method`, `(*Type).Method`, type, const or var, found `{}`{hint}",
                        text.value
                    ),
                );
                None
            }
        }
    }
}
