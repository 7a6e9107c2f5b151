//! Rules merged into another, as ruff keeps its renamed rules
//! (`rule_redirects.rs`): one defect has one owner, and the rule that used
//! to report it too is gone, but its ID and its name stay accepted
//! wherever a rule is named (`.corral.yaml`'s `rules.disable` and
//! `rules.severity`, `--disable`, `# corral:ignore` comments, the
//! `corral.dev/ignore` annotation) and mean its owner; a baseline entry
//! recorded under the old ID matches the owner's finding at the same
//! object and field. The first use of each old ID or name warns (stderr).
//! IDs are never reused.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::rule::RuleMeta;

/// A rule that is gone, and the rule that owns its defect now.
#[derive(Debug)]
pub struct Redirect {
    pub id: &'static str,
    pub name: &'static str,
    /// The owners' IDs: one, or one per Pod Security Standards level when
    /// the standard checks the defect at both (`procMount`).
    pub to: &'static [&'static str],
    /// The field the old rule reported, when the owner reports others too
    /// (`hostPID` of the three host namespaces): the old name then means
    /// the owner's findings at that field only, so that a configuration
    /// that turned off the old rule turns off no more than it did.
    pub field: Option<&'static str>,
}

/// The workload rules that duplicated a Pod Security Standards rule (the
/// PSS rules are upstream's checks, exactly: they own the defect). An
/// unmasked `/proc` is `procMount` at baseline and `procMount_restricted`
/// at restricted (which overrides it): the old rule means both.
pub static REDIRECTS: &[Redirect] = &[
    Redirect {
        id: "CRL-W001",
        name: "privileged-container",
        to: &["CRL-P009"],
        field: None,
    },
    Redirect {
        id: "CRL-W002",
        name: "privilege-escalation-container",
        to: &["CRL-P001"],
        field: None,
    },
    Redirect {
        id: "CRL-W003",
        name: "run-as-non-root",
        to: &["CRL-P013"],
        field: None,
    },
    Redirect {
        id: "CRL-W007",
        name: "host-network",
        to: &["CRL-P005"],
        field: Some("hostNetwork"),
    },
    Redirect {
        id: "CRL-W008",
        name: "host-pid",
        to: &["CRL-P005"],
        field: Some("hostPID"),
    },
    Redirect {
        id: "CRL-W009",
        name: "host-ipc",
        to: &["CRL-P005"],
        field: Some("hostIPC"),
    },
    Redirect {
        id: "CRL-W021",
        name: "unsafe-sysctls",
        to: &["CRL-P018"],
        field: None,
    },
    Redirect {
        id: "CRL-W022",
        name: "unsafe-proc-mount",
        to: &["CRL-P010", "CRL-P011"],
        field: None,
    },
];

/// The redirect of `name`, an old rule ID or name.
pub fn redirect(name: &str) -> Option<&'static Redirect> {
    REDIRECTS.iter().find(|r| r.id == name || r.name == name)
}

/// The old IDs whose defect the rule `id` owns now.
pub fn old_ids(id: &str) -> impl Iterator<Item = &'static str> + '_ {
    REDIRECTS
        .iter()
        .filter(move |r| r.to.contains(&id))
        .map(|r| r.id)
}

/// Does `name`, as a user wrote it, name `rule` as a whole: its ID or its
/// name?
pub fn names_rule(rule: &RuleMeta, name: &str) -> bool {
    name == rule.id || name == rule.name
}

/// Does `name`, as a user wrote it, name a finding of `rule` at `field`:
/// the rule's ID or name, or an old ID or name redirected to it (at the
/// old rule's field, if it had one)? The first time an old one is used, a
/// warning says what it is now.
pub fn names(rule: &RuleMeta, field: &str, name: &str) -> bool {
    if names_rule(rule, name) {
        return true;
    }
    match redirect(name) {
        Some(r)
            if r.to.contains(&rule.id)
                && r.field
                    .is_none_or(|f| field == f || field.ends_with(&format!(".{f}"))) =>
        {
            if first_use(name) {
                eprintln!("{}", warning(name, rule));
            }
            true
        }
        _ => false,
    }
}

/// The warning for the old `name` of `rule`.
pub fn warning(name: &str, rule: &RuleMeta) -> String {
    format!(
        "warning: rule `{name}` has been merged into `{}` ({}), which reports the same defect; name that instead",
        rule.id, rule.name
    )
}

/// Is this the first use of `name` in this process?
fn first_use(name: &str) -> bool {
    static USED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
    used.insert(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    #[test]
    fn redirects_point_at_rules_and_take_no_live_name() {
        let all = rules::all();
        let meta = |id: &str| all.iter().map(|r| r.meta()).find(|m| m.id == id);
        let mut seen = BTreeSet::new();
        for r in REDIRECTS {
            assert!(!r.to.is_empty(), "{} redirects to no rule", r.id);
            for to in r.to {
                assert!(meta(to).is_some(), "{} redirects to no rule {to}", r.id);
            }
            assert!(meta(r.id).is_none(), "{} is a live rule", r.id);
            assert!(
                all.iter().all(|rule| rule.meta().name != r.name),
                "{} is a live rule's name",
                r.name
            );
            assert!(seen.insert(r.id) && seen.insert(r.name), "{} twice", r.id);
            // The owners' documentation says they took the old rule over.
            for to in r.to {
                let doc = meta(to).unwrap().doc;
                assert!(
                    doc.contains(r.id) && doc.contains(r.name),
                    "{to}'s doc does not name {} ({})",
                    r.id,
                    r.name
                );
            }
        }
    }

    #[test]
    fn old_names_mean_their_owner_only() {
        let all = rules::all();
        let meta = |id: &str| all.iter().map(|r| r.meta()).find(|m| m.id == id).unwrap();
        let privileged = meta("CRL-P009");
        let field = "spec.containers[0].securityContext.privileged";
        assert!(names(privileged, field, "CRL-P009") && names(privileged, field, "pss-privileged"));
        assert!(
            names(privileged, field, "CRL-W001")
                && names(privileged, field, "privileged-container")
        );
        assert!(!names(privileged, field, "CRL-W002") && !names(privileged, field, "host-pid"));
        // An old host namespace rule means the owner at its own field only.
        let namespaces = meta("CRL-P005");
        for (old, field) in [
            ("CRL-W007", "spec.hostNetwork"),
            ("host-network", "spec.template.spec.hostNetwork"),
            ("CRL-W008", "spec.hostPID"),
            ("host-pid", "spec.hostPID"),
            ("CRL-W009", "spec.hostIPC"),
            ("host-ipc", "spec.hostIPC"),
        ] {
            assert!(names(namespaces, field, old), "{old}");
            assert!(!names(namespaces, "spec.hostUsers", old), "{old}");
        }
        assert!(!names(namespaces, "spec.hostNetwork", "host-pid"));
        assert!(names_rule(namespaces, "CRL-P005") && !names_rule(namespaces, "host-pid"));
        assert!(!names(meta("CRL-W004"), field, "CRL-W001"));
        assert_eq!(
            old_ids("CRL-P005").collect::<Vec<_>>(),
            ["CRL-W007", "CRL-W008", "CRL-W009"]
        );
        assert_eq!(old_ids("CRL-W004").count(), 0);
    }

    #[test]
    fn each_old_name_warns_once() {
        // A name no other test uses: the record is the process's.
        assert!(first_use("test-only-name"));
        assert!(!first_use("test-only-name"));
    }
}
