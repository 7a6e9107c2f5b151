//! Which workload container a recording is of. Replicas (and repeated
//! recordings) of one container of one workload are merged into one
//! recording before advice. A pod's workload is the top of its
//! `ownerReferences` chain (Pod → ReplicaSet → Deployment, Pod → Job →
//! CronJob, Pod → StatefulSet...) as the manifests or inventory hold it,
//! never guessed from its name: `redis-cache-…` is not `redis`. Where the
//! owner objects are absent the pod's own controller reference names it,
//! and a ReplicaSet named `<deployment>-<pod-template-hash>`, whose pod
//! carries that `pod-template-hash` label, is the Deployment's. With no
//! owner information the pod is its own workload. A command recording
//! (`corral record -- CMD`) is of the workload named with `corral record
//! --workload`, else of its file's stem, in namespace `default`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use corral_core::model::Model;
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

/// How a recording's workload was named.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Naming {
    /// The owner objects, up to the top of the chain, are in the inputs.
    OwnerChain,
    /// The pod's (or an owner's) controller reference names an object
    /// the inputs do not hold.
    OwnerReference,
    /// The pod's ReplicaSet is `<deployment>-<pod-template-hash>` and the
    /// pod carries that hash: the Deployment.
    PodTemplateHash,
    /// The pod is in the inputs and names no controller.
    Unowned,
    /// The pod is not in the inputs: nothing says what owns it.
    Unknown,
    /// A command recording, named with `corral record --workload`.
    Given,
    /// A command recording, named by its file's stem.
    FileStem,
    /// As its `Recording` resource (corral.dev/v1alpha1) names it: the
    /// operator's.
    Resource,
}

/// A recording's workload: its kind, when known, and how it was named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Named {
    /// `Deployment`, `CronJob`, `Pod`...; `None` when nothing says.
    pub kind: Option<String>,
    pub name: String,
    pub naming: Naming,
}

impl Named {
    /// One line for the advice: how the workload was named.
    pub fn note(&self) -> String {
        let kind = self.kind.as_deref().unwrap_or("workload");
        match self.naming {
            Naming::OwnerChain => format!("{kind} {}, by its pods' owner references", self.name),
            Naming::OwnerReference => format!(
                "{kind} {}, by its pods' owner references (the {kind} itself is not in the inputs)",
                self.name
            ),
            Naming::PodTemplateHash => format!(
                "Deployment {}, by its pods' ReplicaSet and pod-template-hash label",
                self.name
            ),
            Naming::Unowned => format!(
                "the pod {} itself: it names no controller in the inventory",
                self.name
            ),
            Naming::Unknown => format!(
                "the pod {} itself: no owner known (give the pods with --inventory, e.g. kubectl get pods -o yaml, to name its workload)",
                self.name
            ),
            Naming::Given => format!("{}, as named with corral record --workload", self.name),
            Naming::FileStem => format!(
                "{}, the recording file's name (corral record --workload names it)",
                self.name
            ),
            Naming::Resource => format!("{}, as its Recording resource names it", self.name),
        }
    }
}

/// A controller reference: (kind, name).
type Reference = (String, String);

/// Most owners followed from a pod: a chain longer than this (or a cycle)
/// ends where it is.
const MAX_CHAIN: usize = 16;

/// Who owns what, from the manifests or inventory: every object's
/// controller reference and every pod's labels.
#[derive(Clone, Debug, Default)]
pub struct Owners {
    /// (namespace, kind, name) → its controller, when it names one.
    objects: HashMap<(String, String, String), Option<Reference>>,
    /// Pods: (namespace, name) → labels.
    pods: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// Controllers' `spec.selector.matchLabels`: (namespace, name) → labels.
    selectors: HashMap<(String, String), Vec<BTreeMap<String, String>>>,
}

/// The controller reference of an object (`controller: true`).
fn controller(object: &corral_core::Object) -> Option<Reference> {
    object
        .root
        .at("metadata.ownerReferences")?
        .items()?
        .iter()
        .find(|o| o.get("controller").and_then(|c| c.as_bool()) == Some(true))
        .and_then(|o| {
            let field = |k: &str| o.get(k).and_then(|v| v.as_str()).map(str::to_string);
            Some((field("kind")?, field("name")?))
        })
}

impl Owners {
    pub fn of(model: &Model) -> Owners {
        let mut owners = Owners::default();
        for (object, resource) in model.iter() {
            let Some(name) = object.name.clone() else {
                continue;
            };
            let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
            if object.kind == "Pod" && object.api_version == "v1" {
                let labels = object
                    .root
                    .at("metadata.labels")
                    .and_then(|l| l.entries())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|e| Some((e.key.to_string(), e.value.as_str()?.to_string())))
                    .collect();
                owners
                    .pods
                    .insert((namespace.clone(), name.clone()), labels);
            }
            let selector: BTreeMap<String, String> = object
                .root
                .at("spec.selector.matchLabels")
                .and_then(|m| m.entries())
                .unwrap_or_default()
                .iter()
                .filter_map(|e| Some((e.key.to_string(), e.value.as_str()?.to_string())))
                .collect();
            // A controller's (a pod template's owner), not a Service's or
            // a PodDisruptionBudget's.
            let controls = matches!(
                resource,
                corral_core::model::Resource::Workload(_)
                    | corral_core::model::Resource::LeanWorkload(_)
            );
            if !selector.is_empty() && controls && object.kind != "Pod" {
                owners
                    .selectors
                    .entry((namespace.clone(), name.clone()))
                    .or_default()
                    .push(selector);
            }
            owners
                .objects
                .insert((namespace, object.kind.clone(), name), controller(object));
        }
        owners
    }

    /// These and `other`'s (the manifests' and the inventory's).
    pub fn extend(&mut self, other: Owners) {
        self.objects.extend(other.objects);
        self.pods.extend(other.pods);
        for (key, selectors) in other.selectors {
            self.selectors.entry(key).or_default().extend(selectors);
        }
    }

    /// The workload of pod `pod` in `namespace`.
    pub fn workload_of(&self, namespace: &str, pod: &str) -> Named {
        let Some(labels) = self.pods.get(&(namespace.to_string(), pod.to_string())) else {
            return Named {
                kind: None,
                name: pod.to_string(),
                naming: Naming::Unknown,
            };
        };
        let mut at: Reference = ("Pod".into(), pod.to_string());
        let mut naming = Naming::Unowned;
        for _ in 0..MAX_CHAIN {
            let key = (namespace.to_string(), at.0.clone(), at.1.clone());
            let Some(next) = self.objects.get(&key).cloned().flatten() else {
                break; // the top of the chain
            };
            if !self
                .objects
                .contains_key(&(namespace.to_string(), next.0.clone(), next.1.clone()))
            {
                // An owner the inputs do not hold: its reference names it,
                // and a Deployment's ReplicaSet names the Deployment.
                let hash = labels.get("pod-template-hash").filter(|h| !h.is_empty());
                let deployment = (at.0 == "Pod" && next.0 == "ReplicaSet")
                    .then_some(hash)
                    .flatten()
                    .and_then(|h| next.1.strip_suffix(h.as_str()))
                    .and_then(|n| n.strip_suffix('-'))
                    .filter(|n| !n.is_empty());
                return match deployment {
                    Some(d) => Named {
                        kind: Some("Deployment".into()),
                        name: d.to_string(),
                        naming: Naming::PodTemplateHash,
                    },
                    None => Named {
                        kind: Some(next.0),
                        name: next.1,
                        naming: Naming::OwnerReference,
                    },
                };
            }
            naming = Naming::OwnerChain;
            at = next;
        }
        Named {
            kind: Some(at.0),
            name: at.1,
            naming,
        }
    }

    /// The pods of `workload` in `namespace` the inputs hold (a command
    /// recording's workload's): those whose owner chain ends at it, else,
    /// when none names an owner, those its controller's selector matches
    /// (the pods a ReplicaSet or Job adopts).
    pub fn pods_of(&self, namespace: &str, workload: &str) -> Vec<String> {
        let in_namespace = || self.pods.iter().filter(move |((ns, _), _)| ns == namespace);
        let owned: Vec<String> = in_namespace()
            .filter(|((ns, pod), _)| {
                let named = self.workload_of(ns, pod);
                named.name == workload && named.kind.as_deref() != Some("Pod")
            })
            .map(|((_, pod), _)| pod.clone())
            .collect();
        if !owned.is_empty() {
            return owned;
        }
        let selectors = self
            .selectors
            .get(&(namespace.to_string(), workload.to_string()));
        in_namespace()
            .filter(|((ns, pod), labels)| {
                self.objects
                    .get(&(ns.clone(), "Pod".into(), pod.clone()))
                    .is_some_and(|c| c.is_none())
                    && selectors.is_some_and(|all| {
                        all.iter()
                            .any(|s| s.iter().all(|(k, v)| labels.get(k) == Some(v)))
                    })
            })
            .map(|((_, pod), _)| pod.clone())
            .collect()
    }
}

/// A ReplicaSet hash or a pod's random suffix: lowercase letters and digits.
fn generated(part: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&part.len())
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The pod's name without its controller's suffixes (`web-7d4b9c8f6d-x2x9q`
/// → `web`): a guess, which `redis-cache` defeats. Only the operator's
/// publishing (`corral record --publish`) still names Recording resources
/// by it; everything reading recordings with manifests or an inventory
/// names workloads by [`Owners`].
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

/// The workload of a recording: its container's pod's, or for `corral
/// record -- CMD` the name given with `--workload`, else the file's stem,
/// in namespace `default`.
pub fn named(recording: &Recording, file: &Path, owners: &Owners) -> (WorkloadKey, Named) {
    match &recording.container {
        Some(c) if c.pod.is_some() => {
            let namespace = c.namespace.clone().unwrap_or_else(|| "default".into());
            let pod = c.pod.clone().unwrap_or_default();
            let named = owners.workload_of(&namespace, &pod);
            let key = WorkloadKey {
                workload: named.name.clone(),
                namespace,
                container: c.name.clone().unwrap_or_else(|| "container".into()),
            };
            (key, named)
        }
        _ => {
            let given = recording.workload_name().map(str::to_string);
            let (name, naming) = match given {
                Some(name) => (name, Naming::Given),
                None => (
                    file.file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "recording".into()),
                    Naming::FileStem,
                ),
            };
            let key = WorkloadKey {
                namespace: "default".into(),
                workload: name.clone(),
                container: "main".into(),
            };
            (
                key,
                Named {
                    kind: None,
                    name,
                    naming,
                },
            )
        }
    }
}

/// A workload container's recordings, merged, and the pods they were of.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub recording: Recording,
    /// Its pods: those recorded, or for a command recording those of its
    /// workload the inventory holds. `advise` and `drift` both take them
    /// from here.
    pub pods: Vec<String>,
    /// How its workload was named.
    pub named: Named,
    /// The recording files, as given.
    pub files: Vec<String>,
}

/// Read the recording file at `path`, bounded by the loader's document
/// size limit ([`corral_core::Limits::max_document_size`]) and checked as
/// [`Recording::from_json`] does: every reader of recording files uses it.
pub fn read_recording(path: &Path) -> Result<Recording, String> {
    let bytes = corral_core::read_bounded(path, corral_core::Limits::default().max_document_size)?;
    Recording::from_json(&path.display().to_string(), &bytes)
}

/// Read recordings and merge them per workload container, naming each
/// workload from `owners` (the manifests' or inventory's).
pub fn group(
    files: &[impl AsRef<Path>],
    owners: &Owners,
) -> Result<BTreeMap<WorkloadKey, Recorded>, String> {
    let mut by_key: BTreeMap<WorkloadKey, (Named, Vec<Recording>, Vec<String>)> = BTreeMap::new();
    for file in files {
        let file = file.as_ref();
        let recording = read_recording(file)?;
        if recording.container.as_ref().is_some_and(|c| c.sandbox) {
            continue; // the pause container: nothing to advise
        }
        let (key, named) = named(&recording, file, owners);
        let entry = by_key
            .entry(key)
            .or_insert_with(|| (named, Vec::new(), Vec::new()));
        entry.1.push(recording);
        entry.2.push(file.display().to_string());
    }
    by_key
        .into_iter()
        .map(|(key, (named, recordings, files))| {
            let mut pods: Vec<String> = recordings
                .iter()
                .filter_map(|r| r.container.as_ref().and_then(|c| c.pod.clone()))
                .collect();
            if pods.is_empty() {
                pods = owners.pods_of(&key.namespace, &key.workload);
            }
            pods.sort();
            pods.dedup();
            Recording::merge(recordings)
                .map(|recording| {
                    (
                        key.clone(),
                        Recorded {
                            recording,
                            pods,
                            named,
                            files,
                        },
                    )
                })
                .map_err(|MergeError(e)| format!("{key}: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::model::TemplatePaths;

    fn owners(yaml: &str) -> Owners {
        let name: std::sync::Arc<str> = std::sync::Arc::from("inventory.yaml");
        let (objects, _) = corral_core::load_bytes(
            &name,
            yaml.as_bytes(),
            &corral_core::Limits::default(),
            &|_| {},
        );
        let (model, _) = Model::build(objects, &TemplatePaths::default());
        Owners::of(&model)
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: ns\n  labels: {labels}\n  ownerReferences: {owners}\nspec: {containers: [{name: c, image: i}]}\n---\n";

    fn pod(name: &str, labels: &str, owners: &str) -> String {
        POD.replace("{name}", name)
            .replace("{labels}", labels)
            .replace("{owners}", owners)
    }

    fn reference(kind: &str, name: &str) -> String {
        format!("[{{apiVersion: apps/v1, kind: {kind}, name: {name}, uid: u, controller: true}}]")
    }

    #[test]
    fn named_by_the_owner_chain_never_by_the_name() {
        let hash = "{pod-template-hash: 7d4b9c8f6d}";
        let inventory = [
            pod("redis-cache-7d4b9c8f6d-x2x9q", hash, &reference("ReplicaSet", "redis-cache-7d4b9c8f6d")),
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: redis-cache-7d4b9c8f6d, namespace: ns, ownerReferences: [{kind: Deployment, name: redis-cache, controller: true}]}\n---\n".into(),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: redis-cache, namespace: ns}\n---\n".into(),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: redis, namespace: ns}\n---\n".into(),
            // A Job of a CronJob, its objects absent: the Job's reference.
            pod("backup-28301234-abcde", "{}", &reference("Job", "backup-28301234")),
            // The ReplicaSet absent: its name and the pod's hash.
            pod("web-5c9f7b6d8-abcde", "{pod-template-hash: 5c9f7b6d8}", &reference("ReplicaSet", "web-5c9f7b6d8")),
            // A hash that is not the pod's: the ReplicaSet, no guess.
            pod("api-5c9f7b6d8-abcde", "{pod-template-hash: 0000000}", &reference("ReplicaSet", "api-5c9f7b6d8")),
            pod("db-0", "{}", &reference("StatefulSet", "db")),
            pod("standalone", "{}", "[]"),
        ]
        .concat();
        let owners = owners(&inventory);
        let of = |pod: &str| {
            let n = owners.workload_of("ns", pod);
            (n.kind.unwrap_or_default(), n.name, n.naming)
        };
        let at = |k: &str, n: &str, how: Naming| (k.to_string(), n.to_string(), how);
        assert_eq!(
            of("redis-cache-7d4b9c8f6d-x2x9q"),
            at("Deployment", "redis-cache", Naming::OwnerChain)
        );
        assert_eq!(
            of("backup-28301234-abcde"),
            at("Job", "backup-28301234", Naming::OwnerReference)
        );
        assert_eq!(
            of("web-5c9f7b6d8-abcde"),
            at("Deployment", "web", Naming::PodTemplateHash)
        );
        assert_eq!(
            of("api-5c9f7b6d8-abcde"),
            at("ReplicaSet", "api-5c9f7b6d8", Naming::OwnerReference)
        );
        assert_eq!(of("db-0"), at("StatefulSet", "db", Naming::OwnerReference));
        assert_eq!(of("standalone"), at("Pod", "standalone", Naming::Unowned));
        // Not in the inventory: the pod itself, whatever its name looks like.
        assert_eq!(
            of("redis-7d4b9c8f6d-x2x9q"),
            (
                "".to_string(),
                "redis-7d4b9c8f6d-x2x9q".to_string(),
                Naming::Unknown
            )
        );
        assert_eq!(
            owners.pods_of("ns", "redis-cache"),
            ["redis-cache-7d4b9c8f6d-x2x9q"]
        );
        assert!(owners.pods_of("ns", "redis").is_empty());
        assert!(owners.pods_of("ns", "standalone").is_empty());
    }

    #[test]
    fn an_owner_cycle_ends() {
        let inventory = [
            pod("p", "{}", &reference("ReplicaSet", "a")),
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: a, namespace: ns, ownerReferences: [{kind: ReplicaSet, name: b, controller: true}]}\n---\n".into(),
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: b, namespace: ns, ownerReferences: [{kind: ReplicaSet, name: a, controller: true}]}\n".into(),
        ]
        .concat();
        let named = owners(&inventory).workload_of("ns", "p");
        assert_eq!(named.kind.as_deref(), Some("ReplicaSet"));
    }

    #[test]
    fn adopted_pods_by_selector_when_none_names_an_owner() {
        let inventory = [
            pod("front-1", "{app: front}", "[]"),
            pod("other", "{app: other}", "[]"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: front, namespace: ns}\nspec: {selector: {matchLabels: {app: front}}, template: {metadata: {labels: {app: front}}, spec: {containers: [{name: c, image: i}]}}}\n".into(),
        ]
        .concat();
        assert_eq!(owners(&inventory).pods_of("ns", "front"), ["front-1"]);
    }
}
