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
use corral_core::model::defaults::volume_source;

pub(super) const CHECK: Check = Check {
    id: "restrictedVolumes",
    level: Level::Restricted,
    versions: &[Versioned {
        min_minor: 0,
        check: restricted_volumes_1_0,
        overrides: &["hostPathVolumes"],
    }],
};

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
