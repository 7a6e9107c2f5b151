//! Suppression by comment: `# corral:ignore <rule>[,<rule>] <reason>` on
//! the offending line or the line above it (the object annotation
//! `corral.dev/ignore` is applied by `scan`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::Finding;

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
    let mut texts: HashMap<Arc<str>, Option<Arc<str>>> = HashMap::new();
    for finding in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
        let text = texts
            .entry(finding.file.clone())
            .or_insert_with(|| source(&finding.file))
            .clone();
        let Some(text) = text else {
            continue;
        };
        let line = finding.line as usize;
        let lines: Vec<&str> = text.lines().skip(line.saturating_sub(2)).take(2).collect();
        for candidate in lines {
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
