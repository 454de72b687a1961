//! The stable finding codes: one kebab-case id per kind of finding, with the descriptions and
//! help text that SARIF rules, workflow-command titles and the docs headings all share.

use super::{RefReport, Verdict};

/// How loudly a finding is reported by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

impl Level {
    /// The SARIF `level` (and GitHub workflow command) word.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One kind of finding. The `id` is a contract: CI dashboards and suppressions key on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    /// Kebab-case, stable across releases (`ref-broken`).
    pub id: &'static str,
    /// PascalCase form of the id, for SARIF's `rule.name`.
    pub name: &'static str,
    pub level: Level,
    /// One line saying what was found.
    pub summary: &'static str,
    /// A paragraph saying what it means.
    pub description: &'static str,
    /// What to do about it.
    pub help: &'static str,
    /// GitHub code scanning's `security-severity` (0.0 to 10.0; 7.0 and up is "high", 4.0 to
    /// 6.9 "medium", below that "low"): how much a reader of the security docs is misled.
    pub security_severity: &'static str,
}

pub const REF_BROKEN: Code = Code {
    id: "ref-broken",
    name: "RefBroken",
    level: Level::Error,
    summary: "Cited code no longer holds what the claim says",
    description: "An expectation of the ref does not hold in the cited lines and the evidence \
        was found nowhere else: the code was removed or weakened (a guard that only logs, a \
        route moved to another router), so the documented claim is no longer backed by code.",
    help: "Read the reason and the culprit commit. If the code is wrong, restore the behaviour; \
        if the claim is wrong, update the docs and the claim's status in anchors.yaml.",
    security_severity: "7.5",
};

pub const REF_ERROR: Code = Code {
    id: "ref-error",
    name: "RefError",
    level: Level::Error,
    summary: "Cited code could not be checked",
    description: "The cited file is missing at the revision (with no history saying it was \
        deleted), or the path is not a Go source file anchorcheck can read (a directory, \
        symlink, submodule, LFS pointer, binary or oversized file).",
    help: "Check that the ref's path and lines exist at the revision verified, and that the \
        repository was fetched with its full history (fetch-depth: 0).",
    security_severity: "5.0",
};

pub const REF_DRIFTED: Code = Code {
    id: "ref-drifted",
    name: "RefDrifted",
    level: Level::Warning,
    summary: "Cited code moved",
    description: "The evidence no longer sits at the cited lines but holds at exactly one other \
        place, found through git history, the ref's symbol, or a search of the file. The claim \
        still holds; the citation is stale.",
    help: "Run the fix command shown in the report (`anchorcheck fix`) to rewrite the ref's \
        lines, path and `at` in anchors.yaml and the matching docs citations.",
    security_severity: "2.0",
};

pub const REF_AMBIGUOUS: Code = Code {
    id: "ref-ambiguous",
    name: "RefAmbiguous",
    level: Level::Warning,
    summary: "Cited code moved to one of several places",
    description: "The evidence no longer sits at the cited lines and holds at several other \
        places, so anchorcheck cannot tell which one the claim means.",
    help: "Pick the right candidate and edit the ref's lines by hand, or add a `symbol` to the \
        ref so relocation finds one place.",
    security_severity: "3.0",
};

pub const REF_TOUCHED: Code = Code {
    id: "ref-touched",
    name: "RefTouched",
    level: Level::Warning,
    summary: "Change touches code cited as evidence",
    description: "The change under review modified, renamed or deleted lines that a claim cites \
        as evidence. The claim still verifies, but a reviewer should know the change affects it.",
    help: "Review the change against the claim's text; no action is needed if the claim still \
        describes the code.",
    security_severity: "1.0",
};

pub const DOCS_MISMATCH: Code = Code {
    id: "docs-mismatch",
    name: "DocsMismatch",
    level: Level::Error,
    summary: "Docs citations and anchors.yaml disagree",
    description: "A docs page cites lines that no ref in anchors.yaml has, a ref is never cited \
        by the docs pages, or a docs page could not be read.",
    help: "Make the docs citation and the ref name the same path and lines; `anchorcheck fix` \
        updates citations of drifted refs.",
    security_severity: "4.0",
};

pub const REF_NEEDS_REVIEW: Code = Code {
    id: "ref-needs-review",
    name: "RefNeedsReview",
    level: Level::Error,
    summary: "Cited code changed since the claim was approved",
    description: "Every expectation of the ref still holds, but its cited code changed as Go \
        tokens (not only comments or formatting) since a person approved the claim against it, \
        so the claim may no longer describe what the code does.",
    help: "Read the token diff and the commits that changed the code against the claim; if the \
        claim still holds, run `anchorcheck approve --claim ID` to record a new approval.",
    security_severity: "4.0",
};

/// Codes only the review workflow reports, listed as rules after [`ALL`] only in a run that
/// reports one, so a run without approvals renders as it did before they existed.
pub const REVIEW: [Code; 1] = [REF_NEEDS_REVIEW];

/// Every code, in the order rules are listed.
pub const ALL: [Code; 6] = [
    REF_BROKEN,
    REF_ERROR,
    REF_DRIFTED,
    REF_AMBIGUOUS,
    REF_TOUCHED,
    DOCS_MISMATCH,
];

impl Code {
    /// The code a ref is reported under, if any: its verdict's code when it did not verify,
    /// `ref-touched` when it verified but the change touched it, nothing otherwise.
    pub fn of_ref(r: &RefReport) -> Option<Code> {
        match r.verdict() {
            Verdict::Unchecked => None,
            Verdict::Verified if r.touched.is_some() => Some(REF_TOUCHED),
            Verdict::Verified => None,
            Verdict::NeedsReview => Some(REF_NEEDS_REVIEW),
            Verdict::Drifted => Some(REF_DRIFTED),
            Verdict::Ambiguous => Some(REF_AMBIGUOUS),
            Verdict::Broken => Some(REF_BROKEN),
            Verdict::Error => Some(REF_ERROR),
        }
    }

    /// Position in [`ALL`], for SARIF's `ruleIndex`.
    pub fn index(self) -> usize {
        ALL.iter()
            .chain(REVIEW.iter())
            .position(|c| c.id == self.id)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_and_names_are_unique_kebab_and_pascal_case() {
        let ids: HashSet<&str> = ALL.iter().map(|c| c.id).collect();
        let names: HashSet<&str> = ALL.iter().map(|c| c.name).collect();
        assert_eq!(ids.len(), ALL.len(), "duplicate code id");
        assert_eq!(names.len(), ALL.len(), "duplicate code name");
        for code in ALL {
            assert!(
                code.id
                    .split('-')
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())),
                "{} is not kebab-case",
                code.id
            );
            let pascal: String = code
                .id
                .split('-')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect();
            assert_eq!(code.name, pascal, "name of {}", code.id);
            assert!(!code.summary.contains('\n') && !code.summary.ends_with('.'));
            assert_eq!(ALL[code.index()], code);
        }
    }

    #[test]
    fn docs_have_one_heading_per_code() {
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci.md"),
        )
        .unwrap();
        let headings: Vec<&str> = docs
            .lines()
            .filter_map(|l| l.strip_prefix("### `"))
            .filter_map(|l| l.strip_suffix('`'))
            .collect();
        let ids: Vec<&str> = ALL.iter().chain(&REVIEW).map(|c| c.id).collect();
        assert_eq!(headings, ids, "docs/ci.md finding-code headings");
        for code in ALL.iter().chain(&REVIEW) {
            assert!(
                docs.contains(code.summary),
                "docs/ci.md lacks the summary of {}",
                code.id
            );
        }
    }
}
