//! `capabilities_restricted` (restricted, from v1.22): containers must drop
//! `ALL` capabilities, and may only add back `NET_BIND_SERVICE`. Overrides
//! `capabilities_baseline`.
//!
//! Restricted fields: `securityContext.capabilities.drop` (must contain
//! `ALL`) and `.add` (empty or only `NET_BIND_SERVICE`) of every container.
//! From v1.25 pods with `spec.os.name: windows` are exempt.

use super::{Check, Forbidden, Versioned};
use crate::text::{containers_phrase, join_quote, sorted_set};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "capabilities_restricted",
    level: Level::Restricted,
    versions: &[
        Versioned {
            min_minor: 22,
            check: capabilities_restricted_1_22,
            overrides: &["capabilities_baseline"],
        },
        Versioned {
            min_minor: 25,
            check: capabilities_restricted_1_25,
            overrides: &["capabilities_baseline"],
        },
    ],
};

fn capabilities_restricted_1_25(pod: &Pod<'_>) -> Option<Forbidden> {
    if pod.is_windows() {
        return None;
    }
    capabilities_restricted_1_22(pod)
}

fn capabilities_restricted_1_22(pod: &Pod<'_>) -> Option<Forbidden> {
    let mut missing_drop = Vec::new();
    let mut adding = Vec::new();
    let mut forbidden = Vec::new();
    let mut fields = Vec::new();
    for c in pod.containers() {
        let Some(caps) = c.security_context.and_then(|s| s.capabilities.as_ref()) else {
            missing_drop.push(c.name);
            fields.push(c.path("securityContext.capabilities.drop"));
            continue;
        };
        if !caps.drop.iter().flatten().any(|d| d == "ALL") {
            missing_drop.push(c.name);
            fields.push(c.path("securityContext.capabilities.drop"));
        }
        let mut bad = false;
        for (i, cap) in caps.add.iter().flatten().enumerate() {
            if cap != "NET_BIND_SERVICE" {
                bad = true;
                forbidden.push(cap.clone());
                fields.push(c.path(&format!("securityContext.capabilities.add[{i}]")));
            }
        }
        if bad {
            adding.push(c.name);
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_phrase(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding),
            join_quote(&sorted_set(forbidden))
        ));
    }
    if details.is_empty() {
        return None;
    }
    Forbidden::new("unrestricted capabilities", details.join("; "), fields)
}
