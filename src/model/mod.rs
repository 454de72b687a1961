//! The report model: what a run found, as every layer passes it on. `verify` builds it,
//! `fix`, `lsp` and the binary read it, and `report` renders it (one module per format).
//! It depends on nothing but `lines` and the anchors model (see docs/architecture.md).

pub(crate) mod codes;
mod docs_finding;
mod expectation;
mod highlight;
pub mod links;
mod place;
pub(crate) mod review;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::anchors::ClaimStatus;
use crate::lines::{LineNo, LineRange};
pub use docs_finding::{DocsFinding, DocsFindingKind, DocsLocation, DocsSubject, names_path};
pub use expectation::{CheckKind, ExpectationResult};
pub use highlight::{Highlight, TokenClass};
pub use place::{Commit, Place};

/// The verdict of one ref, and of a claim (its worst ref). Ordered from best to worst, after
/// `Unchecked`, which only a claim without refs has.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "kebab-case")]
pub enum Verdict {
    /// A claim without refs (a `planned` or `retired` one): nothing was checked for it, so it is
    /// neither verified nor failing. Never the verdict of a ref.
    Unchecked,
    /// Every expectation holds in the cited range.
    Verified,
    /// Every expectation holds, but the cited code changed (as tokens) since the claim was
    /// approved: a person should read it against the claim again (`anchorcheck approve`).
    NeedsReview,
    /// The evidence holds at exactly one other place.
    Drifted,
    /// The evidence holds at several other places.
    Ambiguous,
    /// The evidence holds nowhere: gone or weakened.
    Broken,
    /// The cited file or range could not be checked.
    Error,
}

impl Verdict {
    /// The word every format uses (`needs-review`); the result cache stores the variant name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How relocated evidence was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum How {
    History,
    Symbol,
    Search,
}

impl How {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A place an ambiguous ref's evidence holds, with what ranks it against the others, so a
/// reader can pick one (`fix --pick N`) with confidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub place: Place,
    /// How it was found.
    pub how: How,
    /// Lines between it and where the ref was looked for (the cited place, or where history
    /// mapped it); `None` in another file.
    pub distance: Option<u32>,
    /// Percent of the lines the ref cited (trimmed, non-empty) that it holds; `None` when not
    /// measured (a place history followed the lines to).
    pub similarity: Option<u32>,
    /// Whether it lies in the declaration the ref's lines were in (the ref's `symbol`, or the
    /// declaration around them before); `None` when that is not known.
    pub same_declaration: Option<bool>,
}

impl Candidate {
    /// Why it ranks where it does: `3 lines from the cited place, 80% of the cited text, in the
    /// same declaration (found by search)`.
    pub fn why(&self) -> String {
        let mut parts = Vec::new();
        match self.distance {
            Some(0) => parts.push("overlapping the cited place".to_string()),
            Some(1) => parts.push("1 line from the cited place".to_string()),
            Some(n) => parts.push(format!("{n} lines from the cited place")),
            None => parts.push("in another file".to_string()),
        }
        if let Some(similarity) = self.similarity {
            parts.push(format!("{similarity}% of the cited text"));
        }
        match self.same_declaration {
            Some(true) => parts.push("in the same declaration".to_string()),
            Some(false) => parts.push("in another declaration".to_string()),
            None => {}
        }
        format!("{} (found by {})", parts.join(", "), self.how.as_str())
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.place.path,
            self.place.lines,
            self.why()
        )
    }
}

/// Where drifted evidence went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relocation {
    pub place: Place,
    pub how: How,
    /// The lines at the new place (kept when verify is asked to keep excerpts, for `audit`).
    pub excerpt: Option<Excerpt>,
    /// The expectations as evaluated at the new place (same condition), for marking its lines.
    pub expectations: Vec<ExpectationResult>,
    /// More about how, when there is more to say (history followed a move into another file
    /// that git did not pair as a rename: "moved to another file in 4e1c9a2").
    pub detail: Option<String>,
    /// The declaration the evidence is in at the new place, when the ref's `symbol` names none
    /// there (renamed or removed): `symbol` is a locator, and `fix` writes this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
}

impl Relocation {
    /// How it was found, for people: `history`, or `history (moved to another file in ..)`.
    pub fn found_by(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{} ({detail})", self.how.as_str()),
            None => self.how.as_str().to_string(),
        }
    }
}

/// The cited lines' text, for excerpts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excerpt {
    pub first_line: LineNo,
    pub lines: Vec<String>,
    /// Go syntax classes of each line's tokens, when verify kept excerpts for `audit`; renderers
    /// that do not colour code ignore it.
    /// Never cached: only `audit` asks for highlighting, and it does not use the cache.
    #[serde(skip)]
    pub highlights: Option<Vec<Vec<Highlight>>>,
}

/// What the culprit commit did to the ref.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CulpritKind {
    /// The first commit at which the ref stopped verifying at its mapped place.
    Broke,
    /// The first commit that moved the cited lines.
    Moved,
    /// The first commit after approval that changed the cited code (a ref that needs review).
    Changed,
}

/// The commit that broke or moved a ref.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Culprit {
    pub kind: CulpritKind,
    pub commit: Commit,
}

impl fmt::Display for Culprit {
    /// `broken since 4e1c9a2 2026-10-03 'simplify startup checks'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            CulpritKind::Broke => "broken since",
            CulpritKind::Moved => "moved in",
            CulpritKind::Changed => "changed since approval in",
        };
        write!(
            f,
            "{what} {} {} '{}'",
            self.commit.short, self.commit.date, self.commit.subject
        )?;
        if !self.commit.author.is_empty() {
            write!(f, " by {}", self.commit.author)?;
        }
        Ok(())
    }
}

/// What one ref's check came to: its verdict, with what only that verdict has, so a drifted
/// ref without a place, an ambiguous one without candidates or an error without its reason
/// cannot be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every expectation holds at the cited place.
    Verified,
    /// Verified, but the cited code changed (as tokens) since the claim was approved: how, and
    /// the first commit that changed it. Attached after verification, never cached.
    NeedsReview {
        review: Box<review::Review>,
        culprit: Option<Box<Culprit>>,
    },
    /// The evidence holds at exactly one other place, and the commit that moved it there when
    /// history is known.
    Drifted {
        relocation: Box<Relocation>,
        culprit: Option<Box<Culprit>>,
    },
    /// The evidence holds at several other places, best first.
    Ambiguous(Vec<Candidate>),
    /// The evidence holds nowhere, and the commit that broke it when history is known.
    Broken { culprit: Option<Box<Culprit>> },
    /// The cited file or range could not be checked: why.
    Error(String),
}

impl Outcome {
    pub fn verdict(&self) -> Verdict {
        match self {
            Outcome::Verified => Verdict::Verified,
            Outcome::NeedsReview { .. } => Verdict::NeedsReview,
            Outcome::Drifted { .. } => Verdict::Drifted,
            Outcome::Ambiguous(_) => Verdict::Ambiguous,
            Outcome::Broken { .. } => Verdict::Broken,
            Outcome::Error(_) => Verdict::Error,
        }
    }
}

/// One verified ref. `O` is its outcome: [`Outcome`] once settled; `verify` builds a
/// [`Draft`] field by field and settles it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefReport<O = Outcome> {
    pub path: String,
    pub lines: LineRange,
    pub outcome: O,
    pub expectations: Vec<ExpectationResult>,
    /// Lines of the range holding syntax errors (evaluated anyway, tree-sitter recovers).
    pub parse_errors: Vec<LineNo>,
    /// The lines checked at the revision (the history-mapped place when `at` moved them), kept
    /// for refs that did not verify, and for every ref when verify keeps excerpts.
    pub excerpt: Option<Box<Excerpt>>,
    /// Anything else the reader should know (history unavailable, ...).
    pub notes: Vec<String>,
    /// For `diff`: how the change touched the cited lines (even when they still verify).
    pub touched: Option<String>,
    /// Where the expectations were evaluated when that is not the cited place: the range
    /// history mapped the citation to.
    pub checked: Option<Box<Place>>,
    /// For a ref without `at` whose history was followed: the commit it started from, the
    /// newest at which the ref held at its cited place (`fix` writes it as `at`).
    pub history_from: Option<String>,
    /// Where the `docs` pages cite this ref.
    /// Attached after verification from the docs pages, never cached.
    pub cited_by: Vec<DocsLocation>,
}

/// A ref's report while `verify` builds it: no outcome until one is settled (`None` is not a
/// verdict, and a draft is never a report).
pub type Draft = RefReport<Option<Outcome>>;

impl Draft {
    /// The report, once its outcome is settled; `None` for a draft left without one (a ref
    /// checked again once its history is known).
    pub fn settled(mut self) -> Option<RefReport> {
        let outcome = self.outcome.take()?;
        Some(self.with_outcome(outcome))
    }
}

impl<O> RefReport<O> {
    /// The same report with `outcome`.
    pub fn with_outcome<P>(self, outcome: P) -> RefReport<P> {
        let RefReport {
            path,
            lines,
            outcome: _,
            expectations,
            parse_errors,
            excerpt,
            notes,
            touched,
            checked,
            history_from,
            cited_by,
        } = self;
        RefReport {
            path,
            lines,
            outcome,
            expectations,
            parse_errors,
            excerpt,
            notes,
            touched,
            checked,
            history_from,
            cited_by,
        }
    }
}

impl RefReport {
    /// The verdict its outcome carries.
    pub fn verdict(&self) -> Verdict {
        self.outcome.verdict()
    }

    /// For `error`: why the file or range could not be checked.
    pub fn error(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Error(why) => Some(why),
            _ => None,
        }
    }

    /// For `drifted`: where the evidence went.
    pub fn relocated(&self) -> Option<&Relocation> {
        match &self.outcome {
            Outcome::Drifted { relocation, .. } => Some(relocation),
            _ => None,
        }
    }

    /// For `ambiguous`: its places, best first (empty otherwise).
    pub fn candidates(&self) -> &[Candidate] {
        match &self.outcome {
            Outcome::Ambiguous(candidates) => candidates,
            _ => &[],
        }
    }

    /// The commit that broke or moved it (or changed it since approval), when history is known.
    pub fn culprit(&self) -> Option<&Culprit> {
        match &self.outcome {
            Outcome::Drifted { culprit, .. }
            | Outcome::Broken { culprit }
            | Outcome::NeedsReview { culprit, .. } => culprit.as_deref(),
            _ => None,
        }
    }

    /// For a ref that needs review: how its code changed since approval, and in which commits.
    pub fn review(&self) -> Option<&review::Review> {
        match &self.outcome {
            Outcome::NeedsReview { review, .. } => Some(review),
            _ => None,
        }
    }

    /// The place as anchors.yaml cites it.
    pub fn cited(&self) -> Place {
        Place {
            path: self.path.clone(),
            lines: self.lines,
        }
    }

    /// Where the evidence is at the verified revision: the new place of a drifted ref, the
    /// history-mapped place of a broken or touched one, else the cited place. The cited path may
    /// not even exist there (a rename), so annotations and links go here.
    pub fn current(&self) -> Place {
        match (self.relocated(), &self.checked) {
            (Some(reloc), _) => reloc.place.clone(),
            (None, Some(checked)) => Place::clone(checked),
            (None, None) => self.cited(),
        }
    }

    /// One line saying why the ref did not verify (empty when it did).
    pub fn reason(&self) -> String {
        if let Some(error) = self.error() {
            return error.to_string();
        }
        self.expectations
            .iter()
            .filter(|e| !e.ok)
            .map(|e| format!("{}: {}", e.kind, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A ref's report as the result cache stores it: the verdict beside the fields only some
/// verdicts have, as when they were all fields of the report (the files stay the same).
#[derive(Serialize)]
struct StoredRef<'a> {
    path: &'a str,
    lines: LineRange,
    verdict: Verdict,
    error: Option<&'a str>,
    relocated: Option<&'a Relocation>,
    candidates: &'a [Candidate],
    expectations: &'a [ExpectationResult],
    parse_errors: &'a [LineNo],
    excerpt: Option<&'a Excerpt>,
    culprit: Option<&'a Culprit>,
    notes: &'a [String],
    touched: Option<&'a str>,
    checked: Option<&'a Place>,
    history_from: Option<&'a str>,
}

/// [`StoredRef`] read back.
#[derive(Deserialize)]
struct LoadedRef {
    path: String,
    lines: LineRange,
    verdict: Verdict,
    error: Option<String>,
    relocated: Option<Box<Relocation>>,
    candidates: Vec<Candidate>,
    expectations: Vec<ExpectationResult>,
    parse_errors: Vec<LineNo>,
    excerpt: Option<Box<Excerpt>>,
    culprit: Option<Box<Culprit>>,
    notes: Vec<String>,
    touched: Option<String>,
    checked: Option<Box<Place>>,
    history_from: Option<String>,
}

impl Serialize for RefReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredRef {
            path: &self.path,
            lines: self.lines,
            verdict: self.verdict(),
            error: self.error(),
            relocated: self.relocated(),
            candidates: self.candidates(),
            expectations: &self.expectations,
            parse_errors: &self.parse_errors,
            excerpt: self.excerpt.as_deref(),
            culprit: self.culprit(),
            notes: &self.notes,
            touched: self.touched.as_deref(),
            checked: self.checked.as_deref(),
            history_from: self.history_from.as_deref(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RefReport {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = LoadedRef::deserialize(deserializer)?;
        let outcome = match (r.verdict, r.error, r.relocated) {
            (Verdict::Verified, _, _) => Outcome::Verified,
            (Verdict::Drifted, _, Some(relocation)) => Outcome::Drifted {
                relocation,
                culprit: r.culprit,
            },
            (Verdict::Ambiguous, _, _) => Outcome::Ambiguous(r.candidates),
            (Verdict::Broken, _, _) => Outcome::Broken { culprit: r.culprit },
            (Verdict::Error, Some(why), _) => Outcome::Error(why),
            (verdict, _, _) => {
                return Err(D::Error::custom(format!(
                    "a stored {verdict} ref without what that verdict needs"
                )));
            }
        };
        Ok(RefReport {
            path: r.path,
            lines: r.lines,
            outcome,
            expectations: r.expectations,
            parse_errors: r.parse_errors,
            excerpt: r.excerpt,
            notes: r.notes,
            touched: r.touched,
            checked: r.checked,
            history_from: r.history_from,
            cited_by: Vec::new(),
        })
    }
}

/// One claim and its refs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimReport {
    pub id: String,
    pub title: Option<String>,
    pub status: ClaimStatus,
    pub owner: Option<String>,
    pub verdict: Verdict,
    pub refs: Vec<RefReport>,
    /// Whether it fails the run when it does not verify (`gate:`).
    pub gate: review::Gate,
    /// Its `approved:`, with the fingerprint of its code now.
    pub approval: Option<review::ApprovalState>,
}

/// A whole run: every selected claim in anchors.yaml order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// `anchorcheck 0.1.0`.
    pub tool: String,
    /// The repository as the user named it.
    pub repo: String,
    /// The revision as the user wrote it.
    pub rev: String,
    /// The commit it resolved to.
    pub commit: Option<String>,
    pub claims: Vec<ClaimReport>,
    /// Disagreements between the `docs` pages and the refs.
    pub docs: Vec<DocsFinding>,
    /// The command that rewrites the drifted refs, when some drifted (set by the caller, which
    /// knows how it was invoked).
    pub fix_command: Option<String>,
    /// Refs checked without `at` (0 under `diff`, which follows every ref from its base, and
    /// at `WORKTREE`, where `fix` records no `at`): `fix` would record where they verified,
    /// so that later drift is followed through history.
    pub refs_without_at: usize,
    /// How to link to cited code at the verified commit, for the Markdown and HTML formats (set
    /// by the caller from `--link-base` or the `origin` remote).
    pub links: Option<links::Links>,
    /// `--allow-drift`: drifted refs, and the docs findings their drift explains, do not fail
    /// the run (set by the caller; every format and the exit code read it from here, so they
    /// agree).
    pub allow_drift: bool,
    /// The `waivers:` of the selected claims, for [`Report::waiver_state`].
    pub waivers: Vec<review::Waiver>,
    /// The day waivers are judged on (the clock's, or `--today`).
    pub today: review::Date,
}

impl Report {
    /// The closing notice about refs without `at`, when some have none.
    pub fn refs_without_at_notice(&self) -> Option<String> {
        match self.refs_without_at {
            0 => None,
            1 => Some(
                "1 ref has no `at`: `anchorcheck fix` records where it was verified, so later \
                 drift is followed through history"
                    .to_string(),
            ),
            n => Some(format!(
                "{n} refs have no `at`: `anchorcheck fix` records where they were verified, so \
                 later drift is followed through history"
            )),
        }
    }
}

/// What a claim does to the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Every ref verified (or drifted under `--allow-drift`).
    Passes,
    /// It fails the run.
    Fails,
    /// It fails, but every failing ref is waived.
    Waived,
    /// It fails, but its gate is `warn`.
    Warned,
}

/// Claim counts by verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub claims: usize,
    pub refs: usize,
    pub verified: usize,
    pub drifted: usize,
    pub ambiguous: usize,
    pub broken: usize,
    pub error: usize,
    /// Claims without refs: counted apart, since nothing was checked for them.
    pub unchecked: usize,
    /// Docs findings that fail the run.
    pub docs_failing: usize,
    /// Docs findings `--allow-drift` lets pass: drift explains them and `fix` resolves them.
    pub docs_tolerated: usize,
    /// Claims whose code changed since approval (every expectation still holding).
    pub needs_review: usize,
    /// Failing claims a waiver lets pass, and those reported under `gate: warn`.
    pub waived: usize,
    pub warned: usize,
    /// Waivers past their expiry (each fails the run) and waivers whose claim does not fail.
    pub waivers_expired: usize,
    pub waivers_unused: usize,
}

impl fmt::Display for Summary {
    /// `4 claims: 2 verified, 1 drifted, 0 ambiguous, 0 broken, 0 errors, 1 unchecked (5 refs
    /// checked)`; the unchecked count only when some claim has no refs; then what the docs
    /// findings did to the run, when there are some (`; 2 docs findings fail the run`), so a
    /// run whose claims all verify never ends on a line that reads like a pass.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} claims: {} verified, ", self.claims, self.verified)?;
        match self.needs_review {
            0 => {}
            1 => write!(f, "1 needs review, ")?,
            n => write!(f, "{n} need review, ")?,
        }
        write!(
            f,
            "{} drifted, {} ambiguous, {} broken, {} errors",
            self.drifted, self.ambiguous, self.broken, self.error,
        )?;
        if self.unchecked > 0 {
            write!(f, ", {} unchecked", self.unchecked)?;
        }
        write!(f, " ({} refs checked)", self.refs)?;
        if self.waived > 0 {
            write!(f, "; {} waived", self.waived)?;
        }
        if self.warned > 0 {
            write!(f, "; {} reported under gate: warn", self.warned)?;
        }
        match self.waivers_expired {
            0 => {}
            1 => write!(f, "; 1 expired waiver fails the run")?,
            n => write!(f, "; {n} expired waivers fail the run")?,
        }
        if self.waivers_unused > 0 {
            write!(f, "; {} unused waiver(s)", self.waivers_unused)?;
        }
        let findings = |n: usize| if n == 1 { "finding" } else { "findings" };
        match self.docs_failing {
            0 => {}
            1 => write!(f, "; 1 docs finding fails the run")?,
            n => write!(f, "; {n} docs findings fail the run")?,
        }
        if self.docs_tolerated > 0 {
            write!(
                f,
                "; {} docs {} tolerated by --allow-drift (citing a drifted ref's place, which \
                 `anchorcheck fix` rewrites)",
                self.docs_tolerated,
                findings(self.docs_tolerated)
            )?;
        }
        Ok(())
    }
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            claims: self.claims.len(),
            ..Summary::default()
        };
        for claim in &self.claims {
            s.refs += claim.refs.len();
            match self.claim_outcome(claim) {
                ClaimOutcome::Waived => s.waived += 1,
                ClaimOutcome::Warned => s.warned += 1,
                ClaimOutcome::Passes | ClaimOutcome::Fails => {}
            }
            match claim.verdict {
                Verdict::Unchecked => s.unchecked += 1,
                Verdict::Verified => s.verified += 1,
                Verdict::NeedsReview => s.needs_review += 1,
                Verdict::Drifted => s.drifted += 1,
                Verdict::Ambiguous => s.ambiguous += 1,
                Verdict::Broken => s.broken += 1,
                Verdict::Error => s.error += 1,
            }
        }
        for finding in &self.docs {
            if self.tolerates(finding) {
                s.docs_tolerated += 1;
            } else {
                s.docs_failing += 1;
            }
        }
        for w in &self.waivers {
            match self.waiver_state(w) {
                review::WaiverState::Expired => s.waivers_expired += 1,
                review::WaiverState::Unused => s.waivers_unused += 1,
                review::WaiverState::Applied => {}
            }
        }
        s
    }

    /// True when no claim fails the run (see [`Report::claim_outcome`]), every docs finding is
    /// one `allow_drift` tolerates and no waiver has expired. What the exit code says, and
    /// what every format's levels and failures agree with.
    pub fn passed(&self) -> bool {
        let claims_pass = self
            .claims
            .iter()
            .all(|c| self.claim_outcome(c) != ClaimOutcome::Fails);
        claims_pass
            && self.docs.iter().all(|d| self.tolerates(d))
            && self
                .waivers
                .iter()
                .all(|w| self.waiver_state(w) != review::WaiverState::Expired)
    }

    /// True when the ref's verdict alone would fail the run: anything but verified (and
    /// drifted under `--allow-drift`).
    pub fn ref_fails(&self, r: &RefReport) -> bool {
        !(r.verdict() == Verdict::Verified || self.tolerates_ref(r))
    }

    /// What a claim does to the run: an `error` ref always fails it; other failing refs fail
    /// it unless the claim is `gate: warn` or every one of them is waived.
    pub fn claim_outcome(&self, claim: &ClaimReport) -> ClaimOutcome {
        let mut failing = claim
            .refs
            .iter()
            .enumerate()
            .filter(|(_, r)| self.ref_fails(r))
            .peekable();
        if failing.peek().is_none() {
            return ClaimOutcome::Passes;
        }
        let mut all_waived = true;
        for (index, r) in failing {
            if r.verdict() == Verdict::Error {
                return ClaimOutcome::Fails;
            }
            all_waived &= self.waiver_of(claim, index).is_some();
        }
        if claim.gate == review::Gate::Warn {
            ClaimOutcome::Warned
        } else if all_waived {
            ClaimOutcome::Waived
        } else {
            ClaimOutcome::Fails
        }
    }

    /// True when the ref is reported but does not fail the run: drifted under `--allow-drift`,
    /// waived, or of a `gate: warn` claim (never an `error` ref).
    pub fn lets_pass(&self, claim: &ClaimReport, index: usize) -> bool {
        let Some(r) = claim.refs.get(index) else {
            return false;
        };
        if !self.ref_fails(r) {
            return true;
        }
        r.verdict() != Verdict::Error
            && (claim.gate == review::Gate::Warn || self.waiver_of(claim, index).is_some())
    }

    /// The unexpired waiver covering ref `index` (0-based) of `claim`: one for the whole claim
    /// or for that ref.
    pub fn waiver_of(&self, claim: &ClaimReport, index: usize) -> Option<&review::Waiver> {
        self.waivers.iter().find(|w| {
            w.claim == claim.id && w.r#ref.is_none_or(|n| n == index + 1) && w.expires >= self.today
        })
    }

    /// What became of a waiver: expired before today, applied to a failing ref of its claim,
    /// or unused.
    pub fn waiver_state(&self, w: &review::Waiver) -> review::WaiverState {
        if w.expires < self.today {
            return review::WaiverState::Expired;
        }
        let used = self.claims.iter().filter(|c| c.id == w.claim).any(|c| {
            c.refs.iter().enumerate().any(|(i, r)| {
                self.ref_fails(r)
                    && r.verdict() != Verdict::Error
                    && w.r#ref.is_none_or(|n| n == i + 1)
            })
        });
        if used {
            review::WaiverState::Applied
        } else {
            review::WaiverState::Unused
        }
    }

    /// Notices about waivers: each expired one (failing the run) and each unused one.
    pub fn waiver_notices(&self) -> Vec<(review::WaiverState, String)> {
        self.waivers
            .iter()
            .filter_map(|w| {
                let state = self.waiver_state(w);
                (state != review::WaiverState::Applied)
                    .then(|| (state, review::waiver_text(w, state)))
            })
            .collect()
    }

    /// True when a drifted ref does not fail this run (`--allow-drift`).
    pub fn tolerates_ref(&self, r: &RefReport) -> bool {
        self.allow_drift && r.verdict() == Verdict::Drifted
    }

    /// True when `--allow-drift` lets this docs finding pass: see [`Report::drift_explains`].
    pub fn tolerates(&self, finding: &DocsFinding) -> bool {
        self.allow_drift && self.drift_explains(finding).is_some()
    }

    /// The drifted ref whose drift explains a docs finding, so that `fix` resolves it: a
    /// citation naming exactly the drifted ref's old place or its new one (fix rewrites the
    /// ref, and citations of the old place, to the new place), or the drifted ref itself when a
    /// page cites it at its new place only. Nothing else: an unreadable page, a citation of a
    /// file or lines no ref explains, and citations of broken, ambiguous or errored refs are
    /// never explained by drift.
    pub fn drift_explains(&self, finding: &DocsFinding) -> Option<(&ClaimReport, &RefReport)> {
        let drifted = || {
            self.claims.iter().flat_map(|c| {
                c.refs
                    .iter()
                    .filter(|r| r.verdict() == Verdict::Drifted)
                    .map(move |r| (c, r))
            })
        };
        let cites = |path: &str, lines: LineRange, place_path: &str, place_lines: LineRange| {
            lines == place_lines && names_path(path, place_path)
        };
        fn new_place(r: &RefReport) -> Option<&Place> {
            r.relocated().map(|m| &m.place)
        }
        match &finding.about {
            DocsSubject::Page => None,
            DocsSubject::Citation { path, lines } => drifted().find(|(_, r)| {
                cites(path, *lines, &r.path, r.lines)
                    || new_place(r).is_some_and(|p| cites(path, *lines, &p.path, p.lines))
            }),
            DocsSubject::Ref { claim, path, lines } => drifted().find(|(c, r)| {
                c.id == *claim
                    && r.path == *path
                    && r.lines == *lines
                    && new_place(r).is_some_and(|p| {
                        self.docs.iter().any(|d| match &d.about {
                            DocsSubject::Citation { path, lines } => {
                                cites(path, *lines, &p.path, p.lines)
                            }
                            _ => false,
                        })
                    })
            }),
        }
    }
}

/// The shared sample report every format's snapshot test renders.
#[cfg(test)]
pub(crate) mod sample {
    use super::*;
    use crate::anchors::ExpectationKind;

    pub fn range(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    fn ok(kind: &str, message: &str, lines: LineRange) -> ExpectationResult {
        ExpectationResult {
            kind: kind.parse().unwrap(),
            ok: true,
            message: message.to_string(),
            matches: vec![lines],
            near_miss: None,
        }
    }

    pub fn report() -> Report {
        let verified = RefReport {
            path: "src/saas/back/cmd/mtls_listener.go".into(),
            lines: range(201, 248),
            outcome: Outcome::Verified,
            expectations: vec![ok(
                "routes",
                "4 routes on mtlsMux at lines 214-229",
                range(214, 229),
            )],
            parse_errors: vec![],
            excerpt: None,
            notes: vec![],
            touched: Some("lines 220-221 modified".into()),
            checked: None,
            history_from: None,
            cited_by: vec![],
        };
        let broken = RefReport {
            path: "src/saas/back/src/main.go".into(),
            lines: range(3181, 3184),
            outcome: Outcome::Broken {
                culprit: Some(Box::new(Culprit {
                    kind: CulpritKind::Broke,
                    commit: Commit {
                        id: "4e1c9a2000000000000000000000000000000000".into(),
                        short: "4e1c9a2".into(),
                        date: "2026-10-03".into(),
                        subject: "simplify startup checks (#123)".into(),
                        author: "Ana Ruiz".into(),
                        pr: Some(123),
                    },
                })),
            },
            expectations: vec![ExpectationResult {
                kind: CheckKind::Expectation(ExpectationKind::FailClosed),
                ok: false,
                message: "line 3182: if mentions cfg.MTLSRequired but its body only logs and continues: fail-open".into(),
                matches: vec![],
                near_miss: LineNo::new(3182),
            }],
            parse_errors: vec![LineNo::new(3184).unwrap()],
            excerpt: Some(Box::new(Excerpt {
                first_line: LineNo::new(3181).unwrap(),
                lines: vec![
                    "\tif !cfg.MTLSRequired {".into(),
                    "\t\tlog.Printf(\"mTLS disabled\")".into(),
                    "\t}".into(),
                    "\tsrv := newServer(cfg".into(),
                ],
                highlights: None,
            })),
            notes: vec![],
            touched: Some("lines 3182-3182 modified".into()),
            checked: None,
            history_from: None,
            cited_by: vec![DocsLocation {
                page: "docs/security.md".into(),
                line: 40,
                column: 5,
            }],
        };
        let error = RefReport {
            path: "src/saas/customer-api/evidence/evidence.go".into(),
            lines: range(127, 127),
            outcome: Outcome::Error("file not found at this revision".into()),
            expectations: vec![],
            parse_errors: vec![],
            excerpt: None,
            notes: vec![],
            touched: None,
            checked: None,
            history_from: None,
            cited_by: vec![],
        };
        let drifted = RefReport {
            path: "src/saas/back/cmd/agent_routes.go".into(),
            lines: range(40, 52),
            outcome: Outcome::Drifted {
                relocation: Box::new(Relocation {
                    place: Place {
                        path: "src/saas/back/cmd/agent_routes.go".into(),
                        lines: range(46, 58),
                    },
                    how: How::History,
                    excerpt: None,
                    expectations: vec![],
                    detail: None,
                    symbol: None,
                }),
                culprit: Some(Box::new(Culprit {
                    kind: CulpritKind::Moved,
                    commit: Commit {
                        id: "b7d2e41000000000000000000000000000000000".into(),
                        short: "b7d2e41".into(),
                        date: "2026-10-05".into(),
                        subject: "add | pipe & <b>tags</b> to the header".into(),
                        author: "Bo <bo@example.com>".into(),
                        pr: None,
                    },
                })),
            },
            expectations: vec![ExpectationResult {
                kind: CheckKind::Expectation(ExpectationKind::Call),
                ok: false,
                message: "no call to requireSPIFFE in lines 40-52".into(),
                matches: vec![],
                near_miss: None,
            }],
            parse_errors: vec![],
            excerpt: Some(Box::new(Excerpt {
                first_line: LineNo::new(40).unwrap(),
                lines: vec!["// Deprecated: see agentRoutes.".into()],
                highlights: None,
            })),
            notes: vec![],
            touched: None,
            checked: None,
            history_from: None,
            cited_by: vec![DocsLocation {
                page: "docs/security.md".into(),
                line: 57,
                column: 1,
            }],
        };
        let ambiguous = RefReport {
            path: "src/saas/back/audit/log.go".into(),
            lines: range(10, 12),
            outcome: Outcome::Ambiguous(vec![
                Candidate {
                    place: Place {
                        path: "src/saas/back/audit/log.go".into(),
                        lines: range(30, 32),
                    },
                    how: How::Search,
                    distance: Some(8),
                    similarity: Some(100),
                    same_declaration: Some(true),
                },
                Candidate {
                    place: Place {
                        path: "src/saas/back/audit/log.go".into(),
                        lines: range(88, 90),
                    },
                    how: How::Search,
                    distance: Some(50),
                    similarity: Some(67),
                    same_declaration: Some(false),
                },
            ]),
            expectations: vec![ExpectationResult {
                kind: CheckKind::Expectation(ExpectationKind::Call),
                ok: false,
                message: "no call to audit.Record in lines 10-12".into(),
                matches: vec![],
                near_miss: None,
            }],
            parse_errors: vec![],
            excerpt: Some(Box::new(Excerpt {
                first_line: LineNo::new(10).unwrap(),
                lines: vec![
                    "func init() {".into(),
                    "\tregister(\"audit\")".into(),
                    "}".into(),
                ],
                highlights: None,
            })),
            notes: vec!["symbol unavailable: the ref names none".into()],
            touched: None,
            checked: None,
            history_from: None,
            cited_by: vec![],
        };
        Report {
            tool: "anchorcheck 0.1.0".into(),
            repo: ".".into(),
            rev: "HEAD".into(),
            commit: Some("9c1f0e2b7a4400000000000000000000000000aa".into()),
            claims: vec![
                ClaimReport {
                    id: "agent-saas-mtls".into(),
                    title: Some("Agent -> SaaS mTLS is required".into()),
                    status: ClaimStatus::Required,
                    owner: Some("SaaS/back mTLS listener (port 9443)".into()),
                    verdict: Verdict::Broken,
                    refs: vec![verified, broken],
                    gate: review::Gate::Block,
                    approval: None,
                },
                ClaimReport {
                    id: "workload-identity".into(),
                    title: Some("Full agent workload identity".into()),
                    status: ClaimStatus::Planned,
                    owner: None,
                    verdict: Verdict::Error,
                    refs: vec![error],
                    gate: review::Gate::Block,
                    approval: None,
                },
                ClaimReport {
                    id: "agent-routes-spiffe".into(),
                    title: Some("Agent routes check the SPIFFE id".into()),
                    status: ClaimStatus::Implemented,
                    owner: None,
                    verdict: Verdict::Drifted,
                    refs: vec![drifted],
                    gate: review::Gate::Block,
                    approval: None,
                },
                ClaimReport {
                    id: "audit-log".into(),
                    title: Some("Admin actions are audit-logged".into()),
                    status: ClaimStatus::Partial,
                    owner: None,
                    verdict: Verdict::Ambiguous,
                    refs: vec![ambiguous],
                    gate: review::Gate::Block,
                    approval: None,
                },
                ClaimReport {
                    id: "admin-sso".into(),
                    title: Some("Admin login goes through SSO".into()),
                    status: ClaimStatus::Planned,
                    owner: None,
                    verdict: Verdict::Unchecked,
                    refs: vec![],
                    gate: review::Gate::Block,
                    approval: None,
                },
            ],
            docs: vec![DocsFinding {
                page: "docs/security.md".into(),
                position: Some(crate::lines::Position {
                    line: 12,
                    column: 3,
                }),
                kind: DocsFindingKind::UnknownCitation,
                message: "cites src/saas/back/src/main.go:3181-3190 but no ref has those lines"
                    .into(),
                subject: "src/saas/back/src/main.go:3181-3190".into(),
                about: DocsSubject::Citation {
                    path: "src/saas/back/src/main.go".into(),
                    lines: range(3181, 3190),
                },
            }],
            fix_command: Some("anchorcheck fix --rev HEAD".into()),
            refs_without_at: 0,
            links: None,
            allow_drift: false,
            waivers: vec![],
            today: review::Date::parse("2026-11-01").unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_claims_by_verdict() {
        let report = sample::report();
        let s = report.summary();
        assert_eq!(
            (s.claims, s.refs, s.broken, s.error, s.verified, s.unchecked),
            (5, 5, 1, 1, 0, 1)
        );
        assert_eq!(
            s.to_string(),
            "5 claims: 0 verified, 1 drifted, 1 ambiguous, 1 broken, 1 errors, 1 unchecked (5 refs \
             checked); 1 docs finding fails the run"
        );
        let without = Summary { unchecked: 0, ..s };
        assert!(!without.to_string().contains("unchecked"), "{without}");
        let one = Summary {
            needs_review: 1,
            ..without
        };
        assert!(one.to_string().contains(" 1 needs review, "), "{one}");
        let two = Summary {
            needs_review: 2,
            ..without
        };
        assert!(two.to_string().contains(" 2 need review, "), "{two}");
    }

    #[test]
    fn a_claim_without_refs_is_unchecked_and_does_not_fail_the_run() {
        let mut report = sample::report();
        report.claims.retain(|c| c.refs.is_empty());
        report.docs.clear();
        assert_eq!(report.claims[0].verdict, Verdict::Unchecked);
        assert!(report.passed());
        assert_eq!(report.summary().verified, 0);
    }

    /// The sample with only its drifted claim, and `docs` findings of the given subjects.
    fn drifted_only(docs: Vec<(DocsFindingKind, DocsSubject)>) -> Report {
        let mut report = sample::report();
        report.claims.retain(|c| c.verdict == Verdict::Drifted);
        report.docs = docs
            .into_iter()
            .map(|(kind, about)| DocsFinding {
                page: "docs/security.md".into(),
                position: None,
                kind,
                message: "m".into(),
                subject: String::new(),
                about,
            })
            .collect();
        report
    }

    fn citation(path: &str, a: u32, b: u32) -> (DocsFindingKind, DocsSubject) {
        let about = DocsSubject::Citation {
            path: path.into(),
            lines: sample::range(a, b),
        };
        (DocsFindingKind::UnknownCitation, about)
    }

    #[test]
    fn only_all_verified_passes_and_allow_drift_passes_drift_only() {
        let mut report = sample::report();
        report.allow_drift = true;
        assert!(!report.passed());
        let mut report = drifted_only(vec![]);
        assert!(!report.passed());
        report.allow_drift = true;
        assert!(report.passed());
    }

    #[test]
    fn allow_drift_tolerates_only_docs_findings_that_drift_explains() {
        use DocsFindingKind::*;
        let drifted = "src/saas/back/cmd/agent_routes.go";
        // The drifted ref cites 40-52 and moved to 46-58.
        let tolerated = [
            vec![citation(drifted, 46, 58)],
            vec![citation("cmd/agent_routes.go", 46, 58)],
            vec![citation(drifted, 40, 52)],
            vec![
                citation(drifted, 46, 58),
                (
                    UncitedRef,
                    DocsSubject::Ref {
                        claim: "agent-routes-spiffe".into(),
                        path: drifted.into(),
                        lines: sample::range(40, 52),
                    },
                ),
            ],
        ];
        for docs in tolerated {
            let mut report = drifted_only(docs.clone());
            assert!(!report.passed(), "{docs:?} passes without --allow-drift");
            report.allow_drift = true;
            assert!(report.passed(), "{docs:?} fails under --allow-drift");
            let s = report.summary();
            assert_eq!((s.docs_failing, s.docs_tolerated), (0, docs.len()));
            assert!(s.to_string().contains("tolerated by --allow-drift"), "{s}");
        }
        let failing = [
            vec![(UnreadablePage, DocsSubject::Page)],
            vec![citation("src/nowhere.go", 1, 2)],
            vec![citation(drifted, 47, 58)],
            vec![citation(drifted, 41, 52)],
            vec![citation("other/agent_routes.go", 46, 58)],
            // A ref no page cites, when no citation names its new place either.
            vec![(
                UncitedRef,
                DocsSubject::Ref {
                    claim: "agent-routes-spiffe".into(),
                    path: drifted.into(),
                    lines: sample::range(40, 52),
                },
            )],
            // The place of the broken ref is not explained by drift.
            vec![citation("src/saas/back/src/main.go", 3181, 3184)],
        ];
        for docs in failing {
            let mut report = drifted_only(docs.clone());
            report.allow_drift = true;
            assert!(!report.passed(), "{docs:?} passes under --allow-drift");
            let s = report.summary();
            assert_eq!(s.docs_tolerated, 0, "{docs:?}");
            assert!(s.to_string().contains("fail"), "{s}");
        }
    }

    #[test]
    fn the_summary_line_says_docs_findings_fail_a_run_whose_claims_verify() {
        let mut report = drifted_only(vec![(DocsFindingKind::UnreadablePage, DocsSubject::Page)]);
        for r in report.claims.iter_mut().flat_map(|c| c.refs.iter_mut()) {
            r.outcome = Outcome::Verified;
        }
        report.claims[0].verdict = Verdict::Verified;
        assert!(!report.passed());
        assert_eq!(
            report.summary().to_string(),
            "1 claims: 1 verified, 0 drifted, 0 ambiguous, 0 broken, 0 errors (1 refs checked); \
             1 docs finding fails the run"
        );
    }

    fn waiver(claim: &str, r#ref: Option<usize>, expires: &str) -> review::Waiver {
        review::Waiver {
            claim: claim.into(),
            r#ref,
            reason: "accepted".into(),
            expires: review::Date::parse(expires).unwrap(),
            owner: "Sam".into(),
            position: crate::lines::Position { line: 1, column: 1 },
            expires_position: crate::lines::Position { line: 1, column: 1 },
        }
    }

    #[test]
    fn gates_and_waivers_decide_the_run_but_never_for_an_error() {
        let mut report = sample::report();
        report.docs.clear();
        assert!(!report.passed());
        // Every failing claim waived: the one in error still fails the run.
        report.waivers = [
            "agent-saas-mtls",
            "workload-identity",
            "agent-routes-spiffe",
            "audit-log",
        ]
        .iter()
        .map(|c| waiver(c, None, "2026-11-30"))
        .collect();
        assert!(!report.passed());
        assert_eq!(report.claim_outcome(&report.claims[1]), ClaimOutcome::Fails);
        assert_eq!(
            report.claim_outcome(&report.claims[0]),
            ClaimOutcome::Waived
        );
        report.claims.remove(1);
        report.waivers.remove(1);
        assert!(report.passed());
        let s = report.summary();
        assert_eq!((s.waived, s.waivers_expired, s.waivers_unused), (3, 0, 0));
        assert!(s.to_string().contains("; 3 waived"), "{s}");
        // The day after the expiry they no longer apply, and each fails the run.
        report.today = review::Date::parse("2026-12-01").unwrap();
        assert!(!report.passed());
        assert_eq!(report.summary().waivers_expired, 3);
        // A waiver of one ref leaves the claim's other failing refs failing it.
        let mut report = sample::report();
        report.docs.clear();
        report.claims.truncate(1);
        report.waivers = vec![waiver("agent-saas-mtls", Some(1), "2026-11-30")];
        assert!(!report.passed());
        assert_eq!(
            report.waiver_state(&report.waivers[0]),
            review::WaiverState::Unused
        );
        report.waivers = vec![waiver("agent-saas-mtls", Some(2), "2026-11-30")];
        assert!(report.passed());
        // gate: warn lets it pass without a waiver.
        report.waivers.clear();
        report.claims[0].gate = review::Gate::Warn;
        assert!(report.passed());
        assert_eq!(report.summary().warned, 1);
    }

    /// A run of 330,000 refs holds as many reports, twice over while they are put in
    /// anchors.yaml order: what few refs have (a relocation, a culprit, a review, a place
    /// history mapped them to, an excerpt) is boxed, not inline in every one (704 bytes).
    /// The result cache stores reports as they were when the verdict and the fields only some
    /// verdicts have sat side by side: the same keys in the same order, so the files it wrote
    /// are read back, and every report reads back as it was written.
    #[test]
    fn a_stored_ref_report_keeps_its_keys_and_reads_back_the_same() {
        let report = sample::report();
        let keys = [
            "path",
            "lines",
            "verdict",
            "error",
            "relocated",
            "candidates",
            "expectations",
            "parse_errors",
            "excerpt",
            "culprit",
            "notes",
            "touched",
            "checked",
            "history_from",
        ];
        for r in report.claims.iter().flat_map(|c| &c.refs) {
            let json = serde_json::to_string(r).unwrap();
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            let object = value.as_object().unwrap();
            assert_eq!(object.len(), keys.len(), "{json}");
            // Top-level keys in order: each one's `"key":` after the previous value began.
            let mut at = 0;
            for key in keys {
                let found = json[at..].find(&format!("\"{key}\":"));
                assert!(found.is_some(), "{key} out of order in {json}");
                at += found.unwrap();
            }
            assert_eq!(
                object["verdict"],
                serde_json::to_value(r.verdict()).unwrap()
            );
            let back: RefReport = serde_json::from_str(&json).unwrap();
            assert_eq!(
                back,
                RefReport {
                    cited_by: Vec::new(),
                    ..r.clone()
                }
            );
        }
        // A drifted ref stored without its place is refused, not read as drifted to nowhere.
        let drifted = &report.claims[2].refs[0];
        let mut value = serde_json::to_value(drifted).unwrap();
        value["relocated"] = serde_json::Value::Null;
        assert!(serde_json::from_value::<RefReport>(value).is_err());
    }

    #[test]
    fn a_ref_report_keeps_what_few_refs_have_out_of_line() {
        assert!(
            std::mem::size_of::<RefReport>() <= 272,
            "{} bytes",
            std::mem::size_of::<RefReport>()
        );
    }
}
