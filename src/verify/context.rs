//! What relocating a failing ref reads beyond the file it is checked in: the cited lines as
//! they were where the ref was written (its `at`), and the other files of its package, where
//! its `symbol` may have moved or be declared.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;

use crate::anchors::Ref;
use crate::go::{GoFile, symbols};
use crate::lines::LineRange;
use crate::model::{CheckKind, ExpectationResult};
use crate::model::{Draft, How, Outcome, RefReport};
use crate::source::{FileBlob, Files};

use super::excerpt::place;
use super::hints;
use super::history::HistoryOutcome;
use super::job::Job;
use super::parses::{NamesFor, ParseCache, Sources};
use super::relocate::{self, OldDeclaration};
use super::settle::ranked;
use super::shape::Shape;

/// Says so when the ref's `symbol` names no declaration in `file` (at `path`) or its package:
/// first among the reasons of a broken ref, a note otherwise.
pub(super) fn note_unknown_symbol(
    report: &mut Draft,
    r: &Ref,
    file: &GoFile,
    path: &str,
    src: &Sources<'_>,
) {
    let Some(symbol) = r.symbol.as_ref().map(|s| s.value.as_str()) else {
        return;
    };
    if declares(file, symbol) {
        return;
    }
    let Some(package) = package_declares(symbol, path, src) else {
        return;
    };
    let names = file
        .cached_declarations()
        .iter()
        .map(|d| d.name.as_str())
        .chain(
            package
                .iter()
                .flat_map(|names| names.iter().map(String::as_str)),
        );
    let suggestions = hints::similar_symbols(symbol, names);
    let Some(message) = hints::unknown_symbol(r, path, &suggestions) else {
        return;
    };
    if !matches!(report.outcome, Some(Outcome::Broken { .. })) {
        report.notes.push(message);
        return;
    }
    // A ref naming only its symbol already failed for it: say it once, with the hint.
    report
        .expectations
        .retain(|e| !(e.kind == CheckKind::Symbol && r.expect.is_empty()));
    report
        .expectations
        .insert(0, ExpectationResult::unchecked(CheckKind::Symbol, message));
}

/// True when `symbol` names a declaration of `file`.
pub(super) fn declares(file: &GoFile, symbol: &str) -> bool {
    file.cached_declarations()
        .iter()
        .any(|d| d.is_named(symbol))
}

/// Most files of a package read for "did you mean" suggestions.
const MAX_SUGGESTION_FILES: usize = 64;

/// `None` when another file of the package of `path` declares `symbol`; else the names those
/// files declare, file by file, to suggest names from.
fn package_declares(symbol: &str, path: &str, src: &Sources<'_>) -> Option<Vec<Arc<[String]>>> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let name = declared_name(symbol).as_bytes();
    let canonical = symbols::canonical_symbol(symbol);
    let others: Vec<String> = src
        .files
        .go_files_in(dir)
        .into_iter()
        .filter(|other| other != path)
        .collect();
    let mut parsed = Vec::new();
    // Of the first files, those not mentioning the name, read once here and parsed below only
    // if none of the others declares it.
    let mut suggesting: Vec<FileBlob> = Vec::new();
    // The files mentioning the name first: one of them declares it, or none does.
    for (k, other) in others.iter().enumerate() {
        let Ok(blob) = src.files.read(other) else {
            continue;
        };
        if memchr::memmem::find(&blob.bytes, name).is_none() {
            if k < MAX_SUGGESTION_FILES {
                suggesting.push(blob);
            }
            continue;
        }
        let Some(names) = src.declared_names.of(blob, &src.parses, NamesFor::Declares) else {
            continue;
        };
        // (As [`declares`] asks each declaration.)
        if names.iter().any(|n| *n == canonical) {
            return None;
        }
        parsed.push(names);
    }
    parsed.extend(suggesting.into_iter().filter_map(|blob| {
        src.declared_names
            .of(blob, &src.parses, NamesFor::Suggestions)
    }));
    Some(parsed)
}

/// What the cited lines held before, for ranking candidates, keeping offsets and shapes.
pub(super) struct OldContext {
    pub(super) text: Vec<String>,
    pub(super) declaration: Option<OldDeclaration>,
    /// The declaration the cited lines were in (`Type.Method`), to rank candidates in it first.
    pub(super) enclosing: Option<String>,
    /// How the citation sat around its evidence where it last held.
    pub(super) shape: Shape,
}

pub(super) fn old_context(job: &Job<'_>, current: &GoFile, src: &Sources<'_>) -> OldContext {
    let r = job.r;
    let cited = r.lines.value;
    let symbol = r.symbol.as_ref().map(|s| s.value.as_str());
    // With `at`, the file as it was there; else the cited lines of the current file. Only the
    // cited lines and the symbol's declaration are asked of it, so a partial parse keeping
    // them (and every declaration mentioning the name) answers when the scan allows one.
    let old_file = match (src.history, job.at.as_deref(), job.history.as_deref()) {
        (Some(source), Some(at), Some(HistoryOutcome::Mapped(_))) => source
            .git
            .resolve(at)
            .ok()
            .and_then(|snapshot| snapshot.read(&r.path.value).ok())
            .and_then(|blob| {
                if let Some(whole) = src.parses.get(&blob) {
                    return Some(whole);
                }
                let inside = cited.end().get() <= crate::go::count_lines(&blob.bytes);
                let within: Vec<LineRange> = inside.then_some(cited).into_iter().collect();
                let name = symbol.map(declared_name);
                match src.parses.partial(&blob, &within, name) {
                    Ok(Some(partial)) => Some(partial),
                    _ => src.parses.whole(blob).ok(),
                }
            }),
        _ => None,
    };
    let file = old_file.as_deref().unwrap_or(current);
    let text = if cited.end().get() <= file.line_count() {
        file.lines_text(cited)
    } else {
        Vec::new()
    };
    let declaration = match (old_file.as_deref(), symbol) {
        (Some(old), Some(symbol)) => relocate::old_declaration(old, symbol),
        _ => None,
    };
    // Measured where the citation was written for; its length is all that is known else.
    let shape = old_file
        .as_deref()
        .filter(|old| cited.end().get() <= old.line_count())
        .and_then(|old| Shape::of(r, old, cited))
        .unwrap_or_else(|| Shape::of_length(cited));
    let enclosing = (cited.end().get() <= file.line_count())
        .then(|| relocate::enclosing_declaration(file, cited))
        .flatten();
    OldContext {
        text,
        declaration,
        enclosing,
        shape,
    }
}

/// The symbol's declaration in the other files of the same package directory, best first.
pub(super) fn symbol_in_package(
    r: &Ref,
    src: &Sources<'_>,
    path: &str,
    cited: LineRange,
    old: &OldContext,
) -> Vec<crate::model::Candidate> {
    let Some(symbol) = r.symbol.as_ref().map(|s| s.value.as_str()) else {
        return Vec::new();
    };
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    // A symbol is declared once per package, so more than one file holding it is listed as
    // ambiguous rather than guessed between.
    src.files
        .go_files_in(dir)
        .into_iter()
        .filter(|other| other != path)
        .flat_map(|other| {
            // Most files of a package do not mention the name at all: skip parsing those.
            let Ok(blob) = src.files.read(&other) else {
                return Vec::new();
            };
            if memchr::memmem::find(&blob.bytes, declared_name(symbol).as_bytes()).is_none() {
                return Vec::new();
            }
            let Ok(file) = src.parses.whole(blob) else {
                return Vec::new();
            };
            relocate::symbol_candidates(
                r,
                &file,
                cited,
                &old.text,
                old.declaration.as_ref(),
                &old.shape,
            )
            .into_iter()
            .map(|c| ranked(place(&other, c.lines), How::Symbol, &c, false))
            .collect::<Vec<_>>()
        })
        .collect()
}

/// The identifier a symbol declares: `Method` for `Type.Method` and `(*Type).Method`.
pub(super) fn declared_name(symbol: &str) -> &str {
    symbol.rsplit('.').next().unwrap_or(symbol)
}

/// Files a missing cited file may have become when its directory was renamed or moved (history
/// not reaching the rename): the same file name in a directory of the same name
/// (`pkg/transport/listener.go` -> `client/pkg/transport/listener.go`), at most a few; only
/// those ending with the whole cited path when there are any.
pub(super) fn renamed_directory_files(path: &str, src: &Sources<'_>) -> Vec<String> {
    const MAX: usize = 8;
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let parent = dir.rsplit('/').next().unwrap_or(dir);
    let suffix = format!("/{path}");
    let mut found: Vec<(bool, String)> = src
        .files
        .go_paths()
        .into_iter()
        .filter(|p| p != path)
        .filter_map(|p| {
            let (d, n) = p.rsplit_once('/').unwrap_or(("", p.as_str()));
            let same_parent = d.rsplit('/').next().unwrap_or(d) == parent;
            (n == name && same_parent).then(|| (!p.ends_with(&suffix), p.clone()))
        })
        .collect();
    // Where some end with the whole cited path, only those: a same-named file elsewhere is a
    // look-alike next to the file itself.
    found.sort();
    let whole = found.first().is_some_and(|(partial, _)| !partial);
    found
        .into_iter()
        .filter(|(partial, _)| !(whole && *partial))
        .take(MAX)
        .map(|(_, p)| p)
        .collect()
}

/// Of `files` (from [`renamed_directory_files`]), those where `r` holds at its cited lines
/// themselves, as places: the file is still the cited one, only its directory moved.
pub(super) fn holding_at_cited_lines(
    r: &Ref,
    files: &[String],
    src: &Sources<'_>,
) -> Vec<crate::model::Candidate> {
    let lines = r.lines.value;
    files
        .iter()
        .filter(|p| super::parses::holds_at(r, src.files, p, lines, &src.parses))
        .map(|p| crate::model::Candidate {
            place: place(p, lines),
            how: How::Search,
            distance: None,
            similarity: None,
            same_declaration: None,
        })
        .collect()
}

/// For every drifted ref whose `symbol` names no declaration in the file its evidence went to
/// (the function renamed, or the code moved into another one): the declaration the evidence
/// is in now, for `fix` to write, and a note saying so. `symbol` locates the evidence; it is
/// not itself a claim.
///
/// Both questions are about top-level declarations: those named like the symbol and those
/// holding the relocated lines, which a partial parse keeping the lines and every declaration
/// mentioning the name holds as the whole file does. The refs of each checked path are
/// answered in parallel, each report on its own, so the output is the same at any thread
/// count.
///
/// A symbol a check already found declared in the file (`declared`) is not looked for again.
pub(super) fn relocated_symbols(
    jobs: &[Job<'_>],
    evaluated: &mut [Vec<(usize, RefReport)>],
    files: &dyn Files,
    declared: &Declared,
) {
    evaluated.par_iter_mut().for_each(|chunk| {
        let parses = ParseCache::new();
        for (j, report) in chunk.iter_mut() {
            let Some(symbol) = jobs[*j].r.symbol.as_ref().map(|s| s.value.as_str()) else {
                continue;
            };
            let Outcome::Drifted { relocation, .. } = &mut report.outcome else {
                continue;
            };
            if declared.declares(&relocation.place.path, symbol) {
                continue;
            }
            let Some(file) = declarations_around(
                files,
                &parses,
                &relocation.place.path,
                relocation.place.lines,
                symbol,
            ) else {
                continue;
            };
            if declares(&file, symbol) {
                continue;
            }
            let Some(now) = relocate::enclosing_declaration(&file, relocation.place.lines) else {
                continue;
            };
            report.notes.push(format!(
                "symbol {symbol} was renamed or removed: the evidence is in {now} now"
            ));
            relocation.symbol = Some(now);
        }
    });
}

/// The symbols found declared, by the path of the file at the verified revision that declares
/// them, as the checks found them on any tree of the file: a declaration a tree holds, partial or
/// not, is the file's. (A whole parse of a file with syntax the grammar lacks may lose the
/// declarations after the error; a partial tree without errors does not.)
#[derive(Default)]
pub(super) struct Declared(Mutex<HashMap<String, HashSet<String>>>);

impl Declared {
    /// Notes that the file at `path` declares `symbol`.
    pub(super) fn note(&self, path: &str, symbol: &str) {
        let mut known = self.lock();
        let symbols = match known.get_mut(path) {
            Some(symbols) => symbols,
            None => known.entry(path.to_string()).or_default(),
        };
        if !symbols.contains(symbol) {
            symbols.insert(symbol.to_string());
        }
    }

    /// Whether a check found `symbol` declared in the file at `path`.
    fn declares(&self, path: &str, symbol: &str) -> bool {
        self.lock()
            .get(path)
            .is_some_and(|symbols| symbols.contains(symbol))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `path` parsed enough to tell which declarations are named `symbol` and which hold `lines`:
/// partially when the scan allows, else whole; `None` when it cannot be read or parsed.
fn declarations_around(
    files: &dyn Files,
    parses: &ParseCache,
    path: &str,
    lines: LineRange,
    symbol: &str,
) -> Option<Rc<GoFile>> {
    let blob = files.read(path).ok()?;
    if let Ok(Some(file)) = parses.partial(&blob, &[lines], Some(declared_name(symbol))) {
        return Some(file);
    }
    parses.whole(blob).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::go::symbols;
    use crate::lines::LineRange;

    #[test]
    fn one_listing_of_a_files_declarations_answers_every_ref() {
        let file = GoFile::parse(
            b"package a\n\nfunc A() {\n\tb()\n}\n\nfunc (s *S) B() {\n\ta()\n}\n".to_vec(),
        )
        .unwrap();
        symbols::walks::take();
        assert!(declares(&file, "A"));
        assert!(declares(&file, "(*S).B"));
        assert!(!declares(&file, "C"));
        let lines = LineRange::parse("8").unwrap();
        assert_eq!(
            relocate::enclosing_declaration(&file, lines).as_deref(),
            Some("S.B")
        );
        // Ten refs citing one file ask it ten times; the file is walked once.
        assert_eq!(symbols::walks::take(), 1);
    }
}
