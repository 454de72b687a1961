//! The work budgets of a run (`--work-budget`): every expensive step draws from one as it
//! works, counting what it does rather than estimating beforehand. A step is about a
//! nanosecond of work on the CI machine, counted the same way on every machine:
//!
//! - a raw `query`: [`query_progress_steps`] each time tree-sitter reports progress (a
//!   hundred cursor operations, each comparing the matches in progress);
//! - a `regex`: its NFA bytes times the bytes it scans, over [`REGEX_BYTES_PER_STEP`]; a
//!   `text` scan in a relocation window: the bytes it scans;
//! - relocation search: each window (a top-level declaration) costs the file's top-level
//!   nodes plus the window's nodes, per expectation;
//! - a whole-file parse of an earlier version in the walk back through a file's history:
//!   [`PARSE_COST_PER_BYTE`] per byte.
//!
//! When the budget runs out, the work that drew on it stops, and every ref whose check drew on
//! it after that is `error: work budget exhausted`, naming the flag: never a verdict made from
//! work cut short. Ordinary runs stay far below it.
//!
//! Two kinds of budget, each of `--work-budget` steps:
//!
//! - the run's one budget, shared by its threads, for checking the refs where they are cited
//!   or followed to (relocation search, queries, regexes, text scans);
//! - one budget per file for the walk back through its history, for refs without `at` (where
//!   each last held, where its lines were last whole: [`FileBudgets`]). The refs of one file
//!   share its walk, one thread walks it, and it draws on nothing else, so which refs a walk
//!   cuts short depends on that file and its history alone, never on what other threads did
//!   first; a run walking N files may do N times the work, as it reads N files.
//!
//! A thread draws from a budget only while a [`Metered`] guard installs it; work on a thread
//! without one is not counted (the library's own helpers, `explain`, tests of one evaluator).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The default budget of a run, in steps: about 5 s of expensive work here, so the worst case
/// of a whole run stays under 10 s with its fixed costs (reading, parsing the cited files).
pub const DEFAULT_WORK_BUDGET: u64 = 5_000_000_000;

/// The flag that sets the budget, named by every message about it.
pub const FLAG: &str = "--work-budget";

/// The steps of the matching work between two of tree-sitter's progress reports (a hundred
/// cursor operations) when at most `match_limit` matches are in progress: each operation
/// compares the in-progress matches. A wildcard pattern at a cap of 1,581 took 280 us per
/// report here; a plain query over 100,000 nested calls (cap 15) a few.
pub fn query_progress_steps(match_limit: u32) -> u64 {
    100 * (20 + 2 * u64::from(match_limit))
}

/// A `regex` of NFA bytes x text bytes costs that over this many steps: 6.4e11 byte-steps took
/// 28 s here.
pub const REGEX_BYTES_PER_STEP: u64 = 23;

/// Steps charged per byte of a whole-file parse of another version in a history walk, with
/// reading it and trying a partial parse first: 2.6 MB took 0.56 s of CPU here to read, parse,
/// check and free.
pub const PARSE_COST_PER_BYTE: u64 = 300;

/// The work a run, or the walk back through one file's history, may still do.
#[derive(Debug)]
pub struct WorkBudget {
    limit: u64,
    left: AtomicU64,
    exhausted: AtomicBool,
    /// The file whose walk back it pays for; `None` for the run's.
    file: Option<String>,
}

impl WorkBudget {
    /// The run's budget.
    pub fn new(limit: u64) -> Arc<WorkBudget> {
        Arc::new(WorkBudget {
            limit,
            left: AtomicU64::new(limit),
            exhausted: AtomicBool::new(false),
            file: None,
        })
    }

    /// The budget of the walk back through `file`'s history.
    pub fn for_walk(limit: u64, file: &str) -> Arc<WorkBudget> {
        Arc::new(WorkBudget {
            limit,
            left: AtomicU64::new(limit),
            exhausted: AtomicBool::new(false),
            file: Some(file.to_string()),
        })
    }

    /// The budget the run started with.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// True once some work was refused.
    pub fn exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
    }

    /// Takes `steps` from the budget; false (and nothing taken) when fewer are left.
    fn take(&self, steps: u64) -> bool {
        let taken = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(steps)
            })
            .is_ok();
        if !taken {
            self.exhausted.store(true, Ordering::Relaxed);
        }
        taken
    }

    /// What the report says of a ref whose check the budget cut short.
    pub fn message(&self) -> String {
        match &self.file {
            None => format!(
                "work budget exhausted: this run's {} steps of expensive work (relocation search, queries, regexes) ran out before this ref was checked; raise it with `{FLAG} N`, cite the evidence again, or add `at` or `symbol`",
                self.limit
            ),
            Some(file) => format!(
                "work budget exhausted: the walk back through the history of {file} (where this ref, which has no `at`, last held) ran out of its {} steps of expensive work (parses of earlier versions); raise it with `{FLAG} N`, or add `at`",
                self.limit
            ),
        }
    }
}

/// The budgets of the walks back through history, one per file, each of the same limit (the
/// run's `--work-budget`), made when a file's walk first draws and kept for the run: the walk
/// for refs that did not hold and the one for citations no longer whole draw on the same.
#[derive(Debug)]
pub struct FileBudgets {
    limit: u64,
    files: Mutex<HashMap<String, Arc<WorkBudget>>>,
}

impl FileBudgets {
    pub fn new(limit: u64) -> FileBudgets {
        FileBudgets {
            limit,
            files: Mutex::new(HashMap::new()),
        }
    }

    /// The budget of the walk back through `file`'s history.
    pub fn of(&self, file: &str) -> Arc<WorkBudget> {
        let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            files
                .entry(file.to_string())
                .or_insert_with(|| WorkBudget::for_walk(self.limit, file)),
        )
    }
}

struct Meter {
    budget: Arc<WorkBudget>,
    /// Set when this thread's work was refused since it was last read.
    cut: bool,
}

thread_local! {
    static METER: RefCell<Option<Meter>> = const { RefCell::new(None) };
}

/// Installs a budget on this thread until dropped (the one it replaced comes back).
pub struct Metered {
    previous: Option<Meter>,
}

impl Metered {
    pub fn install(budget: &Arc<WorkBudget>) -> Metered {
        let previous = METER.with(|m| {
            m.borrow_mut().replace(Meter {
                budget: Arc::clone(budget),
                cut: false,
            })
        });
        Metered { previous }
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        METER.with(|m| *m.borrow_mut() = previous);
    }
}

/// Draws `steps` from this thread's budget: false when it is exhausted (the work must stop,
/// and the ref doing it is cut). Always true on a thread without one.
pub fn charge(steps: u64) -> bool {
    METER.with(|m| match m.borrow_mut().as_mut() {
        Some(meter) => {
            let taken = meter.budget.take(steps);
            meter.cut |= !taken;
            taken
        }
        None => true,
    })
}

/// True when this thread's budget is installed and has nothing left for `steps`, without
/// drawing (for a step that can tell its cost before it starts).
pub fn would_exceed(steps: u64) -> bool {
    METER.with(|m| {
        m.borrow()
            .as_ref()
            .is_some_and(|meter| meter.budget.left.load(Ordering::Relaxed) < steps)
    })
}

/// Whether this thread's work was cut since the last call, clearing it.
pub fn take_cut() -> bool {
    METER.with(|m| {
        m.borrow_mut()
            .as_mut()
            .is_some_and(|meter| std::mem::take(&mut meter.cut))
    })
}

/// When this thread's work was cut since the last call (clearing it), what the report says.
pub fn take_cut_message() -> Option<String> {
    METER.with(|m| {
        let mut meter = m.borrow_mut();
        let meter = meter.as_mut()?;
        std::mem::take(&mut meter.cut).then(|| meter.budget.message())
    })
}

/// Marks this thread's current work as cut (a step that refused to start).
pub fn cut() {
    METER.with(|m| {
        if let Some(meter) = m.borrow_mut().as_mut() {
            meter.budget.exhausted.store(true, Ordering::Relaxed);
            meter.cut = true;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_is_counted_until_the_budget_runs_out() {
        let budget = WorkBudget::new(10);
        assert!(charge(100), "unmetered threads are not limited");
        let guard = Metered::install(&budget);
        assert!(charge(6));
        assert!(!take_cut());
        assert!(!charge(6));
        assert!(take_cut());
        assert!(!take_cut());
        assert!(charge(4));
        assert!(budget.exhausted());
        drop(guard);
        assert!(charge(100));
    }

    /// Each file's walk back has a budget of its own, the same one however often it is asked
    /// for (both walks of a file draw on it), and its message names the file.
    #[test]
    fn each_file_walked_has_its_own_budget() {
        let budgets = FileBudgets::new(10);
        let a = budgets.of("a.go");
        {
            let _metered = Metered::install(&a);
            assert!(charge(8));
        }
        {
            let _metered = Metered::install(&budgets.of("b.go"));
            assert!(charge(8), "b.go's walk is not paid from a.go's");
        }
        let _metered = Metered::install(&budgets.of("a.go"));
        assert!(
            !charge(8),
            "a.go's second walk draws on what its first left"
        );
        assert!(a.exhausted());
        let message = a.message();
        assert!(message.contains("history of a.go"), "{message}");
        assert!(message.contains(FLAG), "{message}");
    }
}
