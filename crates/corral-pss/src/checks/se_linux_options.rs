//! `seLinuxOptions` (baseline): setting a custom SELinux user or role, or a
//! type other than the container types, must be forbidden.
//!
//! Restricted fields: `spec.securityContext.seLinuxOptions` and each
//! container's `securityContext.seLinuxOptions`: `type` must be empty,
//! `container_t`, `container_init_t` or `container_kvm_t` (and from v1.31
//! `container_engine_t`); `user` and `role` must be empty; `level` is free.

use super::{setters, Check, Forbidden, Versioned};
use crate::text::{join_quote, pluralize, sorted_set};
use crate::version::Level;
use crate::visit::Pod;
use k8s_openapi::api::core::v1::SELinuxOptions;

pub(super) const CHECK: Check = Check {
    id: "seLinuxOptions",
    level: Level::Baseline,
    versions: &[
        Versioned {
            min_minor: 0,
            check: se_linux_options_1_0,
            overrides: &[],
        },
        Versioned {
            min_minor: 31,
            check: se_linux_options_1_31,
            overrides: &[],
        },
    ],
};

const TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn se_linux_options_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    check(pod, TYPES_1_0)
}

fn se_linux_options_1_31(pod: &Pod<'_>) -> Option<Forbidden> {
    check(pod, TYPES_1_31)
}

#[derive(Default)]
struct Found {
    types: Vec<String>,
    user: bool,
    role: bool,
}

impl Found {
    /// Records what is wrong with `opts`; returns whether anything is.
    fn inspect(&mut self, opts: &SELinuxOptions, allowed: &[&str]) -> bool {
        let mut bad = false;
        let t = opts.type_.as_deref().unwrap_or("");
        if !allowed.contains(&t) {
            bad = true;
            self.types.push(t.to_string());
        }
        if !opts.user.as_deref().unwrap_or("").is_empty() {
            bad = true;
            self.user = true;
        }
        if !opts.role.as_deref().unwrap_or("").is_empty() {
            bad = true;
            self.role = true;
        }
        bad
    }
}

fn check(pod: &Pod<'_>, allowed: &[&str]) -> Option<Forbidden> {
    let mut found = Found::default();
    let mut fields = Vec::new();
    let pod_bad = pod
        .pod_security_context()
        .and_then(|s| s.se_linux_options.as_ref())
        .is_some_and(|o| found.inspect(o, allowed));
    if pod_bad {
        fields.push("spec.securityContext.seLinuxOptions".to_string());
    }
    let mut containers = Vec::new();
    for c in pod.containers() {
        if let Some(o) = c.security_context.and_then(|s| s.se_linux_options.as_ref()) {
            if found.inspect(o, allowed) {
                containers.push(c.name);
                fields.push(c.path("securityContext.seLinuxOptions"));
            }
        }
    }
    if fields.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    let types = sorted_set(found.types);
    if !types.is_empty() {
        data.push(format!(
            "{} {}",
            pluralize("type", "types", types.len()),
            join_quote(&types)
        ));
    }
    if found.user {
        data.push("user may not be set".to_string());
    }
    if found.role {
        data.push("role may not be set".to_string());
    }
    Forbidden::new(
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters(pod_bad, &containers),
            data.join("; ")
        ),
        fields,
    )
}
