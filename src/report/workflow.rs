//! Keeping repository text from forming GitHub Actions workflow commands.
//!
//! The runner reads every line a step prints (lines end at `\n`, `\r` or `\r\n`). A line whose
//! text, after leading whitespace, starts with `::name ...::` is a command (`::error::`,
//! `::add-mask::`, `::stop-commands::`...), and so is one holding the legacy `##[name ...]`
//! anywhere. Its comparisons may be culture-aware, which skips "ignorable" characters
//! (controls, zero-width and other format characters), so `#\u{200B}#[` must count as `##[`.
//!
//! anchorcheck prints text a pull request controls: claim titles, paths, commit subjects, Go
//! source in excerpts. Human-readable output is wrapped in `::stop-commands::TOKEN` ... `::TOKEN::`
//! ([`stop_commands`]) when it goes to a GitHub Actions log; machine formats escape the
//! characters that would start a command with their own escapes ([`escape_commands`]), so
//! they mean the same once parsed; messages on stderr are [`neutralise`]d.

/// Characters a culture-aware comparison may skip: C0 and C1 controls other than line
/// breaks and tab, and default-ignorable format characters (zero-width space and joiners,
/// direction marks, soft hyphen, BOM, variation selectors, tags).
pub fn is_ignorable(c: char) -> bool {
    if c.is_control() {
        return !matches!(c, '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r');
    }
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// The byte offsets in `text` of the characters to escape so that no line of it holds a
/// command: the `#` right before the `[` of every `##[`, and the first `:` of every `::` that
/// starts a line. Walks the text's characters in place: a report of hundreds of megabytes is
/// not copied into a list of characters four times its size.
fn command_starts(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    // The next character after byte `from` that is not ignorable.
    let next = |from: usize| text[from..].chars().find(|&c| !is_ignorable(c));
    let mut line_start = true;
    for (i, c) in text.char_indices() {
        if c == '\n' || c == '\r' {
            line_start = true;
            continue;
        }
        if line_start && (c.is_whitespace() || is_ignorable(c)) {
            continue;
        }
        let after = i + c.len_utf8();
        if line_start && c == ':' && next(after) == Some(':') {
            found.push(i);
        }
        line_start = false;
        if c == '#'
            && next(after) == Some('[')
            && text[..i].chars().rev().find(|&c| !is_ignorable(c)) == Some('#')
        {
            found.push(i);
        }
    }
    found
}

/// True when some line of `text` could be read as a workflow command.
pub fn could_be_command(text: &str) -> bool {
    !command_starts(text).is_empty()
}

/// `text` with the `#` of every `##[` written as `hash` and the first `:` of every line-start
/// `::` written as `colon`: a format's own escapes for those characters (`\u0023` in JSON,
/// `&#35;` in XML), so the text reads the same once parsed but no line of it is a command.
pub fn escape_commands(text: &str, hash: &str, colon: &str) -> String {
    let escape = command_starts(text);
    if escape.is_empty() {
        return text.to_string();
    }
    escape_at(text, &escape, hash, colon)
}

/// [`escape_commands`] of a text already owned: returned as it is when nothing needs escaping
/// (a large report is not copied).
pub fn escape_commands_owned(text: String, hash: &str, colon: &str) -> String {
    let escape = command_starts(&text);
    if escape.is_empty() {
        return text;
    }
    escape_at(&text, &escape, hash, colon)
}

/// `text` with the characters at the byte offsets `escape` (each `#` or `:`) replaced.
fn escape_at(text: &str, escape: &[usize], hash: &str, colon: &str) -> String {
    let mut out = String::with_capacity(text.len() + escape.len() * hash.len());
    let mut from = 0;
    for &i in escape {
        out.push_str(&text[from..i]);
        out.push_str(if text[i..].starts_with('#') {
            hash
        } else {
            colon
        });
        from = i + 1;
    }
    out.push_str(&text[from..]);
    out
}

/// `text` with a backslash breaking every command start (`#\#[`, `\::`): for messages on
/// stderr, which people read but no parser does.
pub fn neutralise(text: &str) -> String {
    escape_commands(text, "\\#", "\\:")
}

/// `text` between `::stop-commands::TOKEN` and `::TOKEN::`: the runner reads no command in
/// between, and only someone who knows `token` can resume it. `text` keeps every byte.
pub fn stop_commands(text: &str, token: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2 * token.len() + 24);
    out.push_str("::stop-commands::");
    out.push_str(token);
    out.push('\n');
    out.push_str(text);
    if !text.is_empty() && !text.ends_with(['\n', '\r']) {
        out.push('\n');
    }
    out.push_str("::");
    out.push_str(token);
    out.push_str("::\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_both_command_forms_through_ignorable_characters() {
        for text in [
            "::error::x",
            "  \t::warning file=a::x",
            "ok\r::add-mask::secret",
            "a ##[add-mask]x",
            "#\u{200B}#[error]x",
            "\u{200B}::error::x",
            "x\n:\u{00AD}:debug::y",
        ] {
            assert!(could_be_command(text), "{text:?}");
            assert!(
                !could_be_command(&neutralise(text)),
                "{:?}",
                neutralise(text)
            );
        }
        for text in [
            "a::b",
            "x :: y",
            "# heading",
            "#[attr]",
            "C# [x]",
            "a\n b : c",
        ] {
            assert!(!could_be_command(text), "{text:?}");
        }
    }

    #[test]
    fn escapes_only_what_starts_a_command() {
        assert_eq!(
            escape_commands("t ##[warning]FORGED\n::error::x ::y", "&#35;", "&#58;"),
            "t #&#35;[warning]FORGED\n&#58;:error::x ::y"
        );
        assert_eq!(escape_commands("###[x]", "H", "C"), "##H[x]");
        assert_eq!(neutralise("plain # text: here"), "plain # text: here");
    }

    #[test]
    fn stop_commands_wraps_the_text_whole() {
        assert_eq!(
            stop_commands("a\n::error::b", "t0k"),
            "::stop-commands::t0k\na\n::error::b\n::t0k::\n"
        );
    }
}
