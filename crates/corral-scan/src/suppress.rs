//! Suppression by comment: `# corral:ignore <rule>[,<rule>] <reason>` on
//! the offending line or the line above it (the object annotation
//! `corral.dev/ignore` is applied by `scan`). A rule is named by its ID or
//! name, or an old one of `rule_redirects`.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::Finding;

use corral_core::lines::Lines;

/// The comment's marker.
pub const MARKER: &str = "corral:ignore";

/// Where in `line` the `#` of a `# corral:ignore` stands, if it has one.
fn marker_hash(line: &str) -> Option<usize> {
    let marker = line.find(MARKER)?;
    let hash = line[..marker].trim_end().strip_suffix('#')?.len();
    Some(hash)
}

/// The rules and reason of a `# corral:ignore` comment in `line`.
fn ignore_comment(line: &str) -> Option<(Vec<&str>, &str)> {
    let comment = &line[marker_hash(line)? + 1..];
    let rest = comment.trim_start().strip_prefix(MARKER)?.trim_start();
    let (rules, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let rules = rules.split(',').filter(|r| !r.is_empty()).collect();
    Some((rules, reason.trim()))
}

/// How many candidate lines are tried one by one when not all of a file's
/// `# corral:ignore` are comments; past it, the rest count as not comments
/// (their findings stay), so a file cannot make the check quadratic.
const MOST_TRIED_ALONE: usize = 64;

/// The lines (1-based) of `text` whose `# corral:ignore` is a YAML comment.
/// A `#` inside a quoted string or a block scalar is text, not a comment,
/// and must not suppress anything: a comment is what can be cut from the
/// line without changing a single object the loader reads (values and
/// positions), so the check is the loader's own reading.
fn comment_lines(text: &str) -> BTreeSet<usize> {
    let mut candidates = Vec::new(); // (line, byte range of the comment)
    let mut offset = 0;
    for (number, line) in (1..).zip(corral_core::lines::split_inclusive(text)) {
        let content = corral_core::lines::content(line);
        if let Some(hash) = marker_hash(content) {
            candidates.push((number, offset + hash..offset + content.len()));
        }
        offset += line.len();
    }
    let read = |cut: &[&std::ops::Range<usize>]| {
        let mut kept = String::with_capacity(text.len());
        let mut from = 0;
        for range in cut {
            kept.push_str(&text[from..range.start]);
            from = range.end;
        }
        kept.push_str(&text[from..]);
        let name: Arc<str> = Arc::from("suppressions");
        let (objects, _) = corral_core::load_bytes(
            &name,
            kept.as_bytes(),
            &corral_core::Limits::default(),
            &|_| {},
        );
        objects
            .into_iter()
            .map(|o| (o.kind, o.api_version, o.root))
            .collect::<Vec<_>>()
    };
    let original = read(&[]);
    let all: Vec<&std::ops::Range<usize>> = candidates.iter().map(|(_, r)| r).collect();
    if read(&all) == original {
        return candidates.into_iter().map(|(line, _)| line).collect();
    }
    candidates
        .iter()
        .take(MOST_TRIED_ALONE)
        .filter(|(_, range)| read(&[range]) == original)
        .map(|(line, _)| *line)
        .collect()
}

/// A file's lines whose marker is a comment, and its lines.
type Commented = (BTreeSet<usize>, Lines);

/// Mark the findings with a `# corral:ignore` comment on their line or the
/// line above. `source` gives a file's text (None when unreadable).
pub fn apply_comments(findings: &mut [Finding], source: &mut dyn FnMut(&str) -> Option<Arc<str>>) {
    // One file at a time, so only one text is held at once; a text without
    // the marker (nearly all) is not split into lines.
    let mut order: Vec<usize> = (0..findings.len())
        .filter(|&i| findings[i].suppressed.is_none())
        .collect();
    order.sort_by(|&a, &b| findings[a].file.cmp(&findings[b].file));
    let mut current: Option<(Arc<str>, Option<Commented>)> = None;
    for i in order {
        if current
            .as_ref()
            .is_none_or(|(file, _)| *file != findings[i].file)
        {
            let file = findings[i].file.clone();
            let text = source(&file)
                .filter(|text| text.contains(MARKER))
                .map(|text| (comment_lines(&text), Lines::new(text)));
            current = Some((file, text));
        }
        let Some((_, Some((comments, text)))) = &current else {
            continue;
        };
        let finding = &mut findings[i];
        let line = finding.line as usize;
        let lines =
            [line.saturating_sub(1), line].map(|n| text.line(n).filter(|_| comments.contains(&n)));
        for candidate in lines.into_iter().flatten() {
            if let Some((rules, reason)) = ignore_comment(candidate) {
                let named = |r: &&str| {
                    *r == "all" || crate::rule_redirects::names(finding.rule, &finding.field, r)
                };
                if rules.iter().any(named) {
                    let reason = if reason.is_empty() {
                        "no reason given"
                    } else {
                        reason
                    };
                    finding.suppressed = Some(format!("# {MARKER}: {reason}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_name_rules_and_a_reason() {
        assert_eq!(
            ignore_comment("    privileged: true  # corral:ignore privileged-container,CRL-P009 needs /dev/kvm"),
            Some((vec!["privileged-container", "CRL-P009"], "needs /dev/kvm"))
        );
        assert_eq!(
            ignore_comment("# corral:ignore latest-tag"),
            Some((vec!["latest-tag"], ""))
        );
        assert_eq!(ignore_comment("image: app # a comment"), None);
        assert_eq!(
            ignore_comment("value: \"#x\" # corral:ignore all why"),
            Some((vec!["all"], "why"))
        );
    }

    /// A `# corral:ignore` inside a string or a block scalar is text.
    #[test]
    fn only_comments_suppress() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p # corral:ignore all real\n  annotations:\n    a: \"x # corral:ignore all quoted\"\n    b: \"x\n      # corral:ignore all multi-line\"\n    c: |\n      # corral:ignore all block\n    d: '#x' # corral:ignore all after a string\n# corral:ignore all whole line\nspec: {}\n";
        let lines: Vec<usize> = comment_lines(text).into_iter().collect();
        assert_eq!(lines, [4, 11, 12]);
        // With nothing but comments, every one is found in one reading.
        let text = "a: 1 # corral:ignore all x\n# corral:ignore all y\n";
        assert_eq!(comment_lines(text).len(), 2);
    }
}
