//! `call`: a call whose callee is a name or ends with it at a `.`, or matches a glob, with
//! positional arguments.

use super::{
    Evidence, ExpectationResult, Scope, and_more, lines_phrase, nearest, nearest_elsewhere,
    only_phrase, unconditional,
};
use crate::anchors::{ArgPattern, CallPattern, ExpectationKind};
use crate::go::GoFile;
use crate::go::calls::{CallSite, calls, last_segment, names_callee};
use crate::go::tokens::comments;
use crate::lines::LineRange;

const KIND: ExpectationKind = ExpectationKind::Call;

pub(super) fn evaluate(
    pattern: &CallPattern,
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> Evidence {
    let in_range = calls(file, range);
    let named: Vec<&CallSite> = in_range
        .iter()
        .filter(|c| name_matches(pattern, c))
        .collect();
    let hits: Vec<&CallSite> = named
        .iter()
        .copied()
        .filter(|c| args_mismatch(pattern, c).is_none())
        .collect();
    // A call in a guard's response (an error writer, a log line, an exit) is as conditional
    // as the guard means it to be, and `fail_closed` judges that guard: see
    // `CallSite::conditions`. Every other condition around the call is one it runs under.
    let placed = unconditional(&hits, pattern.when.as_ref(), |c| c.conditions(file));
    if let Err(Some(condition)) = placed {
        let call = hits
            .first()
            .copied()
            .unwrap_or_else(|| unreachable!("a condition of a hit"));
        return Evidence::weakened(ExpectationResult::fail(
            KIND,
            format!(
                "line {}: calls {} only {}",
                call.line(),
                call.callee,
                only_phrase(&condition, pattern.when.as_ref())
            ),
            Some(call.line()),
        ));
    }
    if let Some(first) = hits.first() {
        return Evidence::pass_cited(
            KIND,
            format!(
                "{} at line {}{}",
                first.callee,
                first.line(),
                and_more(hits.len())
            ),
            hits.iter().map(|c| (c.head, c.lines)).collect(),
        );
    }
    let missing = format!(
        "no call matching {} in {}",
        pattern.name,
        lines_phrase(range)
    );
    if let Some(call) = named.first() {
        let why = args_mismatch(pattern, call).unwrap_or_default();
        return Evidence::weakened(ExpectationResult::fail(
            KIND,
            format!("line {}: calls {} but {why}", call.line(), call.callee),
            Some(call.line()),
        ));
    }
    // The same call outside the range is the likeliest place the code went, so it is named
    // before what the range alone tells.
    let elsewhere = nearest_elsewhere(
        file,
        range,
        scope,
        GoFile::cached_calls,
        |c| {
            !range.contains_line(c.head)
                && name_matches(pattern, c)
                && args_mismatch(pattern, c).is_none()
        },
        |c| LineRange::single(c.head),
    );
    match elsewhere {
        Some(call) => {
            let detail = format!(" calls {}", call.callee);
            ExpectationResult::fail_elsewhere(KIND, missing, call.line(), &detail).into()
        }
        None => within_range(pattern, file, range, &in_range, &missing).into(),
    }
}

/// Why no call in the range matches, judged from the range alone: the nearest similar call,
/// the name only in a comment, or just `missing`.
fn within_range(
    pattern: &CallPattern,
    file: &GoFile,
    range: LineRange,
    in_range: &[CallSite],
    missing: &str,
) -> ExpectationResult {
    let similar = in_range.iter().filter(|c| similar(pattern, c));
    if let Some(call) = nearest(similar, range, |c| c.line()) {
        return ExpectationResult::fail(
            KIND,
            format!(
                "{missing}; nearest: line {} calls {}",
                call.line(),
                call.callee
            ),
            Some(call.line()),
        );
    }
    let literal_part = literal_prefix(&pattern.name);
    if !literal_part.is_empty()
        && let Some(comment) = comments(file, range)
            .iter()
            .find(|c| c.text.contains(literal_part))
    {
        return ExpectationResult::fail(
            KIND,
            format!(
                "{missing}; line {}: {} appears only in a comment",
                comment.lines.start(),
                literal_part
            ),
            Some(comment.lines.start()),
        );
    }
    ExpectationResult::fail(KIND, missing.to_string(), None)
}

/// The callee or a suffix of it at a `.` (`mu.Lock` for `g.mu.Lock`), or the glob matches the
/// callee, its last segment or such a suffix.
pub(super) fn name_matches(pattern: &CallPattern, call: &CallSite) -> bool {
    match &pattern.glob {
        None => names_callee(&pattern.name, &call.callee),
        Some(glob) => dotted_suffixes(&call.callee).any(|suffix| glob.is_match(suffix)),
    }
}

/// `g.mu.Lock`, `mu.Lock`, `Lock`: the callee and each suffix after one of its dots.
fn dotted_suffixes(callee: &str) -> impl Iterator<Item = &str> {
    std::iter::once(callee).chain(
        callee
            .match_indices('.')
            .map(move |(i, _)| &callee[i + 1..])
            .filter(|s| !s.is_empty()),
    )
}

/// Why the arguments do not match, or `None` when they do.
fn args_mismatch(pattern: &CallPattern, call: &CallSite) -> Option<String> {
    let expected = pattern.args.as_ref()?;
    if call.args.len() < expected.len() {
        return Some(format!(
            "with {} argument(s), expected at least {}",
            call.args.len(),
            expected.len()
        ));
    }
    expected
        .iter()
        .zip(&call.args)
        .enumerate()
        .find_map(|(i, (want, got))| match want {
            ArgPattern::Any => None,
            ArgPattern::Literal(text)
                if *text == got.text || got.string_value.as_deref() == Some(text) =>
            {
                None
            }
            ArgPattern::Literal(text) => Some(format!(
                "argument {} is {}, expected {text}",
                i + 1,
                got.text
            )),
        })
}

/// A call worth naming as a near miss: same qualifier (`log.`) or similar last segment.
fn similar(pattern: &CallPattern, call: &CallSite) -> bool {
    let wanted_last = literal_prefix(last_segment(&pattern.name)).to_ascii_lowercase();
    let wanted_qualifier = pattern.name.rsplit_once('.').map(|(q, _)| q);
    let qualifier_matches = wanted_qualifier.is_some_and(|q| q == call.qualifier());
    let last = call.last_segment().to_ascii_lowercase();
    qualifier_matches
        || (!wanted_last.is_empty() && (last.contains(&wanted_last) || wanted_last.contains(&last)))
}

/// The part of a name before any glob metacharacter.
fn literal_prefix(name: &str) -> &str {
    let end = name.find(['*', '?', '[', '{']).unwrap_or(name.len());
    &name[..end]
}

#[cfg(test)]
mod tests {
    use super::super::evaluate;
    use super::super::test_support::{go, line, lines};
    use crate::anchors::{ArgPattern, CallPattern, Expectation};

    fn call(name: &str, args: Option<Vec<ArgPattern>>) -> Expectation {
        let glob = name
            .contains(['*', '?', '['])
            .then(|| globset::Glob::new(name).unwrap().compile_matcher());
        Expectation::Call(CallPattern {
            name: name.to_string(),
            glob,
            args,
            when: None,
        })
    }

    const FATAL: &str =
        "package a\n\nfunc f() {\n\tif !ok {\n\t\tlog.Fatalf(\"no: %v\", err)\n\t}\n}\n";
    const PRINTF: &str =
        "package a\n\nfunc f() {\n\tif !ok {\n\t\tlog.Printf(\"no: %v\", err)\n\t}\n}\n";

    #[test]
    fn glob_matches_full_callee() {
        let r = evaluate(&call("log.Fatal*", None), &go(FATAL), lines(3, 7));
        assert!(r.ok, "{}", r.message);
        assert_eq!(r.message, "log.Fatalf at line 5");
        assert_eq!(r.matches, vec![lines(5, 5)]);
    }

    #[test]
    fn fatal_replaced_by_printf_names_the_near_miss() {
        let r = evaluate(&call("log.Fatal*", None), &go(PRINTF), lines(3, 7));
        assert!(!r.ok);
        assert_eq!(
            r.message,
            "no call matching log.Fatal* in lines 3-7; nearest: line 5 calls log.Printf"
        );
        assert_eq!(r.near_miss, Some(line(5)));
    }

    #[test]
    fn full_name_and_last_segment_match() {
        let src = "package a\nfunc f() {\n\tl.srv.ListenAndServeTLS(\"\", \"\")\n}\n";
        assert!(
            evaluate(
                &call("l.srv.ListenAndServeTLS", None),
                &go(src),
                lines(1, 4)
            )
            .ok
        );
        assert!(evaluate(&call("ListenAndServeTLS", None), &go(src), lines(1, 4)).ok);
        assert!(!evaluate(&call("srv", None), &go(src), lines(1, 4)).ok);
    }

    #[test]
    fn callee_whitespace_is_ignored() {
        let src = "package a\nfunc f() {\n\tmux.\n\t\tHandleFunc(\"/x\", h)\n}\n";
        assert!(evaluate(&call("mux.HandleFunc", None), &go(src), lines(1, 5)).ok);
    }

    #[test]
    fn args_match_literals_strings_and_wildcards() {
        let src = "package a\nfunc f() {\n\tos.Exit(1)\n\tmux.HandleFunc(\"/x\", handler)\n}\n";
        let file = go(src);
        let exit1 = call("os.Exit", Some(vec![ArgPattern::Literal("1".into())]));
        assert!(evaluate(&exit1, &file, lines(1, 5)).ok);
        let route = call(
            "HandleFunc",
            Some(vec![ArgPattern::Literal("/x".into()), ArgPattern::Any]),
        );
        assert!(evaluate(&route, &file, lines(1, 5)).ok);
        let wrong = call("os.Exit", Some(vec![ArgPattern::Literal("0".into())]));
        let r = evaluate(&wrong, &file, lines(1, 5));
        assert!(!r.ok);
        assert_eq!(
            r.message,
            "line 3: calls os.Exit but argument 1 is 1, expected 0"
        );
        let too_many = call("os.Exit", Some(vec![ArgPattern::Any, ArgPattern::Any]));
        assert!(!evaluate(&too_many, &file, lines(1, 5)).ok);
    }

    #[test]
    fn call_in_comment_or_string_does_not_count() {
        let src = "package a\nfunc f() {\n\t// log.Fatal(err)\n\tx := \"log.Fatal(err)\"\n}\n";
        let r = evaluate(&call("log.Fatal", None), &go(src), lines(1, 5));
        assert!(!r.ok);
        assert!(
            r.message
                .contains("line 3: log.Fatal appears only in a comment"),
            "{}",
            r.message
        );
    }

    #[test]
    fn call_outside_range_is_named() {
        let src = "package a\nfunc f() {\n\tx()\n\ty()\n\tlog.Fatal(err)\n}\n";
        let r = evaluate(&call("log.Fatal", None), &go(src), lines(3, 4));
        assert!(!r.ok);
        assert!(
            r.message
                .ends_with("nearest: line 5 calls log.Fatal, outside the range"),
            "{}",
            r.message
        );
    }

    #[test]
    fn a_call_is_cited_by_the_line_of_its_name() {
        // Issue 12: docs cite `handler.go:141` for a call starting there; its arguments run on.
        let src = "package a\nfunc f() {\n\tmsg := fmt.Sprintf(\"%s: %d\",\n\t\tname,\n\t\tcount)\n\t_ = msg\n}\n";
        let r = evaluate(&call("fmt.Sprintf", None), &go(src), lines(3, 3));
        assert!(r.ok, "{}", r.message);
        assert_eq!(r.message, "fmt.Sprintf at line 3");
        assert_eq!(r.matches, vec![lines(3, 5)]);
        // Its tail alone does not cite it.
        let tail = evaluate(&call("fmt.Sprintf", None), &go(src), lines(4, 6));
        assert!(!tail.ok);
        assert!(
            tail.message
                .ends_with("nearest: line 3 calls fmt.Sprintf, outside the range"),
            "{}",
            tail.message
        );
    }

    #[test]
    fn a_chained_call_is_cited_by_the_line_of_its_last_name() {
        let src = "package a\nfunc f() {\n\tr.PathPrefix(\"/api\").\n\t\tSubrouter().\n\t\tHandleFunc(\"/x\", h)\n}\n";
        assert!(evaluate(&call("HandleFunc", None), &go(src), lines(5, 5)).ok);
        assert!(!evaluate(&call("HandleFunc", None), &go(src), lines(3, 4)).ok);
    }

    #[test]
    fn a_name_matches_a_suffix_of_the_callee_at_a_dot() {
        // Issue 12: `call: mu.Lock` on `g.mu.Lock()` and `call: cc.NewStream` on
        // `c.cc.NewStream(...)` were broken.
        let src =
            "package a\nfunc f() {\n\tg.mu.Lock()\n\ts, err := c.cc.NewStream(ctx, desc)\n}\n";
        let file = go(src);
        for (name, ok) in [
            ("mu.Lock", true),
            ("g.mu.Lock", true),
            ("Lock", true),
            ("cc.NewStream", true),
            ("NewStream", true),
            ("u.Lock", false),
            ("mu.Loc", false),
            ("c.NewStream", false),
            ("*.Lock", true),
        ] {
            let r = evaluate(&call(name, None), &file, lines(1, 5));
            assert_eq!(r.ok, ok, "{name}: {}", r.message);
        }
    }

    #[test]
    fn generic_and_parenthesised_callees_match_their_names() {
        let src = "package a\nfunc f() {\n\tslices.SortFunc[[]int](xs, cmp)\n\tv := Map[int, string](xs, fn)\n\tw := must[T](x)\n\t(handler)(w, r)\n\t(s.mu).Unlock()\n}\n";
        let file = go(src);
        for (name, line) in [
            ("slices.SortFunc", 3),
            ("Map", 4),
            ("must", 5),
            ("handler", 6),
            ("mu.Unlock", 7),
        ] {
            let r = evaluate(&call(name, None), &file, lines(line, line));
            assert!(r.ok, "{name}: {}", r.message);
        }
        let with_args = call("must", Some(vec![ArgPattern::Literal("x".into())]));
        assert!(evaluate(&with_args, &file, lines(5, 5)).ok);
    }

    fn yaml(text: &str) -> Expectation {
        crate::anchors::parse_expectation(text).unwrap()
    }

    const LISTENERS: &str = "package a\nfunc listen(c Config, ln net.Listener) net.Listener {\n\tif c.MTLS {\n\t\tln = tls.NewListener(ln, c.TLS)\n\t}\n\tif err := check(c); err != nil {\n\t\thttp.Error(w, \"no\", 403)\n\t\treturn nil\n\t}\n\tif !c.Safe {\n\t\tlog.Fatalf(\"unsafe\")\n\t}\n\tfor {\n\t\tselect {\n\t\tcase <-pending:\n\t\t\treload()\n\t\t}\n\t}\n}\n";

    #[test]
    fn a_call_under_a_condition_fails_saying_which_unless_when_matches() {
        let file = go(LISTENERS);
        let r = evaluate(&call("tls.NewListener", None), &file, lines(3, 5));
        assert!(!r.ok);
        assert_eq!(r.message, "line 4: calls tls.NewListener only when c.MTLS");
        assert_eq!(r.near_miss, Some(line(4)));
        assert!(
            evaluate(
                &yaml("call: { name: tls.NewListener, when: MTLS }"),
                &file,
                lines(3, 5)
            )
            .ok
        );
        let r = evaluate(
            &yaml("call: { name: reload, when: pending }"),
            &file,
            lines(13, 18),
        );
        assert!(r.ok, "{}", r.message);
        let r = evaluate(&call("reload", None), &file, lines(13, 18));
        assert_eq!(
            r.message,
            "line 16: calls reload only in the select case at line 14"
        );
    }

    #[test]
    fn a_guard_response_is_not_conditional_and_not_sees_every_call() {
        let file = go(LISTENERS);
        assert!(evaluate(&call("http.Error", None), &file, lines(6, 9)).ok);
        assert!(evaluate(&call("log.Fatal*", None), &file, lines(10, 12)).ok);
        // The call in an `if`'s init statement always runs.
        assert!(evaluate(&call("check", None), &file, lines(6, 6)).ok);
        let r = evaluate(&yaml("not: { call: tls.NewListener }"), &file, lines(3, 5));
        assert!(!r.ok, "{}", r.message);
    }

    /// A response nested in guards: `conn.Close()` before the inner guard's `return` answers to
    /// the outer guard's condition too.
    const NESTED: &str = "package a\nfunc serve(conn net.Conn, c Config) {\n\tif c.RequireTLS && !isTLS(conn) {\n\t\tif !c.UpgradeMode {\n\t\t\tconn.Close()\n\t\t\treturn\n\t\t}\n\t}\n\tif c.Strict {\n\t\tif os.Getenv(\"X\") != \"\" {\n\t\t\tconn.Close()\n\t\t}\n\t\treturn\n\t}\n\tif os.Getenv(\"Y\") != \"\" {\n\t\treturn tls.Server(conn, c.TLS)\n\t}\n}\n";

    #[test]
    fn a_response_answers_to_every_guard_around_it_but_not_to_conditions_inside() {
        let file = go(NESTED);
        let r = evaluate(&call("conn.Close", None), &file, lines(3, 8));
        assert!(r.ok, "{}", r.message);
        // Wrapped in a condition inside the refusing branch: that condition counts.
        let r = evaluate(&call("conn.Close", None), &file, lines(9, 14));
        assert!(!r.ok);
        assert!(
            r.message
                .starts_with("line 11: calls conn.Close only when os.Getenv"),
            "{}",
            r.message
        );
        // A call the branch returns is part of its response too, like `errors.New(..)` in a
        // refusal; a listener returned only under a condition is not told apart from it.
        let r = evaluate(&call("tls.Server", None), &file, lines(15, 17));
        assert!(r.ok, "{}", r.message);
    }
}
