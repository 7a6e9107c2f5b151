//! `privileged` (baseline): privileged containers disable most security
//! mechanisms.
//!
//! Restricted fields: `securityContext.privileged` of every container.
//! Allowed: unset, `false`. Unchanged since v1.0.

use super::{Check, Forbidden, Versioned};
use crate::text::containers_phrase;
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "privileged",
    level: Level::Baseline,
    versions: &[Versioned {
        min_minor: 0,
        check: privileged_1_0,
        overrides: &[],
    }],
};

fn privileged_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let bad: Vec<_> = pod
        .containers()
        .filter(|c| c.security_context.and_then(|s| s.privileged) == Some(true))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let names: Vec<&str> = bad.iter().map(|c| c.name).collect();
    Forbidden::new(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&names)
        ),
        bad.iter()
            .map(|c| c.path("securityContext.privileged"))
            .collect(),
    )
}
