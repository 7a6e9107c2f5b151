//! `runAsNonRoot` (restricted): containers must run as non-root users.
//!
//! Restricted fields: `spec.securityContext.runAsNonRoot` and each
//! container's. Allowed: the pod sets `true` and no container sets `false`,
//! or every container sets `true`. `runAsUser` is not consulted. From v1.35
//! any value is allowed in a pod with `spec.hostUsers: false`.

use super::{setters, Check, Forbidden, Versioned};
use crate::text::containers_phrase;
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "runAsNonRoot",
    level: Level::Restricted,
    versions: &[
        Versioned {
            min_minor: 0,
            check: run_as_non_root_1_0,
            overrides: &[],
        },
        Versioned {
            min_minor: 35,
            check: run_as_non_root_1_35,
            overrides: &[],
        },
    ],
};

fn run_as_non_root_1_35(pod: &Pod<'_>) -> Option<Forbidden> {
    if pod.in_user_namespace() {
        return None;
    }
    run_as_non_root_1_0(pod)
}

fn run_as_non_root_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let pod_value = pod.pod_security_context().and_then(|s| s.run_as_non_root);
    let pod_bad = pod_value == Some(false);
    let mut explicit = Vec::new();
    let mut explicit_fields = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_fields = Vec::new();
    for c in pod.containers() {
        match c.security_context.and_then(|s| s.run_as_non_root) {
            Some(false) => {
                explicit.push(c.name);
                explicit_fields.push(c.path("securityContext.runAsNonRoot"));
            }
            Some(true) => {}
            None if pod_value != Some(true) => {
                implicit.push(c.name);
                implicit_fields.push(c.path("securityContext.runAsNonRoot"));
            }
            None => {}
        }
    }
    if pod_bad || !explicit.is_empty() {
        let mut fields = explicit_fields;
        if pod_bad {
            fields.insert(0, "spec.securityContext.runAsNonRoot".to_string());
        }
        return Forbidden::new(
            "runAsNonRoot != true",
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters(pod_bad, &explicit)
            ),
            fields,
        );
    }
    if implicit.is_empty() {
        return None;
    }
    Forbidden::new(
        "runAsNonRoot != true",
        format!(
            "pod or {} must set securityContext.runAsNonRoot=true",
            containers_phrase(&implicit)
        ),
        implicit_fields,
    )
}
