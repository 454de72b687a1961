//! The CI integration files (action.yml, .pre-commit-hooks.yaml, the release and test workflows,
//! the workflows in docs/ci.md) parse as YAML, name only anchorcheck commands and flags that exist,
//! pin third-party actions by commit id and ask for the permissions their steps need.

use std::collections::HashMap;

use regex::Regex;
use serde_json::Value;

use crate::common::{fenced_blocks, root};

const RELEASE: &str = ".github/workflows/release.yml";
const TESTS: &str = ".github/workflows/ci.yml";

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn parse_yaml(name: &str, text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"))
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
        (RELEASE.to_string(), parse_yaml(RELEASE, &read(RELEASE))),
        (TESTS.to_string(), parse_yaml(TESTS, &read(TESTS))),
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
    let comment = Regex::new(r"(^|\s)#.*$").unwrap();
    for line in joined.lines() {
        // A shell comment names no command.
        let line = comment.replace(line, "");
        for c in command.captures_iter(&line) {
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
        let output = crate::common::anchorcheck(root())
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
fn action_is_composite_downloads_the_release_and_builds_only_without_one() {
    let action = parse_yaml("action.yml", &read("action.yml"));
    assert_eq!(action["runs"]["using"], "composite");
    for input in [
        "anchors",
        "repo",
        "rev",
        "base",
        "format",
        "cache-key",
        "version",
    ] {
        assert!(
            action["inputs"].get(input).is_some(),
            "input {input} missing"
        );
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    let run_of = |id: &str| -> &str {
        steps
            .iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["run"].as_str())
            .unwrap_or_else(|| panic!("no step {id}"))
    };
    assert!(run_of("release").contains("install.sh"));
    assert!(run_of("release").contains("--no-build"));
    // The build from source runs only when the release step found no binary.
    let builds: Vec<&Value> = steps
        .iter()
        .filter(|s| s["run"].as_str().is_some_and(|r| r.contains("--build")))
        .collect();
    assert_eq!(builds.len(), 1);
    assert_eq!(
        builds[0]["if"],
        "steps.release.outputs.installed == 'false'"
    );
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

/// `if:` of every action step that uses the Actions cache, by its `uses`.
fn cache_conditions() -> Vec<(String, String)> {
    let action = parse_yaml("action.yml", &read("action.yml"));
    action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            let uses = s["uses"].as_str()?;
            uses.starts_with("actions/cache")
                .then(|| (uses.to_string(), s["if"].as_str().unwrap_or("").to_string()))
        })
        .collect()
}

#[test]
fn action_trusts_the_cache_only_where_no_pull_request_can_write_it() {
    let steps = cache_conditions();
    assert_eq!(steps.len(), 4, "{steps:#?}");
    for (uses, condition) in &steps {
        let condition = condition.split_whitespace().collect::<Vec<_>>().join(" ");
        // Never the combined restore-and-save action: restore and save each have a condition.
        assert!(
            uses.starts_with("actions/cache/restore@") || uses.starts_with("actions/cache/save@"),
            "{uses}"
        );
        let trusted_only = condition.contains(
            "(github.event_name == 'push' || github.event_name == 'schedule') && github.ref == format('refs/heads/{0}', github.event.repository.default_branch)",
        );
        let saves = uses.starts_with("actions/cache/save@");
        let results = condition.contains("inputs.cache");
        if saves || results {
            assert!(trusted_only, "{uses} if: {condition}");
        } else {
            // The build cache of the cargo fallback may be read by pull requests, but never in
            // pull_request_target's default-branch scope.
            assert!(
                condition.contains("github.event_name != 'pull_request_target'"),
                "{uses} if: {condition}"
            );
        }
    }
    let action = read("action.yml");
    assert!(action.contains("ANCHORCHECK_CACHE_KEY: ${{ inputs.cache-key }}"));
}

/// The raw text of every file or snippet that may use actions, named for messages: comments
/// (the tag beside a pinned commit id) are only in the raw text.
fn workflow_texts() -> Vec<(String, String)> {
    let mut texts = vec![
        ("action.yml".to_string(), read("action.yml")),
        (RELEASE.to_string(), read(RELEASE)),
        (TESTS.to_string(), read(TESTS)),
    ];
    for (i, block) in fenced_blocks(&read("docs/ci.md"), "yaml")
        .into_iter()
        .enumerate()
    {
        texts.push((format!("docs/ci.md yaml block {}", i + 1), block));
    }
    texts
}

#[test]
fn third_party_actions_are_pinned_by_commit_id_with_the_tag_beside_it() {
    let uses = Regex::new(r"^\s*(?:-\s+)?uses:\s*([^\s@]+)@(\S+)(?:\s+#\s*(\S+))?").unwrap();
    let sha = Regex::new("^[0-9a-f]{40}$").unwrap();
    let tag = Regex::new(r"^v\d+(\.\d+){0,2}$").unwrap();
    let mut seen = 0;
    let mut ours: Vec<String> = Vec::new();
    for (name, text) in workflow_texts() {
        for line in text.lines() {
            let Some(c) = uses.captures(line) else {
                continue;
            };
            seen += 1;
            let (action, reference) = (&c[1], &c[2]);
            if action == "anchorcheck/anchorcheck" {
                // Ours is named by a release tag: the action installs that release.
                assert!(tag.is_match(reference), "{name}: {line}");
                ours.push(reference.to_string());
                continue;
            }
            assert!(
                sha.is_match(reference),
                "{name}: {action} is not pinned by commit id: {line}"
            );
            // Generated by cargo-dist, which writes no comment; ours say which tag it is.
            if name != RELEASE {
                let comment = c.get(3).map(|m| m.as_str()).unwrap_or("");
                assert!(
                    tag.is_match(comment),
                    "{name}: no tag beside the commit id: {line}"
                );
            }
        }
    }
    assert!(seen >= 10, "only {seen} `uses:` lines found");
    assert!(
        !ours.is_empty(),
        "docs/ci.md never uses the anchorcheck action"
    );
    let pre_commit = fenced_blocks(&read("docs/ci.md"), "yaml")
        .into_iter()
        .map(|b| parse_yaml("pre-commit", &b))
        .find(|doc| doc.get("repos").is_some())
        .expect("a pre-commit config in docs/ci.md");
    let rev = pre_commit["repos"][0]["rev"].as_str().unwrap().to_string();
    ours.push(rev);
    ours.dedup();
    assert_eq!(ours.len(), 1, "docs/ci.md names several releases: {ours:?}");
    assert!(tag.is_match(&ours[0]));
}

/// The permissions each job of the docs' workflows needs, from what its steps do.
fn needed_permissions(job: &Value) -> Vec<(&'static str, &'static str)> {
    let mut needed = vec![("contents", "read")];
    for step in job["steps"].as_array().unwrap() {
        let uses = step["uses"].as_str().unwrap_or("");
        let sarif = uses.starts_with("github/codeql-action/upload-sarif@")
            || (uses.starts_with("anchorcheck/anchorcheck@") && step["with"]["format"] == "sarif");
        if sarif {
            needed.push(("security-events", "write"));
            needed.push(("actions", "read"));
        }
        if uses.starts_with("marocchino/sticky-pull-request-comment@") {
            needed.push(("pull-requests", "write"));
        }
    }
    needed.sort();
    needed.dedup();
    needed
}

#[test]
fn docs_workflows_grant_each_job_exactly_the_permissions_it_needs() {
    let mut checked = 0;
    for (name, doc) in documents() {
        if !name.starts_with("docs/") || doc.get("jobs").is_none() {
            continue;
        }
        // Nothing by default: each job says what it needs.
        assert_eq!(doc["permissions"], serde_json::json!({}), "{name}");
        for (job_name, job) in doc["jobs"].as_object().unwrap() {
            let granted = job["permissions"]
                .as_object()
                .unwrap_or_else(|| panic!("{name}: job {job_name} sets no permissions"));
            let mut granted: Vec<(String, String)> = granted
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect();
            granted.sort();
            let needed: Vec<(String, String)> = needed_permissions(job)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(granted, needed, "{name}: job {job_name}");
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "docs/ci.md should show the nightly and PR workflows"
    );
}

#[test]
fn pr_workflow_comments_with_the_markdown_report_of_its_one_diff_run() {
    let (name, doc) = documents()
        .into_iter()
        .find(|(name, doc)| name.starts_with("docs/") && doc["on"].get("pull_request").is_some())
        .expect("a pull request workflow in docs/ci.md");
    let steps = doc["jobs"]["anchorcheck"]["steps"].as_array().unwrap();
    let step_using = |action: &str| {
        steps
            .iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .unwrap_or_else(|| panic!("{name}: no step uses {action}"))
    };
    let check = step_using("anchorcheck/anchorcheck@");
    assert!(
        check["with"]["base"].as_str().is_some(),
        "{name}: runs verify, not diff"
    );
    let comment = step_using("marocchino/sticky-pull-request-comment@");
    let id = check["id"].as_str().unwrap();
    assert_eq!(
        comment["with"]["path"],
        format!("${{{{ steps.{id}.outputs.markdown }}}}")
    );
    assert!(comment["if"].as_str().unwrap().starts_with("always()"));
    // Never a trigger that runs in the default branch's cache scope.
    for (_, doc) in documents() {
        assert!(doc["on"].get("pull_request_target").is_none());
    }
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

/// Every `run` script of one job, joined.
fn job_scripts(job: &Value) -> String {
    let mut out = Vec::new();
    scripts(job, &mut out);
    out.join("\n")
}

#[test]
fn test_workflow_runs_what_ci_runs_on_linux_and_macos_with_read_only_jobs() {
    let doc = parse_yaml(TESTS, &read(TESTS));
    let ci = read(".ci/run");
    // The local CI's own commands, each also in the workflow.
    for command in [
        "cargo fmt --all -- --check",
        "cargo clippy --workspace --all-targets -- -D warnings",
        "cargo test",
        "cargo run --release -- verify",
    ] {
        assert!(ci.contains(command), ".ci/run no longer runs `{command}`");
        let jobs: Vec<&String> = doc["jobs"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, job)| job_scripts(job).lines().any(|l| l.trim() == command))
            .map(|(name, _)| name)
            .collect();
        assert!(!jobs.is_empty(), "{TESTS} never runs `{command}`");
    }
    let test = &doc["jobs"]["test"];
    assert_eq!(
        test["strategy"]["matrix"]["os"],
        serde_json::json!(["ubuntu-latest", "macos-latest"])
    );
    // The ignored (slow) tests run, on the schedule only.
    let slow = &doc["jobs"]["slow"];
    assert!(job_scripts(slow).contains("-- --ignored"));
    assert!(
        slow["if"]
            .as_str()
            .unwrap()
            .contains("github.event_name == 'schedule'")
    );
    assert!(doc["on"]["schedule"].is_array());
    // Nothing by default; each job reads the repository and nothing else, and the checkout
    // keeps no token on disk for a later step to find.
    assert_eq!(doc["permissions"], serde_json::json!({}));
    for (name, job) in doc["jobs"].as_object().unwrap() {
        assert_eq!(
            job["permissions"],
            serde_json::json!({"contents": "read"}),
            "{TESTS}: job {name}"
        );
        for step in job["steps"].as_array().unwrap() {
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
            {
                assert_eq!(step["with"]["persist-credentials"], false, "{name}");
            }
        }
    }
}

/// Issue 23 row 11: the release workflow records each archive's SHA-256 in action.yml, in the
/// two lines of the install step that the action checks the download against.
#[test]
fn the_release_records_the_binaries_sha256_in_the_action() {
    let release = parse_yaml(RELEASE, &read(RELEASE));
    let jobs = release["jobs"].as_object().unwrap();
    assert!(
        jobs.values()
            .any(|j| j["uses"] == "./.github/workflows/record-sha256.yml"
                && j["needs"].to_string().contains("announce")),
        "the release workflow does not record the SHA-256s after announcing"
    );
    let record = read(".github/workflows/record-sha256.yml");
    assert!(
        record.contains("sh .github/record-sha256.sh \"$TAG\""),
        "{record}"
    );
    let action = read("action.yml");
    for key in ["PINNED_VERSION: ", "PINNED_SHA256: "] {
        assert_eq!(
            action
                .lines()
                .filter(|l| l.trim_start().starts_with(key))
                .count(),
            1,
            "{key}"
        );
    }
    let step = parse_yaml("action.yml", &action)["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "release")
        .cloned()
        .unwrap();
    assert!(
        step["run"]
            .as_str()
            .unwrap()
            .contains("--pinned \"$PINNED_SHA256\"")
    );
    assert!(step["env"]["PINNED_SHA256"].is_string());
}
