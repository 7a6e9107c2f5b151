//! Every rule, by family. `all()` is the registry, in ID order.

pub mod drift;
pub mod network;
pub mod paths;
pub mod pss;
pub mod rbac;
pub mod runtime;
pub mod workload;

use crate::rule::Rule;

/// Every rule Corral has, in ID order.
pub fn all() -> &'static [&'static dyn Rule] {
    static ALL: std::sync::OnceLock<Vec<&'static dyn Rule>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static dyn Rule> = Vec::new();
        all.extend_from_slice(pss::RULES);
        all.extend_from_slice(workload::RULES);
        all.extend_from_slice(rbac::RULES);
        all.extend_from_slice(network::RULES);
        all.extend_from_slice(paths::RULES);
        all.extend_from_slice(drift::RULES);
        all.extend_from_slice(runtime::RULES);
        all.sort_by_key(|r| r.meta().id);
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let mut ids = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        for rule in all() {
            let meta = rule.meta();
            assert!(ids.insert(meta.id), "duplicate id {}", meta.id);
            assert!(names.insert(meta.name), "duplicate name {}", meta.name);
            assert!(meta.id.starts_with("CRL-"), "{}", meta.id);
            assert!(
                meta.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{} is not kebab-case",
                meta.name
            );
            for section in [
                "## What it does",
                "## Why it matters",
                "## How to fix",
                "## References",
            ] {
                assert!(meta.doc.contains(section), "{} lacks {section}", meta.id);
            }
            assert!(!meta.summary.ends_with('.'), "{}", meta.id);
        }
    }
}
