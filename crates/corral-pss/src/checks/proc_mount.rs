//! `procMount` (baseline) and `procMount_restricted` (restricted): the
//! default /proc masks must not be disabled.
//!
//! Restricted fields: `securityContext.procMount` of every container.
//! Allowed: unset, `Default`. From v1.35 baseline allows any value in a pod
//! with `spec.hostUsers: false` (a user namespace); restricted keeps the
//! strict rule through `procMount_restricted`, which overrides `procMount`.

use super::{Check, Forbidden, Versioned};
use crate::text::{containers_phrase, join_quote, sorted_set};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const BASELINE: Check = Check {
    id: "procMount",
    level: Level::Baseline,
    versions: &[
        Versioned {
            min_minor: 0,
            check: proc_mount_1_0,
            overrides: &[],
        },
        Versioned {
            min_minor: 35,
            check: proc_mount_1_35_baseline,
            overrides: &[],
        },
    ],
};

pub(super) const RESTRICTED: Check = Check {
    id: "procMount_restricted",
    level: Level::Restricted,
    versions: &[Versioned {
        min_minor: 35,
        check: proc_mount_1_0,
        overrides: &["procMount"],
    }],
};

fn proc_mount_1_35_baseline(pod: &Pod<'_>) -> Option<Forbidden> {
    if pod.in_user_namespace() {
        return None;
    }
    proc_mount_1_0(pod)
}

fn proc_mount_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let mut containers = Vec::new();
    let mut types = Vec::new();
    let mut fields = Vec::new();
    for c in pod.containers() {
        if let Some(mount) = c.security_context.and_then(|s| s.proc_mount.as_ref()) {
            if mount != "Default" {
                containers.push(c.name);
                types.push(mount.clone());
                fields.push(c.path("securityContext.procMount"));
            }
        }
    }
    if containers.is_empty() {
        return None;
    }
    Forbidden::new(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&containers),
            join_quote(&sorted_set(types))
        ),
        fields,
    )
}
