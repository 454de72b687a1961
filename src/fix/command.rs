//! The exact `fix` invocation a report ends with when something drifted: the same anchors file,
//! repository, base and claims as the run, at the revision it verified, each word quoted for a
//! POSIX shell when it needs it.

use std::path::Path;

use crate::model::{Report, Verdict};

/// How the run that made the report was invoked.
#[derive(Clone, Copy, Debug, Default)]
pub struct Invocation<'a> {
    /// `--anchors`, as given.
    pub anchors: Option<&'a Path>,
    /// `--repo`, as given.
    pub repo: Option<&'a Path>,
    /// `diff --base`.
    pub base: Option<&'a str>,
    /// `--claim`s: a run limited to some claims is fixed the same way, leaving the others.
    pub claims: &'a [String],
}

/// The `fix` command that rewrites the drift of `report`, when something drifted.
pub fn command_line(report: &Report, invocation: &Invocation<'_>) -> Option<String> {
    let drifted = report
        .claims
        .iter()
        .flat_map(|c| &c.refs)
        .any(|r| r.verdict() == Verdict::Drifted);
    if !drifted {
        return None;
    }
    let mut command = String::from("anchorcheck fix");
    let mut flag = |name: &str, value: &str| {
        command.push_str(&format!(" --{name} {}", shell_word(value)));
    };
    if let Some(anchors) = invocation.anchors {
        flag("anchors", &anchors.display().to_string());
    }
    if let Some(repo) = invocation.repo {
        flag("repo", &repo.display().to_string());
    }
    if let Some(base) = invocation.base {
        flag("base", base);
    }
    flag("rev", &report.rev);
    for claim in invocation.claims {
        flag("claim", claim);
    }
    Some(command)
}

/// `word`, quoted for a POSIX shell when it holds anything but plain path characters.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./~^@:=+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample::report as sample_report;

    #[test]
    fn plain_words_stay_as_they_are() {
        for word in [
            "HEAD",
            "origin/main",
            "v1.2.0",
            "HEAD~3",
            "a@{1}x",
            "docs/anchors.yaml",
        ] {
            let expected = if word.contains('{') {
                format!("'{word}'")
            } else {
                word.to_string()
            };
            assert_eq!(shell_word(word), expected, "{word}");
        }
    }

    #[test]
    fn other_words_are_single_quoted_with_quotes_spelt_out() {
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("my docs/anchors.yaml"), "'my docs/anchors.yaml'");
        assert_eq!(shell_word("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("a\nb"), "'a\nb'");
    }

    #[test]
    fn the_command_repeats_the_invocation_at_the_verified_revision() {
        let mut report = sample_report();
        report.rev = "feature branch".into();
        let claims = ["agent-saas-mtls".to_string(), "it's".to_string()];
        let invocation = Invocation {
            anchors: Some(Path::new("sec/anchors.yaml")),
            repo: Some(Path::new("../my repo")),
            base: Some("origin/main"),
            claims: &claims,
        };
        assert_eq!(
            command_line(&report, &invocation).as_deref(),
            Some(
                "anchorcheck fix --anchors sec/anchors.yaml --repo '../my repo' --base origin/main --rev 'feature branch' --claim agent-saas-mtls --claim 'it'\\''s'"
            )
        );
        assert_eq!(
            command_line(&report, &Invocation::default()).as_deref(),
            Some("anchorcheck fix --rev 'feature branch'")
        );
    }

    #[test]
    fn nothing_drifted_means_no_command() {
        let mut report = sample_report();
        for r in report.claims.iter_mut().flat_map(|c| &mut c.refs) {
            if r.verdict() == Verdict::Drifted {
                r.outcome = crate::model::Outcome::Broken { culprit: None };
            }
        }
        assert_eq!(command_line(&report, &Invocation::default()), None);
    }
}
