//! `init --from-docs`: anchors.yaml scaffolded from the citations of docs pages. Each sentence
//! (or table row) that cites code becomes a claim named after it, each citation a ref with the
//! enclosing declaration as `symbol`, the commit as `at`, and the expectations `explain` finds
//! holding in the cited lines.

mod plan;

use std::collections::HashSet;
use std::fmt::Write as _;

use super::explain::explain;
use super::yaml::{quoted, scalar};
use super::{Resolved, repo_path, resolve_path};
use crate::anchors::{AnchorsFile, ClaimStatus};
use crate::docs::context::{CitationContext, contexts};
use crate::docs::{Citation, scan};
use crate::go::GoFile;
use crate::lines::LineRange;
use crate::source::{FileProblem, Files};

/// A docs page to scaffold from.
#[derive(Clone, Debug)]
pub struct Page {
    /// How the page is named in messages and in the written `docs:` list (relative to the
    /// anchors file's directory).
    pub entry: String,
    /// The page's directory relative to the repository root ("" for the root), where its
    /// relative citations are resolved first.
    pub dir_in_repo: String,
    pub text: String,
}

/// What `init` needs besides the pages.
pub struct Inputs<'a> {
    pub files: &'a dyn Files,
    /// Every `.go` path at the revision, to resolve cited paths by suffix.
    pub paths: &'a [String],
    /// The commit the refs are written for (`at`); `None` at `WORKTREE`.
    pub commit: Option<&'a str>,
    /// The revision as written, for the header.
    pub rev: &'a str,
    /// `repo:` as the anchors file will say it (relative to the anchors file's directory).
    pub repo: &'a str,
    /// With `--append`, the anchors file being added to: citations its refs already cover are
    /// skipped and its claim ids are not reused.
    pub existing: Option<&'a AnchorsFile>,
}

/// A citation that was not turned into a ref, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved {
    pub page: String,
    pub line: u32,
    pub column: u32,
    /// The citation as written (`src/a.go:10-20`).
    pub cited: String,
    pub reason: Unresolvable,
}

/// Why a citation was not turned into a ref.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unresolvable {
    #[error("no .go file at {rev} ends with `{cited}`")]
    NoFile { rev: String, cited: String },
    #[error("{} files end with `{cited}`: {}; cite a longer path", .paths.len(), .paths.join(", "))]
    SeveralFiles { cited: String, paths: Vec<String> },
    #[error("{path}: {problem}")]
    Unreadable { path: String, problem: FileProblem },
    #[error("{path}: {message}")]
    Unparsable { path: String, message: String },
    #[error("lines {lines} are past the end of {path} ({count} lines)")]
    PastTheEnd {
        path: String,
        lines: LineRange,
        count: u32,
    },
    #[error(
        "{path}:{lines} holds no construct anchorcheck can check (`anchorcheck explain {path}:{lines}` shows what it sees)"
    )]
    NothingToCheck { path: String, lines: LineRange },
}

/// The scaffolded claims.
#[derive(Clone, Debug, Default)]
pub struct Scaffold {
    pub claims: Vec<ScaffoldClaim>,
    pub unresolved: Vec<Unresolved>,
    /// Citations skipped because a ref (existing, or written earlier in this run) covers them.
    pub covered: usize,
    /// How many citations the pages hold.
    pub citations: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaffoldClaim {
    pub id: String,
    pub title: String,
    pub status: ClaimStatus,
    pub owner: Option<String>,
    pub refs: Vec<ScaffoldRef>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaffoldRef {
    pub path: String,
    pub lines: LineRange,
    pub symbol: Option<String>,
    /// `expect` items as YAML.
    pub expect: Vec<String>,
}

/// Scaffolds claims from the citations of `pages`.
pub fn scaffold(pages: &[Page], inputs: &Inputs<'_>) -> Scaffold {
    let mut out = Scaffold::default();
    let mut ids: HashSet<String> = inputs
        .existing
        .map(|a| a.claims.iter().map(|c| c.id.value.clone()).collect())
        .unwrap_or_default();
    // (path, lines) already cited by a ref.
    let mut covered: Vec<(String, LineRange)> = inputs
        .existing
        .map(|a| {
            a.claims
                .iter()
                .flat_map(|c| &c.refs)
                .map(|r| (r.path.value.clone(), r.lines.value))
                .collect()
        })
        .unwrap_or_default();
    for page in pages {
        let citations = scan(&page.text);
        out.citations += citations.len();
        let around = contexts(&page.text, &citations);
        let mut groups: Vec<(usize, Vec<(&Citation, &CitationContext)>)> = Vec::new();
        for (citation, context) in citations.iter().zip(&around) {
            match groups.iter_mut().find(|(g, _)| *g == context.group) {
                Some((_, members)) => members.push((citation, context)),
                None => groups.push((context.group, vec![(citation, context)])),
            }
        }
        for (_, members) in groups {
            let mut refs = Vec::new();
            for (citation, _) in &members {
                let already = covered
                    .iter()
                    .any(|(path, lines)| *lines == citation.lines && citation.names(path));
                if already {
                    out.covered += 1;
                    continue;
                }
                match scaffold_ref(citation, page, inputs) {
                    Ok(r) => {
                        covered.push((r.path.clone(), r.lines));
                        refs.push(r);
                    }
                    Err(reason) => out.unresolved.push(Unresolved {
                        page: page.entry.clone(),
                        line: citation.line,
                        column: citation.column,
                        cited: format!("{}:{}", citation.path, citation.lines),
                        reason,
                    }),
                }
            }
            if refs.is_empty() {
                continue;
            }
            let (_, context) = members[0];
            let (title, status, owner) = describe(context, &refs[0]);
            let id = unique_id(&slug(&title), &mut ids);
            out.claims.push(ScaffoldClaim {
                id,
                title,
                status,
                owner,
                refs,
            });
        }
    }
    out
}

/// The ref for one citation, or why there is none.
fn scaffold_ref(
    citation: &Citation,
    page: &Page,
    inputs: &Inputs<'_>,
) -> Result<ScaffoldRef, Unresolvable> {
    let path = match resolve_path(&citation.path, inputs.paths, &page.dir_in_repo) {
        Resolved::File(path) => path,
        Resolved::Missing => {
            return Err(Unresolvable::NoFile {
                rev: inputs.rev.to_string(),
                cited: repo_path(&citation.path).to_string(),
            });
        }
        Resolved::Ambiguous(paths) => {
            return Err(Unresolvable::SeveralFiles {
                cited: repo_path(&citation.path).to_string(),
                paths,
            });
        }
    };
    let blob = inputs
        .files
        .read(&path)
        .map_err(|problem| Unresolvable::Unreadable {
            path: path.clone(),
            problem,
        })?;
    let file = GoFile::parse(blob.bytes).map_err(|e| Unresolvable::Unparsable {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let lines = citation.lines;
    if lines.end().get() > file.line_count() {
        return Err(Unresolvable::PastTheEnd {
            path,
            lines,
            count: file.line_count(),
        });
    }
    let explanation = explain(&file, lines);
    let expect: Vec<String> = explanation
        .suggested()
        .into_iter()
        .map(|c| c.yaml.clone())
        .collect();
    let symbol = explanation.declaration.as_ref().map(|d| d.symbol.clone());
    // A ref naming only its symbol holds when the declaration starts in the range.
    let symbol_only = explanation
        .declaration
        .as_ref()
        .is_some_and(|d| lines.contains_line(d.lines.start()));
    if expect.is_empty() && !symbol_only {
        return Err(Unresolvable::NothingToCheck { path, lines });
    }
    Ok(ScaffoldRef {
        path,
        lines,
        symbol,
        expect,
    })
}

/// The claim's title, status and owner, from the table row or sentence that cites it.
fn describe(
    context: &CitationContext,
    first: &ScaffoldRef,
) -> (String, ClaimStatus, Option<String>) {
    let fallback = || {
        context
            .heading
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| format!("{}:{}", first.path, first.lines))
    };
    if let Some(row) = &context.row {
        let title = ["capability", "claim", "property", "title", "name"]
            .iter()
            .find_map(|h| row.cell(h))
            .map(str::to_string)
            .or_else(|| row.cells.iter().find(|c| !c.is_empty()).cloned())
            .unwrap_or_else(fallback);
        let status = row
            .cell("status")
            .and_then(status_in)
            .or_else(|| status_in(&title))
            .unwrap_or(ClaimStatus::Implemented);
        let owner = row.cell("owner").map(str::to_string);
        return (title, status, owner);
    }
    let title = if context.sentence.is_empty() {
        fallback()
    } else {
        capitalised(&context.sentence)
    };
    let status = status_in(&context.sentence)
        .or_else(|| context.heading.as_deref().and_then(status_in))
        .unwrap_or(ClaimStatus::Implemented);
    (title, status, None)
}

/// The first claim status a text names as a word (`REQUIRED`, `planned`).
fn status_in(text: &str) -> Option<ClaimStatus> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .find_map(|word| word.to_ascii_lowercase().parse().ok())
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Words too common to name a claim by.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "be", "of", "to", "in", "on", "at", "by", "for", "and", "or",
    "its", "it", "this", "that", "these", "with", "as", "from", "every", "each", "all", "any",
];

/// A claim id from a title: its first five significant words, lower-case, joined by `-`.
fn slug(title: &str) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .take(5)
        .collect();
    if words.is_empty() {
        "claim".to_string()
    } else {
        words.join("-")
    }
}

/// `base`, or `base-2`, `base-3`... whichever is not taken yet (and take it).
fn unique_id(base: &str, taken: &mut HashSet<String>) -> String {
    let mut id = base.to_string();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(id.clone());
    id
}

/// `text` as a block-context YAML scalar: plain when it reads back as the same string.
fn block_scalar(text: &str) -> String {
    let typed = text.parse::<f64>().is_ok()
        || matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        );
    let plain = !text.is_empty()
        && !typed
        && text.trim() == text
        && !text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c))
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && !text.chars().any(char::is_control);
    if plain {
        text.to_string()
    } else {
        quoted(text)
    }
}

/// The claims as YAML items of `claims:`, each line prefixed with `indent` (the indentation of
/// the claims' `-`).
pub fn claims_yaml(claims: &[ScaffoldClaim], commit: Option<&str>, indent: &str) -> String {
    let mut out = String::new();
    for claim in claims {
        let _ = writeln!(out, "{indent}- id: {}", claim.id);
        let _ = writeln!(out, "{indent}  title: {}", block_scalar(&claim.title));
        let _ = writeln!(out, "{indent}  status: {}", claim.status.as_str());
        if let Some(owner) = &claim.owner {
            let _ = writeln!(out, "{indent}  owner: {}", block_scalar(owner));
        }
        let _ = writeln!(out, "{indent}  refs:");
        for r in &claim.refs {
            let _ = writeln!(out, "{indent}    - path: {}", scalar(&r.path));
            let _ = writeln!(out, "{indent}      lines: {}", r.lines);
            if let Some(commit) = commit {
                let _ = writeln!(out, "{indent}      at: {commit}");
            }
            if let Some(symbol) = &r.symbol {
                let _ = writeln!(out, "{indent}      symbol: {}", scalar(symbol));
            }
            if !r.expect.is_empty() {
                let _ = writeln!(out, "{indent}      expect:");
                for e in &r.expect {
                    let _ = writeln!(out, "{indent}        - {e}");
                }
            }
        }
        out.push('\n');
    }
    out
}

/// The citations not scaffolded, as YAML comments for the reviewer.
pub fn unresolved_comment(unresolved: &[Unresolved]) -> String {
    if unresolved.is_empty() {
        return String::new();
    }
    let mut out =
        String::from("# Citations not scaffolded (fix the page or write these refs by hand):\n");
    for u in unresolved {
        let reason = u.reason.to_string().replace(['\n', '\r'], " ");
        let _ = writeln!(
            out,
            "#   {}:{}:{}: {}: {reason}",
            u.page, u.line, u.column, u.cited
        );
    }
    out
}

/// A whole new anchors file: the schema line, a header saying it was scaffolded, `repo`,
/// `docs` and the claims.
pub fn new_file(scaffold: &Scaffold, pages: &[Page], inputs: &Inputs<'_>) -> String {
    let mut out = String::new();
    match super::schema_url() {
        Some(url) => {
            let _ = writeln!(out, "# yaml-language-server: $schema={url}");
        }
        None => out.push_str(
            "# Editor completion: `anchorcheck schema > anchors.schema.json`, then make this line\n# `# yaml-language-server: $schema=anchors.schema.json`.\n",
        ),
    }
    let at = inputs
        .commit
        .map(|c| format!("commit {}", &c[..c.len().min(12)]))
        .unwrap_or_else(|| "the working tree".to_string());
    let _ = writeln!(
        out,
        "#\n# Scaffolded by `anchorcheck init --from-docs` from {} at {at}.\n# Review it before relying on it: titles and statuses come from the pages' wording, and\n# each ref expects what its cited lines hold today, which may be more or less than the\n# page claims. Then run `anchorcheck verify`.",
        pages
            .iter()
            .map(|p| p.entry.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str("version: 1\n");
    let _ = writeln!(out, "repo: {}", block_scalar(inputs.repo));
    if inputs.commit.is_none() {
        out.push_str("rev: WORKTREE\n");
    }
    out.push_str("docs:\n");
    for page in pages {
        let _ = writeln!(out, "  - {}", block_scalar(&page.entry));
    }
    out.push_str("\nclaims:\n");
    out.push_str(&claims_yaml(&scaffold.claims, inputs.commit, "  "));
    out.push_str(&unresolved_comment(&scaffold.unresolved));
    out
}

pub use plan::{AppendProblem, InitError, InitPlan, InitRequest, plan};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_slugs_made_unique() {
        let mut taken = HashSet::new();
        assert_eq!(
            unique_id(
                &slug("Agents reach the SaaS back end on one listener, port 9443"),
                &mut taken
            ),
            "agents-reach-saas-back-end"
        );
        assert_eq!(
            unique_id(&slug("Agents reach the SaaS back end again"), &mut taken),
            "agents-reach-saas-back-end-2"
        );
        assert_eq!(slug("—"), "claim");
    }

    #[test]
    fn statuses_are_read_from_the_words_of_the_page() {
        assert_eq!(
            status_in("Agent to SaaS mTLS is REQUIRED"),
            Some(ClaimStatus::Required)
        );
        assert_eq!(status_in("Planned (hardening)"), Some(ClaimStatus::Planned));
        assert_eq!(
            status_in("Implemented (file-based)"),
            Some(ClaimStatus::Implemented)
        );
        assert_eq!(status_in("replanned"), None);
    }

    #[test]
    fn block_scalars_are_plain_unless_yaml_would_misread_them() {
        assert_eq!(
            block_scalar("Agent -> SaaS mTLS is required"),
            "Agent -> SaaS mTLS is required"
        );
        assert_eq!(
            block_scalar("Future: SPIRE Workload API"),
            "\"Future: SPIRE Workload API\""
        );
        assert_eq!(
            block_scalar("- starts like a list"),
            "\"- starts like a list\""
        );
        assert_eq!(block_scalar("yes"), "\"yes\"");
        assert_eq!(block_scalar("a # b"), "\"a # b\"");
    }
}
