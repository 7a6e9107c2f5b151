//! The API server's defaults that change a check's verdict, applied before
//! evaluation as admission sees them (`SetDefaults_Volume`,
//! `SetDefaults_PodSpec`).

use std::borrow::Cow;

use k8s_openapi::api::core::v1::{Container, EmptyDirVolumeSource, PodSpec, Volume};

use crate::checks::volume_source;

pub(crate) fn apply(spec: &PodSpec) -> Cow<'_, PodSpec> {
    let sourceless = |v: &Volume| volume_source(v).is_none();
    let needs_host_port = |c: &Container| {
        c.ports
            .iter()
            .flatten()
            .any(|p| p.host_port.unwrap_or(0) == 0)
    };
    let host_network = spec.host_network == Some(true);
    let volumes_need = spec.volumes.iter().flatten().any(sourceless);
    let ports_need = host_network
        && (spec.containers.iter().any(needs_host_port)
            || spec.init_containers.iter().flatten().any(needs_host_port));
    if !volumes_need && !ports_need {
        return Cow::Borrowed(spec);
    }
    let mut spec = spec.clone();
    // A volume with no source is an emptyDir.
    for volume in spec.volumes.iter_mut().flatten() {
        if sourceless(volume) {
            volume.empty_dir = Some(EmptyDirVolumeSource::default());
        }
    }
    // With hostNetwork, every container port is also a host port.
    if host_network {
        let containers = spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten());
        for port in containers.flat_map(|c| c.ports.iter_mut().flatten()) {
            if port.host_port.unwrap_or(0) == 0 {
                port.host_port = Some(port.container_port);
            }
        }
    }
    Cow::Owned(spec)
}
