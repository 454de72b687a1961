//! Code moved into files git does not pair as renames: history follows it there when the cited
//! text and the expectations are found in one file, lists the files when several, and never
//! guesses (issue 13, item 2).

use crate::common::{TestRepo, anchorcheck, testdata, verify_json};
use git2::Oid;

/// The mTLS guard, cited at lines 3-5 of itself (its `if` and `return`).
const GUARD: &str = "// requireClientCert refuses requests without a verified client certificate.\nfunc requireClientCert(r *http.Request) error {\n\tif r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {\n\t\treturn errors.New(\"mtls: client certificate required\")\n\t}\n\treturn nil\n}\n";

const OTHER: &str =
    "func healthz(w http.ResponseWriter, r *http.Request) {\n\tw.WriteHeader(http.StatusOK)\n}\n";

/// A file of package `pkg` holding `body`.
fn in_package(pkg: &str, body: &str) -> String {
    format!("package {pkg}\n\nimport (\n\t\"errors\"\n\t\"net/http\"\n)\n\n{body}")
}

/// The range citing the guard's `if` through its `return` in `text`.
fn guard_lines(text: &str) -> String {
    let line = text
        .lines()
        .position(|l| l.contains("if r.TLS == nil"))
        .unwrap()
        + 1;
    format!("{line}-{}", line + 2)
}

/// A repository whose first commit has the guard in server/server.go (before `OTHER`, or
/// after it with `last`), cited with `at` set to that commit.
struct Cited {
    repo: TestRepo,
    old: String,
    at: Oid,
}

impl Cited {
    fn new(last: bool) -> Cited {
        let mut repo = TestRepo::new();
        let body = if last {
            format!("{OTHER}\n{GUARD}")
        } else {
            format!("{GUARD}\n{OTHER}")
        };
        let old = in_package("server", &body);
        repo.write("server/server.go", &old);
        let at = repo.commit_all("add the client-cert guard");
        Cited { repo, old, at }
    }

    /// Deletes the guard from server/server.go (with whatever else the working tree holds).
    fn drop_guard(&mut self, subject: &str) -> Oid {
        self.repo
            .write("server/server.go", in_package("server", OTHER));
        self.repo.commit_all(subject)
    }

    /// Verifies the ref to the guard as first cited, and returns its JSON.
    fn verify(&self) -> serde_json::Value {
        self.repo.write(
            "anchors.yaml",
            format!(
                "version: 1\nclaims:\n  - id: client-certs\n    status: required\n    refs:\n      - path: server/server.go\n        lines: {}\n        at: {}\n        expect:\n          - fail_closed: {{ when: \"(?i)TLS\" }}\n",
                guard_lines(&self.old),
                self.at
            ),
        );
        let (_, report) = verify_json(self.repo.path(), &[]);
        report["claims"][0]["refs"][0].clone()
    }
}

fn moved_detail(commit: Oid) -> String {
    format!("moved to another file in {}", &commit.to_string()[..7])
}

#[test]
fn a_copy_into_a_new_package_deleted_later_from_the_old_file_is_followed() {
    let mut c = Cited::new(false);
    // Copied into a new package, the old one left in place...
    let copy = in_package(
        "mtls",
        &format!("// Package mtls holds the guards.\n\n{GUARD}"),
    );
    c.repo.write("internal/mtls/guard.go", &copy);
    c.repo.commit_all("start the mtls package");
    c.repo.write("README", "x\n");
    c.repo.commit_all("readme");
    // ...and deleted from the old file later.
    let deleted = c.drop_guard("use the mtls package");

    let r = c.verify();
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/mtls/guard.go");
    assert_eq!(r["relocated"]["lines"], guard_lines(&copy));
    assert_eq!(r["relocated"]["how"], "history");
    assert_eq!(r["relocated"]["detail"], moved_detail(deleted));
    assert_eq!(r["culprit"]["kind"], "moved");
    assert_eq!(r["culprit"]["commit"], deleted.to_string());
    let text = anchorcheck(c.repo.path()).arg("verify").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    let found_by = format!("(found by history ({}))", moved_detail(deleted));
    assert!(text.contains(&found_by), "{text}");
}

#[test]
fn a_split_into_a_new_file_then_renamed_twice_is_followed_to_its_last_name() {
    let mut c = Cited::new(true);
    // The guard moves into a file of its own with more around it: git pairs nothing (the
    // new file is mostly new, the old one stays).
    let split = in_package(
        "server",
        &format!(
            "// certificates.go: the client-certificate checks.\n\nvar errNoChain = errors.New(\"no chain\")\n\nfunc chains(r *http.Request) int {{\n\treturn len(r.TLS.VerifiedChains)\n}}\n\n{GUARD}"
        ),
    );
    c.repo.write("server/certificates.go", &split);
    let moved = c.drop_guard("split out the certificate checks");
    for (from, to) in [
        ("server/certificates.go", "server/client_certs.go"),
        ("server/client_certs.go", "internal/tlsauth/client_certs.go"),
    ] {
        let text = std::fs::read_to_string(c.repo.path().join(from)).unwrap();
        std::fs::remove_file(c.repo.path().join(from)).unwrap();
        c.repo.write(to, text);
        c.repo.commit_all(&format!("move {from}"));
    }

    let r = c.verify();
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/tlsauth/client_certs.go");
    assert_eq!(r["relocated"]["lines"], guard_lines(&split));
    assert_eq!(r["relocated"]["detail"], moved_detail(moved));
}

#[test]
fn copies_in_several_files_are_ambiguous_and_listed() {
    let mut c = Cited::new(false);
    c.repo.write("admin/guard.go", in_package("admin", GUARD));
    c.repo.write("agent/guard.go", in_package("agent", GUARD));
    c.drop_guard("one guard per listener");

    let r = c.verify();
    assert_eq!(r["verdict"], "ambiguous", "{r:#}");
    let candidates: Vec<&str> = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(candidates, ["admin/guard.go", "agent/guard.go"]);
}

#[test]
fn a_weakened_copy_elsewhere_is_not_a_move() {
    let mut c = Cited::new(false);
    // The same text, except that it no longer refuses: the evidence did not move, it is gone.
    let weakened = GUARD.replace(
        "\t\treturn errors.New(\"mtls: client certificate required\")\n",
        "\t\t_ = errors.New(\"mtls: client certificate required\")\n",
    );
    c.repo
        .write("internal/mtls/guard.go", in_package("mtls", &weakened));
    let dropped = c.drop_guard("move the guard, and weaken it");

    let r = c.verify();
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(r["culprit"]["commit"], dropped.to_string());
}

#[test]
fn a_lookalike_with_another_name_is_not_where_the_lines_went() {
    let mut c = Cited::new(false);
    // Two new files since `at`: one holds the guard, one the same body under another name.
    let lookalike = GUARD
        .replace("requireClientCert", "requireAdminCert")
        .replace("refuses requests", "refuses admin requests");
    c.repo
        .write("admin/guard.go", in_package("admin", &lookalike));
    c.repo
        .write("internal/mtls/guard.go", in_package("mtls", GUARD));
    c.repo.commit_all("one guard package, and an admin guard");
    c.drop_guard("use it");

    let r = c.verify();
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/mtls/guard.go");
}

#[test]
fn an_exact_copy_that_was_always_there_is_not_a_move() {
    let mut repo = TestRepo::new();
    let old = in_package("server", &format!("{GUARD}\n{OTHER}"));
    repo.write("server/server.go", &old);
    let vendored = in_package("legacy", GUARD);
    repo.write("legacy/guard.go", &vendored);
    let at = repo.commit_all("add the guard, and a legacy copy");
    let mut c = Cited { repo, old, at };
    c.repo.write(
        "legacy/guard.go",
        vendored.replace("package legacy\n", "package legacy // old\n"),
    );
    let dropped = c.drop_guard("drop the guard");

    let r = c.verify();
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(r["culprit"]["commit"], dropped.to_string());
}

#[test]
fn grpc_go_moving_its_buffer_pools_to_internal_is_followed() {
    // grpc-go b6f89f749 (testdata/history/grpc-buffer-pool/ORIGIN.md): the old file's cited
    // lines are rewritten into other code, not deleted, and git pairs no rename.
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("history/grpc-buffer-pool/rev1"), "");
    let at = repo.commit_all("mem: Add faster tiered buffer pool");
    repo.replace_tree(&testdata("history/grpc-buffer-pool/rev2"), "");
    let moved = repo.commit_all("mem: Move buffer pool implementations to internal (#8910)");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: pool-get-clears\n    status: required\n    refs:\n      - path: mem/buffer_pool.go\n        lines: 266-276\n        at: {at}\n        expect:\n          - call: clear\n"
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/mem/mem.go");
    assert_eq!(r["relocated"]["lines"], "208-218");
    assert_eq!(r["relocated"]["detail"], moved_detail(moved));
}

/// A reconciler method, cited whole: its owner check is the evidence.
const RECONCILE: &str = "// Reconcile refuses a proxy class without an owner.
func (pcr *ProxyClassReconciler) Reconcile(ctx context.Context, name string) error {
\tlogger := pcr.logger.With(\"ProxyClass\", name)
\tpc, err := pcr.get(ctx, name)
\tif err != nil {
\t\treturn fmt.Errorf(\"failed to get the ProxyClass: %w\", err)
\t}
\tif pc.Owner == \"\" {
\t\tlogger.Printf(\"ProxyClass has no owner\")
\t\treturn errNoOwner
\t}
\tpcr.mu.Lock()
\tpcr.managed[name] = pc
\tpcr.mu.Unlock()
\treturn nil
}
";

/// The whole reconciler method, and its owner check.
const WHOLE_METHOD: (&str, usize, &str) =
    ("func (pcr", 14, "fail_closed: { when: '^pc\\.Owner$' }");

/// A repository whose first commit has `RECONCILE` in server/proxyclass.go, cited with `at` from
/// the line starting `cited.0` for `cited.1` more lines, expecting `cited.2`; `moved` (path,
/// text) replaces that file in the second commit. Returns the ref's JSON and the second commit.
fn reconciler_moved(
    moved: &[(&str, String)],
    cited: (&str, usize, &str),
) -> (serde_json::Value, Oid) {
    let mut repo = TestRepo::new();
    let old = format!("package server\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n{RECONCILE}");
    repo.write("server/proxyclass.go", &old);
    let at = repo.commit_all("add the proxy class reconciler");
    std::fs::remove_file(repo.path().join("server/proxyclass.go")).unwrap();
    for (path, text) in moved {
        repo.write(path, text);
    }
    let commit = repo.commit_all("move the proxy class reconciler into its own package");
    let (start, more, expect) = cited;
    let first = old
        .lines()
        .position(|l| l.trim_start().starts_with(start))
        .unwrap()
        + 1;
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: owner-required\n    status: required\n    refs:\n      - path: server/proxyclass.go\n        lines: {first}-{}\n        at: {at}\n        expect:\n          - {expect}\n",
            first + more
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    (report["claims"][0]["refs"][0].clone(), commit)
}

#[test]
fn a_method_moved_into_its_own_package_with_names_renamed_is_followed() {
    // tailscale eaf1b56 moved its ProxyClass reconciler this way: the receiver `pcr` became
    // `r`, the type `Reconciler`, an unexported error exported. Line by line half the text
    // differs; the shape and most names do not.
    let renamed = RECONCILE
        .replace("pcr *ProxyClassReconciler", "r *Reconciler")
        .replace("pcr.", "r.")
        .replace("errNoOwner", "ErrNoOwner");
    // With more new code than moved, as there, so git pairs no rename.
    let setup: String = (1..=40)
        .map(|i| format!("// step{i} is one more step of setting the reconciler up.\nfunc step{i}(r *Reconciler) {{ r.steps = append(r.steps, {i}) }}\n\n"))
        .collect();
    let new = format!(
        "package proxyclass\n\nimport (\n\t\"context\"\n\t\"errors\"\n\t\"fmt\"\n)\n\n// ErrNoOwner is returned for a proxy class nobody owns.\nvar ErrNoOwner = errors.New(\"no owner\")\n\n{setup}{renamed}"
    );
    let (r, commit) = reconciler_moved(
        &[("internal/proxyclass/reconciler.go", new.clone())],
        WHOLE_METHOD,
    );
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/proxyclass/reconciler.go");
    let first = new.lines().position(|l| l.starts_with("func (r")).unwrap() + 1;
    assert_eq!(r["relocated"]["lines"], format!("{first}-{}", first + 14));
    assert_eq!(r["relocated"]["detail"], moved_detail(commit));
}

#[test]
fn a_function_of_the_same_shape_with_its_own_names_is_not_a_move() {
    // Line for line the cited method's shape, the owner check included, but other code: a
    // gateway's, with its own names.
    let gateway = "// Sync refuses a gateway without an owner.
func (g *GatewayController) Sync(c context.Context, id string) error {
\tspan := g.tracer.Start(\"Gateway\", id)
\tpc, err := g.fetch(c, id)
\tif err != nil {
\t\treturn fmt.Errorf(\"cannot fetch the gateway: %w\", err)
\t}
\tif pc.Owner == \"\" {
\t\tspan.Printf(\"Gateway has no owner\")
\t\treturn errUnowned
\t}
\tg.lock.Lock()
\tg.seen[id] = pc
\tg.lock.Unlock()
\treturn nil
}
";
    let new = format!("package gateway\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n{gateway}");
    let (r, commit) = reconciler_moved(&[("internal/gateway/sync.go", new)], WHOLE_METHOD);
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(r["culprit"]["commit"], commit.to_string());
}

/// `RECONCILE` moved into its own package with its names renamed (see the test above), with
/// more new code than moved so that git pairs no rename.
fn renamed_reconciler() -> String {
    let renamed = RECONCILE
        .replace("pcr *ProxyClassReconciler", "r *Reconciler")
        .replace("pcr.", "r.")
        .replace("errNoOwner", "ErrNoOwner");
    let setup: String = (1..=40)
        .map(|i| format!("func step{i}(r *Reconciler) {{ r.steps = append(r.steps, {i}) }}\n\n"))
        .collect();
    format!("package proxyclass\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n{setup}{renamed}")
}

#[test]
fn a_short_line_is_found_in_its_moved_function_at_its_offset() {
    // `pcr.mu.Lock()` alone is too little text to tell a move from a coincidence (every
    // locking method has one); the method around it is not.
    let new = renamed_reconciler();
    let (r, commit) = reconciler_moved(
        &[("internal/proxyclass/reconciler.go", new.clone())],
        ("pcr.mu.Lock()", 0, "call: mu.Lock"),
    );
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/proxyclass/reconciler.go");
    let line = new.lines().position(|l| l.contains("r.mu.Lock()")).unwrap() + 1;
    assert_eq!(r["relocated"]["lines"], line.to_string());
    assert_eq!(r["relocated"]["detail"], moved_detail(commit));
}

#[test]
fn a_short_line_dropped_from_its_moved_function_is_broken() {
    // The method moved, but without its locking: the cited line's place there holds no
    // `mu.Lock` call, and no other place is taken for it.
    let new = renamed_reconciler()
        .replace("\tr.mu.Lock()\n", "")
        .replace("\tr.mu.Unlock()\n", "");
    let (r, commit) = reconciler_moved(
        &[("internal/proxyclass/reconciler.go", new)],
        ("pcr.mu.Lock()", 0, "call: mu.Lock"),
    );
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(r["culprit"]["commit"], commit.to_string());
}

#[test]
fn a_renamed_move_is_found_among_many_files_the_commit_touched() {
    // The same move in a commit that also touches twenty other files, each keeping a line or
    // two of the cited text (`if err != nil {`, `return nil`): only the files holding the most
    // of it are compared by shape, and the reconciler's new file is one of them.
    let new = renamed_reconciler();
    let mut moved = vec![("internal/proxyclass/reconciler.go".to_string(), new.clone())];
    for i in 0..20 {
        moved.push((
            format!("internal/other{i}/other.go"),
            format!(
                "package other{i}\n\nfunc touch{i}(err error) error {{\n\tif err != nil {{\n\t\treturn err\n\t}}\n\treturn nil\n}}\n"
            ),
        ));
    }
    let moved: Vec<(&str, String)> = moved.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
    let (r, commit) = reconciler_moved(&moved, WHOLE_METHOD);
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "internal/proxyclass/reconciler.go");
    assert_eq!(r["relocated"]["detail"], moved_detail(commit));
}

/// The guard in pkg/transport/listener.go, moved with its directory to
/// client/pkg/transport/ (as etcd did), cited without `at`; `--history-depth 1` stands for a
/// rename further back than history is searched.
fn directory_renamed_beyond_depth(guard: &str) -> TestRepo {
    let mut repo = TestRepo::new();
    repo.write("pkg/transport/listener.go", in_package("transport", GUARD));
    repo.write("README.md", "transport\n");
    repo.commit_all("transport");
    std::fs::remove_file(repo.path().join("pkg/transport/listener.go")).unwrap();
    repo.write(
        "client/pkg/transport/listener.go",
        in_package("transport", guard),
    );
    // A look-alike elsewhere that would hold too: never where the file went.
    repo.write(
        "server/transport/listener.go",
        in_package("transport", GUARD),
    );
    repo.commit_all("move transport under client/");
    repo.write("README.md", "transport, moved\n");
    repo.commit_all("docs");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: mtls\n    status: required\n    refs:\n      - path: pkg/transport/listener.go\n        lines: {}\n        expect:\n          - fail_closed: {{ when: VerifiedChains }}\n",
            guard_lines(&in_package("transport", GUARD))
        ),
    );
    repo
}

#[test]
fn a_file_whose_directory_moved_beyond_the_history_depth_is_found_there() {
    let repo = directory_renamed_beyond_depth(GUARD);
    let (code, report) = verify_json(repo.path(), &["--history-depth", "1"]);
    assert_eq!(code, 1);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "client/pkg/transport/listener.go");
    // The same lines, byte for byte, in the file the directory became.
    assert_eq!(
        r["relocated"]["lines"],
        guard_lines(&in_package("transport", GUARD)),
        "{r:#}"
    );
    anchorcheck(repo.path())
        .args(["fix", "--history-depth", "1"])
        .assert()
        .code(0);
    let fixed = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    assert!(
        fixed.contains("path: client/pkg/transport/listener.go"),
        "{fixed}"
    );
}

#[test]
fn a_file_whose_directory_moved_and_whose_guard_was_weakened_is_broken() {
    let weakened = GUARD.replace(
        "\t\treturn errors.New(\"mtls: client certificate required\")\n",
        "\t\tlog.Println(\"mtls: client certificate required\")\n",
    );
    let repo = directory_renamed_beyond_depth(&weakened);
    let (code, report) = verify_json(repo.path(), &["--history-depth", "1"]);
    assert_eq!(code, 1);
    let r = &report["claims"][0]["refs"][0];
    // Not an error (the file is there), and never the look-alike that still holds.
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert!(
        r["expectations"]
            .to_string()
            .contains("client/pkg/transport/listener.go"),
        "{r:#}"
    );
}

/// Agent routes registered in `registerAgent` of server/routes.go, cited with `symbol`.
const REGISTER: &str = "// registerAgent serves the agent API on the mTLS listener.\nfunc registerAgent(mux *http.ServeMux) {\n\tmux.HandleFunc(\"/v1/agent/heartbeat\", heartbeat)\n\tmux.HandleFunc(\"/v1/agent/state\", state)\n\tmux.HandleFunc(\"/v1/agent/logs\", logs)\n}\n";

#[test]
fn a_symbol_renamed_with_its_move_is_a_locator_fix_rewrites() {
    let mut repo = TestRepo::new();
    let routes = in_package("server", &format!("{OTHER}\n{REGISTER}"));
    repo.write("server/routes.go", &routes);
    let at = repo.commit_all("agent routes");
    // The registrations move into a method of another file of the package.
    repo.write("server/routes.go", in_package("server", OTHER));
    let method = REGISTER
        .replace("// registerAgent serves", "// agentRoutes serves")
        .replace("func registerAgent(", "func (s *Server) agentRoutes(");
    repo.write(
        "server/agent.go",
        in_package("server", &format!("type Server struct{{}}\n\n{method}")),
    );
    repo.commit_all("agent routes are the server's");
    let first = routes
        .lines()
        .position(|l| l.contains("/v1/agent/heartbeat"))
        .unwrap()
        + 1;
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: agent-routes\n    status: required\n    refs:\n      - path: server/routes.go\n        lines: {first}-{}\n        symbol: registerAgent\n        at: {at}\n        expect:\n          - routes: {{ on: mux, paths: [/v1/agent/heartbeat, /v1/agent/state, /v1/agent/logs] }}\n",
            first + 2
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "server/agent.go", "{r:#}");
    assert_eq!(r["relocated"]["symbol"], "Server.agentRoutes", "{r:#}");
    assert!(
        r["notes"]
            .to_string()
            .contains("symbol registerAgent was renamed or removed"),
        "{r:#}"
    );
    anchorcheck(repo.path()).arg("fix").assert().code(0);
    let fixed = std::fs::read_to_string(repo.path().join("anchors.yaml")).unwrap();
    assert!(fixed.contains("symbol: Server.agentRoutes"), "{fixed}");
    let (code, report) = verify_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["claims"][0]["refs"][0]["notes"],
        serde_json::json!([])
    );
}

/// A watch function as coredns wrote it in plugin/kubernetes/watch.go, its `Watch` call and
/// `return` on two lines (`joined`: on one).
fn watch_func(kind: &str, joined: bool) -> String {
    let tail = if joined {
        format!("\t\treturn c.CoreV1().{kind}(ns).Watch(ctx, options)\n")
    } else {
        format!("\t\tw, err := c.CoreV1().{kind}(ns).Watch(ctx, options)\n\t\treturn w, err\n")
    };
    format!(
        "func {kind}WatchFunc(ctx context.Context, c kubernetes.Interface, ns string, s labels.Selector) func(options meta.ListOptions) (watch.Interface, error) {{\n\treturn func(options meta.ListOptions) (watch.Interface, error) {{\n\t\tif s != nil {{\n\t\t\toptions.LabelSelector = s.String()\n\t\t}}\n{tail}\t}}\n}}\n"
    )
}

/// The watch functions of `watch_func` in kubernetes/watch.go, cited at `lines` with `expect`,
/// moved into controller.go below other code with their two last lines joined, and many
/// functions closing with the same `}` lines below them; the ref's JSON.
fn moved_watch_funcs(lines: &str, expect: &str) -> serde_json::Value {
    let mut repo = TestRepo::new();
    let all = |joined: bool| -> Vec<String> {
        ["Services", "Pods", "Endpoints", "Namespaces"]
            .iter()
            .map(|kind| watch_func(kind, joined))
            .collect()
    };
    let old = format!("package kubernetes\n\n{}", all(false).join("\n"));
    repo.write("kubernetes/watch.go", &old);
    let at = repo.commit_all("watch functions");
    // Moved into controller.go below other code, each with its two last lines joined; the
    // functions after them, and many more below, close with the same `}` lines.
    let controller = format!(
        "package kubernetes\n\nfunc (dns *dnsControl) Run() {{\n\tgo dns.svcController.Run(dns.stopCh)\n}}\n\n{}\n{}",
        all(true).join("\n"),
        (0..20)
            .map(|n| format!("func (dns *dnsControl) count{n}() int {{\n\tif dns.stopCh == nil {{\n\t\treturn {n}\n\t}}\n\treturn 0\n}}\n"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    std::fs::remove_file(repo.path().join("kubernetes/watch.go")).unwrap();
    repo.write("kubernetes/controller.go", &controller);
    repo.commit_all("move the watch functions into controller.go");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: services-watched\n    status: required\n    refs:\n      - path: kubernetes/watch.go\n        lines: {lines}\n        at: {at}\n        expect:\n{expect}"
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    report["claims"][0]["refs"][0].clone()
}

#[test]
fn a_function_moved_with_two_lines_joined_ends_at_its_closing_brace() {
    let r = &moved_watch_funcs("3-11", "          - call: c.CoreV1\n");
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "kubernetes/controller.go", "{r:#}");
    // The function is lines 7-14 there; line 15 is the blank line before the next one.
    assert_eq!(r["relocated"]["lines"], "7-14", "{r:#}");
}

#[test]
fn two_cited_lines_joined_in_a_moved_function_are_the_one_line() {
    // `w, err := c.CoreV1()...Watch(ctx, options)` and `return w, err`, lines 8-9, became
    // `return c.CoreV1()...Watch(ctx, options)` at line 12 of the moved function (7-14).
    let r = &moved_watch_funcs(
        "8-9",
        "          - identifier: Services\n          - identifier: options\n          - identifier: CoreV1\n",
    );
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["path"], "kubernetes/controller.go", "{r:#}");
    assert_eq!(r["relocated"]["lines"], "12", "{r:#}");
}

#[test]
fn lines_weakened_then_moved_within_their_file_are_checked_where_they_went() {
    // traefik's `removeIPv6Zone` (issue 24): rewritten in one commit, then moved 160 lines
    // down its file, unchanged, in another. git pairs none of the moved lines; the cited text,
    // every letter of it, is found once further down, where the evidence no longer holds. The
    // ref is broken there, checked where its lines went, not reported as deleted.
    let mut c = Cited::new(false);
    let weakened = GUARD.replace(
        "\t\treturn errors.New(\"mtls: client certificate required\")\n",
        "\t\t_ = errors.New(\"mtls: client certificate required\")\n",
    );
    let routes: String = (0..12)
        .map(|i| format!("\tmux.HandleFunc(\"/v1/route{i}\", healthz)\n"))
        .collect();
    let register = format!("func register(mux *http.ServeMux) {{\n{routes}}}\n");
    c.repo.write(
        "server/server.go",
        in_package("server", &format!("{weakened}\n{OTHER}\n{register}")),
    );
    let weakened_in = c.repo.commit_all("stop refusing");
    let moved = in_package("server", &format!("{OTHER}\n{register}\n{weakened}"));
    c.repo.write("server/server.go", &moved);
    c.repo.commit_all("guard last");

    let r = c.verify();
    assert_eq!(r["verdict"], "broken", "{r:#}");
    assert_eq!(r["culprit"]["commit"], weakened_in.to_string(), "{r:#}");
    assert_eq!(r["checked"]["path"], "server/server.go", "{r:#}");
    let line = moved
        .lines()
        .position(|l| l.contains("if r.TLS == nil"))
        .unwrap()
        + 1;
    assert_eq!(
        r["checked"]["lines"],
        format!("{line}-{}", line + 2),
        "{r:#}"
    );
}

/// The `client_auth` case (lines 24-38) and the key log block (56-67) of
/// testdata/history/reindented-block, cited at rev1 with `expect`, verified after rev2 moved
/// them into a new function one tab less deep; the report of each, in order.
fn reindented_block_refs(rev2: Option<&str>) -> Vec<serde_json::Value> {
    let mut repo = TestRepo::new();
    repo.replace_tree(&testdata("history/reindented-block/rev1"), "");
    let at = repo.commit_all("tls blocks parsed in the loop");
    repo.replace_tree(&testdata("history/reindented-block/rev2"), "");
    if let Some(text) = rev2 {
        repo.write("tlsconf/setup.go", text);
    }
    repo.commit_all("manual tls in its own function, automatic tls beside it");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: client-auth\n    status: required\n    refs:\n      - path: tlsconf/setup.go\n        lines: 24-38\n        at: {at}\n        expect:\n          - identifier: RequireAndVerifyClientCert\n          - fail_closed: {{ when: \"^modes$\" }}\n  - id: key-log\n    status: required\n    refs:\n      - path: tlsconf/setup.go\n        lines: 56-67\n        at: {at}\n        expect:\n          - call: {{ name: os.OpenFile, when: \"len\\\\(keyLog\\\\) > 0\" }}\n          - fail_closed: {{ when: \"^err$\" }}\n"
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    (0..2)
        .map(|i| report["claims"][i]["refs"][0].clone())
        .collect()
}

#[test]
fn a_block_moved_into_a_new_function_one_tab_less_deep_lands_exactly() {
    // coredns's tls setup (issue 24): the loop's body moved into a function of its own, new
    // code at the old depth that reads like it. The line diff pairs the moved lines' brackets
    // and short lines with the new code; every cited line is found again, once, one tab less
    // deep, and that is where history puts the ref.
    let refs = reindented_block_refs(None);
    for (r, lines) in refs.iter().zip(["40-54", "72-83"]) {
        assert_eq!(r["verdict"], "drifted", "{r:#}");
        assert_eq!(r["relocated"]["how"], "history", "{r:#}");
        assert_eq!(r["relocated"]["lines"], lines, "{r:#}");
    }
}

#[test]
fn a_block_moved_less_deep_and_weakened_on_the_way_is_broken() {
    // The same move, with the key log's error check turned into a log line: the cited lines
    // are not all found again, history follows the line diff, and nothing holds the check.
    let weakened =
        std::fs::read_to_string(testdata("history/reindented-block/rev2/tlsconf/setup.go"))
            .unwrap()
            .replace(
                "\t\tif err != nil {\n\t\t\treturn c.Errf(\"key log %q: %v\", abs, err)\n\t\t}\n",
                "\t\tif err != nil {\n\t\t\tlog.Printf(\"key log %q: %v\", abs, err)\n\t\t}\n",
            );
    let refs = reindented_block_refs(Some(&weakened));
    assert_eq!(refs[0]["verdict"], "drifted", "{:#}", refs[0]);
    assert_eq!(refs[1]["verdict"], "broken", "{:#}", refs[1]);
}

#[test]
fn a_guard_moved_out_of_its_block_is_not_the_new_guard_where_it_was() {
    // smallstep's `UseToken` (the self-check, 200 commits on): the token store and its error
    // guard moved out of an `if ...; err == nil {` block, one tab less deep, and a new
    // `if err != nil {` guard, returning nil on some errors, written where the block began.
    // The cited guard is found again whole; the new guard that reads like its first line is
    // other code, not the cited guard weakened in place.
    let mut repo = TestRepo::new();
    let old = "package authority\n\nfunc (a *Authority) UseToken(token string) error {\n\tif key, err := a.tokenID(token); err == nil {\n\t\tif key == \"\" {\n\t\t\tkey = digest(token)\n\t\t}\n\t\tok, err := a.db.UseToken(key, token)\n\t\tif err != nil {\n\t\t\treturn wrap(err, \"failed when attempting to store token\")\n\t\t}\n\t\tif !ok {\n\t\t\treturn errReused\n\t\t}\n\t}\n\treturn nil\n}\n";
    repo.write("authority/token.go", old);
    let at = repo.commit_all("store used tokens");
    let new = "package authority\n\nfunc (a *Authority) UseToken(ctx context.Context, token string) error {\n\tkey, err := a.tokenID(token)\n\tif err != nil {\n\t\t// Refuse unsupported flows but for renewals.\n\t\tif errors.Is(err, errFlowNotSupported) && !renewing(ctx) {\n\t\t\treturn errBadRequest\n\t\t}\n\n\t\treturn nil\n\t}\n\n\tif key == \"\" {\n\t\tkey = digest(token)\n\t}\n\n\tok, err := a.db.UseToken(key, token)\n\tif err != nil {\n\t\treturn wrap(err, \"failed when attempting to store token\")\n\t}\n\tif !ok {\n\t\treturn errReused\n\t}\n\n\treturn nil\n}\n";
    repo.write("authority/token.go", new);
    repo.commit_all("refuse unsupported token flows");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: store-fails-closed\n    status: required\n    refs:\n      - path: authority/token.go\n        lines: 9-11\n        at: {at}\n        expect:\n          - fail_closed: {{ when: \"^err$\" }}\n"
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(r["relocated"]["how"], "history", "{r:#}");
    assert_eq!(r["relocated"]["lines"], "19-21", "{r:#}");
}

/// The report of a ref with `at` citing `lines` of `pkg/old.go`, which holds `OTHER` and
/// `body`, after one commit moves the function into `pkg/new.go` as `moved` (`expect` is the
/// ref's YAML from its `expect:` key on, indented as a ref's keys).
fn moved_to_new_file(
    pkg: &str,
    body: &str,
    moved: &str,
    lines: (usize, usize),
    expect: &str,
) -> serde_json::Value {
    let mut repo = TestRepo::new();
    let (old_path, new_path) = (format!("{pkg}/old.go"), format!("{pkg}/new.go"));
    repo.write(&old_path, in_package(pkg, &format!("{OTHER}\n{body}")));
    let at = repo.commit_all("before the move");
    repo.write(&old_path, in_package(pkg, OTHER));
    repo.write(&new_path, in_package(pkg, moved));
    repo.commit_all("move it to its own file");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: moved\n    status: required\n    refs:\n      - path: {old_path}\n        lines: {}-{}\n        at: {at}\n{expect}",
            lines.0, lines.1
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    report["claims"][0]["refs"][0].clone()
}

/// The 1-based numbers of the lines of `text` holding `needle`.
fn lines_with(text: &str, needle: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect()
}

/// A function loading a key pair and its roots, each behind its own `err` guard.
const LOAD: &str = "// load reads the key pair and the roots.\nfunc load(certPath, keyPath, caPath string) (*pair, error) {\n\tcert, err := loadX509KeyPair(certPath, keyPath)\n\tif err != nil {\n\t\treturn nil, errors.New(\"could not load the key pair\")\n\t}\n\n\troots, err := loadRoots(caPath)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn &pair{cert: cert, roots: roots}, nil\n}\n";

#[test]
fn a_guard_commented_out_as_its_function_moves_is_not_found_in_the_next_guard() {
    // The mutation bench's compound mutants (coredns's `NewTLSConfig`): in one commit the
    // function moves to a new file and its key-pair guard is commented out. Most of the cited
    // lines are found in the new file (the call, an `if err != nil {` and a `}`), and a place
    // stretched over the roots guard, which moved with them, holds: that guard was in the old
    // file outside the cited lines, so the place is not where they went. Broken, not drifted.
    let old = in_package("server", &format!("{OTHER}\n{LOAD}"));
    let first = lines_with(&old, "loadX509KeyPair")[0];
    let weakened = LOAD
        .replace(
            "\tif err != nil {\n\t\treturn nil, errors",
            "\t// if err != nil {\n\t\t// return nil, errors",
        )
        .replacen("\t}\n\n\troots", "\t// }\n\n\troots", 1);
    assert_ne!(weakened, LOAD);
    let expect = "        expect:\n          - fail_closed: { when: \"^err$\" }\n          - call: loadX509KeyPair\n";
    let r = moved_to_new_file("server", LOAD, &weakened, (first, first + 3), expect);
    assert_eq!(r["verdict"], "broken", "{r:#}");
}

/// A function registering keys, refusing a key defined twice in each of two cases with the
/// same guard, word for word.
const KEYS: &str = "func parseKeys(args []string, files map[string]string) (map[string]string, error) {\n\tseen := map[string]string{}\n\tfor _, k := range args {\n\t\tif _, exists := seen[k]; exists {\n\t\t\treturn nil, errors.New(\"key redefined: \" + k)\n\t\t}\n\t\tseen[k] = \"arg\"\n\t}\n\tfor k, v := range files {\n\t\tif _, exists := seen[k]; exists {\n\t\t\treturn nil, errors.New(\"key redefined: \" + k)\n\t\t}\n\t\tseen[k] = v\n\t}\n\treturn seen, nil\n}\n";

#[test]
fn a_guard_weakened_as_its_function_moves_is_not_found_in_its_twin() {
    // The mutation bench's compound mutants (coredns's TSIG keys): the function moves to a
    // new file and, in the same commit, the first of two identical guards loses its `return`.
    // The cited lines are found whole in the new file at the twin, which moved with them from
    // outside the cited lines: not where they went. Broken, not drifted onto the twin.
    let cited = lines_with(
        &in_package("keys", &format!("{OTHER}\n{KEYS}")),
        "exists := seen[k]",
    );
    let now = lines_with(&in_package("keys", KEYS), "exists := seen[k]");
    let expect = "        expect:\n          - fail_closed: { when: \"^exists$\" }\n";
    let weakened = KEYS.replacen(
        "\t\t\treturn nil, errors.New(\"key redefined: \" + k)\n",
        "",
        1,
    );
    assert_ne!(weakened, KEYS);
    let r = moved_to_new_file("keys", KEYS, &weakened, (cited[0], cited[0] + 2), expect);
    assert_eq!(r["verdict"], "broken", "{r:#}");

    // Moved unchanged, each guard is followed to itself.
    for (cited, now) in cited.iter().zip(&now) {
        let r = moved_to_new_file("keys", KEYS, KEYS, (*cited, cited + 2), expect);
        assert_eq!(r["verdict"], "drifted", "{r:#}");
        assert_eq!(r["relocated"]["path"], "keys/new.go", "{r:#}");
        assert_eq!(
            r["relocated"]["lines"],
            format!("{now}-{}", now + 2),
            "{r:#}"
        );
    }
}

/// A TLS setup parsing its ciphers and then its minimum version, each behind an `err` guard
/// worded alike.
const SETUP: &str = "// newConfig builds the TLS settings.\nfunc newConfig(c *settings) (*config, error) {\n\tciphers, err := parseCiphers(c)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\n\tminVersion, err := parseMinVersion(c.MinVersion)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\n\treturn &config{ciphers: ciphers, min: minVersion}, nil\n}\n";

#[test]
fn a_guard_commented_out_as_its_function_moves_is_not_found_by_symbol_in_the_guard_before() {
    // The mutation bench's compound mutants (nomad's TLS minimum version): the function moves
    // to a new file and its second guard is commented out in the same commit. Found by symbol
    // in the new file, a place from the first guard down to the call holds both expectations,
    // but that guard moved from outside the cited lines: not where they went.
    let first = lines_with(
        &in_package("tlsutil", &format!("{OTHER}\n{SETUP}")),
        "parseMinVersion",
    )[0];
    let weakened = SETUP.replace(
        "\tif err != nil {\n\t\treturn nil, err\n\t}\n\n\treturn &config",
        "\t// if err != nil {\n\t\t// return nil, err\n\t// }\n\n\treturn &config",
    );
    assert_ne!(weakened, SETUP);
    let expect = "        symbol: newConfig\n        expect:\n          - fail_closed: { when: \"^err$\" }\n          - call: parseMinVersion\n";
    let r = moved_to_new_file("tlsutil", SETUP, &weakened, (first, first + 3), expect);
    assert_eq!(r["verdict"], "broken", "{r:#}");
}

/// TLS versions checked one after the other, each guard reading alike but for its message.
const VERSIONS: &str = "func versions(min, max string) (uint16, uint16, error) {\n\tlow, exists := known[min]\n\tif !exists {\n\t\treturn 0, 0, errors.New(\"invalid TLS minimum version: \" + min)\n\t}\n\thigh, exists := known[max]\n\tif !exists {\n\t\treturn 0, 0, errors.New(\"invalid TLS maximum version: \" + max)\n\t}\n\treturn low, high, nil\n}\n";

#[test]
fn a_guard_weakened_as_its_function_moves_is_not_found_in_the_like_guard_after() {
    // The mutation bench's compound mutants (traefik's backend TLS versions): the function
    // moves to a new file and the minimum's guard loses its `return` in the same commit. Two
    // of the three cited lines read as the maximum's guard does, which is found in their
    // place; its message was never a cited line and moved from outside them: not where they
    // went.
    let first = lines_with(
        &in_package("tlsopts", &format!("{OTHER}\n{VERSIONS}")),
        "if !exists",
    )[0];
    let weakened = VERSIONS.replacen(
        "\t\treturn 0, 0, errors.New(\"invalid TLS minimum version: \" + min)\n",
        "",
        1,
    );
    assert_ne!(weakened, VERSIONS);
    let expect = "        expect:\n          - fail_closed: { when: \"^exists$\" }\n";
    let r = moved_to_new_file("tlsopts", VERSIONS, &weakened, (first, first + 2), expect);
    assert_eq!(r["verdict"], "broken", "{r:#}");
}

/// A revocation check.
const REVOKED: &str = "func authorize(serial string, db store) error {\n\trevoked, err := db.IsRevoked(serial)\n\tif err != nil {\n\t\treturn err\n\t}\n\tif revoked {\n\t\treturn errors.New(\"certificate revoked\")\n\t}\n\treturn nil\n}\n";

#[test]
fn a_guard_narrowed_as_lines_are_added_inside_it_is_broken() {
    // The mutation bench's compound mutants (smallstep's SSH revocation check): one commit
    // gives the guard a bypass and adds a comment and a blank line inside it. History maps the
    // range onto the guard's last lines, the guard is taken whole there and holds on its own
    // terms: it must still be compared with the guard as cited.
    let mut repo = TestRepo::new();
    let old = in_package("authority", &format!("{OTHER}\n{REVOKED}"));
    repo.write("authority/authorize.go", &old);
    let at = repo.commit_all("revocation");
    let first = old
        .lines()
        .position(|l| l.contains("if revoked {"))
        .unwrap()
        + 1;
    let weakened = REVOKED.replace(
        "\tif revoked {\n",
        "\tif revoked && os.Getenv(\"BYPASS\") == \"\" {\n\t\t// Revoked certificates are refused.\n\n",
    );
    assert_ne!(weakened, REVOKED);
    repo.write(
        "authority/authorize.go",
        in_package("authority", &format!("{OTHER}\n{weakened}"))
            .replace("\"errors\"\n", "\"errors\"\n\t\"os\"\n"),
    );
    repo.commit_all("document the revocation check");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: revoked\n    status: required\n    refs:\n      - path: authority/authorize.go\n        lines: {first}-{}\n        at: {at}\n        expect:\n          - fail_closed: {{ when: \"^revoked$\" }}\n",
            first + 2
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "broken", "{r:#}");
}

/// A check that a certificate and its key come together.
const PAIR: &str = "func load(c *options) (*tls.Certificate, error) {\n\thasCert := len(c.Cert) > 0\n\thasKey := len(c.Key) > 0\n\n\tif hasCert != hasKey {\n\t\treturn nil, errors.New(\"both TLS cert and key must be defined\")\n\t}\n\n\tif !hasCert || !hasKey {\n\t\treturn nil, nil\n\t}\n\treturn read(c)\n}\n";

#[test]
fn a_guard_renamed_with_a_comment_added_inside_it_is_drifted() {
    // The mutation bench's compound equivalents (traefik's client TLS pair): one commit
    // renames a variable of the guard's `if` line and adds a comment and a blank line below
    // it. History keeps only the guard's last lines; the guard taken whole holds as cited.
    // The added blank line, paired by the diff with an old one, must not stop that.
    let mut repo = TestRepo::new();
    let old = in_package("types", &format!("{OTHER}\n{PAIR}"));
    repo.write("types/tls.go", &old);
    let at = repo.commit_all("tls pair");
    let first = old
        .lines()
        .position(|l| l.contains("if hasCert != hasKey"))
        .unwrap()
        + 1;
    let edited = PAIR.replace("hasKey", "hasKeyRenamed").replace(
        "\tif hasCert != hasKeyRenamed {\n",
        "\tif hasCert != hasKeyRenamed {\n\t\t// Both or neither.\n\n",
    );
    repo.write(
        "types/tls.go",
        in_package("types", &format!("{OTHER}\n{edited}")),
    );
    repo.commit_all("rename hasKey");
    repo.write(
        "anchors.yaml",
        format!(
            "version: 1\nclaims:\n  - id: cert-and-key\n    status: required\n    refs:\n      - path: types/tls.go\n        lines: {first}-{}\n        at: {at}\n        expect:\n          - fail_closed: {{ when: \"^hasCert$\" }}\n",
            first + 2
        ),
    );
    let (_, report) = verify_json(repo.path(), &[]);
    let r = &report["claims"][0]["refs"][0];
    assert_eq!(r["verdict"], "drifted", "{r:#}");
    assert_eq!(
        r["relocated"]["lines"],
        format!("{first}-{}", first + 4),
        "{r:#}"
    );
}
