//! `restrictedVolumes` (restricted): only volume types that do not reach
//! into the node are allowed. Overrides `hostPathVolumes`.
//!
//! Restricted field: `spec.volumes[*]`. A volume passes if any of
//! `configMap csi downwardAPI emptyDir ephemeral image persistentVolumeClaim
//! projected secret` is set; otherwise its type is named (`hostPath`, `nfs`,
//! ... or `unknown`). A volume with no source is defaulted to `emptyDir`
//! before evaluation, as the API server does.

use super::{Check, Forbidden, Versioned};
use crate::text::{join_quote, pluralize, sorted_set};
use crate::version::Level;
use crate::visit::Pod;
use k8s_openapi::api::core::v1::Volume;

pub(super) const CHECK: Check = Check {
    id: "restrictedVolumes",
    level: Level::Restricted,
    versions: &[Versioned {
        min_minor: 0,
        check: restricted_volumes_1_0,
        overrides: &["hostPathVolumes"],
    }],
};

/// The volume's source: an allowed one if any is set, else the first
/// restricted one in upstream's order; `None` when no source is set.
pub(crate) fn volume_source(v: &Volume) -> Option<(&'static str, bool)> {
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

fn restricted_volumes_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let mut names = Vec::new();
    let mut types = Vec::new();
    let mut fields = Vec::new();
    for (i, volume) in pod.spec.volumes.iter().flatten().enumerate() {
        match volume_source(volume) {
            Some((_, true)) => {}
            Some((kind, false)) => {
                names.push(volume.name.as_str());
                types.push(kind.to_string());
                fields.push(format!("spec.volumes[{i}].{kind}"));
            }
            None => {
                names.push(volume.name.as_str());
                types.push("unknown".to_string());
                fields.push(format!("spec.volumes[{i}]"));
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let types = sorted_set(types);
    Forbidden::new(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names),
            pluralize("uses", "use", names.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(&types)
        ),
        fields,
    )
}
