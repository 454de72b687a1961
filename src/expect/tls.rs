//! `tls`: a TLS configuration requiring the named client-auth mode and minimum version, with
//! the named callbacks and CA pool set, never `InsecureSkipVerify: true`, and not weakened by a
//! later assignment to the same value in the same function.

use regex::Regex;

use super::{Evidence, ExpectationResult, InPlace, lines_phrase};
use crate::anchors::{ClientAuth, ExpectationKind, TlsHook, TlsSpec, TlsVersion};
use crate::go::GoFile;
use crate::go::calls::last_segment;
use crate::go::conditions::{path_to, runs_after, unmatched};
use crate::go::tls::{TlsConfig, TlsSetting, configs};
use crate::lines::{LineNo, LineRange};

const KIND: ExpectationKind = ExpectationKind::Tls;

/// A test of a setting's value (`None`: a later literal leaves the field unset).
type ValueTest = Box<dyn Fn(Option<&str>) -> bool>;

/// What one field of the expectation asks of the setting the range cites, and of later ones.
struct FieldCheck {
    field: &'static str,
    /// How messages name the expected value: `tls.RequireAndVerifyClientCert`, `at least
    /// tls.VersionTLS13`, `set`.
    expected: String,
    /// The cited setting's value satisfies it.
    holds: Box<dyn Fn(&str) -> bool>,
    /// A later value keeps it satisfied.
    keeps: ValueTest,
}

pub(super) fn evaluate(spec: &TlsSpec, file: &GoFile, range: LineRange) -> Evidence {
    let found = configs(file, range);
    if let Some(insecure) = found
        .iter()
        .flat_map(|c| &c.settings)
        .find(|s| s.field == "InsecureSkipVerify" && s.value != "false")
    {
        let only = insecure
            .only()
            .map(|when| format!(" ({when})"))
            .unwrap_or_default();
        return Evidence::weakened(ExpectationResult::fail(
            KIND,
            format!(
                "line {} sets InsecureSkipVerify: {}{only}",
                insecure.line, insecure.value
            ),
            Some(insecure.line),
        ));
    }
    let tls_configs: Vec<&TlsConfig> = found
        .iter()
        .copied()
        .filter(|c| c.is_literal || c.settings.iter().any(|s| s.field != "InsecureSkipVerify"))
        .collect();
    let Some(first) = tls_configs.first() else {
        return ExpectationResult::fail(
            KIND,
            format!(
                "no tls.Config literal or field assignment in {}",
                lines_phrase(range)
            ),
            None,
        )
        .into();
    };
    // A later `InsecureSkipVerify = true` on a cited value undoes every check.
    for config in &tls_configs {
        let later = later_settings(file, config, "InsecureSkipVerify");
        if let Some((l, s)) = later
            .into_iter()
            .find(|(_, s)| s.is_some_and(|s| s.value != "false"))
        {
            return Evidence::weakened(later_failure(
                l,
                config.lines.start(),
                s,
                "InsecureSkipVerify",
                "false",
            ));
        }
    }
    let mut evidence: Vec<String> = Vec::new();
    let mut matches: Vec<LineRange> = Vec::new();
    let mut cited: Vec<(LineNo, LineRange)> = Vec::new();
    for check in checks(spec) {
        let settings = settings_of(&tls_configs, check.field);
        let holding: Vec<&(&TlsConfig, &TlsSetting)> = settings
            .iter()
            .filter(|(_, s)| (check.holds)(&s.value))
            .collect();
        let acceptable = holding
            .iter()
            .find(|(_, s)| unmatched(&s.conditions, spec.when.as_ref()).is_none());
        let Some((config, ok)) = acceptable else {
            if let Some((_, conditional)) = holding.first() {
                return Evidence::weakened(only_when(conditional, &check, spec.when.as_ref()));
            }
            if let Some(result) = missing(&check, &settings, &tls_configs) {
                return Evidence::weakened(result);
            }
            evidence.push(format!(
                "{} defaults to {} at line {}",
                check.field,
                check.expected,
                first.lines.start()
            ));
            continue;
        };
        for (l, s) in later_settings(file, config, check.field) {
            if !(check.keeps)(s.map(|s| s.value.as_str())) {
                return Evidence::weakened(later_failure(
                    l,
                    ok.line,
                    s,
                    check.field,
                    &check.expected,
                ));
            }
        }
        let shown = if check.field == "ClientAuth" {
            check.expected.as_str()
        } else {
            ok.value.as_str()
        };
        evidence.push(format!("{} {shown} at line {}", check.field, ok.line));
        matches.push(LineRange::single(ok.line));
        cited.push((ok.line, config_lines(&tls_configs, ok.line)));
    }
    if evidence.is_empty() {
        evidence.push(format!("{} at line {}", first.target, first.lines.start()));
        matches.push(first.lines);
        cited.push((first.lines.start(), first.lines));
    }
    Evidence {
        result: ExpectationResult::pass(KIND, evidence.join(", "), matches),
        cited,
        in_place: InPlace::Absent,
    }
}

/// The lines of the configuration holding the setting on `line`.
fn config_lines(configs: &[&TlsConfig], line: LineNo) -> LineRange {
    configs
        .iter()
        .find(|c| c.settings.iter().any(|s| s.line == line))
        .map_or(LineRange::single(line), |c| c.lines)
}

/// One check per field the expectation names, in the order messages list them.
fn checks(spec: &TlsSpec) -> Vec<FieldCheck> {
    let mut out = Vec::new();
    if let Some(wanted) = spec.client_auth {
        out.push(FieldCheck {
            field: "ClientAuth",
            expected: format!("tls.{}", wanted.go_name()),
            holds: Box::new(move |v| client_auth_of(v) == Some(wanted)),
            keeps: Box::new(move |v| {
                let mode = v.map_or(Some(ClientAuth::NoClientCert), client_auth_of);
                mode.is_some_and(|m| at_least(m, wanted))
            }),
        });
    }
    if let Some(minimum) = spec.min_version {
        out.push(FieldCheck {
            field: "MinVersion",
            expected: format!("at least tls.{}", minimum.go_name()),
            holds: Box::new(move |v| version_of(v).is_some_and(|v| v >= minimum)),
            keeps: Box::new(move |v| v.and_then(version_of).is_some_and(|v| v >= minimum)),
        });
    }
    for hook in &spec.set {
        out.push(FieldCheck {
            field: hook.go_name(),
            expected: TlsHook::SET.to_string(),
            holds: Box::new(|v| v != "nil"),
            keeps: Box::new(|v| v.is_some_and(|v| v != "nil")),
        });
    }
    out
}

/// True when client-auth mode `mode` asks at least what `wanted` does: verifying a given
/// certificate or requiring one each ask more than requesting one, and requiring and verifying
/// asks most.
fn at_least(mode: ClientAuth, wanted: ClientAuth) -> bool {
    use ClientAuth::*;
    mode == wanted
        || matches!(
            (mode, wanted),
            (_, NoClientCert)
                | (
                    RequireAnyClientCert | VerifyClientCertIfGiven | RequireAndVerifyClientCert,
                    RequestClientCert
                )
                | (
                    RequireAndVerifyClientCert,
                    RequireAnyClientCert | VerifyClientCertIfGiven
                )
        )
}

/// Why no cited setting holds: one has another value, or none sets the field. `None` when the
/// field's default (`ClientAuth` of a literal: `tls.NoClientCert`) is what is expected.
fn missing(
    check: &FieldCheck,
    settings: &[(&TlsConfig, &TlsSetting)],
    configs: &[&TlsConfig],
) -> Option<ExpectationResult> {
    if let Some((_, other)) = settings.first() {
        let message = if check.expected == TlsHook::SET {
            format!(
                "line {}: {} is nil, expected it set",
                other.line, check.field
            )
        } else {
            format!(
                "line {}: {} is {}, expected {}",
                other.line, check.field, other.value, check.expected
            )
        };
        return Some(ExpectationResult::fail(KIND, message, Some(other.line)));
    }
    let first = configs.first()?;
    let line = first.lines.start();
    if check.field == "ClientAuth" {
        if configs.iter().any(|c| c.is_literal) && (check.holds)("tls.NoClientCert") {
            return None;
        }
        return Some(ExpectationResult::fail(
            KIND,
            format!(
                "line {line}: tls.Config does not set ClientAuth (defaults to tls.NoClientCert), expected {}",
                check.expected
            ),
            Some(line),
        ));
    }
    let expected = if check.expected == TlsHook::SET {
        "it set".to_string()
    } else {
        check.expected.clone()
    };
    Some(ExpectationResult::fail(
        KIND,
        format!(
            "line {line}: tls.Config does not set {}, expected {expected}",
            check.field
        ),
        Some(line),
    ))
}

/// Every cited setting of `field` with its configuration, the last one of each configuration.
fn settings_of<'c>(configs: &[&'c TlsConfig], field: &str) -> Vec<(&'c TlsConfig, &'c TlsSetting)> {
    configs
        .iter()
        .filter_map(|c| c.get(field).map(|s| (*c, s)))
        .collect()
}

/// A setting that would satisfy the expectation but applies only under a condition (that
/// `when` does not match, when there is one).
fn only_when(setting: &TlsSetting, check: &FieldCheck, when: Option<&Regex>) -> ExpectationResult {
    let value = if check.field == "MinVersion" {
        version_of(&setting.value).map_or(setting.value.clone(), |v| v.as_str().to_string())
    } else if check.expected == TlsHook::SET {
        setting.value.clone()
    } else {
        check.expected.clone()
    };
    let condition = unmatched(&setting.conditions, when);
    let phrase = condition.map_or("sometimes", |c| c.phrase.as_str());
    let unmatched_by = when
        .map(|w| format!(", which `when: {}` does not match", w.as_str()))
        .unwrap_or_default();
    ExpectationResult::fail(
        KIND,
        format!(
            "line {}: {} is set to {value} only {phrase}{unmatched_by}",
            setting.line, check.field
        ),
        Some(setting.line),
    )
}

/// Settings of `field` on the value `config` sets, made after it in its function on a path
/// that can follow it: assignments (`cfg.ClientAuth = ..`), and literals bound to the same name
/// (`cfg = &tls.Config{..}`), with their setting of the field if any. In source order.
fn later_settings<'f>(
    file: &'f GoFile,
    config: &TlsConfig,
    field: &str,
) -> Vec<(&'f TlsConfig, Option<&'f TlsSetting>)> {
    let Some(value) = config.value.as_deref() else {
        return Vec::new();
    };
    let candidates: Vec<&TlsConfig> = file
        .cached_tls()
        .iter()
        .filter(|c| c.bytes.0 >= config.bytes.1 && c.value.as_deref() == Some(value))
        .filter(|c| c.is_literal || c.get(field).is_some())
        .collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    let Some(earlier) = path_to(file, config.bytes) else {
        return Vec::new();
    };
    candidates
        .into_iter()
        .filter(|c| path_to(file, c.bytes).is_some_and(|later| runs_after(&earlier, &later)))
        .map(|c| (c, c.get(field)))
        .collect()
}

/// A later setting of `field` that undoes the one on line `cited`, with the condition it runs
/// under.
fn later_failure(
    later: &TlsConfig,
    cited: LineNo,
    setting: Option<&TlsSetting>,
    field: &str,
    expected: &str,
) -> ExpectationResult {
    let when = later
        .conditions
        .last()
        .map(|c| format!(" {}", c.phrase))
        .unwrap_or_default();
    let (line, what) = match setting {
        Some(s) => (s.line, format!("{field} is set to {}", s.value)),
        None => (
            later.lines.start(),
            format!(
                "{} is replaced by a tls.Config without {field}",
                later.value.as_deref().unwrap_or("the configuration")
            ),
        ),
    };
    ExpectationResult::fail(
        KIND,
        format!("line {line}: {what}{when}, after line {cited}; expected {expected}"),
        Some(line),
    )
}

fn client_auth_of(value: &str) -> Option<ClientAuth> {
    ClientAuth::parse(last_segment(value))
}

/// `tls.VersionTLS13`, `VersionTLS13` or the numeric `0x0304`.
fn version_of(value: &str) -> Option<TlsVersion> {
    if let Some(v) = TlsVersion::parse(last_segment(value)) {
        return Some(v);
    }
    let hex = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))?;
    TlsVersion::of_value(u16::from_str_radix(hex, 16).ok()?)
}

#[cfg(test)]
mod tests {
    use super::super::evaluate;
    use super::super::test_support::{all, go, line, lines};
    use crate::anchors::{ClientAuth, Expectation, TlsSpec, TlsVersion};

    fn tls(client_auth: Option<ClientAuth>, min_version: Option<TlsVersion>) -> Expectation {
        Expectation::Tls(TlsSpec {
            client_auth,
            min_version,
            set: Vec::new(),
            when: None,
        })
    }

    const STRICT: &str = "package a\nfunc f() *tls.Config {\n\treturn &tls.Config{\n\t\tClientAuth: tls.RequireAndVerifyClientCert,\n\t\tMinVersion: tls.VersionTLS13,\n\t}\n}\n";

    #[test]
    fn literal_with_required_client_auth_and_version_holds() {
        let file = go(STRICT);
        let spec = tls(
            Some(ClientAuth::RequireAndVerifyClientCert),
            Some(TlsVersion::Tls12),
        );
        let r = evaluate(&spec, &file, all(&file));
        assert!(r.ok, "{}", r.message);
        assert_eq!(
            r.message,
            "ClientAuth tls.RequireAndVerifyClientCert at line 4, MinVersion tls.VersionTLS13 at line 5"
        );
        assert_eq!(r.matches, vec![lines(4, 4), lines(5, 5)]);
    }

    #[test]
    fn client_auth_downgrade_is_named() {
        let file = go(&STRICT.replace("RequireAndVerifyClientCert", "VerifyClientCertIfGiven"));
        let r = evaluate(
            &tls(Some(ClientAuth::RequireAndVerifyClientCert), None),
            &file,
            all(&file),
        );
        assert!(!r.ok);
        assert_eq!(
            r.message,
            "line 4: ClientAuth is tls.VerifyClientCertIfGiven, expected tls.RequireAndVerifyClientCert"
        );
        assert_eq!(r.near_miss, Some(line(4)));
    }

    #[test]
    fn min_version_below_the_floor_fails() {
        let file = go(&STRICT.replace("VersionTLS13", "VersionTLS12"));
        let r = evaluate(&tls(None, Some(TlsVersion::Tls13)), &file, all(&file));
        assert_eq!(
            r.message,
            "line 5: MinVersion is tls.VersionTLS12, expected at least tls.VersionTLS13"
        );
    }

    #[test]
    fn insecure_skip_verify_always_fails() {
        let file = go(&STRICT.replace(
            "\t\tMinVersion",
            "\t\tInsecureSkipVerify: true,\n\t\tMinVersion",
        ));
        let r = evaluate(
            &tls(Some(ClientAuth::RequireAndVerifyClientCert), None),
            &file,
            all(&file),
        );
        assert_eq!(r.message, "line 5 sets InsecureSkipVerify: true");
        let assigned = go(
            "package a\nfunc f(c *tls.Config) {\n\tc.ClientAuth = tls.RequireAndVerifyClientCert\n\tc.InsecureSkipVerify = true\n}\n",
        );
        let r = evaluate(
            &tls(Some(ClientAuth::RequireAndVerifyClientCert), None),
            &assigned,
            all(&assigned),
        );
        assert_eq!(r.message, "line 4 sets InsecureSkipVerify: true");
    }

    #[test]
    fn field_assignments_count() {
        let file = go(
            "package a\nfunc f() {\n\tcfg := &tls.Config{}\n\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n\tcfg.MinVersion = tls.VersionTLS13\n}\n",
        );
        let spec = tls(
            Some(ClientAuth::RequireAndVerifyClientCert),
            Some(TlsVersion::Tls13),
        );
        assert!(evaluate(&spec, &file, all(&file)).ok);
    }

    #[test]
    fn unset_client_auth_defaults_to_no_client_cert() {
        let file = go("package a\nvar c = tls.Config{MinVersion: tls.VersionTLS12}\n");
        let r = evaluate(
            &tls(Some(ClientAuth::RequireAndVerifyClientCert), None),
            &file,
            all(&file),
        );
        assert!(
            r.message.contains("does not set ClientAuth"),
            "{}",
            r.message
        );
        assert!(
            evaluate(
                &tls(Some(ClientAuth::NoClientCert), None),
                &file,
                all(&file)
            )
            .ok
        );
    }

    #[test]
    fn one_field_line_cites_the_whole_literal() {
        // Issue 12: citing `MinVersion: tls.VersionTLS12,` alone drifted to the whole function.
        let file = go(STRICT);
        let spec = tls(
            Some(ClientAuth::RequireAndVerifyClientCert),
            Some(TlsVersion::Tls13),
        );
        let r = evaluate(&spec, &file, lines(5, 5));
        assert!(r.ok, "{}", r.message);
        assert_eq!(r.matches, vec![lines(4, 4), lines(5, 5)]);
        assert!(
            evaluate(&spec, &file, lines(3, 3)).ok,
            "the literal's first line"
        );
        assert!(
            !evaluate(&spec, &file, lines(6, 7)).ok,
            "only its closing brace"
        );
    }

    #[test]
    fn a_setting_under_a_condition_does_not_hold_on_every_path() {
        // Issue 12: a false pass on a floor raised only for Encrypted Client Hello.
        let src = "package a\nfunc f(cfg *tls.Config) {\n\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n\tif cfg.EncryptedClientHelloKeys != nil {\n\t\tcfg.MinVersion = tls.VersionTLS13\n\t}\n}\n";
        let file = go(src);
        let r = evaluate(&tls(None, Some(TlsVersion::Tls13)), &file, all(&file));
        assert!(!r.ok);
        assert_eq!(
            r.message,
            "line 5: MinVersion is set to 1.3 only when cfg.EncryptedClientHelloKeys != nil"
        );
        assert_eq!(r.near_miss, Some(line(5)));
        let unconditional = go(&src.replace(
            "\tif cfg.EncryptedClientHelloKeys != nil {\n\t\tcfg.MinVersion = tls.VersionTLS13\n\t}\n",
            "\tcfg.MinVersion = tls.VersionTLS13\n",
        ));
        assert!(
            evaluate(
                &tls(None, Some(TlsVersion::Tls13)),
                &unconditional,
                all(&unconditional)
            )
            .ok
        );
        let in_switch = go(
            "package a\nfunc f(cfg *tls.Config, mode string) {\n\tswitch mode {\n\tcase \"strict\":\n\t\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n\t}\n}\n",
        );
        let r = evaluate(
            &tls(Some(ClientAuth::RequireAndVerifyClientCert), None),
            &in_switch,
            all(&in_switch),
        );
        assert_eq!(
            r.message,
            "line 5: ClientAuth is set to tls.RequireAndVerifyClientCert only in case \"strict\" of the switch at line 3"
        );
    }

    #[test]
    fn insecure_skip_verify_under_a_condition_still_fails() {
        let file = go(
            "package a\nfunc f() *tls.Config {\n\tcfg := &tls.Config{MinVersion: tls.VersionTLS13}\n\tif debug {\n\t\tcfg.InsecureSkipVerify = true\n\t}\n\treturn cfg\n}\n",
        );
        let r = evaluate(&tls(None, Some(TlsVersion::Tls12)), &file, all(&file));
        assert_eq!(
            r.message,
            "line 5 sets InsecureSkipVerify: true (when debug)"
        );
    }

    fn spec(yaml: &str) -> Expectation {
        crate::anchors::parse_expectation(yaml).unwrap()
    }

    const ASSIGNED: &str = "package a\nfunc f(region string) *tls.Config {\n\tcfg := &tls.Config{MinVersion: tls.VersionTLS12}\n\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n\tcfg.VerifyPeerCertificate = validator(region)\n\treturn cfg\n}\n";

    /// ASSIGNED with `lines` inserted before `return cfg`.
    fn with_later(lines: &str) -> String {
        ASSIGNED.replace("\treturn cfg\n", &format!("{lines}\treturn cfg\n"))
    }

    #[test]
    fn a_later_conditional_override_breaks_the_cited_setting() {
        // Issue 21 item 5.
        let file = go(&with_later(
            "\tif os.Getenv(\"X\") != \"\" {\n\t\tcfg.ClientAuth = tls.NoClientCert\n\t}\n",
        ));
        let r = evaluate(
            &tls(Some(ClientAuth::RequireAndVerifyClientCert), None),
            &file,
            lines(4, 4),
        );
        assert!(!r.ok);
        assert_eq!(
            r.message,
            "line 7: ClientAuth is set to tls.NoClientCert when os.Getenv(\"X\") != \"\", after line 4; expected tls.RequireAndVerifyClientCert"
        );
        assert_eq!(r.near_miss, Some(line(7)));
    }

    #[test]
    fn later_weakenings_of_each_kind_are_named() {
        for (later, expect, says) in [
            (
                "\tcfg.MinVersion = tls.VersionTLS10\n",
                "tls: { min_version: \"1.2\" }",
                "MinVersion is set to tls.VersionTLS10, after line 3",
            ),
            (
                "\tcfg.MinVersion = c.MinVersion\n",
                "tls: { min_version: \"1.2\" }",
                "MinVersion is set to c.MinVersion",
            ),
            (
                "\tif debug {\n\t\tcfg.InsecureSkipVerify = true\n\t}\n",
                "tls: { client_auth: require_and_verify }",
                "InsecureSkipVerify is set to true when debug",
            ),
            (
                "\tcfg.VerifyPeerCertificate = nil\n",
                "tls: { verify_peer_certificate: set }",
                "VerifyPeerCertificate is set to nil, after line 5",
            ),
            (
                "\tcfg = &tls.Config{MinVersion: tls.VersionTLS13}\n",
                "tls: { client_auth: require_and_verify }",
                "cfg is replaced by a tls.Config without ClientAuth",
            ),
        ] {
            let file = go(&with_later(later));
            let r = evaluate(&spec(expect), &file, lines(3, 5));
            assert!(!r.ok, "{later}");
            assert!(r.message.contains(says), "{later}: {}", r.message);
        }
    }

    #[test]
    fn later_assignments_that_keep_or_strengthen_it_do_not_break() {
        for later in [
            "\tcfg.MinVersion = tls.VersionTLS13\n",
            "\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n",
            "\tcfg.VerifyPeerCertificate = other(region)\n",
            "\tother.ClientAuth = tls.NoClientCert\n",
            "\tcfg.InsecureSkipVerify = false\n",
        ] {
            let file = go(&with_later(later));
            let r = evaluate(
                &spec(
                    "tls: { client_auth: require_and_verify, min_version: \"1.2\", verify_peer_certificate: set }",
                ),
                &file,
                lines(3, 5),
            );
            assert!(r.ok, "{later}: {}", r.message);
        }
        let verify_if_given =
            go(&ASSIGNED.replace("RequireAndVerifyClientCert", "VerifyClientCertIfGiven"));
        let stronger = go(
            &with_later("\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n").replacen(
                "RequireAndVerifyClientCert",
                "VerifyClientCertIfGiven",
                1,
            ),
        );
        assert!(
            evaluate(
                &spec("tls: { client_auth: verify_if_given }"),
                &verify_if_given,
                lines(4, 4)
            )
            .ok
        );
        assert!(
            evaluate(
                &spec("tls: { client_auth: verify_if_given }"),
                &stronger,
                lines(4, 4)
            )
            .ok
        );
    }

    #[test]
    fn assignments_in_other_branches_or_after_a_return_do_not_follow_the_cited_one() {
        let src = "package a\nfunc f(c Settings, cfg *tls.Config) {\n\tswitch c.ClientAuth {\n\tcase \"RequireAndVerifyClientCert\":\n\t\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n\tdefault:\n\t\tcfg.ClientAuth = tls.NoClientCert\n\t}\n}\nfunc g(strict bool, cfg *tls.Config) {\n\tif strict {\n\t\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n\t\treturn\n\t}\n\tcfg.ClientAuth = tls.VerifyClientCertIfGiven\n}\n";
        let file = go(src);
        let r = evaluate(
            &spec("tls: { client_auth: require_and_verify, when: RequireAndVerifyClientCert }"),
            &file,
            lines(3, 8),
        );
        assert!(r.ok, "{}", r.message);
        assert_eq!(
            r.message,
            "ClientAuth tls.RequireAndVerifyClientCert at line 5"
        );
        let r = evaluate(
            &spec("tls: { client_auth: require_and_verify, when: ^strict$ }"),
            &file,
            lines(11, 14),
        );
        assert!(r.ok, "{}", r.message);
    }

    #[test]
    fn when_accepts_the_conditions_it_matches_and_names_one_it_does_not() {
        let src = "package a\nfunc f(info Info, pool *x509.CertPool) *tls.Config {\n\tcfg := &tls.Config{}\n\tcfg.ClientAuth = tls.NoClientCert\n\tif info.TrustedCAFile != \"\" {\n\t\tcfg.ClientCAs = pool\n\t\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n\t}\n\treturn cfg\n}\n";
        let file = go(src);
        let holds =
            spec("tls: { client_auth: require_and_verify, client_cas: set, when: TrustedCAFile }");
        let r = evaluate(&holds, &file, lines(4, 7));
        assert!(r.ok, "{}", r.message);
        assert_eq!(
            r.message,
            "ClientAuth tls.RequireAndVerifyClientCert at line 7, ClientCAs pool at line 6"
        );
        let without = evaluate(
            &spec("tls: { client_auth: require_and_verify }"),
            &file,
            lines(4, 7),
        );
        assert_eq!(
            without.message,
            "line 7: ClientAuth is set to tls.RequireAndVerifyClientCert only when info.TrustedCAFile != \"\""
        );
        let wrapped = go(&src.replace(
            "\t\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n",
            "\t\tif os.Getenv(\"X\") == \"\" {\n\t\t\tcfg.ClientAuth = tls.RequireAndVerifyClientCert\n\t\t}\n",
        ));
        let r = evaluate(&holds, &wrapped, lines(4, 9));
        assert_eq!(
            r.message,
            "line 8: ClientAuth is set to tls.RequireAndVerifyClientCert only when os.Getenv(\"X\") == \"\", which `when: TrustedCAFile` does not match"
        );
    }

    #[test]
    fn set_fields_must_not_be_nil_or_unset() {
        let literal = go(
            "package a\nfunc f(base *tls.Config) *tls.Config {\n\treturn &tls.Config{\n\t\tVerifyConnection: check,\n\t\tGetConfigForClient: nil,\n\t}\n}\n",
        );
        assert!(
            evaluate(
                &spec("tls: { verify_connection: set }"),
                &literal,
                lines(3, 6)
            )
            .ok
        );
        let r = evaluate(
            &spec("tls: { get_config_for_client: set }"),
            &literal,
            lines(3, 6),
        );
        assert_eq!(
            r.message,
            "line 5: GetConfigForClient is nil, expected it set"
        );
        let r = evaluate(&spec("tls: { client_cas: set }"), &literal, lines(3, 6));
        assert_eq!(
            r.message,
            "line 3: tls.Config does not set ClientCAs, expected it set"
        );
    }

    #[test]
    fn a_serve_call_checked_in_an_if_is_no_condition_on_the_settings_before_it() {
        let src = "package a\nfunc serve(srv *http.Server) {\n\tsrv.TLSConfig = &tls.Config{\n\t\tClientAuth: tls.RequireAndVerifyClientCert,\n\t}\n\tif err := srv.ListenAndServeTLS(\"\", \"\"); err != nil {\n\t\tlog.Fatal(err)\n\t}\n}\n";
        let file = go(src);
        let r = evaluate(
            &spec("tls: { client_auth: require_and_verify }"),
            &file,
            lines(3, 5),
        );
        assert!(r.ok, "{}", r.message);
        assert!(evaluate(&spec("call: ListenAndServeTLS"), &file, lines(6, 8)).ok);
    }

    #[test]
    fn a_literal_takes_the_conditions_around_it() {
        let src = "package a\nfunc serve(srv *http.Server, mtls bool) {\n\tif mtls {\n\t\tsrv.TLSConfig = &tls.Config{\n\t\t\tClientAuth: tls.RequireAndVerifyClientCert,\n\t\t}\n\t}\n}\n";
        let file = go(src);
        let r = evaluate(
            &spec("tls: { client_auth: require_and_verify }"),
            &file,
            lines(5, 5),
        );
        assert_eq!(
            r.message,
            "line 5: ClientAuth is set to tls.RequireAndVerifyClientCert only when mtls"
        );
        let r = evaluate(
            &spec("tls: { client_auth: require_and_verify, when: ^mtls$ }"),
            &file,
            lines(5, 5),
        );
        assert!(r.ok, "{}", r.message);
    }
}
