//! The review workflow's keys: a claim's `gate` and `approved`, the top-level `waivers` and
//! `max_waiver_days`. Waivers fail closed: an entry that is not exactly right (an unknown
//! claim or ref, a missing reason, owner or expiry, a date that is not one) is a config error
//! at its position, never a waiver that silently covers more or less than it says.

use std::collections::HashMap;

use strum::VariantNames;

use super::Problem;
use super::readers::{Fields, Validator, suggestion};
use crate::anchors::model::*;
use crate::anchors::node::{Node, NodeValue};

pub(super) const APPROVED_KEYS: &[&str] = &["at", "by", "on", "fingerprint"];
pub(super) const WAIVER_KEYS: &[&str] = &["claim", "ref", "reason", "expires", "owner"];

/// Hex digits of a fingerprint (SHA-256).
const FINGERPRINT_HEX: usize = 64;

impl Validator<'_> {
    pub(super) fn gate(&mut self, node: &Node) -> Option<Gate> {
        let text = self.non_empty_text(node, "gate")?;
        match text.value.parse::<Gate>() {
            Ok(gate) => Some(gate),
            Err(_) => {
                let hint = suggestion(&text.value, Gate::VARIANTS);
                self.problem(
                    node.position,
                    format!("unknown gate `{}`{hint}", text.value),
                );
                None
            }
        }
    }

    fn date(&mut self, node: &Node, what: &str) -> Option<Located<Date>> {
        let text = self.non_empty_text(node, what)?;
        match Date::parse(&text.value) {
            Ok(date) => Some(Located {
                value: date,
                position: text.position,
                span: text.span,
            }),
            Err(e) => {
                self.problem(node.position, format!("`{what}`: {e}"));
                None
            }
        }
    }

    pub(super) fn approval(&mut self, node: &Node) -> Option<Approval> {
        let fields = self.mapping(node, "`approved`", APPROVED_KEYS)?;
        let what = "`approved`";
        let at = self.require(&fields, "at", what).and_then(|n| {
            let text = self.non_empty_text(n, "at")?;
            let v = &text.value;
            if matches!(v.len(), 40 | 64) && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                Some(text)
            } else {
                self.problem(
                    n.position,
                    format!("`approved.at` must be a full commit id (40 hex digits), found `{v}`"),
                );
                None
            }
        });
        let by = self
            .require(&fields, "by", what)
            .and_then(|n| self.non_empty_text(n, "by"));
        let on = self
            .require(&fields, "on", what)
            .and_then(|n| self.date(n, "on"));
        let fingerprint = self.require(&fields, "fingerprint", what).and_then(|n| {
            let text = self.non_empty_text(n, "fingerprint")?;
            let v = &text.value;
            if v.len() == FINGERPRINT_HEX && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                Some(text)
            } else {
                self.problem(
                    n.position,
                    format!(
                        "`fingerprint` must be {FINGERPRINT_HEX} lower-case hex digits as `anchorcheck approve` writes it, found `{v}`"
                    ),
                );
                None
            }
        });
        Some(Approval {
            at: at?,
            by: by?,
            on: on?,
            fingerprint: fingerprint?,
            position: fields.position,
        })
    }

    pub(super) fn max_waiver_days(&mut self, fields: &Fields<'_>, root: &Node) -> Located<u32> {
        let default = Located {
            value: DEFAULT_MAX_WAIVER_DAYS,
            position: root.position,
            span: None,
        };
        let Some(node) = fields.get("max_waiver_days") else {
            return default;
        };
        match node.value {
            NodeValue::Int(n) if (1..=3660).contains(&n) => Located {
                value: n as u32,
                position: node.position,
                span: node.span,
            },
            _ => {
                self.problem(
                    node.position,
                    "`max_waiver_days` must be a whole number of days from 1 to 3660",
                );
                default
            }
        }
    }

    /// The `waivers` list, checked against the claims as written (`claims`, the raw list): a
    /// claim with a problem of its own is still one a waiver may name.
    pub(super) fn waivers(&mut self, node: &Node, claims: Option<&Node>) -> Vec<Waiver> {
        let Some(items) = self.sequence(node, "waivers") else {
            return Vec::new();
        };
        let written = written_claims(claims, self.source);
        let by_id: HashMap<&str, usize> = written.iter().map(|(id, n)| (id.as_str(), *n)).collect();
        let ids: Vec<&str> = written.iter().map(|(id, _)| id.as_str()).collect();
        let mut waivers = Vec::new();
        for item in items {
            if let Some(w) = self.waiver(item, &by_id, &ids) {
                waivers.push(w);
            }
        }
        waivers
    }

    fn waiver(
        &mut self,
        node: &Node,
        by_id: &HashMap<&str, usize>,
        ids: &[&str],
    ) -> Option<Waiver> {
        let fields = self.mapping(node, "a waiver", WAIVER_KEYS)?;
        let what = "waiver";
        let claim_node = self.require(&fields, "claim", what);
        let claim = claim_node.and_then(|n| self.non_empty_text(n, "claim"));
        let known = match (&claim, claim_node) {
            (Some(c), Some(n)) => match by_id.get(c.value.as_str()) {
                Some(refs) => Some((c.value.as_str(), *refs)),
                None => {
                    let hint = crate::anchors::did_you_mean(&c.value, ids)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    self.problem(
                        n.position,
                        format!("waiver for unknown claim `{}`{hint}", c.value),
                    );
                    None
                }
            },
            _ => None,
        };
        let mut ref_ok = true;
        let r#ref = match fields.get("ref") {
            None => None,
            Some(n) => match (n.value.clone(), known) {
                (NodeValue::Int(i), Some((_, refs))) if i >= 1 && (i as usize) <= refs => {
                    Some(i as usize)
                }
                (NodeValue::Int(i), Some((id, refs))) if i >= 1 => {
                    ref_ok = false;
                    self.problem(
                        n.position,
                        format!(
                            "waiver `ref: {i}`: claim `{id}` has {refs} ref(s); `ref` counts them from 1"
                        ),
                    );
                    None
                }
                (NodeValue::Int(i), None) if i >= 1 => Some(i as usize),
                _ => {
                    ref_ok = false;
                    self.problem(
                        n.position,
                        "waiver `ref` must be the number of one of the claim's refs, from 1",
                    );
                    None
                }
            },
        };
        let reason = self
            .require(&fields, "reason", what)
            .and_then(|n| self.non_empty_text(n, "reason"));
        let owner = self
            .require(&fields, "owner", what)
            .and_then(|n| self.non_empty_text(n, "owner"));
        let expires = self
            .require(&fields, "expires", what)
            .and_then(|n| self.date(n, "expires"));
        if !ref_ok {
            return None;
        }
        let expires = expires?;
        Some(Waiver {
            claim: claim?.value,
            r#ref,
            reason: reason?.value,
            expires: expires.value,
            owner: owner?.value,
            position: fields.position,
            expires_position: expires.position,
        })
    }
}

/// Each claim of the raw `claims` list that has an `id`, with how many refs it lists.
fn written_claims(claims: Option<&Node>, source: &str) -> Vec<(String, usize)> {
    let Some(NodeValue::Seq(items)) = claims.map(|n| &n.value) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let NodeValue::Map(entries) = &item.value else {
                return None;
            };
            let get = |key: &str| {
                entries
                    .iter()
                    .find(|(k, _)| matches!(&k.value, NodeValue::Str(s) if s == key))
                    .map(|(_, v)| v)
            };
            let id = get("id")?.scalar_text(source)?;
            let refs = match get("refs").map(|n| &n.value) {
                Some(NodeValue::Seq(refs)) => refs.len(),
                _ => 0,
            };
            Some((id, refs))
        })
        .collect()
}

/// The waivers of `file` expiring more than `max_waiver_days` after `today`, as problems at
/// their `expires`: a waiver is a bounded acceptance, renewed by a person, never a standing
/// one. Checked apart from the rest of the file, since it depends on the day.
pub fn waivers_too_far(file: &AnchorsFile, today: Date) -> Vec<Problem> {
    let max = file.max_waiver_days.value;
    file.waivers
        .iter()
        .filter(|w| today.days_until(w.expires) > i64::from(max))
        .map(|w| Problem {
            position: w.expires_position,
            message: format!(
                "waiver for claim `{}` expires {}, more than max_waiver_days ({max}) after today ({today}); a waiver must be renewed by then",
                w.claim, w.expires
            ),
        })
        .collect()
}
