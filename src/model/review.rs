//! The review workflow in the report: a claim's approval and whether its code changed since,
//! the token diff and commits of a ref that needs review, and the waivers of the run with what
//! became of each (applied, unused, expired). `Report::passed` reads these with the gates.

use serde::{Deserialize, Serialize};

use super::place::Commit;
pub use crate::anchors::{Date, Gate, Waiver};

/// A claim's `approved:` and what the run found of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalState {
    /// The commit the claim was approved at.
    pub at: String,
    pub by: String,
    /// `YYYY-MM-DD`.
    pub on: String,
    /// The fingerprint written at approval.
    pub fingerprint: String,
    /// The cited code's fingerprint now; `None` when it could not be computed (a ref in error).
    pub current: Option<String>,
}

impl ApprovalState {
    /// True when the cited code changed (as tokens) since approval.
    pub fn changed(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|c| *c != self.fingerprint)
    }

    /// `approved by Ana on 2026-11-02 at 4e1c9a2; changed since` (or `unchanged since`).
    pub fn describe(&self) -> String {
        let short = &self.at[..7.min(self.at.len())];
        let since = match (&self.current, self.changed()) {
            (None, _) => "not fingerprinted now",
            (Some(_), true) => "changed since",
            (Some(_), false) => "unchanged since",
        };
        format!("approved by {} on {} at {short}; {since}", self.by, self.on)
    }
}

/// One side of a token-level change: the tokens removed and added, at the lines they are on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenChange {
    /// Line of the first removed token at the approved commit; `None` for a pure insertion.
    pub old_line: Option<u32>,
    /// Line of the first added token now; `None` for a pure deletion.
    pub new_line: Option<u32>,
    /// The removed tokens, separated by spaces.
    pub removed: String,
    /// The added tokens, separated by spaces.
    pub added: String,
}

impl TokenChange {
    /// `line 14: - return err + log.Printf ( "%v" , err )`.
    pub fn describe(&self) -> String {
        let line = self.new_line.or(self.old_line).unwrap_or(0);
        let mut out = format!("line {line}:");
        if !self.removed.is_empty() {
            out.push_str(&format!(" - {}", self.removed));
        }
        if !self.added.is_empty() {
            out.push_str(&format!(" + {}", self.added));
        }
        out
    }
}

/// Why a ref needs review: its code as tokens changed since the claim was approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The token changes between the approved commit and now (empty without history: the
    /// fingerprint alone said so).
    pub diff: Vec<TokenChange>,
    /// The commits after the approved one that changed the cited file's tokens, oldest first.
    pub commits: Vec<Commit>,
    /// What could not be shown (history unavailable, ...).
    pub note: Option<String>,
}

impl Review {
    /// What the text views say of it, a line each: the token changes, the commits, the note.
    pub fn lines(&self) -> Vec<String> {
        let changes = self
            .diff
            .iter()
            .map(|change| format!("changed since approval: {}", change.describe()));
        let commits = self.commits.iter().map(|c| {
            format!(
                "changed in {} {} '{}' by {}",
                c.short, c.date, c.subject, c.author
            )
        });
        let note = self.note.iter().map(|note| format!("note: {note}"));
        changes.chain(commits).chain(note).collect()
    }
}

/// What became of a waiver in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum WaiverState {
    /// It lets a failing claim (or ref) pass.
    Applied,
    /// Its claim (or ref) does not fail, or fails only by a ref in error (never waived).
    Unused,
    /// Its expiry is before today: it fails the run.
    Expired,
}

impl WaiverState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// `waived until 2026-12-31 by Ana because vendor fix pending`.
pub fn waived_text(w: &Waiver) -> String {
    format!(
        "waived until {} by {} because {}",
        w.expires, w.owner, w.reason
    )
}

/// A waiver named for people: `waiver for claim x (ref 2) expired 2026-01-31 (owner Ana)`.
pub fn waiver_text(w: &Waiver, state: WaiverState) -> String {
    let target = match w.r#ref {
        Some(n) => format!("claim {} ref {n}", w.claim),
        None => format!("claim {}", w.claim),
    };
    match state {
        WaiverState::Applied => format!("{target}: {}", waived_text(w)),
        WaiverState::Unused => format!(
            "waiver for {target} is unused: nothing it covers fails, or only a ref in error, which no waiver covers (remove the waiver; it expires {}, owner {})",
            w.expires, w.owner
        ),
        WaiverState::Expired => format!(
            "waiver for {target} expired on {} (owner {}, reason: {}): renew or remove it",
            w.expires, w.owner, w.reason
        ),
    }
}

/// The pull-request number a subject carries, as GitHub writes squash merges: `... (#123)`.
pub fn pull_request(subject: &str) -> Option<u64> {
    let start = subject.rfind("(#")?;
    let rest = &subject[start + 2..];
    let end = rest.find(')')?;
    let digits = &rest[..end];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_numbers_come_from_the_subjects_last_parenthesis() {
        assert_eq!(pull_request("simplify checks (#123)"), Some(123));
        assert_eq!(pull_request("Merge (#12) and (#34)"), Some(34));
        assert_eq!(pull_request("no number (#)"), None);
        assert_eq!(pull_request("issue #12"), None);
        assert_eq!(pull_request("(#12x)"), None);
    }
}
