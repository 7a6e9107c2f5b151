//! `hostProbesAndHostLifecycle` (baseline, from v1.34): probes and lifecycle
//! handlers must not target another host.
//!
//! Restricted fields: `host` of the `httpGet` and `tcpSocket` handlers of
//! every container's `livenessProbe`, `readinessProbe`, `startupProbe` and
//! `lifecycle.postStart`/`preStop`. Allowed: unset or empty (even
//! `127.0.0.1` fails). `grpc` and `exec` handlers are not inspected.

use super::{Check, Forbidden, Versioned};
use crate::text::{containers_phrase, join_quote, pluralize, sorted_set};
use crate::version::Level;
use crate::visit::Pod;
use k8s_openapi::api::core::v1::{HTTPGetAction, TCPSocketAction};

pub(super) const CHECK: Check = Check {
    id: "hostProbesAndHostLifecycle",
    level: Level::Baseline,
    versions: &[Versioned {
        min_minor: 34,
        check: host_probes_1_34,
        overrides: &[],
    }],
};

fn host_probes_1_34(pod: &Pod<'_>) -> Option<Forbidden> {
    let mut containers = Vec::new();
    let mut hosts = Vec::new();
    let mut fields = Vec::new();
    for c in pod.containers() {
        let lifecycle = c.lifecycle;
        if c.liveness_probe.is_none()
            && c.readiness_probe.is_none()
            && c.startup_probe.is_none()
            && lifecycle.is_none()
        {
            continue;
        }
        let handlers: [(&str, Option<&HTTPGetAction>, Option<&TCPSocketAction>); 5] = [
            (
                "livenessProbe",
                c.liveness_probe.and_then(|p| p.http_get.as_ref()),
                c.liveness_probe.and_then(|p| p.tcp_socket.as_ref()),
            ),
            (
                "readinessProbe",
                c.readiness_probe.and_then(|p| p.http_get.as_ref()),
                c.readiness_probe.and_then(|p| p.tcp_socket.as_ref()),
            ),
            (
                "startupProbe",
                c.startup_probe.and_then(|p| p.http_get.as_ref()),
                c.startup_probe.and_then(|p| p.tcp_socket.as_ref()),
            ),
            (
                "lifecycle.postStart",
                lifecycle
                    .and_then(|l| l.post_start.as_ref())
                    .and_then(|h| h.http_get.as_ref()),
                lifecycle
                    .and_then(|l| l.post_start.as_ref())
                    .and_then(|h| h.tcp_socket.as_ref()),
            ),
            (
                "lifecycle.preStop",
                lifecycle
                    .and_then(|l| l.pre_stop.as_ref())
                    .and_then(|h| h.http_get.as_ref()),
                lifecycle
                    .and_then(|l| l.pre_stop.as_ref())
                    .and_then(|h| h.tcp_socket.as_ref()),
            ),
        ];
        let mut bad = false;
        for (at, http, tcp) in handlers {
            if let Some(host) = http
                .and_then(|h| h.host.as_deref())
                .filter(|h| !h.is_empty())
            {
                bad = true;
                hosts.push(host.to_string());
                fields.push(c.path(&format!("{at}.httpGet.host")));
            }
            if let Some(host) = tcp
                .and_then(|t| t.host.as_deref())
                .filter(|h| !h.is_empty())
            {
                bad = true;
                hosts.push(host.to_string());
                fields.push(c.path(&format!("{at}.tcpSocket.host")));
            }
        }
        if bad {
            containers.push(c.name.to_string());
        }
    }
    if containers.is_empty() {
        return None;
    }
    // Upstream keeps both the containers and the hosts in sets: sorted.
    let containers = sorted_set(containers);
    let hosts = sorted_set(hosts);
    Forbidden::new(
        "probe or lifecycle host",
        format!(
            "{} {} {} {}",
            containers_phrase(&containers),
            pluralize("uses", "use", containers.len()),
            pluralize(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                hosts.len()
            ),
            join_quote(&hosts)
        ),
        fields,
    )
}
