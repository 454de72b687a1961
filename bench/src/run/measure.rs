//! Running a command several times under `/usr/bin/time -v`: median wall time (timed here, to
//! the millisecond) and peak resident set size (from time's report).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Median wall seconds and median peak RSS (MB) of several runs.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    pub seconds: f64,
    pub rss_mb: f64,
}

impl Measured {
    /// The median seconds and median peak RSS of single runs (the alternating runs of several
    /// tools).
    pub fn median_of(runs: &[Measured]) -> Measured {
        Measured {
            seconds: median(runs.iter().map(|m| m.seconds).collect()),
            rss_mb: median(runs.iter().map(|m| m.rss_mb).collect()),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// One program invocation.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Exit codes that count as success (anchorcheck exits 1 when some ref fails).
    pub ok_codes: Vec<i32>,
}

impl Invocation {
    pub fn new(program: impl Into<String>, args: &[&str]) -> Invocation {
        Invocation {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            ok_codes: vec![0],
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Invocation {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn ok_codes(mut self, codes: &[i32]) -> Invocation {
        self.ok_codes = codes.to_vec();
        self
    }

    /// Runs once and returns stdout (for checks, not timing).
    pub fn output(&self, cwd: &Path) -> Result<Vec<u8>> {
        let out = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().cloned())
            .current_dir(cwd)
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running {}", self.program))?;
        let code = out.status.code().unwrap_or(-1);
        if !self.ok_codes.contains(&code) {
            bail!("{} {:?} exited with {code}", self.program, self.args);
        }
        Ok(out.stdout)
    }

    /// Runs once and returns the exit code and stdout, whatever the code (for reports).
    #[allow(
        dead_code,
        reason = "only the hostile-input benchmark reads exit codes"
    )]
    pub fn status_and_output(&self, cwd: &Path) -> Result<(i32, Vec<u8>)> {
        let out = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().cloned())
            .current_dir(cwd)
            .stderr(Stdio::null())
            .output()
            .with_context(|| format!("running {}", self.program))?;
        Ok((out.status.code().unwrap_or(-1), out.stdout))
    }

    /// Runs `runs` times under `/usr/bin/time -v`, output discarded.
    pub fn measure(&self, cwd: &Path, runs: usize) -> Result<Measured> {
        let report = cwd.join(".time-report");
        let mut seconds = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let status = Command::new("/usr/bin/time")
                .arg("-v")
                .arg("-o")
                .arg(&report)
                .arg(&self.program)
                .args(&self.args)
                .envs(self.env.iter().cloned())
                .current_dir(cwd)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .context("running /usr/bin/time (apt-get install time)")?;
            seconds.push(started.elapsed().as_secs_f64());
            let code = status.code().unwrap_or(-1);
            if !self.ok_codes.contains(&code) {
                bail!("{} {:?} exited with {code}", self.program, self.args);
            }
            let text = std::fs::read_to_string(&report)?;
            let kb: f64 = text
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("Maximum resident set size (kbytes): ")
                })
                .context("no RSS in time's report")?
                .trim()
                .parse()?;
            rss.push(kb / 1024.0);
        }
        Ok(Measured {
            seconds: median(seconds),
            rss_mb: median(rss),
        })
    }
}
