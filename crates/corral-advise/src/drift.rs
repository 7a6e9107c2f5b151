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

use corral_core::model::Model;

use crate::netpol::advise::{advise_workloads, Advised, Options};
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
    /// Syscalls the profile answers with an error the program handles
    /// (`clone3` with ENOSYS, so the C library falls back to `clone`).
    #[serde(default)]
    pub answered_syscalls: Vec<String>,
    /// Syscalls allowed only with the arguments their rule gives (`clone`
    /// without namespace flags).
    #[serde(default)]
    pub filtered_syscalls: Vec<String>,
    /// The programs the container executed when recorded.
    #[serde(default)]
    pub executables: Vec<String>,
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

/// A kind of drift: each is its own rule of `corral drift` (`CRL-B…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A syscall the seccomp profile does not allow.
    Syscall,
    /// A capability used that the advice does not add.
    Capability,
    /// uid 0 under runAsNonRoot.
    User,
    /// A write outside the writable directories of a read-only root.
    Write,
    /// A privilege-raising exec under allowPrivilegeEscalation: false.
    Exec,
    /// A connection out that the NetworkPolicies deny.
    Egress,
    /// A connection in that the NetworkPolicies deny.
    Ingress,
    /// A recorded container no advised policy is for.
    Policy,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Syscall => "syscall",
            Kind::Capability => "capability",
            Kind::User => "user",
            Kind::Write => "write",
            Kind::Exec => "exec",
            Kind::Egress => "egress",
            Kind::Ingress => "ingress",
            Kind::Policy => "policy",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Drift {
    pub namespace: String,
    pub workload: String,
    /// `None` for a workload's flows (its pods', all containers together).
    pub container: Option<String>,
    pub kind: Kind,
    pub detail: String,
}

impl Drift {
    /// `ns/workload container c`, or `ns/workload`.
    pub fn subject(&self) -> String {
        match &self.container {
            Some(c) => format!("{}/{} container {c}", self.namespace, self.workload),
            None => format!("{}/{}", self.namespace, self.workload),
        }
    }
}

fn container_drift(recording: &Recording, applied: &Applied) -> Vec<(Kind, String)> {
    let mut found = Vec::new();
    let activity = &recording.workload;
    for syscall in activity.syscalls.iter().chain(&activity.compat_syscalls) {
        let name = syscall
            .name
            .clone()
            .unwrap_or_else(|| format!("#{}", syscall.number));
        if !applied.allowed_syscalls.contains(&name) && !applied.answered_syscalls.contains(&name) {
            found.push((
                Kind::Syscall,
                format!("{name} is not in the seccomp profile"),
            ));
        }
    }
    for c in activity.capabilities.iter().filter(|c| c.granted) {
        let name = c.name.as_deref().unwrap_or("?").trim_start_matches("CAP_");
        if !applied.advice.capabilities.iter().any(|a| a == name) {
            found.push((
                Kind::Capability,
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
        found.push((Kind::User, "uid 0 was used under runAsNonRoot".into()));
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
                    Kind::Write,
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
                Kind::Exec,
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
/// the NetworkPolicies and the inventory (its model too), beyond the
/// policies: its flows are found as `advise` finds them
/// ([`crate::netpol::advise::advise_workloads`], the workloads' pods from
/// [`crate::workload::group`]).
pub fn drift(
    recorded: &BTreeMap<WorkloadKey, Recorded>,
    applied: &[Applied],
    network: Option<(&[NetworkPolicy], &Model, &Inventory)>,
) -> Vec<Drift> {
    let mut found = Vec::new();
    for (key, r) in recorded {
        let at = |kind: Kind, detail: String| Drift {
            namespace: key.namespace.clone(),
            workload: key.workload.clone(),
            container: Some(key.container.clone()),
            kind,
            detail,
        };
        match applied.iter().find(|a| {
            a.namespace == key.namespace
                && a.workload == key.workload
                && a.container == key.container
        }) {
            Some(applied) => found.extend(
                container_drift(&r.recording, applied)
                    .into_iter()
                    .map(|(kind, detail)| at(kind, detail)),
            ),
            None => found.push(at(
                Kind::Policy,
                "no advised policy for this container".into(),
            )),
        }
    }
    if let Some((policies, model, inventory)) = network {
        found.extend(flow_drift(recorded, policies, model, inventory));
    }
    found.sort();
    found.dedup();
    found
}

/// The recorded flows the NetworkPolicies deny, by workload.
fn flow_drift(
    recorded: &BTreeMap<WorkloadKey, Recorded>,
    policies: &[NetworkPolicy],
    model: &Model,
    inventory: &Inventory,
) -> Vec<Drift> {
    let options = Options::default();
    // All together, as advise does (UDP ingress comes from the others);
    // when one cannot be advised, each alone, to say which.
    let advised: Vec<Result<Advised, (WorkloadKey, String)>> =
        match advise_workloads(recorded, model, inventory, &options) {
            Ok(all) => all.into_iter().map(Ok).collect(),
            Err(_) => recorded
                .iter()
                .map(|(key, r)| {
                    let one = BTreeMap::from([(key.clone(), r.clone())]);
                    advise_workloads(&one, model, inventory, &options)
                        .map(|mut a| a.remove(0))
                        .map_err(|e| (key.clone(), e))
                })
                .collect(),
        };
    let mut found = Vec::new();
    for advised in advised {
        match advised {
            Ok(advised) => {
                for (kind, direction) in [(Kind::Egress, "egress"), (Kind::Ingress, "ingress")] {
                    let mut one = advised.clone();
                    one.flows.retain(|f| f.direction == direction);
                    found.extend(denied_flows(&one, inventory, policies).into_iter().map(
                        |detail| Drift {
                            namespace: advised.namespace.clone(),
                            workload: advised.workload.clone(),
                            container: None,
                            kind,
                            detail,
                        },
                    ));
                }
            }
            Err((key, detail)) => found.push(Drift {
                namespace: key.namespace,
                workload: key.workload,
                container: None,
                kind: Kind::Policy,
                detail,
            }),
        }
    }
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
            earlier_runs: None,
            truncated: Default::default(),
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
    fn failed_writes_are_no_drift() {
        let before = recording();
        let applied = Applied {
            namespace: "demo".into(),
            workload: "app".into(),
            container: "app".into(),
            advice: AppliedAdvice::from(&advise_context(&before)),
            allowed_syscalls: vec!["read".into()],
            answered_syscalls: Vec::new(),
            filtered_syscalls: Vec::new(),
            executables: Vec::new(),
        };
        // Tried on the read-only root and refused: not a write.
        let mut after = before;
        after
            .workload
            .file_write_failures
            .push(corral_record::FileWriteFailure {
                path: "/etc/passwd".into(),
                operation: "open-write".into(),
                error: "EROFS".into(),
                filesystem: Some("overlay".into()),
                root_filesystem: Some(true),
                truncated: false,
                count: 1,
                runs: 1,
            });
        let recorded = BTreeMap::from([(
            key(),
            Recorded {
                recording: after,
                pods: Vec::new(),
                named: crate::workload::Named {
                    kind: None,
                    name: "app".into(),
                    naming: crate::workload::Naming::Given,
                },
                files: Vec::new(),
            },
        )]);
        assert!(drift(&recorded, &[applied], None).is_empty());
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
            answered_syscalls: Vec::new(),
            filtered_syscalls: Vec::new(),
            executables: Vec::new(),
        };
        let recorded = |recording: Recording| {
            BTreeMap::from([(
                key(),
                Recorded {
                    recording,
                    pods: Vec::new(),
                    named: crate::workload::Named {
                        kind: None,
                        name: "app".into(),
                        naming: crate::workload::Naming::Given,
                    },
                    files: Vec::new(),
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
        let found: Vec<(&str, String)> = drift(&recorded(after), &[applied], None)
            .into_iter()
            .map(|d| (d.kind.as_str(), d.detail))
            .collect();
        // By kind: syscall, user, write, exec.
        assert_eq!(
            found,
            [
                ("syscall", "mkdir is not in the seccomp profile".to_string()),
                ("user", "uid 0 was used under runAsNonRoot".to_string()),
                (
                    "write",
                    "create /etc/passwd on the read-only root filesystem".to_string()
                ),
                (
                    "exec",
                    "/bin/su raises privileges, which allowPrivilegeEscalation: false blocks"
                        .to_string()
                ),
            ]
        );
    }
}
