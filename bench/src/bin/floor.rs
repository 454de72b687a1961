//! The floor: reads the cited blobs with git2 and parses each whole file with tree-sitter-go, in
//! parallel, and nothing else. Any verifier that parses whole files costs at least this much.
//!
//! Usage: bench-floor REPO REV PATHS_FILE (one repo-relative path per line).

use std::path::Path;

use anyhow::{Context, Result, bail};
use git2::Repository;
// The zlib anchorcheck's binary inflates objects with (see its src/main.rs), so the floor reads
// blobs as it does.
use libz_rs_sys as _;
use rayon::prelude::*;
use tree_sitter::Parser;

/// The allocator anchorcheck's binary uses, so the floor allocates as it does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo_dir, rev, paths_file] = args.as_slice() else {
        bail!("usage: bench-floor REPO REV PATHS_FILE");
    };
    let paths: Vec<String> = std::fs::read_to_string(paths_file)
        .with_context(|| format!("reading {paths_file}"))?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let tree_id = Repository::open(repo_dir)?
        .revparse_single(rev)?
        .peel_to_tree()?
        .id();
    let (bytes, nodes) = paths
        .par_iter()
        .map_init(
            || {
                // One repository and one parser per rayon worker, as anchorcheck does.
                let repo = Repository::open(repo_dir).expect("open repository");
                let mut parser = Parser::new();
                parser
                    .set_language(&tree_sitter_go::LANGUAGE.into())
                    .expect("Go grammar");
                (repo, parser)
            },
            |(repo, parser), path| -> Result<(usize, usize)> {
                let tree = repo.find_tree(tree_id)?;
                let entry = tree.get_path(Path::new(path))?;
                let blob = repo.find_blob(entry.id())?;
                let parsed = parser
                    .parse(blob.content(), None)
                    .context("tree-sitter gave up")?;
                Ok((
                    blob.content().len(),
                    parsed.root_node().child_count() as usize,
                ))
            },
        )
        .try_reduce(|| (0, 0), |a, b| Ok((a.0 + b.0, a.1 + b.1)))?;
    println!(
        "{} files, {bytes} bytes, {nodes} top-level nodes",
        paths.len()
    );
    Ok(())
}
