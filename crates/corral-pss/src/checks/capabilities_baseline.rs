//! `capabilities_baseline` (baseline): adding capabilities beyond the
//! runtime's default set must be disallowed.
//!
//! Restricted fields: `securityContext.capabilities.add` of every container
//! (`drop` is ignored). Allowed: a subset of `AUDIT_WRITE CHOWN DAC_OVERRIDE
//! FOWNER FSETID KILL MKNOD NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID
//! SYS_CHROOT`, exact and case-sensitive. At restricted it is overridden by
//! `capabilities_restricted` from v1.22.

use super::{Check, Forbidden, Versioned};
use crate::text::{containers_phrase, join_quote, sorted_set};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "capabilities_baseline",
    level: Level::Baseline,
    versions: &[Versioned {
        min_minor: 0,
        check: capabilities_baseline_1_0,
        overrides: &[],
    }],
};

/// The capabilities baseline lets containers add (the runtime's default
/// set, less the dangerous ones).
pub const DEFAULT_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let mut containers = Vec::new();
    let mut capabilities = Vec::new();
    let mut fields = Vec::new();
    for c in pod.containers() {
        let Some(caps) = c.security_context.and_then(|s| s.capabilities.as_ref()) else {
            continue;
        };
        let mut bad = false;
        for (i, cap) in caps.add.iter().flatten().enumerate() {
            if !DEFAULT_CAPABILITIES.contains(&cap.as_str()) {
                bad = true;
                capabilities.push(cap.clone());
                fields.push(c.path(&format!("securityContext.capabilities.add[{i}]")));
            }
        }
        if bad {
            containers.push(c.name);
        }
    }
    if containers.is_empty() {
        return None;
    }
    Forbidden::new(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&containers),
            join_quote(&sorted_set(capabilities))
        ),
        fields,
    )
}
