//! What the API server makes of a pod spec before anything runs or is
//! admitted: the v1 conversion (`serviceAccount`, the deprecated alias of
//! `serviceAccountName`) and the defaults that change a verdict
//! (`SetDefaults_Pod`, `SetDefaults_PodSpec`, `SetDefaults_Volume`). The
//! model applies them once, when it decodes a pod template, with the
//! defaults of the namespace's LimitRanges (the LimitRanger admission
//! plugin), so that every analysis judges the pod that runs; `defaulted`
//! serves callers holding a spec of their own (the PSS engine's fixtures).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, LimitRange, LimitRangeItem, PodSpec, ResourceRequirements,
    Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::Resource;
use crate::de::decode;
use crate::object::Object;

/// `spec` as the API server stores it.
pub fn defaulted(spec: &PodSpec) -> Cow<'_, PodSpec> {
    if needed(spec) {
        let mut spec = spec.clone();
        apply(&mut spec);
        Cow::Owned(spec)
    } else {
        Cow::Borrowed(spec)
    }
}

/// Convert and default `spec` in place, as the API server does.
pub fn apply(spec: &mut PodSpec) {
    // Conversion: the alias names the account when the field does not.
    if spec
        .service_account_name
        .as_deref()
        .unwrap_or("")
        .is_empty()
    {
        if let Some(alias) = spec.service_account.as_ref().filter(|a| !a.is_empty()) {
            spec.service_account_name = Some(alias.clone());
        }
    }
    // A volume with no source is an emptyDir.
    for volume in spec.volumes.iter_mut().flatten() {
        if volume_source(volume).is_none() {
            volume.empty_dir = Some(EmptyDirVolumeSource::default());
        }
    }
    let host_network = spec.host_network == Some(true);
    let containers = spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten());
    for container in containers {
        // With hostNetwork, every container port is also a host port.
        if host_network {
            for port in container.ports.iter_mut().flatten() {
                if port.host_port.unwrap_or(0) == 0 {
                    port.host_port = Some(port.container_port);
                }
            }
        }
        if let Some(resources) = container.resources.as_mut() {
            request_limits(resources);
        }
    }
    if let Some(resources) = spec.resources.as_mut() {
        request_limits(resources);
    }
}

/// The LimitRanger admission plugin: in a namespace with a LimitRange, a
/// container without a limit or request of a resource gets the range's
/// `default` or `defaultRequest` (itself defaulted as the API server
/// does: from `max` and `default`, and from `min`). Only full templates
/// are changed: the attack graph reads no resources.
pub fn apply_limit_ranges(objects: &[Object], resources: &mut [Resource]) {
    let mut ranges: HashMap<&str, Vec<ContainerDefaults>> = HashMap::new();
    for object in objects {
        if object.kind != "LimitRange" || object.group() != "" {
            continue;
        }
        // One that does not decode is not applied: its findings stay.
        let Ok(range) = decode::<LimitRange>(&object.root) else {
            continue;
        };
        let namespace = object.namespace.as_deref().unwrap_or("default");
        for item in range.spec.into_iter().flat_map(|s| s.limits) {
            if item.type_ == "Container" {
                ranges
                    .entry(namespace)
                    .or_default()
                    .push(ContainerDefaults::of(item));
            }
        }
    }
    if ranges.is_empty() {
        return;
    }
    for (object, resource) in objects.iter().zip(resources) {
        let (Resource::Workload(template), Some(defaults)) = (
            resource,
            ranges.get(object.namespace.as_deref().unwrap_or("default")),
        ) else {
            continue;
        };
        let spec = &mut template.spec;
        let containers = spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten());
        for container in containers {
            let resources = container.resources.get_or_insert_with(Default::default);
            for range in defaults {
                fill(&mut resources.limits, &range.limits);
                fill(&mut resources.requests, &range.requests);
            }
        }
    }
}

/// A LimitRange item of type Container, defaulted.
struct ContainerDefaults {
    limits: BTreeMap<String, Quantity>,
    requests: BTreeMap<String, Quantity>,
}

impl ContainerDefaults {
    /// `SetDefaults_LimitRangeItem`: `max` is the default limit, the
    /// default limit the default request, and `min` the default request.
    fn of(item: LimitRangeItem) -> ContainerDefaults {
        let mut limits = item.default.unwrap_or_default();
        fill_map(&mut limits, item.max.as_ref());
        let mut requests = item.default_request.unwrap_or_default();
        fill_map(&mut requests, Some(&limits));
        fill_map(&mut requests, item.min.as_ref());
        ContainerDefaults { limits, requests }
    }
}

fn fill_map(into: &mut BTreeMap<String, Quantity>, from: Option<&BTreeMap<String, Quantity>>) {
    for (name, quantity) in from.into_iter().flatten() {
        into.entry(name.clone()).or_insert_with(|| quantity.clone());
    }
}

fn fill(into: &mut Option<BTreeMap<String, Quantity>>, from: &BTreeMap<String, Quantity>) {
    if !from.is_empty() {
        fill_map(into.get_or_insert_with(Default::default), Some(from));
    }
}

/// A limit without a request is also the request.
fn request_limits(resources: &mut ResourceRequirements) {
    let Some(limits) = resources.limits.as_ref() else {
        return;
    };
    let requests = resources.requests.get_or_insert_with(Default::default);
    for (name, quantity) in limits {
        requests
            .entry(name.clone())
            .or_insert_with(|| quantity.clone());
    }
}

/// Would [`apply`] change `spec`?
fn needed(spec: &PodSpec) -> bool {
    let host_network = spec.host_network == Some(true);
    let container_needs = |c: &Container| {
        (host_network
            && c.ports
                .iter()
                .flatten()
                .any(|p| p.host_port.unwrap_or(0) == 0))
            || c.resources.as_ref().is_some_and(limit_without_request)
    };
    spec.service_account_name
        .as_deref()
        .unwrap_or("")
        .is_empty()
        && spec.service_account.as_ref().is_some_and(|a| !a.is_empty())
        || spec
            .volumes
            .iter()
            .flatten()
            .any(|v| volume_source(v).is_none())
        || spec.containers.iter().any(container_needs)
        || spec.init_containers.iter().flatten().any(container_needs)
        || spec.resources.as_ref().is_some_and(limit_without_request)
}

fn limit_without_request(resources: &ResourceRequirements) -> bool {
    resources.limits.iter().flatten().any(|(name, _)| {
        !resources
            .requests
            .as_ref()
            .is_some_and(|requests| requests.contains_key(name))
    })
}

/// The volume's source: an allowed one if any is set, else the first
/// restricted one in upstream's order; `None` when no source is set.
pub fn volume_source(v: &Volume) -> Option<(&'static str, bool)> {
    let allowed = [
        ("configMap", v.config_map.is_some()),
        ("csi", v.csi.is_some()),
        ("downwardAPI", v.downward_api.is_some()),
        ("emptyDir", v.empty_dir.is_some()),
        ("ephemeral", v.ephemeral.is_some()),
        ("image", v.image.is_some()),
        ("persistentVolumeClaim", v.persistent_volume_claim.is_some()),
        ("projected", v.projected.is_some()),
        ("secret", v.secret.is_some()),
    ];
    if let Some((name, _)) = allowed.iter().find(|(_, set)| *set) {
        return Some((name, true));
    }
    let restricted = [
        ("hostPath", v.host_path.is_some()),
        ("gcePersistentDisk", v.gce_persistent_disk.is_some()),
        ("awsElasticBlockStore", v.aws_elastic_block_store.is_some()),
        ("gitRepo", v.git_repo.is_some()),
        ("nfs", v.nfs.is_some()),
        ("iscsi", v.iscsi.is_some()),
        ("glusterfs", v.glusterfs.is_some()),
        ("rbd", v.rbd.is_some()),
        ("flexVolume", v.flex_volume.is_some()),
        ("cinder", v.cinder.is_some()),
        ("cephfs", v.cephfs.is_some()),
        ("flocker", v.flocker.is_some()),
        ("fc", v.fc.is_some()),
        ("azureFile", v.azure_file.is_some()),
        ("vsphereVolume", v.vsphere_volume.is_some()),
        ("quobyte", v.quobyte.is_some()),
        ("azureDisk", v.azure_disk.is_some()),
        ("photonPersistentDisk", v.photon_persistent_disk.is_some()),
        ("portworxVolume", v.portworx_volume.is_some()),
        ("scaleIO", v.scale_io.is_some()),
        ("storageos", v.storageos.is_some()),
    ];
    restricted
        .iter()
        .find(|(_, set)| *set)
        .map(|(name, _)| (*name, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> PodSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_limit_without_a_request_is_the_request() {
        let mut pod = spec(
            r#"{"containers": [{"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"memory": "512Mi"}}}],
                "initContainers": [{"name": "i", "resources": {"limits": {"cpu": "2"}}}]}"#,
        );
        apply(&mut pod);
        let requests = |c: &Container| {
            c.resources
                .as_ref()
                .unwrap()
                .requests
                .clone()
                .unwrap_or_default()
        };
        let main = requests(&pod.containers[0]);
        assert_eq!(main["cpu"].0, "1");
        assert_eq!(main["memory"].0, "512Mi", "a request stays");
        assert_eq!(
            requests(&pod.init_containers.as_ref().unwrap()[0])["cpu"].0,
            "2"
        );
    }

    #[test]
    fn the_deprecated_alias_names_the_account() {
        let mut pod = spec(r#"{"containers": [], "serviceAccount": "builder"}"#);
        assert!(matches!(defaulted(&pod), Cow::Owned(_)));
        apply(&mut pod);
        assert_eq!(pod.service_account_name.as_deref(), Some("builder"));
        let mut both =
            spec(r#"{"containers": [], "serviceAccount": "old", "serviceAccountName": "new"}"#);
        apply(&mut both);
        assert_eq!(both.service_account_name.as_deref(), Some("new"));
    }

    #[test]
    fn nothing_to_default_borrows() {
        let pod = spec(
            r#"{"containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}}]}"#,
        );
        assert!(matches!(defaulted(&pod), Cow::Borrowed(_)));
    }
}
