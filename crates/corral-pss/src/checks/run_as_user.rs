//! `runAsUser` (restricted, from v1.23): containers must not set runAsUser
//! to 0.
//!
//! Restricted fields: `spec.securityContext.runAsUser` and each container's.
//! Allowed: unset or non-zero. From v1.35 any value is allowed in a pod with
//! `spec.hostUsers: false`.

use super::{setters, Check, Forbidden, Versioned};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "runAsUser",
    level: Level::Restricted,
    versions: &[
        Versioned {
            min_minor: 23,
            check: run_as_user_1_23,
            overrides: &[],
        },
        Versioned {
            min_minor: 35,
            check: run_as_user_1_35,
            overrides: &[],
        },
    ],
};

fn run_as_user_1_35(pod: &Pod<'_>) -> Option<Forbidden> {
    if pod.in_user_namespace() {
        return None;
    }
    run_as_user_1_23(pod)
}

fn run_as_user_1_23(pod: &Pod<'_>) -> Option<Forbidden> {
    let pod_bad = pod.pod_security_context().and_then(|s| s.run_as_user) == Some(0);
    let mut containers = Vec::new();
    let mut fields = Vec::new();
    if pod_bad {
        fields.push("spec.securityContext.runAsUser".to_string());
    }
    for c in pod.containers() {
        if c.security_context.and_then(|s| s.run_as_user) == Some(0) {
            containers.push(c.name);
            fields.push(c.path("securityContext.runAsUser"));
        }
    }
    if fields.is_empty() {
        return None;
    }
    Forbidden::new(
        "runAsUser=0",
        format!("{} must not set runAsUser=0", setters(pod_bad, &containers)),
        fields,
    )
}
