//! Which checks run at a level and version: for each check, the entry with
//! the greatest minimum version not above the policy version; at
//! `restricted`, the baseline checks that no active restricted entry
//! overrides. Baseline IDs in byte order, then restricted IDs, as upstream
//! orders the reasons of a message.

use std::sync::OnceLock;

use crate::checks::{Check, CheckFn, CHECKS};
use crate::version::{Level, LATEST_MINOR};

/// Every check ID, sorted.
pub const CHECK_IDS: [&str; 19] = [
    "allowPrivilegeEscalation",
    "appArmorProfile",
    "capabilities_baseline",
    "capabilities_restricted",
    "hostNamespaces",
    "hostPathVolumes",
    "hostPorts",
    "hostProbesAndHostLifecycle",
    "privileged",
    "procMount",
    "procMount_restricted",
    "restrictedVolumes",
    "runAsNonRoot",
    "runAsUser",
    "seLinuxOptions",
    "seccompProfile_baseline",
    "seccompProfile_restricted",
    "sysctls",
    "windowsHostProcess",
];

fn active_entry(check: &Check, minor: u32) -> Option<&crate::checks::Versioned> {
    check.versions.iter().rev().find(|v| v.min_minor <= minor)
}

type ActiveChecks = Vec<(&'static str, CheckFn)>;

/// The checks to run at `level` and policy version `v1.<minor>`, in message
/// order; worked out once per level and version.
pub(crate) fn active_checks(level: Level, minor: u32) -> &'static [(&'static str, CheckFn)] {
    static TABLE: OnceLock<[Vec<ActiveChecks>; 3]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        [Level::Privileged, Level::Baseline, Level::Restricted].map(|level| {
            (0..=LATEST_MINOR)
                .map(|minor| select(level, minor))
                .collect()
        })
    });
    &table[level as usize][minor.min(LATEST_MINOR) as usize]
}

fn select(level: Level, minor: u32) -> ActiveChecks {
    if level == Level::Privileged {
        return Vec::new();
    }
    let mut restricted: Vec<(&'static str, &crate::checks::Versioned)> = Vec::new();
    if level == Level::Restricted {
        restricted = CHECKS
            .iter()
            .filter(|c| c.level == Level::Restricted)
            .filter_map(|c| active_entry(c, minor).map(|v| (c.id, v)))
            .collect();
        restricted.sort_by_key(|(id, _)| *id);
    }
    let overridden = |id: &str| restricted.iter().any(|(_, v)| v.overrides.contains(&id));
    let mut baseline: Vec<(&'static str, CheckFn)> = CHECKS
        .iter()
        .filter(|c| c.level == Level::Baseline && !overridden(c.id))
        .filter_map(|c| active_entry(c, minor).map(|v| (c.id, v.check)))
        .collect();
    baseline.sort_by_key(|(id, _)| *id);
    baseline.extend(restricted.into_iter().map(|(id, v)| (id, v.check)));
    baseline
}

/// The IDs of the checks that run at `level` and `version`, in message order.
pub fn active_check_ids(level: Level, version: &crate::Version) -> Vec<&'static str> {
    active_checks(level, version.minor())
        .iter()
        .map(|(id, _)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(level: Level, minor: u32) -> Vec<&'static str> {
        active_check_ids(level, &crate::Version::Minor(minor))
    }

    #[test]
    fn every_check_is_registered_once() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort();
        assert_eq!(ids, CHECK_IDS);
    }

    #[test]
    fn baseline_gains_host_probes_at_v1_34() {
        let base = [
            "appArmorProfile",
            "capabilities_baseline",
            "hostNamespaces",
            "hostPathVolumes",
            "hostPorts",
            "privileged",
            "procMount",
            "seLinuxOptions",
            "seccompProfile_baseline",
            "sysctls",
            "windowsHostProcess",
        ];
        assert_eq!(ids(Level::Baseline, 0), base);
        assert_eq!(ids(Level::Baseline, 33), base);
        assert!(ids(Level::Baseline, 34).contains(&"hostProbesAndHostLifecycle"));
        assert!(ids(Level::Privileged, 37).is_empty());
    }

    #[test]
    fn restricted_overrides_follow_the_version() {
        let v0 = ids(Level::Restricted, 0);
        assert!(!v0.contains(&"hostPathVolumes") && v0.contains(&"capabilities_baseline"));
        assert!(v0.ends_with(&["restrictedVolumes", "runAsNonRoot"]));
        assert!(ids(Level::Restricted, 8).contains(&"allowPrivilegeEscalation"));
        let v19 = ids(Level::Restricted, 19);
        assert!(
            v19.contains(&"seccompProfile_restricted") && !v19.contains(&"seccompProfile_baseline")
        );
        let v22 = ids(Level::Restricted, 22);
        assert!(
            v22.contains(&"capabilities_restricted") && !v22.contains(&"capabilities_baseline")
        );
        assert!(ids(Level::Restricted, 23).contains(&"runAsUser"));
        let v35 = ids(Level::Restricted, 35);
        assert!(v35.contains(&"procMount_restricted") && !v35.contains(&"procMount"));
        assert!(ids(Level::Restricted, 34).contains(&"procMount"));
        assert_eq!(
            ids(Level::Restricted, 37),
            [
                "appArmorProfile",
                "hostNamespaces",
                "hostPorts",
                "hostProbesAndHostLifecycle",
                "privileged",
                "seLinuxOptions",
                "sysctls",
                "windowsHostProcess",
                "allowPrivilegeEscalation",
                "capabilities_restricted",
                "procMount_restricted",
                "restrictedVolumes",
                "runAsNonRoot",
                "runAsUser",
                "seccompProfile_restricted",
            ]
        );
    }
}
