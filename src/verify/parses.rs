//! What the refs checked at one path read and parse beyond their own file, shared between
//! them: the whole-file parses made of other files and versions, and whether a ref holds at a
//! place of another file or version (partial parse first, whole file when that says no).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::anchors::Ref;
use crate::budget;
use crate::go::{GoError, GoFile};
use crate::lines::LineRange;
use crate::source::{FileBlob, FileProblem, Files};

use super::HistorySource;
use super::evaluate;
use super::provenance::OriginsMemo;

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
    /// Where the lines of a newer version came from, by pair of versions.
    pub(super) origins: OriginsMemo,
}

/// Whole-file parses by blob id; kept only when the group has more than one ref to share them,
/// and only up to [`KEPT_SOURCE_BYTES`] of source: a tree takes about fifteen times its
/// source, so a large file changed in many commits (the culprit search reads each version) is
/// parsed again rather than kept version after version.
pub(super) struct ParseCache {
    keep: bool,
    /// Whether its parses draw on the run's work budget (the history walk's versions).
    metered: bool,
    files: RefCell<HashMap<String, Rc<GoFile>>>,
    kept_bytes: Cell<usize>,
}

/// The most source bytes whose parses one [`ParseCache`] keeps (about 120 MB of trees).
pub(super) const KEPT_SOURCE_BYTES: usize = 8 << 20;

impl ParseCache {
    pub(super) fn new(keep: bool) -> Self {
        ParseCache {
            keep,
            metered: false,
            files: RefCell::new(HashMap::new()),
            kept_bytes: Cell::new(0),
        }
    }

    /// A cache whose parses draw on the run's work budget.
    pub(super) fn metered(keep: bool) -> Self {
        let mut cache = ParseCache::new(keep);
        cache.metered = true;
        cache
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
        let size = blob.bytes.len();
        // Parsing another version whole is work the run's budget pays for; refused, it is as
        // if the parse failed, and the ref doing it is cut short.
        let cost = (size as u64).saturating_mul(budget::PARSE_COST_PER_BYTE);
        if self.metered && !budget::charge(cost) {
            return Err(GoError::ParseFailed);
        }
        let file = Rc::new(GoFile::parse(blob.bytes)?);
        let kept = self.kept_bytes.get();
        if self.keep && kept + size <= KEPT_SOURCE_BYTES {
            self.kept_bytes.set(kept + size);
            self.files.borrow_mut().insert(id, Rc::clone(&file));
            #[cfg(test)]
            kept_trees::add(1);
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

/// [`evaluate::misfit`] of `r` at `lines` of `blob`, parsed as [`holds_at`] does; `None` when
/// it does not hold there. The caller reads the blob, once for every ref of its path.
pub(super) fn misfit_at(
    r: &Ref,
    blob: &FileBlob,
    lines: LineRange,
    parses: &ParseCache,
) -> Option<u32> {
    if lines.end().get() > crate::go::count_lines(&blob.bytes) {
        return None;
    }
    if let Some(file) = parses.get(blob) {
        return evaluate::misfit(r, &file, lines);
    }
    if let Ok(Some(partial)) = GoFile::parse_covering(&blob.bytes, &[lines])
        && let Some(misfit) = evaluate::misfit(r, &partial, lines)
    {
        return Some(misfit);
    }
    let whole = parses.whole(blob.clone()).ok()?;
    evaluate::misfit(r, &whole, lines)
}

#[cfg(test)]
impl Drop for ParseCache {
    fn drop(&mut self) {
        kept_trees::remove(self.files.borrow().len());
    }
}

/// How many whole parses the caches of this thread keep, and the most they kept at once: what
/// tests of history walks check stays flat in the number of commits.
#[cfg(test)]
pub(super) mod kept_trees {
    use std::cell::Cell;

    thread_local! {
        static KEPT: Cell<usize> = const { Cell::new(0) };
        static PEAK: Cell<usize> = const { Cell::new(0) };
    }

    pub(in crate::verify) fn add(n: usize) {
        let now = KEPT.get() + n;
        KEPT.set(now);
        PEAK.set(PEAK.get().max(now));
    }

    pub(in crate::verify) fn remove(n: usize) {
        KEPT.set(KEPT.get() - n);
    }

    /// The most kept at once since the last call, starting again from what is kept now.
    pub(in crate::verify) fn take_peak() -> usize {
        PEAK.replace(KEPT.get())
    }
}
