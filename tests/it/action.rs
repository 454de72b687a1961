//! The GitHub Action's scripts and install.sh, run here as the runner would run them: installing
//! from a fake release (file:// and a loopback HTTP server) with its checksum checked, refusing a
//! mismatch, building with cargo only when there is no release, and running anchorcheck so that
//! nothing it prints can act as a workflow command.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::root;

fn action_step(id: &str) -> String {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: Value = serde_saphyr::from_str(&text).unwrap();
    action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id || s["name"] == id)
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("action.yml has no step {id} with a script"))
        .to_string()
}

/// The literal value of `key` in the `env` of action.yml's step `id` (`PINNED_SHA256`).
fn step_env(action: &Path, id: &str, key: &str) -> String {
    let text = std::fs::read_to_string(action).unwrap();
    let action: Value = serde_saphyr::from_str(&text).unwrap();
    action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .and_then(|s| s["env"][key].as_str())
        .unwrap_or_else(|| panic!("action.yml's step {id} sets no {key}"))
        .to_string()
}

/// What the release workflow records in action.yml for a release whose files are in `release`:
/// `.github/record-sha256.sh` run on a copy of action.yml, and the copy's `PINNED_VERSION` and
/// `PINNED_SHA256` read back.
fn recorded_pins(release: &Path, version: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("action.yml");
    std::fs::copy(root().join("action.yml"), &copy).unwrap();
    let output = Command::new("sh")
        .arg(root().join(".github/record-sha256.sh"))
        .arg(version)
        .arg(release)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    (
        step_env(&copy, "release", "PINNED_VERSION"),
        step_env(&copy, "release", "PINNED_SHA256"),
    )
}

/// The version in Cargo.toml, which the action installs by default.
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn write_executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The targets install.sh may pick; the fake release has an archive for each.
const TARGETS: [&str; 4] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

/// A release directory laid out as cargo-dist publishes one: per target a `.tar.gz` holding
/// `anchorcheck-<target>/anchorcheck` and a `.sha256` file reading `<hex> *<name>`. The binary
/// is a script that says which version it is.
fn fake_release(dir: &Path, says_version: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for target in TARGETS {
        let stage = tempfile::tempdir().unwrap();
        let name = format!("anchorcheck-{target}");
        write_executable(
            &stage.path().join(&name).join("anchorcheck"),
            &format!("#!/bin/sh\necho \"anchorcheck {says_version}\"\n"),
        );
        let archive = format!("{name}.tar.gz");
        let status = Command::new("tar")
            .args(["-czf", dir.join(&archive).to_str().unwrap(), &name])
            .current_dir(stage.path())
            .status()
            .unwrap();
        assert!(status.success());
        let hash = sha256_hex(&std::fs::read(dir.join(&archive)).unwrap());
        std::fs::write(
            dir.join(format!("{archive}.sha256")),
            format!("{hash} *{archive}\n"),
        )
        .unwrap();
    }
}

/// A `cargo` that records its arguments and installs a stand-in binary where `--root` says.
fn stub_cargo(bin: &Path, log: &Path) {
    write_executable(
        &bin.join("cargo"),
        &format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nroot=\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\n\
             mkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho built\\n' > \"$root/bin/anchorcheck\"\nchmod +x \"$root/bin/anchorcheck\"\n",
            log.display()
        ),
    );
}

/// What a step left behind.
struct StepRun {
    output: Output,
    outputs: HashMap<String, String>,
    github_path: String,
    temp: tempfile::TempDir,
}

impl StepRun {
    /// The step's log: stdout and stderr as the runner interleaves them.
    fn log(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
}

/// Runs an action step's script with bash, as the runner does (`bash -e`), with a fresh
/// RUNNER_TEMP, GITHUB_OUTPUT and GITHUB_PATH, `extra_path` first on PATH and `env` set.
fn run_step(id: &str, action_path: &Path, extra_path: &Path, env: &[(&str, &str)]) -> StepRun {
    let temp = tempfile::tempdir().unwrap();
    let output_file = temp.path().join("output");
    let path_file = temp.path().join("path");
    let mut cmd = Command::new("bash");
    cmd.arg("-e")
        .arg("-c")
        .arg(format!("exec 2>&1\n{}", action_step(id)))
        .env(
            "PATH",
            format!(
                "{}:{}",
                extra_path.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("GITHUB_ACTION_PATH", action_path)
        .env("RUNNER_TEMP", temp.path())
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_PATH", &path_file)
        .env("GITHUB_STEP_SUMMARY", temp.path().join("summary"))
        .env_remove("GITHUB_SERVER_URL")
        .env("ACTION_REPOSITORY", "")
        .env("INPUT_VERSION", "")
        .env("INPUT_DOWNLOAD_BASE", "");
    // The runner sets a step's env from action.yml: the pinned checksums as committed.
    let action = root().join("action.yml");
    for key in ["PINNED_VERSION", "PINNED_SHA256"] {
        cmd.env(key, step_env(&action, "release", key));
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let outputs = std::fs::read_to_string(&output_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let github_path = std::fs::read_to_string(&path_file).unwrap_or_default();
    StepRun {
        output,
        outputs,
        github_path,
        temp,
    }
}

/// A file server on loopback: GET /<path> serves `dir/<path>`, anything missing is a 404.
/// Bounded: it answers `requests` connections and stops.
fn serve(dir: PathBuf, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let file = dir.join(path.trim_start_matches('/'));
            let response = match std::fs::read(&file) {
                Ok(body) if file.starts_with(&dir) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend(body);
                    r
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    format!("http://{address}")
}

struct Setup {
    _dir: tempfile::TempDir,
    release: PathBuf,
    bin: PathBuf,
    cargo_log: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let release = dir.path().join("release");
    let bin = dir.path().join("stub-bin");
    let cargo_log = dir.path().join("cargo.log");
    stub_cargo(&bin, &cargo_log);
    Setup {
        release,
        bin,
        cargo_log,
        _dir: dir,
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The action's release step, downloading from the set-up release directory, with the
/// checksums the release workflow would have recorded for it.
fn release_step(s: &Setup) -> StepRun {
    let base = file_url(&s.release);
    let published = std::fs::read_dir(&s.release).is_ok_and(|mut d| d.next().is_some());
    let (pinned_version, pinned) = if published {
        recorded_pins(&s.release, version())
    } else {
        (String::new(), String::new())
    };
    run_step(
        "release",
        root(),
        &s.bin,
        &[
            ("INPUT_DOWNLOAD_BASE", base.as_str()),
            ("PINNED_VERSION", pinned_version.as_str()),
            ("PINNED_SHA256", pinned.as_str()),
        ],
    )
}

#[test]
fn action_installs_the_release_binary_with_its_checksum_and_builds_nothing() {
    let s = setup();
    fake_release(&s.release, version());
    let run = release_step(&s);
    assert!(run.output.status.success(), "{}", run.log());
    assert_eq!(run.outputs["installed"], "true");
    // The build cache's key names the lock file, in case a build is needed after all.
    let lock = &run.outputs["lock"];
    assert!(
        lock.len() == 16 && lock.bytes().all(|b| b.is_ascii_hexdigit()),
        "{lock}"
    );
    let bin = PathBuf::from(&run.outputs["bin"]);
    assert_eq!(run.github_path.trim(), bin.to_str().unwrap());
    let said = Command::new(bin.join("anchorcheck"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&said.stdout).trim(),
        format!("anchorcheck {}", version())
    );
    assert!(run.log().contains("checksum verified"), "{}", run.log());
    assert!(
        !s.cargo_log.exists(),
        "cargo ran: no compilation was expected"
    );
    drop(run.temp);
}

#[test]
fn a_checksum_mismatch_fails_the_step_and_never_builds() {
    let s = setup();
    fake_release(&s.release, version());
    for target in TARGETS {
        let sum = s
            .release
            .join(format!("anchorcheck-{target}.tar.gz.sha256"));
        std::fs::write(&sum, format!("{} *x\n", "0".repeat(64))).unwrap();
    }
    let run = release_step(&s);
    assert_eq!(run.output.status.code(), Some(1), "{}", run.log());
    assert!(run.log().contains("checksum mismatch"), "{}", run.log());
    assert!(!run.outputs.contains_key("installed"));
    assert!(run.github_path.is_empty());
    assert!(
        !s.cargo_log.exists(),
        "a mismatch must not fall back to a build"
    );
}

#[test]
fn a_binary_of_another_version_is_refused() {
    let s = setup();
    fake_release(&s.release, "0.0.0-other");
    let run = release_step(&s);
    assert_eq!(run.output.status.code(), Some(1), "{}", run.log());
    assert!(run.log().contains("holds no anchorcheck"), "{}", run.log());
}

#[test]
fn no_release_falls_back_to_cargo_install_locked_from_the_action() {
    let s = setup();
    std::fs::create_dir_all(&s.release).unwrap();
    let run = release_step(&s);
    assert!(run.output.status.success(), "{}", run.log());
    assert_eq!(run.outputs["installed"], "false");
    assert!(
        !s.cargo_log.exists(),
        "the release step itself never builds"
    );

    // The build step the action runs next, with what the release step said.
    let build = run_step(
        "Build anchorcheck (no release to download)",
        root(),
        &s.bin,
        &[
            ("BIN", run.outputs["bin"].as_str()),
            ("VERSION", run.outputs["version"].as_str()),
        ],
    );
    assert!(build.output.status.success(), "{}", build.log());
    let log = std::fs::read_to_string(&s.cargo_log).unwrap();
    assert!(
        log.starts_with(&format!(
            "install --locked --path {} --root ",
            root().display()
        )),
        "{log}"
    );
    assert!(
        PathBuf::from(&run.outputs["bin"])
            .join("anchorcheck")
            .exists()
    );
    assert_eq!(build.github_path.trim(), run.outputs["bin"]);
}

#[test]
fn the_default_download_url_is_the_releases_of_the_actions_own_repository() {
    // The runner keeps a downloaded action in _actions/OWNER/REPO/REF; GITHUB_SERVER_URL points
    // at a loopback server holding zen/anchorcheck's release.
    let s = setup();
    let served = tempfile::tempdir().unwrap();
    fake_release(
        &served
            .path()
            .join(format!("zen/anchorcheck/releases/download/v{}", version())),
        version(),
    );
    let server = serve(served.path().to_path_buf(), 8);
    let actions = tempfile::tempdir().unwrap();
    let action_path = actions.path().join("_actions/zen/anchorcheck/v1");
    std::fs::create_dir_all(&action_path).unwrap();
    for file in ["Cargo.toml", "Cargo.lock", "install.sh"] {
        std::fs::copy(root().join(file), action_path.join(file)).unwrap();
    }
    let release = served
        .path()
        .join(format!("zen/anchorcheck/releases/download/v{}", version()));
    let (pinned_version, pinned) = recorded_pins(&release, version());
    let run = run_step(
        "release",
        &action_path,
        &s.bin,
        &[
            ("GITHUB_SERVER_URL", server.as_str()),
            ("PINNED_VERSION", pinned_version.as_str()),
            ("PINNED_SHA256", pinned.as_str()),
        ],
    );
    assert!(run.output.status.success(), "{}", run.log());
    assert_eq!(run.outputs["installed"], "true", "{}", run.log());

    // The same server without that release: a 404, so the action builds.
    let run = run_step(
        "release",
        &action_path,
        &s.bin,
        &[
            ("GITHUB_SERVER_URL", server.as_str()),
            ("INPUT_VERSION", "9.9.9"),
        ],
    );
    assert!(run.output.status.success(), "{}", run.log());
    assert_eq!(run.outputs["installed"], "false", "{}", run.log());
}

#[test]
fn install_sh_installs_refuses_and_falls_back() {
    let s = setup();
    fake_release(&s.release, "1.2.3");
    let to = s.release.parent().unwrap().join("installed");
    let install = |args: &[&str]| {
        Command::new("sh")
            .arg(root().join("install.sh"))
            .args(args)
            .env(
                "PATH",
                format!("{}:{}", s.bin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap()
    };
    let base = file_url(&s.release);
    let to_s = to.to_str().unwrap();
    let ok = install(&["--version", "v1.2.3", "--to", to_s, "--base-url", &base]);
    assert!(ok.status.success(), "{ok:?}");
    assert!(to.join("anchorcheck").exists());

    // Usage errors exit 2.
    assert_eq!(install(&["--to", to_s]).status.code(), Some(2));
    assert_eq!(install(&["--version"]).status.code(), Some(2));
    assert_eq!(install(&["--bogus"]).status.code(), Some(2));

    // No release: exit 3 with --no-build, a cargo build of the tag without it.
    let empty = file_url(&s.release.join("none"));
    let none = install(&[
        "--version",
        "1.2.3",
        "--to",
        to_s,
        "--base-url",
        &empty,
        "--no-build",
    ]);
    assert_eq!(none.status.code(), Some(3), "{none:?}");
    assert!(!s.cargo_log.exists());
    let built = install(&["--version", "1.2.3", "--to", to_s, "--base-url", &empty]);
    assert!(built.status.success(), "{built:?}");
    let log = std::fs::read_to_string(&s.cargo_log).unwrap();
    assert!(
        log.starts_with(
            "install --locked --git https://github.com/anchorcheck/anchorcheck --tag v1.2.3 anchorcheck --root "
        ),
        "{log}"
    );

    // A tampered archive is refused and the installed binary is left as it was.
    let before = std::fs::read(to.join("anchorcheck")).unwrap();
    for target in TARGETS {
        let a = s.release.join(format!("anchorcheck-{target}.tar.gz"));
        std::fs::write(&a, b"not the archive that was checksummed").unwrap();
    }
    let bad = install(&["--version", "1.2.3", "--to", to_s, "--base-url", &base]);
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("checksum mismatch"));
    assert_eq!(std::fs::read(to.join("anchorcheck")).unwrap(), before);
}

/// Issue 23 row 10: `--base-url 'http://localhost:80@evil.example/rel'` passed the "plain http
/// only to this machine" rule, and curl took the host after the `@`. Here the host after the
/// `@` is a loopback server holding a release, so before the fix the install went through.
#[test]
fn install_sh_takes_the_host_after_user_information_and_refuses_an_at() {
    let s = setup();
    fake_release(&s.release, "1.2.3");
    let to = s.release.parent().unwrap().join("installed");
    let served = serve(s.release.clone(), 4);
    let tricked = served.replacen("http://", "http://localhost:80@", 1);
    for base in [
        tricked.as_str(),
        "https://github.com@evil.example/rel",
        "http://127.0.0.1.evil.example/rel",
        "http://evil.example/rel",
    ] {
        let output = Command::new("sh")
            .arg(root().join("install.sh"))
            .args(["--version", "1.2.3", "--to", to.to_str().unwrap()])
            .args(["--base-url", base, "--no-build"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{base}: {stderr}");
        assert!(
            stderr.contains("must not hold '@'") || stderr.contains("plain http is only for"),
            "{base}: {stderr}"
        );
        assert!(!to.join("anchorcheck").exists(), "{base}: installed");
    }
}

/// Issue 23 row 11: the SHA-256 came from the same release as the binary, so whoever could
/// replace a release's files replaced both, and pinning the action by commit pinned nothing.
/// The action now checks the archive against the SHA-256 recorded in action.yml.
#[test]
fn the_action_installs_only_the_binary_its_commit_records() {
    let s = setup();
    fake_release(&s.release, version());
    let (pinned_version, pinned) = recorded_pins(&s.release, version());
    assert_eq!(pinned_version, version());
    assert_eq!(pinned.split(' ').count(), TARGETS.len(), "{pinned}");
    // The release is replaced after the action was pinned: another binary, with a checksum
    // file that matches it.
    for target in TARGETS {
        let stage = tempfile::tempdir().unwrap();
        let name = format!("anchorcheck-{target}");
        write_executable(
            &stage.path().join(&name).join("anchorcheck"),
            &format!(
                "#!/bin/sh\necho \"anchorcheck {}\"\necho owned\n",
                version()
            ),
        );
        let archive = s.release.join(format!("{name}.tar.gz"));
        let status = Command::new("tar")
            .args(["-czf", archive.to_str().unwrap(), &name])
            .current_dir(stage.path())
            .status()
            .unwrap();
        assert!(status.success());
        let hash = sha256_hex(&std::fs::read(&archive).unwrap());
        std::fs::write(
            s.release.join(format!("{name}.tar.gz.sha256")),
            format!("{hash} *{name}.tar.gz\n"),
        )
        .unwrap();
    }
    let base = file_url(&s.release);
    let run = run_step(
        "release",
        root(),
        &s.bin,
        &[
            ("INPUT_DOWNLOAD_BASE", base.as_str()),
            ("PINNED_VERSION", pinned_version.as_str()),
            ("PINNED_SHA256", pinned.as_str()),
        ],
    );
    assert_eq!(run.output.status.code(), Some(1), "{}", run.log());
    assert!(run.log().contains("checksum mismatch"), "{}", run.log());
    assert!(run.github_path.is_empty());
    assert!(
        !s.cargo_log.exists(),
        "a mismatch must not fall back to a build"
    );

    // Pinned to another version than the one installed by default (no SHA-256 recorded for
    // it): the action builds its own source rather than trust the download.
    let run = run_step(
        "release",
        root(),
        &s.bin,
        &[
            ("INPUT_DOWNLOAD_BASE", base.as_str()),
            ("PINNED_VERSION", "0.0.1"),
            ("PINNED_SHA256", pinned.as_str()),
        ],
    );
    assert!(run.output.status.success(), "{}", run.log());
    assert_eq!(run.outputs["installed"], "false", "{}", run.log());
    assert!(run.log().contains("records no SHA-256"), "{}", run.log());

    // A version asked for by name, not the pinned one: its release's own checksum, said so.
    fake_release(&s.release, "9.9.9");
    let run = run_step(
        "release",
        root(),
        &s.bin,
        &[
            ("INPUT_DOWNLOAD_BASE", base.as_str()),
            ("INPUT_VERSION", "9.9.9"),
            ("PINNED_VERSION", pinned_version.as_str()),
            ("PINNED_SHA256", pinned.as_str()),
        ],
    );
    assert!(run.output.status.success(), "{}", run.log());
    assert_eq!(run.outputs["installed"], "true", "{}", run.log());
    assert!(
        run.log().contains("is not the release this action pins"),
        "{}",
        run.log()
    );
}

#[test]
fn install_sh_pinned_checks_only_the_recorded_sha256() {
    let s = setup();
    fake_release(&s.release, "1.2.3");
    let to = s.release.parent().unwrap().join("installed");
    let (_, pinned) = recorded_pins(&s.release, "1.2.3");
    // The release's own checksum files are wrong: with --pinned they are not read.
    for target in TARGETS {
        let sum = s
            .release
            .join(format!("anchorcheck-{target}.tar.gz.sha256"));
        std::fs::write(&sum, format!("{} *x\n", "0".repeat(64))).unwrap();
    }
    let install = |pinned: &str| {
        Command::new("sh")
            .arg(root().join("install.sh"))
            .args(["--version", "1.2.3", "--to", to.to_str().unwrap()])
            .args(["--base-url", &file_url(&s.release), "--no-build"])
            .args(["--pinned", pinned])
            .output()
            .unwrap()
    };
    let ok = install(&pinned);
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stderr).contains("pinned checksum verified"));
    // A target with no recorded SHA-256 has no binary to trust.
    let none = install("sparc-unknown-none=00");
    assert_eq!(none.status.code(), Some(3), "{none:?}");
}

/// A stand-in `anchorcheck` for the run step: prints its arguments, then text that would be
/// workflow commands if the runner took it for them, and writes `--output FORMAT=FILE` files.
const HOSTILE_ANCHORCHECK: &str = r#"#!/bin/sh
for arg in "$@"; do
  case $arg in markdown=*) printf '## report\n::error::FORGED in markdown\n' > "${arg#markdown=}" ;; esac
done
printf '%s\n' "$@"
echo '::error file=main.go,line=2::FORGED'
echo '::add-mask::verified'
echo 'a ##[warning]FORGED legacy command'
echo '::error file=anchors.yaml,line=3::FORGED on stderr' >&2
exit 1
"#;

/// The workflow commands the runner would act on in `log`, as it parses them: `::cmd` at the
/// start of a line, and a `::stop-commands::TOKEN` turns that off until `::TOKEN::`.
fn commands_acted_on(log: &str) -> Vec<String> {
    let mut stopped: Option<String> = None;
    let mut acted = Vec::new();
    for line in log.lines() {
        let line = line.trim_start();
        if let Some(token) = &stopped {
            if line == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        if let Some(token) = line.strip_prefix("::stop-commands::") {
            stopped = Some(token.to_string());
            continue;
        }
        if line.starts_with("::") || line.contains("##[") {
            acted.push(line.to_string());
        }
    }
    acted
}

fn run_anchorcheck_step(format: &str, base: &str) -> StepRun {
    let bin = tempfile::tempdir().unwrap();
    write_executable(&bin.path().join("anchorcheck"), HOSTILE_ANCHORCHECK);
    let run = run_step(
        "run",
        root(),
        bin.path(),
        &[
            ("INPUT_ANCHORS", ""),
            ("INPUT_REPO", ""),
            ("INPUT_REV", ""),
            ("INPUT_BASE", base),
            ("INPUT_FORMAT", format),
            ("INPUT_ALLOW_DRIFT", ""),
            ("INPUT_CACHE_DIR", ""),
        ],
    );
    assert!(run.output.status.success(), "{}", run.log());
    assert_eq!(run.outputs["exit-code"], "1");
    run
}

#[test]
fn the_run_step_lets_no_repository_text_act_as_a_workflow_command() {
    for format in ["text", "markdown", "json", "sarif", "junit"] {
        let run = run_anchorcheck_step(format, "");
        let log = run.log();
        assert!(
            log.contains("FORGED"),
            "{format}: the report was not printed: {log}"
        );
        assert_eq!(
            commands_acted_on(&log),
            Vec::<String>::new(),
            "{format}: {log}"
        );
    }
    // With format github the report is the annotations, printed once commands resume.
    let run = run_anchorcheck_step("github", "");
    let log = run.log();
    let acted = commands_acted_on(&log);
    // anchorcheck's stderr (a config error quoting anchors.yaml) came while commands were off.
    assert_eq!(acted[0], "::error file=main.go,line=2::FORGED", "{log}");
    assert!(!acted.iter().any(|c| c.contains("on stderr")), "{log}");
}

#[test]
fn the_run_step_passes_only_the_inputs_given_and_keeps_the_markdown() {
    let run = run_anchorcheck_step("github", "");
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    let markdown = run.outputs["markdown"].clone();
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("::stop-commands::"))
        .unwrap();
    let resume = format!("::{token}::");
    let args: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != resume)
        .skip(1)
        .take_while(|l| !l.starts_with("::error"))
        .collect();
    assert_eq!(
        args,
        [
            "verify",
            "--output",
            &format!("markdown={markdown}"),
            "--format",
            "github"
        ]
    );
    let summary = std::fs::read_to_string(run.temp.path().join("summary")).unwrap();
    assert!(summary.starts_with("## report"), "{summary}");

    let run = run_anchorcheck_step("markdown", "origin/main");
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    assert!(
        stdout.contains("diff\n--base\norigin/main\n--output\n"),
        "{stdout}"
    );
}

/// SHA-256 of `data` by `sha256sum`, which install.sh uses too; no hashing crate for a test.
fn sha256_hex(data: &[u8]) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(data)?;
            child.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}
