//! What the refs checked at one path read and parse beyond their own file, shared between
//! them: the whole-file parses made of other files and versions, and whether a ref holds at a
//! place of another file or version (partial parse first, whole file when that says no).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

use crate::anchors::Ref;
use crate::budget;
use crate::expect;
use crate::go::segments::{self, Segment};
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
    /// The names package files declare, for "did you mean", kept for the run.
    pub(super) declared_names: &'a DeclaredNames,
}

/// The names of the declarations of the package files "did you mean" reads, by blob id, for
/// a run: the refs of one package, in as many path groups, ask for the same files, each parsed
/// for its names. A blob id names its bytes, and the declarations follow from them; up to
/// [`MAX_KEPT_NAME_LISTS`] blobs are kept, and a blob that does not parse is not kept, and is
/// tried again.
#[derive(Default)]
pub(super) struct DeclaredNames(Mutex<HashMap<String, Names>>);

/// One blob's declared names, and whether they are its whole parse's.
type Names = (Arc<[String]>, bool);

/// What a list of declared names is for. Whether a file declares the symbol is answered from
/// its whole parse. Names only suggested come from the declarations' heads where the lexical
/// scan allows ([`GoFile::parse_declaration_heads`]), for a fraction of the parse: the same
/// names, except in a file whose whole parse has errors (tree-sitter's Go grammar lacks some
/// syntax, such as Go 1.26's `new(expr)`), where the whole parse may lose the declarations
/// after an error and the heads keep them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NamesFor {
    Declares,
    Suggestions,
}

/// The most blobs whose names [`DeclaredNames`] keeps (a few kB each).
const MAX_KEPT_NAME_LISTS: usize = 4096;

impl DeclaredNames {
    /// The names `blob`'s top-level declarations declare, in file order, parsed the first time
    /// they are asked `for` (whole with `parses`, unless only suggested); `None` when it does
    /// not parse.
    pub(super) fn of(
        &self,
        blob: FileBlob,
        parses: &ParseCache,
        purpose: NamesFor,
    ) -> Option<Arc<[String]>> {
        let lock = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // (An id is the hash of the bytes; an empty one, had hashing failed, names nothing.)
        let keyed = !blob.id.is_empty();
        if keyed
            && let Some((known, whole)) = lock().get(&blob.id)
            && (*whole || purpose == NamesFor::Suggestions)
        {
            return Some(Arc::clone(known));
        }
        let id = blob.id.clone();
        let names_in = |file: &GoFile| -> Arc<[String]> {
            file.cached_declarations()
                .iter()
                .map(|d| d.name.clone())
                .collect()
        };
        // A whole parse already made serves either.
        let heads = (purpose == NamesFor::Suggestions && parses.get(&blob).is_none())
            .then(|| GoFile::parse_declaration_heads(&blob.bytes).ok().flatten())
            .flatten();
        let names = match heads {
            Some(heads) => (names_in(&heads), false),
            None => (names_in(&*parses.whole(blob).ok()?), true),
        };
        let mut kept = lock();
        if keyed && (kept.len() < MAX_KEPT_NAME_LISTS || kept.contains_key(&id)) {
            kept.insert(id, names.clone());
        }
        Some(names.0)
    }
}

/// Whole-file parses by blob id, kept up to [`KEPT_SOURCE_BYTES`] of source: a tree takes
/// about fifteen times its source, so a large file changed in many commits (the culprit search
/// reads each version) is parsed again rather than kept version after version. Kept even for
/// one ref: its lineage and the context it is relocated with read the same version at `at`
/// ([`super::lineage::Lineage::of`]).
pub(super) struct ParseCache {
    /// Whether its parses draw on the run's work budget (the history walk's versions).
    metered: bool,
    files: RefCell<HashMap<String, Rc<GoFile>>>,
    kept_bytes: Cell<usize>,
    /// Partial parses by blob id and the bytes they parsed (their plan, which decides the
    /// tree): the refs of one file citing lines of the same declarations, and the culprit
    /// search stepping each of them through the same versions, parse each once. Never given
    /// for a whole parse, nor a whole parse for them: the two may answer differently.
    partials: RefCell<HashMap<PartialKey, Option<Rc<GoFile>>>>,
    /// The partial parses kept, oldest first, with what each is counted for: the oldest go
    /// when a new one needs the room, as the refs of a file, in line order, move on from one
    /// declaration to the next.
    partial_order: RefCell<VecDeque<(PartialKey, usize)>>,
    /// How each blob splits into top-level declarations, for planning its partial parses.
    segments: RefCell<HashMap<String, Option<Rc<Vec<Segment>>>>>,
    /// What the partial parses kept take (their copy of the source and about fifteen bytes
    /// of tree a byte parsed), counted apart from the whole ones so that what is kept whole
    /// (and what the budget is charged for) is as without them.
    partial_bytes: Cell<usize>,
}

/// The most source bytes whose parses one [`ParseCache`] keeps (about 120 MB of trees).
pub(super) const KEPT_SOURCE_BYTES: usize = 8 << 20;

/// A partial parse's blob id, the bytes of it parsed, and whether it is of the cited
/// declarations alone ([`GoFile::parse_cited`], which notes questions asked outside them).
type PartialKey = (String, Vec<Range<usize>>, bool);

/// The most memory (as counted by [`ParseCache::partial`]) the partial parses one
/// [`ParseCache`] keeps may take.
const KEPT_PARTIAL_BYTES: usize = 32 << 20;

/// The most blobs whose split into declarations one [`ParseCache`] keeps.
const MAX_KEPT_SEGMENTATIONS: usize = 1024;

impl ParseCache {
    pub(super) fn new() -> Self {
        ParseCache {
            metered: false,
            files: RefCell::new(HashMap::new()),
            kept_bytes: Cell::new(0),
            partials: RefCell::new(HashMap::new()),
            partial_order: RefCell::new(VecDeque::new()),
            segments: RefCell::new(HashMap::new()),
            partial_bytes: Cell::new(0),
        }
    }

    /// A cache whose parses draw on the run's work budget.
    pub(super) fn metered() -> Self {
        let mut cache = ParseCache::new();
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
        if kept + size <= KEPT_SOURCE_BYTES {
            self.kept_bytes.set(kept + size);
            self.files.borrow_mut().insert(id, Rc::clone(&file));
            #[cfg(test)]
            kept_trees::add(1);
        }
        Ok(file)
    }

    /// `blob` parsed around `lines`: its whole parse when kept, else a partial one when the
    /// scan allows it, else the whole file; `None` when the lines lie past its end or it does
    /// not parse.
    pub(super) fn covering(&self, blob: &FileBlob, lines: LineRange) -> Option<Rc<GoFile>> {
        if lines.end().get() > crate::go::count_lines(&blob.bytes) {
            return None;
        }
        if let Some(whole) = self.get(blob) {
            return Some(whole);
        }
        match self.partial(blob, &[lines], None) {
            Ok(Some(partial)) => Some(partial),
            _ => self.whole(blob.clone()).ok(),
        }
    }

    /// [`GoFile::parse_covering_mentions`] of `blob`, made once per plan while the cache has
    /// it still (the oldest are let go past [`KEPT_PARTIAL_BYTES`]).
    pub(super) fn partial(
        &self,
        blob: &FileBlob,
        ranges: &[LineRange],
        name: Option<&str>,
    ) -> Result<Option<Rc<GoFile>>, GoError> {
        let Some(segments) = self.segments_of(blob) else {
            return Ok(None);
        };
        let Some(needed) = GoFile::covering_plan(&blob.bytes, &segments, ranges, name) else {
            return Ok(None);
        };
        self.kept_partial(blob, needed, false)
    }

    /// [`GoFile::parse_cited`] of `blob` around `lines`, kept as [`ParseCache::partial`] keeps
    /// its parses; `None` when that plan would read most of the file, when it is the full
    /// plan's (nothing left out: [`ParseCache::partial`] is that parse), or when the tree has
    /// syntax errors.
    pub(super) fn cited(&self, blob: &FileBlob, lines: LineRange) -> Option<Rc<GoFile>> {
        let segments = self.segments_of(blob)?;
        let plan = GoFile::cited_plan(&blob.bytes, &segments, &[lines])?;
        if GoFile::covering_plan(&blob.bytes, &segments, &[lines], None).as_ref() == Some(&plan) {
            return None;
        }
        self.kept_partial(blob, plan, true).ok().flatten()
    }

    /// The partial parse of `blob` by `plan` ([`GoFile::parse_cited`] when `cited`, which
    /// notes questions asked outside it; else [`GoFile::parse_included`]), made once while the
    /// cache has it still (the oldest are let go past [`KEPT_PARTIAL_BYTES`]).
    fn kept_partial(
        &self,
        blob: &FileBlob,
        plan: Vec<Range<usize>>,
        cited: bool,
    ) -> Result<Option<Rc<GoFile>>, GoError> {
        let key = (blob.id.clone(), plan, cited);
        if let Some(kept) = self.partials.borrow().get(&key) {
            return Ok(kept.clone());
        }
        #[cfg(test)]
        partial_parses::add(1);
        let parsed = if cited {
            GoFile::parse_cited(&blob.bytes, &key.1)?
        } else {
            GoFile::parse_included(&blob.bytes, &key.1)?
        }
        .map(Rc::new);
        let parsed_bytes: usize = key.1.iter().map(Range::len).sum();
        let size = blob.bytes.len() + parsed_bytes.saturating_mul(15);
        if size > KEPT_PARTIAL_BYTES {
            return Ok(parsed);
        }
        let mut partials = self.partials.borrow_mut();
        let mut order = self.partial_order.borrow_mut();
        let mut kept = self.partial_bytes.get();
        while kept + size > KEPT_PARTIAL_BYTES {
            let Some((oldest, bytes)) = order.pop_front() else {
                break;
            };
            partials.remove(&oldest);
            kept -= bytes;
        }
        self.partial_bytes.set(kept + size);
        partials.insert(key.clone(), parsed.clone());
        order.push_back((key, size));
        Ok(parsed)
    }

    fn segments_of(&self, blob: &FileBlob) -> Option<Rc<Vec<Segment>>> {
        if let Some(kept) = self.segments.borrow().get(&blob.id) {
            return kept.clone();
        }
        let split = segments::segments(&blob.bytes).map(Rc::new);
        let mut kept = self.segments.borrow_mut();
        if kept.len() < MAX_KEPT_SEGMENTATIONS {
            kept.insert(blob.id.clone(), split.clone());
        }
        split
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

/// Whether every expectation of `r` holds at `lines` of `path`, from the least parsed tree that
/// tells ([`answer_at`]).
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
    answer_at(r, &blob, lines, parses, |file| {
        evaluate::holds(r, file, lines).then_some(())
    })
    .is_some()
}

/// `answer` (`None`: `r` does not hold) at `lines` of `blob`, from the least parsed tree that
/// gives it: a whole parse already made; else the declarations the lines overlap alone, when
/// `r`'s expectations read only those ([`cited_answers`]) and nothing asked looked outside
/// them ([`GoFile::asked_outside`]), which answer as the full plan would, holding or not; else
/// a partial parse when it says `r` holds (where partial and whole-file parsing are proven to
/// agree); else the whole file.
fn answer_at<T>(
    r: &Ref,
    blob: &FileBlob,
    lines: LineRange,
    parses: &ParseCache,
    answer: impl Fn(&GoFile) -> Option<T>,
) -> Option<T> {
    if let Some(file) = parses.get(blob) {
        return answer(&file);
    }
    let cited = cited_answers(r, blob, lines, parses).and_then(|cited| {
        let found = answer(&cited);
        (!cited.asked_outside()).then_some(found)
    });
    match cited {
        Some(Some(found)) => return Some(found),
        // Not holding on the cited declarations, it does not on the full plan's tree either.
        Some(None) => {}
        None => {
            if let Ok(Some(partial)) = parses.partial(blob, &[lines], None)
                && let Some(found) = answer(&partial)
            {
                return Some(found);
            }
        }
    }
    answer(&*parses.whole(blob.clone()).ok()?)
}

/// The tree of the declarations `lines` of `blob` overlap alone ([`ParseCache::cited`]), when
/// every expectation of `r` is answered from those ([`expect::cited_declarations_answer`]):
/// where nothing asked looked outside them ([`GoFile::asked_outside`]), whether it holds
/// there, and with what evidence, is the whole file's. `r` has expectations: a bare `symbol`
/// is looked up in the whole file.
fn cited_answers(
    r: &Ref,
    blob: &FileBlob,
    lines: LineRange,
    parses: &ParseCache,
) -> Option<Rc<GoFile>> {
    let answers = !r.expect.is_empty() && r.expect.iter().all(expect::cited_declarations_answer);
    answers.then(|| parses.cited(blob, lines)).flatten()
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
    answer_at(r, blob, lines, parses, |file| {
        evaluate::misfit(r, file, lines)
    })
}

#[cfg(test)]
impl Drop for ParseCache {
    fn drop(&mut self) {
        kept_trees::remove(self.files.borrow().len());
    }
}

/// How many partial parses the caches of this thread made: what tests of sharing count.
#[cfg(test)]
pub(super) mod partial_parses {
    use std::cell::Cell;

    thread_local! {
        static MADE: Cell<usize> = const { Cell::new(0) };
    }

    pub(in crate::verify) fn add(n: usize) {
        MADE.set(MADE.get() + n);
    }

    /// How many were made since the last call.
    pub(in crate::verify) fn take() -> usize {
        MADE.replace(0)
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::anchors::{self, AnchorsFile};
    use crate::lines::LineNo;

    /// `check` guards its argument fail-closed at lines 5-7 (line 4 a comment), `other` at
    /// 11-13, then enough other functions that a partial parse of either is worth it.
    fn guarded() -> FileBlob {
        let mut src = String::from(
            "package a\n\nfunc check(ok bool) {\n\t// the guard\n\tif !ok {\n\t\tlog.Fatal(\"no\")\n\t}\n}\n\nfunc other(ready bool) {\n\tif !ready {\n\t\tpanic(\"not ready\")\n\t}\n}\n",
        );
        for i in 0..20 {
            src.push_str(&format!("\nfunc pad{i}() {{\n\tx := {i}\n\t_ = x\n}}\n"));
        }
        FileBlob {
            id: "b1".into(),
            bytes: src.into_bytes(),
        }
    }

    fn refs(yaml_refs: &str) -> AnchorsFile {
        let yaml =
            format!("version: 1\nclaims:\n  - id: c\n    status: required\n    refs:\n{yaml_refs}");
        anchors::parse(&yaml, Path::new("anchors.yaml"), Path::new("anchors.yaml"))
            .unwrap_or_else(|e| panic!("fixture validates: {e}"))
    }

    fn lines(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    /// `call` and `fail_closed` refs are checked on the declarations their lines overlap
    /// alone, without the imports and package-level variables a full plan adds; a guard
    /// returning a package-level variable asks outside them and is checked on the full plan's
    /// tree too. The answers are the whole file's.
    #[test]
    fn call_and_guard_refs_are_checked_on_their_declarations_alone() {
        let mut src = String::from(
            "package a\n\nimport (\n\t\"errors\"\n\t\"log\"\n)\n\nvar denied = errors.New(\"denied\")\n\nfunc check(ok bool) error {\n\tif !ok {\n\t\treturn denied\n\t}\n\treturn nil\n}\n\nfunc serve(n int) {\n\tif n > 3 {\n\t\tlog.Fatal(\"too many\")\n\t}\n\tlog.Println(\"serving\")\n}\n",
        );
        for i in 0..20 {
            src.push_str(&format!("\nfunc pad{i}() {{\n\tx := {i}\n\t_ = x\n}}\n"));
        }
        let blob = FileBlob {
            id: "b2".into(),
            bytes: src.into_bytes(),
        };
        let anchors = refs(
            "      - { path: a.go, lines: 17-23, expect: [{ call: log.Println }, { fail_closed: { when: n } }] }\n      - { path: a.go, lines: 10-15, expect: [{ fail_closed: { when: ok } }] }\n",
        );
        let (serve, check) = (&anchors.claims[0].refs[0], &anchors.claims[0].refs[1]);
        let whole = GoFile::parse(blob.bytes.clone()).unwrap();
        let cache = ParseCache::new();
        partial_parses::take();

        let on_serve = misfit_at(serve, &blob, serve.lines.value, &cache);
        assert!(on_serve.is_some());
        assert_eq!(on_serve, evaluate::misfit(serve, &whole, serve.lines.value));
        assert_eq!(
            partial_parses::take(),
            1,
            "the cited declaration's parse alone"
        );
        assert!(cache.partials.borrow().keys().all(|(_, _, cited)| *cited));

        let on_check = misfit_at(check, &blob, check.lines.value, &cache);
        assert!(on_check.is_some());
        assert_eq!(on_check, evaluate::misfit(check, &whole, check.lines.value));
        assert_eq!(
            partial_parses::take(),
            2,
            "its declaration alone, then the full plan"
        );
        assert!(holds_at_blob(check, &blob, &cache));

        // Failing on its declaration alone, with nothing asked outside it, a ref fails on the
        // full plan's tree too: the whole file says, without that partial parse between.
        let missing = refs("      - { path: a.go, lines: 17-23, expect: [{ call: os.Exit }] }\n");
        let missing = &missing.claims[0].refs[0];
        partial_parses::take();
        assert_eq!(misfit_at(missing, &blob, missing.lines.value, &cache), None);
        assert_eq!(
            partial_parses::take(),
            0,
            "serve's declaration is kept; no full plan"
        );
    }

    /// [`holds_at`] of `r` at its own lines of `blob`.
    fn holds_at_blob(r: &Ref, blob: &FileBlob, cache: &ParseCache) -> bool {
        let mut files = crate::source::MemoryFiles::new();
        files.insert("a.go", blob.bytes.clone());
        holds_at(r, &files, "a.go", r.lines.value, cache)
    }

    /// The refs of one version of a file citing lines of one declaration share its partial
    /// parse (one parse for all of them), each other declaration gets its own, and a cache
    /// per ref parses once per ref, with the same answers.
    #[test]
    fn refs_of_one_declaration_share_one_partial_parse() {
        let anchors = refs(
            "      - { path: a.go, lines: 5-7, expect: [{ fail_closed: { when: ok } }] }\n      - { path: a.go, lines: 4-7, expect: [{ fail_closed: { when: ok } }] }\n      - { path: a.go, lines: 5-5, expect: [{ fail_closed: { when: ok } }] }\n      - { path: a.go, lines: 11-13, expect: [{ fail_closed: { when: ready } }] }\n",
        );
        let all: Vec<&Ref> = anchors.claims[0].refs.iter().collect();
        let blob = guarded();
        let ask = |cache: &ParseCache| -> Vec<Option<u32>> {
            all.iter()
                .map(|r| misfit_at(r, &blob, r.lines.value, cache))
                .collect()
        };
        partial_parses::take();
        let shared = ask(&ParseCache::new());
        assert_eq!(partial_parses::take(), 2, "one per declaration cited");
        // A cache per ref, as if nothing were shared.
        let apart: Vec<Option<u32>> = all
            .iter()
            .map(|r| misfit_at(r, &blob, r.lines.value, &ParseCache::new()))
            .collect();
        assert_eq!(partial_parses::take(), all.len(), "one per ref");
        assert_eq!(shared, apart);
        assert_eq!(shared.iter().filter(|m| m.is_some()).count(), all.len());
        // Asked again, as the culprit search does for each step, nothing more is parsed.
        let cache = ParseCache::new();
        for _ in 0..3 {
            assert_eq!(ask(&cache), shared);
        }
        assert_eq!(partial_parses::take(), 2);
        assert!(
            cache
                .partial(&blob, &[lines(5, 7)], None)
                .unwrap()
                .is_some()
        );
        assert_eq!(partial_parses::take(), 0);
    }

    #[test]
    fn whether_a_file_declares_a_name_is_asked_of_its_whole_parse_suggestions_of_its_heads() {
        let blob = guarded();
        let parses = ParseCache::new();
        let names = DeclaredNames::default();
        let of = |purpose| names.of(blob.clone(), &parses, purpose).unwrap();
        let expected: Vec<String> = GoFile::parse(blob.bytes.clone())
            .unwrap()
            .cached_declarations()
            .iter()
            .map(|d| d.name.clone())
            .collect();
        // Suggested: from the heads, no whole parse made.
        assert_eq!(*of(NamesFor::Suggestions), *expected);
        assert!(parses.get(&blob).is_none());
        // Asked whether it declares: the whole parse, not the heads kept.
        assert_eq!(*of(NamesFor::Declares), *expected);
        assert!(parses.get(&blob).is_some());
        // Suggested again: the whole parse's names, now kept, serve.
        let kept = of(NamesFor::Suggestions);
        assert!(Arc::ptr_eq(&kept, &of(NamesFor::Declares)));
    }
}
