//! Writing YAML by hand: scalars quoted only when they must be, and the flow-style
//! expectations `explain` suggests and `init` writes.

/// `text` as a YAML scalar: plain when YAML reads it back as the same string, else
/// double-quoted (JSON's escaping is valid YAML).
pub fn scalar(text: &str) -> String {
    if is_plain(text) {
        text.to_string()
    } else {
        quoted(text)
    }
}

/// `text` double-quoted, whatever it holds.
pub fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{}\"", text.escape_default()))
}

/// Whether `text` can be written unquoted, in block and flow context alike, and read back as
/// the same string (not a number, boolean, null or anything with YAML syntax in it).
fn is_plain(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let looks_typed = text.parse::<f64>().is_ok()
        || matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        )
        || text.starts_with("0x")
        || text.starts_with("0o");
    let safe_first = first.is_alphanumeric() || matches!(first, '/' | '_' | '.' | '(');
    let safe_rest = text
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | '.' | '-' | '*' | '(' | ')' | '+'));
    !looks_typed && safe_first && safe_rest && !text.ends_with('.')
}

/// A flow-style list: `[a, "b c"]`.
pub fn flow_list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|i| scalar(i.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_only_when_yaml_would_misread_them() {
        assert_eq!(scalar("log.Fatal*"), "log.Fatal*");
        assert_eq!(scalar("/v1/agent/heartbeat"), "/v1/agent/heartbeat");
        assert_eq!(scalar("(*T).M"), "(*T).M");
        assert_eq!(scalar(":9443"), "\":9443\"");
        assert_eq!(scalar("1.3"), "\"1.3\"");
        assert_eq!(scalar("on"), "\"on\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("x # y"), "\"x # y\"");
        assert_eq!(scalar("^mtls$"), "\"^mtls$\"");
        assert_eq!(scalar("line\nbreak"), "\"line\\nbreak\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(flow_list(&["/a", "b c"]), "[/a, \"b c\"]");
    }
}
