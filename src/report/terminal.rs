//! Keeping repository text from driving the terminal it is printed on.
//!
//! Reports for people quote text a pull request controls: Go source in excerpts, string
//! literals in messages, paths, commit subjects, docs pages. A terminal obeys the control
//! characters in it: `ESC [ 1 A ESC [ 2 K` moves up a line and erases it (a `BROKEN` line can
//! be made to vanish), a lone carriage return lets the rest of a line overwrite its start, OSC
//! sequences set the window title or write the clipboard, and bidirectional overrides show code
//! in another order than the one it is parsed in ("Trojan Source"). [`escape_controls`] spells
//! every such character out as a visible `\u{..}` escape, keeping only the exact colour
//! sequences the report itself uses (the `SEQUENCES` of the style module) when colour is on.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::style::SEQUENCES;

/// Characters a terminal acts on or that reorder what is shown: C0 and C1 controls other than
/// tab and line feed, DEL, and the bidirectional marks, embeddings, overrides and isolates.
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n'))
        || matches!(
            u32::from(c),
            0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069
        )
}

/// `text` with every character a terminal would act on written as `\u{1b}`, except a carriage
/// return that ends a line (`\r\n`) and, when `color` is true, the report's own colour
/// sequences. Text with none of them is returned as it is.
pub fn escape_controls(text: &str, color: bool) -> Cow<'_, str> {
    let own_colour = |rest: &str| {
        color
            .then(|| SEQUENCES.iter().find(|s| rest.starts_with(**s)))
            .flatten()
    };
    // Kept as is: a carriage return ending a line, and (with colour) the report's own colours,
    // whose other characters are printable.
    let kept = |rest: &str, c: char| {
        (c == '\r' && rest[1..].starts_with('\n')) || (c == '\x1b' && own_colour(rest).is_some())
    };
    if !text
        .char_indices()
        .any(|(i, c)| acts_on_terminal(c) && !kept(&text[i..], c))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(sequence) = own_colour(rest).filter(|_| c == '\x1b') {
            out.push_str(sequence);
            rest = &rest[sequence.len()..];
            continue;
        }
        if acts_on_terminal(c) && !kept(rest, c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;
    use crate::report::style::{BOLD, RED, RESET};
    use crate::report::{audit, text};

    #[test]
    fn every_colour_the_reports_print_is_listed() {
        let report = sample::report();
        for out in [
            text::render(&report, text::TextStyle { color: true }),
            audit::render(&report, None, audit::AuditStyle { color: true }),
        ] {
            assert!(out.contains('\x1b'));
            assert_eq!(escape_controls(&out, true), out);
        }
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "broken  auth-guard\tsrc/a.go:10-12\r\n";
        assert!(matches!(escape_controls(text, false), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn cursor_moves_erases_and_osc_are_spelt_out() {
        let hostile = "ok\x1b[1A\x1b[2K\x1b]0;title\x07 \u{9b}2J";
        assert_eq!(
            escape_controls(hostile, false),
            "ok\\u{1b}[1A\\u{1b}[2K\\u{1b}]0;title\\u{7} \\u{9b}2J"
        );
    }

    #[test]
    fn a_lone_carriage_return_is_spelt_out_but_crlf_is_kept() {
        assert_eq!(
            escape_controls("verified\rbroken\r\n", false),
            "verified\\u{d}broken\r\n"
        );
    }

    #[test]
    fn bidirectional_overrides_are_spelt_out() {
        assert_eq!(
            escape_controls("if isAdmin \u{202e}{ }\u{2066}", false),
            "if isAdmin \\u{202e}{ }\\u{2066}"
        );
    }

    #[test]
    fn only_the_reports_own_colours_survive_and_only_with_colour_on() {
        let ours = format!("{BOLD}{RED}BROKEN{RESET}");
        assert_eq!(escape_controls(&ours, true), ours);
        assert_eq!(
            escape_controls(&ours, false),
            "\\u{1b}[1m\\u{1b}[31mBROKEN\\u{1b}[0m"
        );
        // Black on black, concealed text: not sequences the report uses.
        assert_eq!(
            escape_controls("\x1b[30;40mx\x1b[8my", true),
            "\\u{1b}[30;40mx\\u{1b}[8my"
        );
    }
}
