//! Progress reports from a verification run, for callers that draw a progress bar (the library
//! itself never prints).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Called with `(done, total)` files each time a cited file has been read, parsed and
/// evaluated; `total` is the number of distinct files the run checks. Calls come from worker
/// threads, in no particular order, with `done` counting up to `total`.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(usize, usize) + Send + Sync>);

impl Progress {
    pub fn new(callback: impl Fn(usize, usize) + Send + Sync + 'static) -> Self {
        Progress(Arc::new(callback))
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Counts finished files across threads and reports each one.
pub(crate) struct FileCounter<'a> {
    progress: Option<&'a Progress>,
    done: AtomicUsize,
    total: usize,
}

impl<'a> FileCounter<'a> {
    pub(crate) fn new(progress: Option<&'a Progress>, total: usize) -> Self {
        FileCounter {
            progress,
            done: AtomicUsize::new(0),
            total,
        }
    }

    pub(crate) fn finished_one(&self) {
        if let Some(progress) = self.progress {
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            (progress.0)(done, self.total);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use rayon::prelude::*;

    use super::*;

    #[test]
    fn counter_reports_every_file_up_to_the_total() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let progress = Progress::new(move |done, total| sink.lock().unwrap().push((done, total)));
        let counter = FileCounter::new(Some(&progress), 40);
        (0..40).into_par_iter().for_each(|_| counter.finished_one());
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        let expected: Vec<(usize, usize)> = (1..=40).map(|d| (d, 40)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn verify_reports_each_distinct_file_once() {
        let anchors = crate::anchors::parse(
            "version: 1\nclaims:\n  - id: a\n    status: implemented\n    refs:\n      - { path: a.go, lines: 1-3, expect: [ { call: f } ] }\n      - { path: b.go, lines: 1-3, expect: [ { call: f } ] }\n  - id: b\n    status: implemented\n    refs:\n      - { path: a.go, lines: 1-3, expect: [ { call: g } ] }\n",
            std::path::Path::new("anchors.yaml"),
            std::path::Path::new("anchors.yaml"),
        )
        .unwrap();
        let mut files = crate::source::MemoryFiles::new();
        files.insert("a.go", "package a\nfunc x() { f() }\n\n");
        files.insert("b.go", "package b\nfunc y() { f() }\n\n");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let options = crate::verify::VerifyOptions {
            progress: Some(Progress::new(move |done, total| {
                sink.lock().unwrap().push((done, total))
            })),
            ..Default::default()
        };
        let revision = crate::verify::RevisionInfo {
            repo: ".".into(),
            rev: "WORKTREE".into(),
            commit: None,
        };
        let report =
            crate::verify::verify(&anchors, &files, &[], None, revision, &options).unwrap();
        assert_eq!(report.claims.len(), 2);
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(seen, [(1, 2), (2, 2)]);
    }
}
