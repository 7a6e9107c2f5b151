//! `seccompProfile_restricted` (restricted, from v1.19): a seccomp profile
//! must be explicitly set to an allowed value. Overrides
//! `seccompProfile_baseline`.
//!
//! Restricted fields: `spec.securityContext.seccompProfile.type` and each
//! container's. Allowed: `RuntimeDefault` or `Localhost`, at pod level (which
//! covers containers that leave it unset) or on every container; an explicit
//! bad value anywhere fails. From v1.25 pods with `spec.os.name: windows` are
//! exempt.

use super::seccomp_profile_baseline::{forbidden_types, valid_type};
use super::{Check, Forbidden, Versioned};
use crate::text::containers_phrase;
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "seccompProfile_restricted",
    level: Level::Restricted,
    versions: &[
        Versioned {
            min_minor: 19,
            check: seccomp_profile_restricted_1_19,
            overrides: &["seccompProfile_baseline"],
        },
        Versioned {
            min_minor: 25,
            check: seccomp_profile_restricted_1_25,
            overrides: &["seccompProfile_baseline"],
        },
    ],
};

fn seccomp_profile_restricted_1_25(pod: &Pod<'_>) -> Option<Forbidden> {
    if pod.is_windows() {
        return None;
    }
    seccomp_profile_restricted_1_19(pod)
}

fn seccomp_profile_restricted_1_19(pod: &Pod<'_>) -> Option<Forbidden> {
    let pod_type = pod
        .pod_security_context()
        .and_then(|s| s.seccomp_profile.as_ref())
        .map(|p| p.type_.as_str());
    let pod_bad = pod_type.is_some_and(|t| !valid_type(t));
    let pod_set = pod_type.is_some_and(valid_type);
    let mut values: Vec<String> = Vec::new();
    let mut explicit = Vec::new();
    let mut explicit_fields = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_fields = Vec::new();
    if pod_bad {
        values.extend(pod_type.map(str::to_string));
        explicit_fields.push("spec.securityContext.seccompProfile.type".to_string());
    }
    for c in pod.containers() {
        match c.security_context.and_then(|s| s.seccomp_profile.as_ref()) {
            Some(p) if !valid_type(&p.type_) => {
                explicit.push(c.name);
                values.push(p.type_.clone());
                explicit_fields.push(c.path("securityContext.seccompProfile.type"));
            }
            Some(_) => {}
            None if !pod_set => {
                implicit.push(c.name);
                implicit_fields.push(c.path("securityContext.seccompProfile.type"));
            }
            None => {}
        }
    }
    if pod_bad || !explicit.is_empty() {
        return forbidden_types(pod_bad, &explicit, values, explicit_fields);
    }
    if implicit.is_empty() {
        return None;
    }
    Forbidden::new(
        "seccompProfile",
        format!(
            "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
            containers_phrase(&implicit)
        ),
        implicit_fields,
    )
}
