//! Tests for the `routes` evaluator: frameworks, prefixes, aliases and failure messages.

use super::super::evaluate;
use super::super::test_support::{all, go, line, lines};
use crate::anchors::{Expectation, RoutesSpec};

fn routes(paths: &[&str], on: Option<&str>, methods: &[&str], exactly: bool) -> Expectation {
    Expectation::Routes(RoutesSpec {
        paths: paths.iter().map(|p| p.to_string()).collect(),
        on: on.map(str::to_string),
        methods: methods.iter().map(|m| m.to_string()).collect(),
        exactly,
        when: None,
    })
}

const LISTENER: &str = r#"package agent

func (l *Listener) routes() {
	mux := l.mtlsMux
	mux.HandleFunc("/v1/agent/heartbeat", l.heartbeat)
	mux.HandleFunc(`/v1/agent/allowlist`, l.allowlist)
	l.publicMux.HandleFunc("/healthz", l.health)
}
"#;

#[test]
fn on_follows_local_alias_to_the_root_router() {
    let file = go(LISTENER);
    let spec = routes(
        &["/v1/agent/heartbeat", "/v1/agent/allowlist"],
        Some("mtlsMux"),
        &[],
        false,
    );
    let r = evaluate(&spec, &file, all(&file));
    assert!(r.ok, "{}", r.message);
    assert_eq!(r.matches, vec![lines(5, 5), lines(6, 6)]);
    let full = routes(&["/v1/agent/heartbeat"], Some("l.mtlsMux"), &[], false);
    assert!(evaluate(&full, &file, all(&file)).ok);
}

#[test]
fn route_moved_to_another_router_names_it() {
    let moved = LISTENER.replace(
        "mux.HandleFunc(\"/v1/agent/heartbeat\"",
        "l.publicMux.HandleFunc(\"/v1/agent/heartbeat\"",
    );
    let file = go(&moved);
    let r = evaluate(
        &routes(&["/v1/agent/heartbeat"], Some("mtlsMux"), &[], false),
        &file,
        all(&file),
    );
    assert!(!r.ok);
    assert_eq!(
        r.message,
        "line 5: /v1/agent/heartbeat is registered on publicMux, not mtlsMux"
    );
    assert_eq!(r.near_miss, Some(line(5)));
}

#[test]
fn path_left_only_in_a_log_string_is_not_a_route() {
    let src = "package a\n\nfunc f() {\n\tlog.Printf(\"serving /v1/agent/heartbeat\")\n}\n";
    let file = go(src);
    let r = evaluate(
        &routes(&["/v1/agent/heartbeat"], None, &[], false),
        &file,
        all(&file),
    );
    assert!(!r.ok);
    assert_eq!(
        r.message,
        "line 4: /v1/agent/heartbeat appears only in a string passed to log.Printf, not in a route registration"
    );
}

#[test]
fn path_left_only_in_a_comment_is_named() {
    let src = "package a\n\nfunc f() {\n\t// mux.HandleFunc(\"/v1/agent/allowlist\", h)\n}\n";
    let file = go(src);
    let r = evaluate(
        &routes(&["/v1/agent/allowlist"], None, &[], false),
        &file,
        all(&file),
    );
    assert_eq!(
        r.message,
        "line 4: /v1/agent/allowlist appears only in a comment"
    );
    assert_eq!(r.near_miss, Some(line(4)));
}

#[test]
fn go122_method_and_host_patterns() {
    let src = "package a\nfunc f(mux *http.ServeMux) {\n\tmux.HandleFunc(\"POST /v1/items\", h)\n\tmux.Handle(\"GET example.com/v1/items/{id}\", h)\n}\n";
    let file = go(src);
    assert!(
        evaluate(
            &routes(&["/v1/items"], None, &["POST"], false),
            &file,
            all(&file)
        )
        .ok
    );
    let r = evaluate(
        &routes(&["/v1/items"], None, &["GET"], false),
        &file,
        all(&file),
    );
    assert_eq!(
        r.message,
        "line 3: /v1/items is registered for POST, not GET"
    );
    assert!(
        evaluate(
            &routes(&["/v1/items/{id}"], None, &["GET"], false),
            &file,
            all(&file)
        )
        .ok
    );
}

#[test]
fn plain_handlefunc_serves_every_method() {
    let file = go(LISTENER);
    assert!(
        evaluate(
            &routes(&["/healthz"], None, &["GET", "POST"], false),
            &file,
            all(&file)
        )
        .ok
    );
}

#[test]
fn exactly_rejects_an_extra_route_on_the_router() {
    let file = go(LISTENER);
    let two = ["/v1/agent/heartbeat", "/v1/agent/allowlist"];
    assert!(evaluate(&routes(&two, Some("mtlsMux"), &[], true), &file, all(&file)).ok);
    let r = evaluate(
        &routes(&two[..1], Some("mtlsMux"), &[], true),
        &file,
        all(&file),
    );
    assert!(!r.ok);
    assert_eq!(
        r.message,
        "line 6: /v1/agent/allowlist is registered on mtlsMux but not listed (exactly: true)"
    );
    let anywhere = evaluate(&routes(&two, None, &[], true), &file, all(&file));
    assert!(
        anywhere.message.contains("/healthz"),
        "{}",
        anywhere.message
    );
}

#[test]
fn chi_route_group_and_mount_prefixes_compose() {
    let src = r#"package a
func f() {
	r := chi.NewRouter()
	r.Route("/v1", func(r chi.Router) {
		r.Get("/items", list)
		r.Group(func(r chi.Router) {
			r.Post("/items", create)
		})
		r.Route("/admin", func(r chi.Router) {
			r.Delete("/items/{id}", remove)
		})
	})
	admin := chi.NewRouter()
	admin.Get("/stats", stats)
	r.Mount("/ops", admin)
	r.Method("PUT", "/raw", h)
}
"#;
    let file = go(src);
    let r = routes(&["/v1/items"], Some("r"), &["GET", "POST"], false);
    assert!(
        !evaluate(&r, &file, all(&file)).ok,
        "GET and POST are separate registrations"
    );
    for (path, method) in [
        ("/v1/items", "GET"),
        ("/v1/items", "POST"),
        ("/v1/admin/items/{id}", "DELETE"),
        ("/ops/stats", "GET"),
        ("/ops", "PATCH"),
        ("/raw", "PUT"),
    ] {
        let result = evaluate(
            &routes(&[path], Some("r"), &[method], false),
            &file,
            all(&file),
        );
        assert!(result.ok, "{path} {method}: {}", result.message);
    }
}

#[test]
fn gin_and_echo_groups_compose_and_follow_aliases() {
    let src = r#"package a
func f() {
	mtls := gin.New()
	v1 := mtls.Group("/v1")
	agents := v1.Group("/agents")
	agents.POST("/:id/heartbeat", hb)
	public := echo.New()
	g := public.Group("/api", mw)
	g.GET("/health", health)
	g.Any("/debug", dbg)
	g.Match([]string{"PUT", http.MethodPatch}, "/items", items)
}
"#;
    let file = go(src);
    let hb = routes(
        &["/v1/agents/:id/heartbeat"],
        Some("mtls"),
        &["POST"],
        false,
    );
    assert!(evaluate(&hb, &file, all(&file)).ok);
    let wrong = evaluate(
        &routes(&["/v1/agents/:id/heartbeat"], Some("public"), &[], false),
        &file,
        all(&file),
    );
    assert_eq!(
        wrong.message,
        "line 6: /v1/agents/:id/heartbeat is registered on mtls, not public"
    );
    assert!(
        evaluate(
            &routes(&["/api/health"], Some("public"), &["GET"], false),
            &file,
            all(&file)
        )
        .ok
    );
    assert!(
        evaluate(
            &routes(&["/api/debug"], Some("public"), &["DELETE"], false),
            &file,
            all(&file)
        )
        .ok
    );
    assert!(
        evaluate(
            &routes(&["/api/items"], None, &["PUT", "PATCH"], false),
            &file,
            all(&file)
        )
        .ok
    );
    assert!(
        !evaluate(
            &routes(&["/api/items"], None, &["GET"], false),
            &file,
            all(&file)
        )
        .ok
    );
}

#[test]
fn gorilla_methods_subrouters_and_paths() {
    let src = r#"package a
func f() {
	r := mux.NewRouter()
	api := r.PathPrefix("/api").Subrouter()
	api.HandleFunc("/users", users).Methods("GET", "POST")
	r.Path("/health").HandlerFunc(health).Methods(http.MethodGet)
	r.PathPrefix("/static/").Handler(files)
}
"#;
    let file = go(src);
    assert!(
        evaluate(
            &routes(&["/api/users"], Some("r"), &["GET", "POST"], false),
            &file,
            all(&file)
        )
        .ok
    );
    let r = evaluate(
        &routes(&["/api/users"], Some("r"), &["DELETE"], false),
        &file,
        all(&file),
    );
    assert_eq!(
        r.message,
        "line 5: /api/users is registered for GET, POST, not DELETE"
    );
    assert!(
        evaluate(
            &routes(&["/health", "/static/"], Some("r"), &[], false),
            &file,
            all(&file)
        )
        .ok
    );
    let r = evaluate(
        &routes(&["/health"], Some("r"), &["POST"], false),
        &file,
        all(&file),
    );
    assert_eq!(
        r.message, "line 6: /health is registered for GET, not POST",
        "http.MethodGet is GET"
    );
    let exact = routes(&["/api/users", "/health", "/static/"], Some("r"), &[], true);
    assert!(
        evaluate(&exact, &file, all(&file)).ok,
        "the /api prefix is not a route of its own"
    );
}

#[test]
fn constant_paths_resolve() {
    let src = "package a\nconst base = \"/v1\"\nconst hb = base + \"/heartbeat\"\nfunc f() {\n\tmux.HandleFunc(hb, h)\n}\n";
    let file = go(src);
    assert!(
        evaluate(
            &routes(&["/v1/heartbeat"], Some("mux"), &[], false),
            &file,
            all(&file)
        )
        .ok
    );
}

#[test]
fn registration_outside_the_range_is_pointed_at() {
    let file = go(LISTENER);
    let r = evaluate(&routes(&["/healthz"], None, &[], false), &file, lines(3, 6));
    assert!(!r.ok);
    assert_eq!(
        r.message,
        "no route registration for /healthz in lines 3-6; nearest: line 7, outside the range"
    );
}

#[test]
fn exactly_counts_only_registrations_cited_by_their_method_line() {
    // The second registration's name is on line 5, past the range: not cited, so `exactly`
    // does not count it, even though its arguments start inside.
    let src = "package a\nfunc r(mux *http.ServeMux) {\n\tmux.HandleFunc(\"/a\", a)\n\tmux.\n\t\tHandleFunc(\"/b\", b)\n}\n";
    let file = go(src);
    let spec = routes(&["/a"], None, &[], true);
    assert!(evaluate(&spec, &file, lines(3, 4)).ok);
    let r = evaluate(&spec, &file, lines(3, 5));
    assert!(!r.ok);
    assert!(
        r.message.starts_with("line 5: /b is registered"),
        "{}",
        r.message
    );
}

fn routes_yaml(yaml: &str) -> Expectation {
    crate::anchors::parse_expectation(yaml).unwrap()
}

const CONDITIONAL: &str = "package a\n\nfunc (a *api) register(debug bool) {\n\tmux := a.mux\n\tif os.Getenv(\"JOBS\") != \"\" {\n\t\tmux.HandleFunc(\"/v1/jobs\", a.jobs)\n\t}\n\tfor _, m := range []string{\"GET\", \"HEAD\"} {\n\t\ta.r.HandleFunc(\"/v1/status\", a.status).Methods(m)\n\t}\n\tr.Route(\"/v2\", func(r chi.Router) {\n\t\tr.Get(\"/jobs\", a.jobs)\n\t})\n}\n";

#[test]
fn a_registration_under_a_condition_fails_saying_which_and_is_weakened_in_place() {
    // Issue 21 item 6: a cited registration wrapped in an env-var `if` came out drifted.
    let file = go(CONDITIONAL);
    let evidence = super::super::evaluate_evidence(
        &routes_yaml("routes: { on: mux, paths: [/v1/jobs] }"),
        &file,
        lines(6, 6),
        super::super::Scope::File,
    );
    assert!(!evidence.result.ok);
    assert_eq!(
        evidence.result.message,
        "line 6: /v1/jobs is registered only when os.Getenv(\"JOBS\") != \"\""
    );
    assert_eq!(evidence.in_place, super::super::InPlace::Weakened);
    assert_eq!(evidence.result.near_miss, Some(line(6)));
    let with_when = routes_yaml("routes: { on: mux, paths: [/v1/jobs], when: Getenv }");
    assert!(evaluate(&with_when, &file, lines(6, 6)).ok);
    let other = routes_yaml("routes: { paths: [/v1/jobs], when: ^debug$ }");
    assert_eq!(
        evaluate(&other, &file, lines(6, 6)).message,
        "line 6: /v1/jobs is registered only when os.Getenv(\"JOBS\") != \"\", which `when: ^debug$` does not match"
    );
}

#[test]
fn loops_and_router_closures_are_not_conditions() {
    let file = go(CONDITIONAL);
    let r = evaluate(
        &routes_yaml("routes: { paths: [/v1/status] }"),
        &file,
        all(&file),
    );
    assert!(r.ok, "{}", r.message);
    let r = evaluate(
        &routes_yaml("routes: { paths: [/v2/jobs] }"),
        &file,
        all(&file),
    );
    assert!(r.ok, "{}", r.message);
}

#[test]
fn not_forbids_a_route_under_any_condition() {
    let file = go(CONDITIONAL);
    let r = evaluate(
        &routes_yaml("not: { routes: { paths: [/v1/jobs] } }"),
        &file,
        all(&file),
    );
    assert!(!r.ok, "{}", r.message);
}
