//! `sysctls` (baseline): sysctls that can disable security mechanisms or
//! affect every container on a host must be disallowed.
//!
//! Restricted field: `spec.securityContext.sysctls[*].name` (exact names;
//! values are not checked). Allowed at v1.0: `kernel.shm_rmid_forced`,
//! `net.ipv4.ip_local_port_range`, `net.ipv4.tcp_syncookies`,
//! `net.ipv4.ping_group_range`, `net.ipv4.ip_unprivileged_port_start`;
//! v1.27 adds `net.ipv4.ip_local_reserved_ports`; v1.29 adds
//! `net.ipv4.tcp_keepalive_time`, `net.ipv4.tcp_fin_timeout`,
//! `net.ipv4.tcp_keepalive_intvl`, `net.ipv4.tcp_keepalive_probes`; v1.32 adds
//! `net.ipv4.tcp_rmem`, `net.ipv4.tcp_wmem`; v1.37 adds
//! `net.ipv4.tcp_slow_start_after_idle`, `net.ipv4.tcp_notsent_lowat`.

use super::{Check, Forbidden, Versioned};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "sysctls",
    level: Level::Baseline,
    versions: &[
        Versioned {
            min_minor: 0,
            check: sysctls_1_0,
            overrides: &[],
        },
        Versioned {
            min_minor: 27,
            check: sysctls_1_27,
            overrides: &[],
        },
        Versioned {
            min_minor: 29,
            check: sysctls_1_29,
            overrides: &[],
        },
        Versioned {
            min_minor: 32,
            check: sysctls_1_32,
            overrides: &[],
        },
        Versioned {
            min_minor: 37,
            check: sysctls_1_37,
            overrides: &[],
        },
    ],
};

/// Each version's allowed sysctls are a prefix of this list.
const ALLOWED: [&str; 14] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    // v1.27
    "net.ipv4.ip_local_reserved_ports",
    // v1.29
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    // v1.32
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    // v1.37
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

fn sysctls_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    check(pod, 5)
}
fn sysctls_1_27(pod: &Pod<'_>) -> Option<Forbidden> {
    check(pod, 6)
}
fn sysctls_1_29(pod: &Pod<'_>) -> Option<Forbidden> {
    check(pod, 10)
}
fn sysctls_1_32(pod: &Pod<'_>) -> Option<Forbidden> {
    check(pod, 12)
}
fn sysctls_1_37(pod: &Pod<'_>) -> Option<Forbidden> {
    check(pod, 14)
}

/// Forbidden names in spec order, repeats kept, as upstream lists them.
fn check(pod: &Pod<'_>, allowed_count: usize) -> Option<Forbidden> {
    let allowed = &ALLOWED[..allowed_count];
    let mut names = Vec::new();
    let mut fields = Vec::new();
    for (i, sysctl) in pod
        .pod_security_context()?
        .sysctls
        .iter()
        .flatten()
        .enumerate()
    {
        if !allowed.contains(&sysctl.name.as_str()) {
            names.push(sysctl.name.as_str());
            fields.push(format!("spec.securityContext.sysctls[{i}].name"));
        }
    }
    if names.is_empty() {
        return None;
    }
    Forbidden::new("forbidden sysctls", names.join(", "), fields)
}
