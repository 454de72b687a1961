//! The README's commands, usage and anchors.yaml examples stay true to the code.

use std::path::Path;

use anchorcheck::anchors;

use crate::common::fenced_blocks;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn readme_opens_with_the_main_and_test_commands() {
    let text = readme();
    let first = &fenced_blocks(&text, "sh")[0];
    let commands: Vec<&str> = first
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(commands, ["cargo run --release -- verify", "cargo test"]);
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    for command in commands {
        assert!(
            ci.lines().any(|l| l.trim() == command),
            "{command} missing from .ci/run"
        );
    }
}

#[test]
fn readme_anchors_examples_validate() {
    let text = readme();
    let blocks = fenced_blocks(&text, "yaml");
    assert!(blocks.len() >= 2);
    for block in &blocks {
        let document = if block.starts_with("version:") {
            block.clone()
        } else {
            // An `expect:` fragment: wrap it in a ref so it validates as written.
            let indented: String = block.lines().map(|l| format!("        {l}\n")).collect();
            format!(
                "version: 1\nclaims:\n  - id: x\n    status: implemented\n    refs:\n      - path: a.go\n        lines: 1-9\n{indented}"
            )
        };
        if let Err(e) = anchors::parse(&document, Path::new("README.md"), Path::new("README.md")) {
            panic!("README example does not validate:\n{e}\n---\n{document}");
        }
    }
}

#[test]
fn readme_usage_names_only_real_commands_and_flags() {
    let text = readme();
    let usages: Vec<String> = fenced_blocks(&text, "text")
        .into_iter()
        .filter(|b| b.starts_with("anchorcheck "))
        .collect();
    assert!(
        usages.len() >= 2,
        "the usage of verify/diff/fix and of audit"
    );
    let mut command = String::new();
    let mut checked = 0;
    for line in usages.iter().flat_map(|u| u.lines()) {
        if let Some(rest) = line.strip_prefix("anchorcheck ") {
            command = rest.split_whitespace().next().unwrap().to_string();
        }
        let help = crate::common::anchorcheck(Path::new(env!("CARGO_MANIFEST_DIR")))
            .args([command.as_str(), "--help"])
            .output()
            .unwrap();
        assert!(
            help.status.success(),
            "`anchorcheck {command}` does not exist"
        );
        let help = String::from_utf8(help.stdout).unwrap();
        for flag in line.split_whitespace().filter_map(|w| {
            let w = w.trim_start_matches('[');
            w.starts_with("--")
                .then(|| w.trim_end_matches(['.', ']']).to_string())
        }) {
            assert!(
                help.contains(&flag),
                "README names {flag}, which {command} --help lacks"
            );
            checked += 1;
        }
    }
    assert!(checked > 10);
}

#[test]
fn top_level_anchors_yaml_validates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("anchors.yaml");
    let (file, _) = anchors::load(&path, Path::new("anchors.yaml")).unwrap();
    assert!(
        file.claims.len() >= 9,
        "the seed page's capability table has 9 rows"
    );
    assert!(file.claims.iter().all(|c| !c.refs.is_empty()));
}
