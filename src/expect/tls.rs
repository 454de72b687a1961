//! `tls`: a TLS configuration requiring the named client-auth mode and minimum version, and
//! never `InsecureSkipVerify: true`.

use super::{ExpectationResult, lines_phrase};
use crate::anchors::{ClientAuth, TlsSpec, TlsVersion};
use crate::go::GoFile;
use crate::go::calls::last_segment;
use crate::go::tls::{TlsConfig, TlsSetting, configs};
use crate::lines::{LineNo, LineRange};

const KIND: &str = "tls";

pub(super) fn evaluate(spec: &TlsSpec, file: &GoFile, range: LineRange) -> ExpectationResult {
    let found = configs(file, range);
    if let Some(insecure) = found
        .iter()
        .flat_map(|c| &c.settings)
        .find(|s| s.field == "InsecureSkipVerify" && s.value != "false")
    {
        return ExpectationResult::fail(
            KIND,
            format!(
                "line {} sets InsecureSkipVerify: {}",
                insecure.line, insecure.value
            ),
            Some(insecure.line),
        );
    }
    let tls_configs: Vec<&TlsConfig> = found
        .iter()
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
        );
    };
    let mut evidence: Vec<String> = Vec::new();
    let mut matches: Vec<LineRange> = Vec::new();
    if let Some(wanted) = spec.client_auth {
        let expected = format!("tls.{}", wanted.go_name());
        let settings: Vec<&TlsSetting> = tls_configs
            .iter()
            .filter_map(|c| c.get("ClientAuth"))
            .collect();
        if let Some(ok) = settings
            .iter()
            .find(|s| client_auth_of(&s.value) == Some(wanted))
        {
            evidence.push(format!("ClientAuth {expected} at line {}", ok.line));
            matches.push(LineRange::single(ok.line));
        } else if let Some(other) = settings.first() {
            return ExpectationResult::fail(
                KIND,
                format!(
                    "line {}: ClientAuth is {}, expected {expected}",
                    other.line, other.value
                ),
                Some(other.line),
            );
        } else if wanted == ClientAuth::NoClientCert && tls_configs.iter().any(|c| c.is_literal) {
            evidence.push(format!(
                "ClientAuth defaults to {expected} at line {}",
                first.lines.start()
            ));
        } else {
            return ExpectationResult::fail(
                KIND,
                format!(
                    "line {}: tls.Config does not set ClientAuth (defaults to tls.NoClientCert), expected {expected}",
                    first.lines.start()
                ),
                Some(first.lines.start()),
            );
        }
    }
    if let Some(minimum) = spec.min_version {
        let expected = format!("tls.{}", minimum.go_name());
        let settings: Vec<&TlsSetting> = tls_configs
            .iter()
            .filter_map(|c| c.get("MinVersion"))
            .collect();
        if let Some(ok) = settings
            .iter()
            .find(|s| version_of(&s.value).is_some_and(|v| v >= minimum))
        {
            evidence.push(format!("MinVersion {} at line {}", ok.value, ok.line));
            matches.push(LineRange::single(ok.line));
        } else if let Some(low) = settings.first() {
            return ExpectationResult::fail(
                KIND,
                format!(
                    "line {}: MinVersion is {}, expected at least {expected}",
                    low.line, low.value
                ),
                Some(low.line),
            );
        } else {
            let line: LineNo = first.lines.start();
            return ExpectationResult::fail(
                KIND,
                format!(
                    "line {line}: tls.Config does not set MinVersion, expected at least {expected}"
                ),
                Some(line),
            );
        }
    }
    if evidence.is_empty() {
        evidence.push(format!("{} at line {}", first.target, first.lines.start()));
        matches.push(first.lines);
    }
    ExpectationResult::pass(KIND, evidence.join(", "), matches)
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
    fn config_outside_the_range_does_not_count() {
        let file = go(STRICT);
        let r = evaluate(
            &tls(Some(ClientAuth::RequireAndVerifyClientCert), None),
            &file,
            lines(3, 5),
        );
        assert!(!r.ok, "the literal ends on line 6");
    }
}
