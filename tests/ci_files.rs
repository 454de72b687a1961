//! The CI integration files (action.yml, .pre-commit-hooks.yaml, the workflows in docs/ci.md)
//! parse as YAML and name only anchorcheck commands and flags that exist.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn parse_yaml(name: &str, text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"))
}

/// The fenced blocks of a Markdown page with the given info string.
fn fenced_blocks(markdown: &str, info: &str) -> Vec<String> {
    let opening = format!("```{info}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == opening => current = Some(String::new()),
            Some(block) if line.trim() == "```" => blocks.push(current.take().unwrap()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Every YAML document the CI files hold, named for messages.
fn documents() -> Vec<(String, Value)> {
    let mut docs = vec![
        (
            "action.yml".to_string(),
            parse_yaml("action.yml", &read("action.yml")),
        ),
        (
            ".pre-commit-hooks.yaml".to_string(),
            parse_yaml(".pre-commit-hooks.yaml", &read(".pre-commit-hooks.yaml")),
        ),
    ];
    for (i, block) in fenced_blocks(&read("docs/ci.md"), "yaml")
        .iter()
        .enumerate()
    {
        let name = format!("docs/ci.md yaml block {}", i + 1);
        let value = parse_yaml(&name, block);
        docs.push((name, value));
    }
    docs
}

/// The shell text under `run` and `entry` keys, anywhere in the document.
fn scripts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("run" | "entry", Value::String(s)) => out.push(s.clone()),
                    _ => scripts(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| scripts(v, out)),
        _ => {}
    }
}

/// Each `anchorcheck SUBCOMMAND` invocation in a script, with the flags it passes. Lines ending
/// in `\` continue; a redirection or command separator ends the invocation.
fn invocations(script: &str) -> Vec<(String, Vec<String>)> {
    let command = Regex::new(r"\banchorcheck\s+([a-z][a-z-]*)([^>|;&]*)").unwrap();
    let flag = Regex::new(r"(?:^|[\s(+])(--[a-z][a-z-]*)").unwrap();
    let joined = script.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        for c in command.captures_iter(line) {
            let flags = flag
                .captures_iter(&c[2])
                .map(|f| f[1].to_string())
                .collect();
            found.push((c[1].to_string(), flags));
        }
    }
    found
}

/// `anchorcheck SUBCOMMAND --help`, cached; panics when the subcommand does not exist.
fn help<'a>(cache: &'a mut HashMap<String, String>, sub: &str, whence: &str) -> &'a str {
    cache.entry(sub.to_string()).or_insert_with(|| {
        let output = common::anchorcheck(root())
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{whence} runs `anchorcheck {sub}`, which does not exist: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    })
}

#[test]
fn ci_files_name_only_real_subcommands_and_flags() {
    let mut cache = HashMap::new();
    let mut named: Vec<(String, String)> = Vec::new();
    let mut all: Vec<(String, Vec<String>)> = documents()
        .into_iter()
        .map(|(name, doc)| {
            let mut found = Vec::new();
            scripts(&doc, &mut found);
            (name, found)
        })
        .collect();
    for page in ["README.md", "docs/ci.md"] {
        all.push((
            format!("{page} sh blocks"),
            fenced_blocks(&read(page), "sh"),
        ));
    }
    for (name, found) in all {
        for script in found {
            for (sub, flags) in invocations(&script) {
                let help = help(&mut cache, &sub, &name).to_string();
                for f in flags {
                    let listed = Regex::new(&format!(r"\s{}[\s=,]", regex::escape(&f))).unwrap();
                    assert!(
                        listed.is_match(&help),
                        "{name} passes {f} to `anchorcheck {sub}`, whose --help lacks it"
                    );
                    named.push((sub.clone(), f));
                }
            }
        }
    }
    // The check must have seen the commands the docs promise, or it proves nothing.
    for (sub, flag) in [
        ("verify", "--format"),
        ("verify", "--rev"),
        ("verify", "--anchors"),
        ("diff", "--base"),
        ("diff", "--head"),
        ("diff", "--format"),
        ("diff", "--allow-drift"),
    ] {
        assert!(
            named.iter().any(|(s, f)| s == sub && f == flag),
            "no CI file runs `anchorcheck {sub} {flag}`"
        );
    }
}

#[test]
fn invocations_split_flags_per_command() {
    let script = "cargo install --locked\nanchorcheck diff --base x \\\n  ${R:+--head \"$R\"} > out\nanchorcheck verify --rev y | tee";
    assert_eq!(
        invocations(script),
        [
            (
                "diff".to_string(),
                vec!["--base".to_string(), "--head".to_string()]
            ),
            ("verify".to_string(), vec!["--rev".to_string()]),
        ]
    );
}

#[test]
fn workflows_fetch_full_history() {
    let docs: Vec<(String, Value)> = documents()
        .into_iter()
        .filter(|(name, doc)| name.starts_with("docs/") && doc.get("jobs").is_some())
        .collect();
    assert!(
        docs.len() >= 2,
        "docs/ci.md should show the nightly and PR workflows"
    );
    for (name, doc) in docs {
        let text = doc.to_string();
        assert!(
            text.contains("actions/checkout"),
            "{name} checks nothing out"
        );
        let steps = doc["jobs"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|job| job["steps"].as_array().unwrap().iter());
        let checkout = steps
            .filter(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout"))
            })
            .collect::<Vec<_>>();
        assert!(
            checkout.iter().all(|s| s["with"]["fetch-depth"] == 0),
            "{name}: checkout without fetch-depth: 0"
        );
    }
}

#[test]
fn action_is_composite_installs_from_its_checkout_and_uploads_sarif() {
    let action = parse_yaml("action.yml", &read("action.yml"));
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["anchors", "repo", "rev", "base", "format"] {
        assert!(
            action["inputs"].get(input).is_some(),
            "input {input} missing"
        );
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains(r#"cargo install --path "$GITHUB_ACTION_PATH" --locked"#))
    }));
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    assert!(
        upload["if"]
            .as_str()
            .unwrap()
            .contains("inputs.format == 'sarif'")
    );
}

#[test]
fn pre_commit_hook_runs_verify_with_rust() {
    let hooks = parse_yaml(".pre-commit-hooks.yaml", &read(".pre-commit-hooks.yaml"));
    let hook = &hooks[0];
    assert_eq!(hook["id"], "anchorcheck");
    assert_eq!(hook["language"], "rust");
    assert!(
        hook["entry"]
            .as_str()
            .unwrap()
            .starts_with("anchorcheck verify")
    );
}

/// Runs the action's main script with a stand-in `anchorcheck` that prints its arguments, one
/// per line, and returns them.
fn action_argv(env: &[(&str, &str)]) -> Vec<String> {
    let action = parse_yaml("action.yml", &read("action.yml"));
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "run")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let stub = bin.join("anchorcheck");
    std::fs::write(&stub, "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\"\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path: PathBuf = bin;
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(step["run"].as_str().unwrap())
        .env(
            "PATH",
            format!(
                "{}:{}",
                path.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("RUNNER_TEMP", dir.path())
        .env("GITHUB_OUTPUT", dir.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary"));
    for name in [
        "INPUT_ANCHORS",
        "INPUT_REPO",
        "INPUT_REV",
        "INPUT_BASE",
        "INPUT_ALLOW_DRIFT",
    ] {
        cmd.env(name, "");
    }
    cmd.env("INPUT_FORMAT", "github");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let outputs = std::fs::read_to_string(dir.path().join("output")).unwrap();
    assert!(outputs.contains("exit-code=0"), "{outputs}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn action_script_passes_only_the_inputs_given() {
    assert_eq!(action_argv(&[]), ["verify", "--format", "github"]);
    assert_eq!(
        action_argv(&[
            ("INPUT_BASE", "origin/main"),
            ("INPUT_REV", "HEAD"),
            ("INPUT_ANCHORS", "my docs/anchors.yaml"),
            ("INPUT_ALLOW_DRIFT", "yes"),
            ("INPUT_FORMAT", "markdown"),
        ]),
        [
            "diff",
            "--base",
            "origin/main",
            "--head",
            "HEAD",
            "--anchors",
            "my docs/anchors.yaml",
            "--allow-drift",
            "--format",
            "markdown"
        ]
    );
}
