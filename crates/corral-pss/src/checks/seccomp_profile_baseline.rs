//! `seccompProfile_baseline` (baseline): seccomp profiles must not be
//! explicitly set to `Unconfined`.
//!
//! v1.0–v1.18: the annotations `seccomp.security.alpha.kubernetes.io/pod` and
//! `container.seccomp.security.alpha.kubernetes.io/<container>` must be
//! absent, `runtime/default`, `docker/default` or `localhost/*`.
//! From v1.19: `spec.securityContext.seccompProfile.type` and each
//! container's must be unset, `RuntimeDefault` or `Localhost`; annotations are
//! ignored. At restricted it is overridden by `seccompProfile_restricted`
//! from v1.19.

use super::{setters, Check, Forbidden, Versioned};
use crate::text::{go_quote, join_quote, pluralize, sorted_set};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "seccompProfile_baseline",
    level: Level::Baseline,
    versions: &[
        Versioned {
            min_minor: 0,
            check: seccomp_profile_baseline_1_0,
            overrides: &[],
        },
        Versioned {
            min_minor: 19,
            check: seccomp_profile_baseline_1_19,
            overrides: &[],
        },
    ],
};

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

pub(super) fn valid_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

fn valid_annotation(v: &str) -> bool {
    v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
}

fn seccomp_profile_baseline_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let annotations = pod.metadata.annotations.as_ref()?;
    let mut forbidden = Vec::new();
    let mut keys = vec![POD_ANNOTATION.to_string()];
    keys.extend(
        pod.containers()
            .map(|c| format!("{CONTAINER_ANNOTATION_PREFIX}{}", c.name)),
    );
    let mut fields = Vec::new();
    for key in keys {
        if let Some(value) = annotations.get(&key).filter(|v| !valid_annotation(v)) {
            forbidden.push(format!("{key}={}", go_quote(value)));
            fields.push(format!("metadata.annotations[\"{key}\"]"));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    let forbidden = sorted_set(forbidden);
    Forbidden::new(
        "seccompProfile",
        format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", forbidden.len()),
            forbidden.join(", ")
        ),
        fields,
    )
}

fn seccomp_profile_baseline_1_19(pod: &Pod<'_>) -> Option<Forbidden> {
    let mut values = Vec::new();
    let mut fields = Vec::new();
    let pod_type = pod
        .pod_security_context()
        .and_then(|s| s.seccomp_profile.as_ref())
        .map(|p| p.type_.as_str());
    let pod_bad = pod_type.is_some_and(|t| !valid_type(t));
    if pod_bad {
        values.extend(pod_type.map(str::to_string));
        fields.push("spec.securityContext.seccompProfile.type".to_string());
    }
    let mut containers = Vec::new();
    for c in pod.containers() {
        if let Some(p) = c.security_context.and_then(|s| s.seccomp_profile.as_ref()) {
            if !valid_type(&p.type_) {
                containers.push(c.name);
                values.push(p.type_.clone());
                fields.push(c.path("securityContext.seccompProfile.type"));
            }
        }
    }
    if fields.is_empty() {
        return None;
    }
    forbidden_types(pod_bad, &containers, values, fields)
}

/// The pod and/or containers set a seccomp profile type that is not allowed.
pub(super) fn forbidden_types(
    pod_bad: bool,
    containers: &[&str],
    values: Vec<String>,
    fields: Vec<String>,
) -> Option<Forbidden> {
    Forbidden::new(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters(pod_bad, containers),
            join_quote(&sorted_set(values))
        ),
        fields,
    )
}
