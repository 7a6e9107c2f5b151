//! A pod template as the attack graph reads it: only the fields that make
//! an edge. `k8s-openapi`'s `Container` is 2.3 KB and its `PodSpec` 1.5 KB
//! however few fields a manifest sets, so 150,000 pods kept in full hold
//! about 700 MB; kept lean they hold a tenth of that. Each is decoded in
//! full first, so that what every other command rejects is rejected here
//! too, and converted at once.

use std::collections::BTreeMap;

use compact_str::CompactString;
use k8s_openapi::api::core::v1::{
    ContainerPort, HostPathVolumeSource, SecurityContext, VolumeMount,
};

use super::selector::Labels;

use super::PodTemplate;

/// A pod template's labels and the parts of its spec the graph reads.
#[derive(Clone, Debug)]
pub struct LeanTemplate {
    /// Dotted path from the object root to the template (`""` for a Pod).
    pub path: String,
    pub labels: LeanLabels,
    pub spec: LeanPodSpec,
}

/// Labels sorted by key. A `BTreeMap` allocates room for eleven whatever
/// it holds (half a kilobyte for a pod's one or two labels).
#[derive(Clone, Debug, Default)]
pub struct LeanLabels(Box<[(CompactString, CompactString)]>);

impl From<&BTreeMap<String, String>> for LeanLabels {
    fn from(map: &BTreeMap<String, String>) -> Self {
        LeanLabels(
            map.iter()
                .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                .collect(),
        )
    }
}

impl Labels for LeanLabels {
    fn label(&self, key: &str) -> Option<&str> {
        let at = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        Some(self.0[at].1.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct LeanPodSpec {
    pub containers: Vec<LeanContainer>,
    pub init_containers: Option<Vec<LeanContainer>>,
    pub node_name: Option<String>,
    pub service_account_name: Option<String>,
    pub automount_service_account_token: Option<bool>,
    pub host_network: Option<bool>,
    pub host_pid: Option<bool>,
    pub share_process_namespace: Option<bool>,
    pub security_context: Option<LeanPodSecurityContext>,
    pub volumes: Option<Vec<LeanVolume>>,
}

#[derive(Clone, Debug)]
pub struct LeanPodSecurityContext {
    pub run_as_user: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct LeanContainer {
    /// Inline when short, as container names are: no allocation.
    pub name: CompactString,
    /// Boxed: most containers set none, and it is 384 bytes.
    pub security_context: Option<Box<SecurityContext>>,
    pub volume_mounts: Option<Vec<VolumeMount>>,
    pub ports: Option<Vec<ContainerPort>>,
    /// What few containers have, boxed: a pointer for the rest.
    pub rare: Option<Box<RareFacts>>,
}

/// A container's facts that most containers lack.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RareFacts {
    /// It runs without AppArmor ([`super::runtime::app_armor_unconfined`]).
    pub app_armor_unconfined: bool,
    /// A Windows HostProcess container (its own `windowsOptions` or the
    /// pod's): it runs on the node itself.
    pub host_process: bool,
    /// The Secrets its environment reads (`secretKeyRef`, `envFrom`).
    pub env_secrets: Vec<String>,
}

impl LeanContainer {
    pub fn app_armor_unconfined(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.app_armor_unconfined)
    }

    pub fn host_process(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.host_process)
    }

    pub fn env_secrets(&self) -> &[String] {
        self.rare.as_ref().map_or(&[], |r| &r.env_secrets)
    }
}

#[derive(Clone, Debug)]
pub struct LeanVolume {
    pub name: CompactString,
    pub host_path: Option<HostPathVolumeSource>,
    /// It projects an API token ([`super::runtime::api_token_volume`]).
    pub api_token: bool,
    /// The Secrets it holds (a `secret` volume, or `projected` sources).
    pub secrets: Box<[String]>,
}

impl LeanTemplate {
    /// The path to a field of the template's pod spec (see
    /// [`PodTemplate::spec_path`]).
    pub fn spec_path(&self, field: &str) -> String {
        super::spec_path(&self.path, field)
    }

    /// The path to a field of the template's metadata.
    pub fn metadata_path(&self, field: &str) -> String {
        super::metadata_path(&self.path, field)
    }

    /// The service account its pods run as: the one named, or `default`.
    pub fn service_account(&self) -> &str {
        super::service_account(self.spec.service_account_name.as_deref())
    }
}

impl From<&PodTemplate> for LeanTemplate {
    fn from(template: &PodTemplate) -> Self {
        let spec = &template.spec;
        let container = |c: &k8s_openapi::api::core::v1::Container| LeanContainer {
            name: c.name.as_str().into(),
            security_context: c.security_context.clone().map(Box::new),
            volume_mounts: c.volume_mounts.clone(),
            ports: c.ports.clone(),
            rare: Some(Box::new(RareFacts {
                app_armor_unconfined: super::runtime::app_armor_unconfined(
                    &template.metadata,
                    spec,
                    c,
                ),
                host_process: c
                    .security_context
                    .as_ref()
                    .and_then(|s| s.windows_options.as_ref())
                    .and_then(|w| w.host_process)
                    .or_else(|| {
                        spec.security_context
                            .as_ref()
                            .and_then(|s| s.windows_options.as_ref())
                            .and_then(|w| w.host_process)
                    })
                    == Some(true),
                env_secrets: c
                    .env
                    .iter()
                    .flatten()
                    .filter_map(|e| e.value_from.as_ref()?.secret_key_ref.as_ref())
                    .map(|r| r.name.clone())
                    .chain(
                        c.env_from
                            .iter()
                            .flatten()
                            .filter_map(|e| e.secret_ref.as_ref())
                            .map(|r| r.name.clone()),
                    )
                    .collect(),
            }))
            .filter(|rare| **rare != RareFacts::default()),
        };
        LeanTemplate {
            path: template.path.clone(),
            labels: template
                .metadata
                .labels
                .as_ref()
                .map(LeanLabels::from)
                .unwrap_or_default(),
            spec: LeanPodSpec {
                containers: spec.containers.iter().map(container).collect(),
                init_containers: spec
                    .init_containers
                    .as_ref()
                    .map(|list| list.iter().map(container).collect()),
                node_name: spec.node_name.clone(),
                service_account_name: spec.service_account_name.clone(),
                automount_service_account_token: spec.automount_service_account_token,
                host_network: spec.host_network,
                host_pid: spec.host_pid,
                share_process_namespace: spec.share_process_namespace,
                security_context: spec
                    .security_context
                    .as_ref()
                    .map(|c| LeanPodSecurityContext {
                        run_as_user: c.run_as_user,
                    }),
                volumes: spec.volumes.as_ref().map(|list| {
                    list.iter()
                        .map(|v| LeanVolume {
                            name: v.name.as_str().into(),
                            host_path: v.host_path.clone(),
                            api_token: super::runtime::api_token_volume(v),
                            secrets: v
                                .secret
                                .iter()
                                .filter_map(|s| s.secret_name.clone())
                                .chain(
                                    v.projected
                                        .iter()
                                        .flat_map(|p| p.sources.iter().flatten())
                                        .filter_map(|s| s.secret.as_ref())
                                        .map(|s| s.name.clone()),
                                )
                                .collect(),
                        })
                        .collect()
                }),
            },
        }
    }
}
