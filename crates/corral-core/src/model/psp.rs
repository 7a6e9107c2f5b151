//! PodSecurityPolicy (`policy/v1beta1`), removed from Kubernetes in v1.25 and
//! so from `k8s-openapi`; modelled here from the v1.24 API reference.

use k8s_openapi::api::core::v1::SELinuxOptions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PodSecurityPolicy {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSecurityPolicySpec,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSecurityPolicySpec {
    pub privileged: Option<bool>,
    pub default_add_capabilities: Option<Vec<String>>,
    pub required_drop_capabilities: Option<Vec<String>>,
    pub allowed_capabilities: Option<Vec<String>>,
    /// Volume types (`configMap`, `hostPath`, `*`, ...).
    pub volumes: Option<Vec<String>>,
    pub host_network: Option<bool>,
    pub host_ports: Option<Vec<HostPortRange>>,
    #[serde(rename = "hostPID")]
    pub host_pid: Option<bool>,
    #[serde(rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    #[serde(rename = "seLinux")]
    pub se_linux: Option<SELinuxStrategyOptions>,
    pub run_as_user: Option<IdStrategyOptions>,
    pub run_as_group: Option<IdStrategyOptions>,
    pub supplemental_groups: Option<IdStrategyOptions>,
    pub fs_group: Option<IdStrategyOptions>,
    pub read_only_root_filesystem: Option<bool>,
    pub default_allow_privilege_escalation: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub allowed_host_paths: Option<Vec<AllowedHostPath>>,
    pub allowed_flex_volumes: Option<Vec<AllowedFlexVolume>>,
    #[serde(rename = "allowedCSIDrivers")]
    pub allowed_csi_drivers: Option<Vec<AllowedCsiDriver>>,
    pub allowed_unsafe_sysctls: Option<Vec<String>>,
    pub forbidden_sysctls: Option<Vec<String>>,
    pub allowed_proc_mount_types: Option<Vec<String>>,
    pub runtime_class: Option<RuntimeClassStrategyOptions>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct HostPortRange {
    pub min: i32,
    pub max: i32,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct IdRange {
    pub min: i64,
    pub max: i64,
}

/// `runAsUser`, `runAsGroup`, `supplementalGroups` and `fsGroup` strategies:
/// `MustRunAs`, `MustRunAsNonRoot`, `MayRunAs`, `RunAsAny`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct IdStrategyOptions {
    pub rule: String,
    pub ranges: Option<Vec<IdRange>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SELinuxStrategyOptions {
    pub rule: String,
    #[serde(rename = "seLinuxOptions")]
    pub se_linux_options: Option<SELinuxOptions>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AllowedHostPath {
    pub path_prefix: Option<String>,
    pub read_only: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AllowedFlexVolume {
    pub driver: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AllowedCsiDriver {
    pub name: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RuntimeClassStrategyOptions {
    pub allowed_runtime_class_names: Vec<String>,
    pub default_runtime_class_name: Option<String>,
}
