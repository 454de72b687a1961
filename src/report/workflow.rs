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

/// A writer that escapes, as the text streams through it, what [`escape_commands`] escapes in a
/// whole text: the bytes written to `inner` are exactly `escape_commands` of all the bytes
/// written to it, wherever the writes split them (even inside a character). A report of
/// hundreds of megabytes is escaped on its way out rather than built whole first.
///
/// Whether a `#` or line-start `:` is escaped depends on the next character that is not
/// ignorable, so such a character (and the ignorable ones after it) is held until that one
/// arrives, or until [`CommandEscaper::finish`]; nothing else is held.
pub struct CommandEscaper<'e, W: std::io::Write> {
    inner: W,
    hash: &'e str,
    colon: &'e str,
    /// No character but whitespace and ignorable ones since the last line break (or the start).
    line_start: bool,
    /// The last character that was not ignorable.
    prev: Option<char>,
    /// A `#` (after a `#`) or line-start `:` waiting for the next character that is not
    /// ignorable, and the ignorable characters after it, not yet written.
    held: Option<(char, String)>,
    /// The first bytes of a character the last write split.
    partial: Vec<u8>,
}

impl<'e, W: std::io::Write> CommandEscaper<'e, W> {
    /// Escapes into `inner` with `hash` and `colon` (see [`escape_commands`]).
    pub fn new(inner: W, hash: &'e str, colon: &'e str) -> Self {
        CommandEscaper {
            inner,
            hash,
            colon,
            line_start: true,
            prev: None,
            held: None,
            partial: Vec::new(),
        }
    }

    /// Writes what is held (the text ended, so nothing after it makes a command), flushes, and
    /// returns the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        if let Some((c, tail)) = self.held.take() {
            let mut b = [0u8; 4];
            self.inner.write_all(c.encode_utf8(&mut b).as_bytes())?;
            self.inner.write_all(tail.as_bytes())?;
        }
        let partial = std::mem::take(&mut self.partial);
        self.inner.write_all(&partial)?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    /// Takes one character (`c`, `None` for bytes that are not UTF-8, passed through as they
    /// are). Returns whether its bytes are to be written now (`false`: it was held, or written
    /// with what was held).
    fn step(&mut self, c: Option<char>) -> std::io::Result<Step> {
        let ignorable = c.is_some_and(is_ignorable);
        if let Some((_, tail)) = &mut self.held {
            if let (Some(c), true) = (c, ignorable) {
                tail.push(c);
                return Ok(Step::Taken);
            }
            let (held, tail) = self.held.take().unwrap_or((' ', String::new()));
            let escape = matches!((held, c), (':', Some(':')) | ('#', Some('[')));
            if escape {
                let with = if held == '#' { self.hash } else { self.colon };
                self.inner.write_all(with.as_bytes())?;
            } else {
                let mut b = [0u8; 4];
                self.inner.write_all(held.encode_utf8(&mut b).as_bytes())?;
            }
            self.inner.write_all(tail.as_bytes())?;
        }
        let Some(c) = c else {
            self.line_start = false;
            self.prev = None;
            return Ok(Step::Pass);
        };
        if !ignorable {
            // The character before this one that is not ignorable, for `##[`.
            let before = self.prev.replace(c);
            if c == '\n' || c == '\r' {
                self.line_start = true;
                return Ok(Step::Pass);
            }
            if self.line_start && c.is_whitespace() {
                return Ok(Step::Pass);
            }
            let line_start = std::mem::replace(&mut self.line_start, false);
            if (line_start && c == ':') || (c == '#' && before == Some('#')) {
                self.held = Some((c, String::new()));
                return Ok(Step::Taken);
            }
        }
        Ok(Step::Pass)
    }
}

/// What [`CommandEscaper::step`] did with a character.
enum Step {
    /// Its bytes go out as they are.
    Pass,
    /// It is held, or already written.
    Taken,
}

impl<W: std::io::Write> std::io::Write for CommandEscaper<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        // Complete a character the last write split.
        while !self.partial.is_empty() && !rest.is_empty() {
            self.partial.push(rest[0]);
            rest = &rest[1..];
            match std::str::from_utf8(&self.partial) {
                Ok(s) => {
                    let c = s.chars().next();
                    let bytes = std::mem::take(&mut self.partial);
                    if let Step::Pass = self.step(c)? {
                        self.inner.write_all(&bytes)?;
                    }
                }
                Err(e) if e.error_len().is_some() => {
                    let bytes = std::mem::take(&mut self.partial);
                    self.step(None)?;
                    self.inner.write_all(&bytes)?;
                }
                Err(_) => {}
            }
        }
        // Runs of characters that pass go out as one slice.
        let mut from = 0;
        let mut i = 0;
        while i < rest.len() {
            let b = rest[i];
            // With nothing held, what `step` would only note: printable ASCII but `#` and `:`
            // past a line's start (it becomes the character before the next), a space or tab at
            // a line's start (the line has not started yet: a pretty-printed report's
            // indentation) and a line break (a line starts).
            let passes = self.held.is_none()
                && match b {
                    b'\n' | b'\r' => {
                        self.line_start = true;
                        true
                    }
                    b' ' | b'\t' if self.line_start => true,
                    0x20..0x7f => !self.line_start && b != b'#' && b != b':',
                    _ => false,
                };
            if passes {
                self.prev = Some(char::from(b));
                i += 1;
                continue;
            }
            let (c, len) = if b < 0x80 {
                (Some(char::from(b)), 1)
            } else {
                match std::str::from_utf8(&rest[i..(i + 4).min(rest.len())]) {
                    Ok(s) => first_char(s),
                    Err(e) if e.valid_up_to() > 0 => {
                        first_char(std::str::from_utf8(&rest[i..i + e.valid_up_to()]).unwrap_or(""))
                    }
                    Err(e) => match e.error_len() {
                        Some(n) => (None, n),
                        None => {
                            // A character split by the end of this write.
                            self.inner.write_all(&rest[from..i])?;
                            self.partial.extend_from_slice(&rest[i..]);
                            return Ok(buf.len());
                        }
                    },
                }
            };
            // Whatever passed so far goes out before anything held is decided.
            self.inner.write_all(&rest[from..i])?;
            from = i;
            if let Step::Taken = self.step(c)? {
                from = i + len;
            }
            i += len;
        }
        self.inner.write_all(&rest[from..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The first character of `s` and its length in bytes.
fn first_char(s: &str) -> (Option<char>, usize) {
    let c = s.chars().next();
    (c, c.map_or(1, char::len_utf8))
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

    /// `text` through a [`CommandEscaper`] in writes of the given sizes (the rest at once).
    fn streamed(text: &str, sizes: &[usize]) -> String {
        use std::io::Write as _;
        let mut escaper = CommandEscaper::new(Vec::new(), "H", "C");
        let mut rest = text.as_bytes();
        for &n in sizes {
            let (now, later) = rest.split_at(n.min(rest.len()));
            escaper.write_all(now).unwrap();
            rest = later;
        }
        escaper.write_all(rest).unwrap();
        String::from_utf8(escaper.finish().unwrap()).unwrap()
    }

    #[test]
    fn the_streamed_escape_is_the_whole_texts_wherever_writes_split_it() {
        let texts = [
            "t ##[warning]FORGED\n::error::x ::y",
            "###[x]",
            "#a#[x] ## [y] #\t#[z]",
            "#\u{200B}#[error]x",
            "#\u{200B}\u{00AD}#\u{200B}[e]",
            "\u{200B}::error::x",
            "x\n:\u{00AD}:debug::y",
            "  \t::warning file=a::x\r::add-mask::s\r\n\u{3000}::e::",
            "a::b # [c] #:#[ :: \n \u{1}::x",
            "é#é#[ü]\n:é:\n::",
            "ends held #",
            "ends held ##\u{200B}",
            "{\n  \"k\": \"v:w\",\n    ::error::x\n\t  #\n  ##[y]\r\n  :\u{200B}: z\n #a# [b]",
            "::",
            "\u{E0001}#\u{E0001}#\u{E0001}[\u{E0001}",
            "",
        ];
        for text in texts {
            let whole = escape_commands(text, "H", "C");
            let len = text.len();
            assert_eq!(streamed(text, &[]), whole, "{text:?} in one write");
            assert_eq!(
                streamed(text, &vec![1; len]),
                whole,
                "{text:?} byte by byte"
            );
            for at in 0..=len {
                assert_eq!(streamed(text, &[at]), whole, "{text:?} split at {at}");
                for second in 1..=3 {
                    assert_eq!(
                        streamed(text, &[at, second]),
                        whole,
                        "{text:?} split at {at} and {second} after"
                    );
                }
            }
        }
    }

    #[test]
    fn stop_commands_wraps_the_text_whole() {
        assert_eq!(
            stop_commands("a\n::error::b", "t0k"),
            "::stop-commands::t0k\na\n::error::b\n::t0k::\n"
        );
    }
}
