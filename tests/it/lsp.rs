//! `anchorcheck lsp` driven over stdio with JSON-RPC, as an editor drives it: the real binary,
//! on fixture repositories built from testdata/lsp.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestRepo, anchorcheck, testdata};

/// How long a message may take before the test gives up instead of hanging: a safety net for a
/// server that never answers, not a measure of speed (the bench measures that).
const GIVE_UP: Duration = Duration::from_secs(120);

/// A language client talking to one `anchorcheck lsp` process.
struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
    /// Requests the server sent.
    from_server: Vec<Value>,
    /// What the server said it can do.
    capabilities: Value,
    /// The diagnostics last published for each URI.
    latest: std::collections::HashMap<String, Vec<Value>>,
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

impl Client {
    fn start(root: &Path) -> Client {
        Client::start_with(root, json!({}))
    }

    /// Starts a server for a client with these capabilities.
    fn start_with(root: &Path, capabilities: Value) -> Client {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("anchorcheck"))
            .arg("lsp")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start anchorcheck lsp");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            while let Some(message) = read_message(&mut stdout) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            incoming,
            next_id: 0,
            latest: std::collections::HashMap::new(),
            capabilities: Value::Null,
            from_server: Vec::new(),
        };
        let result = client.request(
            "initialize",
            json!({"processId": null, "rootUri": uri(root), "capabilities": capabilities}),
        );
        client.capabilities = result["capabilities"].clone();
        assert!(
            result["capabilities"]["hoverProvider"]
                .as_bool()
                .unwrap_or(false),
            "{result}"
        );
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: &Value) {
        let body = serde_json::to_string(message).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn receive(&mut self) -> Value {
        match self.incoming.recv_timeout(GIVE_UP) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => panic!("no message from the server"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == json!(id) {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            if message.get("id").is_some() && message.get("method").is_some() {
                self.from_server.push(message.clone());
            }
            if message["method"] == "textDocument/publishDiagnostics" {
                let params = &message["params"];
                let list = params["diagnostics"].as_array().unwrap().clone();
                self.latest
                    .insert(params["uri"].as_str().unwrap().to_string(), list);
            }
        }
    }

    /// The diagnostics last published for each of `paths`, once the server has handled every
    /// message sent so far: a request sent now is answered after the publications those
    /// messages caused.
    fn diagnostics(&mut self, paths: &[&Path]) -> Vec<Vec<Value>> {
        self.request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": "file:///sync"}}),
        );
        paths
            .iter()
            .map(|p| {
                self.latest
                    .get(&uri(p))
                    .cloned()
                    .unwrap_or_else(|| panic!("no diagnostics published for {}", p.display()))
            })
            .collect()
    }

    fn open(&mut self, path: &Path, language: &str) -> String {
        let text = std::fs::read_to_string(path).unwrap();
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri(path), "languageId": language, "version": 1, "text": text}}),
        );
        text
    }

    fn change(&mut self, path: &Path, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(path), "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    /// `shutdown` then `exit`; the server must end with status 0.
    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the server ended with {status}");
    }
}

fn at(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

fn position_params(path: &Path, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri(path)}, "position": at(line, character)})
}

/// The 0-based line of the first line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    text.lines().position(|l| l.contains(needle)).expect(needle) as u32
}

/// Applies LSP text edits (UTF-16 columns; the fixtures are ASCII) to `text`.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let character = p["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + character
    };
    let mut sorted: Vec<&Value> = edits.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(offset(&e["range"]["start"])));
    let mut out = text.to_string();
    for edit in sorted {
        let (from, to) = (
            offset(&edit["range"]["start"]),
            offset(&edit["range"]["end"]),
        );
        out.replace_range(from..to, edit["newText"].as_str().unwrap());
    }
    out
}

/// The fixture committed once: every claim verifies.
fn verified_fixture() -> TestRepo {
    let mut repo = TestRepo::new();
    repo.copy_tree(&testdata("lsp/base"), "");
    repo.commit_all("base");
    repo
}

/// The fixture after a commit that moved the guarded handler down: `mtls-required` drifted.
fn drifted_fixture() -> TestRepo {
    let mut repo = verified_fixture();
    repo.copy_tree(&testdata("lsp/drifted"), "");
    repo.commit_all("add healthz above the handler");
    repo
}

fn files(repo: &TestRepo) -> (PathBuf, PathBuf, PathBuf) {
    let root = repo.path();
    (
        root.join("anchors.yaml"),
        root.join("docs/security.md"),
        root.join("src/server.go"),
    )
}

fn severities(diagnostics: &[Value]) -> Vec<(u64, u64, String)> {
    diagnostics
        .iter()
        .map(|d| {
            (
                d["range"]["start"]["line"].as_u64().unwrap(),
                d["severity"].as_u64().unwrap_or(0),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn an_unsaved_edit_that_drops_a_guards_return_fails_the_claim_in_the_go_file_and_anchors_yaml() {
    let repo = verified_fixture();
    let (anchors, page, go) = files(&repo);
    let mut client = Client::start(repo.path());
    let anchors_text = client.open(&anchors, "yaml");
    let go_text = client.open(&go, "go");
    let [on_anchors, on_page, on_go]: [Vec<Value>; 3] = client
        .diagnostics(&[&anchors, &page, &go])
        .try_into()
        .unwrap();
    assert!(on_anchors.is_empty(), "{on_anchors:?}");
    assert!(on_page.is_empty(), "{on_page:?}");
    assert!(on_go.is_empty(), "{on_go:?}");

    // The guard's `return` goes, unsaved: one notification round names the failure in both.
    let edited = go_text.replacen(
        "\t\treturn\n\t}\n\tw.WriteHeader",
        "\t}\n\tw.WriteHeader",
        1,
    );
    assert_ne!(edited, go_text);
    client.change(&go, 2, &edited);
    let [on_go, on_anchors]: [Vec<Value>; 2] =
        client.diagnostics(&[&go, &anchors]).try_into().unwrap();
    let go_found = severities(&on_go);
    assert_eq!(go_found.len(), 1, "{go_found:?}");
    let (line, severity, message) = &go_found[0];
    assert_eq!(*severity, 3, "information on the Go file: {message}");
    assert!(
        message.starts_with("this edit makes `mtls-required` fail: "),
        "{message}"
    );
    assert!(message.contains("fail_closed"), "{message}");
    assert!((18..24).contains(line), "{line}");
    let anchors_found = severities(&on_anchors);
    assert_eq!(anchors_found.len(), 1, "{anchors_found:?}");
    let (line, severity, message) = &anchors_found[0];
    assert_eq!(*line, u64::from(line_of(&anchors_text, "lines: 18-24")));
    assert_eq!(*severity, 1, "an error on the ref: {message}");
    assert!(message.contains("`mtls-required` is broken"), "{message}");
    // The file on disk still holds: the CLI agrees with the saved tree, the server with the
    // buffer.
    anchorcheck(repo.path())
        .args(["verify", "--rev", "WORKTREE"])
        .assert()
        .success();

    // Undoing the edit clears both.
    client.change(&go, 3, &go_text);
    let [on_go, on_anchors]: [Vec<Value>; 2] =
        client.diagnostics(&[&go, &anchors]).try_into().unwrap();
    assert!(
        on_go.is_empty() && on_anchors.is_empty(),
        "{on_go:?} {on_anchors:?}"
    );
    client.stop();
}

#[test]
fn hover_definition_code_lens_and_completion_answer_from_the_buffers() {
    let repo = verified_fixture();
    let (anchors, page, go) = files(&repo);
    let mut client = Client::start(repo.path());
    let anchors_text = client.open(&anchors, "yaml");
    let page_text = client.open(&page, "markdown");
    client.open(&go, "go");
    client.diagnostics(&[&anchors, &go]);

    let ref_line = line_of(&anchors_text, "lines: 18-24");
    let hover = client.request(
        "textDocument/hover",
        position_params(&anchors, ref_line, 10),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("`mtls-required`") && text.contains("verified"),
        "{text}"
    );
    assert!(
        text.contains("if err := requireClientCert(r); err != nil {"),
        "{text}"
    );
    assert!(text.contains("✓ `fail_closed`"), "{text}");

    let page_line = line_of(&page_text, "src/server.go:11-16");
    let column = page_text
        .lines()
        .nth(page_line as usize)
        .unwrap()
        .find("src/")
        .unwrap() as u32;
    let hover = client.request(
        "textDocument/hover",
        position_params(&page, page_line, column + 3),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("`cert-check`") && text.contains("PeerCertificates"),
        "{text}"
    );

    let target = client.request(
        "textDocument/definition",
        position_params(&anchors, ref_line, 4),
    );
    assert_eq!(target["uri"], json!(uri(&go)));
    assert_eq!(target["range"]["start"]["line"], json!(17));
    assert_eq!(target["range"]["end"]["line"], json!(23));

    let lenses = client.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri(&go)}}),
    );
    let titles: Vec<(u64, &str)> = lenses
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["range"]["start"]["line"].as_u64().unwrap(),
                l["command"]["title"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        titles,
        [
            (10, "cited by 1 claim: cert-check (verified)"),
            (17, "cited by 1 claim: mtls-required (verified)")
        ]
    );

    // Completion: `tls:` values after `client_auth:`, expectation keys elsewhere.
    let typed = anchors_text.replace(
        "          - identifier: PeerCertificates\n",
        "          - identifier: PeerCertificates\n          - tls: { client_auth: \n",
    );
    client.change(&anchors, 2, &typed);
    let line = line_of(&typed, "client_auth: ");
    let items = client.request(
        "textDocument/completion",
        position_params(&anchors, line, 35),
    );
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"require_and_verify"), "{labels:?}");
    let items = client.request(
        "textDocument/completion",
        position_params(&anchors, line, 12),
    );
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"fail_closed") && labels.contains(&"tls"),
        "{labels:?}"
    );
    client.stop();
}

#[test]
fn malformed_anchors_mid_edit_gets_the_clis_message_at_its_position_and_no_crash() {
    let repo = verified_fixture();
    let (anchors, _, go) = files(&repo);
    let mut client = Client::start(repo.path());
    let text = client.open(&anchors, "yaml");
    client.open(&go, "go");
    client.diagnostics(&[&anchors, &go]);

    let broken = text.replace("lines: 18-24", "lines: 24-18");
    client.change(&anchors, 2, &broken);
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    // The CLI's message for the same file, `anchors.yaml:LINE:COL: message`.
    std::fs::write(&anchors, &broken).unwrap();
    let cli = anchorcheck(repo.path()).arg("verify").assert().code(2);
    let stderr = String::from_utf8_lossy(&cli.get_output().stderr).into_owned();
    let (place, message) = stderr.trim().split_once(": ").unwrap();
    let mut place = place.rsplit(':');
    let column: u64 = place.next().unwrap().parse().unwrap();
    let line: u64 = place.next().unwrap().parse().unwrap();
    assert_eq!(on_anchors.len(), 1, "{on_anchors:?}");
    assert_eq!(on_anchors[0]["message"], json!(message));
    assert_eq!(
        on_anchors[0]["range"]["start"],
        at(line as u32 - 1, column as u32 - 1)
    );
    std::fs::write(&anchors, &text).unwrap();

    // YAML that does not even parse, then a deleted Go file: diagnostics, never a crash.
    client.change(&anchors, 3, "claims: [\n  - id: {\n");
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    assert_eq!(on_anchors.len(), 1, "{on_anchors:?}");
    client.change(&anchors, 4, &text);
    client.diagnostics(&[&anchors]);
    std::fs::remove_file(&go).unwrap();
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri(&go)}}),
    );
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    let found = severities(&on_anchors);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|(_, s, m)| *s == 1 && m.contains("is broken") && m.contains("deleted")),
        "{found:?}"
    );
    client.stop();
}

#[test]
fn update_citation_on_a_drifted_ref_writes_what_fix_writes() {
    let repo = drifted_fixture();
    let (anchors, page, _) = files(&repo);
    let mut client = Client::start(repo.path());
    let anchors_text = client.open(&anchors, "yaml");
    let page_text = client.open(&page, "markdown");
    let [on_anchors, on_page]: [Vec<Value>; 2] =
        client.diagnostics(&[&anchors, &page]).try_into().unwrap();
    let ref_line = line_of(&anchors_text, "lines: 18-24");
    let found = severities(&on_anchors);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0, found[0].1),
        (u64::from(ref_line), 2),
        "{found:?}"
    );
    assert!(found[0].2.contains("`mtls-required` drifted"), "{found:?}");
    let found = severities(&on_page);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].2.starts_with("stale citation"), "{found:?}");

    let range = json!({"start": at(ref_line, 8), "end": at(ref_line, 8)});
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&anchors)}, "range": range, "context": {"diagnostics": []}}),
    );
    let actions = actions.as_array().unwrap();
    assert_eq!(actions.len(), 1, "{actions:?}");
    let changes = &actions[0]["edit"]["changes"];
    let new_anchors = apply(&anchors_text, changes[uri(&anchors)].as_array().unwrap());
    let new_page = apply(&page_text, changes[uri(&page)].as_array().unwrap());

    // The same action from the page's stale citation.
    let page_line = line_of(&page_text, "src/server.go:18-24");
    let range = json!({"start": at(page_line, 60), "end": at(page_line, 60)});
    let from_page = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&page)}, "range": range, "context": {"diagnostics": []}}),
    );
    assert_eq!(from_page.as_array().unwrap(), actions);
    client.stop();

    // The server wrote nothing; `fix` on the same tree writes exactly those bytes.
    assert_eq!(std::fs::read_to_string(&anchors).unwrap(), anchors_text);
    assert_eq!(std::fs::read_to_string(&page).unwrap(), page_text);
    anchorcheck(repo.path())
        .args(["fix", "--rev", "WORKTREE"])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&anchors).unwrap(), new_anchors);
    assert_eq!(std::fs::read_to_string(&page).unwrap(), new_page);
    assert!(new_anchors.contains("lines: 27-33"), "{new_anchors}");
}

#[test]
fn a_repository_without_commits_gets_diagnostics() {
    let repo = TestRepo::new();
    repo.copy_tree(&testdata("lsp/base"), "");
    let (anchors, _, go) = files(&repo);
    let mut client = Client::start(repo.path());
    client.open(&anchors, "yaml");
    client.open(&go, "go");
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    assert!(
        on_anchors.is_empty(),
        "the working tree verifies: {on_anchors:?}"
    );
    let text = std::fs::read_to_string(&go)
        .unwrap()
        .replace("PeerCertificates", "Peers");
    client.change(&go, 2, &text);
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    assert_eq!(on_anchors.len(), 1, "{on_anchors:?}");
    client.stop();
}

#[test]
fn a_client_without_code_lens_gets_inlay_hints_instead() {
    let repo = verified_fixture();
    let (anchors, _, go) = files(&repo);
    let lens_client = Client::start(repo.path());
    assert!(lens_client.capabilities.get("inlayHintProvider").is_none());
    lens_client.stop();
    let mut client = Client::start_with(repo.path(), json!({"textDocument": {"inlayHint": {}}}));
    assert_eq!(client.capabilities["inlayHintProvider"], json!(true));
    client.open(&anchors, "yaml");
    let text = client.open(&go, "go");
    client.diagnostics(&[&anchors, &go]);
    let range = json!({"start": at(0, 0), "end": at(40, 0)});
    let hints = client.request(
        "textDocument/inlayHint",
        json!({"textDocument": {"uri": uri(&go)}, "range": range}),
    );
    let hints: Vec<(u64, u64, &str)> = hints
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["position"]["line"].as_u64().unwrap(),
                h["position"]["character"].as_u64().unwrap(),
                h["label"].as_str().unwrap(),
            )
        })
        .collect();
    let end_of = |line: usize| text.lines().nth(line).unwrap().len() as u64;
    assert_eq!(
        hints,
        [
            (10, end_of(10), "cited by 1 claim: cert-check (verified)"),
            (17, end_of(17), "cited by 1 claim: mtls-required (verified)")
        ]
    );
    client.stop();
}

#[test]
fn a_huge_unsaved_buffer_is_an_error_on_its_refs_not_a_crash() {
    let repo = verified_fixture();
    let (anchors, _, go) = files(&repo);
    let mut client = Client::start(repo.path());
    client.open(&anchors, "yaml");
    let text = client.open(&go, "go");
    client.diagnostics(&[&anchors, &go]);
    let padding = "// padding\n".repeat(9 * 1024 * 1024 / 11);
    client.change(&go, 2, &format!("{text}{padding}"));
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    let found = severities(&on_anchors);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|(_, s, m)| *s == 1 && m.contains("too large")),
        "{found:?}"
    );
    client.stop();
}

/// Inserts lines above every cited range of the fixture's Go file, unsaved: both refs drift,
/// and neither is broken.
fn shift_cited_code_unsaved(repo: &TestRepo) {
    let (anchors, _, go) = files(repo);
    let mut client = Client::start(repo.path());
    client.open(&anchors, "yaml");
    let text = client.open(&go, "go");
    client.diagnostics(&[&anchors, &go]);
    let comment = "// A new comment, long enough to move every cited line out of its range.\n";
    let shifted = text.replacen(
        "package main\n",
        &format!("package main\n\n{}", comment.repeat(12)),
        1,
    );
    client.change(&go, 2, &shifted);
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    let found = severities(&on_anchors);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|(_, s, m)| *s == 2 && m.contains("drifted")),
        "{found:?}"
    );
    client.stop();
}

#[test]
fn an_unsaved_line_above_the_cited_code_drifts_its_refs_and_breaks_none() {
    shift_cited_code_unsaved(&verified_fixture());
}

#[test]
fn refs_with_at_followed_to_the_saved_tree_drift_with_unsaved_lines_too() {
    let repo = verified_fixture();
    anchorcheck(repo.path()).arg("fix").assert().success();
    let anchors = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    assert_eq!(anchors.matches("at: ").count(), 2, "{anchors}");
    shift_cited_code_unsaved(&repo);
}

#[test]
fn a_page_citation_that_names_no_ref_is_a_warning_where_it_is_written() {
    let repo = verified_fixture();
    let (anchors, page, _) = files(&repo);
    let mut client = Client::start(repo.path());
    client.open(&anchors, "yaml");
    let text = client.open(&page, "markdown");
    let [on_page]: [Vec<Value>; 1] = client.diagnostics(&[&page]).try_into().unwrap();
    assert!(on_page.is_empty(), "{on_page:?}");
    let edited = format!("{text}\nThe listener is set up at `src/server.go:26-29`.\n");
    client.change(&page, 2, &edited);
    let [on_page]: [Vec<Value>; 1] = client.diagnostics(&[&page]).try_into().unwrap();
    let found = severities(&on_page);
    assert_eq!(found.len(), 1, "{found:?}");
    let (line, severity, message) = &found[0];
    assert_eq!(*line, u64::from(line_of(&edited, "src/server.go:26-29")));
    assert_eq!(*severity, 2);
    assert!(message.contains("no ref has those lines"), "{message}");
    client.stop();
}

#[test]
fn exit_without_shutdown_ends_with_status_1() {
    let repo = verified_fixture();
    let mut client = Client::start(repo.path());
    client.notify("exit", Value::Null);
    let status = client.child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
}

#[test]
fn a_file_changed_on_disk_is_rechecked_when_the_client_says_so() {
    let repo = verified_fixture();
    let (anchors, _, go) = files(&repo);
    let watching = json!({"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}});
    let mut client = Client::start_with(repo.path(), watching);
    client.open(&anchors, "yaml");
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    assert!(on_anchors.is_empty(), "{on_anchors:?}");
    let registration = client
        .from_server
        .iter()
        .find(|m| m["method"] == "client/registerCapability")
        .expect("the server asks the client to watch files");
    let watched = &registration["params"]["registrations"][0];
    assert_eq!(watched["method"], "workspace/didChangeWatchedFiles");
    // A checkout (say) rewrites the Go file, which is not open.
    let text = std::fs::read_to_string(&go).unwrap();
    std::fs::write(&go, text.replace("PeerCertificates", "Peers")).unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&go), "type": 2}]}),
    );
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    let found = severities(&on_anchors);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].2.contains("`cert-check` is broken"), "{found:?}");
    client.stop();
}

#[test]
fn opening_a_file_changed_on_disk_unreported_rechecks_it() {
    let repo = verified_fixture();
    let (anchors, _, go) = files(&repo);
    let mut client = Client::start(repo.path());
    client.open(&anchors, "yaml");
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    assert!(on_anchors.is_empty(), "{on_anchors:?}");
    // Rewritten on disk while the server was not told (a client that watches no files).
    let text = std::fs::read_to_string(&go).unwrap();
    std::fs::write(&go, text.replace("PeerCertificates", "Peers")).unwrap();
    client.open(&go, "go");
    let [on_anchors]: [Vec<Value>; 1] = client.diagnostics(&[&anchors]).try_into().unwrap();
    let found = severities(&on_anchors);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].2.contains("`cert-check` is broken"), "{found:?}");
    client.stop();
}
