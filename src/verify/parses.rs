//! What the refs checked at one path read and parse beyond their own file, shared between
//! them: the whole-file parses made of other files and versions, and whether a ref holds at a
//! place of another file or version (partial parse first, whole file when that says no).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::anchors::Ref;
use crate::go::{GoError, GoFile};
use crate::lines::LineRange;
use crate::source::{FileBlob, FileProblem, Files};

use super::HistorySource;
use super::evaluate;

/// Why the file a ref is checked at could not be parsed.
#[derive(Clone, Debug)]
pub(super) enum Unreadable {
    File(FileProblem),
    Parser(GoError),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::File(problem) => problem.fmt(f),
            Unreadable::Parser(e) => e.fmt(f),
        }
    }
}

/// Where a group of refs (those checked at one path) reads other files and versions from,
/// and the whole-file parses it made of them: refs of one file share their `at` version,
/// their package's files and the versions the culprit search reads, so each is parsed once.
/// Dropped with the group, so memory follows the files in flight, not the repository.
pub(super) struct Sources<'a> {
    pub(super) files: &'a dyn Files,
    pub(super) history: Option<&'a HistorySource<'a>>,
    pub(super) parses: ParseCache,
    /// Relocation search work the group's refs may still do (their refs run in anchors.yaml
    /// order, so which ref finds it spent is the same on every run).
    pub(super) search_left: Cell<u64>,
}

/// Whole-file parses by blob id; kept only when the group has more than one ref to share them.
pub(super) struct ParseCache {
    keep: bool,
    files: RefCell<HashMap<String, Rc<GoFile>>>,
}

impl ParseCache {
    pub(super) fn new(keep: bool) -> Self {
        ParseCache {
            keep,
            files: RefCell::new(HashMap::new()),
        }
    }

    pub(super) fn get(&self, blob: &FileBlob) -> Option<Rc<GoFile>> {
        self.files.borrow().get(&blob.id).cloned()
    }

    /// The whole-file parse of `blob`, made at most once.
    pub(super) fn whole(&self, blob: FileBlob) -> Result<Rc<GoFile>, GoError> {
        if let Some(file) = self.get(&blob) {
            return Ok(file);
        }
        let id = blob.id;
        let file = Rc::new(GoFile::parse(blob.bytes)?);
        if self.keep {
            self.files.borrow_mut().insert(id, Rc::clone(&file));
        }
        Ok(file)
    }

    pub(super) fn read_whole(
        &self,
        files: &dyn Files,
        path: &str,
    ) -> Result<Rc<GoFile>, Unreadable> {
        let blob = files.read(path).map_err(Unreadable::File)?;
        self.whole(blob).map_err(Unreadable::Parser)
    }
}

/// Whether every expectation of `r` holds at `lines` of `path`. A whole parse already made
/// answers; else a partial parse when it says they hold (where partial and whole-file parsing
/// are proven to agree); else the whole file.
pub(super) fn holds_at(
    r: &Ref,
    files: &dyn Files,
    path: &str,
    lines: LineRange,
    parses: &ParseCache,
) -> bool {
    let Ok(blob) = files.read(path) else {
        return false;
    };
    if lines.end().get() > crate::go::count_lines(&blob.bytes) {
        return false;
    }
    if let Some(file) = parses.get(&blob) {
        return evaluate::holds(r, &file, lines);
    }
    if let Ok(Some(partial)) = GoFile::parse_covering(&blob.bytes, &[lines])
        && evaluate::holds(r, &partial, lines)
    {
        return true;
    }
    parses
        .whole(blob)
        .is_ok_and(|file| evaluate::holds(r, &file, lines))
}

/// [`evaluate::misfit`] of `r` at `lines` of `path`, read and parsed as [`holds_at`] does;
/// `None` when it does not hold there.
pub(super) fn misfit_at(
    r: &Ref,
    files: &dyn Files,
    path: &str,
    lines: LineRange,
    parses: &ParseCache,
) -> Option<u32> {
    let blob = files.read(path).ok()?;
    if lines.end().get() > crate::go::count_lines(&blob.bytes) {
        return None;
    }
    if let Some(file) = parses.get(&blob) {
        return evaluate::misfit(r, &file, lines);
    }
    if let Ok(Some(partial)) = GoFile::parse_covering(&blob.bytes, &[lines])
        && let Some(misfit) = evaluate::misfit(r, &partial, lines)
    {
        return Some(misfit);
    }
    let whole = parses.whole(blob).ok()?;
    evaluate::misfit(r, &whole, lines)
}
