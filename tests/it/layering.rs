//! The pipeline reads one way (docs/architecture.md): no import circle between the files of one
//! module. A file's siblings are the other files of its directory; it refers to one through
//! `super::name` or `crate::dir::name` (in `use` lines, groups such as `use super::{a, b}`, or
//! inline paths). Each such reference is an edge; a cycle of edges within one directory fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its `//` comments (doc comments name modules freely).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first name of each item of the group `{a, b::c, d::{e, f}}` that `text` starts after
/// its `{`.
fn group_heads(text: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && (c.is_alphabetic() || c == '_') => {
                heads.push(ident_at(&text[i..]));
                item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// The names `prefix` is followed by in `code`: `prefix name` or `prefix{name, ..}`.
fn names_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        // A whole path segment: not `foosuper::` or `crate::verify::` matched inside another.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            names.extend(group_heads(group));
        } else {
            names.push(ident_at(rest));
        }
    }
    names
}

/// For each directory of `src`, the sibling files each file refers to.
fn sibling_edges(src: &Path) -> BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        // mod.rs, lib.rs and main.rs are their directory's module: their `super` is another
        // directory, and their children are not their siblings.
        if matches!(stem.as_str(), "mod" | "lib" | "main") {
            continue;
        }
        let dir = path.parent().unwrap().to_path_buf();
        let module: Vec<String> = dir
            .strip_prefix(src)
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let code = code(&std::fs::read_to_string(&path).unwrap());
        let mut names = names_after(&code, "super::");
        let crate_prefix = format!("crate::{}::", module.join("::"));
        if !module.is_empty() {
            names.extend(names_after(&code, &crate_prefix));
        }
        for name in names {
            let sibling =
                dir.join(format!("{name}.rs")).exists() || dir.join(name).join("mod.rs").exists();
            if sibling && name != stem {
                edges
                    .entry(dir.clone())
                    .or_default()
                    .entry(stem.clone())
                    .or_default()
                    .insert(name.to_string());
            }
        }
    }
    edges
}

/// One cycle of `graph`, as the files around it, if it has one.
fn a_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|start| visit(start, graph, &mut Vec::new(), &mut done))
}

/// Every directory's cycle, as `verify: check -> settle -> check`.
fn cycles(src: &Path) -> Vec<String> {
    sibling_edges(src)
        .iter()
        .filter_map(|(dir, graph)| {
            let cycle = a_cycle(graph)?;
            let module = dir.strip_prefix(src).unwrap().display().to_string();
            Some(format!("{module}: {}", cycle.join(" -> ")))
        })
        .collect()
}

#[test]
fn no_import_circle_between_files_of_one_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = cycles(&src);
    assert!(
        found.is_empty(),
        "files of one module import each other (move the shared piece to the stage that owns \
         it, see docs/architecture.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_circle_check_sees_use_groups_inline_paths_and_crate_paths() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let module = src.join("stage");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(src.join("lib.rs"), "mod stage;\n").unwrap();
    std::fs::write(module.join("mod.rs"), "mod a;\nmod b;\nmod c;\n").unwrap();
    let write = |a: &str, b: &str, c: &str| {
        std::fs::write(module.join("a.rs"), a).unwrap();
        std::fs::write(module.join("b.rs"), b).unwrap();
        std::fs::write(module.join("c.rs"), c).unwrap();
    };
    // One way: a -> b -> c, and names in comments or of the parent module are not edges.
    write(
        "use super::{b::{self, X}, Options};\n",
        "// super::a is not called here\nfn f() { super::c::g(); }\n",
        "use crate::stage::Options;\n",
    );
    assert_eq!(cycles(src), Vec::<String>::new());
    // Back edges: a use group, an inline path, a crate path.
    write(
        "use super::{b::{self, X}, Options};\n",
        "fn f() { super::c::g(); }\n",
        "use crate::stage::a::Y;\n",
    );
    assert_eq!(cycles(src), ["stage: a -> b -> c -> a"]);
    write(
        "use super::{Options, b};\n",
        "fn f() { let _ = super::a::Y; }\n",
        "",
    );
    assert_eq!(cycles(src), ["stage: a -> b -> a"]);
}
