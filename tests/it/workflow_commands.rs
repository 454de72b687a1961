//! Issue 17: no output of anchorcheck lets repository text issue GitHub Actions workflow
//! commands. Every format is rendered for an anchors file full of hostile strings and a Go file
//! whose comments hold `::error::`, `##[add-mask]` and `%0A`, with `GITHUB_ACTIONS=true`, and
//! the runner's command parsing (actions/runner's `ActionCommand.TryParseV2`, `TryParse` and
//! `ActionCommandManager`'s stop-commands handling) is applied to every line of stdout and
//! stderr: the only commands found are the github format's own annotations.

use std::collections::HashMap;
use std::path::Path;

use crate::common::{TestRepo, anchorcheck};
use anchorcheck::report::workflow::is_ignorable;

/// The commands the runner registers (case-insensitive), besides a stop token.
const REGISTERED: [&str; 15] = [
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "warning",
];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Command {
    name: String,
    properties: HashMap<String, String>,
    data: String,
}

/// The runner's view of a step's output.
#[derive(Default)]
struct Runner {
    /// The token that resumes command processing, while stopped.
    stopped: Option<String>,
    /// Commands executed (stop and resume included).
    executed: Vec<Command>,
}

fn registered(name: &str, stop_token: Option<&str>) -> bool {
    REGISTERED.iter().any(|c| c.eq_ignore_ascii_case(name))
        || stop_token.is_some_and(|t| t.eq_ignore_ascii_case(name))
}

fn unescape(text: &str, property: bool) -> String {
    let mut out = text.replace("%0D", "\r").replace("%0A", "\n");
    if property {
        out = out.replace("%3A", ":").replace("%2C", ",");
    }
    out.replace("%25", "%")
}

impl Runner {
    /// `TryParseV2` then `TryParse`, on the line with ignorable characters removed (a
    /// culture-aware `StartsWith`/`IndexOf` may skip them).
    fn parse(&self, line: &str) -> Option<Command> {
        let folded: String = line.chars().filter(|c| !is_ignorable(*c)).collect();
        let token = self.stopped.as_deref();
        // ::name props::data, after leading whitespace.
        let trimmed = folded.trim_start();
        if let Some(rest) = trimmed.strip_prefix("::")
            && let Some(end) = rest.find("::")
        {
            let info = &rest[..end];
            let (name, props) = info.split_once(' ').unwrap_or((info, ""));
            if registered(name, token) {
                let properties = props
                    .trim()
                    .split(',')
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| (k.to_string(), unescape(v, true)))
                    .collect();
                return Some(Command {
                    name: name.to_string(),
                    properties,
                    data: unescape(&rest[end + 2..], false),
                });
            }
        }
        // ##[name props]data, anywhere.
        let at = folded.find("##[")?;
        let close = folded[at..].find(']')? + at;
        let info = &folded[at + 3..close];
        let (name, props) = info.split_once(' ').unwrap_or((info, ""));
        if !registered(name, token) {
            return None;
        }
        let properties = props
            .split(';')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), unescape(v, true)))
            .collect();
        Some(Command {
            name: name.to_string(),
            properties,
            data: unescape(&folded[close + 1..], false),
        })
    }

    /// Reads one step's output: lines end at `\n`, `\r` or `\r\n`.
    fn read(&mut self, output: &str) {
        for line in output.split(['\n', '\r']) {
            let Some(command) = self.parse(line) else {
                continue;
            };
            match &self.stopped {
                Some(token) => {
                    if command.name.eq_ignore_ascii_case(token) {
                        self.stopped = None;
                        self.executed.push(command);
                    }
                }
                None => {
                    if command.name.eq_ignore_ascii_case("stop-commands") {
                        self.stopped = Some(command.data.clone());
                    }
                    self.executed.push(command);
                }
            }
        }
    }
}

/// The commands a step printing `stdout` then `stderr` would run, besides pausing and
/// resuming; and whether commands were left paused.
fn commands_in(stdout: &str, stderr: &str) -> (Vec<Command>, bool) {
    let mut runner = Runner::default();
    runner.read(stdout);
    runner.read(stderr);
    let mut tokens: Vec<String> = Vec::new();
    let commands = runner
        .executed
        .into_iter()
        .filter(|c| {
            if c.name == "stop-commands" {
                tokens.push(c.data.clone());
                return false;
            }
            !tokens.iter().any(|t| t.eq_ignore_ascii_case(&c.name))
        })
        .collect();
    (commands, runner.stopped.is_some())
}

const GO_V1: &str = "package pkg\n\
\n\
// ::error file=main.go,line=2::FORGED from a comment\n\
// ##[add-mask]verified\n\
// 100%0A::error::percent\n\
// zero#\u{200B}#[warning]width\n\
func Start(mtls bool) {\n\
\t// ::warning::inside\r::error::after a carriage return\n\
\tif !mtls {\n\
\t\tlog.Printf(\"##[error]not fatal\")\n\
\t}\n\
}\n\
\n\
// ::error::second\n\
func Other() {\n\
\tlog.Fatal(\"##[set-output name=x]y\")\n\
}\n";

/// Hostile but valid anchors.yaml strings: no control characters (those are config errors).
const TITLE: &str = "t ##[warning]FORGED ::error::mid %0A #\u{200B}#[debug]x";
const OWNER: &str = "::error file=main.go,line=2::FORGED";

fn anchors(at: &str) -> String {
    format!(
        r###"version: 1
docs: ["docs/##[error]page.md"]
claims:
  - id: broken
    title: "{TITLE}"
    owner: "{OWNER}"
    status: required
    refs:
      - path: pkg/hostile.go
        lines: 7-12
        expect:
          - call: log.Fatal
  - id: moved
    title: "::add-mask::title"
    owner: "##[add-mask]owner"
    status: required
    refs:
      - path: pkg/hostile.go
        lines: 15-17
        at: {at}
        expect:
          - call: log.Fatal
  - id: gone
    title: "%0A::error::x"
    status: required
    refs:
      - path: "pkg/##[error]missing.go"
        lines: 1
        expect:
          - text: "##[add-mask]x"
"###
    )
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = anchorcheck(dir)
        .env("GITHUB_ACTIONS", "true")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_output_format_lets_repository_text_issue_commands() {
    let mut repo = TestRepo::new();
    repo.write("pkg/hostile.go", GO_V1);
    let first = repo.commit_all("hostile ##[add-mask]subject");
    repo.write(
        "pkg/hostile.go",
        GO_V1.replace("package pkg\n", "package pkg\n\n// ::error::moved\n"),
    );
    repo.commit_all("move ##[add-mask]x\r::error::subject after a carriage return");
    repo.write("anchors.yaml", anchors(&first.to_string()));
    repo.write(
        "docs/##[error]page.md",
        "# Page\n\nCites pkg/hostile.go:7-12 and pkg/hostile.go:1-2 ##[add-mask]docs\n",
    );

    let base = first.to_string();
    let mut runs: Vec<(String, Vec<&str>)> = Vec::new();
    for format in ["text", "json", "sarif", "github", "junit", "markdown"] {
        runs.push((
            format!("verify {format}"),
            vec!["verify", "--format", format],
        ));
        runs.push((
            format!("diff {format}"),
            vec!["diff", "--base", &base, "--format", format],
        ));
    }
    runs.push(("audit".into(), vec!["audit"]));
    runs.push(("fix --dry-run".into(), vec!["fix", "--dry-run"]));
    runs.push((
        "verify WORKTREE".into(),
        vec!["verify", "--rev", "WORKTREE"],
    ));

    let mut saw_hostile_text = false;
    for (name, args) in &runs {
        let (code, stdout, stderr) = run(repo.path(), args);
        assert!(
            matches!(code, Some(0 | 1)),
            "{name}: {code:?}\n{stdout}\n{stderr}"
        );
        saw_hostile_text |= stdout.contains("add-mask");
        let (commands, paused) = commands_in(&stdout, &stderr);
        assert!(!paused, "{name}: commands left paused\n{stdout}");
        if name.ends_with("github") {
            // Its own annotations, one a line, and nothing else.
            let lines: Vec<&str> = stdout.lines().collect();
            assert_eq!(commands.len(), lines.len(), "{name}:\n{stdout}");
            for c in &commands {
                assert!(
                    ["error", "warning", "notice"].contains(&c.name.as_str()),
                    "{name}: {c:?}"
                );
                assert!(
                    c.properties
                        .get("title")
                        .is_some_and(|t| t.starts_with("anchorcheck")),
                    "{name}: {c:?}"
                );
                assert_ne!(
                    c.properties.get("file").map(String::as_str),
                    Some("main.go")
                );
            }
        } else {
            assert!(
                commands.is_empty(),
                "{name} lets text issue commands: {commands:#?}\n{stdout}\n{stderr}"
            );
        }
    }
    assert!(saw_hostile_text, "the hostile text must reach the output");
}

#[test]
fn config_error_messages_on_stderr_issue_no_commands() {
    let repo = TestRepo::new();
    repo.write(
        "anchors.yaml",
        "version: 1\nclaims:\n  - id: a\n    status: \"##[add-mask]required\"\n    refs:\n      - path: \"/##[add-mask]x.go\"\n        lines: 1\n        symbol: \"::error::y\"\n    owner: \"x\\n::error::y\"\n",
    );
    // Issue 23: an unknown status is not quoted unless it looks like a name; the path and
    // symbol still are, and carry the hostile text to stderr.
    let (code, stdout, stderr) = run(repo.path(), &["verify"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("add-mask"), "{stderr}");
    let (commands, _) = commands_in(&stdout, &stderr);
    assert!(commands.is_empty(), "{commands:#?}\n{stderr}");
}

#[test]
fn the_runner_model_finds_the_commands_it_should() {
    // The checks above can fail: unguarded text is read as commands.
    let (commands, _) = commands_in(
        "a ##[add-mask]x\n  ::error file=a.go::y\rz #\u{200B}#[debug]w\n",
        "",
    );
    let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["add-mask", "error", "debug"]);
    let (commands, paused) = commands_in("::stop-commands::t1\n::error::x\n::t1::\n", "");
    assert!(commands.is_empty() && !paused);
}
