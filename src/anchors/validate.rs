//! Turns the raw node tree into the validated model, collecting every problem with its position.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::{Regex, RegexBuilder};

use super::model::*;
use super::node::{Node, NodeValue};
use crate::go::GoQuery;
use crate::lines::LineRange;

/// One configuration problem, at a 1-based line and column of the anchors file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub position: Position,
    pub message: String,
}

/// Regexes in anchors.yaml are compiled with these limits so a hostile pattern cannot exhaust
/// memory; the regex crate already guarantees linear-time matching.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The most memory the distinct regexes of one anchors file may compile to, counted as the
/// size of their Thompson NFAs (identical patterns are compiled once and count once). 100,000
/// distinct `(?i)\w+kN` patterns took 79 s and 10 GB; this stops such a file after about 1,800
/// of them with a config error, while thousands of ordinary patterns fit.
pub const TOTAL_REGEX_BYTES: usize = 32 * 1024 * 1024;

/// The size of the Thompson NFA of `pattern` (bytes), what matching it costs per byte of text
/// at worst; `None` when it does not compile within [`REGEX_SIZE_LIMIT`]. Remembered per
/// pattern for the process, so evaluators can ask it of every regex cheaply.
pub fn regex_nfa_bytes(pattern: &str) -> Option<usize> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static KNOWN: OnceLock<Mutex<HashMap<String, Option<usize>>>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(size) = known.lock().ok().and_then(|k| k.get(pattern).copied()) {
        return size;
    }
    let config =
        regex_automata::nfa::thompson::Config::new().nfa_size_limit(Some(REGEX_SIZE_LIMIT));
    let size = regex_automata::nfa::thompson::NFA::compiler()
        .configure(config)
        .build(pattern)
        .ok()
        .map(|nfa| nfa.memory_usage());
    if let Ok(mut known) = known.lock() {
        known.insert(pattern.to_string(), size);
    }
    size
}

const TOP_KEYS: &[&str] = &["version", "repo", "rev", "docs", "claims"];
const CLAIM_KEYS: &[&str] = &["id", "title", "status", "owner", "refs"];
const REF_KEYS: &[&str] = &["path", "lines", "at", "symbol", "expect"];
const CALL_KEYS: &[&str] = &["name", "args"];
const ROUTES_KEYS: &[&str] = &["paths", "on", "methods", "exactly"];
const FAIL_CLOSED_KEYS: &[&str] = &["when", "sinks"];
const TLS_KEYS: &[&str] = &["client_auth", "min_version"];
const QUERY_KEYS: &[&str] = &["pattern", "min", "max"];
/// Every mapping the validator reads, by what it is, with the keys it accepts there: the JSON
/// Schema (docs/anchors.schema.json) is tested against this table, so the two cannot drift apart.
pub const ACCEPTED_KEYS: &[(&str, &[&str])] = &[
    ("anchors.yaml", TOP_KEYS),
    ("claim", CLAIM_KEYS),
    ("ref", REF_KEYS),
    ("call", CALL_KEYS),
    ("routes", ROUTES_KEYS),
    ("fail_closed", FAIL_CLOSED_KEYS),
    ("tls", TLS_KEYS),
    ("query", QUERY_KEYS),
];
const HTTP_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE",
];

/// A Go identifier.
fn is_identifier(s: &str) -> bool {
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

/// A dotted call name: `fatal`, `s.die`, `log.Fatal`.
fn is_callee_name(s: &str) -> bool {
    s.split('.').all(is_identifier)
}

/// Validates a parsed document; `Err` holds every problem found, in file order.
pub fn validate(root: &Node, source: &str, path: &Path) -> Result<AnchorsFile, Vec<Problem>> {
    let mut v = Validator::new(source);
    let file = v.file(root, path);
    v.problems.sort();
    v.problems.dedup();
    match file {
        Some(file) if v.problems.is_empty() => Ok(file),
        _ => Err(v.problems),
    }
}

/// Validates one expectation on its own (the node of a `- call: ...` item's mapping).
pub fn expectation(node: &Node, source: &str) -> Result<Expectation, Vec<Problem>> {
    let mut v = Validator::new(source);
    let expectation = v.expectation(node);
    v.problems.sort();
    match expectation {
        Some(e) if v.problems.is_empty() => Ok(e),
        _ => Err(v.problems),
    }
}

struct Validator<'s> {
    source: &'s str,
    problems: Vec<Problem>,
    /// Regexes compiled so far, by pattern: an identical pattern is compiled once.
    regexes: std::collections::HashMap<String, Regex>,
    /// The NFA bytes of the distinct regexes compiled so far.
    regex_bytes: usize,
    /// The regex budget was exceeded (and said so once): no further regex is compiled.
    regex_budget_spent: bool,
}

/// The string-keyed entries of one mapping, checked against the allowed keys.
struct Fields<'n> {
    position: Position,
    /// Some key was unknown (likely a misspelling of an expected one, already reported).
    had_unknown: bool,
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }
}

/// Whether a scalar may span lines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// Tab is text (YAML allows it inside scalars); line feeds only where the value is code that
/// spans lines; every other C0 or C1 control character, and DEL, never.
fn allowed_char(c: char, lines: Lines) -> bool {
    match c {
        '\t' => true,
        '\n' => lines == Lines::Many,
        c => !c.is_control(),
    }
}

fn control_message(what: &str, c: char, lines: Lines) -> String {
    let what = if what.starts_with('a') && what.contains(' ') {
        what.to_string()
    } else {
        format!("`{what}`")
    };
    let name = match c {
        '\n' => "a line feed",
        '\r' => "a carriage return",
        '\u{1b}' => "an escape character",
        _ => "a control character",
    };
    let rule = match lines {
        Lines::One => "text in anchors.yaml must be one line of printable characters",
        Lines::Many => "only tabs and line feeds may appear among its characters",
    };
    format!("{what} holds {name} (U+{:04X}); {rule}", u32::from(c))
}

/// The closest candidate to a misspelt word, if any is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn suggestion(word: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => format!("; expected one of {}", list(candidates)),
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'s> Validator<'s> {
    fn new(source: &'s str) -> Self {
        Validator {
            source,
            problems: Vec::new(),
            regexes: std::collections::HashMap::new(),
            regex_bytes: 0,
            regex_budget_spent: false,
        }
    }

    fn problem(&mut self, position: Position, message: impl Into<String>) {
        self.problems.push(Problem {
            position,
            message: message.into(),
        });
    }

    /// Checks that `node` is a mapping whose keys are unique strings from `allowed`.
    fn mapping<'n>(&mut self, node: &'n Node, what: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let NodeValue::Map(entries) = &node.value else {
            self.problem(
                node.position,
                format!("{what} must be a mapping, found {}", node.value.describe()),
            );
            return None;
        };
        let mut fields = Fields {
            position: node.position,
            had_unknown: false,
            entries: Vec::new(),
        };
        for (key, value) in entries {
            let NodeValue::Str(name) = &key.value else {
                self.problem(
                    key.position,
                    format!(
                        "keys in {what} must be strings, found {}",
                        key.value.describe()
                    ),
                );
                continue;
            };
            if let Some(c) = name.chars().find(|&c| !allowed_char(c, Lines::One)) {
                self.problem(key.position, control_message("a key", c, Lines::One));
                fields.had_unknown = true;
                continue;
            }
            if !allowed.contains(&name.as_str()) {
                let hint = suggestion(name, allowed);
                self.problem(
                    key.position,
                    format!("unknown key `{name}` in {what}{hint}"),
                );
                fields.had_unknown = true;
                continue;
            }
            if fields.get(name).is_some() {
                self.problem(key.position, format!("duplicate key `{name}` in {what}"));
                continue;
            }
            fields.entries.push((name.as_str(), key, value));
        }
        Some(fields)
    }

    fn require<'n>(&mut self, fields: &Fields<'n>, key: &str, what: &str) -> Option<&'n Node> {
        let found = fields.get(key);
        if found.is_none() {
            self.problem(fields.position, format!("{what} is missing `{key}`"));
        }
        found
    }

    /// A scalar read as text (numbers keep their written form), on one line.
    fn text(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        self.text_lines(node, what, Lines::One)
    }

    /// A scalar read as text; with [`Lines::Many`] it may hold line feeds (a tree-sitter query
    /// or a verbose regex is written over several lines). Any other control character is a
    /// problem: text from anchors.yaml reaches CI logs and Markdown summaries, where a line
    /// break or an escape sequence could forge a workflow command, a heading or a table row.
    fn text_lines(&mut self, node: &Node, what: &str, lines: Lines) -> Option<Located<String>> {
        match node.scalar_text(self.source) {
            Some(value) => {
                if let Some(c) = value.chars().find(|&c| !allowed_char(c, lines)) {
                    self.problem(node.position, control_message(what, c, lines));
                    return None;
                }
                Some(Located {
                    value,
                    position: node.position,
                    span: node.span,
                })
            }
            None => {
                self.problem(
                    node.position,
                    format!("`{what}` must be a string, found {}", node.value.describe()),
                );
                None
            }
        }
    }

    fn non_empty_text(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        self.non_empty_text_lines(node, what, Lines::One)
    }

    fn non_empty_text_lines(
        &mut self,
        node: &Node,
        what: &str,
        lines: Lines,
    ) -> Option<Located<String>> {
        let text = self.text_lines(node, what, lines)?;
        if text.value.trim().is_empty() {
            self.problem(node.position, format!("`{what}` must not be empty"));
            return None;
        }
        Some(text)
    }

    fn sequence<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.value {
            NodeValue::Seq(items) => Some(items),
            other => {
                self.problem(
                    node.position,
                    format!("`{what}` must be a list, found {}", other.describe()),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            NodeValue::Bool(b) => Some(b),
            _ => {
                self.problem(
                    node.position,
                    format!(
                        "`{what}` must be true or false, found {}",
                        node.value.describe()
                    ),
                );
                None
            }
        }
    }

    fn count(&mut self, node: &Node, what: &str) -> Option<usize> {
        match node.value {
            NodeValue::Int(n) if n >= 0 => usize::try_from(n).ok(),
            _ => {
                self.problem(
                    node.position,
                    format!("`{what}` must be a whole number of at least 0"),
                );
                None
            }
        }
    }

    fn regex(&mut self, node: &Node, what: &str) -> Option<Regex> {
        let pattern = self.non_empty_text_lines(node, what, Lines::Many)?;
        if let Some(known) = self.regexes.get(&pattern.value) {
            return Some(known.clone());
        }
        if self.regex_budget_spent {
            return None;
        }
        // A pattern that does not compile gets its message from the regex builder below.
        let bytes = regex_nfa_bytes(&pattern.value).unwrap_or(0);
        if self.regex_bytes + bytes > TOTAL_REGEX_BYTES {
            self.problem(
                node.position,
                format!(
                    "invalid regex in `{what}`: the file's distinct regexes compile to more than {TOTAL_REGEX_BYTES} bytes in total (this one adds {bytes}); reuse identical patterns or simplify them (regexes after this one are not compiled)"
                ),
            );
            self.regex_budget_spent = true;
            return None;
        }
        match RegexBuilder::new(&pattern.value)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(re) => {
                self.regex_bytes += bytes;
                self.regexes.insert(pattern.value, re.clone());
                Some(re)
            }
            Err(e) => {
                let detail = match &e {
                    regex::Error::Syntax(s) => s
                        .lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("syntax error")
                        .trim()
                        .trim_start_matches("error: ")
                        .to_string(),
                    regex::Error::CompiledTooBig(limit) => {
                        format!("the compiled regex is larger than the {limit}-byte limit")
                    }
                    other => other.to_string(),
                };
                self.problem(
                    node.position,
                    format!("invalid regex in `{what}`: {detail}"),
                );
                None
            }
        }
    }

    fn file(&mut self, root: &Node, path: &Path) -> Option<AnchorsFile> {
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
            for item in items {
                if let Some(claim) = self.claim(item) {
                    claims.push(claim);
                }
            }
        }
        // A map, not a scan of the ids seen so far: 100,000 claims must stay linear.
        let mut seen: std::collections::HashMap<&str, &Located<String>> =
            std::collections::HashMap::new();
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
        Some(AnchorsFile {
            path: PathBuf::from(path),
            repo,
            rev,
            docs,
            claims,
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
        Some(Claim {
            id: id?,
            title,
            status: status?,
            owner,
            refs,
        })
    }

    fn status(&mut self, node: &Node) -> Option<ClaimStatus> {
        let text = self.non_empty_text(node, "status")?;
        let names: Vec<&str> = ClaimStatus::ALL.iter().map(|(n, _)| *n).collect();
        match ClaimStatus::ALL.iter().find(|(n, _)| *n == text.value) {
            Some((_, s)) => Some(*s),
            None => {
                let hint = suggestion(&text.value, &names);
                self.problem(
                    node.position,
                    format!("unknown status `{}`{hint}", text.value),
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

    fn expectation(&mut self, node: &Node) -> Option<Expectation> {
        let NodeValue::Map(entries) = &node.value else {
            let hint = match &node.value {
                NodeValue::Str(s) => format!(" (write `- text: {s}` or another kind)"),
                _ => String::new(),
            };
            self.problem(
                node.position,
                format!(
                    "an expectation is a one-key mapping such as `call: log.Fatal*`, found {}{hint}",
                    node.value.describe()
                ),
            );
            return None;
        };
        let Some((key, value)) = entries.first() else {
            self.problem(node.position, "an expectation must not be empty");
            return None;
        };
        let NodeValue::Str(kind) = &key.value else {
            self.problem(
                key.position,
                "an expectation's key must be its kind, such as `call`",
            );
            return None;
        };
        if let Some((extra, _)) = entries.get(1) {
            let extra_name = extra.scalar_text(self.source).unwrap_or_default();
            let message = if kind == "query" && QUERY_KEYS.contains(&extra_name.as_str()) {
                format!(
                    "`{extra_name}` belongs inside the query: write `query: {{pattern: ..., {extra_name}: ...}}`"
                )
            } else {
                format!(
                    "an expectation has exactly one key; `{kind}` and `{extra_name}` must be separate list items"
                )
            };
            self.problem(extra.position, message);
            return None;
        }
        match kind.as_str() {
            "call" => self.call(value).map(Expectation::Call),
            "routes" => self.routes(value).map(Expectation::Routes),
            "fail_closed" => self.fail_closed(value).map(Expectation::FailClosed),
            "tls" => self.tls(value).map(Expectation::Tls),
            "string" => self
                .text(value, "string")
                .map(|l| Expectation::String(l.value)),
            "identifier" => {
                let name = self.non_empty_text(value, "identifier")?;
                Some(Expectation::Identifier(name.value))
            }
            "query" => self.query(value).map(Expectation::Query),
            "text" => self
                .non_empty_text(value, "text")
                .map(|l| Expectation::Text(l.value)),
            "regex" => self.regex(value, "regex").map(Expectation::Regex),
            "not" => self
                .expectation(value)
                .map(|e| Expectation::Not(Box::new(e))),
            "any" | "all" => {
                let items = self.sequence(value, kind)?;
                if items.is_empty() {
                    self.problem(
                        value.position,
                        format!("`{kind}` needs at least one expectation"),
                    );
                    return None;
                }
                let inner: Vec<Option<Expectation>> =
                    items.iter().map(|i| self.expectation(i)).collect();
                let inner: Option<Vec<Expectation>> = inner.into_iter().collect();
                let inner = inner?;
                Some(if kind == "any" {
                    Expectation::Any(inner)
                } else {
                    Expectation::All(inner)
                })
            }
            other => {
                let hint = suggestion(other, &Expectation::KINDS);
                self.problem(key.position, format!("unknown expectation `{other}`{hint}"));
                None
            }
        }
    }

    fn call(&mut self, node: &Node) -> Option<CallPattern> {
        let (name, args) = if let NodeValue::Map(_) = node.value {
            let fields = self.mapping(node, "`call`", CALL_KEYS)?;
            let name = self.require(&fields, "name", "`call`")?;
            let name = self.non_empty_text(name, "name")?;
            let args = match fields.get("args") {
                None => None,
                Some(args) => {
                    let items = self.sequence(args, "args")?;
                    let mut patterns = Vec::new();
                    for item in items {
                        let text = self.text(item, "args")?;
                        patterns.push(if text.value == "_" {
                            ArgPattern::Any
                        } else {
                            ArgPattern::Literal(text.value)
                        });
                    }
                    Some(patterns)
                }
            };
            (name, args)
        } else {
            (self.non_empty_text(node, "call")?, None)
        };
        let glob = if name.value.contains(['*', '?', '[']) {
            match globset::GlobBuilder::new(&name.value)
                .literal_separator(false)
                .build()
            {
                Ok(g) => Some(g.compile_matcher()),
                Err(e) => {
                    self.problem(
                        name.position,
                        format!("invalid glob `{}`: {}", name.value, e.kind()),
                    );
                    return None;
                }
            }
        } else {
            None
        };
        Some(CallPattern {
            name: name.value,
            glob,
            args,
        })
    }

    fn fail_closed(&mut self, node: &Node) -> Option<FailClosedSpec> {
        let fields = self.mapping(node, "`fail_closed`", FAIL_CLOSED_KEYS)?;
        let when = self.require(&fields, "when", "`fail_closed`");
        let when = when.and_then(|w| self.regex(w, "when"));
        let mut sinks = Vec::new();
        let mut ok = true;
        if let Some(items) = fields.get("sinks").and_then(|n| self.sequence(n, "sinks")) {
            for item in items {
                match self.non_empty_text(item, "sinks") {
                    Some(name) if is_callee_name(&name.value) => sinks.push(name.value),
                    Some(name) => {
                        self.problem(
                            item.position,
                            format!(
                                "sink `{}` is not a function name such as `fatal` or `s.die`",
                                name.value
                            ),
                        );
                        ok = false;
                    }
                    None => ok = false,
                }
            }
        }
        Some(FailClosedSpec { when: when?, sinks }).filter(|_| ok)
    }

    fn routes(&mut self, node: &Node) -> Option<RoutesSpec> {
        let fields = self.mapping(node, "`routes`", ROUTES_KEYS)?;
        let mut paths = Vec::new();
        let mut ok = true;
        if let Some(list) = self.require(&fields, "paths", "`routes`")
            && let Some(items) = self.sequence(list, "paths")
        {
            if items.is_empty() {
                self.problem(list.position, "`paths` needs at least one path");
                ok = false;
            }
            for item in items {
                let Some(path) = self.non_empty_text(item, "paths") else {
                    ok = false;
                    continue;
                };
                if !path.value.starts_with('/') {
                    self.problem(
                        item.position,
                        format!(
                            "route path `{}` must start with `/` (put HTTP methods under `methods`)",
                            path.value
                        ),
                    );
                    ok = false;
                    continue;
                }
                paths.push(path.value);
            }
        } else {
            ok = false;
        }
        let on = fields
            .get("on")
            .and_then(|n| self.non_empty_text(n, "on"))
            .map(|l| l.value);
        let mut methods = Vec::new();
        if let Some(items) = fields
            .get("methods")
            .and_then(|n| self.sequence(n, "methods"))
        {
            for item in items {
                let Some(m) = self.non_empty_text(item, "methods") else {
                    ok = false;
                    continue;
                };
                let upper = m.value.to_ascii_uppercase();
                if HTTP_METHODS.contains(&upper.as_str()) {
                    methods.push(upper);
                } else {
                    let hint = suggestion(&upper, HTTP_METHODS);
                    self.problem(
                        item.position,
                        format!("unknown HTTP method `{}`{hint}", m.value),
                    );
                    ok = false;
                }
            }
        }
        let exactly = match fields.get("exactly") {
            Some(n) => self.boolean(n, "exactly")?,
            None => false,
        };
        ok.then_some(RoutesSpec {
            paths,
            on,
            methods,
            exactly,
        })
    }

    fn tls(&mut self, node: &Node) -> Option<TlsSpec> {
        let fields = self.mapping(node, "`tls`", TLS_KEYS)?;
        let mut spec = TlsSpec {
            client_auth: None,
            min_version: None,
        };
        let mut ok = true;
        if let Some(n) = fields.get("client_auth") {
            let text = self.non_empty_text(n, "client_auth")?;
            match ClientAuth::parse(&text.value) {
                Some(mode) => spec.client_auth = Some(mode),
                None => {
                    let names: Vec<&str> = ClientAuth::ALL.iter().map(|(y, _, _)| *y).collect();
                    let hint = suggestion(&text.value, &names);
                    self.problem(
                        n.position,
                        format!("unknown client_auth `{}`{hint}", text.value),
                    );
                    ok = false;
                }
            }
        }
        if let Some(n) = fields.get("min_version") {
            let text = self.non_empty_text(n, "min_version")?;
            match TlsVersion::parse(&text.value) {
                Some(v) => spec.min_version = Some(v),
                None => {
                    self.problem(
                        n.position,
                        format!(
                            "unknown min_version `{}`; expected one of `1.0`, `1.1`, `1.2`, `1.3`",
                            text.value
                        ),
                    );
                    ok = false;
                }
            }
        }
        if ok && spec.client_auth.is_none() && spec.min_version.is_none() {
            self.problem(
                fields.position,
                "`tls` needs `client_auth`, `min_version` or both",
            );
            ok = false;
        }
        ok.then_some(spec)
    }

    fn query(&mut self, node: &Node) -> Option<QuerySpec> {
        let (pattern_node, min, max) = if let NodeValue::Map(_) = node.value {
            let fields = self.mapping(node, "`query`", QUERY_KEYS)?;
            let pattern = self.require(&fields, "pattern", "`query`")?;
            let min = match fields.get("min") {
                Some(n) => self.count(n, "min")?,
                None => 1,
            };
            let max = match fields.get("max") {
                Some(n) => Some(self.count(n, "max")?),
                None => None,
            };
            if let Some(max) = max
                && max < min
            {
                self.problem(
                    fields.position,
                    format!("`max` ({max}) is less than `min` ({min})"),
                );
                return None;
            }
            (pattern, min, max)
        } else {
            (node, 1, None)
        };
        let pattern = self.non_empty_text_lines(pattern_node, "query", Lines::Many)?;
        match GoQuery::compile(&pattern.value) {
            Ok(query) => Some(QuerySpec {
                query: Arc::new(query),
                min,
                max,
            }),
            Err(e) => {
                let position = self.position_inside(pattern_node, &pattern.value, e.row, e.column);
                self.problem(
                    position,
                    format!("tree-sitter query does not compile: {}", e.message),
                );
                None
            }
        }
    }

    /// Maps a 0-based row/column inside a scalar's value back to the anchors file, finding the
    /// value's line in the source (block and quoted scalars put it elsewhere than the key).
    fn position_inside(&self, node: &Node, value: &str, row: usize, column: usize) -> Position {
        let fallback = node.position;
        let Some(span) = node.span else {
            return fallback;
        };
        let Some(line_text) = value.lines().nth(row) else {
            return fallback;
        };
        let needle = line_text.trim_start();
        let indent = line_text.len() - needle.len();
        let Some(found) = self
            .source
            .get(span.start..)
            .and_then(|rest| rest.find(needle))
            .map(|i| span.start + i)
        else {
            return fallback;
        };
        let before = &self.source[..found];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col_chars = self.source[line_start..found].chars().count();
        let in_line = column.saturating_sub(indent);
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(col_chars + in_line + 1).unwrap_or(u32::MAX),
        }
    }
}
