//! Reads a hand-written anchors file of the bench: its claims, each ref's path, lines, `at` and
//! what its expectations are about (see `ops::Expectations`). anchorcheck itself validates the
//! file when it verifies it; this only takes what the operators need.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use regex::Regex;
use serde_json::Value;

use crate::ops::{Expectations, RouteExpect, TlsExpect};

pub struct ClaimsFile {
    pub path: PathBuf,
    /// `owner-name`, the file's stem.
    pub stem: String,
    /// The one commit every ref's `at` names.
    pub commit: String,
    pub claims: Vec<Claim>,
}

pub struct Claim {
    pub id: String,
    pub refs: Vec<Ref>,
}

pub struct Ref {
    pub path: String,
    pub lines: (usize, usize),
    pub exp: Expectations,
}

pub fn read(path: &Path) -> Result<ClaimsFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let doc: Value =
        serde_saphyr::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .context("claims file name")?
        .to_string();
    let mut commit: Option<String> = None;
    let mut claims = Vec::new();
    for c in doc["claims"].as_array().context("no claims")? {
        let id = c["id"].as_str().context("claim without id")?.to_string();
        let mut refs = Vec::new();
        for r in c["refs"].as_array().into_iter().flatten() {
            let rpath = r["path"].as_str().context("ref without path")?.to_string();
            let lines = match &r["lines"] {
                Value::Number(n) => {
                    let l = n.as_u64().context("lines")? as usize;
                    (l, l)
                }
                Value::String(s) => match s.split_once('-') {
                    Some((a, b)) => (a.trim().parse()?, b.trim().parse()?),
                    None => {
                        let l = s.trim().parse()?;
                        (l, l)
                    }
                },
                other => bail!("{id}: lines {other}"),
            };
            let at = r["at"]
                .as_str()
                .with_context(|| format!("{id}: every ref of the bench names its `at`"))?;
            match &commit {
                None => commit = Some(at.to_string()),
                Some(c) if c != at => bail!("{id}: `at` {at} is not the file's commit {c}"),
                _ => {}
            }
            let mut exp = Expectations::default();
            for e in r["expect"].as_array().into_iter().flatten() {
                expectation(e, &mut exp)?;
            }
            words(&r["expect"], &mut exp.words);
            refs.push(Ref {
                path: rpath,
                lines,
                exp,
            });
        }
        claims.push(Claim { id, refs });
    }
    Ok(ClaimsFile {
        path: path.to_path_buf(),
        stem,
        commit: commit.context("no refs")?,
        claims,
    })
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn expectation(e: &Value, exp: &mut Expectations) -> Result<()> {
    let Some(obj) = e.as_object() else {
        return Ok(());
    };
    for (k, v) in obj {
        match k.as_str() {
            "fail_closed" => {
                let when = v["when"].as_str().context("fail_closed without when")?;
                exp.guards.push(Regex::new(when)?);
            }
            "tls" => exp.tls.push(TlsExpect {
                client_auth: v["client_auth"].as_str().map(String::from),
                min_version: match &v["min_version"] {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                },
            }),
            "routes" => exp.routes.push(RouteExpect {
                paths: strings(&v["paths"]),
                on: v["on"].as_str().map(String::from),
                methods: strings(&v["methods"]),
            }),
            "call" => match v {
                Value::String(s) => exp.calls.push(s.clone()),
                _ => exp.calls.extend(v["name"].as_str().map(String::from)),
            },
            "query" => match v {
                Value::String(s) => exp.queries.push(s.clone()),
                _ => exp.queries.extend(v["pattern"].as_str().map(String::from)),
            },
            // Every inner expectation of `all` must hold: each is claimed.
            "all" => {
                for inner in v.as_array().into_iter().flatten() {
                    expectation(inner, exp)?;
                }
            }
            // `not` and `any` claim none of their inner expectations on their own.
            _ => {}
        }
    }
    Ok(())
}

fn words(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| words(x, out)),
        Value::Object(o) => o.values().for_each(|x| words(x, out)),
        _ => {}
    }
}
