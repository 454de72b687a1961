//! "Did you mean" for refs whose path or symbol names nothing: the nearest existing paths and
//! declaration names.

use crate::anchors::Ref;
use crate::go::symbols::canonical_symbol;

/// How many suggestions a message lists.
const MAX_SUGGESTIONS: usize = 3;

/// How alike two names must be (Jaro-Winkler) to be suggested.
const MIN_SIMILARITY: f64 = 0.8;

/// `; did you mean `a` or `b`?`, or nothing without suggestions.
pub fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|s| format!("`{s}`")).collect();
            format!("; did you mean {} or `{last}`?", init.join(", "))
        }
    }
}

/// The existing paths nearest a missing one, best first: the same file name in another
/// directory, then paths spelt alike.
pub fn similar_paths(wanted: &str, paths: &[String]) -> Vec<String> {
    let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let wanted_name = name(wanted);
    let mut scored: Vec<(bool, f64, &String)> = paths
        .iter()
        .map(|p| {
            let base = name(p);
            // The whole path alone favours any file of the same directory.
            let score =
                (strsim::jaro_winkler(wanted, p) + strsim::jaro_winkler(&wanted_name, &base)) / 2.0;
            (base == wanted_name, score, p)
        })
        .filter(|(same_name, score, _)| *same_name || *score >= MIN_SIMILARITY)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(b.2)));
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, _, p)| p.clone())
        .collect()
}

/// The declaration names nearest `symbol` among `names` (those of some files' declarations,
/// in file order), best first, in the canonical `Type.Method` form.
pub fn similar_symbols<'n>(symbol: &str, names: impl IntoIterator<Item = &'n str>) -> Vec<String> {
    let wanted = canonical_symbol(symbol);
    let wanted_method = wanted.rsplit('.').next().unwrap_or(&wanted);
    let mut scored: Vec<(f64, String)> = Vec::new();
    for name in names {
        let method = name.rsplit('.').next().unwrap_or(name);
        // Methods compare by type and by name (a shared type alone says little); a method
        // and a plain name by their last parts.
        let score = match (wanted.split_once('.'), name.split_once('.')) {
            (Some((wanted_type, _)), Some((ty, _))) => {
                (strsim::jaro_winkler(wanted_type, ty)
                    + strsim::jaro_winkler(wanted_method, method))
                    / 2.0
            }
            (None, None) => strsim::jaro_winkler(&wanted, name),
            _ => strsim::jaro_winkler(wanted_method, method),
        };
        // A method whose name is right but whose type is not is the likeliest mistake.
        let right_method = name.contains('.') && method == wanted_method;
        let score = if right_method { 1.0 } else { score };
        if score >= MIN_SIMILARITY && !scored.iter().any(|(_, n)| n == name) {
            scored.push((score, name.to_string()));
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, n)| n)
        .collect()
}

/// What the report says of a ref whose `symbol` names no declaration in its file or package.
pub fn unknown_symbol(r: &Ref, path: &str, suggestions: &[String]) -> Option<String> {
    let symbol = &r.symbol.as_ref()?.value;
    Some(format!(
        "{UNKNOWN_SYMBOL}`{symbol}` names no declaration in {path} or its package{}",
        did_you_mean(suggestions)
    ))
}

/// How a note about an unknown symbol starts, so callers can tell it from other notes.
pub const UNKNOWN_SYMBOL: &str = "symbol ";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::go::{GoFile, symbols};

    #[test]
    fn suggests_the_same_file_name_first_then_similar_paths() {
        let paths: Vec<String> = [
            "src/saas/back/cmd/mtls_listener.go",
            "src/saas/back/cmd/main.go",
            "src/agent/mtls_listener.go",
            "docs/readme.go",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            similar_paths("src/saas/back/cmd/mtls_listner.go", &paths),
            [
                "src/saas/back/cmd/mtls_listener.go",
                "src/agent/mtls_listener.go"
            ]
        );
        assert_eq!(
            similar_paths("src/saas/back/mtls_listener.go", &paths)[..2],
            [
                "src/saas/back/cmd/mtls_listener.go",
                "src/agent/mtls_listener.go"
            ]
        );
        assert!(similar_paths("zzz/qqq.go", &paths).is_empty());
    }

    #[test]
    fn suggests_declarations_by_name_and_by_method() {
        let file = GoFile::parse(
            b"package a\ntype adminHandler struct{}\nfunc (h adminHandler) checkOrigin() {}\nfunc checkOrigins() {}\nfunc serve() {}\n"
                .to_vec(),
        )
        .unwrap();
        let declarations = symbols::declarations(&file);
        let names = || declarations.iter().map(|d| d.name.as_str());
        assert_eq!(
            similar_symbols("adminHandler.checkOrigen", names()),
            ["adminHandler.checkOrigin", "checkOrigins"]
        );
        assert_eq!(
            similar_symbols("(*apiHandler).checkOrigin", names())[0],
            "adminHandler.checkOrigin"
        );
        assert_eq!(
            did_you_mean(&["a".into(), "b".into(), "c".into()]),
            "; did you mean `a`, `b` or `c`?"
        );
    }
}
