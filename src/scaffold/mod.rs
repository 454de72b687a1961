//! Writing anchors: what a cited range holds and which expectations would hold there
//! (`explain`), and anchors.yaml scaffolded from a docs page's citations (`init`).

pub mod explain;
pub mod init;
pub(crate) mod yaml;

use crate::lines::LineRange;

/// The JSON Schema of anchors.yaml, for `anchorcheck schema` and editors.
pub const SCHEMA: &str = include_str!("../../docs/anchors.schema.json");

/// Where editors fetch the schema from: the file at this version's tag in the project's
/// repository, when Cargo.toml names one.
pub fn schema_url() -> Option<String> {
    let repository = env!("CARGO_PKG_REPOSITORY").trim_end_matches('/');
    (!repository.is_empty()).then(|| {
        format!(
            "{repository}/raw/v{}/docs/anchors.schema.json",
            env!("CARGO_PKG_VERSION")
        )
    })
}

/// A place in the code as a person or a page writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub path: String,
    pub lines: LineRange,
}

/// Why a location could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error(
        "`{0}` is not a code location: write PATH:LINES (`src/a.go:10-20`, `src/a.go:7`) or PATH#L10-L20"
    )]
    Malformed(String),
    #[error("`{text}`: {reason}")]
    Lines { text: String, reason: String },
}

/// Reads `src/a.go:10-20`, `src/a.go:7`, `src/a.go#L10-L20`, `src/a.go#L7` or a GitHub or
/// GitLab blob link to those lines.
pub fn parse_location(text: &str) -> Result<Location, LocationError> {
    let malformed = || LocationError::Malformed(text.to_string());
    let (path, lines) = if let Some((path, anchor)) = text.rsplit_once('#') {
        let lines = anchor.strip_prefix('L').ok_or_else(malformed)?;
        (path, lines.replace("-L", "-"))
    } else {
        let (path, lines) = text.rsplit_once(':').ok_or_else(malformed)?;
        (path, lines.to_string())
    };
    let path = repo_path(path);
    if path.is_empty() {
        return Err(malformed());
    }
    let lines = LineRange::parse(&lines).map_err(|e| LocationError::Lines {
        text: text.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Location {
        path: path.to_string(),
        lines,
    })
}

/// The repository path a citation names: a blob link's path after `/blob/<revision>/` (GitHub)
/// or `/-/blob/<revision>/` (GitLab); otherwise the path without a leading `./`.
pub fn repo_path(cited: &str) -> &str {
    if let Some((_, rest)) = cited.split_once("/blob/")
        && let Some((_, path)) = rest.split_once('/')
    {
        return path;
    }
    cited.trim_start_matches("./")
}

/// How a cited path matched the repository's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The one file it names.
    File(String),
    /// Several files end with it.
    Ambiguous(Vec<String>),
    /// None does.
    Missing,
}

/// The file of `paths` that `cited` names: the same path, or the one path ending with it at a
/// `/` (pages often cite paths relative to a subproject). When several end with it, the one
/// under `near` (the page's directory, or one of its parents) wins if it is alone there.
pub fn resolve_path(cited: &str, paths: &[String], near: &str) -> Resolved {
    let cited = repo_path(cited);
    if paths.iter().any(|p| p == cited) {
        return Resolved::File(cited.to_string());
    }
    let suffix = format!("/{cited}");
    let matching: Vec<&String> = paths.iter().filter(|p| p.ends_with(&suffix)).collect();
    match matching.as_slice() {
        [] => Resolved::Missing,
        [one] => Resolved::File((*one).clone()),
        many => {
            // The nearest ancestor of the page holding exactly one of them.
            let mut dir = near.trim_end_matches('/');
            while !dir.is_empty() {
                let prefix = format!("{dir}/");
                let under: Vec<&&String> = many.iter().filter(|p| p.starts_with(&prefix)).collect();
                if let [only] = under.as_slice() {
                    return Resolved::File((**only).clone());
                }
                dir = dir.rsplit_once('/').map_or("", |(parent, _)| parent);
            }
            Resolved::Ambiguous(many.iter().map(|p| (*p).clone()).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_read_in_every_citation_form() {
        let at = |text: &str| {
            let l = parse_location(text).unwrap();
            format!("{} {}", l.path, l.lines)
        };
        assert_eq!(at("src/a.go:10-20"), "src/a.go 10-20");
        assert_eq!(at("src/a.go:7"), "src/a.go 7");
        assert_eq!(at("src/a.go#L10-L20"), "src/a.go 10-20");
        assert_eq!(at("./src/a.go#L7"), "src/a.go 7");
        assert_eq!(
            at("https://github.com/o/r/blob/v1.2.0/src/a.go#L10-L20"),
            "src/a.go 10-20"
        );
        assert_eq!(
            at("https://gitlab.com/o/r/-/blob/main/src/a.go#L3"),
            "src/a.go 3"
        );
        assert!(matches!(
            parse_location("src/a.go"),
            Err(LocationError::Malformed(_))
        ));
        assert!(matches!(
            parse_location("src/a.go:20-10"),
            Err(LocationError::Lines { .. })
        ));
    }

    #[test]
    fn cited_paths_resolve_by_suffix_nearest_the_page() {
        let paths: Vec<String> = [
            "examples/a/src/main.go",
            "examples/b/src/main.go",
            "services/x/cmd/listener.go",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            resolve_path("cmd/listener.go", &paths, ""),
            Resolved::File("services/x/cmd/listener.go".into())
        );
        assert_eq!(
            resolve_path("src/main.go", &paths, "examples/b/docs"),
            Resolved::File("examples/b/src/main.go".into())
        );
        assert!(matches!(
            resolve_path("src/main.go", &paths, "docs"),
            Resolved::Ambiguous(found) if found.len() == 2
        ));
        assert_eq!(resolve_path("nope.go", &paths, ""), Resolved::Missing);
        assert_eq!(
            resolve_path(
                "https://github.com/o/r/blob/main/services/x/cmd/listener.go",
                &paths,
                ""
            ),
            Resolved::File("services/x/cmd/listener.go".into())
        );
    }
}
