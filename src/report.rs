//! The output formats, one module each: each renders the report model ([`crate::model`]) and
//! nothing else; none sees git or tree-sitter types (see docs/architecture.md).

pub mod audit;
pub mod explain;
pub(crate) mod finding;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub(crate) mod marks;
pub mod sarif;
pub(crate) mod style;
pub mod terminal;
pub mod text;
pub mod workflow;

#[cfg(test)]
mod tests;
