//! Drift: what a new recording did that the applied policies would block:
//! a syscall the profile does not allow, a capability not added, uid 0
//! under runAsNonRoot, a write outside the writable directories of a
//! read-only root filesystem, a privilege-raising exec without privilege
//! escalation, a flow the NetworkPolicies deny. Profiles are updated
//! before they break the application.

use std::collections::BTreeMap;

use corral_record::Recording;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::{Deserialize, Serialize};

use crate::netpol::advise::{advise, Options, Subject};
use crate::netpol::inventory::Inventory;
use crate::netpol::prove::denied_flows;
use crate::security_context::Advice;
use crate::workload::{Recorded, WorkloadKey};

/// One container's entry of `advice.json`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub namespace: String,
    pub workload: String,
    pub container: String,
    pub advice: AppliedAdvice,
    pub allowed_syscalls: Vec<String>,
}

/// The part of [`Advice`] drift compares with.
#[derive(Clone, Debug, Deserialize)]
pub struct AppliedAdvice {
    pub capabilities: Vec<String>,
    pub run_as_non_root: bool,
    pub read_only_root_filesystem: bool,
    pub writable_directories: Vec<String>,
    pub allow_privilege_escalation: bool,
}

impl From<&Advice> for AppliedAdvice {
    fn from(a: &Advice) -> Self {
        AppliedAdvice {
            capabilities: a.capabilities.clone(),
            run_as_non_root: a.run_as_non_root,
            read_only_root_filesystem: a.read_only_root_filesystem,
            writable_directories: a.writable_directories.clone(),
            allow_privilege_escalation: a.allow_privilege_escalation,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Drift {
    /// `ns/workload container c`.
    pub container: String,
    /// `syscall`, `capability`, `user`, `write`, `exec`, `flow`, `policy`.
    pub kind: String,
    pub detail: String,
}

fn container_drift(recording: &Recording, applied: &Applied) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let activity = &recording.workload;
    for syscall in activity.syscalls.iter().chain(&activity.compat_syscalls) {
        let name = syscall
            .name
            .clone()
            .unwrap_or_else(|| format!("#{}", syscall.number));
        if !applied.allowed_syscalls.contains(&name) {
            found.push((
                "syscall".into(),
                format!("{name} is not in the seccomp profile"),
            ));
        }
    }
    for c in activity.capabilities.iter().filter(|c| c.granted) {
        let name = c.name.as_deref().unwrap_or("?").trim_start_matches("CAP_");
        if !applied.advice.capabilities.iter().any(|a| a == name) {
            found.push((
                "capability".into(),
                format!("{name} was used and is not added"),
            ));
        }
    }
    let a = &applied.advice;
    let root = recording.execs.iter().any(|e| e.uid == 0 || e.euid == 0)
        || activity
            .identities
            .iter()
            .any(|i| i.uid == 0 || i.euid == 0);
    if a.run_as_non_root && root {
        found.push(("user".into(), "uid 0 was used under runAsNonRoot".into()));
    }
    if a.read_only_root_filesystem {
        for w in activity
            .file_writes
            .iter()
            .filter(|w| w.root_filesystem != Some(false))
        {
            let inside = a
                .writable_directories
                .iter()
                .any(|d| w.path.starts_with(&format!("{}/", d.trim_end_matches('/'))));
            if !inside {
                found.push((
                    "write".into(),
                    format!(
                        "{} {} on the read-only root filesystem",
                        w.operation, w.path
                    ),
                ));
            }
        }
    }
    if !a.allow_privilege_escalation {
        for e in recording
            .execs
            .iter()
            .filter(|e| e.setuid || e.setgid || e.file_capabilities)
        {
            found.push((
                "exec".into(),
                format!(
                    "{} raises privileges, which allowPrivilegeEscalation: false blocks",
                    e.path
                ),
            ));
        }
    }
    found
}

/// What `recorded` did beyond `applied` (from `advice.json`) and, given
/// an inventory, beyond the NetworkPolicies.
pub fn drift(
    recorded: &BTreeMap<WorkloadKey, Recorded>,
    applied: &[Applied],
    network: Option<(&[NetworkPolicy], &Inventory)>,
) -> Vec<Drift> {
    let mut found = Vec::new();
    for (key, r) in recorded {
        let container = key.to_string();
        match applied.iter().find(|a| {
            a.namespace == key.namespace
                && a.workload == key.workload
                && a.container == key.container
        }) {
            Some(applied) => found.extend(container_drift(&r.recording, applied).into_iter().map(
                |(kind, detail)| Drift {
                    container: container.clone(),
                    kind,
                    detail,
                },
            )),
            None => found.push(Drift {
                container: container.clone(),
                kind: "policy".into(),
                detail: "no advised policy for this container".into(),
            }),
        }
        if let Some((policies, inventory)) = network {
            let recordings = [&r.recording];
            let subject = Subject {
                namespace: &key.namespace,
                workload: &key.workload,
                recordings: &recordings,
                pods: &r.pods,
                inbound: &[],
                selector: None,
            };
            match advise(subject, inventory, &Options::default()) {
                Ok(flows) => {
                    found.extend(denied_flows(&flows, inventory, policies).into_iter().map(
                        |detail| Drift {
                            container: container.clone(),
                            kind: "flow".into(),
                            detail,
                        },
                    ))
                }
                Err(detail) => found.push(Drift {
                    container: container.clone(),
                    kind: "flow".into(),
                    detail,
                }),
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security_context::advise as advise_context;
    use corral_record::{Activity, Exec, FileWrite, Identity, Syscall};

    fn recording() -> Recording {
        Recording {
            format_version: corral_record::FORMAT_VERSION,
            architecture: "x86_64".into(),
            container: None,
            runs: Vec::new(),
            execs: vec![exec("/app", false)],
            workload: Activity {
                syscalls: vec![Syscall::new(0, "x86_64", false)],
                identities: vec![Identity {
                    uid: 1000,
                    gid: 1000,
                    euid: 1000,
                    egid: 1000,
                    count: 1,
                    runs: 1,
                }],
                file_writes: vec![write("/tmp/cache")],
                ..Activity::default()
            },
            runtime: Activity::default(),
            binaries: Vec::new(),
        }
    }

    fn exec(path: &str, setuid: bool) -> Exec {
        Exec {
            path: path.into(),
            argv0: path.into(),
            uid: 1000,
            gid: 1000,
            euid: if setuid { 0 } else { 1000 },
            egid: 1000,
            setuid,
            setgid: false,
            capabilities: Vec::new(),
            file_capabilities: false,
            count: 1,
            runs: 1,
        }
    }

    fn write(path: &str) -> FileWrite {
        FileWrite {
            path: path.into(),
            operation: "create".into(),
            filesystem: Some("overlay".into()),
            root_filesystem: Some(true),
            truncated: false,
            count: 1,
            runs: 1,
        }
    }

    fn key() -> WorkloadKey {
        WorkloadKey {
            namespace: "demo".into(),
            workload: "app".into(),
            container: "app".into(),
        }
    }

    #[test]
    fn what_the_policies_would_block_is_reported() {
        let before = recording();
        let advice = advise_context(&before);
        let applied = Applied {
            namespace: "demo".into(),
            workload: "app".into(),
            container: "app".into(),
            advice: AppliedAdvice::from(&advice),
            allowed_syscalls: vec!["read".into()],
        };
        let recorded = |recording: Recording| {
            BTreeMap::from([(
                key(),
                Recorded {
                    recording,
                    pods: Vec::new(),
                },
            )])
        };
        // The same behaviour: nothing.
        assert!(drift(
            &recorded(before.clone()),
            std::slice::from_ref(&applied),
            None
        )
        .is_empty());
        // New behaviour: a syscall, a write outside /tmp, a set-user-ID exec.
        let mut after = before;
        after
            .workload
            .syscalls
            .push(Syscall::new(83, "x86_64", false));
        after.workload.file_writes.push(write("/etc/passwd"));
        after.execs.push(exec("/bin/su", true));
        let found: Vec<(String, String)> = drift(&recorded(after), &[applied], None)
            .into_iter()
            .map(|d| (d.kind, d.detail))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "exec".to_string(),
                    "/bin/su raises privileges, which allowPrivilegeEscalation: false blocks"
                        .to_string()
                ),
                (
                    "syscall".to_string(),
                    "mkdir is not in the seccomp profile".to_string()
                ),
                (
                    "user".to_string(),
                    "uid 0 was used under runAsNonRoot".to_string()
                ),
                (
                    "write".to_string(),
                    "create /etc/passwd on the read-only root filesystem".to_string()
                ),
            ]
        );
    }
}
