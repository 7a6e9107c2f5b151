//! `hostNamespaces` (baseline): sharing the host's network, PID or IPC
//! namespace must be disallowed.
//!
//! Restricted fields: `spec.hostNetwork`, `spec.hostPID`, `spec.hostIPC`.
//! Allowed: unset, `false`. Unchanged since v1.0.

use super::{Check, Forbidden, Versioned};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "hostNamespaces",
    level: Level::Baseline,
    versions: &[Versioned {
        min_minor: 0,
        check: host_namespaces_1_0,
        overrides: &[],
    }],
};

fn host_namespaces_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let spec = pod.spec;
    let set: Vec<(&str, &str)> = [
        (spec.host_network, "hostNetwork=true", "spec.hostNetwork"),
        (spec.host_pid, "hostPID=true", "spec.hostPID"),
        (spec.host_ipc, "hostIPC=true", "spec.hostIPC"),
    ]
    .into_iter()
    .filter(|(value, _, _)| *value == Some(true))
    .map(|(_, text, path)| (text, path))
    .collect();
    if set.is_empty() {
        return None;
    }
    Forbidden::new(
        "host namespaces",
        set.iter()
            .map(|(text, _)| *text)
            .collect::<Vec<_>>()
            .join(", "),
        set.iter().map(|(_, path)| path.to_string()).collect(),
    )
}
