//! `fix --pick N`: settles the one ambiguous ref of a report on its Nth candidate, so the plan
//! rewrites it like any drifted ref.

use super::FixError;
use crate::lines::LineRange;
use crate::model::{Outcome, Report, Verdict};

/// The ambiguous ref `pick` settled, and the candidate it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picked {
    pub claim: String,
    pub path: String,
    pub lines: LineRange,
    pub candidate: crate::model::Candidate,
    pub index: usize,
}

/// Takes candidate `n` (1-based, as reports number them) of the one ambiguous ref in `report`
/// as its relocation, so `plan` rewrites it like any drifted ref. More than one ambiguous ref
/// is refused (select one with `--claim`): a number alone would not say whose candidate.
pub fn pick(report: &mut Report, n: usize) -> Result<Picked, FixError> {
    let ambiguous: Vec<(usize, usize)> = report
        .claims
        .iter()
        .enumerate()
        .flat_map(|(c, claim)| {
            claim
                .refs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.verdict() == Verdict::Ambiguous)
                .map(move |(i, _)| (c, i))
        })
        .collect();
    let (c, i) = match ambiguous.as_slice() {
        [] => return Err(FixError::NothingToPick),
        [one] => *one,
        many => {
            return Err(FixError::PickWhich {
                refs: many
                    .iter()
                    .map(|&(c, i)| {
                        let r = &report.claims[c].refs[i];
                        format!("claim {} {}:{}", report.claims[c].id, r.path, r.lines)
                    })
                    .collect(),
            });
        }
    };
    let claim = &mut report.claims[c];
    let r = &mut claim.refs[i];
    let count = r.candidates().len();
    let Some(candidate) = n
        .checked_sub(1)
        .and_then(|k| r.candidates().get(k))
        .cloned()
    else {
        return Err(FixError::NoSuchCandidate {
            claim: claim.id.clone(),
            place: format!("{}:{}", r.path, r.lines),
            count,
        });
    };
    // An ambiguous ref has no culprit: settling found several places, none moved it.
    r.outcome = Outcome::Drifted {
        relocation: Box::new(crate::model::Relocation {
            place: candidate.place.clone(),
            how: candidate.how,
            excerpt: None,
            expectations: Vec::new(),
            detail: Some(format!("candidate {n} of {count}, picked")),
            symbol: None,
        }),
        culprit: None,
    };
    Ok(Picked {
        claim: claim.id.clone(),
        path: r.path.clone(),
        lines: r.lines,
        candidate,
        index: n,
    })
}
