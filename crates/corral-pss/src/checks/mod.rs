//! The 19 Pod Security Standards checks, one module each. Every module's
//! doc comment says what it restricts, which values pass, and how it changed
//! across policy versions; `CHECK` registers its versioned behaviours.

use crate::version::Level;
use crate::visit::Pod;

mod allow_privilege_escalation;
mod app_armor_profile;
pub(crate) mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes_and_host_lifecycle;
mod privileged;
mod proc_mount;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod se_linux_options;
mod seccomp_profile_baseline;
mod seccomp_profile_restricted;
mod sysctls;
mod windows_host_process;

/// A failed check: upstream's reason and detail, and the fields to point at.
pub(crate) struct Forbidden {
    pub reason: String,
    pub detail: String,
    pub fields: Vec<String>,
}

impl Forbidden {
    pub fn new(reason: &str, detail: String, fields: Vec<String>) -> Option<Forbidden> {
        Some(Forbidden {
            reason: reason.to_string(),
            detail,
            fields,
        })
    }
}

pub type CheckFn = fn(&Pod<'_>) -> Option<Forbidden>;

pub struct Versioned {
    pub min_minor: u32,
    pub check: CheckFn,
    /// Baseline check IDs this restricted entry replaces.
    pub overrides: &'static [&'static str],
}

pub struct Check {
    pub id: &'static str,
    pub level: Level,
    /// In increasing `min_minor` order.
    pub versions: &'static [Versioned],
}

pub(crate) const CHECKS: &[Check] = &[
    allow_privilege_escalation::CHECK,
    app_armor_profile::CHECK,
    capabilities_baseline::CHECK,
    capabilities_restricted::CHECK,
    host_namespaces::CHECK,
    host_path_volumes::CHECK,
    host_ports::CHECK,
    host_probes_and_host_lifecycle::CHECK,
    privileged::CHECK,
    proc_mount::BASELINE,
    proc_mount::RESTRICTED,
    restricted_volumes::CHECK,
    run_as_non_root::CHECK,
    run_as_user::CHECK,
    se_linux_options::CHECK,
    seccomp_profile_baseline::CHECK,
    seccomp_profile_restricted::CHECK,
    sysctls::CHECK,
    windows_host_process::CHECK,
];

/// `"pod"` and/or `container(s) "a", ...` joined with " and ", as upstream
/// names who set a forbidden value.
pub(crate) fn setters(pod: bool, containers: &[&str]) -> String {
    let mut parts = Vec::new();
    if pod {
        parts.push("pod".to_string());
    }
    if !containers.is_empty() {
        parts.push(crate::text::containers_phrase(containers));
    }
    parts.join(" and ")
}
