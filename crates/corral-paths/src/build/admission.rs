//! What Pod Security Admission lets an attacker who may create pods run:
//! a namespace that enforces `baseline` or `restricted` (at its enforce
//! version) refuses the privileged, host-namespace, host-path pod that
//! escapes to its node. Decided by Corral's own Pod Security Standards
//! engine on the namespace's labels.

use std::collections::{BTreeMap, BTreeSet};

use corral_core::model::{Model, Resource};
use corral_pss::namespace::{policy_for_labels, Config};
use k8s_openapi::api::core::v1::{
    Container, HostPathVolumeSource, PodSpec, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Per namespace: may a pod created there escape to its node?
pub(super) struct Admission {
    escapes: BTreeMap<String, bool>,
    /// Some namespace lets it: a creator free to choose the namespace can.
    anywhere: bool,
}

/// The pod an attacker would create to take its node.
fn escape_pod() -> PodSpec {
    PodSpec {
        host_pid: Some(true),
        host_network: Some(true),
        containers: vec![Container {
            name: "escape".into(),
            image: Some("busybox".into()),
            security_context: Some(SecurityContext {
                privileged: Some(true),
                ..SecurityContext::default()
            }),
            volume_mounts: Some(vec![VolumeMount {
                name: "host".into(),
                mount_path: "/host".into(),
                ..VolumeMount::default()
            }]),
            ..Container::default()
        }],
        volumes: Some(vec![Volume {
            name: "host".into(),
            host_path: Some(HostPathVolumeSource {
                path: "/".into(),
                type_: None,
            }),
            ..Volume::default()
        }]),
        ..PodSpec::default()
    }
}

impl Admission {
    /// `namespaces`: every namespace the cluster has; those without a
    /// Namespace object in the input enforce nothing (the API server's
    /// default is `privileged`).
    pub(super) fn of(model: &Model, namespaces: &BTreeSet<&str>) -> Self {
        let pod = escape_pod();
        let metadata = ObjectMeta::default();
        let config = Config::default();
        let mut escapes: BTreeMap<String, bool> = BTreeMap::new();
        for (object, resource) in model.iter() {
            let Resource::Namespace(namespace) = resource else {
                continue;
            };
            let labels = namespace.metadata.labels.clone().unwrap_or_default();
            let (policy, _) = policy_for_labels(&labels, &config);
            let admitted = corral_pss::evaluate(&metadata, &pod, &policy.enforce)
                .violations
                .is_empty();
            escapes.insert(object.name.clone().unwrap_or_default(), admitted);
        }
        let anywhere = namespaces
            .iter()
            .any(|ns| escapes.get(*ns).copied().unwrap_or(true));
        Admission { escapes, anywhere }
    }

    /// May a pod created in `namespace` (`None`: wherever its creator
    /// chooses) escape to its node?
    pub(super) fn admits_escape(&self, namespace: Option<&str>) -> bool {
        match namespace {
            Some(ns) => self.escapes.get(ns).copied().unwrap_or(true),
            None => self.anywhere,
        }
    }
}
