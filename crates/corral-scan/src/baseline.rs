//! Baselines: the fingerprints of accepted findings, committed, so that
//! only new findings count. Fingerprints hash the rule, file, object
//! identity and field, never the line: editing above a finding does not
//! bring it back.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Finding;

pub const BASELINE_VERSION: u32 = 1;

/// A baseline. Reading one (serde, or [`Baseline::from_json`]) checks its
/// `version`: another version is refused, never half understood.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "Unchecked")]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Accepted>,
}

/// A baseline as written, before its version is checked.
#[derive(Deserialize)]
struct Unchecked {
    version: u32,
    findings: Vec<Accepted>,
}

impl TryFrom<Unchecked> for Baseline {
    type Error = String;
    fn try_from(Unchecked { version, findings }: Unchecked) -> Result<Baseline, String> {
        if version != BASELINE_VERSION {
            return Err(unsupported(&version.to_string()));
        }
        Ok(Baseline { version, findings })
    }
}

fn unsupported(version: &str) -> String {
    format!(
        "baseline version {version} is not supported: this Corral reads baseline version {BASELINE_VERSION} (write it again with --write-baseline)"
    )
}

/// Only a baseline's `version`, read before the rest: another version may
/// be shaped otherwise, and is refused for its version.
#[derive(Deserialize)]
struct Version {
    version: Option<serde_json::Value>,
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
    /// Read the baseline in `bytes`, the JSON of file `name`. Errors start
    /// with `name`: a missing or other `version` is refused for its version
    /// before the rest is read; anything else not a baseline's shape is an
    /// error at its line and column.
    pub fn from_json(name: &str, bytes: &[u8]) -> Result<Baseline, String> {
        if let Ok(Version { version }) = serde_json::from_slice::<Version>(bytes) {
            match version {
                None => {
                    return Err(format!(
                        "{name}: no version: not a Corral baseline (this Corral reads baseline version {BASELINE_VERSION})"
                    ))
                }
                Some(serde_json::Value::Number(n)) if n.as_u64() == Some(BASELINE_VERSION.into()) => {}
                Some(other) => return Err(format!("{name}: {}", unsupported(&other.to_string()))),
            }
        }
        serde_json::from_slice(bytes).map_err(|e| {
            // serde_json ends its message with " at line L column C": say
            // the position first, as every Corral error does.
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            let pos = corral_core::lines::from_serde_json(bytes, e.line(), e.column());
            format!("{name}:{pos}: not a Corral baseline: {message}")
        })
    }

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
    /// entries that matched nothing are stale (also returned). An entry
    /// recorded under the old ID of a rule that another took over
    /// (`rule_redirects`) matches the owner's finding at the same object
    /// and field.
    pub fn apply<'a>(&'a self, findings: &[Finding]) -> (Vec<bool>, Vec<&'a Accepted>) {
        let known: BTreeSet<&str> = self
            .findings
            .iter()
            .map(|a| a.fingerprint.as_str())
            .collect();
        let seen: BTreeSet<&str> = findings.iter().flat_map(Finding::fingerprints).collect();
        let baselined = findings
            .iter()
            .map(|f| f.fingerprints().any(|print| known.contains(print)))
            .collect();
        let stale = self
            .findings
            .iter()
            .filter(|a| !seen.contains(a.fingerprint.as_str()))
            .collect();
        (baselined, stale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = r#"{"fingerprint": "abc", "rule": "CRL-W001", "file": "a.yaml", "object": "Deployment shop/web", "field": "spec"}"#;

    #[test]
    fn a_baseline_reads_back() {
        let text = format!(r#"{{"version": 1, "findings": [{ENTRY}]}}"#);
        let baseline = Baseline::from_json("b.json", text.as_bytes()).unwrap();
        assert_eq!(baseline.findings[0].fingerprint, "abc");
        let again = serde_json::to_vec(&baseline).unwrap();
        assert_eq!(Baseline::from_json("b.json", &again).unwrap(), baseline);
    }

    /// An entry written when CRL-W001 reported privileged containers
    /// matches the finding of CRL-P009, which took it over, at the same
    /// object and field; at another field it is stale.
    #[test]
    fn an_entry_under_an_old_rule_id_matches_its_owner() {
        static OLD: crate::RuleMeta = crate::RuleMeta {
            id: "CRL-W001",
            name: "privileged-container",
            family: crate::Family::Workload,
            severity: crate::Severity::Critical,
            summary: "Container runs privileged",
            doc: "",
        };
        let name: std::sync::Arc<str> = std::sync::Arc::from("web.yaml");
        let (objects, _) = corral_core::load_bytes(
            &name,
            b"apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - {name: a, image: x, securityContext: {privileged: true}}\n  - {name: b, image: x, securityContext: {privileged: true}}\n",
            &corral_core::Limits::default(),
            &|_| {},
        );
        let field = |i: usize| format!("spec.containers[{i}].securityContext.privileged");
        let owner = &crate::rules::pss::Privileged::META;
        let old = Finding::new(&OLD, &objects[0], &field(0), "m".into(), "f".into());
        let baseline = Baseline::of(&[old]);
        assert_eq!(baseline.findings[0].rule, "CRL-W001");
        let now: Vec<Finding> = (0..2)
            .map(|i| Finding::new(owner, &objects[0], &field(i), "m".into(), "f".into()))
            .collect();
        assert_ne!(now[0].fingerprint, baseline.findings[0].fingerprint);
        let (baselined, stale) = baseline.apply(&now);
        assert_eq!(baselined, [true, false]);
        assert!(stale.is_empty());
        let (baselined, stale) = baseline.apply(&now[1..]);
        assert_eq!(baselined, [false]);
        assert_eq!(stale.len(), 1);
    }

    #[test]
    fn other_versions_are_refused_for_their_version() {
        let refused = |text: &str| Baseline::from_json("b.json", text.as_bytes()).unwrap_err();
        assert_eq!(
            refused(r#"{"version": 2, "findings": []}"#),
            "b.json: baseline version 2 is not supported: this Corral reads baseline version 1 (write it again with --write-baseline)"
        );
        // Shaped otherwise: still refused for the version.
        assert!(refused(r#"{"version": 3, "findings": {"a": 1}}"#)
            .starts_with("b.json: baseline version 3 is not supported"));
        assert!(refused(r#"{"version": "1", "findings": []}"#)
            .starts_with(r#"b.json: baseline version "1" is not supported"#));
        assert!(refused(r#"{"version": -1, "findings": []}"#)
            .starts_with("b.json: baseline version -1 is not supported"));
        assert_eq!(
            refused(r#"{"findings": []}"#),
            "b.json: no version: not a Corral baseline (this Corral reads baseline version 1)"
        );
        assert_eq!(
            refused("{\"version\": 1,\n \"findings\": 7}"),
            "b.json:2:14: not a Corral baseline: invalid type: integer `7`, expected a sequence"
        );
        assert_eq!(
            refused("[1]"),
            "b.json:1:3: not a Corral baseline: invalid length 1, expected struct Unchecked with 2 elements"
        );
        assert!(refused("7").starts_with("b.json:1:1: not a Corral baseline: invalid type"));
        // serde alone checks the version too.
        let error =
            serde_json::from_str::<Baseline>(r#"{"version": 2, "findings": []}"#).unwrap_err();
        assert!(error
            .to_string()
            .contains("baseline version 2 is not supported"));
    }
}
