//! `allowPrivilegeEscalation` (restricted, from v1.8): privilege escalation
//! (such as via set-user-ID or set-group-ID file mode) must be disallowed.
//!
//! Restricted field: `securityContext.allowPrivilegeEscalation` of every
//! container. Allowed: `false` only; unset fails. From v1.25 pods with
//! `spec.os.name: windows` are exempt.

use super::{Check, Forbidden, Versioned};
use crate::text::containers_phrase;
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "allowPrivilegeEscalation",
    level: Level::Restricted,
    versions: &[
        Versioned {
            min_minor: 8,
            check: allow_privilege_escalation_1_8,
            overrides: &[],
        },
        Versioned {
            min_minor: 25,
            check: allow_privilege_escalation_1_25,
            overrides: &[],
        },
    ],
};

fn allow_privilege_escalation_1_25(pod: &Pod<'_>) -> Option<Forbidden> {
    if pod.is_windows() {
        return None;
    }
    allow_privilege_escalation_1_8(pod)
}

fn allow_privilege_escalation_1_8(pod: &Pod<'_>) -> Option<Forbidden> {
    let bad: Vec<_> = pod
        .containers()
        .filter(|c| {
            c.security_context
                .and_then(|s| s.allow_privilege_escalation)
                != Some(false)
        })
        .collect();
    if bad.is_empty() {
        return None;
    }
    let names: Vec<&str> = bad.iter().map(|c| c.name).collect();
    Forbidden::new(
        "allowPrivilegeEscalation != false",
        format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            containers_phrase(&names)
        ),
        bad.iter()
            .map(|c| c.path("securityContext.allowPrivilegeEscalation"))
            .collect(),
    )
}
