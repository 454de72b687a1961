//! anchorcheck: verifies that documentation citations of Go code still hold.
//!
//! The pipeline: [`anchors`] (parse and validate anchors.yaml) -> [`target`] (the anchors
//! file, repository and revision a command runs on, the docs pages read once) -> [`source`]
//! (resolve the revision, read blobs) -> [`go`] (tree-sitter trees and Go-aware matchers) ->
//! [`expect`] (one evaluator per expectation kind) -> [`verify`] (verdicts) -> [`model`] (the
//! report every layer passes on) -> [`report`] (one renderer per output format), [`fix`]
//! (rewrites citations, through [`atomic`]) and [`lsp`]. The library never prints or exits.
//!
//! docs/architecture.md describes each stage, each module's boundary, the invariants, and
//! where to start for common changes.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod anchors;
pub mod atomic;
pub mod budget;
pub mod docs;
pub mod expect;
pub mod fix;
pub mod go;
pub mod lines;
pub mod lsp;
pub mod model;
pub mod report;
pub mod scaffold;
pub mod source;
pub mod target;
pub mod verify;
