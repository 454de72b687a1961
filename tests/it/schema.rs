//! The JSON Schema for anchors.yaml (docs/anchors.schema.json) against the validator: every
//! anchors file the validator accepts passes the schema, the schema-level mistakes among the
//! bad files fail it, and both accept exactly the same keys in every mapping.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anchorcheck::anchors::{self, Expectation, accepted_keys};
use serde_json::Value;

use crate::common::root;

fn schema() -> Value {
    let path = root().join("docs/anchors.schema.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema compiles as draft 2020-12")
}

/// The YAML document as JSON, read as anchorcheck reads it (`on:` is a key, not `true`).
fn yaml_to_json(source: &str) -> Option<Value> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options(source, options).ok()
}

fn schema_errors(validator: &jsonschema::Validator, source: &str) -> Vec<String> {
    let Some(doc) = yaml_to_json(source) else {
        return vec!["not YAML".to_string()];
    };
    validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Every anchors file in the repository: the top-level example and every YAML under testdata/.
fn anchors_files() -> Vec<PathBuf> {
    let mut found = vec![root().join("anchors.yaml")];
    let mut dirs = vec![root().join("testdata")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_anchors_file_the_validator_accepts_passes_the_schema() {
    let validator = validator();
    let mut checked = 0;
    for path in anchors_files() {
        let Ok(source) = std::fs::read_to_string(&path) else {
            continue; // a non-UTF-8 hostile file: the validator refuses it too
        };
        if anchors::parse(&source, &path, &path).is_err() {
            continue;
        }
        let errors = schema_errors(&validator, &source);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} valid anchors files found");
}

/// Files under testdata/config-errors whose mistakes a schema can express. The others are
/// duplicate keys and ids, YAML syntax and queries that do not compile: only anchorcheck sees
/// those.
const SCHEMA_LEVEL_MISTAKES: &[&str] = &[
    "bad-expectations.yaml",
    "bad-paths.yaml",
    "bad-review.yaml",
    "bad-tls-hooks.yaml",
    "bad-values.yaml",
    "empty-expect.yaml",
    "malformed-lines.yaml",
    "misspelt-expect.yaml",
    "required-without-refs.yaml",
    "unknown-keys.yaml",
    "wrong-types.yaml",
];

#[test]
fn schema_level_mistakes_fail_the_schema() {
    let validator = validator();
    let dir = root().join("testdata/config-errors");
    for name in SCHEMA_LEVEL_MISTAKES {
        let source = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            anchors::parse(&source, Path::new(name), Path::new(name)).is_err(),
            "{name} is meant to be invalid"
        );
        assert!(
            !schema_errors(&validator, &source).is_empty(),
            "{name} passes the schema"
        );
    }
}

/// One mistake at a time, each on an otherwise valid file: the schema catches each, so the
/// test above is not passing on one mistake per file.
#[test]
fn each_schema_level_mistake_alone_fails_the_schema() {
    let validator = validator();
    let valid = "version: 1\nclaims:\n  - id: a\n    status: required\n    refs:\n      - path: src/a.go\n        lines: 3-9\n        expect:\n          - call: log.Fatal*\n";
    assert!(schema_errors(&validator, valid).is_empty());
    let mistakes = [
        ("version: 1", "version: 2"),
        ("id: a", "id: has space"),
        ("status: required", "status: requred"),
        ("path: src/a.go", "path: /abs/a.go"),
        ("path: src/a.go", "path: src/../a.go"),
        ("path: src/a.go", "path: src\\a.go"),
        ("path: src/a.go", "path: src//a.go"),
        ("lines: 3-9", "lines: 0"),
        ("lines: 3-9", "lines: three"),
        ("lines: 3-9", "lines: 3-9\n        at: not-a-sha"),
        ("lines: 3-9", "lines: 3-9\n        symbol: \"(*T).M.x\""),
        ("call: log.Fatal*", "cal: log.Fatal*"),
        (
            "call: log.Fatal*",
            "tls: { client_auth: require_and_verfy }",
        ),
        ("call: log.Fatal*", "tls: {}"),
        ("call: log.Fatal*", "tls: { verify_peer_certificate: nil }"),
        ("call: log.Fatal*", "tls: { client_cas: true }"),
        ("call: log.Fatal*", "routes: { paths: [/x], when: \"\" }"),
        ("call: log.Fatal*", "routes: { paths: [\"POST /v1/x\"] }"),
        (
            "call: log.Fatal*",
            "routes: { paths: [/x], methods: [GTE] }",
        ),
        ("call: log.Fatal*", "any: []"),
        ("call: log.Fatal*", "fail_closed: { whn: x }"),
        (
            "call: log.Fatal*",
            "call: log.Fatal*\n            string: x",
        ),
        (
            "        expect:\n          - call: log.Fatal*\n",
            "        expect: []\n",
        ),
        ("    refs:", "    onwer: x\n    refs:"),
    ];
    for (from, to) in mistakes {
        let bad = valid.replacen(from, to, 1);
        assert_ne!(bad, valid, "{from} not found");
        assert!(
            anchors::parse(&bad, Path::new("a.yaml"), Path::new("a.yaml")).is_err(),
            "the validator accepts:\n{bad}"
        );
        assert!(
            !schema_errors(&validator, &bad).is_empty(),
            "the schema accepts:\n{bad}"
        );
    }
}

/// The object in the schema holding the keys of each mapping the validator reads.
fn schema_properties<'s>(schema: &'s Value, mapping: &str) -> &'s Value {
    let expectation = &schema["$defs"]["expectation"]["properties"];
    let at = match mapping {
        "anchors.yaml" => &schema["properties"],
        "claim" => &schema["$defs"]["claim"]["properties"],
        "ref" => &schema["$defs"]["ref"]["properties"],
        "approved" => &schema["$defs"]["approved"]["properties"],
        "waiver" => &schema["$defs"]["waiver"]["properties"],
        "call" => &expectation["call"]["oneOf"][1]["properties"],
        "query" => &expectation["query"]["oneOf"][1]["properties"],
        kind => &expectation[kind]["properties"],
    };
    assert!(at.is_object(), "no properties for {mapping} in the schema");
    at
}

fn keys(object: &Value) -> BTreeSet<String> {
    object.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn schema_and_validator_accept_the_same_keys() {
    let schema = schema();
    for (mapping, accepted) in accepted_keys() {
        let in_schema = keys(schema_properties(&schema, mapping));
        let accepted: BTreeSet<String> = accepted.iter().map(|k| k.to_string()).collect();
        assert_eq!(in_schema, accepted, "keys of {mapping}");
    }
    let kinds: BTreeSet<String> = Expectation::KINDS.iter().map(|k| k.to_string()).collect();
    assert_eq!(
        keys(&schema["$defs"]["expectation"]["properties"]),
        kinds,
        "expectation kinds"
    );
}

#[test]
fn every_schema_property_has_a_description() {
    fn walk(value: &Value, at: &str, missing: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (key, prop) in props {
                        let described = prop.get("description").is_some()
                            || prop
                                .get("$ref")
                                .is_some_and(|_| prop.get("description").is_some());
                        // A property that is only a required-ness refinement inside if/then or
                        // anyOf carries no description of its own.
                        let refinement =
                            at.contains("/then") || at.contains("/anyOf") || at.contains("/if");
                        if !described && !refinement {
                            missing.push(format!("{at}/properties/{key}"));
                        }
                    }
                }
                for (key, child) in map {
                    walk(child, &format!("{at}/{key}"), missing);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), missing);
                }
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    walk(&schema(), "#", &mut missing);
    assert!(missing.is_empty(), "{missing:#?}");
}
