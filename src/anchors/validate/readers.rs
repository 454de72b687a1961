//! The validator and the readers every part of anchors.yaml uses: mappings checked against
//! the keys allowed there, text (one line, or several for code), lists, booleans, counts and
//! regexes, each reporting what is wrong with its position; and "did you mean".

use std::collections::HashMap;

use regex::{Regex, RegexBuilder};

use super::Problem;
use crate::anchors::model::{Located, Position};
use crate::anchors::node::{Node, NodeValue};

/// Regexes in anchors.yaml are compiled with these limits so a hostile pattern cannot exhaust
/// memory; the regex crate already guarantees linear-time matching.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The most memory the distinct regexes of one anchors file may compile to, counted as the
/// size of their Thompson NFAs (identical patterns are compiled once and count once). 100,000
/// distinct `(?i)\w+kN` patterns took 79 s and 10 GB; this stops such a file after about 1,800
/// of them with a config error, while thousands of ordinary patterns fit.
pub const TOTAL_REGEX_BYTES: usize = 32 * 1024 * 1024;

/// The size of the Thompson NFA of `pattern` (bytes), what matching it costs per byte of text
/// at worst; `None` when it does not compile within `REGEX_SIZE_LIMIT`. Remembered per
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

pub(super) struct Validator<'s> {
    pub(super) source: &'s str,
    pub(super) problems: Vec<Problem>,
    /// Regexes compiled so far, by pattern: an identical pattern is compiled once.
    regexes: HashMap<String, Regex>,
    /// The NFA bytes of the distinct regexes compiled so far.
    regex_bytes: usize,
    /// The regex budget was exceeded (and said so once): no further regex is compiled.
    regex_budget_spent: bool,
}

/// The string-keyed entries of one mapping, checked against the allowed keys.
pub(super) struct Fields<'n> {
    pub(super) position: Position,
    /// Some key was unknown (likely a misspelling of an expected one, already reported).
    pub(super) had_unknown: bool,
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }
}

/// Whether a scalar may span lines.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Lines {
    One,
    Many,
}

/// Tab is text (YAML allows it inside scalars); line feeds only where the value is code that
/// spans lines; every other C0 or C1 control character, and DEL, never.
pub(super) fn allowed_char(c: char, lines: Lines) -> bool {
    match c {
        '\t' => true,
        '\n' => lines == Lines::Many,
        c => !c.is_control(),
    }
}

pub(super) fn control_message(what: &str, c: char, lines: Lines) -> String {
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

pub(super) fn suggestion(word: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => format!("; expected one of {}", list(candidates)),
    }
}

pub(super) fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'s> Validator<'s> {
    pub(super) fn new(source: &'s str) -> Self {
        Validator {
            source,
            problems: Vec::new(),
            regexes: HashMap::new(),
            regex_bytes: 0,
            regex_budget_spent: false,
        }
    }

    pub(super) fn problem(&mut self, position: Position, message: impl Into<String>) {
        self.problems.push(Problem {
            position,
            message: message.into(),
        });
    }

    /// Checks that `node` is a mapping whose keys are unique strings from `allowed`.
    pub(super) fn mapping<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
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
                    format!("unknown key {} in {what}{hint}", echoed(name)),
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

    pub(super) fn require<'n>(
        &mut self,
        fields: &Fields<'n>,
        key: &str,
        what: &str,
    ) -> Option<&'n Node> {
        let found = fields.get(key);
        if found.is_none() {
            self.problem(fields.position, format!("{what} is missing `{key}`"));
        }
        found
    }

    /// A scalar read as text (numbers keep their written form), on one line.
    pub(super) fn text(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        self.text_lines(node, what, Lines::One)
    }

    /// A scalar read as text; with [`Lines::Many`] it may hold line feeds (a tree-sitter query
    /// or a verbose regex is written over several lines). Any other control character is a
    /// problem: text from anchors.yaml reaches CI logs and Markdown summaries, where a line
    /// break or an escape sequence could forge a workflow command, a heading or a table row.
    pub(super) fn text_lines(
        &mut self,
        node: &Node,
        what: &str,
        lines: Lines,
    ) -> Option<Located<String>> {
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

    pub(super) fn non_empty_text(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        self.non_empty_text_lines(node, what, Lines::One)
    }

    pub(super) fn non_empty_text_lines(
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

    pub(super) fn sequence<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
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

    pub(super) fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
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

    pub(super) fn count(&mut self, node: &Node, what: &str) -> Option<usize> {
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

    pub(super) fn regex(&mut self, node: &Node, what: &str) -> Option<Regex> {
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

    /// Maps a 0-based row/column inside a scalar's value back to the anchors file, finding the
    /// value's line in the source (block and quoted scalars put it elsewhere than the key).
    pub(super) fn position_inside(
        &self,
        node: &Node,
        value: &str,
        row: usize,
        column: usize,
    ) -> Position {
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
        let at = Position::of_offset(self.source, found);
        let in_line = column.saturating_sub(indent);
        Position {
            line: at.line,
            column: u32::try_from(at.column as usize + in_line).unwrap_or(u32::MAX),
        }
    }
}

/// Longest unknown name (a key, an expectation kind, a status) that a message quotes.
pub(super) const MAX_ECHOED_NAME: usize = 32;

/// An unknown name as a message quotes it: `` `name` `` when it looks like an identifier of at
/// most [`MAX_ECHOED_NAME`] characters, else only its length. A file read by mistake (or through
/// a link) can hold secrets as keys, and messages end up in CI logs.
pub(super) fn echoed(name: &str) -> String {
    let short = name.chars().count() <= MAX_ECHOED_NAME;
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/'));
    if short && plain {
        format!("`{name}`")
    } else {
        format!("of {} characters (not shown)", name.chars().count())
    }
}
