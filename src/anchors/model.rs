//! The validated anchors.yaml model: what the rest of the pipeline sees.

use std::path::PathBuf;
use std::sync::Arc;

pub use super::date::Date;
use crate::go::GoQuery;
use crate::lines::LineRange;

/// A byte span in the anchors file, kept so `fix` can splice a new value in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSpan {
    pub start: usize,
    pub end: usize,
}

/// A position in the anchors file, for messages (1-based line and column).
pub use crate::lines::Position;

/// A value together with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub position: Position,
    /// The exact bytes of the scalar in the file, when it is a scalar.
    pub span: Option<ByteSpan>,
}

/// A whole, valid anchors.yaml.
#[derive(Clone, Debug)]
pub struct AnchorsFile {
    /// The file it was read from.
    pub path: PathBuf,
    /// The repository, relative to the anchors file's directory.
    pub repo: Option<String>,
    /// The revision to verify (with its bytes, for `fix` to rewrite a pinned one).
    pub rev: Option<Located<String>>,
    pub docs: Vec<Located<String>>,
    pub claims: Vec<Claim>,
    /// Accepted failures, each until its expiry (`waivers:`).
    pub waivers: Vec<Waiver>,
    /// How far ahead a waiver may expire, in days (`max_waiver_days:`, default 90).
    pub max_waiver_days: Located<u32>,
}

/// The default of `max_waiver_days`.
pub const DEFAULT_MAX_WAIVER_DAYS: u32 = 90;

/// Whether a failing claim fails the run (`gate:`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[strum(serialize_all = "lowercase")]
pub enum Gate {
    /// It does (the default).
    #[default]
    Block,
    /// It is reported as a warning and the run still passes (an `error` still fails it).
    Warn,
}

impl Gate {
    /// The anchors.yaml word.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// `approved: {at, by, on, fingerprint}`: a person read the cited code against the claim at
/// commit `at`, when its code fingerprinted as `fingerprint`.
#[derive(Clone, Debug)]
pub struct Approval {
    /// A full commit id.
    pub at: Located<String>,
    pub by: Located<String>,
    pub on: Located<Date>,
    /// Lower-case hex SHA-256 of the claim's cited code as tokens (see
    /// `verify::review::fingerprint`).
    pub fingerprint: Located<String>,
    /// Where the `approved` mapping starts.
    pub position: Position,
}

/// One entry of `waivers:`: a failing claim (or one of its refs) accepted until `expires`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    pub claim: String,
    /// 1-based ref of the claim; `None` waives the whole claim.
    pub r#ref: Option<usize>,
    pub reason: String,
    /// The last day it applies (inclusive).
    pub expires: Date,
    pub owner: String,
    /// Where the entry starts, and where its `expires` is.
    pub position: Position,
    pub expires_position: Position,
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[strum(serialize_all = "lowercase")]
pub enum ClaimStatus {
    Required,
    Implemented,
    Partial,
    Planned,
    Retired,
}

impl ClaimStatus {
    /// The anchors.yaml word.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Statuses that assert something exists in code and so need evidence.
    pub fn needs_evidence(self) -> bool {
        matches!(
            self,
            ClaimStatus::Required | ClaimStatus::Implemented | ClaimStatus::Partial
        )
    }
}

#[derive(Clone, Debug)]
pub struct Claim {
    pub id: Located<String>,
    pub title: Option<String>,
    pub status: ClaimStatus,
    pub owner: Option<String>,
    pub refs: Vec<Ref>,
    pub gate: Gate,
    pub approved: Option<Approval>,
    /// Where the claim's mapping starts.
    pub position: Position,
}

/// One citation: a path and line range and what must hold there.
#[derive(Clone, Debug)]
pub struct Ref {
    /// Repo-relative, forward slashes, no `..`.
    pub path: Located<String>,
    pub lines: Located<LineRange>,
    /// Commit where these lines were last confirmed.
    pub at: Option<Located<String>>,
    pub symbol: Option<Located<String>>,
    pub expect: Vec<Expectation>,
    /// Where the ref's mapping starts (for inserting `at:` later).
    pub position: Position,
}

/// What the cited lines must contain (the README's expectation table).
#[derive(Clone, Debug)]
pub enum Expectation {
    Call(CallPattern),
    Routes(RoutesSpec),
    FailClosed(FailClosedSpec),
    Tls(TlsSpec),
    /// A string literal whose value is exactly this.
    String(String),
    /// An identifier or field name used in code.
    Identifier(String),
    Query(QuerySpec),
    /// The range's text with comments removed contains this.
    Text(String),
    /// The range's text with comments removed matches this.
    Regex(regex::Regex),
    Not(Box<Expectation>),
    Any(Vec<Expectation>),
    All(Vec<Expectation>),
}

impl Expectation {
    /// What kind of expectation this is.
    pub fn kind_of(&self) -> ExpectationKind {
        match self {
            Expectation::Call(_) => ExpectationKind::Call,
            Expectation::Routes(_) => ExpectationKind::Routes,
            Expectation::FailClosed(_) => ExpectationKind::FailClosed,
            Expectation::Tls(_) => ExpectationKind::Tls,
            Expectation::String(_) => ExpectationKind::String,
            Expectation::Identifier(_) => ExpectationKind::Identifier,
            Expectation::Query(_) => ExpectationKind::Query,
            Expectation::Text(_) => ExpectationKind::Text,
            Expectation::Regex(_) => ExpectationKind::Regex,
            Expectation::Not(_) => ExpectationKind::Not,
            Expectation::Any(_) => ExpectationKind::Any,
            Expectation::All(_) => ExpectationKind::All,
        }
    }

    /// The anchors.yaml key of this kind.
    pub fn kind(&self) -> &'static str {
        self.kind_of().name()
    }

    /// Every kind's anchors.yaml key, in [`ExpectationKind::ALL`]'s order.
    pub const KINDS: &'static [&'static str] = <ExpectationKind as strum::VariantNames>::VARIANTS;
}

/// The kinds of expectation, each named here once: anchors.yaml's keys (derived, snake_case),
/// the validator's dispatch and the kind every evaluator reports all come from this enum.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum ExpectationKind {
    Call,
    Routes,
    FailClosed,
    Tls,
    String,
    Identifier,
    Query,
    Text,
    Regex,
    Not,
    Any,
    All,
}

impl ExpectationKind {
    /// Every kind, in the order the README lists them (and "did you mean" offers them).
    pub const ALL: &'static [ExpectationKind] = <ExpectationKind as strum::VariantArray>::VARIANTS;

    /// The anchors.yaml key.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The kind an anchors.yaml key names.
    pub fn from_name(name: &str) -> Option<ExpectationKind> {
        name.parse().ok()
    }
}

/// `call: NAME` or `call: {name, args}`.
#[derive(Clone)]
pub struct CallPattern {
    /// Full callee text (`mux.HandleFunc`), last segment (`HandleFunc`) or a glob (`log.Fatal*`).
    pub name: String,
    /// Compiled when `name` holds glob metacharacters.
    pub glob: Option<globset::GlobMatcher>,
    /// Positional argument constraints; `None` means any arguments.
    pub args: Option<Vec<ArgPattern>>,
    /// The conditions the call may run under: every `if` condition or `switch` case around
    /// it in its function must match. `None`: it must run whenever its function does.
    pub when: Option<regex::Regex>,
}

/// Shows what was written: the glob is compiled from `name`, and its matcher's internals are
/// neither readable nor the same from one process to the next (the result cache keys refs by
/// this text).
impl std::fmt::Debug for CallPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallPattern")
            .field("name", &self.name)
            .field("args", &self.args)
            .field("when", &self.when.as_ref().map(regex::Regex::as_str))
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgPattern {
    /// `_`: any argument.
    Any,
    /// The argument's source text, or the value of a string literal argument, equals this.
    Literal(String),
}

/// `routes: {paths, on?, methods?, exactly?}`.
#[derive(Clone, Debug)]
pub struct RoutesSpec {
    pub paths: Vec<String>,
    /// The router the routes must be registered on (full receiver text or last selector segment).
    pub on: Option<String>,
    /// Upper-case HTTP methods each path must be registered for (any method when empty).
    pub methods: Vec<String>,
    /// No other path on that router in the range.
    pub exactly: bool,
    /// The conditions a registration may run under: every `if` condition or `switch` case
    /// around it in its function must match. `None`: it must run whenever its function does.
    pub when: Option<regex::Regex>,
}

/// `fail_closed: {when, sinks?}`.
#[derive(Clone, Debug)]
pub struct FailClosedSpec {
    /// Matched against identifiers and selectors in the `if` condition.
    pub when: regex::Regex,
    /// Project helpers that never return (`fatal`, `s.die`), named as `call` names them: a
    /// branch calling one cannot fall through.
    pub sinks: Vec<String>,
}

/// `tls: {client_auth?, min_version?, verify_peer_certificate?, verify_connection?,
/// client_cas?, get_config_for_client?, when?}`.
#[derive(Clone, Debug)]
pub struct TlsSpec {
    pub client_auth: Option<ClientAuth>,
    pub min_version: Option<TlsVersion>,
    /// Fields that must be set to something other than `nil` (`verify_peer_certificate: set`).
    pub set: Vec<TlsHook>,
    /// The conditions the settings may apply under: every `if` condition or `switch` case
    /// around them in their function must match. `None`: they must apply on every path.
    pub when: Option<regex::Regex>,
}

/// `tls.Config` fields a `tls` expectation can require to be set (to anything but `nil`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantArray)]
pub enum TlsHook {
    VerifyPeerCertificate,
    VerifyConnection,
    ClientCas,
    GetConfigForClient,
}

impl TlsHook {
    pub const ALL: &'static [TlsHook] = <TlsHook as strum::VariantArray>::VARIANTS;

    /// The only value these keys take.
    pub const SET: &'static str = "set";

    /// The one table: anchors.yaml key, Go field name.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            TlsHook::VerifyPeerCertificate => ("verify_peer_certificate", "VerifyPeerCertificate"),
            TlsHook::VerifyConnection => ("verify_connection", "VerifyConnection"),
            TlsHook::ClientCas => ("client_cas", "ClientCAs"),
            TlsHook::GetConfigForClient => ("get_config_for_client", "GetConfigForClient"),
        }
    }

    /// The anchors.yaml key.
    pub fn key(self) -> &'static str {
        self.names().0
    }

    /// The Go field name.
    pub fn go_name(self) -> &'static str {
        self.names().1
    }
}

/// Go's `tls.ClientAuthType` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantArray)]
pub enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    pub const ALL: &'static [ClientAuth] = <ClientAuth as strum::VariantArray>::VARIANTS;

    /// The one table: anchors.yaml spelling, Go constant name.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            ClientAuth::NoClientCert => ("no_client_cert", "NoClientCert"),
            ClientAuth::RequestClientCert => ("request", "RequestClientCert"),
            ClientAuth::RequireAnyClientCert => ("require_any", "RequireAnyClientCert"),
            ClientAuth::VerifyClientCertIfGiven => ("verify_if_given", "VerifyClientCertIfGiven"),
            ClientAuth::RequireAndVerifyClientCert => {
                ("require_and_verify", "RequireAndVerifyClientCert")
            }
        }
    }

    /// The anchors.yaml spelling, e.g. `require_and_verify`.
    pub fn key(self) -> &'static str {
        self.names().0
    }

    /// The Go constant name, e.g. `RequireAndVerifyClientCert`.
    pub fn go_name(self) -> &'static str {
        self.names().1
    }

    /// Reads an anchors.yaml spelling or a Go constant name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| {
            let (yaml, go) = c.names();
            yaml == text || go == text || format!("tls.{go}") == text
        })
    }
}

/// A TLS protocol version, ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, strum::VariantArray)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub const ALL: &'static [TlsVersion] = <TlsVersion as strum::VariantArray>::VARIANTS;

    /// The one table: anchors.yaml word, Go constant name, Go value.
    fn names(self) -> (&'static str, &'static str, u16) {
        match self {
            TlsVersion::Tls10 => ("1.0", "VersionTLS10", 0x0301),
            TlsVersion::Tls11 => ("1.1", "VersionTLS11", 0x0302),
            TlsVersion::Tls12 => ("1.2", "VersionTLS12", 0x0303),
            TlsVersion::Tls13 => ("1.3", "VersionTLS13", 0x0304),
        }
    }

    /// Reads an anchors.yaml word or a Go constant name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| {
            let (yaml, go, _) = v.names();
            yaml == text || go == text || format!("tls.{go}") == text
        })
    }

    /// The version whose Go value (`tls.VersionTLS13` is `0x0304`) is `value`.
    pub fn of_value(value: u16) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.names().2 == value)
    }

    pub fn go_name(self) -> &'static str {
        self.names().1
    }

    /// The anchors.yaml word, e.g. `1.3`.
    pub fn as_str(self) -> &'static str {
        self.names().0
    }
}

/// `query: TS-QUERY` or `query: {pattern, min?, max?}`: at least `min` (default 1) and at most
/// `max` matches lie inside the range.
#[derive(Clone, Debug)]
pub struct QuerySpec {
    pub query: Arc<GoQuery>,
    pub min: usize,
    pub max: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each TLS table is written once: every spelling of a value reads back as that value, and
    /// the versions' Go values run in order from TLS 1.0's 0x0301.
    #[test]
    fn every_tls_spelling_reads_back_as_its_value() {
        for &mode in ClientAuth::ALL {
            for text in [
                mode.key(),
                mode.go_name(),
                &format!("tls.{}", mode.go_name()),
            ] {
                assert_eq!(ClientAuth::parse(text), Some(mode), "{text}");
            }
        }
        for (i, &version) in TlsVersion::ALL.iter().enumerate() {
            for text in [
                version.as_str(),
                version.go_name(),
                &format!("tls.{}", version.go_name()),
            ] {
                assert_eq!(TlsVersion::parse(text), Some(version), "{text}");
            }
            assert_eq!(TlsVersion::of_value(0x0301 + i as u16), Some(version));
        }
        let keys: Vec<&str> = TlsHook::ALL.iter().map(|h| h.key()).collect();
        assert_eq!(
            keys,
            [
                "verify_peer_certificate",
                "verify_connection",
                "client_cas",
                "get_config_for_client"
            ]
        );
        assert_eq!(TlsHook::ClientCas.go_name(), "ClientCAs");
    }
}
