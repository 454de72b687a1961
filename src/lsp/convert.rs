//! Between the protocol's coordinates and anchorcheck's: `file:` URIs and paths, LSP positions
//! (0-based lines, UTF-16 columns) and 1-based lines, character columns and byte offsets.

use std::path::{Path, PathBuf};

use lsp_types::{Position as LspPosition, Range, Uri};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use crate::lines::{LineRange, Position};

/// What a path segment keeps unescaped in a `file:` URI (RFC 3986 pchar, as VS Code writes).
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The local path a `file:` URI names; `None` for another scheme (an untitled buffer).
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file://host/path` names another machine; only the local host is ours.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let decoded = percent_decode_str(path).decode_utf8().ok()?;
    // `file:///C:/dir` names `C:/dir` on Windows.
    let bytes = decoded.as_bytes();
    let drive = bytes.len() >= 3 && bytes[1].is_ascii_alphabetic() && bytes[2] == b':';
    if cfg!(windows) && drive {
        return Some(PathBuf::from(&decoded[1..]));
    }
    Some(PathBuf::from(decoded.as_ref()))
}

/// The `file:` URI of an absolute path.
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let text = path.to_str()?;
    // On Windows, `C:\dir` is `file:///C:/dir`.
    let windows = cfg!(windows).then(|| format!("/{}", text.replace('\\', "/")));
    let text = windows.as_deref().unwrap_or(text);
    let encoded: String = text
        .split('/')
        .map(|segment| utf8_percent_encode(segment, PATH_SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/");
    format!("file://{encoded}").parse().ok()
}

/// UTF-16 code units in `s`, as LSP columns count by default.
fn utf16_len(s: &str) -> u32 {
    u32::try_from(s.encode_utf16().count()).unwrap_or(u32::MAX)
}

/// Where each line of a text starts, so that a line or a position is found without scanning
/// the text from its start each time (anchors.yaml may be tens of megabytes, with a diagnostic
/// on every ref).
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of each line's first byte.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, starts }
    }

    /// The text of 0-based line `row` (without its line break; empty past the end).
    fn line(&self, row: usize) -> &'a str {
        let Some(&start) = self.starts.get(row) else {
            return "";
        };
        let end = self.starts.get(row + 1).map_or(self.text.len(), |e| e - 1);
        let line = &self.text[start..end];
        line.strip_suffix('\r').unwrap_or(line)
    }

    /// The LSP position of byte `offset`.
    pub fn position(&self, offset: usize) -> LspPosition {
        let mut end = offset.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let row = self.starts.partition_point(|&s| s <= end) - 1;
        LspPosition {
            line: u32::try_from(row).unwrap_or(u32::MAX),
            character: utf16_len(&self.text[self.starts[row]..end]),
        }
    }
}

/// The LSP position of byte `offset` in `text`.
pub fn offset_to_position(text: &str, offset: usize) -> LspPosition {
    LineIndex::new(text).position(offset)
}

/// The byte offset of an LSP position in `text` (clamped to the line and the text).
pub fn position_to_offset(text: &str, position: LspPosition) -> usize {
    let mut offset = 0;
    for (row, line) in text.split_inclusive('\n').enumerate() {
        if row == position.line as usize {
            let mut units = 0;
            for (i, c) in line.char_indices() {
                if units >= position.character || c == '\n' || c == '\r' {
                    return offset + i;
                }
                units += u32::try_from(c.len_utf16()).unwrap_or(2);
            }
            return offset + line.len();
        }
        offset += line.len();
    }
    text.len()
}

/// The LSP position of a 1-based line and character column (anchorcheck's [`Position`]).
pub fn from_position(text: &LineIndex<'_>, at: Position) -> LspPosition {
    let row = at.line.saturating_sub(1) as usize;
    let line = text.line(row);
    let chars = at.column.saturating_sub(1) as usize;
    let prefix: String = line.chars().take(chars).collect();
    LspPosition {
        line: u32::try_from(row).unwrap_or(u32::MAX),
        character: utf16_len(&prefix),
    }
}

/// The range from `at` to the end of the word (or quoted scalar) starting there.
pub fn word_range(text: &LineIndex<'_>, at: Position) -> Range {
    let start = from_position(text, at);
    let row = at.line.saturating_sub(1) as usize;
    let rest: String = text
        .line(row)
        .chars()
        .skip(at.column.saturating_sub(1) as usize)
        .collect();
    let len = rest
        .find(|c: char| c.is_whitespace() || c == ',' || c == '}' || c == ']')
        .unwrap_or(rest.len());
    let len = len.max(usize::from(!rest.is_empty()));
    Range {
        start,
        end: LspPosition {
            line: start.line,
            character: start.character + utf16_len(&rest[..len]),
        },
    }
}

/// Whole lines `lines` of a file, from the first line's start to the end of the last.
pub fn lines_range(text: &LineIndex<'_>, lines: LineRange) -> Range {
    let last = lines.end().zero_based();
    Range {
        start: LspPosition {
            line: u32::try_from(lines.start().zero_based()).unwrap_or(u32::MAX),
            character: 0,
        },
        end: LspPosition {
            line: u32::try_from(last).unwrap_or(u32::MAX),
            character: utf16_len(text.line(last)),
        },
    }
}

/// The 1-based line an LSP position is on.
pub fn line_of(position: LspPosition) -> u32 {
    position.line.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_paths_round_trip() {
        let path = Path::new("/tmp/a dir/é#1/anchors.yaml");
        let uri = path_to_uri(path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/%C3%A9%231/anchors.yaml");
        assert_eq!(uri_to_path(&uri).unwrap(), path);
        let untitled: Uri = "untitled:Untitled-1".parse().unwrap();
        assert_eq!(uri_to_path(&untitled), None);
    }

    fn index_of(text: &str) -> LineIndex<'_> {
        LineIndex::new(text)
    }

    #[test]
    fn columns_count_utf16_units() {
        let text = "a\n€𝄞x\r\nlast";
        let offset = text.find('x').unwrap();
        let at = offset_to_position(text, offset);
        assert_eq!((at.line, at.character), (1, 3));
        assert_eq!(position_to_offset(text, at), offset);
        assert_eq!(index_of(text).position(text.len()), LspPosition::new(2, 4));
        assert_eq!(index_of(text).line(1), "€𝄞x");
        assert_eq!(index_of(text).line(9), "");
        // Past the end of a line stops before its line break.
        let end = position_to_offset(text, LspPosition::new(1, 99));
        assert_eq!(&text[end..end + 2], "\r\n");
        let index = LineIndex::new(text);
        let from = from_position(&index, Position { line: 2, column: 3 });
        assert_eq!((from.line, from.character), (1, 3));
    }
}
