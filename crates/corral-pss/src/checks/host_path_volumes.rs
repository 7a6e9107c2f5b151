//! `hostPathVolumes` (baseline): HostPath volumes must be forbidden.
//!
//! Restricted fields: `spec.volumes[*].hostPath`. Allowed: unset. At
//! restricted it is overridden by `restrictedVolumes` at every version.

use super::{Check, Forbidden, Versioned};
use crate::text::{join_quote, pluralize};
use crate::version::Level;
use crate::visit::Pod;

pub(super) const CHECK: Check = Check {
    id: "hostPathVolumes",
    level: Level::Baseline,
    versions: &[Versioned {
        min_minor: 0,
        check: host_path_volumes_1_0,
        overrides: &[],
    }],
};

fn host_path_volumes_1_0(pod: &Pod<'_>) -> Option<Forbidden> {
    let bad: Vec<(usize, &str)> = pod
        .spec
        .volumes
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, v)| v.host_path.is_some())
        .map(|(i, v)| (i, v.name.as_str()))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let names: Vec<&str> = bad.iter().map(|(_, n)| *n).collect();
    Forbidden::new(
        "hostPath volumes",
        format!(
            "{} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names)
        ),
        bad.iter()
            .map(|(i, _)| format!("spec.volumes[{i}].hostPath"))
            .collect(),
    )
}
