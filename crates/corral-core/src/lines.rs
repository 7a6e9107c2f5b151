//! Corral's one definition of a line, used by everything that counts lines
//! or columns: the document splitter and batching, the parsers' positions,
//! positions of errors, suppression comments and the reporters.
//!
//! A line ends at a line feed, a carriage return followed by a line feed,
//! or a lone carriage return: YAML 1.2's line breaks (so saphyr-parser's
//! positions are Corral's as they are) and SARIF's. Lines and columns are
//! 1-based, and columns count Unicode code points (characters), not bytes.
//!
//! YAML 1.1 (go-yaml v2, behind kubectl) also breaks lines at NEL (U+0085),
//! LS (U+2028) and PS (U+2029); Corral does not read a document holding one
//! (see [`yaml11_break`]).

use std::sync::Arc;

use crate::node::Pos;

/// Whether `byte` is (the start of) a line break.
pub fn is_break(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

/// How many line breaks `bytes` holds (a CR LF is one). A carriage return
/// that ends `bytes` counts as one: whoever cuts a text into pieces cuts
/// at the start of a line, never between a CR and its LF.
pub fn count_breaks(bytes: &[u8]) -> usize {
    // Most texts have no carriage return: their breaks are counted at the
    // speed of counting bytes.
    if !bytes.contains(&b'\r') {
        return bytes.iter().filter(|&&b| b == b'\n').count();
    }
    let mut count = 0;
    let mut previous_cr = false;
    for &b in bytes {
        match b {
            b'\n' if previous_cr => previous_cr = false,
            b'\n' => count += 1,
            b'\r' => {
                count += 1;
                previous_cr = true;
            }
            _ => previous_cr = false,
        }
    }
    count
}

/// How many lines `text` has: one more than its line breaks (a text that
/// ends with a break has an empty last line, where its end is).
pub fn count(bytes: &[u8]) -> usize {
    count_breaks(bytes) + 1
}

/// Whether byte `at` of `bytes` starts a line: the text's start, or just
/// after a line break (not between the CR and LF of a CR LF).
pub fn starts_line(bytes: &[u8], at: usize) -> bool {
    match at.checked_sub(1).map(|before| bytes[before]) {
        None => true,
        Some(b'\n') => true,
        Some(b'\r') => bytes.get(at) != Some(&b'\n'),
        Some(_) => false,
    }
}

/// The lines of `text`, each with its line break (the last may have
/// none). An empty text has no lines; a text ending with a break has no
/// empty line after it (as `str::split_inclusive`).
pub fn split_inclusive(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let bytes = rest.as_bytes();
        let end = match memchr::memchr2(b'\n', b'\r', bytes) {
            None => bytes.len(),
            Some(at) if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') => at + 2,
            Some(at) => at + 1,
        };
        let (line, after) = rest.split_at(end);
        rest = after;
        Some(line)
    })
}

/// A line of [`split_inclusive`] without its line break.
pub fn content(line: &str) -> &str {
    line.strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .or_else(|| line.strip_suffix('\r'))
        .unwrap_or(line)
}

/// The lines of `text` without their line breaks (as `str::lines`, with
/// Corral's line breaks).
pub fn split(text: &str) -> impl Iterator<Item = &str> {
    split_inclusive(text).map(content)
}

/// The line and column of byte `offset` of `text` (a character boundary),
/// where `text`'s first line is line 1.
pub fn position_at(text: &str, offset: usize) -> Pos {
    let bytes = text.as_bytes();
    let mut line = count(&bytes[..offset]);
    // At the LF of a CR LF, the line is the CR's.
    if !starts_line(bytes, offset) && offset > 0 && bytes[offset - 1] == b'\r' {
        line -= 1;
    }
    let line_start = (0..=offset)
        .rev()
        .find(|&at| starts_line(bytes, at))
        .unwrap_or(0);
    Pos {
        line: line as u32,
        col: text[line_start..offset].chars().count() as u32 + 1,
    }
}

/// Where `text`, whose first line is `first_line`, ends: just past its last
/// character, on its last line.
pub fn end(text: &str, first_line: u32) -> Pos {
    let pos = position_at(text, text.len());
    Pos {
        line: pos.line + first_line - 1,
        col: pos.col,
    }
}

/// The position, as Corral counts lines and columns, of what `serde_json`
/// reports at `line` and `column` of `bytes` (its lines end at `\n` alone,
/// and its columns count bytes).
pub fn from_serde_json(bytes: &[u8], line: usize, column: usize) -> Pos {
    let mut start = 0;
    for _ in 1..line {
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(at) => start += at + 1,
            None => break,
        }
    }
    let offset = (start + column.saturating_sub(1)).min(bytes.len());
    let before = match std::str::from_utf8(&bytes[..offset]) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    };
    position_at(before, before.len())
}

/// A YAML 1.1 line break that YAML 1.2 does not break lines at: NEL
/// (U+0085), LS (U+2028), PS (U+2029). go-yaml v2, which kubectl and the
/// API server's YAML decoding use, ends a line (and so a comment, or a
/// plain scalar) at each, where saphyr-parser reads it as text: the same
/// bytes would be two different objects. The byte offset of the first in
/// `text`, and its name.
pub fn yaml11_break(text: &str) -> Option<(usize, &'static str)> {
    // Every document is checked: an ASCII one (nearly all) at once, others
    // by the characters' UTF-8 bytes.
    if text.is_ascii() {
        return None;
    }
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = bytes[from..].iter().position(|&b| b == 0xC2 || b == 0xE2) {
        let at = from + found;
        match (bytes[at], bytes.get(at + 1), bytes.get(at + 2)) {
            (0xC2, Some(0x85), _) => return Some((at, "U+0085 (NEL, next line)")),
            (0xE2, Some(0x80), Some(0xA8)) => return Some((at, "U+2028 (LS, line separator)")),
            (0xE2, Some(0x80), Some(0xA9)) => {
                return Some((at, "U+2029 (PS, paragraph separator)"))
            }
            _ => from = at + 1,
        }
    }
    None
}

/// A text with the offsets of its lines, for finding line N at once.
pub struct Lines {
    text: Arc<str>,
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: Arc<str>) -> Lines {
        let mut starts = Vec::new();
        let mut offset = 0;
        for line in split_inclusive(&text) {
            starts.push(offset);
            offset += line.len();
        }
        // The empty last line of a text ending with a break (or of an
        // empty text) is a line too.
        if starts.is_empty() || text.ends_with(['\n', '\r']) {
            starts.push(text.len());
        }
        Lines { text, starts }
    }

    /// Line `n` (1-based), without its line break.
    pub fn line(&self, n: usize) -> Option<&str> {
        let start = *self.starts.get(n.checked_sub(1)?)?;
        let end = self.starts.get(n).copied().unwrap_or(self.text.len());
        self.text.get(start..end).map(content)
    }

    /// How many lines the text has.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cr_lf_and_crlf_each_end_one_line() {
        let text = "a\nb\r\nc\rd\r\re";
        assert_eq!(
            split_inclusive(text).collect::<Vec<_>>(),
            ["a\n", "b\r\n", "c\r", "d\r", "\r", "e"]
        );
        assert_eq!(
            split(text).collect::<Vec<_>>(),
            ["a", "b", "c", "d", "", "e"]
        );
        assert_eq!(count_breaks(text.as_bytes()), 5);
        assert_eq!(count(text.as_bytes()), 6);
        assert_eq!(count(b""), 1);
        assert_eq!(count(b"x\r\n"), 2);
        assert_eq!(split("x\n").collect::<Vec<_>>(), ["x"]);
        assert_eq!(split("").count(), 0);
    }

    #[test]
    fn positions_count_lines_and_code_points() {
        let text = "ab\r\nçd\ré\u{1F600}x\ny";
        let at = |needle: &str| position_at(text, text.find(needle).unwrap());
        assert_eq!(at("b"), Pos { line: 1, col: 2 });
        assert_eq!(at("\n"), Pos { line: 1, col: 4 });
        assert_eq!(at("d"), Pos { line: 2, col: 2 });
        assert_eq!(at("x"), Pos { line: 3, col: 3 });
        assert_eq!(at("y"), Pos { line: 4, col: 1 });
        assert_eq!(end(text, 10), Pos { line: 13, col: 2 });
        assert_eq!(end("a\r", 1), Pos { line: 2, col: 1 });
        assert_eq!(end("", 1), Pos { line: 1, col: 1 });
    }

    #[test]
    fn line_starts_are_never_inside_a_crlf() {
        let bytes = b"a\r\nb\rc\nd";
        let starts: Vec<usize> = (0..=bytes.len())
            .filter(|&i| starts_line(bytes, i))
            .collect();
        assert_eq!(starts, [0, 3, 5, 7]);
    }

    #[test]
    fn numbered_lines() {
        let lines = Lines::new(Arc::from("a\rb\r\nc\n"));
        assert_eq!(lines.len(), 4);
        assert_eq!(
            (1..=5).map(|n| lines.line(n)).collect::<Vec<_>>(),
            [Some("a"), Some("b"), Some("c"), Some(""), None]
        );
        assert_eq!(lines.line(0), None);
        assert_eq!(Lines::new(Arc::from("x")).line(1), Some("x"));
        assert_eq!(Lines::new(Arc::from("")).line(1), Some(""));
    }

    #[test]
    fn serde_json_positions_are_placed_by_corrals_lines() {
        let text = "{\"a\":\r \"é\",\n x}";
        let e = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
        assert_eq!((e.line(), e.column()), (2, 2));
        assert_eq!(
            from_serde_json(text.as_bytes(), e.line(), e.column()),
            Pos { line: 3, col: 2 }
        );
        let e = serde_json::from_str::<serde_json::Value>("{\"é\": x}").unwrap_err();
        assert_eq!(
            from_serde_json("{\"é\": x}".as_bytes(), e.line(), e.column()),
            Pos { line: 1, col: 7 }
        );
    }

    #[test]
    fn yaml11_breaks_are_found() {
        assert_eq!(yaml11_break("a: b\nc"), None);
        assert_eq!(yaml11_break("é\u{85}x").map(|(at, _)| at), Some(2));
        assert_eq!(yaml11_break("é\u{2028}").map(|(at, _)| at), Some(2));
        assert!(yaml11_break("\u{2029}").is_some());
        // Other characters with those lead bytes are text.
        assert_eq!(yaml11_break("\u{A0}\u{2014}\u{2027}\u{202A}"), None);
    }
}
