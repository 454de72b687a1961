//! Links from a report to the cited code: a URL template for the file and lines at the verified
//! commit, taken from `--link-base` or from a GitHub or GitLab `origin` remote.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::place::Place;

/// Bytes of a path segment left as they are: RFC 3986's unreserved characters. Everything else
/// (spaces, `%`, `#`, `?`, brackets, non-ASCII) is percent-encoded, so the link is one token in
/// Markdown and HTML and names the file exactly.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A repository path as an RFC 3986 path: each segment percent-encoded but for unreserved
/// characters, segments joined by `/`. Used in links and SARIF URIs.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Bytes of a `--link-base` URL's own text that are percent-encoded: controls, space, non-ASCII
/// and what a URL may not hold or would end a Markdown link, an HTML attribute or a table cell
/// (`(`, `)`, `|`, quotes, angle brackets, backslash, braces outside the placeholders).
const BASE_TEXT: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'\'')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'(')
    .add(b')');

/// The placeholders a `--link-base` template may hold.
const PLACEHOLDERS: [&str; 4] = ["{commit}", "{path}", "{start}", "{end}"];

/// Why a `--link-base` cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkBaseError {
    #[error("--link-base must be an http:// or https:// URL, not `{0}`")]
    Scheme(String),
    #[error("--link-base has no host: `{0}`")]
    NoHost(String),
}

/// A checked `--link-base`: an http(s) URL with a host, its own text percent-encoded where a
/// URL may not hold it, placeholders kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkBase(String);

impl LinkBase {
    /// Checks and encodes `--link-base URL`: the scheme must be http or https (a `javascript:`
    /// or `data:` link in a report is a trap), and the host must be there.
    pub fn parse(base: &str) -> Result<LinkBase, LinkBaseError> {
        let (scheme, rest) = base
            .split_once("://")
            .ok_or_else(|| LinkBaseError::Scheme(base.to_string()))?;
        if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
            return Err(LinkBaseError::Scheme(base.to_string()));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        if host.is_empty() || host.starts_with(':') {
            return Err(LinkBaseError::NoHost(base.to_string()));
        }
        Ok(LinkBase(format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            encode_base_text(rest)
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `text` with every byte of [`BASE_TEXT`] percent-encoded, and a `%` that does not start an
/// escape (`%2F`) encoded too, except inside the placeholders.
fn encode_base_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(p) = PLACEHOLDERS.iter().find(|p| rest.starts_with(**p)) {
            out.push_str(p);
            rest = &rest[p.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        let b = rest.as_bytes();
        if c == '%' && !(b.len() >= 3 && b[1].is_ascii_hexdigit() && b[2].is_ascii_hexdigit()) {
            out.push_str("%25");
        } else {
            let mut buf = [0u8; 4];
            out.extend(utf8_percent_encode(c.encode_utf8(&mut buf), BASE_TEXT));
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// How to link to a place at a commit: a template with `{commit}`, `{path}`, `{start}` and
/// `{end}`, and the commit to fill in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links {
    template: String,
    commit: String,
}

/// The template GitHub uses for a file's lines.
fn github(base: &str) -> String {
    format!("{base}/blob/{{commit}}/{{path}}#L{{start}}-L{{end}}")
}

/// The template GitLab uses for a file's lines.
fn gitlab(base: &str) -> String {
    format!("{base}/-/blob/{{commit}}/{{path}}#L{{start}}-{{end}}")
}

impl Links {
    /// Links from `--link-base URL`: a template when it holds `{path}`, else a prefix to which
    /// `/{commit}/{path}#L{start}-L{end}` is added (GitHub's `.../blob` style).
    pub fn from_base(base: &LinkBase, commit: &str) -> Links {
        let base = base.as_str();
        let template = if base.contains("{path}") {
            base.to_string()
        } else {
            format!(
                "{}/{{commit}}/{{path}}#L{{start}}-L{{end}}",
                base.trim_end_matches('/')
            )
        };
        Links {
            template,
            commit: commit.to_string(),
        }
    }

    /// Links from a remote URL on github.com or a GitLab host (`gitlab.com`, or any host whose
    /// name has `gitlab` in it), in https, ssh or scp-like form; `github_host` names another
    /// host to treat as GitHub (a GitHub Enterprise server). `None` for any other remote.
    pub fn from_remote(url: &str, github_host: Option<&str>, commit: &str) -> Option<Links> {
        let (host, path) = split_remote(url)?;
        let path = path.trim_end_matches('/');
        let path = path.strip_suffix(".git").unwrap_or(path);
        if path.split('/').filter(|s| !s.is_empty()).count() < 2 {
            return None;
        }
        // The path is the remote's text, which a pull request can set: each segment encoded, so
        // it cannot end the link (`)`), a table cell (`|`) or add a query or fragment.
        let base = format!(
            "https://{host}/{}",
            encode_path(path.trim_start_matches('/'))
        );
        let template = if host == "github.com" || github_host == Some(host.as_str()) {
            github(&base)
        } else if host.contains("gitlab") {
            gitlab(&base)
        } else {
            return None;
        };
        Some(Links {
            template,
            commit: commit.to_string(),
        })
    }

    /// The URL of `place` at the commit.
    pub fn to(&self, place: &Place) -> String {
        self.template
            .replace("{commit}", &self.commit)
            .replace("{path}", &encode_path(&place.path))
            .replace("{start}", &place.lines.start().to_string())
            .replace("{end}", &place.lines.end().to_string())
    }
}

/// The host (without user or port) and the repository path of a remote URL.
fn split_remote(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let (authority, path) = match url.split_once("://") {
        Some((scheme, rest)) => {
            if !matches!(scheme, "https" | "http" | "ssh" | "git" | "git+ssh") {
                return None;
            }
            rest.split_once('/')?
        }
        // scp-like: git@github.com:owner/repo.git
        None => url.split_once(':')?,
    };
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?.to_ascii_lowercase();
    // A host name, nothing else: letters, digits, dots and dashes.
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return None;
    }
    Some((host, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::LineRange;

    fn place(path: &str, lines: &str) -> Place {
        Place {
            path: path.into(),
            lines: LineRange::parse(lines).unwrap(),
        }
    }

    const COMMIT: &str = "9c1f0e2b7a4400000000000000000000000000aa";

    #[test]
    fn github_remotes_in_every_form_link_to_blob_lines() {
        for url in [
            "https://github.com/zen/mesh.git",
            "https://github.com/zen/mesh",
            "git@github.com:zen/mesh.git",
            "ssh://git@github.com/zen/mesh.git",
            "https://x-access-token:secret@github.com/zen/mesh.git",
        ] {
            let links = Links::from_remote(url, None, COMMIT).unwrap_or_else(|| panic!("{url}"));
            assert_eq!(
                links.to(&place("src/a.go", "10-20")),
                format!("https://github.com/zen/mesh/blob/{COMMIT}/src/a.go#L10-L20"),
                "{url}"
            );
        }
    }

    #[test]
    fn gitlab_and_enterprise_hosts_and_nothing_else() {
        let gitlab = Links::from_remote("git@gitlab.com:group/sub/proj.git", None, "abc").unwrap();
        assert_eq!(
            gitlab.to(&place("a.go", "3")),
            "https://gitlab.com/group/sub/proj/-/blob/abc/a.go#L3-3"
        );
        let ghe = Links::from_remote(
            "https://ghe.corp.example/o/r",
            Some("ghe.corp.example"),
            "abc",
        );
        assert_eq!(
            ghe.unwrap().to(&place("a.go", "3")),
            "https://ghe.corp.example/o/r/blob/abc/a.go#L3-L3"
        );
        for url in [
            "https://bitbucket.org/o/r.git",
            "/srv/git/repo.git",
            "file:///srv/git/repo.git",
            "https://github.com/only-owner",
        ] {
            assert_eq!(Links::from_remote(url, None, "abc"), None, "{url}");
        }
    }

    #[test]
    fn link_base_is_a_prefix_or_a_template_and_paths_are_encoded() {
        let prefix = Links::from_base(
            &LinkBase::parse("https://git.example/o/r/blob/").unwrap(),
            "abc",
        );
        assert_eq!(
            prefix.to(&place("dir with space/100%#x.go", "1-2")),
            "https://git.example/o/r/blob/abc/dir%20with%20space/100%25%23x.go#L1-L2"
        );
        let template = Links::from_base(
            &LinkBase::parse(
                "https://gitea.example/o/r/src/commit/{commit}/{path}#L{start}-L{end}",
            )
            .unwrap(),
            "abc",
        );
        assert_eq!(
            template.to(&place("a/(b).go", "7-9")),
            "https://gitea.example/o/r/src/commit/abc/a/%28b%29.go#L7-L9"
        );
    }

    /// Issue 23: a remote URL is the repository's text; it must not forge a table row or link.
    #[test]
    fn a_remote_path_is_encoded_and_an_odd_host_gets_no_links() {
        let url = "https://github.com/a/b)|✅ verified|[SAFE](https://evil.example/x";
        let links = Links::from_remote(url, None, "abc").unwrap();
        let link = links.to(&place("a.go", "1"));
        assert_eq!(
            link,
            "https://github.com/a/b%29%7C%E2%9C%85%20verified%7C%5BSAFE%5D%28https%3A//evil.example/x/blob/abc/a.go#L1-L1"
        );
        for c in [')', '(', '|', ' ', '[', ']'] {
            assert!(!link.contains(c), "{link}");
        }
        for url in [
            "https://git)hub.com/a/b",
            "https://evil.example|x/a/b",
            "git@gitlab.com (x):a/b",
        ] {
            assert_eq!(Links::from_remote(url, None, "abc"), None, "{url}");
        }
    }

    #[test]
    fn link_base_takes_only_http_urls_and_encodes_its_text() {
        for bad in [
            "javascript:alert(1)//{path}",
            "data:text/html,x",
            "file:///etc/{path}",
            "ftp://x/{path}",
            "git.example/o/r",
            "https:///o/r",
        ] {
            assert!(LinkBase::parse(bad).is_err(), "{bad}");
        }
        let base = LinkBase::parse("HTTPS://git.example/o r/(x)|y%zz%2F/{commit}/{path}").unwrap();
        assert_eq!(
            base.as_str(),
            "https://git.example/o%20r/%28x%29%7Cy%25zz%2F/{commit}/{path}"
        );
        let links = Links::from_base(&base, "abc");
        assert_eq!(
            links.to(&place("a b.go", "2")),
            "https://git.example/o%20r/%28x%29%7Cy%25zz%2F/abc/a%20b.go"
        );
    }
}
