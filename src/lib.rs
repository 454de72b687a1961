//! anchorcheck: verifies that documentation citations of Go code still hold.
//!
//! The pipeline reads one way: [`anchors`] (parse and validate anchors.yaml) ->
//! [`source`] (resolve the revision, read blobs) -> [`go`] (tree-sitter trees and Go-aware
//! matchers) -> [`expect`] (one evaluator per expectation kind) -> [`verify`] (verdicts) ->
//! [`report`] (one module per output format). The library never prints or exits.
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
