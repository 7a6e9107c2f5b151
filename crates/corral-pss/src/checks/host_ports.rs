//! `hostPorts` (baseline): HostPorts should be disallowed entirely.
//!
//! Restricted fields: `ports[*].hostPort` of every container (after the API
//! server copies `containerPort` into `hostPort` for `hostNetwork` pods).
//! Allowed: unset, `0`. Unchanged since v1.0.

use super::{Check, Forbidden, Versioned};
use crate::text::{containers_phrase, pluralize, sorted_set};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "hostPorts",
    level: Level::Baseline,
    versions: &[Versioned {
        min_minor: 0,
        check: host_ports_1_0,
        overrides: &[],
    }],
};

fn host_ports_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let mut containers = Vec::new();
    let mut ports = Vec::new();
    let mut fields = Vec::new();
    for c in pod.containers() {
        let mut bad = false;
        for (i, port) in c.ports.iter().enumerate() {
            if let Some(host_port) = port.host_port.filter(|p| *p != 0) {
                bad = true;
                ports.push(host_port.to_string());
                fields.push(c.path(&format!("ports[{i}].hostPort")));
            }
        }
        if bad {
            containers.push(c.name);
        }
    }
    if containers.is_empty() {
        return None;
    }
    // Upstream keeps the ports in a string set: sorted as text.
    let ports = sorted_set(ports);
    Forbidden::new(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_phrase(&containers),
            pluralize("uses", "use", containers.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
        fields,
    )
}
