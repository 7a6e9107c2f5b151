//! Suppression by comment: `# corral:ignore <rule>[,<rule>] <reason>` on
//! the offending line or the line above it (the object annotation
//! `corral.dev/ignore` is applied by `scan`).

use std::sync::Arc;

use crate::Finding;

/// A text with the offsets of its lines, for finding line N at once.
pub struct Lines {
    text: Arc<str>,
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: Arc<str>) -> Lines {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// Line `n` (1-based), without its line break.
    pub fn line(&self, n: usize) -> Option<&str> {
        let start = *self.starts.get(n.checked_sub(1)?)?;
        let end = self.starts.get(n).map_or(self.text.len(), |next| next - 1);
        self.text
            .get(start..end)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}

/// The comment's marker.
pub const MARKER: &str = "corral:ignore";

/// The rules and reason of a `# corral:ignore` comment in `line`.
fn ignore_comment(line: &str) -> Option<(Vec<&str>, &str)> {
    let comment = line.split_once('#')?.1.trim_start();
    let rest = comment.strip_prefix(MARKER)?.trim_start();
    let (rules, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let rules = rules.split(',').filter(|r| !r.is_empty()).collect();
    Some((rules, reason.trim()))
}

/// Mark the findings with a `# corral:ignore` comment on their line or the
/// line above. `source` gives a file's text (None when unreadable).
pub fn apply_comments(findings: &mut [Finding], source: &mut dyn FnMut(&str) -> Option<Arc<str>>) {
    // One file at a time, so only one text is held at once; a text without
    // the marker (nearly all) is not split into lines.
    let mut order: Vec<usize> = (0..findings.len())
        .filter(|&i| findings[i].suppressed.is_none())
        .collect();
    order.sort_by(|&a, &b| findings[a].file.cmp(&findings[b].file));
    let mut current: Option<(Arc<str>, Option<Lines>)> = None;
    for i in order {
        if current
            .as_ref()
            .is_none_or(|(file, _)| *file != findings[i].file)
        {
            let file = findings[i].file.clone();
            let text = source(&file)
                .filter(|text| text.contains(MARKER))
                .map(Lines::new);
            current = Some((file, text));
        }
        let Some((_, Some(text))) = &current else {
            continue;
        };
        let finding = &mut findings[i];
        let line = finding.line as usize;
        let lines = [text.line(line.saturating_sub(1)), text.line(line)];
        for candidate in lines.into_iter().flatten() {
            if let Some((rules, reason)) = ignore_comment(candidate) {
                let named =
                    |r: &&str| *r == "all" || *r == finding.rule.id || *r == finding.rule.name;
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
    }
}
