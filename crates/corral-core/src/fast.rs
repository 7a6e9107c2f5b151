//! A fast parser for the plain block-style YAML that nearly every Kubernetes
//! manifest is written in: block mappings and sequences, plain scalars (also
//! over several lines), single-line quoted scalars, literal and folded block
//! scalars, single-line flow collections, comments.
//!
//! It answers `None` for anything else (anchors, tags, multi-line quoted or
//! flow values, duplicate keys, odd syntax, deep nesting), and the
//! document is then parsed by saphyr-parser, which is the reference: where
//! this parser answers, its tree must equal saphyr's, positions included
//! (checked on the shared corpus and by the loader fuzz target).

use std::cell::Cell;
use std::collections::HashSet;

use compact_str::CompactString;

use crate::node::{Entry, Node, Pos, Scalar, ScalarKind, Value};

/// A chunk of a stream holding at most one document, parsed.
#[derive(Debug, PartialEq)]
pub struct FastDocument {
    /// How many documents the chunk holds: 0 for comments only, else 1.
    pub count: usize,
    /// The root, `None` for an empty document.
    pub root: Option<Node>,
}

/// Parse a chunk holding at most one document (optionally opened by a `---`
/// line).
pub fn parse_document(text: &str, first_line: u32, max_depth: usize) -> Option<FastDocument> {
    if !printable(text) {
        return None;
    }
    let raw_lines: Vec<&str> = crate::lines::split(text).collect();
    let mut lines = Vec::new();
    let mut seen_content = false;
    for (number, &raw) in (first_line..).zip(&raw_lines) {
        let content = raw.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if content.starts_with('\t') {
            return None;
        }
        let indent = raw.len() - content.len();
        if indent == 0 && !seen_content && content.starts_with("---") {
            let rest = &content[3..];
            let rest = rest.trim_start_matches(' ');
            if rest.is_empty() || (rest.starts_with('#') && rest.len() < content.len() - 3) {
                seen_content = true;
                continue;
            }
            return None;
        }
        if indent == 0
            && (content.starts_with("---")
                || content.starts_with("...")
                || content.starts_with('%'))
        {
            return None;
        }
        seen_content = true;
        lines.push(Line {
            number,
            text: raw,
            start: indent,
            ascii: raw.is_ascii(),
        });
    }
    if lines.is_empty() {
        return Some(FastDocument {
            count: usize::from(seen_content),
            root: None,
        });
    }
    let mut parser = FastParser {
        ends_with_newline: text.ends_with(['\n', '\r']),
        raw: raw_lines,
        first_line,
        lines,
        index: 0,
        max_depth,
        items: Vec::new(),
        entries: Vec::new(),
    };
    let root = parser.block_node(0)?;
    if parser.index != parser.lines.len() {
        return None;
    }
    Some(FastDocument {
        count: 1,
        root: Some(root),
    })
}

/// Whether `text` holds only characters YAML allows in a stream (and no
/// byte-order mark, which may only open it); saphyr reports the others.
fn printable(text: &str) -> bool {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let bad = match b {
            b'\t' | b'\n' | b'\r' => false,
            0..0x20 | 0x7f => true,
            // C1 controls, U+0080 to U+009F (NEL included).
            0xC2 => bytes.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n)),
            // U+FEFF, U+FFFE, U+FFFF.
            0xEF => matches!(
                (bytes.get(i + 1), bytes.get(i + 2)),
                (Some(0xBB), Some(0xBF)) | (Some(0xBF), Some(0xBE | 0xBF))
            ),
            _ => false,
        };
        if bad {
            return false;
        }
    }
    true
}

/// A line with content. `start` is the byte offset where the content being
/// parsed begins: after the indentation, or after a `- ` of a sequence item.
#[derive(Clone, Copy)]
struct Line<'a> {
    number: u32,
    text: &'a str,
    start: usize,
    /// Whether the line is ASCII, so columns are byte offsets (found once
    /// per line, not per node: a long line holds many nodes).
    ascii: bool,
}

impl<'a> Line<'a> {
    fn content(&self) -> &'a str {
        &self.text[self.start..]
    }

    fn pos(&self, byte: usize) -> Pos {
        let col = if self.ascii {
            byte
        } else {
            self.text[..byte].chars().count()
        };
        Pos {
            line: self.number,
            col: col as u32 + 1,
        }
    }

    fn is_seq_item(&self) -> bool {
        let c = self.content();
        c == "-" || c.starts_with("- ")
    }
}

struct FastParser<'a> {
    /// Whether the last line ends with a line break (block scalars at the
    /// end of a document depend on it).
    ends_with_newline: bool,
    /// Every line of the document, blank and comment lines included.
    raw: Vec<&'a str>,
    first_line: u32,
    /// Items and entries of the collections being built, innermost last:
    /// each collection is then allocated once at its exact size.
    items: Vec<Node>,
    entries: Vec<Entry>,
    lines: Vec<Line<'a>>,
    index: usize,
    max_depth: usize,
}

impl<'a> FastParser<'a> {
    fn current(&self) -> Option<Line<'a>> {
        self.lines.get(self.index).copied()
    }

    /// The block node starting at the current line's `start`.
    fn block_node(&mut self, depth: usize) -> Option<Node> {
        if depth >= self.max_depth {
            return None;
        }
        let line = self.current()?;
        if line.is_seq_item() {
            self.block_seq(line.start, depth, false)
        } else if key_end(line.content()).is_some() {
            self.block_map(line.start, depth)
        } else {
            None
        }
    }

    /// A block sequence whose dashes stand at `indent`. An indentless one
    /// (`key:` then `- item` at the key's indent) is placed, as saphyr places
    /// it, at its first item's value.
    fn block_seq(&mut self, indent: usize, depth: usize, indentless: bool) -> Option<Node> {
        let mut pos = None;
        let base = self.items.len();
        while let Some(line) = self.current() {
            if line.start != indent || !line.is_seq_item() {
                if line.start > indent {
                    return None;
                }
                break;
            }
            let after_dash = &line.content()[1..];
            let value_start =
                indent + 1 + (after_dash.len() - after_dash.trim_start_matches(' ').len());
            let rest = &line.text[value_start..];
            pos.get_or_insert(line.pos(if indentless { value_start } else { indent }));
            if rest.is_empty() || rest.starts_with('#') {
                if indentless {
                    return None;
                }
                // The item's value is on the following lines.
                self.index += 1;
                match self.current() {
                    Some(next) if next.start > indent => {
                        let item = self.block_node(depth + 1)?;
                        self.items.push(item);
                    }
                    _ => return None,
                }
                continue;
            }
            let item = Line {
                start: value_start,
                ..line
            };
            if item.is_seq_item() || key_end(item.content()).is_some() {
                self.lines[self.index] = item;
                let item = self.block_node(depth + 1)?;
                self.items.push(item);
            } else {
                let item = self.value_at(item, value_start, indent, depth + 1)?;
                self.items.push(item);
            }
        }
        let items = self.items.drain(base..).collect();
        Some(Node::seq(pos?, items))
    }

    fn block_map(&mut self, indent: usize, depth: usize) -> Option<Node> {
        let first = self.current()?;
        let pos = first.pos(indent);
        let base = self.entries.len();
        let mut keys = KeySet::default();
        while let Some(line) = self.current() {
            if line.start != indent {
                if line.start > indent {
                    return None;
                }
                break;
            }
            if line.is_seq_item() {
                break;
            }
            let content = line.content();
            let (key_len, colon) = key_end(content)?;
            let key = parse_key(&content[..key_len])?;
            // A merge key (`<<`) merges its value into this mapping: saphyr's path.
            if key == "<<" {
                return None;
            }
            if !keys.insert(&self.entries[base..], &key) {
                return None;
            }
            let key_pos = line.pos(indent);
            let after = &content[colon + 1..];
            let value_start =
                indent + colon + 1 + (after.len() - after.trim_start_matches(' ').len());
            let rest = &line.text[value_start..];
            let value = if rest.is_empty() || rest.starts_with('#') {
                self.index += 1;
                match self.current() {
                    Some(next) if next.start > indent => self.block_node(depth + 1)?,
                    Some(next) if next.start == indent && next.is_seq_item() => {
                        self.block_seq(indent, depth + 1, true)?
                    }
                    // An empty value: null, placed (as saphyr does) at the colon.
                    _ => scalar_node(line.pos(indent + colon), Scalar::plain("")),
                }
            } else {
                self.value_at(line, value_start, indent, depth + 1)?
            };
            self.entries.push(Entry {
                key,
                key_pos,
                value,
            });
        }
        let entries = self.entries.drain(base..).collect();
        Some(Node::map(pos, entries))
    }
    /// A value that starts on the line of its key or dash, whose parent
    /// collection stands at `parent`: a block scalar, or an inline value
    /// (a plain scalar possibly continued on more-indented lines).
    fn value_at(
        &mut self,
        line: Line<'a>,
        start: usize,
        parent: usize,
        depth: usize,
    ) -> Option<Node> {
        let text = &line.text[start..];
        let quote = text.as_bytes()[0];
        let node = if text.starts_with('|') || text.starts_with('>') {
            self.block_scalar(line, start, parent)?
        } else if matches!(quote, b'"' | b'\'') && closing_quote(quote, &text[1..]).is_none() {
            self.multiline_quoted(line, start, parent)?
        } else {
            let mut node = inline_value(&line, start, depth, self.max_depth)?;
            self.index += 1;
            if self.current().is_some_and(|next| next.start > parent) {
                // Only a plain scalar with no comment after it continues.
                if matches!(text.as_bytes()[0], b'"' | b'\'' | b'[' | b'{') || text.contains(" #") {
                    return None;
                }
                let Value::Scalar(scalar) = &node.value else {
                    return None;
                };
                let folded = self.plain_continuation(&scalar.text, line.number, parent)?;
                node.value = Value::Scalar(Scalar::plain(&folded));
            }
            node
        };
        if self.current().is_some_and(|next| next.start > parent) {
            return None;
        }
        Some(node)
    }

    /// A quoted scalar that goes on over the following lines: each line
    /// break folds to a space, each blank line to a newline.
    fn multiline_quoted(&mut self, line: Line<'a>, start: usize, parent: usize) -> Option<Node> {
        let quote = line.text.as_bytes()[start];
        let mut folded = String::from(line.text[start + 1..].trim_end_matches(' '));
        let mut breaks = 0;
        let mut number = line.number;
        loop {
            number += 1;
            let raw = *self.raw.get((number - self.first_line) as usize)?;
            let content = raw.trim_start_matches(' ');
            if content.is_empty() {
                breaks += 1;
                continue;
            }
            if raw.len() - content.len() <= parent || content.starts_with('\t') {
                return None;
            }
            if breaks == 0 {
                folded.push(' ');
            }
            for _ in 0..breaks {
                folded.push('\n');
            }
            breaks = 0;
            match closing_quote(quote, content) {
                Some(close) => {
                    folded.push_str(&content[..close]);
                    let rest = &content[close + 1..];
                    let after = rest.trim_start_matches(' ');
                    if !(after.is_empty() || (after.starts_with('#') && after.len() < rest.len())) {
                        return None;
                    }
                    break;
                }
                None => folded.push_str(content.trim_end_matches(' ')),
            }
        }
        // Unescape the folded body as a one-line scalar of the same quote.
        let quoted = format!("{q}{folded}{q}", q = quote as char);
        let (text, used) = match quote {
            b'"' => double_quoted(&quoted)?,
            _ => single_quoted(&quoted)?,
        };
        if used != quoted.len() || (quote == b'"' && folded.contains('\\')) {
            // An escape at a line end joins lines without a space: not handled here.
            return None;
        }
        while self.current().is_some_and(|l| l.number <= number) {
            self.index += 1;
        }
        Some(scalar_node(
            line.pos(start),
            Scalar {
                text,
                kind: ScalarKind::Str,
            },
        ))
    }

    fn raw_line(&self, number: u32) -> &'a str {
        self.raw[(number - self.first_line) as usize]
    }

    /// Fold the lines continuing a plain scalar: a line break becomes a
    /// space, and each blank line a newline.
    fn plain_continuation(
        &mut self,
        first: &str,
        first_number: u32,
        parent: usize,
    ) -> Option<CompactString> {
        let mut folded = CompactString::new(first);
        let mut previous = first_number;
        while let Some(next) = self.current() {
            if next.start <= parent {
                break;
            }
            let mut breaks = 0;
            for number in previous + 1..next.number {
                // A comment line ends the scalar; text after it is an error.
                if !self.raw_line(number).trim_start_matches(' ').is_empty() {
                    return None;
                }
                breaks += 1;
            }
            let content = next.content().trim_end_matches(' ');
            let bytes = content.as_bytes();
            if bytes[0] == b'#'
                || (matches!(bytes[0], b'-' | b'?' | b':')
                    && matches!(bytes.get(1), None | Some(b' ')))
                || content.contains(": ")
                || content.ends_with(':')
                || content.contains(" #")
                || content.contains('\t')
            {
                return None;
            }
            if breaks == 0 {
                folded.push(' ');
            }
            for _ in 0..breaks {
                folded.push('\n');
            }
            folded.push_str(content);
            previous = next.number;
            self.index += 1;
        }
        Some(folded)
    }

    /// A literal (`|`) or folded (`>`) block scalar whose header is at
    /// `start` of `line`, inside a collection standing at `parent`.
    fn block_scalar(&mut self, line: Line<'a>, start: usize, parent: usize) -> Option<Node> {
        let header = &line.text[start..];
        let literal = header.starts_with('|');
        let (chomp, rest) = match header.as_bytes().get(1) {
            Some(b'-') => (Chomp::Strip, &header[2..]),
            Some(b'+') => (Chomp::Keep, &header[2..]),
            _ => (Chomp::Clip, &header[1..]),
        };
        let after = rest.trim_start_matches(' ');
        if !(after.is_empty() || (after.starts_with('#') && after.len() < rest.len())) {
            // Indentation indicators and anything unusual.
            return None;
        }
        let first = (line.number - self.first_line + 1) as usize;
        let content_line = *self.raw.get(first)?;
        let indent = content_line.len() - content_line.trim_start_matches(' ').len();
        if indent <= parent || indent == content_line.len() {
            // Empty, or opening with blank lines: rare, and subtle.
            return None;
        }
        let mut last = first;
        let mut end = first;
        while let Some(raw) = self.raw.get(end) {
            let trimmed = raw.trim_start_matches(' ');
            if trimmed.is_empty() {
                if raw.len() > indent && (!literal || end > last) {
                    return None;
                }
            } else if raw.len() - trimmed.len() < indent {
                break;
            } else {
                last = end;
            }
            end += 1;
        }
        // At the very end of the text, the final line break (or its absence)
        // and kept trailing lines follow rules left to saphyr.
        if end == self.raw.len() && (!self.ends_with_newline || matches!(chomp, Chomp::Keep)) {
            return None;
        }
        let body = &self.raw[first..=last];
        let mut text = CompactString::default();
        if literal {
            for (i, raw) in body.iter().enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                text.push_str(raw.get(indent..).unwrap_or(""));
            }
        } else {
            let mut breaks = 0;
            for (i, raw) in body.iter().enumerate() {
                let Some(content) = raw.get(indent..).filter(|c| !c.is_empty()) else {
                    breaks += 1;
                    continue;
                };
                if content.starts_with([' ', '\t']) {
                    // More-indented lines keep their breaks: not handled here.
                    return None;
                }
                if i > 0 && breaks == 0 {
                    text.push(' ');
                }
                for _ in 0..breaks {
                    text.push('\n');
                }
                breaks = 0;
                text.push_str(content);
            }
        }
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => text.push('\n'),
            Chomp::Keep => {
                for _ in last..end {
                    text.push('\n');
                }
            }
        }
        let last_number = self.first_line + last as u32;
        while self.current().is_some_and(|l| l.number <= last_number) {
            self.index += 1;
        }
        Some(scalar_node(
            Pos {
                line: line.number + 1,
                col: indent as u32 + 1,
            },
            Scalar {
                text,
                kind: ScalarKind::Str,
            },
        ))
    }
}

/// The keys of a mapping being parsed, to refuse duplicates (left to saphyr,
/// which warns): a small mapping is searched, a large one hashed, so a
/// mapping of many keys costs linear time.
#[derive(Default)]
struct KeySet {
    large: Option<HashSet<CompactString>>,
}

/// Mappings up to this many entries are searched for a duplicate key.
const SEARCHED_KEYS: usize = 16;

impl KeySet {
    /// Add `key` to the keys of `entries` (the mapping so far); false if it
    /// is there already.
    fn insert(&mut self, entries: &[Entry], key: &str) -> bool {
        if let Some(set) = &mut self.large {
            return set.insert(key.into());
        }
        if entries.iter().any(|e| e.key == key) {
            return false;
        }
        if entries.len() >= SEARCHED_KEYS {
            let mut set: HashSet<CompactString> = entries.iter().map(|e| e.key.clone()).collect();
            set.insert(key.into());
            self.large = Some(set);
        }
        true
    }
}

/// How a block scalar treats its final line breaks.
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// Where a block mapping key ends: `(key length, offset of its colon)`, if
/// the content is `key: ...` or `key:` with a plain or simply quoted key.
fn key_end(content: &str) -> Option<(usize, usize)> {
    let (key_len, colon) = key_end_unbounded(content)?;
    // YAML limits implicit keys to 1024 characters; saphyr reports longer ones.
    (key_len <= MAX_KEY_BYTES).then_some((key_len, colon))
}

/// Keys longer than this (in bytes, so at most this many characters) are
/// left to saphyr.
const MAX_KEY_BYTES: usize = 1000;

fn key_end_unbounded(content: &str) -> Option<(usize, usize)> {
    let bytes = content.as_bytes();
    match bytes.first()? {
        b'"' | b'\'' => {
            let quote = bytes[0];
            let close = content[1..].find(quote as char)? + 1;
            let colon = close + 1;
            (bytes.get(colon) == Some(&b':') && matches!(bytes.get(colon + 1), None | Some(b' ')))
                .then_some((colon, colon))
        }
        first if is_indicator(*first) => None,
        _ => {
            let mut search = 0;
            loop {
                let colon = search + content[search..].find(':')?;
                match bytes.get(colon + 1) {
                    None | Some(b' ') => {
                        let key = &content[..colon];
                        if key.ends_with(' ')
                            || key.contains(" #")
                            || key.contains(['\t', '{', '}', '[', ']', ','])
                        {
                            return None;
                        }
                        return Some((colon, colon));
                    }
                    _ => search = colon + 1,
                }
            }
        }
    }
}

fn parse_key(text: &str) -> Option<CompactString> {
    let (key, used) = match text.as_bytes()[0] {
        b'"' => double_quoted(text)?,
        b'\'' => single_quoted(text)?,
        _ => return Some(Scalar::plain(text).as_key()),
    };
    (used == text.len()).then_some(key)
}

/// The offset of the quote that closes a scalar opened by `quote`, in the
/// text after the opening quote.
fn closing_quote(quote: u8, text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// YAML's indicator characters, which a plain scalar may not start with.
fn is_indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

/// A value written on the line of its key or `- `: a scalar or a flow
/// collection, followed by nothing but an optional comment.
fn inline_value(line: &Line<'_>, start: usize, depth: usize, max_depth: usize) -> Option<Node> {
    let text = &line.text[start..];
    let (node, used) = match text.as_bytes()[0] {
        b'[' | b'{' => {
            let mut flow = Flow {
                line,
                max_depth,
                cursor: Cell::new((0, 0)),
            };
            let (node, end) = flow.value(start, depth)?;
            (node, end - start)
        }
        b'"' | b'\'' => {
            let (scalar, used) = quoted(text)?;
            (scalar_node(line.pos(start), scalar), used)
        }
        b'-' | b'?' | b':' if text.len() == 1 || text.as_bytes()[1] == b' ' => return None,
        b'-' | b'?' | b':' => plain_block(line, start)?,
        first if is_indicator(first) => return None,
        _ => plain_block(line, start)?,
    };
    let rest = &text[used..];
    let trimmed = rest.trim_start_matches(' ');
    if !(trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())) {
        return None;
    }
    Some(node)
}

fn scalar_node(pos: Pos, scalar: Scalar) -> Node {
    Node {
        pos,
        value: Value::Scalar(scalar),
    }
}

/// A single-line quoted scalar at the start of `text`: the string and the
/// bytes it took.
fn quoted(text: &str) -> Option<(Scalar, usize)> {
    let (s, used) = match text.as_bytes().first()? {
        b'"' => double_quoted(text)?,
        b'\'' => single_quoted(text)?,
        _ => return None,
    };
    Some((
        Scalar {
            text: s,
            kind: ScalarKind::Str,
        },
        used,
    ))
}

/// A single-line plain scalar in block context: it ends at ` #` or the end
/// of the line; `: ` inside it is an error saphyr should report.
fn plain_block(line: &Line<'_>, start: usize) -> Option<(Node, usize)> {
    let text = &line.text[start..];
    let end = text.find(" #").unwrap_or(text.len());
    let value = text[..end].trim_end_matches(' ');
    if value.contains(": ") || value.ends_with(':') || value.contains('\t') {
        return None;
    }
    Some((
        scalar_node(line.pos(start), Scalar::plain(value)),
        value.len(),
    ))
}

/// A double-quoted scalar at the start of `text`, closed on the same line:
/// its value and the bytes it took.
fn double_quoted(text: &str) -> Option<(CompactString, usize)> {
    let mut out = CompactString::default();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let (_, escape) = chars.next()?;
                out.push(match escape {
                    '\\' => '\\',
                    '"' => '"',
                    '/' => '/',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    ' ' => ' ',
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        if hex.len() != 4 {
                            return None;
                        }
                        char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                    }
                    _ => return None,
                });
            }
            _ => out.push(c),
        }
    }
    None
}

fn single_quoted(text: &str) -> Option<(CompactString, usize)> {
    let mut out = CompactString::default();
    let bytes = text.as_bytes();
    let mut i = 1;
    let mut run = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            out.push_str(&text[run..i]);
            if bytes.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                run = i;
                continue;
            }
            return Some((out, i + 1));
        }
        i += 1;
    }
    None
}

/// Single-line flow collections: `[a, "b"]`, `{k: v, n: {m: 1}}`.
struct Flow<'l, 'a> {
    line: &'l Line<'a>,
    max_depth: usize,
    /// A byte offset in a non-ASCII line and its character column: nodes
    /// are met left to right, so columns are counted on from the last.
    cursor: Cell<(usize, usize)>,
}

impl Flow<'_, '_> {
    fn pos(&self, byte: usize) -> Pos {
        if self.line.ascii {
            return self.line.pos(byte);
        }
        let (from, chars) = match self.cursor.get() {
            (at, chars) if at <= byte => (at, chars),
            _ => (0, 0),
        };
        let chars = chars + self.line.text[from..byte].chars().count();
        self.cursor.set((byte, chars));
        Pos {
            line: self.line.number,
            col: chars as u32 + 1,
        }
    }

    fn skip_spaces(&self, mut at: usize) -> usize {
        let bytes = self.line.text.as_bytes();
        while bytes.get(at) == Some(&b' ') {
            at += 1;
        }
        at
    }

    /// A flow value starting at byte `at`; returns it and the byte after it.
    fn value(&mut self, at: usize, depth: usize) -> Option<(Node, usize)> {
        if depth >= self.max_depth {
            return None;
        }
        let text = self.line.text;
        let pos = self.pos(at);
        match text.as_bytes().get(at)? {
            b'[' => {
                let mut items = Vec::new();
                let mut at = self.skip_spaces(at + 1);
                if text.as_bytes().get(at) == Some(&b']') {
                    return Some((Node::seq(pos, items), at + 1));
                }
                loop {
                    let (item, end) = self.value(at, depth + 1)?;
                    items.push(item);
                    at = self.skip_spaces(end);
                    match text.as_bytes().get(at)? {
                        b',' => at = self.skip_spaces(at + 1),
                        b']' => return Some((Node::seq(pos, items), at + 1)),
                        _ => return None,
                    }
                    if matches!(text.as_bytes().get(at), Some(b']' | b',')) {
                        return None;
                    }
                }
            }
            b'{' => {
                let mut entries: Vec<Entry> = Vec::new();
                let mut keys = KeySet::default();
                let mut at = self.skip_spaces(at + 1);
                if text.as_bytes().get(at) == Some(&b'}') {
                    return Some((Node::map(pos, entries), at + 1));
                }
                loop {
                    let key_pos = self.pos(at);
                    let (key, end) = self.scalar(at)?;
                    if end - at > MAX_KEY_BYTES {
                        return None;
                    }
                    let Value::Scalar(key) = key.value else {
                        return None;
                    };
                    let key = Scalar::string(&key.as_key());
                    if key.text == "<<" {
                        return None;
                    }
                    if !keys.insert(&entries, &key.text) {
                        return None;
                    }
                    if text.as_bytes().get(end) != Some(&b':')
                        || text.as_bytes().get(end + 1) != Some(&b' ')
                    {
                        return None;
                    }
                    let (value, end) = self.value(self.skip_spaces(end + 1), depth + 1)?;
                    entries.push(Entry {
                        key: key.text,
                        key_pos,
                        value,
                    });
                    at = self.skip_spaces(end);
                    match text.as_bytes().get(at)? {
                        b',' => at = self.skip_spaces(at + 1),
                        b'}' => return Some((Node::map(pos, entries), at + 1)),
                        _ => return None,
                    }
                    if matches!(text.as_bytes().get(at), Some(b'}' | b',')) {
                        return None;
                    }
                }
            }
            _ => self.scalar(at),
        }
    }

    /// A scalar inside a flow collection.
    fn scalar(&self, at: usize) -> Option<(Node, usize)> {
        let text = &self.line.text[at..];
        let pos = self.pos(at);
        match text.as_bytes().first()? {
            b'"' | b'\'' => {
                let (scalar, used) = quoted(text)?;
                Some((scalar_node(pos, scalar), at + used))
            }
            first if is_indicator(*first) => None,
            _ => {
                let bytes = text.as_bytes();
                let mut end = 0;
                while end < bytes.len() {
                    match bytes[end] {
                        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'\t' => break,
                        b':' if matches!(
                            bytes.get(end + 1),
                            None | Some(b' ' | b',' | b']' | b'}')
                        ) =>
                        {
                            break
                        }
                        _ => end += 1,
                    }
                }
                if bytes.get(end) == Some(&b'#') {
                    return None;
                }
                let value = text[..end].trim_end_matches(' ');
                if value.is_empty() {
                    return None;
                }
                Some((scalar_node(pos, Scalar::plain(value)), at + value.len()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_and_control_characters_are_left_to_saphyr() {
        let long_key = format!("{}: v\n", "k".repeat(1100));
        assert!(parse_document(&long_key, 1, 256).is_none());
        assert!(parse_document("a: b\u{6}c\n", 1, 256).is_none());
        assert!(parse_document("a: b\u{85}c\n", 1, 256).is_none());
        // A lone carriage return ends a line, as a line feed does.
        assert_eq!(
            parse_document("a: b\rc: |\r  x\r", 1, 256),
            parse_document("a: b\nc: |\n  x\n", 1, 256)
        );
        assert!(parse_document("a: b\rc: d\n", 1, 256).is_some());
        assert!(parse_document("a: b\r\nc: d\r\n", 1, 256).is_some());
        assert!(parse_document("a: bc\n", 1, 256).is_some());
        assert!(parse_document("a:\n  <<: {b: c}\n", 1, 256).is_none());
        assert!(parse_document("a: {<<: {b: c}}\n", 1, 256).is_none());
        assert!(parse_document("a: |+\n  x\n  \n ", 1, 256).is_none());
        assert!(parse_document("a: |\n  x", 1, 256).is_none());
        assert!(parse_document("a: |\n  x\nb: c\n", 1, 256).is_some());
    }

    #[test]
    fn typical_deployment_takes_the_fast_path() {
        let text = include_str!("../../../examples/web.yaml");
        for doc in text.split("---\n") {
            assert!(parse_document(doc, 1, 256).is_some(), "{doc}");
        }
    }
}
