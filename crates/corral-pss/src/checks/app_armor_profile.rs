//! `appArmorProfile` (baseline): overriding or disabling the default
//! AppArmor profile must be restricted.
//!
//! Restricted fields: `spec.securityContext.appArmorProfile.type` and each
//! container's `securityContext.appArmorProfile.type` (allowed:
//! `RuntimeDefault`, `Localhost`); every annotation whose key starts with
//! `container.apparmor.security.beta.kubernetes.io/`, whether or not it names
//! a container (allowed: empty, `runtime/default`, `localhost/*`). One v1.0
//! entry; the field checks joined it when the fields went GA.

use super::{setters, Check, Forbidden, Versioned};
use crate::text::{go_quote, join_quote, pluralize, sorted_set};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "appArmorProfile",
    level: Level::Baseline,
    versions: &[Versioned {
        min_minor: 0,
        check: app_armor_profile_1_0,
        overrides: &[],
    }],
};

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn allowed_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

fn allowed_annotation(v: &str) -> bool {
    v.is_empty() || v == "runtime/default" || v.starts_with("localhost/")
}

fn app_armor_profile_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let mut values = Vec::new();
    let mut fields = Vec::new();
    let pod_profile = pod
        .pod_security_context()
        .and_then(|s| s.app_armor_profile.as_ref());
    let pod_bad = pod_profile.is_some_and(|p| !allowed_type(&p.type_));
    if let Some(p) = pod_profile.filter(|_| pod_bad) {
        values.push(p.type_.clone());
        fields.push("spec.securityContext.appArmorProfile.type".to_string());
    }
    let mut containers = Vec::new();
    for c in pod.containers() {
        if let Some(p) = c
            .security_context
            .and_then(|s| s.app_armor_profile.as_ref())
        {
            if !allowed_type(&p.type_) {
                containers.push(c.name);
                values.push(p.type_.clone());
                fields.push(c.path("securityContext.appArmorProfile.type"));
            }
        }
    }
    let mut annotations: Vec<(String, String)> = pod
        .metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(k, v)| k.starts_with(ANNOTATION_PREFIX) && !allowed_annotation(v))
        .map(|(k, v)| {
            (
                format!("{k}={}", go_quote(v)),
                format!("metadata.annotations[\"{k}\"]"),
            )
        })
        .collect();
    annotations.sort();
    let mut values = sorted_set(values);
    let mut setter = setters(pod_bad, &containers);
    if !annotations.is_empty() {
        let noun = pluralize("annotation", "annotations", annotations.len());
        setter = if setter.is_empty() {
            noun.to_string()
        } else {
            format!("{setter} and {noun}")
        };
        for (value, field) in annotations {
            values.push(value);
            fields.push(field);
        }
    }
    if setter.is_empty() {
        return None;
    }
    Forbidden::new(
        pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            values.len(),
        ),
        format!(
            "{setter} must not set AppArmor profile type to {}",
            join_quote(&values)
        ),
        fields,
    )
}
