//! Output is byte-identical across runs and rayon thread counts.

use crate::common::{anchorcheck, drift_repo};

#[test]
fn output_is_identical_across_runs_and_thread_counts() {
    // The drift fixture exercises history, symbol and search relocation, culprits and docs.
    let repo = drift_repo(3).repo;
    for format in ["text", "json"] {
        let mut outputs = Vec::new();
        for threads in 1..=4 {
            for _ in 0..2 {
                let out = anchorcheck(repo.path())
                    .args(["verify", "--format", format])
                    .env("RAYON_NUM_THREADS", threads.to_string())
                    .output()
                    .unwrap();
                outputs.push((threads, out.status.code(), out.stdout));
            }
        }
        let (_, code, reference) = &outputs[0];
        assert!(!reference.is_empty());
        for (threads, c, out) in &outputs {
            assert_eq!(c, code, "{format} exit code with {threads} threads");
            assert!(
                out == reference,
                "{format} output differs with {threads} threads:\n{}\n---\n{}",
                String::from_utf8_lossy(out),
                String::from_utf8_lossy(reference)
            );
        }
    }
}
