//! The outcome of one expectation (or of a symbol-only ref's declaration check) on a range, as
//! reports carry it and the result cache stores it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::anchors::ExpectationKind;
use crate::lines::{LineNo, LineRange};

/// The outcome of one expectation on one range of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// What was checked: an expectation kind, or the declaration of a ref naming only a symbol.
    pub kind: CheckKind,
    pub ok: bool,
    /// What matched, or why it failed, naming the nearest near-miss line.
    pub message: String,
    /// Lines of the constructs that satisfied it (for `not`, the lines that violated it).
    pub matches: Vec<LineRange>,
    /// For a failure, the line most worth pointing at.
    pub near_miss: Option<LineNo>,
}

/// What a result is the outcome of. Written (in reports and the result cache) as the
/// anchors.yaml key of the expectation kind, or `symbol`; an unknown word is refused on reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// One expectation of the ref.
    Expectation(ExpectationKind),
    /// A ref naming only a symbol: a declaration of it starts in the range.
    Symbol,
}

impl CheckKind {
    /// The word reports use: `call`, `fail_closed`, ..., `symbol`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Expectation(kind) => kind.name(),
            CheckKind::Symbol => "symbol",
        }
    }
}

impl From<ExpectationKind> for CheckKind {
    fn from(kind: ExpectationKind) -> Self {
        CheckKind::Expectation(kind)
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CheckKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "symbol" => Ok(CheckKind::Symbol),
            _ => ExpectationKind::from_name(s)
                .map(CheckKind::Expectation)
                .ok_or_else(|| format!("unknown expectation kind `{s}`")),
        }
    }
}

impl Serialize for CheckKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CheckKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = String::deserialize(deserializer)?;
        word.parse().map_err(serde::de::Error::custom)
    }
}

/// `kind == "call"`, as tests compare.
impl PartialEq<&str> for CheckKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results are stored (the result cache) and written (the JSON report) with their kind as
    /// the anchors.yaml word: every kind reads back as itself, and a word that names no kind
    /// is refused, so a stored result is never filed under a kind it was not.
    #[test]
    fn check_kinds_are_written_as_their_words_and_read_back() {
        let kinds = ExpectationKind::ALL
            .iter()
            .map(|&k| CheckKind::Expectation(k))
            .chain([CheckKind::Symbol]);
        for kind in kinds {
            let written = serde_json::to_string(&kind).unwrap();
            assert_eq!(written, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<CheckKind>(&written).unwrap(), kind);
        }
        assert_eq!(CheckKind::Symbol.as_str(), "symbol");
        assert_eq!(
            CheckKind::Expectation(ExpectationKind::FailClosed).as_str(),
            "fail_closed"
        );
        for unknown in ["\"Call\"", "\"fail-closed\"", "\"\"", "\"symbols\""] {
            assert!(
                serde_json::from_str::<CheckKind>(unknown).is_err(),
                "{unknown}"
            );
        }
    }
}
