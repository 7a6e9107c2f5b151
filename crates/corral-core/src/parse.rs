//! Builds [`Node`] trees from saphyr-parser's event stream, with bounds on
//! nesting depth and alias expansion, duplicate-key warnings, and merge keys.
//!
//! The builder is iterative (an explicit stack), so nesting depth is limited
//! by [`Limits::max_depth`] and never by the thread's stack.

use std::collections::HashMap;
use std::sync::Arc;

use compact_str::CompactString;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span, Tag};

use crate::node::{Entry, Node, Pos, Scalar, ScalarKind, Value};
use crate::Limits;

/// One YAML document: its root, `None` for an empty document.
#[derive(Debug)]
pub struct Document {
    pub root: Option<Node>,
}

/// A problem found while parsing, at a position in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseIssue {
    pub pos: Pos,
    pub message: String,
    pub fatal: bool,
}

pub struct ParseOutput {
    pub documents: Vec<Document>,
    /// Warnings, and at most one fatal error (parsing stops at the first).
    pub issues: Vec<ParseIssue>,
}

/// Parse `text`, whose first line is line `first_line` of its file.
pub fn parse_stream(text: &str, first_line: u32, limits: &Limits) -> ParseOutput {
    let mut builder = Builder {
        limits,
        line_offset: first_line - 1,
        end: end_of(text, first_line),
        unlisted_duplicates: 0,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        alias_bytes: 0,
        documents: Vec::new(),
        issues: Vec::new(),
        root: None,
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let result = match next {
            Ok((event, span)) => builder.on_event(event, span),
            Err(e) => Err(builder.scan_error(&e)),
        };
        if let Err(issue) = result {
            builder.issues.push(issue);
            break;
        }
    }
    ParseOutput {
        documents: builder.documents,
        issues: builder.issues,
    }
}

/// Where `text` (whose first line is `first_line`) ends: past its last
/// character, on its last line.
fn end_of(text: &str, first_line: u32) -> Pos {
    crate::lines::end(text, first_line)
}

/// A node being built. Anchored subtrees are shared, not copied: an anchor
/// and each of its aliases hold one [`Arc`], and the tree is expanded into
/// plain [`Node`]s once, when its document ends (see [`Built::finish`]). So a
/// chain of nested anchors costs its own size, and aliases cost what they
/// expand to, which the alias budget bounds.
#[derive(Clone)]
struct Built {
    pos: Pos,
    value: BuiltValue,
}

#[derive(Clone)]
enum BuiltValue {
    Scalar(Scalar),
    Seq(Vec<Built>),
    Map(Vec<BuiltEntry>),
    /// An anchored node (where it is written, or where an alias repeats it).
    Shared(Arc<Built>),
}

#[derive(Clone)]
struct BuiltEntry {
    key: CompactString,
    key_pos: Pos,
    value: Built,
}

/// What a subtree expands to: nodes, bytes of keys and scalars, and how
/// many collections deep it nests (0 for a scalar).
#[derive(Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
    height: usize,
}

impl Size {
    fn add(&mut self, child: Size) {
        self.nodes = self.nodes.saturating_add(child.nodes);
        self.bytes = self.bytes.saturating_add(child.bytes);
        self.height = self.height.max(child.height + 1);
    }
}

impl Built {
    /// The plain tree: shared subtrees are moved where this is their last
    /// holder, copied where not.
    fn finish(self) -> Node {
        let value = match self.value {
            BuiltValue::Scalar(scalar) => Value::Scalar(scalar),
            BuiltValue::Seq(items) => {
                return Node::seq(self.pos, items.into_iter().map(Built::finish).collect())
            }
            BuiltValue::Map(entries) => {
                return Node::map(
                    self.pos,
                    entries
                        .into_iter()
                        .map(|e| Entry {
                            key: e.key,
                            key_pos: e.key_pos,
                            value: e.value.finish(),
                        })
                        .collect(),
                )
            }
            BuiltValue::Shared(shared) => {
                let inner = Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone());
                // The copy's root is where it is written (the alias); its
                // fields keep the anchor's positions, where they are written.
                let mut node = inner.finish();
                node.pos = self.pos;
                return node;
            }
        };
        Node {
            pos: self.pos,
            value,
        }
    }

    /// The node itself, looking through sharing.
    fn resolved(&self) -> &Built {
        let mut node = self;
        while let BuiltValue::Shared(inner) = &node.value {
            node = inner;
        }
        node
    }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Built>,
        size: Size,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<BuiltEntry>,
        key: Option<(CompactString, Pos)>,
        /// Each merge key's value, with how many entries preceded it.
        merges: Vec<(usize, Built)>,
        size: Size,
    },
}

struct Builder<'a> {
    limits: &'a Limits,
    line_offset: u32,
    /// Just past the text's last character.
    end: Pos,
    /// Duplicate keys past [`MAX_DUPLICATE_WARNINGS`] in this document.
    unlisted_duplicates: usize,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Arc<Built>, Size)>,
    /// Nodes and bytes that aliases have added to this document.
    alias_nodes: usize,
    alias_bytes: usize,
    documents: Vec<Document>,
    issues: Vec<ParseIssue>,
    root: Option<Built>,
}

/// Duplicate-key warnings listed from one parse; the rest are counted in
/// one warning (200,000 duplicates do not print 200,000 lines).
const MAX_DUPLICATE_WARNINGS: usize = 100;

/// saphyr-parser's own bound on flow nesting (a `u8` level).
const SAPHYR_FLOW_LEVELS: usize = 255;

impl Builder<'_> {
    fn pos(&self, span: &Span) -> Pos {
        self.at(&span.start)
    }

    /// Where `mark` is. saphyr-parser counts lines as Corral does
    /// ([`crate::lines`]: YAML 1.2's line breaks) and columns in characters.
    fn at(&self, mark: &Marker) -> Pos {
        Pos {
            line: mark.line() as u32 + self.line_offset,
            col: mark.col() as u32 + 1,
        }
    }

    fn scan_error(&self, e: &ScanError) -> ParseIssue {
        // At the end of the text, saphyr's marker may stand on a line
        // after the last: the error is at the end of the last line.
        let mut pos = self.at(e.marker());
        if pos.line > self.end.line {
            pos = self.end;
        }
        let message = if e.info() == "recursion limit exceeded"
            && self.limits.max_depth < SAPHYR_FLOW_LEVELS
        {
            // saphyr's scanner reads a run of brackets ahead of the events
            // that --max-depth is checked on: where it stops, nesting is
            // deeper than --max-depth too.
            self.too_deep(pos).message
        } else if e.info() == "recursion limit exceeded" {
            // Flow collections nested past saphyr's bound, which --max-depth
            // (when higher) cannot raise.
            format!(
                "nesting deeper than {SAPHYR_FLOW_LEVELS} levels of flow collections ([...] or {{...}}), the parser's own bound (--max-depth is {}, and cannot raise it for flow collections)",
                self.limits.max_depth
            )
        } else {
            e.info().to_string()
        };
        ParseIssue {
            pos,
            message,
            fatal: true,
        }
    }

    fn fatal(pos: Pos, message: String) -> ParseIssue {
        ParseIssue {
            pos,
            message,
            fatal: true,
        }
    }

    fn too_deep(&self, pos: Pos) -> ParseIssue {
        Self::fatal(
            pos,
            format!(
                "nesting deeper than {} levels; raise --max-depth if it is genuine",
                self.limits.max_depth
            ),
        )
    }

    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), ParseIssue> {
        let pos = self.pos(&span);
        match event {
            Event::DocumentStart(_) => {
                self.root = None;
                self.anchors.clear();
                self.alias_nodes = 0;
                self.alias_bytes = 0;
            }
            Event::DocumentEnd => {
                if self.unlisted_duplicates > 0 {
                    self.issues.push(ParseIssue {
                        pos,
                        message: format!(
                            "{} more duplicate keys in this document (the last value of each is used)",
                            self.unlisted_duplicates
                        ),
                        fatal: false,
                    });
                    self.unlisted_duplicates = 0;
                }
                // Dropped first, so anchored subtrees that no alias repeats
                // are moved into the tree, not copied.
                self.anchors.clear();
                self.documents.push(Document {
                    root: self.root.take().map(Built::finish),
                });
            }
            Event::Scalar(text, style, anchor, tag) => {
                let scalar = match tag.as_deref() {
                    Some(tag) => tagged_scalar(tag, &text).map_err(|m| Self::fatal(pos, m))?,
                    None if style == ScalarStyle::Plain => Scalar::plain(&text),
                    None => Scalar::string(&text),
                };
                let size = Size {
                    nodes: 1,
                    bytes: scalar.text.len(),
                    height: 0,
                };
                let node = Built {
                    pos,
                    value: BuiltValue::Scalar(scalar),
                };
                self.complete(node, size, anchor)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.push(
                    Frame::Seq {
                        pos,
                        anchor,
                        items: Vec::new(),
                        size: Size {
                            nodes: 1,
                            bytes: 0,
                            height: 1,
                        },
                    },
                    pos,
                )?;
            }
            Event::MappingStart(anchor, _) => {
                self.push(
                    Frame::Map {
                        pos,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                        merges: Vec::new(),
                        size: Size {
                            nodes: 1,
                            bytes: 0,
                            height: 1,
                        },
                    },
                    pos,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, size, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        pos,
                        anchor,
                        items,
                        size,
                    }) => (
                        Built {
                            pos,
                            value: BuiltValue::Seq(items),
                        },
                        size,
                        anchor,
                    ),
                    Some(Frame::Map {
                        pos,
                        anchor,
                        mut entries,
                        merges,
                        size,
                        ..
                    }) => {
                        let duplicates = self.warn_duplicates(&entries);
                        if !merges.is_empty() {
                            // Merges keep their place among the entries.
                            apply_merges(&mut entries, merges);
                        } else if duplicates {
                            dedupe_last_wins(&mut entries);
                        }
                        (
                            Built {
                                pos,
                                value: BuiltValue::Map(entries),
                            },
                            size,
                            anchor,
                        )
                    }
                    None => return Err(Self::fatal(pos, "unbalanced collection end".into())),
                };
                self.complete(node, size, anchor)?;
            }
            Event::Alias(id) => {
                let Some((target, size)) = self.anchors.get(&id) else {
                    return Err(Self::fatal(pos, "alias to an unknown anchor".into()));
                };
                let (target, size) = (target.clone(), *size);
                let nodes = self.alias_nodes.saturating_add(size.nodes);
                if nodes > self.limits.max_alias_nodes {
                    return Err(Self::fatal(
                        pos,
                        format!(
                            "alias expansion exceeds {} nodes in this document (a \"billion laughs\" document?); raise --max-alias-nodes if it is genuine",
                            self.limits.max_alias_nodes
                        ),
                    ));
                }
                let bytes = self.alias_bytes.saturating_add(size.bytes);
                if bytes > self.limits.max_document_size {
                    return Err(Self::fatal(
                        pos,
                        format!(
                            "alias expansion exceeds {} bytes in this document (the document size limit; a \"billion laughs\" document?); raise --max-document-size if it is genuine",
                            self.limits.max_document_size
                        ),
                    ));
                }
                if self.stack.len() + size.height > self.limits.max_depth {
                    return Err(self.too_deep(pos));
                }
                self.alias_nodes = nodes;
                self.alias_bytes = bytes;
                let copy = Built {
                    pos,
                    value: BuiltValue::Shared(target),
                };
                self.complete(copy, size, 0)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame, pos: Pos) -> Result<(), ParseIssue> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.too_deep(pos));
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Attach a finished node to its parent (or make it the document root).
    fn complete(&mut self, node: Built, size: Size, anchor: usize) -> Result<(), ParseIssue> {
        let node = if anchor != 0 {
            let shared = Arc::new(node);
            self.anchors.insert(anchor, (shared.clone(), size));
            Built {
                pos: shared.pos,
                value: BuiltValue::Shared(shared),
            }
        } else {
            node
        };
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq {
                items, size: total, ..
            }) => {
                total.add(size);
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                key,
                merges,
                size: total,
                ..
            }) => match key.take() {
                None => {
                    let BuiltValue::Scalar(scalar) = &node.resolved().value else {
                        return Err(Self::fatal(
                            node.pos,
                            "a mapping key must be a scalar (Kubernetes objects have string keys)"
                                .into(),
                        ));
                    };
                    // A key is no node of the tree; its bytes are counted.
                    total.bytes = total.bytes.saturating_add(scalar.text.len());
                    *key = Some((scalar.as_key(), node.pos));
                }
                Some((name, key_pos)) => {
                    total.add(size);
                    if &*name == "<<" {
                        merges.push((entries.len(), node));
                    } else {
                        entries.push(BuiltEntry {
                            key: name,
                            key_pos,
                            value: node,
                        });
                    }
                }
            },
        }
        Ok(())
    }

    /// Kubernetes' strict decoding reports duplicate fields; so do we, as a
    /// warning. The last occurrence wins, as in its lenient decoding.
    /// Returns whether there were duplicates.
    fn warn_duplicates(&mut self, entries: &[BuiltEntry]) -> bool {
        let mut found = false;
        let issues = &mut self.issues;
        let unlisted = &mut self.unlisted_duplicates;
        let mut warn = |first: &BuiltEntry, dup: &BuiltEntry| {
            found = true;
            // Each is listed up to a bound; past it, they are counted.
            if issues.len() >= MAX_DUPLICATE_WARNINGS {
                *unlisted += 1;
                return;
            }
            issues.push(ParseIssue {
                pos: dup.key_pos,
                message: format!(
                    "duplicate key \"{}\" (first at line {}); the last value is used",
                    dup.key, first.key_pos.line
                ),
                fatal: false,
            });
        };
        if entries.len() <= 16 {
            for (i, dup) in entries.iter().enumerate() {
                if let Some(first) = entries[..i].iter().find(|e| e.key == dup.key) {
                    warn(first, dup);
                }
            }
        } else {
            let mut order: Vec<usize> = (0..entries.len()).collect();
            order.sort_by(|&a, &b| entries[a].key.cmp(&entries[b].key).then(a.cmp(&b)));
            let mut run_start = 0;
            for i in 1..order.len() {
                if entries[order[i]].key != entries[order[run_start]].key {
                    run_start = i;
                } else {
                    warn(&entries[order[run_start]], &entries[order[i]]);
                }
            }
        }
        found
    }
}

/// A scalar with an explicit tag, as go-yaml v2 (kubectl's YAML decoder)
/// resolves it: `!!int`, `!!float`, `!!bool` and `!!null` read the text,
/// quoted or not, as a plain scalar is read, and it must be one of those
/// (`!!float` takes an integer too); `!!str` and tags outside the core
/// schema (`!foo`, `!`) make a string. A `!!binary` scalar, which kubectl
/// would decode from base64, is refused.
fn tagged_scalar(tag: &Tag, text: &str) -> Result<Scalar, String> {
    let suffix = tag.suffix.as_str();
    if !tag.is_yaml_core_schema() || !matches!(suffix, "int" | "float" | "bool" | "null" | "binary")
    {
        return Ok(Scalar::string(text));
    }
    let plain = Scalar::plain(text);
    let fits = match (suffix, plain.kind) {
        ("int", ScalarKind::Int)
        | ("float", ScalarKind::Int | ScalarKind::Float)
        | ("bool", ScalarKind::Bool(_))
        | ("null", ScalarKind::Null) => true,
        ("binary", _) => {
            return Err(
                "a !!binary scalar is not read (kubectl would decode it from base64); write the text it encodes".into(),
            )
        }
        _ => false,
    };
    if !fits {
        let shown: String = text.chars().take(40).collect();
        let more = if shown.len() < text.len() { "..." } else { "" };
        return Err(format!(
            "cannot decode `{}{more}` as a !!{suffix} (kubectl's YAML decoder refuses it too)",
            crate::safe::one_line(&shown)
        ));
    }
    Ok(plain)
}

/// Apply YAML merge keys (`<<: *base` or `<<: [*a, *b]`) as go-yaml v2,
/// kubectl's parser, does: in document order, each merge writes its
/// entries over the keys set before it, and keys after it write over
/// them; of a sequence of sources, earlier ones win.
fn apply_merges(entries: &mut Vec<BuiltEntry>, merges: Vec<(usize, Built)>) {
    if merges.is_empty() {
        return;
    }
    let map_entries = |source: Built| -> Vec<BuiltEntry> {
        match source.value {
            BuiltValue::Map(extra) => extra,
            // An alias: its entries are copied (the alias budget has
            // counted them).
            BuiltValue::Shared(shared) => match &shared.resolved().value {
                BuiltValue::Map(extra) => extra.clone(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    };
    let mut explicit = std::mem::take(entries).into_iter();
    let mut taken = 0;
    for (before, merge) in merges {
        entries.extend(explicit.by_ref().take(before - taken));
        taken = before;
        let sources: Vec<Built> = match merge.value {
            BuiltValue::Seq(items) => items,
            BuiltValue::Shared(shared) => match &shared.resolved().value {
                BuiltValue::Seq(items) => items.clone(),
                _ => vec![Built {
                    pos: merge.pos,
                    value: BuiltValue::Shared(shared),
                }],
            },
            value => vec![Built {
                pos: merge.pos,
                value,
            }],
        };
        // Backwards, so that earlier sources write last and win.
        for source in sources.into_iter().rev() {
            entries.extend(map_entries(source));
        }
    }
    entries.extend(explicit);
    dedupe_last_wins(entries);
}

fn dedupe_last_wins(entries: &mut Vec<BuiltEntry>) {
    if entries.len() < 2 {
        return;
    }
    let mut seen: HashMap<CompactString, usize> = HashMap::new();
    let mut keep = vec![true; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        if let Some(previous) = seen.insert(e.key.clone(), i) {
            keep[previous] = false;
        }
    }
    if keep.iter().all(|k| *k) {
        return;
    }
    let mut index = 0;
    entries.retain(|_| {
        let kept = keep[index];
        index += 1;
        kept
    });
}
