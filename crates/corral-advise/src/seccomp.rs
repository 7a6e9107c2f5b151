//! A seccomp profile from a recording: deny by default (EPERM), allow what
//! the workload called after its first exec, plus what the runtime calls
//! between installing the filter and that exec (`base`, recorded per
//! runtime and noNewPrivileges setting). Architectures follow the recording
//! machine's, with its compat ABIs, since the names are the same on each.

use std::collections::BTreeMap;

use corral_record::Recording;
use serde::Serialize;

use crate::base::BaseSets;

/// An OCI runtime-spec `LinuxSeccomp`, as containerd and runc read a
/// `Localhost` profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciProfile {
    pub default_action: String,
    pub default_errno_ret: u32,
    pub architectures: Vec<String>,
    pub syscalls: Vec<SyscallRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyscallRule {
    pub names: Vec<String>,
    pub action: String,
}

/// In how many of the recorded runs each allowed syscall was made: the
/// confidence a reviewer needs (`total` runs); the runtime's base set is
/// not counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub version: String,
    pub total: usize,
    pub syscalls: BTreeMap<String, u32>,
}

/// The seccomp architectures of a recording machine (`uname -m`).
pub fn architectures(machine: &str) -> Result<Vec<String>, String> {
    let names: &[&str] = match machine {
        "x86_64" => &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "aarch64" => &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        other => {
            return Err(format!(
                "no seccomp architectures known for machine {other:?}"
            ))
        }
    };
    Ok(names.iter().map(|n| n.to_string()).collect())
}

/// The profile for `recording`, whose container runs under `runtime` with
/// noNewPrivileges as given.
pub fn profile(
    recording: &Recording,
    bases: &BaseSets,
    runtime: &str,
    no_new_privileges: bool,
) -> Result<(OciProfile, Coverage), String> {
    let base = bases
        .find(runtime, &recording.architecture, no_new_privileges)
        .ok_or_else(|| {
            format!(
                "no recorded base syscalls for {runtime} on {} with noNewPrivileges {no_new_privileges} (data/runtime-base.json; tests/runtime_base.rs records them)",
                recording.architecture
            )
        })?;
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let all = recording
        .workload
        .syscalls
        .iter()
        .chain(&recording.workload.compat_syscalls);
    for syscall in all {
        let name = syscall.name.clone().ok_or_else(|| {
            format!(
                "syscall {} of {} has no name Corral knows: a profile cannot allow it by name",
                syscall.number, recording.architecture
            )
        })?;
        let count = counts.entry(name).or_default();
        *count = (*count).max(syscall.runs);
    }
    let mut names: Vec<String> = counts.keys().cloned().collect();
    names.extend(base.syscalls.iter().cloned());
    names.sort();
    names.dedup();
    Ok((
        OciProfile {
            default_action: "SCMP_ACT_ERRNO".into(),
            default_errno_ret: 1,
            architectures: architectures(&recording.architecture)?,
            syscalls: vec![SyscallRule {
                names,
                action: "SCMP_ACT_ALLOW".into(),
            }],
        },
        Coverage {
            version: "v1".into(),
            total: recording.runs.len(),
            syscalls: counts,
        },
    ))
}

/// The syscalls a profile allows.
pub fn allowed(profile: &OciProfile) -> Vec<&str> {
    profile
        .syscalls
        .iter()
        .filter(|r| r.action == "SCMP_ACT_ALLOW")
        .flat_map(|r| r.names.iter().map(String::as_str))
        .collect()
}

/// The Security Profiles Operator resource for the profile, with the
/// coverage as its `spo.x-k8s.io/syscall-coverage` annotation.
pub fn spo_resource(
    name: &str,
    namespace: &str,
    profile: &OciProfile,
    coverage: &Coverage,
) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "security-profiles-operator.x-k8s.io/v1",
        "kind": "SeccompProfile",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {
                "spo.x-k8s.io/syscall-coverage": serde_json::to_string(coverage).unwrap_or_default(),
            },
        },
        "spec": {
            "defaultAction": profile.default_action,
            "architectures": profile.architectures,
            "syscalls": profile.syscalls,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::RuntimeBase;
    use corral_record::{Activity, Syscall};

    fn recording(architecture: &str, numbers: &[u32]) -> Recording {
        Recording {
            format_version: corral_record::FORMAT_VERSION,
            architecture: architecture.into(),
            container: None,
            runs: Vec::new(),
            execs: Vec::new(),
            workload: Activity {
                syscalls: numbers
                    .iter()
                    .map(|n| Syscall::new(*n, architecture, false))
                    .collect(),
                ..Activity::default()
            },
            runtime: Activity::default(),
            binaries: Vec::new(),
        }
    }

    fn bases() -> BaseSets {
        BaseSets {
            runtimes: vec![RuntimeBase {
                runtime: "runc".into(),
                version: "test".into(),
                architecture: "aarch64".into(),
                no_new_privileges: true,
                syscalls: vec!["execve".into(), "futex".into()],
            }],
        }
    }

    #[test]
    fn the_machine_sets_the_architectures_and_the_base_is_added() {
        // aarch64: 63 is read, 64 write.
        let (profile, coverage) =
            profile(&recording("aarch64", &[63, 64]), &bases(), "runc", true).unwrap();
        assert_eq!(
            profile.architectures,
            ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
        );
        assert_eq!(allowed(&profile), ["execve", "futex", "read", "write"]);
        assert_eq!(profile.default_errno_ret, 1);
        // Coverage counts the workload's syscalls, not the runtime's.
        assert_eq!(
            coverage.syscalls.keys().collect::<Vec<_>>(),
            ["read", "write"]
        );
    }

    #[test]
    fn what_cannot_be_named_or_based_is_an_error() {
        let err = profile(&recording("aarch64", &[5000]), &bases(), "runc", true).unwrap_err();
        assert!(err.contains("syscall 5000"), "{err}");
        let err = profile(&recording("aarch64", &[63]), &bases(), "runc", false).unwrap_err();
        assert!(err.contains("noNewPrivileges false"), "{err}");
        let err = profile(&recording("riscv64", &[]), &bases(), "runc", true).unwrap_err();
        assert!(err.contains("riscv64"), "{err}");
    }

    #[test]
    fn the_spo_resource_carries_the_coverage() {
        let (profile, coverage) =
            profile(&recording("aarch64", &[63]), &bases(), "runc", true).unwrap();
        let resource = spo_resource("demo-app-app", "demo", &profile, &coverage);
        assert_eq!(resource["kind"], "SeccompProfile");
        assert_eq!(resource["spec"]["defaultAction"], "SCMP_ACT_ERRNO");
        let annotation = resource["metadata"]["annotations"]["spo.x-k8s.io/syscall-coverage"]
            .as_str()
            .unwrap();
        let parsed: serde_json::Value = serde_json::from_str(annotation).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"version": "v1", "total": 0, "syscalls": {"read": 1}})
        );
    }
}
