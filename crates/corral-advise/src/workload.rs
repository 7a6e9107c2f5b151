//! Which workload container a recording is of. Replicas (and repeated
//! recordings) of one container of one workload are merged into one
//! recording before advice: the workload's name comes from the manifests
//! when given (the workload whose name prefixes the pod's, longest first),
//! else from the pod name without its controller's suffixes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use corral_record::{MergeError, Recording};
use serde::Serialize;

/// A container of a workload: what a policy is written for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct WorkloadKey {
    pub namespace: String,
    /// The workload (Deployment, StatefulSet...) name, or the pod's when
    /// none is known.
    pub workload: String,
    pub container: String,
}

impl WorkloadKey {
    /// `ns-workload-container`: a file name.
    pub fn file_stem(&self) -> String {
        use corral_core::safe::file_name;
        format!(
            "{}-{}-{}",
            file_name(&self.namespace),
            file_name(&self.workload),
            file_name(&self.container)
        )
    }
}

impl fmt::Display for WorkloadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} container {}",
            self.namespace, self.workload, self.container
        )
    }
}

/// A ReplicaSet hash or a pod's random suffix: lowercase letters and digits
/// (Kubernetes' safe alphabet has no vowels, but older ones did).
fn generated(part: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&part.len())
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The pod's owner name: `web-7d4b9c8f6d-x2x9q` → `web` (Deployment),
/// `db-0` → `db` (StatefulSet), `agent-x2x9q` → `agent` (DaemonSet, Job).
pub fn owner_from_pod(pod: &str) -> String {
    let parts: Vec<&str> = pod.split('-').collect();
    if parts.len() >= 3
        && generated(parts[parts.len() - 1], 5..=5)
        && generated(parts[parts.len() - 2], 6..=10)
    {
        return parts[..parts.len() - 2].join("-");
    }
    if parts.len() >= 2 {
        let last = parts[parts.len() - 1];
        if last.bytes().all(|b| b.is_ascii_digit()) || generated(last, 5..=5) {
            return parts[..parts.len() - 1].join("-");
        }
    }
    pod.to_string()
}

/// The key of a recording: its container's, or for `corral record -- CMD`
/// the file's stem as the workload in namespace `default`.
pub fn key_of(recording: &Recording, file: &Path, workloads: &[(String, String)]) -> WorkloadKey {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "recording".into());
    match &recording.container {
        Some(c) if c.pod.is_some() => {
            let namespace = c.namespace.clone().unwrap_or_else(|| "default".into());
            let pod = c.pod.clone().unwrap_or_default();
            // The longest workload name in this namespace that prefixes it.
            let known = workloads
                .iter()
                .filter(|(ns, name)| {
                    ns == &namespace
                        && pod.len() > name.len()
                        && pod.starts_with(&format!("{name}-"))
                })
                .map(|(_, name)| name.clone())
                .max_by_key(|name| name.len());
            WorkloadKey {
                workload: known.unwrap_or_else(|| owner_from_pod(&pod)),
                namespace,
                container: c.name.clone().unwrap_or_else(|| "container".into()),
            }
        }
        _ => WorkloadKey {
            namespace: "default".into(),
            workload: stem,
            container: "main".into(),
        },
    }
}

/// A workload container's recordings, merged, and the pods they were of.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub recording: Recording,
    pub pods: Vec<String>,
}

/// Read the recording file at `path`, bounded by the loader's document
/// size limit ([`corral_core::Limits::max_document_size`]) and checked as
/// [`Recording::from_json`] does: every reader of recording files uses it.
pub fn read_recording(path: &Path) -> Result<Recording, String> {
    let bytes = corral_core::read_bounded(path, corral_core::Limits::default().max_document_size)?;
    Recording::from_json(&path.display().to_string(), &bytes)
}

/// Read recordings and merge them per workload container.
pub fn group(
    files: &[impl AsRef<Path>],
    workloads: &[(String, String)],
) -> Result<BTreeMap<WorkloadKey, Recorded>, String> {
    let mut by_key: BTreeMap<WorkloadKey, Vec<Recording>> = BTreeMap::new();
    for file in files {
        let file = file.as_ref();
        let recording = read_recording(file)?;
        if recording.container.as_ref().is_some_and(|c| c.sandbox) {
            continue; // the pause container: nothing to advise
        }
        by_key
            .entry(key_of(&recording, file, workloads))
            .or_default()
            .push(recording);
    }
    by_key
        .into_iter()
        .map(|(key, recordings)| {
            let mut pods: Vec<String> = recordings
                .iter()
                .filter_map(|r| r.container.as_ref().and_then(|c| c.pod.clone()))
                .collect();
            pods.sort();
            pods.dedup();
            Recording::merge(recordings)
                .map(|recording| (key.clone(), Recorded { recording, pods }))
                .map_err(|MergeError(e)| format!("{key}: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_from_pod_names() {
        assert_eq!(owner_from_pod("web-7d4b9c8f6d-x2x9q"), "web");
        assert_eq!(owner_from_pod("my-api-5c9f7b6d8-abcde"), "my-api");
        assert_eq!(owner_from_pod("db-0"), "db");
        assert_eq!(owner_from_pod("node-agent-x2x9q"), "node-agent");
        assert_eq!(owner_from_pod("standalone"), "standalone");
    }
}
