//! The Pod Security Standards, one rule per check of the upstream Pod
//! Security Admission library, evaluated by `corral-pss` (exact parity) at
//! the level and version the settings give (`restricted:latest` unless
//! configured). A check of the baseline level fires at restricted too; a
//! restricted one does not fire at baseline.

use corral_core::model::{runtime, Resource};
use corral_core::Object;

use crate::declare_rule;
use crate::finding::Finding;
use crate::rule::{Context, Rule};

pub static RULES: &[&dyn Rule] = &[
    &AllowPrivilegeEscalation,
    &AppArmorProfile,
    &CapabilitiesBaseline,
    &CapabilitiesRestricted,
    &HostNamespaces,
    &HostPathVolumes,
    &HostPorts,
    &HostProbes,
    &Privileged,
    &ProcMount,
    &ProcMountRestricted,
    &RestrictedVolumes,
    &RunAsNonRoot,
    &RunAsUser,
    &SeLinuxOptions,
    &SeccompBaseline,
    &SeccompRestricted,
    &Sysctls,
    &WindowsHostProcess,
];

/// Implement `Rule` for the rule of PSS check `$check`.
macro_rules! pss_rule {
    ($rule:ident, $check:literal) => {
        impl Rule for $rule {
            fn check_object(
                &self,
                context: &Context,
                object: &Object,
                resource: &Resource,
                out: &mut Vec<Finding>,
            ) {
                let Resource::Workload(template) = resource else {
                    return;
                };
                let policy = &context.settings.pss;
                let Some(evaluation) = context.pss_evaluation(object) else {
                    return;
                };
                for violation in evaluation.violations.iter().filter(|v| v.check == $check) {
                    let message = if violation.detail.is_empty() {
                        violation.reason.clone()
                    } else {
                        format!("{} ({})", violation.reason, violation.detail)
                    };
                    let fields: Vec<String> = if violation.fields.is_empty() {
                        vec![String::new()]
                    } else {
                        violation.fields.clone()
                    };
                    for field in fields {
                        let path = match (template.path.as_str(), field.as_str()) {
                            (base, "") => base.to_string(),
                            ("", f) => f.to_string(),
                            (base, f) => format!("{base}.{f}"),
                        };
                        out.push(Finding::new(
                            &Self::META,
                            object,
                            &path,
                            format!("{message} [{}:{}]", policy.level.as_str(), policy.version),
                            fix(Self::META.id, &template.spec).to_string(),
                        ));
                    }
                }
            }
        }
    };
}

/// What to change, by rule.
struct Fixes;

impl std::ops::Index<&str> for Fixes {
    type Output = str;
    fn index(&self, id: &str) -> &str {
        match id {
            "CRL-P001" => "set `securityContext.allowPrivilegeEscalation: false` on every container",
            "CRL-P002" => "remove the AppArmor profile, or set it to `RuntimeDefault` or `Localhost`",
            "CRL-P003" => "add no capability beyond the baseline set (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT)",
            "CRL-P004" => "set `capabilities.drop: [\"ALL\"]` and add at most `NET_BIND_SERVICE`",
            "CRL-P005" => "remove `hostNetwork`, `hostPID` and `hostIPC`",
            "CRL-P006" => "replace the hostPath volume (emptyDir, a PersistentVolumeClaim, a ConfigMap or Secret)",
            "CRL-P007" => "remove `hostPort` (use a Service)",
            "CRL-P008" => "remove `host` from the probe or lifecycle handler",
            "CRL-P009" => "remove `securityContext.privileged: true`",
            "CRL-P010" | "CRL-P011" => "remove `securityContext.procMount` (the default masks /proc)",
            "CRL-P012" => "use only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret volumes",
            "CRL-P013" => "set `securityContext.runAsNonRoot: true` on the pod or every container",
            "CRL-P014" => "set `runAsUser` to a non-zero uid",
            "CRL-P015" => "remove the SELinux type and user, or use `container_t`, `container_init_t`, `container_kvm_t` or `container_engine_t`",
            "CRL-P016" => "remove the `Unconfined` seccomp profile",
            "CRL-P017" => "set `securityContext.seccompProfile.type: RuntimeDefault` (or `Localhost`) on the pod",
            "CRL-P018" => "set only the safe sysctls",
            _ => "remove `windowsOptions.hostProcess: true`",
        }
    }
}

static FIX: Fixes = Fixes;

/// The fix of rule `id` for a pod: on a Windows pod, where validation
/// forbids capabilities, `runAsUser` and sysctls, the fix removes them
/// rather than asking for a Linux value.
fn fix(id: &str, spec: &k8s_openapi::api::core::v1::PodSpec) -> &'static str {
    if runtime::windows(spec) {
        match id {
            "CRL-P003" => return "remove `capabilities` (Windows pods have none)",
            "CRL-P014" => {
                return "remove `runAsUser` and name the user in `securityContext.windowsOptions.runAsUserName` (`ContainerUser`)"
            }
            "CRL-P018" => return "remove `sysctls` (Windows pods have none)",
            "CRL-P015" => return "remove `seLinuxOptions` (Windows pods have none)",
            _ => {}
        }
    }
    &FIX[id]
}

/// What a rule that took over a workload rule's defect (`rule_redirects`)
/// says of it.
macro_rules! took_over {
    ($old:literal) => {
        concat!(
            "\n\nIt is the one rule for this defect: it also reports what ",
            $old,
            " reported (merged into it: the old IDs and names stay accepted wherever a rule is named: \
             configuration, `--disable`, suppressions, baselines)."
        )
    };
}

macro_rules! pss_check {
    ($rule:ident, $id:literal, $kebab:literal, $check:literal, $severity:ident, $level:literal, $summary:literal, $why:literal $(, $covers:expr)?) => {
        declare_rule! {
            #[doc = concat!(
                "## What it does\nThe Pod Security Standards check `", $check, "` (", $level,
                " level), exactly as the API server's Pod Security Admission evaluates it, at the",
                " configured level and version.", $($covers,)? "\n\n## Why it matters\n", $why,
                "\n\n## How to fix\nSee the finding's fix; the rule's check is documented upstream.",
                "\n\n## References\n- https://kubernetes.io/docs/concepts/security/pod-security-standards/\n",
                "- https://github.com/kubernetes/pod-security-admission (check `", $check, "`)"
            )]
            $rule, $id, $kebab, PodSecurityStandards, $severity, $summary
        }
        pss_rule!($rule, $check);
    };
}

// High: the severity of CRL-W002, which it took over.
pss_check!(AllowPrivilegeEscalation, "CRL-P001", "pss-allow-privilege-escalation", "allowPrivilegeEscalation", High, "restricted",
    "Pod Security Standards: privilege escalation allowed",
    "Processes could gain privileges beyond their parent's through set-user-ID binaries or file capabilities: a foothold as an unprivileged user becomes root.",
    took_over!("`CRL-W002` (`privilege-escalation-container`)"));
pss_check!(
    AppArmorProfile,
    "CRL-P002",
    "pss-app-armor-profile",
    "appArmorProfile",
    High,
    "baseline",
    "Pod Security Standards: AppArmor disabled",
    "An unconfined AppArmor profile removes a layer of the container's confinement."
);
pss_check!(
    CapabilitiesBaseline,
    "CRL-P003",
    "pss-capabilities-baseline",
    "capabilities_baseline",
    High,
    "baseline",
    "Pod Security Standards: capability beyond the baseline",
    "Capabilities beyond the default set open container escapes and node compromise."
);
pss_check!(CapabilitiesRestricted, "CRL-P004", "pss-capabilities-restricted", "capabilities_restricted", Medium, "restricted",
    "Pod Security Standards: capabilities not dropped",
    "The runtime's default capabilities include ones most workloads never use (NET_RAW, SETUID...).");
pss_check!(HostNamespaces, "CRL-P005", "pss-host-namespaces", "hostNamespaces", Critical, "baseline",
    "Pod Security Standards: host namespaces",
    "Sharing the node's network, process or IPC namespace removes the pod's isolation from the node: with the network, every interface of the node, its ports and its loopback services, past NetworkPolicies; with the processes, their environments and command lines; with IPC, the shared memory of every process on the node.",
    took_over!("`CRL-W007` (`host-network`), `CRL-W008` (`host-pid`) and `CRL-W009` (`host-ipc`)"));
pss_check!(HostPathVolumes, "CRL-P006", "pss-host-path-volumes", "hostPathVolumes", High, "baseline",
    "Pod Security Standards: hostPath volume",
    "A hostPath volume reaches the node's filesystem: its credentials, its configuration, its runtime.");
pss_check!(
    HostPorts,
    "CRL-P007",
    "pss-host-ports",
    "hostPorts",
    Medium,
    "baseline",
    "Pod Security Standards: host port",
    "A host port binds on the node itself, outside Services and NetworkPolicies."
);
pss_check!(HostProbes, "CRL-P008", "pss-host-probes", "hostProbesAndHostLifecycle", Medium, "baseline",
    "Pod Security Standards: probe or hook on another host",
    "A probe or lifecycle handler with `host` makes the kubelet connect to an arbitrary address: a server-side request forgery.");
pss_check!(
    Privileged,
    "CRL-P009",
    "pss-privileged",
    "privileged",
    Critical,
    "baseline",
    "Pod Security Standards: privileged container",
    "A privileged container has every capability and device of the node, and no seccomp or AppArmor confinement: escaping to the node is one `mount` away.",
    took_over!("`CRL-W001` (`privileged-container`)")
);
pss_check!(
    ProcMount,
    "CRL-P010",
    "pss-proc-mount",
    "procMount",
    High,
    "baseline",
    "Pod Security Standards: unmasked /proc",
    "Unmasked /proc exposes and lets the container change parts of the node's kernel state.",
    took_over!("`CRL-W022` (`unsafe-proc-mount`), with `CRL-P011` at the restricted level,")
);
pss_check!(
    ProcMountRestricted,
    "CRL-P011",
    "pss-proc-mount-restricted",
    "procMount_restricted",
    High,
    "restricted",
    "Pod Security Standards: unmasked /proc (restricted)",
    "Unmasked /proc exposes and lets the container change parts of the node's kernel state.",
    took_over!("`CRL-W022` (`unsafe-proc-mount`), with `CRL-P010` at the baseline level,")
);
pss_check!(RestrictedVolumes, "CRL-P012", "pss-restricted-volumes", "restrictedVolumes", Medium, "restricted",
    "Pod Security Standards: volume type not allowed",
    "Volume types beyond the restricted set reach node or network storage outside the cluster's control.");
pss_check!(
    RunAsNonRoot,
    "CRL-P013",
    "pss-run-as-non-root",
    "runAsNonRoot",
    Medium,
    "restricted",
    "Pod Security Standards: may run as root",
    "Root in a container is root on the node's kernel.",
    took_over!("`CRL-W003` (`run-as-non-root`)")
);
pss_check!(
    RunAsUser,
    "CRL-P014",
    "pss-run-as-user",
    "runAsUser",
    Medium,
    "restricted",
    "Pod Security Standards: runs as uid 0",
    "Root in a container is root on the node's kernel."
);
pss_check!(
    SeLinuxOptions,
    "CRL-P015",
    "pss-selinux-options",
    "seLinuxOptions",
    High,
    "baseline",
    "Pod Security Standards: custom SELinux type or user",
    "A custom SELinux type or user can lift the container's confinement."
);
pss_check!(
    SeccompBaseline,
    "CRL-P016",
    "pss-seccomp-baseline",
    "seccompProfile_baseline",
    High,
    "baseline",
    "Pod Security Standards: seccomp unconfined",
    "Without seccomp every syscall reaches the kernel, including the ones container escapes use."
);
pss_check!(
    SeccompRestricted,
    "CRL-P017",
    "pss-seccomp-restricted",
    "seccompProfile_restricted",
    Medium,
    "restricted",
    "Pod Security Standards: no seccomp profile",
    "Without seccomp every syscall reaches the kernel, including the ones container escapes use."
);
pss_check!(
    Sysctls,
    "CRL-P018",
    "pss-sysctls",
    "sysctls",
    High,
    "baseline",
    "Pod Security Standards: unsafe sysctl",
    "Unsafe sysctls are not isolated between pods on a node.",
    took_over!("`CRL-W021` (`unsafe-sysctls`)")
);
pss_check!(
    WindowsHostProcess,
    "CRL-P019",
    "pss-windows-host-process",
    "windowsHostProcess",
    Critical,
    "baseline",
    "Pod Security Standards: Windows host process",
    "A Windows HostProcess container runs on the node itself with full access."
);

/// The rule of PSS check `check` (upstream's name).
pub(crate) fn rule_for(check: &str) -> Option<&'static crate::rule::RuleMeta> {
    Some(match check {
        "allowPrivilegeEscalation" => &AllowPrivilegeEscalation::META,
        "appArmorProfile" => &AppArmorProfile::META,
        "capabilities_baseline" => &CapabilitiesBaseline::META,
        "capabilities_restricted" => &CapabilitiesRestricted::META,
        "hostNamespaces" => &HostNamespaces::META,
        "hostPathVolumes" => &HostPathVolumes::META,
        "hostPorts" => &HostPorts::META,
        "hostProbesAndHostLifecycle" => &HostProbes::META,
        "privileged" => &Privileged::META,
        "procMount" => &ProcMount::META,
        "procMount_restricted" => &ProcMountRestricted::META,
        "restrictedVolumes" => &RestrictedVolumes::META,
        "runAsNonRoot" => &RunAsNonRoot::META,
        "runAsUser" => &RunAsUser::META,
        "seLinuxOptions" => &SeLinuxOptions::META,
        "seccompProfile_baseline" => &SeccompBaseline::META,
        "seccompProfile_restricted" => &SeccompRestricted::META,
        "sysctls" => &Sysctls::META,
        "windowsHostProcess" => &WindowsHostProcess::META,
        _ => return None,
    })
}
