//! Tests for the `fail_closed` evaluator: what terminates a guard's branch, the guards Go is
//! written with, and a guard narrowed since `at`.

use super::super::evaluate;
use super::super::test_support::{all, go, line, lines};
use crate::anchors::{Expectation, FailClosedSpec};

fn fail_closed(when: &str) -> Expectation {
    Expectation::FailClosed(FailClosedSpec {
        when: regex::Regex::new(when).unwrap(),
        sinks: Vec::new(),
    })
}

fn check(src: &str) -> super::ExpectationResult {
    let file = go(src);
    evaluate(&fail_closed("(?i)mtls"), &file, all(&file))
}

#[test]
fn weakened_guard_fails_even_beside_a_closed_one() {
    let r = check(
        "package a\nfunc f() {\n\tif !cfg.MTLSRequired {\n\t\tlog.Printf(\"mtls off\")\n\t}\n\tif err := validateMTLS(cfg); err != nil {\n\t\tlog.Fatal(err)\n\t}\n}\n",
    );
    assert!(!r.ok);
    assert_eq!(r.near_miss, Some(line(3)));
    assert!(
        r.message.contains("only logs and continues: fail-open"),
        "{}",
        r.message
    );
}

#[test]
fn ordinary_branching_beside_a_guard_is_fine() {
    let r = check(
        "package a\nfunc f() {\n\tif cfg.MTLSRequired {\n\t\tsetupMTLS(cfg)\n\t\tcount++\n\t}\n\tif !cfg.MTLSReady {\n\t\tpanic(\"mtls\")\n\t}\n}\n",
    );
    assert!(r.ok, "{}", r.message);
}

#[test]
fn log_fatal_guard_is_fail_closed() {
    let r = check(
        "package a\nfunc f() {\n\tif !cfg.MTLSRequired {\n\t\tlog.Fatalf(\"mtls off\")\n\t}\n}\n",
    );
    assert!(r.ok, "{}", r.message);
    assert_eq!(
        r.message,
        "line 3: if mentions cfg.MTLSRequired and terminates with log.Fatalf at line 4"
    );
    assert_eq!(r.matches, vec![lines(3, 5)]);
}

#[test]
fn fail_open_guard_that_only_logs_is_broken() {
    let r = check(
        "package a\nfunc f() {\n\tif !cfg.MTLSRequired {\n\t\tlog.Printf(\"mtls off\")\n\t}\n}\n",
    );
    assert!(!r.ok);
    assert_eq!(
        r.message,
        "line 3: if mentions cfg.MTLSRequired but its body only logs and continues: fail-open"
    );
    assert_eq!(r.near_miss, Some(line(3)));
}

#[test]
fn guard_returning_nil_error_is_fail_open() {
    let r = check(
        "package a\nfunc f() error {\n\tif !requireMTLS {\n\t\treturn nil\n\t}\n\treturn nil\n}\n",
    );
    assert_eq!(
        r.message,
        "line 3: if mentions requireMTLS but returns nil error: fail-open"
    );
    let ok = check(
        "package a\nfunc f() (int, error) {\n\tif !requireMTLS {\n\t\treturn 0, errMTLS\n\t}\n\treturn 1, nil\n}\n",
    );
    assert!(ok.ok, "{}", ok.message);
}

#[test]
fn init_statement_call_counts_as_a_mention() {
    let r = check(
        "package a\nfunc f() error {\n\tif err := validateMTLS(cfg); err != nil {\n\t\treturn fmt.Errorf(\"mtls: %w\", err)\n\t}\n\treturn nil\n}\n",
    );
    assert!(r.ok, "{}", r.message);
    assert!(r.message.contains("validateMTLS"), "{}", r.message);
}

#[test]
fn http_error_without_return_is_fail_open() {
    let open = "package a\nfunc h(w http.ResponseWriter, r *http.Request) {\n\tif r.TLS == nil || !mtlsOK(r) {\n\t\thttp.Error(w, \"no\", 403)\n\t}\n\tserve(w)\n}\n";
    let r = check(open);
    assert_eq!(
        r.message,
        "line 3: if mentions mtlsOK but calls http.Error but does not return: fail-open"
    );
    let closed = open.replace("403)\n", "403)\n\t\treturn\n");
    assert!(check(&closed).ok);
}

#[test]
fn return_in_a_function_without_results_is_fail_closed() {
    // Issue 12: a handler's guard writing its error with a custom writer, then returning.
    let handler = "package a\nfunc (h *H) ServeHTTP(w http.ResponseWriter, r *http.Request) {\n\tif err := h.checkMTLS(r); err != nil {\n\t\th.handleError(w, r, err)\n\t\treturn\n\t}\n\th.serve(w, r)\n}\n";
    let r = check(handler);
    assert!(r.ok, "{}", r.message);
    assert!(
        r.message
            .ends_with("terminates with return after h.handleError at line 5"),
        "{}",
        r.message
    );
    let bare = handler.replace("\t\th.handleError(w, r, err)\n", "");
    assert!(check(&bare).ok, "a bare return refuses too");
    // The other way: the writer without a return falls through to the protected code.
    let open = handler.replace("\t\treturn\n", "");
    assert_eq!(
        check(&open).message,
        "line 3: if mentions h.checkMTLS but calls h.handleError but does not return: fail-open"
    );
    let json = open.replace("h.handleError(w, r, err)", "writeJSONError(w, 403, err)");
    assert!(
        check(&json)
            .message
            .contains("calls writeJSONError but does not return"),
        "{}",
        check(&json).message
    );
}

#[test]
fn an_error_written_to_the_response_writer_is_no_logging_call() {
    let handler = "package a\nfunc h(w http.ResponseWriter, r *http.Request) {\n\tif !mtlsOK(r) {\n\t\trender.Error(w, r, 403, errNoMTLS)\n\t\treturn\n\t}\n\tserve(w)\n}\n";
    assert!(
        check(handler)
            .message
            .ends_with("return after render.Error at line 5")
    );
    assert_eq!(
        check(&handler.replace("\t\treturn\n", "")).message,
        "line 3: if mentions mtlsOK but calls render.Error but does not return: fail-open"
    );
    let logged = handler.replace(
        "render.Error(w, r, 403, errNoMTLS)",
        "log.Error(\"no mtls\")",
    );
    assert!(
        check(&logged.replace("\t\treturn\n", ""))
            .message
            .contains("only logs")
    );
}

#[test]
fn a_bare_return_with_named_results_left_unset_is_fail_open() {
    let src =
        "package a\nfunc f() (err error) {\n\tif !mtlsOK {\n\t\treturn\n\t}\n\treturn nil\n}\n";
    assert!(
        check(src)
            .message
            .contains("returns without reporting an error"),
        "{}",
        check(src).message
    );
    let set = src.replace("\t\treturn\n\t}", "\t\terr = errNoMTLS\n\t\treturn\n\t}");
    assert!(check(&set).ok, "{}", check(&set).message);
    // Set by the guard's own init statement, and proven non-nil by its condition.
    let proven = "package a\nfunc f() (err error) {\n\tif err = checkMTLS(); err != nil {\n\t\treturn\n\t}\n\treturn nil\n}\n";
    assert!(check(proven).ok, "{}", check(proven).message);
}

#[test]
fn whatever_follows_a_fatal_call_never_runs() {
    // Issue 12: `s.Fatalf(...); return` in a test server's helper.
    let src = "package a\nfunc (s *server) start() {\n\tif err := s.listenMTLS(); err != nil {\n\t\ts.Fatalf(\"mtls: %v\", err)\n\t\treturn\n\t}\n}\n";
    let r = check(src);
    assert!(r.ok, "{}", r.message);
    assert!(r.message.ends_with("s.Fatalf at line 4"), "{}", r.message);
    let then_cleanup = "package a\nfunc f() error {\n\tif !mtlsOK {\n\t\tlog.Fatal(\"no mtls\")\n\t\tcleanup()\n\t}\n\treturn nil\n}\n";
    assert!(check(then_cleanup).ok);
    let printf = then_cleanup.replace("log.Fatal", "log.Print");
    assert!(!check(&printf).ok);
}

#[test]
fn sinks_name_helpers_that_never_return() {
    let src = "package a\nfunc main() {\n\tif !cfg.MTLS {\n\t\tfatal(\"mtls is required\")\n\t}\n\tserve()\n}\n";
    let file = go(src);
    let plain = evaluate(&fail_closed("MTLS"), &file, all(&file));
    assert!(!plain.ok, "{}", plain.message);
    let with = |sinks: &[&str]| {
        Expectation::FailClosed(FailClosedSpec {
            when: regex::Regex::new("MTLS").unwrap(),
            sinks: sinks.iter().map(|s| s.to_string()).collect(),
        })
    };
    let r = evaluate(&with(&["fatal"]), &file, all(&file));
    assert!(r.ok, "{}", r.message);
    assert!(r.message.ends_with("fatal at line 4"), "{}", r.message);
    let qualified = go(&src.replace("fatal(", "s.die("));
    assert!(evaluate(&with(&["die"]), &qualified, all(&qualified)).ok);
    assert!(evaluate(&with(&["s.die"]), &qualified, all(&qualified)).ok);
    assert!(!evaluate(&with(&["fatal"]), &qualified, all(&qualified)).ok);
}

#[test]
fn commented_out_guard_is_named() {
    let src = "package a\nfunc f() {\n\t// if !cfg.MTLSRequired {\n\t// \tlog.Fatal(\"x\")\n\t// }\n\tserve()\n}\n";
    let r = check(src);
    assert_eq!(r.message, "line 3: the guard is commented out");
    assert_eq!(r.near_miss, Some(line(3)));
}

#[test]
fn no_guard_at_all_says_what_was_looked_for() {
    let r = check("package a\nfunc f() {\n\tserve()\n}\n");
    assert_eq!(
        r.message,
        "no if statement in lines 1-4 mentions anything matching (?i)mtls"
    );
}

#[test]
fn terminating_statements_follow_go_rules() {
    for body in [
        "panic(\"no mtls\")",
        "os.Exit(2)",
        "os.Exit(code)",
        "t.Fatalf(\"x\")",
        "klog.Fatalf(\"x\")",
        "logrus.Fatal(\"x\")",
        "runtime.Goexit()",
        "if x { panic(1) } else { log.Fatal(2) }",
        "switch { case a: panic(1)\n default: os.Exit(1) }",
        "for { }",
        "select {}",
        "log.Print(\"x\"); panic(\"no mtls\")",
    ] {
        let src = format!("package a\nfunc f() {{\n\tif !useMTLS {{\n\t\t{body}\n\t}}\n}}\n");
        assert!(check(&src).ok, "{body}");
    }
    for body in [
        "os.Exit(0)",
        "if x { panic(1) }",
        "for x { panic(1) }",
        "for { break }",
        "defer panic(1)",
        "runtime.Gosched()",
        "t.Logf(\"x\")",
    ] {
        let src = format!("package a\nfunc f() {{\n\tif !useMTLS {{\n\t\t{body}\n\t}}\n}}\n");
        assert!(!check(&src).ok, "{body}");
    }
}

#[test]
fn leaving_the_loop_body_terminates_the_guard() {
    // Issue 21 item 8: the code after a loop guard ending in `continue` never runs there.
    for body in [
        "log.Printf(\"skip\")\n\t\t\tcontinue",
        "break",
        "continue outer",
        "break outer",
        "goto done",
    ] {
        let src = format!(
            "package a\nfunc f(peers []P) {{\nouter:\n\tfor _, p := range peers {{\n\t\tif !p.MTLS {{\n\t\t\t{body}\n\t\t}}\n\t\tserve(p)\n\t}}\ndone:\n}}\n"
        );
        let r = check(&src);
        assert!(r.ok, "{body}: {}", r.message);
    }
    let dropped = "package a\nfunc f(peers []P) {\n\tfor _, p := range peers {\n\t\tif !p.MTLS {\n\t\t\tlog.Printf(\"skip\")\n\t\t}\n\t\tserve(p)\n\t}\n}\n";
    assert!(
        check(dropped).message.contains("only logs"),
        "{}",
        check(dropped).message
    );
}

#[test]
fn switch_and_select_cases_are_guards() {
    let handler = "package a\nfunc h(w http.ResponseWriter, r *http.Request) {\n\tswitch {\n\tcase !mtlsOK(r):\n\t\thttp.Error(w, \"no\", 403)\n\t\treturn\n\tcase r.Method == \"GET\":\n\t}\n\tserve(w)\n}\n";
    let r = check(handler);
    assert!(r.ok, "{}", r.message);
    assert_eq!(
        r.message,
        "line 4: case mentions mtlsOK and terminates with return after http.Error at line 6"
    );
    let open = handler.replace("\t\treturn\n", "");
    assert_eq!(
        check(&open).message,
        "line 4: case mentions mtlsOK but calls http.Error but does not return: fail-open"
    );
    // A plain `break` in a case only leaves the switch.
    let broken = handler.replace("\t\treturn\n", "\t\tbreak\n");
    assert!(!check(&broken).ok);
    let select = "package a\nfunc f(ctx context.Context, mtlsReady chan bool) error {\n\tselect {\n\tcase <-ctx.Done():\n\t\treturn ctx.Err()\n\tcase ok := <-mtlsReady:\n\t\tif !ok {\n\t\t\treturn errNoMTLS\n\t\t}\n\t}\n\treturn nil\n}\n";
    let file = go(select);
    let r = evaluate(&fail_closed("ctx"), &file, all(&file));
    assert!(r.ok, "{}", r.message);
    assert!(
        r.message.starts_with("line 4: case mentions ctx"),
        "{}",
        r.message
    );
    // A switch on a value is dispatch: its cases are not guards.
    let dispatch = "package a\nfunc f(mode string) {\n\tswitch mode {\n\tcase \"mtls\":\n\t\tlog.Print(1)\n\t}\n}\n";
    assert!(check(dispatch).message.starts_with("no if statement"));
}

#[test]
fn a_returned_error_aborts_only_when_non_nil_on_that_path() {
    // Issue 21 item 10: `return peer, parts[1], err` with `err` possibly nil is success.
    let src = |condition: &str, returned: &str| {
        format!(
            "package a\nfunc f(s string) (string, error) {{\n\tpeer, err := lookupMTLS(s)\n\tif {condition} {{\n\t\treturn peer, {returned}\n\t}}\n\treturn peer, nil\n}}\n"
        )
    };
    let open = check(&src("s == \"\" || mtlsOff", "err"));
    assert_eq!(
        open.message,
        "line 4: if mentions mtlsOff but returns err, which nothing on that path proves non-nil: fail-open"
    );
    for (condition, returned) in [
        ("mtlsOff", "errors.New(\"mtls off\")"),
        ("mtlsOff", "fmt.Errorf(\"mtls: %w\", err)"),
        ("mtlsOff", "errs.Unauthorized(\"mtls\")"),
        ("mtlsOff", "ErrNoMTLS"),
        ("mtlsOff", "&MTLSError{}"),
        ("mtlsOff && err != nil", "err"),
    ] {
        let r = check(&src(condition, returned));
        assert!(r.ok, "{condition} / {returned}: {}", r.message);
    }
    let package_var = "package a\nvar denied = errors.New(\"denied\")\nfunc f() error {\n\tif mtlsOff {\n\t\treturn denied\n\t}\n\treturn nil\n}\n";
    assert!(check(package_var).ok, "{}", check(package_var).message);
    let local = package_var
        .replace("var denied = errors.New(\"denied\")\n", "")
        .replace("\tif mtlsOff", "\tdenied := lookup()\n\tif mtlsOff");
    assert!(!check(&local).ok, "a local variable may be nil");
    // Proven by the guard around it, or assigned in the branch.
    let nested = "package a\nfunc f() error {\n\terr := dial()\n\tif err != nil {\n\t\tif isMTLS(err) {\n\t\t\treturn err\n\t\t}\n\t}\n\treturn nil\n}\n";
    assert!(check(nested).ok, "{}", check(nested).message);
    let assigned = "package a\nfunc f() error {\n\tvar err error\n\tif mtlsOff {\n\t\terr = fmt.Errorf(\"off\")\n\t\treturn err\n\t}\n\treturn nil\n}\n";
    assert!(check(assigned).ok, "{}", check(assigned).message);
}

#[test]
fn a_narrowed_abort_condition_is_named() {
    // Issue 21 item 4: `if isRevoked` became `if isRevoked && !a.config.AllowRevokedRenewal`.
    let src = |condition: &str| {
        format!(
            "package a\nfunc (a *A) renew(isRevoked bool) error {{\n\tif {condition} {{\n\t\treturn errs.Unauthorized(\"revoked\")\n\t}}\n\treturn nil\n}}\n"
        )
    };
    let spec = fail_closed("isRevoked");
    let was = go(&src("isRevoked"));
    let now = go(&src("isRevoked && !a.config.AllowRevokedRenewal"));
    assert!(
        evaluate(&spec, &now, all(&now)).ok,
        "judged alone, it holds"
    );
    let found = crate::expect::narrowed(&spec, &was, all(&was), &now, all(&now)).unwrap();
    assert_eq!(
        found.result.message,
        "line 3: the guard on isRevoked now also requires !a.config.AllowRevokedRenewal (it was `if isRevoked`): fail-open"
    );
    assert_eq!(found.in_place, crate::expect::InPlace::Weakened);
    // Written with `&&` from the start, or unchanged: judged as written.
    assert!(crate::expect::narrowed(&spec, &now, all(&now), &now, all(&now)).is_none());
    let dropped = go(&src("isRevoked || expired"));
    let found = crate::expect::narrowed(&spec, &dropped, all(&dropped), &was, all(&was));
    assert!(
        found.unwrap().result.message.contains(
            "the guard on isRevoked no longer aborts when expired (it was `if isRevoked || expired`)"
        ),
        "a dropped `||` operand narrows too"
    );
    let spec = fail_closed("expired");
    let found = crate::expect::narrowed(&spec, &dropped, all(&dropped), &was, all(&was));
    assert!(
        found.is_none(),
        "no guard mentioning expired is left to compare"
    );
    let otherwise = |condition: &str| {
        go(&format!(
            "package a\nfunc f(c *Cert) error {{\n\tif {condition} {{\n\t\tuse(c)\n\t}} else {{\n\t\treturn errInvalid\n\t}}\n\treturn nil\n}}\n"
        ))
    };
    let spec_valid = fail_closed("^c\\.Valid$");
    let was_valid = otherwise("c.Valid()");
    let bypass = otherwise("c.Valid() || insecure");
    let found = crate::expect::narrowed(
        &spec_valid,
        &was_valid,
        all(&was_valid),
        &bypass,
        all(&bypass),
    );
    assert_eq!(
        found.unwrap().result.message,
        "line 3: the guard on c.Valid now also goes on when insecure (it was `if c.Valid()`): fail-open"
    );
    let stricter = otherwise("c.Valid() && trusted(c)");
    assert!(
        crate::expect::narrowed(
            &spec_valid,
            &was_valid,
            all(&was_valid),
            &stricter,
            all(&stricter)
        )
        .is_none()
    );
    let both = otherwise("c.Valid() && trusted(c)");
    let found =
        crate::expect::narrowed(&spec_valid, &both, all(&both), &was_valid, all(&was_valid));
    assert!(
        found
            .unwrap()
            .result
            .message
            .contains("no longer requires trusted(c) to go on"),
    );
    let broader = go(&src("isRevoked || expired || stale"));
    let found = crate::expect::narrowed(&spec, &dropped, all(&dropped), &broader, all(&broader));
    assert!(
        found.is_none(),
        "an added `||` operand aborts in more cases"
    );
}

#[test]
fn else_branch_may_terminate() {
    let src = "package a\nfunc f() error {\n\tif cfg.MTLS {\n\t\tserve()\n\t} else {\n\t\treturn errNoMTLS\n\t}\n\treturn nil\n}\n";
    assert!(check(src).ok);
}

#[test]
fn only_a_refusal_taken_out_is_weakened_in_place() {
    let weakened = |src: &str| {
        let file = go(src);
        let found = crate::expect::evaluate_evidence(
            &fail_closed("(?i)mtls"),
            &file,
            all(&file),
            crate::expect::Scope::Range,
        );
        assert!(!found.result.ok, "{}", found.result.message);
        found.in_place == crate::expect::InPlace::Weakened
    };
    // The `log.Fatal` became a `log.Printf`: weakened where it is, never relocated.
    assert!(weakened(
        "package a\nfunc f() {\n\tif !cfg.MTLS {\n\t\tlog.Printf(\"mtls off\")\n\t}\n}\n"
    ));
    // Ordinary branching may be other code that moved into the range: look elsewhere.
    assert!(!weakened(
        "package a\nfunc f() {\n\tif cfg.MTLS {\n\t\tsetupMTLS(cfg)\n\t}\n}\n"
    ));
    assert!(!weakened("package a\nfunc f() {\n\tserve()\n}\n"));
}

#[test]
fn a_guard_is_cited_by_its_if_line() {
    let src = "package a\nfunc f() {\n\tif !cfg.MTLSRequired {\n\t\tlog.Fatal(\"x\")\n\t}\n}\n";
    let file = go(src);
    let r = evaluate(&fail_closed("MTLS"), &file, lines(3, 3));
    assert!(r.ok, "{}", r.message);
    assert_eq!(r.matches, vec![lines(3, 5)]);
    let tail = evaluate(&fail_closed("MTLS"), &file, lines(4, 5));
    assert!(!tail.ok);
    assert_eq!(
        tail.message,
        "line 3: if mentions cfg.MTLSRequired but its `if` line is above lines 4-5 (the guard spans 3-5)"
    );
}

#[test]
fn deeply_nested_condition_does_not_overflow() {
    let depth = 50_000;
    let condition = format!("{}cfg.MTLS{}", "(".repeat(depth), ")".repeat(depth));
    let src = format!("package a\nfunc f() {{\n\tif !{condition} {{\n\t\tpanic(1)\n\t}}\n}}\n");
    let r = check(&src);
    assert!(r.ok, "{}", r.message);
    let ops = vec!["a"; depth].join(" || ");
    let src =
        format!("package a\nfunc f() {{\n\tif {ops} || mtlsOff {{\n\t\tlog.Print(1)\n\t}}\n}}\n");
    assert!(!check(&src).ok);
}
