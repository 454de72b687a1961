//! `tls`: a TLS configuration requiring the named client-auth mode and minimum version, and
//! never `InsecureSkipVerify: true`.

use super::{Evidence, ExpectationResult, InPlace, lines_phrase};
use crate::anchors::{ClientAuth, ExpectationKind, TlsSpec, TlsVersion};
use crate::go::GoFile;
use crate::go::calls::last_segment;
use crate::go::tls::{TlsConfig, TlsSetting, configs};
use crate::lines::{LineNo, LineRange};

const KIND: &str = ExpectationKind::Tls.name();

pub(super) fn evaluate(spec: &TlsSpec, file: &GoFile, range: LineRange) -> Evidence {
    let found = configs(file, range);
    if let Some(insecure) = found
        .iter()
        .flat_map(|c| &c.settings)
        .find(|s| s.field == "InsecureSkipVerify" && s.value != "false")
    {
        let only = insecure
            .only
            .as_deref()
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
                "no tls.Config literal or ClientAuth/MinVersion assignment in {}",
                lines_phrase(range)
            ),
            None,
        )
        .into();
    };
    let mut evidence: Vec<String> = Vec::new();
    let mut matches: Vec<LineRange> = Vec::new();
    let mut cited: Vec<(LineNo, LineRange)> = Vec::new();
    let setting_of = |line: LineNo| {
        tls_configs
            .iter()
            .find(|c| c.settings.iter().any(|s| s.line == line))
            .map_or(LineRange::single(line), |c| c.lines)
    };
    if let Some(wanted) = spec.client_auth {
        let expected = format!("tls.{}", wanted.go_name());
        let settings = settings_of(&tls_configs, "ClientAuth");
        let holds = |s: &&TlsSetting| client_auth_of(&s.value) == Some(wanted);
        if let Some(ok) = settings.iter().find(|s| s.only.is_none() && holds(s)) {
            evidence.push(format!("ClientAuth {expected} at line {}", ok.line));
            matches.push(LineRange::single(ok.line));
            cited.push((ok.line, setting_of(ok.line)));
        } else if let Some(conditional) = settings.iter().find(|s| holds(s)) {
            return Evidence::weakened(only_when(conditional, "ClientAuth", &expected));
        } else if let Some(other) = settings.first() {
            return Evidence::weakened(ExpectationResult::fail(
                KIND,
                format!(
                    "line {}: ClientAuth is {}, expected {expected}",
                    other.line, other.value
                ),
                Some(other.line),
            ));
        } else if wanted == ClientAuth::NoClientCert && tls_configs.iter().any(|c| c.is_literal) {
            evidence.push(format!(
                "ClientAuth defaults to {expected} at line {}",
                first.lines.start()
            ));
        } else {
            return Evidence::weakened(ExpectationResult::fail(
                KIND,
                format!(
                    "line {}: tls.Config does not set ClientAuth (defaults to tls.NoClientCert), expected {expected}",
                    first.lines.start()
                ),
                Some(first.lines.start()),
            ));
        }
    }
    if let Some(minimum) = spec.min_version {
        let expected = format!("tls.{}", minimum.go_name());
        let settings = settings_of(&tls_configs, "MinVersion");
        let holds = |s: &&TlsSetting| version_of(&s.value).is_some_and(|v| v >= minimum);
        if let Some(ok) = settings.iter().find(|s| s.only.is_none() && holds(s)) {
            evidence.push(format!("MinVersion {} at line {}", ok.value, ok.line));
            matches.push(LineRange::single(ok.line));
            cited.push((ok.line, setting_of(ok.line)));
        } else if let Some(conditional) = settings.iter().find(|s| holds(s)) {
            let value =
                version_of(&conditional.value).map_or(conditional.value.as_str(), |v| v.as_str());
            return Evidence::weakened(only_when(conditional, "MinVersion", value));
        } else if let Some(low) = settings.first() {
            return Evidence::weakened(ExpectationResult::fail(
                KIND,
                format!(
                    "line {}: MinVersion is {}, expected at least {expected}",
                    low.line, low.value
                ),
                Some(low.line),
            ));
        } else {
            let line: LineNo = first.lines.start();
            return Evidence::weakened(ExpectationResult::fail(
                KIND,
                format!(
                    "line {line}: tls.Config does not set MinVersion, expected at least {expected}"
                ),
                Some(line),
            ));
        }
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

/// Every cited setting of `field`, the last one of each configuration.
fn settings_of<'c>(configs: &[&'c TlsConfig], field: &str) -> Vec<&'c TlsSetting> {
    configs.iter().filter_map(|c| c.get(field)).collect()
}

/// A setting that would satisfy the expectation but applies only under a condition.
fn only_when(setting: &TlsSetting, field: &str, value: &str) -> ExpectationResult {
    ExpectationResult::fail(
        KIND,
        format!(
            "line {}: {field} is set to {value} only {}",
            setting.line,
            setting.only.as_deref().unwrap_or("sometimes")
        ),
        Some(setting.line),
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
    match u16::from_str_radix(hex, 16).ok()? {
        0x0301 => Some(TlsVersion::Tls10),
        0x0302 => Some(TlsVersion::Tls11),
        0x0303 => Some(TlsVersion::Tls12),
        0x0304 => Some(TlsVersion::Tls13),
        _ => None,
    }
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
}
