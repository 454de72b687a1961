//! The integration tests, one binary (as ripgrep's tests/integration): fixture repositories
//! built with git2 in temp dirs from trees under testdata/, and the anchorcheck binary run on
//! them. Shared helpers live in `common`.

mod common;
// The bench's corpus generator, for the differential test of partial parsing; it names its
// modules from the crate root, as in the bench.
#[path = "../../bench/src/run/corpus.rs"]
#[allow(
    dead_code,
    reason = "the bench also records what only its shell loop uses"
)]
mod corpus;
#[path = "../../bench/src/run/gogen.rs"]
#[allow(
    dead_code,
    reason = "the bench also records what only its shell loop uses"
)]
mod gogen;

mod action;
mod allow_drift;
mod audit;
mod bundled_example;
mod cache;
mod ci_files;
mod cli_edges;
mod config_errors;
mod determinism;
mod diff;
mod drift;
mod fix_revisions;
mod formats;
mod history_without_at;
mod hostile_anchors;
mod hostile_corpus;
mod hostile_go;
mod hostile_repos;
mod init;
mod kill_fix;
mod layering;
mod linked_zlib;
mod lookalikes;
mod lsp;
mod moves;
mod never_vacuous;
mod partial_parsing;
mod precision;
mod properties;
mod readme;
mod review;
mod safe_writes;
mod schema;
mod security;
mod security_edges;
mod soundness_guards;
mod soundness_relocation;
mod soundness_tls;
mod tight_ranges;
mod verify_revisions;
mod work_budget;
mod workflow_commands;
