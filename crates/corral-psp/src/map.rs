//! Each PodSecurityPolicy field placed at the Pod Security Standards level
//! whose allowed values it stays within (the kubernetes.io mapping table),
//! whether it mutates pods, and the validating controls PSS cannot express.
//! A PSP's level is the least restrictive of its fields' levels.

use corral_core::model::psp::{IdStrategyOptions, PodSecurityPolicy};
use corral_pss::{Level, BASELINE_CAPABILITIES};
use serde::Serialize;

/// What the table says of one field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within what this level allows (and so every less strict level).
    Level(Level),
    /// PSS allows every value at every level.
    NoOpinion,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldMapping {
    /// `spec.privileged`, or the annotation's name.
    pub field: String,
    /// The value as written (JSON-like), `unset` when absent.
    pub value: String,
    pub verdict: Verdict,
    /// The PSP changed pods through this field: what it injected.
    pub mutates: Option<String>,
    /// A validating control PSS has no equivalent for: lost with PSP.
    pub lost_control: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PspMapping {
    pub name: String,
    /// The least restrictive level of its fields.
    pub level: Level,
    /// The fields that set `level` (the ones to change to reach a stricter
    /// one).
    pub limiting: Vec<String>,
    pub fields: Vec<FieldMapping>,
    /// It mutates pods: the admission controller preferred non-mutating
    /// PSPs, and workloads it admitted may rely on what it injected.
    pub mutating: bool,
}

impl Verdict {
    /// `privileged`, `baseline`, `restricted` or `no-opinion`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Level(level) => level.as_str(),
            Verdict::NoOpinion => "no-opinion",
        }
    }
}

/// The documented JSON shape: `{"field", "value", "level", "mutating",
/// "injects"?, "lost_control"?}`.
impl Serialize for FieldMapping {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("field", &self.field)?;
        map.serialize_entry("value", &self.value)?;
        map.serialize_entry("level", self.verdict.as_str())?;
        map.serialize_entry("mutating", &self.mutates.is_some())?;
        if let Some(injects) = &self.mutates {
            map.serialize_entry("injects", injects)?;
        }
        if let Some(lost) = &self.lost_control {
            map.serialize_entry("lost_control", lost)?;
        }
        map.end()
    }
}

const RESTRICTED_VOLUMES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
    "image",
];

/// The SELinux types PSS allows (v1.31 and later add container_engine_t).
const SELINUX_TYPES: [&str; 4] = [
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

pub const SECCOMP_ALLOWED: &str = "seccomp.security.alpha.kubernetes.io/allowedProfileNames";
pub const SECCOMP_DEFAULT: &str = "seccomp.security.alpha.kubernetes.io/defaultProfileName";
pub const APPARMOR_ALLOWED: &str = "apparmor.security.beta.kubernetes.io/allowedProfileNames";
pub const APPARMOR_DEFAULT: &str = "apparmor.security.beta.kubernetes.io/defaultProfileName";

fn list(values: &Option<Vec<String>>) -> String {
    match values {
        None => "unset".into(),
        Some(v) => format!("[{}]", v.join(", ")),
    }
}

fn flag(value: Option<bool>) -> String {
    value.map_or("unset".into(), |v| v.to_string())
}

fn capability(name: &str) -> &str {
    name.strip_prefix("CAP_").unwrap_or(name)
}

/// The level of a set of capabilities pods may add.
fn capabilities_level(caps: &[String]) -> Level {
    if caps.iter().all(|c| capability(c) == "NET_BIND_SERVICE") {
        Level::Restricted
    } else if caps
        .iter()
        .all(|c| BASELINE_CAPABILITIES.contains(&capability(c)))
    {
        Level::Baseline
    } else {
        Level::Privileged
    }
}

fn bool_field(field: &str, value: Option<bool>) -> FieldMapping {
    FieldMapping {
        field: field.into(),
        value: flag(value),
        verdict: Verdict::Level(if value == Some(true) {
            Level::Privileged
        } else {
            Level::Restricted
        }),
        mutates: None,
        lost_control: None,
    }
}

fn id_strategy(field: &str, strategy: &Option<IdStrategyOptions>) -> FieldMapping {
    let rule = strategy
        .as_ref()
        .map(|s| s.rule.as_str())
        .unwrap_or("unset");
    let ranges: Vec<String> = strategy
        .iter()
        .flat_map(|s| s.ranges.iter().flatten())
        .map(|r| format!("{}-{}", r.min, r.max))
        .collect();
    let value = if ranges.is_empty() {
        rule.to_string()
    } else {
        format!("{rule} [{}]", ranges.join(", "))
    };
    let first = strategy
        .as_ref()
        .and_then(|s| s.ranges.as_ref())
        .and_then(|r| r.first())
        .map(|r| r.min);
    let mutates = match (rule, first) {
        ("MustRunAs", Some(min)) => Some(format!(
            "sets {} to {min} when unset",
            field.trim_start_matches("spec.")
        )),
        _ => None,
    };
    FieldMapping {
        field: field.into(),
        value,
        verdict: Verdict::NoOpinion,
        mutates,
        lost_control: (rule == "MustRunAs" || rule == "MayRunAs").then(|| {
            format!(
                "{} limited to {}",
                field.trim_start_matches("spec."),
                ranges.join(", ")
            )
        }),
    }
}

/// The level an `allowedProfileNames` annotation allows (seccomp or
/// AppArmor): `runtime/default` and `localhost/*` only is Restricted, the
/// same plus unset (a trailing comma) Baseline, anything else Privileged.
/// Without the annotation, `unset` is the level: PSP's seccomp strategy
/// then lets pods set no profile (Baseline), its AppArmor strategy lets
/// them set any, `unconfined` too (Privileged).
fn profiles_level(allowed: Option<&str>, unset: Level) -> Level {
    let Some(allowed) = allowed else {
        return unset;
    };
    let names: Vec<&str> = allowed.split(',').map(str::trim).collect();
    let known =
        |n: &&str| *n == "runtime/default" || *n == "docker/default" || n.starts_with("localhost/");
    if names.iter().all(known) {
        Level::Restricted
    } else if names.iter().all(|n| n.is_empty() || known(n)) {
        Level::Baseline
    } else {
        Level::Privileged
    }
}

/// An allow-list PSS has no opinion on (its volume types decide): a
/// control lost with PSP when it lists anything.
fn allow_list(field: &str, items: impl Iterator<Item = String>, what: &str) -> FieldMapping {
    let items: Vec<String> = items.collect();
    let listed = items.join(", ");
    FieldMapping {
        field: field.into(),
        value: if items.is_empty() {
            "unset".into()
        } else {
            format!("[{listed}]")
        },
        verdict: Verdict::NoOpinion,
        mutates: None,
        lost_control: (!items.is_empty()).then(|| format!("{what} limited to {listed}")),
    }
}

/// Map one PodSecurityPolicy, field by field.
pub fn map_psp(psp: &PodSecurityPolicy) -> PspMapping {
    let spec = &psp.spec;
    let mut fields = vec![bool_field("spec.privileged", spec.privileged)];

    let default_add = spec.default_add_capabilities.clone().unwrap_or_default();
    fields.push(FieldMapping {
        field: "spec.defaultAddCapabilities".into(),
        value: list(&spec.default_add_capabilities),
        verdict: Verdict::Level(capabilities_level(&default_add)),
        mutates: (!default_add.is_empty())
            .then(|| format!("adds capabilities {}", default_add.join(", "))),
        lost_control: None,
    });
    fields.push(FieldMapping {
        field: "spec.allowedCapabilities".into(),
        value: list(&spec.allowed_capabilities),
        verdict: Verdict::Level(capabilities_level(
            spec.allowed_capabilities.as_deref().unwrap_or_default(),
        )),
        mutates: None,
        lost_control: None,
    });
    let drop = spec.required_drop_capabilities.clone().unwrap_or_default();
    fields.push(FieldMapping {
        field: "spec.requiredDropCapabilities".into(),
        value: list(&spec.required_drop_capabilities),
        verdict: Verdict::Level(if drop.iter().any(|c| capability(c) == "ALL") {
            Level::Restricted
        } else {
            Level::Baseline
        }),
        mutates: (!drop.is_empty()).then(|| format!("drops capabilities {}", drop.join(", "))),
        lost_control: None,
    });
    let volumes = spec.volumes.clone().unwrap_or_default();
    fields.push(FieldMapping {
        field: "spec.volumes".into(),
        value: list(&spec.volumes),
        verdict: Verdict::Level(if volumes.iter().any(|v| v == "*" || v == "hostPath") {
            Level::Privileged
        } else if volumes
            .iter()
            .all(|v| RESTRICTED_VOLUMES.contains(&v.as_str()))
        {
            Level::Restricted
        } else {
            Level::Baseline
        }),
        mutates: None,
        lost_control: None,
    });
    fields.push(bool_field("spec.hostNetwork", spec.host_network));
    fields.push(FieldMapping {
        field: "spec.hostPorts".into(),
        value: match &spec.host_ports {
            None => "unset".into(),
            Some(ranges) => format!(
                "[{}]",
                ranges
                    .iter()
                    .map(|r| format!("{}-{}", r.min, r.max))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        verdict: Verdict::Level(if spec.host_ports.as_ref().is_some_and(|p| !p.is_empty()) {
            Level::Privileged
        } else {
            Level::Restricted
        }),
        mutates: None,
        lost_control: None,
    });
    fields.push(bool_field("spec.hostPID", spec.host_pid));
    fields.push(bool_field("spec.hostIPC", spec.host_ipc));

    let selinux = spec.se_linux.as_ref();
    let rule = selinux.map(|s| s.rule.as_str()).unwrap_or("unset");
    let options = selinux.and_then(|s| s.se_linux_options.as_ref());
    let confined = rule == "MustRunAs"
        && options.is_none_or(|o| {
            o.user.is_none()
                && o.role.is_none()
                && o.type_
                    .as_deref()
                    .is_none_or(|t| SELINUX_TYPES.contains(&t))
        });
    fields.push(FieldMapping {
        field: "spec.seLinux".into(),
        value: match options.and_then(|o| o.type_.as_deref()) {
            Some(t) => format!("{rule} (type {t})"),
            None => rule.to_string(),
        },
        verdict: Verdict::Level(if confined {
            Level::Restricted
        } else {
            Level::Privileged
        }),
        mutates: (rule == "MustRunAs" && options.is_some())
            .then(|| "sets seLinuxOptions".to_string()),
        lost_control: None,
    });

    let run_as_user = spec
        .run_as_user
        .as_ref()
        .map(|s| s.rule.as_str())
        .unwrap_or("unset");
    let mut user = id_strategy("spec.runAsUser", &spec.run_as_user);
    user.lost_control = None;
    user.verdict = Verdict::Level(if run_as_user == "MustRunAsNonRoot" {
        Level::Restricted
    } else {
        Level::Baseline
    });
    if run_as_user == "MustRunAsNonRoot" {
        user.mutates = Some("sets runAsNonRoot: true when no non-zero runAsUser is set".into());
    }
    if run_as_user == "MustRunAs" && user.mutates.is_some() {
        user.lost_control = Some(format!("runAsUser limited to {}", user.value));
    }
    fields.push(user);
    fields.push(id_strategy("spec.runAsGroup", &spec.run_as_group));
    fields.push(id_strategy(
        "spec.supplementalGroups",
        &spec.supplemental_groups,
    ));
    fields.push(id_strategy("spec.fsGroup", &spec.fs_group));

    let read_only = spec.read_only_root_filesystem == Some(true);
    fields.push(FieldMapping {
        field: "spec.readOnlyRootFilesystem".into(),
        value: flag(spec.read_only_root_filesystem),
        verdict: Verdict::NoOpinion,
        mutates: read_only.then(|| "sets readOnlyRootFilesystem: true when unset".to_string()),
        lost_control: read_only
            .then(|| "containers must run with a read-only root filesystem".to_string()),
    });
    fields.push(FieldMapping {
        field: "spec.defaultAllowPrivilegeEscalation".into(),
        value: flag(spec.default_allow_privilege_escalation),
        verdict: Verdict::NoOpinion,
        mutates: spec
            .default_allow_privilege_escalation
            .map(|v| format!("sets allowPrivilegeEscalation: {v} when unset")),
        lost_control: None,
    });
    let no_escalation = spec.allow_privilege_escalation == Some(false);
    fields.push(FieldMapping {
        field: "spec.allowPrivilegeEscalation".into(),
        value: flag(spec.allow_privilege_escalation),
        verdict: Verdict::Level(if no_escalation {
            Level::Restricted
        } else {
            Level::Baseline
        }),
        mutates: no_escalation
            .then(|| "sets allowPrivilegeEscalation: false when unset".to_string()),
        lost_control: None,
    });
    let host_paths = spec.allowed_host_paths.iter().flatten().map(|p| {
        let read_only = if p.read_only == Some(true) {
            " (read-only)"
        } else {
            ""
        };
        format!("{}{read_only}", p.path_prefix.as_deref().unwrap_or(""))
    });
    fields.push(allow_list(
        "spec.allowedHostPaths",
        host_paths,
        "hostPath volumes",
    ));
    let flex = spec
        .allowed_flex_volumes
        .iter()
        .flatten()
        .map(|f| f.driver.clone());
    fields.push(allow_list(
        "spec.allowedFlexVolumes",
        flex,
        "flexVolume drivers",
    ));
    let csi = spec
        .allowed_csi_drivers
        .iter()
        .flatten()
        .map(|d| d.name.clone());
    fields.push(allow_list(
        "spec.allowedCSIDrivers",
        csi,
        "inline CSI drivers",
    ));
    let unsafe_sysctls = spec.allowed_unsafe_sysctls.clone().unwrap_or_default();
    fields.push(FieldMapping {
        field: "spec.allowedUnsafeSysctls".into(),
        value: list(&spec.allowed_unsafe_sysctls),
        verdict: Verdict::Level(if unsafe_sysctls.is_empty() {
            Level::Restricted
        } else {
            Level::Privileged
        }),
        mutates: None,
        lost_control: None,
    });
    let forbidden = spec.forbidden_sysctls.clone().unwrap_or_default();
    fields.push(FieldMapping {
        field: "spec.forbiddenSysctls".into(),
        value: list(&spec.forbidden_sysctls),
        verdict: Verdict::NoOpinion,
        mutates: None,
        lost_control: (!forbidden.is_empty())
            .then(|| format!("sysctls {} forbidden", forbidden.join(", "))),
    });
    let proc_mounts = spec.allowed_proc_mount_types.clone().unwrap_or_default();
    fields.push(FieldMapping {
        field: "spec.allowedProcMountTypes".into(),
        value: list(&spec.allowed_proc_mount_types),
        verdict: Verdict::Level(if proc_mounts.iter().all(|p| p == "Default") {
            Level::Restricted
        } else {
            Level::Privileged
        }),
        mutates: None,
        lost_control: None,
    });
    let runtime = spec.runtime_class.as_ref();
    let allowed_runtimes = runtime
        .map(|r| r.allowed_runtime_class_names.clone())
        .unwrap_or_default();
    let default_runtime = runtime.and_then(|r| r.default_runtime_class_name.clone());
    fields.push(FieldMapping {
        field: "spec.runtimeClass".into(),
        value: match (&default_runtime, allowed_runtimes.is_empty()) {
            (None, true) => "unset".into(),
            (d, _) => format!(
                "allowed [{}]{}",
                allowed_runtimes.join(", "),
                d.as_ref()
                    .map(|d| format!(", default {d}"))
                    .unwrap_or_default()
            ),
        },
        verdict: Verdict::NoOpinion,
        mutates: default_runtime.map(|d| format!("sets runtimeClassName: {d} when unset")),
        lost_control: (!allowed_runtimes.is_empty() && !allowed_runtimes.iter().any(|r| r == "*"))
            .then(|| format!("runtime classes limited to {}", allowed_runtimes.join(", "))),
    });

    let annotation = |key: &str| {
        psp.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    };
    for (allowed_key, default_key, what, unset) in [
        (SECCOMP_ALLOWED, SECCOMP_DEFAULT, "seccomp", Level::Baseline),
        (
            APPARMOR_ALLOWED,
            APPARMOR_DEFAULT,
            "AppArmor",
            Level::Privileged,
        ),
    ] {
        let allowed = annotation(allowed_key);
        fields.push(FieldMapping {
            field: allowed_key.into(),
            value: allowed.map_or("unset".into(), |a| format!("\"{a}\"")),
            verdict: Verdict::Level(profiles_level(allowed, unset)),
            mutates: None,
            lost_control: None,
        });
        let default = annotation(default_key);
        fields.push(FieldMapping {
            field: default_key.into(),
            value: default.map_or("unset".into(), |d| format!("\"{d}\"")),
            verdict: Verdict::NoOpinion,
            mutates: default.map(|d| format!("sets the {what} profile {d} when unset")),
            lost_control: None,
        });
    }

    let level = fields
        .iter()
        .filter_map(|f| match f.verdict {
            Verdict::Level(level) => Some(level),
            Verdict::NoOpinion => None,
        })
        .min()
        .unwrap_or(Level::Restricted);
    let limiting = if level == Level::Restricted {
        Vec::new()
    } else {
        fields
            .iter()
            .filter(|f| f.verdict == Verdict::Level(level))
            .map(|f| f.field.clone())
            .collect()
    };
    let mutating = fields.iter().any(|f| f.mutates.is_some());
    PspMapping {
        name: psp.metadata.name.clone().unwrap_or_default(),
        level,
        limiting,
        fields,
        mutating,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::model::psp::{
        AllowedHostPath, HostPortRange, IdRange, IdStrategyOptions, PodSecurityPolicySpec,
        RuntimeClassStrategyOptions, SELinuxStrategyOptions,
    };
    use k8s_openapi::api::core::v1::SELinuxOptions;

    /// A PSP that is restricted in every dimension the table maps.
    fn restricted() -> PodSecurityPolicy {
        let mut psp = PodSecurityPolicy::default();
        psp.metadata.name = Some("restricted".into());
        psp.metadata.annotations = Some(
            [
                (SECCOMP_ALLOWED, "runtime/default"),
                (APPARMOR_ALLOWED, "runtime/default"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        psp.spec = PodSecurityPolicySpec {
            required_drop_capabilities: Some(vec!["ALL".into()]),
            volumes: Some(vec!["configMap".into(), "secret".into(), "emptyDir".into()]),
            se_linux: Some(SELinuxStrategyOptions {
                rule: "MustRunAs".into(),
                se_linux_options: None,
            }),
            run_as_user: Some(IdStrategyOptions {
                rule: "MustRunAsNonRoot".into(),
                ranges: None,
            }),
            allow_privilege_escalation: Some(false),
            ..PodSecurityPolicySpec::default()
        };
        psp
    }

    fn verdict(mapping: &PspMapping, field: &str) -> Verdict {
        mapping
            .fields
            .iter()
            .find(|f| f.field == field)
            .unwrap()
            .verdict
    }

    #[test]
    fn a_psp_within_restricted_maps_to_restricted() {
        let mapping = map_psp(&restricted());
        assert_eq!(mapping.level, Level::Restricted, "{mapping:#?}");
        assert!(mapping.limiting.is_empty());
        assert!(mapping.mutating, "MustRunAsNonRoot and requiredDrop mutate");
    }

    /// Each row of the table: a change to the restricted PSP, the field,
    /// and the level it brings the PSP to.
    #[test]
    fn every_row_of_the_mapping_table() {
        type Change = fn(&mut PodSecurityPolicy);
        let rows: Vec<(&str, Change, Level)> = vec![
            (
                "spec.privileged",
                |p| p.spec.privileged = Some(true),
                Level::Privileged,
            ),
            (
                "spec.defaultAddCapabilities",
                |p| p.spec.default_add_capabilities = Some(vec!["CHOWN".into()]),
                Level::Baseline,
            ),
            (
                "spec.defaultAddCapabilities",
                |p| p.spec.default_add_capabilities = Some(vec!["SYS_ADMIN".into()]),
                Level::Privileged,
            ),
            (
                "spec.allowedCapabilities",
                |p| p.spec.allowed_capabilities = Some(vec!["NET_BIND_SERVICE".into()]),
                Level::Restricted,
            ),
            (
                "spec.allowedCapabilities",
                |p| p.spec.allowed_capabilities = Some(vec!["SETUID".into(), "CAP_KILL".into()]),
                Level::Baseline,
            ),
            (
                "spec.allowedCapabilities",
                |p| p.spec.allowed_capabilities = Some(vec!["*".into()]),
                Level::Privileged,
            ),
            (
                "spec.requiredDropCapabilities",
                |p| p.spec.required_drop_capabilities = Some(vec!["NET_RAW".into()]),
                Level::Baseline,
            ),
            (
                "spec.requiredDropCapabilities",
                |p| p.spec.required_drop_capabilities = None,
                Level::Baseline,
            ),
            (
                "spec.volumes",
                |p| p.spec.volumes = Some(vec!["nfs".into()]),
                Level::Baseline,
            ),
            (
                "spec.volumes",
                |p| p.spec.volumes = Some(vec!["hostPath".into()]),
                Level::Privileged,
            ),
            (
                "spec.volumes",
                |p| p.spec.volumes = Some(vec!["*".into()]),
                Level::Privileged,
            ),
            (
                "spec.hostNetwork",
                |p| p.spec.host_network = Some(true),
                Level::Privileged,
            ),
            (
                "spec.hostPorts",
                |p| p.spec.host_ports = Some(vec![HostPortRange { min: 80, max: 80 }]),
                Level::Privileged,
            ),
            (
                "spec.hostPID",
                |p| p.spec.host_pid = Some(true),
                Level::Privileged,
            ),
            (
                "spec.hostIPC",
                |p| p.spec.host_ipc = Some(true),
                Level::Privileged,
            ),
            (
                "spec.seLinux",
                |p| {
                    p.spec.se_linux = Some(SELinuxStrategyOptions {
                        rule: "RunAsAny".into(),
                        se_linux_options: None,
                    })
                },
                Level::Privileged,
            ),
            (
                "spec.seLinux",
                |p| {
                    p.spec.se_linux = Some(SELinuxStrategyOptions {
                        rule: "MustRunAs".into(),
                        se_linux_options: Some(SELinuxOptions {
                            type_: Some("spc_t".into()),
                            ..Default::default()
                        }),
                    })
                },
                Level::Privileged,
            ),
            (
                "spec.seLinux",
                |p| {
                    p.spec.se_linux = Some(SELinuxStrategyOptions {
                        rule: "MustRunAs".into(),
                        se_linux_options: Some(SELinuxOptions {
                            level: Some("s0:c1".into()),
                            type_: Some("container_t".into()),
                            ..Default::default()
                        }),
                    })
                },
                Level::Restricted,
            ),
            (
                "spec.runAsUser",
                |p| {
                    p.spec.run_as_user = Some(IdStrategyOptions {
                        rule: "RunAsAny".into(),
                        ranges: None,
                    })
                },
                Level::Baseline,
            ),
            (
                "spec.runAsUser",
                |p| {
                    p.spec.run_as_user = Some(IdStrategyOptions {
                        rule: "MustRunAs".into(),
                        ranges: Some(vec![IdRange {
                            min: 1000,
                            max: 2000,
                        }]),
                    })
                },
                Level::Baseline,
            ),
            (
                "spec.allowPrivilegeEscalation",
                |p| p.spec.allow_privilege_escalation = None,
                Level::Baseline,
            ),
            (
                "spec.allowPrivilegeEscalation",
                |p| p.spec.allow_privilege_escalation = Some(true),
                Level::Baseline,
            ),
            (
                "spec.allowedUnsafeSysctls",
                |p| p.spec.allowed_unsafe_sysctls = Some(vec!["kernel.msg*".into()]),
                Level::Privileged,
            ),
            (
                "spec.allowedProcMountTypes",
                |p| p.spec.allowed_proc_mount_types = Some(vec!["Default".into()]),
                Level::Restricted,
            ),
            (
                "spec.allowedProcMountTypes",
                |p| p.spec.allowed_proc_mount_types = Some(vec!["Unmasked".into()]),
                Level::Privileged,
            ),
            (
                SECCOMP_ALLOWED,
                |p| {
                    p.metadata
                        .annotations
                        .as_mut()
                        .unwrap()
                        .insert(SECCOMP_ALLOWED.into(), "runtime/default,".into());
                },
                Level::Baseline,
            ),
            (
                SECCOMP_ALLOWED,
                |p| {
                    p.metadata
                        .annotations
                        .as_mut()
                        .unwrap()
                        .insert(SECCOMP_ALLOWED.into(), "localhost/profiles/app.json".into());
                },
                Level::Restricted,
            ),
            (
                SECCOMP_ALLOWED,
                |p| {
                    p.metadata
                        .annotations
                        .as_mut()
                        .unwrap()
                        .insert(SECCOMP_ALLOWED.into(), "*".into());
                },
                Level::Privileged,
            ),
            (
                SECCOMP_ALLOWED,
                |p| {
                    p.metadata
                        .annotations
                        .as_mut()
                        .unwrap()
                        .remove(SECCOMP_ALLOWED);
                },
                Level::Baseline,
            ),
            (
                APPARMOR_ALLOWED,
                |p| {
                    p.metadata
                        .annotations
                        .as_mut()
                        .unwrap()
                        .insert(APPARMOR_ALLOWED.into(), "runtime/default,".into());
                },
                Level::Baseline,
            ),
            (
                APPARMOR_ALLOWED,
                |p| {
                    p.metadata
                        .annotations
                        .as_mut()
                        .unwrap()
                        .insert(APPARMOR_ALLOWED.into(), "*".into());
                },
                Level::Privileged,
            ),
            // Without the annotation AppArmor allows any profile.
            (
                APPARMOR_ALLOWED,
                |p| {
                    p.metadata
                        .annotations
                        .as_mut()
                        .unwrap()
                        .remove(APPARMOR_ALLOWED);
                },
                Level::Privileged,
            ),
        ];
        for (field, change, level) in rows {
            let mut psp = restricted();
            change(&mut psp);
            let mapping = map_psp(&psp);
            assert_eq!(verdict(&mapping, field), Verdict::Level(level), "{field}");
            assert_eq!(mapping.level, level, "{field}: {:?}", mapping.limiting);
            if level != Level::Restricted {
                assert!(
                    mapping.limiting.contains(&field.to_string()),
                    "{field}: {:?}",
                    mapping.limiting
                );
            }
        }
    }

    #[test]
    fn fields_pss_has_no_opinion_on_are_lost_controls_or_mutations() {
        let mut psp = restricted();
        psp.spec.read_only_root_filesystem = Some(true);
        psp.spec.allowed_host_paths = Some(vec![AllowedHostPath {
            path_prefix: Some("/var/log".into()),
            read_only: Some(true),
        }]);
        psp.spec.forbidden_sysctls = Some(vec!["kernel.*".into()]);
        psp.spec.fs_group = Some(IdStrategyOptions {
            rule: "MustRunAs".into(),
            ranges: Some(vec![IdRange {
                min: 2000,
                max: 3000,
            }]),
        });
        psp.spec.default_allow_privilege_escalation = Some(false);
        psp.spec.runtime_class = Some(RuntimeClassStrategyOptions {
            allowed_runtime_class_names: vec!["gvisor".into()],
            default_runtime_class_name: Some("gvisor".into()),
        });
        psp.metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert(SECCOMP_DEFAULT.into(), "runtime/default".into());
        let mapping = map_psp(&psp);
        assert_eq!(mapping.level, Level::Restricted);
        let lost: Vec<&str> = mapping
            .fields
            .iter()
            .filter_map(|f| f.lost_control.as_deref())
            .collect();
        assert_eq!(
            lost,
            [
                "fsGroup limited to 2000-3000",
                "containers must run with a read-only root filesystem",
                "hostPath volumes limited to /var/log (read-only)",
                "sysctls kernel.* forbidden",
                "runtime classes limited to gvisor",
            ]
        );
        let mutations: Vec<(&str, &str)> = mapping
            .fields
            .iter()
            .filter_map(|f| Some((f.field.as_str(), f.mutates.as_deref()?)))
            .collect();
        assert_eq!(
            mutations,
            [
                ("spec.requiredDropCapabilities", "drops capabilities ALL"),
                (
                    "spec.runAsUser",
                    "sets runAsNonRoot: true when no non-zero runAsUser is set"
                ),
                ("spec.fsGroup", "sets fsGroup to 2000 when unset"),
                (
                    "spec.readOnlyRootFilesystem",
                    "sets readOnlyRootFilesystem: true when unset"
                ),
                (
                    "spec.defaultAllowPrivilegeEscalation",
                    "sets allowPrivilegeEscalation: false when unset"
                ),
                (
                    "spec.allowPrivilegeEscalation",
                    "sets allowPrivilegeEscalation: false when unset"
                ),
                (
                    "spec.runtimeClass",
                    "sets runtimeClassName: gvisor when unset"
                ),
                (
                    SECCOMP_DEFAULT,
                    "sets the seccomp profile runtime/default when unset"
                ),
            ]
        );
    }
}
