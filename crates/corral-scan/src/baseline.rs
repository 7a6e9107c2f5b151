//! Baselines: the fingerprints of accepted findings, committed, so that
//! only new findings count. Fingerprints hash the rule, file, object
//! identity and field, never the line: editing above a finding does not
//! bring it back.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Finding;

pub const BASELINE_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Accepted>,
}

/// One accepted finding: its fingerprint, and what it was, for reviewers.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Clone)]
pub struct Accepted {
    pub fingerprint: String,
    pub rule: String,
    pub file: String,
    pub object: String,
    pub field: String,
}

impl Baseline {
    /// The baseline of `findings` (suppressed ones need none), sorted.
    pub fn of(findings: &[Finding]) -> Baseline {
        let mut accepted: Vec<Accepted> = findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .map(|f| Accepted {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.id.to_string(),
                file: f.file.trim_start_matches("./").to_string(),
                object: f.object_label(),
                field: f.field.clone(),
            })
            .collect();
        accepted.sort();
        accepted.dedup();
        Baseline {
            version: BASELINE_VERSION,
            findings: accepted,
        }
    }

    /// Split `findings` into new ones (returned) and baselined ones; the
    /// entries that matched nothing are stale (also returned).
    pub fn apply<'a>(&'a self, findings: &[Finding]) -> (Vec<bool>, Vec<&'a Accepted>) {
        let known: BTreeSet<&str> = self
            .findings
            .iter()
            .map(|a| a.fingerprint.as_str())
            .collect();
        let seen: BTreeSet<&str> = findings.iter().map(|f| f.fingerprint.as_str()).collect();
        let baselined = findings
            .iter()
            .map(|f| known.contains(f.fingerprint.as_str()))
            .collect();
        let stale = self
            .findings
            .iter()
            .filter(|a| !seen.contains(a.fingerprint.as_str()))
            .collect();
        (baselined, stale)
    }
}
