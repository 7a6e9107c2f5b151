//! Builds [`Node`] trees from saphyr-parser's event stream, with bounds on
//! nesting depth and alias expansion, duplicate-key warnings, and merge keys.
//!
//! The builder is iterative (an explicit stack), so nesting depth is limited
//! by [`Limits::max_depth`] and never by the thread's stack.

use std::collections::HashMap;

use compact_str::CompactString;
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

use crate::node::{Entry, Node, Pos, Scalar, Value};
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
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
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

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<(CompactString, Pos)>,
        merges: Vec<Node>,
    },
}

struct Builder<'a> {
    limits: &'a Limits,
    line_offset: u32,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    alias_nodes: usize,
    documents: Vec<Document>,
    issues: Vec<ParseIssue>,
    root: Option<Node>,
}

impl Builder<'_> {
    fn pos(&self, span: &Span) -> Pos {
        Pos {
            line: span.start.line() as u32 + self.line_offset,
            col: span.start.col() as u32 + 1,
        }
    }

    fn scan_error(&self, e: &ScanError) -> ParseIssue {
        let mark = e.marker();
        ParseIssue {
            pos: Pos {
                line: mark.line() as u32 + self.line_offset,
                col: mark.col() as u32 + 1,
            },
            message: e.info().to_string(),
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

    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), ParseIssue> {
        let pos = self.pos(&span);
        match event {
            Event::DocumentStart(_) => {
                self.root = None;
                self.anchors.clear();
                self.alias_nodes = 0;
            }
            Event::DocumentEnd => {
                self.documents.push(Document {
                    root: self.root.take(),
                });
            }
            Event::Scalar(text, style, anchor, tag) => {
                let scalar = match (style, tag.as_deref()) {
                    (_, Some(tag)) if tag.is_yaml_core_schema() && tag.suffix == "str" => {
                        Scalar::string(&text)
                    }
                    (ScalarStyle::Plain, _) => Scalar::plain(&text),
                    _ => Scalar::string(&text),
                };
                let node = Node {
                    pos,
                    value: Value::Scalar(scalar),
                };
                self.complete(node, anchor)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.push(
                    Frame::Seq {
                        pos,
                        anchor,
                        items: Vec::new(),
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
                    },
                    pos,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { pos, anchor, items }) => (Node::seq(pos, items), anchor),
                    Some(Frame::Map {
                        pos,
                        anchor,
                        mut entries,
                        merges,
                        ..
                    }) => {
                        if self.warn_duplicates(&entries) {
                            dedupe_last_wins(&mut entries);
                        }
                        apply_merges(&mut entries, merges);
                        (Node::map(pos, entries), anchor)
                    }
                    None => return Err(Self::fatal(pos, "unbalanced collection end".into())),
                };
                self.complete(node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(Self::fatal(pos, "alias to an unknown anchor".into()));
                };
                let budget = self.limits.max_alias_nodes.saturating_sub(self.alias_nodes);
                let Some(size) = target.count_within(budget) else {
                    return Err(Self::fatal(
                        pos,
                        format!(
                            "alias expansion exceeds {} nodes in this document (a \"billion laughs\" document?); raise --max-alias-nodes if it is genuine",
                            self.limits.max_alias_nodes
                        ),
                    ));
                };
                self.alias_nodes += size;
                // The copy's root points at the alias; its fields keep the
                // anchor's positions, where they are written.
                let mut copy = target.clone();
                copy.pos = pos;
                self.complete(copy, 0)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame, pos: Pos) -> Result<(), ParseIssue> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(Self::fatal(
                pos,
                format!(
                    "nesting deeper than {} levels; raise --max-depth if it is genuine",
                    self.limits.max_depth
                ),
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Attach a finished node to its parent (or make it the document root).
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), ParseIssue> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                key,
                merges,
                ..
            }) => match key.take() {
                None => {
                    let Value::Scalar(scalar) = node.value else {
                        return Err(Self::fatal(
                            node.pos,
                            "a mapping key must be a scalar (Kubernetes objects have string keys)"
                                .into(),
                        ));
                    };
                    *key = Some((scalar.text, node.pos));
                }
                Some((name, key_pos)) => {
                    if &*name == "<<" {
                        merges.push(node);
                    } else {
                        entries.push(Entry {
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
    fn warn_duplicates(&mut self, entries: &[Entry]) -> bool {
        let mut found = false;
        let mut warn = |first: &Entry, dup: &Entry| {
            found = true;
            self.issues.push(ParseIssue {
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

/// Apply YAML merge keys (`<<: *base` or `<<: [*a, *b]`): merged entries fill
/// in keys the mapping does not set itself; earlier sources win.
fn apply_merges(entries: &mut Vec<Entry>, merges: Vec<Node>) {
    for merge in merges {
        let sources = match merge.value {
            Value::Seq(items) => items,
            other => vec![Node {
                pos: merge.pos,
                value: other,
            }],
        };
        for source in sources {
            if let Value::Map(extra) = source.value {
                for entry in extra {
                    if !entries.iter().any(|e| e.key == entry.key) {
                        entries.push(entry);
                    }
                }
            }
        }
    }
}

fn dedupe_last_wins(entries: &mut Vec<Entry>) {
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
