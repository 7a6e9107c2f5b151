//! The migration plan: for each workload, the PSP it gets and the fields it
//! must set itself once PSP is gone (a strategic-merge patch at its file
//! and line); for each namespace, the Pod Security Admission labels that
//! admit every workload it runs, and what PSA will no longer enforce.

use std::collections::{BTreeMap, BTreeSet};

use corral_core::emit::{
    self, child, string as yaml_string, YamlMapping as Mapping, YamlNode as Yaml,
};
use corral_core::model::psp::PodSecurityPolicy;
use corral_core::model::{Model, PodTemplate, Resource};
use corral_core::Object;
use corral_pss::{Level, Version};
use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

use crate::access::{
    chosen, cluster_roles_granting, namespace_editors, psp_only_rbac, usable, Grant,
    NamespaceEditor, PspGrants,
};
use crate::map::{map_psp, PspMapping, Verdict, APPARMOR_ALLOWED, SECCOMP_ALLOWED};
use crate::mutate::mutate;
use crate::validate::denials;

/// A usable PSP that would not admit the workload, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Denied {
    pub psp: String,
    pub reasons: Vec<String>,
}

/// One field the chosen PSP set on the workload's pods.
#[derive(Clone, Debug, Serialize)]
pub struct Edit {
    /// Relative to the pod spec: `containers[0].securityContext.runAsNonRoot`.
    pub field: String,
    pub value: String,
    /// The line of the manifest to edit: the field's nearest ancestor that
    /// the manifest writes.
    pub line: u32,
}

/// What to add to a workload's manifest so that its pods stay as the PSP
/// made them.
#[derive(Clone, Debug, Serialize)]
pub struct Patch {
    pub file: String,
    /// The first line to edit.
    pub line: u32,
    /// A strategic-merge patch (`kubectl patch --type strategic
    /// --patch-file`, or a kustomize patch: it names its target).
    pub yaml: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub file: String,
    pub line: u32,
    pub service_account: String,
    /// The PSPs its service account may use.
    pub usable_psps: Vec<String>,
    /// How each grant reaches the service account.
    pub grants: Vec<Grant>,
    /// The PSP the admission controller picks: among the usable PSPs that
    /// admit the pod after their own mutations, one that leaves the pod
    /// unchanged first, then by name. `None` when none admits it: it does
    /// not run under PSP today.
    pub psp: Option<String>,
    pub denied: Vec<Denied>,
    /// The strictest level its pods meet as written, and with the patch
    /// (what `psp` injects) applied, at the target version.
    pub level_as_written: Level,
    pub level_after_patches: Level,
    /// Its pods meet a stricter level only thanks to the PSP's mutations.
    pub relies_on_mutation: bool,
    pub mutations: Vec<Edit>,
    /// Present when `psp` mutates its pods: without PSP they would run
    /// differently (and may break or weaken).
    pub patch: Option<Patch>,
}

/// A control a PSP in use enforced that the namespace's PSA labels will not.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LostControl {
    pub psp: String,
    pub field: String,
    pub control: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct NamespacePlan {
    pub name: String,
    /// Where its Namespace object is written, when it is.
    pub file: Option<String>,
    pub line: Option<u32>,
    /// `Kind/name` of each workload, as sorted in `workloads`.
    pub workloads: Vec<String>,
    /// Its workloads that every PSP they may use denies: they do not run
    /// today, and the levels leave them out rather than loosen the
    /// namespace to admit them.
    pub not_admitted: Vec<String>,
    /// The PSPs its workloads are admitted by.
    pub current_psps: Vec<String>,
    /// The PSPs its workloads' service accounts may use.
    pub usable_psps: Vec<String>,
    /// The least restrictive level of `usable_psps`: what PSP let a pod of
    /// this namespace do.
    pub psp_level: Option<Level>,
    /// The strictest level every workload (but `not_admitted`) meets
    /// (restricted when there are none).
    pub level_as_written: Level,
    pub level_after_patches: Level,
    /// Its Pod Security Admission labels now, when its Namespace is given.
    pub current_labels: BTreeMap<String, String>,
    /// Its other labels, kept in the Namespace manifests we write.
    #[serde(skip)]
    pub other_labels: BTreeMap<String, String>,
    /// The labels to set: enforce what every workload meets after the
    /// patches, audit and warn at the next stricter level, all pinned.
    pub labels: BTreeMap<String, String>,
    /// PSA enforces a less strict level than PSP allowed here.
    pub weaker_than_psp: bool,
    pub lost_controls: Vec<LostControl>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// `v1.N`: the version the levels are evaluated at and the labels pin.
    pub target_version: String,
    pub psps: Vec<PspMapping>,
    pub workloads: Vec<Workload>,
    pub namespaces: Vec<NamespacePlan>,
    /// Who may relabel namespaces, and so switch their policy off.
    pub namespace_editors: Vec<NamespaceEditor>,
    /// For step 3.d, bypassing PSP in a namespace: a privileged PSP that
    /// mutates nothing, and a ClusterRole that grants its use, when the
    /// input has them.
    pub bypass_psp: Option<String>,
    pub bypass_cluster_role: Option<String>,
    /// The roles that only grant `use` of PSPs, and their bindings: to
    /// delete with the PSPs.
    pub psp_only_rbac: Vec<String>,
}

pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// The fields whose Restricted values are narrower than Baseline's, in the
/// kubernetes.io mapping table.
const NARROWER_AT_RESTRICTED: [&str; 7] = [
    "spec.allowedCapabilities",
    "spec.requiredDropCapabilities",
    "spec.volumes",
    "spec.runAsUser",
    "spec.allowPrivilegeEscalation",
    SECCOMP_ALLOWED,
    APPARMOR_ALLOWED,
];

/// The fields Baseline has no opinion on (only Restricted narrows them).
const OPEN_AT_BASELINE: [&str; 3] = [
    "spec.requiredDropCapabilities",
    "spec.runAsUser",
    "spec.allowPrivilegeEscalation",
];

/// Does PSA at `enforce` allow values that a PSP field at `level` denied?
/// (`defaultAddCapabilities` only mutates: `allowedCapabilities` holds
/// what it validates.)
fn looser_at(field: &str, level: Level, enforce: Level) -> bool {
    let past_restricted = level == Level::Restricted && NARROWER_AT_RESTRICTED.contains(&field);
    match enforce {
        _ if field == "spec.defaultAddCapabilities" => false,
        Level::Privileged => {
            past_restricted || (level >= Level::Baseline && !OPEN_AT_BASELINE.contains(&field))
        }
        Level::Baseline => past_restricted,
        Level::Restricted => false,
    }
}

/// The path from the object's root to a mutated field: in the pod spec, or
/// the template's annotations.
fn field_path(template: &PodTemplate, field: &str) -> String {
    match field.strip_prefix("metadata.annotations[") {
        Some(_) if template.path.is_empty() => "metadata.annotations".into(),
        Some(_) => format!("{}.metadata.annotations", template.path),
        None => template.spec_path(field),
    }
}

/// The value at `containers[0].securityContext.runAsNonRoot` in a JSON pod
/// spec.
fn value_at<'a>(spec: &'a Value, field: &str) -> Option<&'a Value> {
    field
        .split('.')
        .try_fold(spec, |value, step| match step.split_once('[') {
            Some((key, index)) => {
                let index: usize = index.trim_end_matches(']').parse().ok()?;
                value.get(key)?.get(index)
            }
            None => value.get(step),
        })
}

/// The strategic-merge patch that sets `edits` (from `mutated`) on the
/// workload: containers are matched by name, as strategic merge does.
fn patch(
    object: &Object,
    template: &PodTemplate,
    meta: &ObjectMeta,
    mutated: &PodSpec,
    edits: &[Edit],
) -> String {
    let spec = serde_json::to_value(mutated).unwrap_or(Value::Null);
    let mut root = Mapping::new();
    root.insert(yaml_string("apiVersion"), yaml_string(&object.api_version));
    root.insert(yaml_string("kind"), yaml_string(&object.kind));
    let metadata = child(&mut root, "metadata");
    metadata.insert(
        yaml_string("name"),
        yaml_string(object.name.as_deref().unwrap_or("")),
    );
    if let Some(ns) = &object.namespace {
        metadata.insert(yaml_string("namespace"), yaml_string(ns));
    }
    // Containers by list and index, so that each gets one item.
    let mut items: BTreeMap<(String, usize), Mapping<'static>> = BTreeMap::new();
    let mut pod = Mapping::new();
    let mut annotations = Mapping::new();
    for edit in edits {
        if let Some(key) = edit
            .field
            .strip_prefix("metadata.annotations[")
            .and_then(|k| k.strip_suffix(']'))
        {
            let value = meta.annotations.as_ref().and_then(|a| a.get(key));
            annotations.insert(yaml_string(key), yaml_string(value.map_or("", |v| v)));
            continue;
        }
        let Some(value) = value_at(&spec, &edit.field) else {
            continue;
        };
        let (target, rest) = match edit.field.split_once("].") {
            Some((list_index, rest)) => {
                let (list, index) = list_index.split_once('[').unwrap_or((list_index, "0"));
                let index: usize = index.parse().unwrap_or(0);
                let item = items.entry((list.to_string(), index)).or_insert_with(|| {
                    let name = value_at(&spec, &format!("{list}[{index}].name"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let mut item = Mapping::new();
                    item.insert(yaml_string("name"), yaml_string(name));
                    item
                });
                (item, rest)
            }
            None => (&mut pod, edit.field.as_str()),
        };
        let mut steps: Vec<&str> = rest.split('.').collect();
        let last = steps.pop().unwrap_or_default();
        let parent = steps.into_iter().fold(target, |map, step| child(map, step));
        parent.insert(yaml_string(last), emit::from_json(value));
    }
    for list in ["initContainers", "containers"] {
        let list_items: Vec<Yaml<'static>> = items
            .iter()
            .filter(|((l, _), _)| l == list)
            .map(|(_, item)| Yaml::Mapping(item.clone()))
            .collect();
        if !list_items.is_empty() {
            pod.insert(yaml_string(list), Yaml::Sequence(list_items));
        }
    }
    // The template's own root: the object's for a Pod.
    let template_root = template
        .path
        .split('.')
        .filter(|s| !s.is_empty())
        .fold(&mut root, |map, step| child(map, step));
    if !annotations.is_empty() {
        child(template_root, "metadata")
            .insert(yaml_string("annotations"), Yaml::Mapping(annotations));
    }
    template_root.insert(yaml_string("spec"), Yaml::Mapping(pod));
    emit::document(&Yaml::Mapping(root))
}

/// Plan the migration of everything in `model`, evaluated at `version`.
pub fn plan(model: &Model, version: &Version) -> Plan {
    let version = Version::Minor(version.minor());
    let psps: Vec<(&str, &PodSecurityPolicy)> = model
        .iter()
        .filter_map(|(o, r)| match r {
            Resource::PodSecurityPolicy(p) => Some((o.name.as_deref().unwrap_or(""), p.as_ref())),
            _ => None,
        })
        .collect();
    let mut mappings: Vec<PspMapping> = psps.iter().map(|(_, p)| map_psp(p)).collect();
    mappings.sort_by(|a, b| a.name.cmp(&b.name));
    let mut names: Vec<String> = mappings.iter().map(|m| m.name.clone()).collect();
    names.dedup();

    let access = PspGrants::new(model);
    let mut workloads: Vec<Workload> = model
        .top_workloads()
        .into_iter()
        .map(|(object, template)| workload(&access, object, template, &psps, &names, &version))
        .collect();
    workloads.sort_by(|a, b| {
        (&a.namespace, &a.kind, &a.name, &a.file, a.line).cmp(&(
            &b.namespace,
            &b.kind,
            &b.name,
            &b.file,
            b.line,
        ))
    });

    let mut namespace_objects: BTreeMap<String, &Object> = BTreeMap::new();
    let mut current_labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut other_labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (object, resource) in model.iter() {
        if let (Resource::Namespace(ns), Some(name)) = (resource, &object.name) {
            namespace_objects.insert(name.clone(), object);
            let (psa, other) = ns
                .metadata
                .labels
                .clone()
                .unwrap_or_default()
                .into_iter()
                .partition(|(k, _)| k.starts_with(LABEL_PREFIX));
            current_labels.insert(name.clone(), psa);
            other_labels.insert(name.clone(), other);
        }
    }
    let mut names_in_use: BTreeSet<String> = namespace_objects.keys().cloned().collect();
    names_in_use.extend(workloads.iter().map(|w| w.namespace.clone()));

    let mut by_namespace: BTreeMap<&str, Vec<&Workload>> = BTreeMap::new();
    for w in &workloads {
        by_namespace
            .entry(w.namespace.as_str())
            .or_default()
            .push(w);
    }
    let namespaces = names_in_use
        .into_iter()
        .map(|name| {
            let all: Vec<&Workload> = by_namespace.remove(name.as_str()).unwrap_or_default();
            let denied_today = |w: &Workload| !w.usable_psps.is_empty() && w.psp.is_none();
            let mine: Vec<&Workload> = all.iter().copied().filter(|w| !denied_today(w)).collect();
            let current_psps: BTreeSet<String> =
                mine.iter().filter_map(|w| w.psp.clone()).collect();
            let usable_psps: BTreeSet<String> = all
                .iter()
                .flat_map(|w| w.usable_psps.iter().cloned())
                .chain(
                    usable(&access.of(&name, "default"), &names)
                        .into_iter()
                        .map(str::to_string),
                )
                .collect();
            let level_of = |psp: &str| mappings.iter().find(|m| m.name == psp).map(|m| m.level);
            let psp_level = usable_psps.iter().filter_map(|p| level_of(p)).min();
            let level_as_written = mine
                .iter()
                .map(|w| w.level_as_written)
                .min()
                .unwrap_or(Level::Restricted);
            let level_after_patches = mine
                .iter()
                .map(|w| w.level_after_patches)
                .min()
                .unwrap_or(Level::Restricted);
            let enforce = level_after_patches;
            let watch = enforce.stricter().unwrap_or(enforce);
            let mut labels = BTreeMap::new();
            for (mode, level) in [("enforce", enforce), ("audit", watch), ("warn", watch)] {
                labels.insert(format!("{LABEL_PREFIX}{mode}"), level.as_str().to_string());
                labels.insert(format!("{LABEL_PREFIX}{mode}-version"), version.to_string());
            }
            let mut lost_controls = BTreeSet::new();
            for psp in &current_psps {
                let Some(mapping) = mappings.iter().find(|m| &m.name == psp) else {
                    continue;
                };
                for field in &mapping.fields {
                    let control = match (&field.lost_control, field.verdict) {
                        (Some(lost), _) => lost.clone(),
                        (None, Verdict::Level(level))
                            if looser_at(&field.field, level, enforce) =>
                        {
                            format!(
                                "{} {} held pods to {}; PSA enforces {}",
                                field.field.trim_start_matches("spec."),
                                field.value,
                                level.as_str(),
                                enforce.as_str()
                            )
                        }
                        _ => continue,
                    };
                    lost_controls.insert(LostControl {
                        psp: psp.clone(),
                        field: field.field.clone(),
                        control,
                    });
                }
            }
            let object = namespace_objects.get(&name);
            NamespacePlan {
                file: object.map(|o| o.file.trim_start_matches("./").to_string()),
                line: object.map(|o| o.pos.line),
                workloads: all
                    .iter()
                    .map(|w| format!("{}/{}", w.kind, w.name))
                    .collect(),
                not_admitted: all
                    .iter()
                    .filter(|w| denied_today(w))
                    .map(|w| format!("{}/{}", w.kind, w.name))
                    .collect(),
                current_psps: current_psps.into_iter().collect(),
                usable_psps: usable_psps.into_iter().collect(),
                weaker_than_psp: psp_level.is_some_and(|p| enforce < p),
                psp_level,
                level_as_written,
                level_after_patches,
                current_labels: current_labels.remove(&name).unwrap_or_default(),
                other_labels: other_labels.remove(&name).unwrap_or_default(),
                labels,
                lost_controls: lost_controls.into_iter().collect(),
                name,
            }
        })
        .collect();

    let bypass_psp = mappings
        .iter()
        .find(|m| m.level == Level::Privileged && !m.mutating)
        .map(|m| m.name.clone());
    let bypass_cluster_role = bypass_psp
        .as_deref()
        .and_then(|psp| cluster_roles_granting(model, psp).into_iter().next());
    Plan {
        target_version: version.to_string(),
        psps: mappings,
        workloads,
        namespaces,
        namespace_editors: namespace_editors(model),
        psp_only_rbac: psp_only_rbac(model),
        bypass_psp,
        bypass_cluster_role,
    }
}

fn workload(
    access: &PspGrants,
    object: &Object,
    template: &PodTemplate,
    psps: &[(&str, &PodSecurityPolicy)],
    names: &[String],
    version: &Version,
) -> Workload {
    let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
    let account = template.service_account().to_string();
    let grants = access.of(&namespace, &account);
    let usable_psps = usable(&grants, names);
    // What each usable PSP would do to the pod, and whether it admits the
    // result.
    let mut admitting = Vec::new();
    let mut denied = Vec::new();
    for name in &usable_psps {
        let Some((_, policy)) = psps.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let (meta, mutated, mutations) = mutate(policy, &template.metadata, &template.spec);
        let reasons = denials(policy, &meta, &mutated);
        if reasons.is_empty() {
            admitting.push((*name, (meta, mutated), mutations));
        } else {
            denied.push(Denied {
                psp: name.to_string(),
                reasons,
            });
        }
    }
    let candidates: Vec<(&str, bool)> = admitting
        .iter()
        .map(|(n, _, m)| (*n, !m.is_empty()))
        .collect();
    let psp = chosen(&candidates).map(str::to_string);
    let ((meta, mutated), mutations) = admitting
        .into_iter()
        .find(|(n, _, _)| Some(*n) == psp.as_deref())
        .map(|(_, pod, mutations)| (pod, mutations))
        .unwrap_or_else(|| {
            (
                (template.metadata.clone(), template.spec.clone()),
                Vec::new(),
            )
        });
    let edits: Vec<Edit> = mutations
        .into_iter()
        .map(|m| Edit {
            line: object.pos_nearest(&field_path(template, &m.field)).line,
            field: m.field,
            value: m.value,
        })
        .collect();
    let level_as_written = corral_pss::strictest_level(&template.metadata, &template.spec, version);
    let level_after_patches = corral_pss::strictest_level(&meta, &mutated, version);
    let file = object.file.trim_start_matches("./").to_string();
    let patch = (!edits.is_empty()).then(|| Patch {
        file: file.clone(),
        line: edits
            .iter()
            .map(|e| e.line)
            .min()
            .unwrap_or(object.pos.line),
        yaml: patch(object, template, &meta, &mutated, &edits),
    });
    Workload {
        kind: object.kind.clone(),
        name: object.name.clone().unwrap_or_default(),
        line: object.pos.line,
        file,
        service_account: account,
        usable_psps: usable_psps.iter().map(|s| s.to_string()).collect(),
        grants,
        psp,
        denied,
        relies_on_mutation: level_after_patches > level_as_written,
        level_as_written,
        level_after_patches,
        mutations: edits,
        patch,
        namespace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::model::TemplatePaths;
    use corral_core::{load_bytes, Limits};
    use std::sync::Arc;

    fn model(yaml: &str) -> Model {
        let name: Arc<str> = Arc::from("cluster.yaml");
        let (objects, diagnostics) =
            load_bytes(&name, yaml.as_bytes(), &Limits::default(), &|_| {});
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        Model::build(objects, &TemplatePaths::default()).0
    }

    const PSP: &str = "apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: restricted}
spec:
  requiredDropCapabilities: [ALL]
  runAsUser: {rule: MustRunAsNonRoot}
  seLinux: {rule: RunAsAny}
  supplementalGroups: {rule: RunAsAny}
  fsGroup: {rule: RunAsAny}
  volumes: ['*']
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: all}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: psp-all}
subjects: [{kind: Group, name: 'system:authenticated'}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: psp-all}
rules: [{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}]
";

    #[test]
    fn a_snapshot_plans_controllers_not_the_pods_they_own() {
        let yaml = format!(
            "{PSP}---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {{name: web-1, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: web}}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1-abcde
  namespace: shop
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: u, controller: true}}]
spec: {{containers: [{{name: web, image: web}}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: orphan-xyz
  namespace: shop
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: gone, uid: u, controller: true}}]
spec: {{containers: [{{name: orphan, image: orphan}}]}}
"
        );
        let plan = plan(&model(&yaml), &Version::Latest);
        let names: Vec<(&str, &str)> = plan
            .workloads
            .iter()
            .map(|w| (w.kind.as_str(), w.name.as_str()))
            .collect();
        assert_eq!(names, [("Pod", "orphan-xyz"), ("ReplicaSet", "web-1")]);
    }

    #[test]
    fn a_bare_pod_is_patched_at_its_root() {
        let yaml = format!(
            "{PSP}---
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: ops
spec:
  containers:
    - name: shell
      image: busybox
"
        );
        let plan = plan(&model(&yaml), &Version::Minor(30));
        let pod = &plan.workloads[0];
        assert_eq!(pod.psp.as_deref(), Some("restricted"));
        let patch = pod.patch.as_ref().unwrap();
        // The container's line: where its securityContext goes.
        assert_eq!((patch.file.as_str(), patch.line), ("cluster.yaml", 30));
        assert_eq!(
            patch.yaml,
            "apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: ops
spec:
  containers:
    - name: shell
      securityContext:
        capabilities:
          drop:
            - ALL
        runAsNonRoot: true
"
        );
        let ops = &plan.namespaces[0];
        assert_eq!(
            ops.labels["pod-security.kubernetes.io/enforce-version"],
            "v1.30"
        );
    }

    #[test]
    fn controls_are_lost_only_where_psa_allows_more() {
        // Baseline has no opinion on dropping capabilities: only a
        // restricted-level drop is lost at baseline or below.
        assert!(looser_at(
            "spec.requiredDropCapabilities",
            Level::Restricted,
            Level::Baseline
        ));
        assert!(!looser_at(
            "spec.requiredDropCapabilities",
            Level::Baseline,
            Level::Privileged
        ));
        // Host namespaces are the same at baseline and restricted.
        assert!(!looser_at(
            "spec.hostNetwork",
            Level::Restricted,
            Level::Baseline
        ));
        assert!(looser_at(
            "spec.hostNetwork",
            Level::Restricted,
            Level::Privileged
        ));
        assert!(!looser_at(
            "spec.volumes",
            Level::Restricted,
            Level::Restricted
        ));
        assert!(!looser_at(
            "spec.defaultAddCapabilities",
            Level::Restricted,
            Level::Privileged
        ));
    }
}
