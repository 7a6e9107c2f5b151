//! `windowsHostProcess` (baseline): Windows pods must not run as
//! HostProcess containers (privileged access to the Windows node).
//!
//! Restricted fields: `spec.securityContext.windowsOptions.hostProcess` and
//! each container's. Allowed: unset, `false`. Applies to every pod, Windows
//! or not. Unchanged since v1.0.

use super::{setters, Check, Forbidden, Versioned};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "windowsHostProcess",
    level: Level::Baseline,
    versions: &[Versioned {
        min_minor: 0,
        check: windows_host_process_1_0,
        overrides: &[],
    }],
};

fn windows_host_process_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let mut containers = Vec::new();
    let mut fields = Vec::new();
    let host_process = |o: Option<&k8s_openapi::api::core::v1::WindowsSecurityContextOptions>| {
        o.and_then(|o| o.host_process) == Some(true)
    };
    let pod_bad = host_process(
        pod.pod_security_context()
            .and_then(|s| s.windows_options.as_ref()),
    );
    for c in pod.containers() {
        if host_process(c.security_context.and_then(|s| s.windows_options.as_ref())) {
            containers.push(c.name);
            fields.push(c.path("securityContext.windowsOptions.hostProcess"));
        }
    }
    if pod_bad {
        fields.insert(
            0,
            "spec.securityContext.windowsOptions.hostProcess".to_string(),
        );
    }
    if fields.is_empty() {
        return None;
    }
    Forbidden::new(
        "hostProcess",
        format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters(pod_bad, &containers)
        ),
        fields,
    )
}
