//! A seccomp profile from a recording. Deny by default (EPERM), and allow:
//! - what the workload called after its first exec, and what the runtime
//!   calls between installing the filter and that exec (`base`, recorded per
//!   runtime and noNewPrivileges setting);
//! - in mode `reachable` (the default), also what the binaries it executed
//!   can reach (`reach`: their imports through the C library's table, their
//!   own constant-number `syscall` instructions), every member of a family
//!   one of those is in, and the self-information calls
//!   (`data/syscall-families.json`). Attack surface
//!   (`data/attack-surface.json`) comes only from the recording; `clone` is
//!   filtered to no new namespaces and `clone3` answered ENOSYS (the C
//!   libraries fall back to `clone`) unless the recording shows namespace
//!   work.
//!
//! Architectures follow the recording machine's, with its compat ABIs, since
//! the names are the same on each. The report says where each allowed
//! syscall comes from.

use std::collections::BTreeMap;

use corral_record::Recording;
use serde::Serialize;

use crate::base::BaseSets;
use crate::reach::{Reach, Site};
use crate::syscall_sets::SyscallSets;

/// An OCI runtime-spec `LinuxSeccomp`, as containerd and runc read a
/// `Localhost` profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciProfile {
    pub default_action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    pub architectures: Vec<String>,
    pub syscalls: Vec<SyscallRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    pub names: Vec<String>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgFilter>,
}

/// A condition on one syscall argument (`LinuxSeccompArg`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgFilter {
    pub index: u32,
    pub value: u64,
    pub value_two: u64,
    pub op: String,
}

/// In how many of the recorded runs each recorded syscall was made: the
/// confidence a reviewer needs (`total` runs); the runtime's base set and
/// what the recording did not show are not counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub version: String,
    pub total: usize,
    pub syscalls: BTreeMap<String, u32>,
}

/// What a profile is built from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only what the recording shows (and the runtime's base set): a
    /// legitimate path the recording missed is denied.
    Recorded,
    /// Also what the executed binaries can reach, their families and the
    /// self-information calls; attack surface only when recorded.
    #[default]
    Reachable,
}

/// What the kernel does with a syscall the profile does not allow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAction {
    /// Fail it with EPERM.
    #[default]
    Errno,
    /// Allow it and log it to the kernel's audit log (`type=SECCOMP`): a
    /// burn-in, read back with `corral drift --kernel-log`.
    Log,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub mode: Mode,
    pub default_action: DefaultAction,
}

/// Why a syscall is allowed: every reason that holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Why {
    /// In how many recorded runs the workload made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_runs: Option<u32>,
    /// The runtime makes it after installing the filter.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub runtime: bool,
    /// Binaries (and functions) that can reach it: the first few.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reachable: Vec<Site>,
    /// How many more binaries and functions can reach it.
    #[serde(skip_serializing_if = "is_zero")]
    pub more_sites: usize,
    /// Its family, and the members of it the workload made or reaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyReason>,
    /// A read-only self-information call.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub self_information: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FamilyReason {
    pub name: String,
    pub from: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// An attack-surface syscall the profile denies although a binary can
/// reach it or a family holds it: no recording shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Withheld {
    pub why: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reachable: Vec<Site>,
    #[serde(skip_serializing_if = "is_zero")]
    pub more_sites: usize,
}

/// What each part contributed, and what the profile blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub mode: Mode,
    pub default_action: DefaultAction,
    pub allowed: BTreeMap<String, Why>,
    /// Attack surface reachable but denied, and why it is attack surface.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub withheld: BTreeMap<String, Withheld>,
    /// How `clone` and `clone3` are allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clone: Option<String>,
    /// Syscalls of the architecture's native table the profile blocks, and
    /// of how many.
    pub blocked: usize,
    pub known: usize,
    /// Syscalls the runtimes' default profile allows and this one blocks.
    pub blocked_beyond_runtime_default: usize,
    /// What static analysis could not see: unreadable binaries, `syscall`
    /// instructions whose number is not a constant, binaries with no C
    /// library table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<String>,
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

/// The namespace flags of `clone` (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
/// NEWUSER, NEWPID, NEWNET): the runtimes' default profiles allow `clone`
/// only with all of them clear.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;
const ENOSYS: u32 = 38;

/// The recording shows namespace work: `unshare` or `setns` made, or
/// CAP_SYS_ADMIN (which every namespace but a user one needs) used.
fn namespaces_recorded(recording: &Recording) -> bool {
    let activity = &recording.workload;
    activity
        .syscalls
        .iter()
        .chain(&activity.compat_syscalls)
        .any(|s| matches!(s.name.as_deref(), Some("unshare" | "setns")))
        || activity
            .capabilities
            .iter()
            .any(|c| c.granted && c.name.as_deref() == Some("CAP_SYS_ADMIN"))
}

/// The profile for `recording`, whose container runs under `runtime` with
/// noNewPrivileges as given, and what each part contributed.
pub fn profile(
    recording: &Recording,
    bases: &BaseSets,
    runtime: &str,
    no_new_privileges: bool,
    options: Options,
) -> Result<(OciProfile, Coverage, Report), String> {
    let base = bases
        .find(runtime, &recording.architecture, no_new_privileges)
        .ok_or_else(|| {
            format!(
                "no recorded base syscalls for {runtime} on {} with noNewPrivileges {no_new_privileges} (data/runtime-base.json; tests/runtime_base.rs records them)",
                recording.architecture
            )
        })?;
    let architectures = architectures(&recording.architecture)?;
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
    let mut allowed: BTreeMap<String, Why> = BTreeMap::new();
    for (name, runs) in &counts {
        allowed.entry(name.clone()).or_default().recorded_runs = Some(*runs);
    }
    for name in &base.syscalls {
        allowed.entry(name.clone()).or_default().runtime = true;
    }
    let sets = SyscallSets::builtin();
    let names = corral_record::syscall_names_of(&recording.architecture);
    let mut withheld = BTreeMap::new();
    let mut unresolved = Vec::new();
    let mut clone = None;
    if options.mode == Mode::Reachable {
        let reach = Reach::of(recording);
        unresolved = reach.unresolved;
        for (name, (sites, more)) in reach.sites {
            if let Some(why) = sets.attack_surface.get(&name) {
                if !allowed.contains_key(&name) {
                    withheld.insert(
                        name,
                        Withheld {
                            why: why.clone(),
                            reachable: sites.into_iter().collect(),
                            more_sites: more,
                        },
                    );
                    continue;
                }
            }
            let why = allowed.entry(name).or_default();
            why.reachable = sites.into_iter().collect();
            why.more_sites = more;
        }
        // Families of what the workload made or can reach (not of the
        // runtime's own calls): the members it did not use.
        let mut members: BTreeMap<String, FamilyReason> = BTreeMap::new();
        let used = allowed
            .iter()
            .filter(|(_, why)| why.recorded_runs.is_some() || !why.reachable.is_empty())
            .map(|(name, _)| name);
        for name in used {
            let Some(family) = sets.family(name) else {
                continue;
            };
            for member in &family.syscalls {
                if member != name && names.contains(member.as_str()) {
                    members
                        .entry(member.clone())
                        .or_insert_with(|| FamilyReason {
                            name: family.name.clone(),
                            from: Vec::new(),
                        })
                        .from
                        .push(name.clone());
                }
            }
        }
        for (name, reason) in members {
            let why = allowed.entry(name).or_default();
            if why.recorded_runs.is_none() && !why.runtime && why.reachable.is_empty() {
                why.family = Some(reason);
            }
        }
        for name in &sets.self_information {
            if names.contains(name.as_str()) {
                allowed.entry(name.clone()).or_default().self_information = true;
            }
        }
    }
    // In both modes: a recording that never made a namespace gets clone
    // without namespace flags, and clone3 (whose flags seccomp cannot read)
    // answered ENOSYS.
    if (allowed.contains_key("clone") || allowed.contains_key("clone3"))
        && !namespaces_recorded(recording)
    {
        clone = Some(
            "clone only without namespace flags; clone3 fails with ENOSYS, so the C library falls back to clone (no recorded unshare, setns or CAP_SYS_ADMIN)"
                .to_string(),
        );
        // Answered ENOSYS, so not allowed; clone stands for it.
        if let Some(why) = allowed.remove("clone3") {
            let clone = allowed.entry("clone".to_string()).or_default();
            if clone.recorded_runs.is_none() {
                clone.recorded_runs = why.recorded_runs;
            }
            clone.reachable.extend(why.reachable);
            clone.reachable.sort();
            clone.reachable.dedup();
            if clone.recorded_runs.is_some() || !clone.reachable.is_empty() {
                clone.family = None;
            }
        }
    }
    let mut rules = Vec::new();
    let plain: Vec<String> = allowed
        .keys()
        .filter(|n| clone.is_none() || n.as_str() != "clone")
        .cloned()
        .collect();
    rules.push(SyscallRule {
        names: plain,
        action: "SCMP_ACT_ALLOW".into(),
        errno_ret: None,
        args: Vec::new(),
    });
    if clone.is_some() {
        rules.push(SyscallRule {
            names: vec!["clone".into()],
            action: "SCMP_ACT_ALLOW".into(),
            errno_ret: None,
            args: vec![ArgFilter {
                index: 0,
                value: CLONE_NAMESPACE_FLAGS,
                value_two: 0,
                op: "SCMP_CMP_MASKED_EQ".into(),
            }],
        });
        rules.push(SyscallRule {
            names: vec!["clone3".into()],
            action: "SCMP_ACT_ERRNO".into(),
            errno_ret: Some(ENOSYS),
            args: Vec::new(),
        });
    }
    // Counted on the native ABI's table, whose names the compat ABI's
    // mostly share.
    let native = corral_record::native_syscall_names(&recording.architecture);
    let known = native.len();
    let allowed_known = allowed
        .keys()
        .filter(|n| native.contains(n.as_str()))
        .count();
    let blocked_beyond_runtime_default = sets
        .runtime_default
        .iter()
        .filter(|n| native.contains(n.as_str()) && !allowed.contains_key(n.as_str()))
        .count();
    let (default_action, default_errno_ret) = match options.default_action {
        DefaultAction::Errno => ("SCMP_ACT_ERRNO", Some(1)),
        DefaultAction::Log => ("SCMP_ACT_LOG", None),
    };
    Ok((
        OciProfile {
            default_action: default_action.into(),
            default_errno_ret,
            architectures,
            syscalls: rules,
        },
        Coverage {
            version: "v1".into(),
            total: usize::try_from(recording.run_count()).unwrap_or(usize::MAX),
            syscalls: counts,
        },
        Report {
            mode: options.mode,
            default_action: options.default_action,
            allowed,
            withheld,
            clone,
            blocked: known.saturating_sub(allowed_known),
            known,
            blocked_beyond_runtime_default,
            unresolved,
        },
    ))
}

/// The syscalls a profile allows.
/// The syscalls a profile allows (some only with the arguments its rule
/// gives), sorted.
pub fn allowed(profile: &OciProfile) -> Vec<&str> {
    let mut names: Vec<&str> = profile
        .syscalls
        .iter()
        .filter(|r| r.action == "SCMP_ACT_ALLOW")
        .flat_map(|r| r.names.iter().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The syscalls a profile allows only with the arguments its rule gives.
pub fn filtered(profile: &OciProfile) -> Vec<&str> {
    profile
        .syscalls
        .iter()
        .filter(|r| r.action == "SCMP_ACT_ALLOW" && !r.args.is_empty())
        .flat_map(|r| r.names.iter().map(String::as_str))
        .collect()
}

/// The syscalls a profile answers with an error of its own rule rather
/// than its default (`clone3` with ENOSYS).
pub fn answered(profile: &OciProfile) -> Vec<&str> {
    profile
        .syscalls
        .iter()
        .filter(|r| r.action == "SCMP_ACT_ERRNO")
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
        "apiVersion": "security-profiles-operator.x-k8s.io/v1beta1",
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
            earlier_runs: None,
            truncated: Default::default(),
        }
    }

    fn bases() -> BaseSets {
        BaseSets {
            runtimes: ["aarch64", "x86_64"]
                .into_iter()
                .map(|architecture| RuntimeBase {
                    runtime: "runc".into(),
                    version: "test".into(),
                    architecture: architecture.into(),
                    no_new_privileges: true,
                    syscalls: vec!["execve".into(), "futex".into()],
                })
                .collect(),
        }
    }

    const RECORDED: Options = Options {
        mode: Mode::Recorded,
        default_action: DefaultAction::Errno,
    };

    fn reachable(numbers: &[u32]) -> (OciProfile, Report) {
        let (profile, _, report) = profile(
            &recording("x86_64", numbers),
            &bases(),
            "runc",
            true,
            Options::default(),
        )
        .unwrap();
        (profile, report)
    }

    #[test]
    fn the_machine_sets_the_architectures_and_the_base_is_added() {
        // aarch64: 63 is read, 64 write.
        let (profile, coverage, report) = profile(
            &recording("aarch64", &[63, 64]),
            &bases(),
            "runc",
            true,
            RECORDED,
        )
        .unwrap();
        assert_eq!(
            profile.architectures,
            ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
        );
        assert_eq!(allowed(&profile), ["execve", "futex", "read", "write"]);
        assert_eq!(profile.default_errno_ret, Some(1));
        // Coverage counts the workload's syscalls, not the runtime's.
        assert_eq!(
            coverage.syscalls.keys().collect::<Vec<_>>(),
            ["read", "write"]
        );
        assert_eq!(report.allowed["read"].recorded_runs, Some(1));
        assert!(report.allowed["execve"].runtime);
        assert_eq!(report.known - report.blocked, 4);
    }

    #[test]
    fn what_cannot_be_named_or_based_is_an_error() {
        let options = Options::default();
        let err = profile(
            &recording("aarch64", &[5000]),
            &bases(),
            "runc",
            true,
            options,
        )
        .unwrap_err();
        assert!(err.contains("syscall 5000"), "{err}");
        let err = profile(
            &recording("aarch64", &[63]),
            &bases(),
            "runc",
            false,
            options,
        )
        .unwrap_err();
        assert!(err.contains("noNewPrivileges false"), "{err}");
        let err = profile(&recording("riscv64", &[]), &bases(), "runc", true, options).unwrap_err();
        assert!(err.contains("riscv64"), "{err}");
    }

    #[test]
    fn a_family_member_brings_the_family_and_says_so() {
        // x86_64: 20 writev, 44 sendto.
        let (profile, report) = reachable(&[20, 44]);
        let names = allowed(&profile);
        for member in [
            "write", "pwrite64", "pwritev", "pwritev2", "sendmsg", "sendmmsg",
        ] {
            assert!(names.contains(&member), "{member}: {names:?}");
        }
        let why = &report.allowed["pwritev"];
        assert_eq!(why.recorded_runs, None);
        assert_eq!(
            why.family,
            Some(FamilyReason {
                name: "write".into(),
                from: vec!["writev".into()]
            })
        );
        // Self-information calls come with any profile of this mode.
        assert!(report.allowed["gettid"].self_information);
        // What no family or recording brings stays blocked.
        for blocked in ["recvfrom", "socket", "execveat", "unshare", "mount", "bpf"] {
            assert!(!names.contains(&blocked), "{blocked}");
        }
        assert!(report.blocked_beyond_runtime_default > 100, "{report:?}");
    }

    #[test]
    fn fork_brings_a_clone_without_namespaces_and_clone3_falls_back() {
        // x86_64: 57 fork.
        let (profile, report) = reachable(&[57]);
        let clone = profile
            .syscalls
            .iter()
            .find(|r| r.names == ["clone"])
            .expect("a rule of its own for clone");
        assert_eq!(clone.action, "SCMP_ACT_ALLOW");
        assert_eq!(
            clone.args,
            [ArgFilter {
                index: 0,
                value: 0x7E02_0000,
                value_two: 0,
                op: "SCMP_CMP_MASKED_EQ".into()
            }]
        );
        let clone3 = profile
            .syscalls
            .iter()
            .find(|r| r.names == ["clone3"])
            .unwrap();
        assert_eq!(
            (clone3.action.as_str(), clone3.errno_ret),
            ("SCMP_ACT_ERRNO", Some(38))
        );
        assert!(!profile.syscalls[0].names.contains(&"clone".to_string()));
        for waits in ["wait4", "waitid", "vfork"] {
            assert!(allowed(&profile).contains(&waits), "{waits}");
        }
        assert!(report.clone.is_some());
        // Recorded namespace work lifts the filter: 57 fork, 272 unshare.
        let (profile, report) = reachable(&[57, 272]);
        assert_eq!(profile.syscalls.len(), 1);
        assert!(allowed(&profile).contains(&"clone3"));
        assert!(allowed(&profile).contains(&"unshare"));
        assert!(report.clone.is_none());
    }

    #[test]
    fn recorded_mode_filters_clone_too_and_the_runtime_brings_no_family() {
        // x86_64: 56 clone, 435 clone3.
        let (profile, _, report) = profile(
            &recording("x86_64", &[56, 435]),
            &bases(),
            "runc",
            true,
            RECORDED,
        )
        .unwrap();
        assert_eq!(allowed(&profile), ["clone", "execve", "futex"]);
        assert_eq!(filtered(&profile), ["clone"]);
        assert_eq!(answered(&profile), ["clone3"]);
        assert_eq!(report.allowed["clone"].family, None);
        // The base's futex is runc's: its family (futex_waitv,
        // set_robust_list) is not the workload's.
        let (profile, _) = reachable(&[0]);
        assert!(!allowed(&profile).contains(&"futex_waitv"));
        // Neither a family nor self-information reads another process or
        // changes state.
        for name in [
            "setsockopt",
            "splice",
            "timer_create",
            "umask",
            "getpgid",
            "capget",
        ] {
            assert!(
                !allowed(&reachable(&[55, 40, 37]).0).contains(&name),
                "{name}"
            );
        }
    }

    #[test]
    fn attack_surface_comes_only_from_the_recording() {
        // x86_64: 321 bpf recorded is allowed; its family-less neighbours
        // are not brought in.
        let (with_bpf, report) = reachable(&[321]);
        assert!(allowed(&with_bpf).contains(&"bpf"));
        assert_eq!(report.allowed["bpf"].recorded_runs, Some(1));
        assert!(!allowed(&with_bpf).contains(&"perf_event_open"));
        // Recorded mode is exactly the recording and the base.
        let (profile, _, report) = profile(
            &recording("x86_64", &[20]),
            &bases(),
            "runc",
            true,
            RECORDED,
        )
        .unwrap();
        assert_eq!(allowed(&profile), ["execve", "futex", "writev"]);
        assert!(report.withheld.is_empty() && report.clone.is_none());
    }

    #[test]
    fn a_burn_in_profile_logs_instead_of_failing() {
        let options = Options {
            default_action: DefaultAction::Log,
            ..Options::default()
        };
        let (profile, _, _) =
            profile(&recording("x86_64", &[0]), &bases(), "runc", true, options).unwrap();
        let json = serde_json::to_value(&profile).unwrap();
        assert_eq!(json["defaultAction"], "SCMP_ACT_LOG");
        assert!(json.get("defaultErrnoRet").is_none(), "{json}");
    }

    #[test]
    fn the_spo_resource_carries_the_coverage() {
        let (profile, coverage, _) = profile(
            &recording("aarch64", &[63]),
            &bases(),
            "runc",
            true,
            RECORDED,
        )
        .unwrap();
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
