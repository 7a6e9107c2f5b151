//! The typed model over loaded objects: `k8s-openapi` types where they exist,
//! our own where they do not (PodSecurityPolicy, removed in v1.25), and every
//! pod-bearing kind resolved to its pod template.

pub mod defaults;
pub mod lean;
pub mod psp;
pub mod runtime;
pub mod selector;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::de::{decode, DecodeError};
use crate::diagnostic::Diagnostic;
use crate::node::Node;
use crate::object::Object;
use lean::LeanTemplate;

/// Where custom resources keep an embedded pod template. Each path is tried
/// on objects of kinds not known to embed one at a fixed path; the first
/// that holds a mapping with `spec.containers` is taken.
#[derive(Clone, Debug)]
pub struct TemplatePaths(pub Vec<String>);

impl Default for TemplatePaths {
    fn default() -> Self {
        // Argo Rollouts, OpenKruise, Knative and most operators use
        // `spec.template`; CronJob-like resources use a job template.
        TemplatePaths(vec![
            "spec.template".into(),
            "spec.jobTemplate.spec.template".into(),
        ])
    }
}

/// The path of the pod template inside a built-in pod-bearing kind, `""` for
/// a Pod itself. `None` for kinds that carry no pod template.
pub fn builtin_template_path(group: &str, kind: &str) -> Option<&'static str> {
    match (group, kind) {
        ("", "Pod") => Some(""),
        ("", "PodTemplate") => Some("template"),
        ("", "ReplicationController") => Some("spec.template"),
        ("apps" | "extensions", "ReplicaSet" | "Deployment" | "DaemonSet") => Some("spec.template"),
        ("apps", "StatefulSet") => Some("spec.template"),
        ("batch", "Job") => Some("spec.template"),
        ("batch", "CronJob") => Some("spec.jobTemplate.spec.template"),
        _ => None,
    }
}

fn is_builtin_group(group: &str) -> bool {
    group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io")
}

/// A pod template found in an object, with the template's own metadata.
#[derive(Clone, Debug)]
pub struct PodTemplate {
    /// Dotted path from the object root to the template (`""` for a Pod).
    pub path: String,
    pub metadata: ObjectMeta,
    pub spec: core::PodSpec,
}

impl PodTemplate {
    /// The path to a field of the template's pod spec, for positions:
    /// `spec.template` + `containers[1]` → `spec.template.spec.containers[1]`.
    pub fn spec_path(&self, field: &str) -> String {
        spec_path(&self.path, field)
    }

    /// The path to a field of the template's metadata:
    /// `spec.template` + `labels` → `spec.template.metadata.labels`.
    pub fn metadata_path(&self, field: &str) -> String {
        metadata_path(&self.path, field)
    }

    /// The service account its pods run as: the one named, or `default`.
    pub fn service_account(&self) -> &str {
        service_account(self.spec.service_account_name.as_deref())
    }
}

fn spec_path(template: &str, field: &str) -> String {
    match (template.is_empty(), field.is_empty()) {
        (true, true) => "spec".into(),
        (true, false) => format!("spec.{field}"),
        (false, true) => format!("{template}.spec"),
        (false, false) => format!("{template}.spec.{field}"),
    }
}

fn metadata_path(template: &str, field: &str) -> String {
    if template.is_empty() {
        format!("metadata.{field}")
    } else {
        format!("{template}.metadata.{field}")
    }
}

/// Where a pod template at `template` (its path in `object`) names its
/// account: `serviceAccountName`, or the deprecated alias `serviceAccount`
/// when only that is written (the model holds the name the API server
/// converts it to). A path from the object's root.
pub fn service_account_field(object: &Object, template: &str) -> String {
    let written = |field: &str| {
        object
            .root
            .at(&spec_path(template, field))
            .and_then(|n| n.as_str())
            .is_some_and(|name| !name.is_empty())
    };
    let field = if !written("serviceAccountName") && written("serviceAccount") {
        "serviceAccount"
    } else {
        "serviceAccountName"
    };
    spec_path(template, field)
}

fn service_account(named: Option<&str>) -> &str {
    named.filter(|a| !a.is_empty()).unwrap_or("default")
}

/// How much of each pod template [`Model::build_as`] decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Templates {
    /// `k8s-openapi`'s `PodSpec`, for every analysis.
    Full,
    /// [`LeanTemplate`]: what the attack graph reads, in a tenth of the
    /// memory.
    Lean,
}

/// A lean template: borrowed from a model decoded lean, or converted from
/// a full one. A pointer either way, so a list of 150,000 stays small.
pub enum LeanRef<'a> {
    Borrowed(&'a LeanTemplate),
    Converted(Box<LeanTemplate>),
}

impl std::ops::Deref for LeanRef<'_> {
    type Target = LeanTemplate;

    fn deref(&self) -> &LeanTemplate {
        match self {
            LeanRef::Borrowed(template) => template,
            LeanRef::Converted(template) => template,
        }
    }
}

/// Find the pod template path of an object, if it bears pods.
pub fn template_path(object: &Object, paths: &TemplatePaths) -> Option<String> {
    if let Some(path) = builtin_template_path(object.group(), &object.kind) {
        return Some(path.to_string());
    }
    if is_builtin_group(object.group()) {
        return None;
    }
    paths
        .0
        .iter()
        .find(|path| {
            object
                .root
                .at(path)
                .and_then(|t| t.at("spec.containers"))
                .is_some_and(|c| c.items().is_some())
        })
        .cloned()
}

/// A pod template; a null `metadata` or `spec` is empty, as the API server
/// reads it.
#[derive(Deserialize)]
struct TemplateShape {
    #[serde(default, deserialize_with = "null_as_default")]
    metadata: ObjectMeta,
    #[serde(default, deserialize_with = "null_as_default")]
    spec: core::PodSpec,
}

fn null_as_default<'de, D: serde::Deserializer<'de>, T: Deserialize<'de> + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// A loaded object decoded into the model.
#[derive(Clone, Debug)]
pub enum Resource {
    Workload(Box<PodTemplate>),
    /// A pod-bearing object decoded as [`Templates::Lean`].
    LeanWorkload(Box<LeanTemplate>),
    Role(Box<rbac::Role>),
    ClusterRole(Box<rbac::ClusterRole>),
    RoleBinding(Box<rbac::RoleBinding>),
    ClusterRoleBinding(Box<rbac::ClusterRoleBinding>),
    ServiceAccount(Box<core::ServiceAccount>),
    Service(Box<core::Service>),
    EndpointSlice(Box<EndpointSlice>),
    NetworkPolicy(Box<NetworkPolicy>),
    Namespace(Box<core::Namespace>),
    Node(Box<core::Node>),
    Secret(Box<SecretInfo>),
    ConfigMap(Box<core::ConfigMap>),
    PodSecurityPolicy(Box<psp::PodSecurityPolicy>),
    /// Any other kind: only its identity and fields are kept.
    Other,
}

/// A Secret without its values: checks need its type and key names only.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SecretInfo {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
    #[serde(skip)]
    pub keys: Vec<String>,
}

impl Resource {
    /// The service account a pod-bearing resource's pods run as.
    pub fn service_account(&self) -> Option<&str> {
        match self {
            Resource::Workload(t) => Some(t.service_account()),
            Resource::LeanWorkload(t) => Some(t.service_account()),
            _ => None,
        }
    }

    pub fn decode(object: &Object, paths: &TemplatePaths) -> Result<Resource, DecodeError> {
        Resource::decode_as(object, paths, Templates::Full)
    }

    pub fn decode_as(
        object: &Object,
        paths: &TemplatePaths,
        templates: Templates,
    ) -> Result<Resource, DecodeError> {
        fn boxed<T: DeserializeOwned>(node: &Node) -> Result<Box<T>, DecodeError> {
            decode(node).map(Box::new)
        }
        if let Some(path) = template_path(object, paths) {
            let node = if path.is_empty() {
                Some(&object.root)
            } else {
                object.root.at(&path)
            };
            let shape: TemplateShape = match node {
                Some(node) => decode(node)?,
                None => TemplateShape {
                    metadata: ObjectMeta::default(),
                    spec: core::PodSpec::default(),
                },
            };
            let mut template = PodTemplate {
                path,
                metadata: shape.metadata,
                spec: shape.spec,
            };
            // Every analysis judges the pod the API server stores.
            defaults::apply(&mut template.spec);
            return Ok(match templates {
                Templates::Full => Resource::Workload(Box::new(template)),
                Templates::Lean => Resource::LeanWorkload(Box::new((&template).into())),
            });
        }
        let root = &object.root;
        Ok(match (object.group(), object.kind.as_str()) {
            ("rbac.authorization.k8s.io", "Role") => Resource::Role(boxed(root)?),
            ("rbac.authorization.k8s.io", "ClusterRole") => Resource::ClusterRole(boxed(root)?),
            ("rbac.authorization.k8s.io", "RoleBinding") => Resource::RoleBinding(boxed(root)?),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
                Resource::ClusterRoleBinding(boxed(root)?)
            }
            ("", "ServiceAccount") => Resource::ServiceAccount(boxed(root)?),
            ("", "Service") => Resource::Service(boxed(root)?),
            ("discovery.k8s.io", "EndpointSlice") => Resource::EndpointSlice(boxed(root)?),
            ("networking.k8s.io" | "extensions", "NetworkPolicy") => {
                Resource::NetworkPolicy(boxed(root)?)
            }
            ("", "Namespace") => Resource::Namespace(boxed(root)?),
            ("", "Node") => Resource::Node(boxed(root)?),
            ("", "Secret") => {
                let mut secret: Box<SecretInfo> = boxed(root)?;
                secret.keys = ["data", "stringData"]
                    .iter()
                    .filter_map(|field| root.get(field)?.entries())
                    .flatten()
                    .map(|e| e.key.to_string())
                    .collect();
                secret.keys.sort();
                secret.keys.dedup();
                Resource::Secret(secret)
            }
            ("", "ConfigMap") => Resource::ConfigMap(boxed(root)?),
            ("policy" | "extensions", "PodSecurityPolicy") => {
                Resource::PodSecurityPolicy(boxed(root)?)
            }
            _ => Resource::Other,
        })
    }
}

/// Loaded objects with their decoded resources, index for index.
pub struct Model {
    pub objects: Vec<Object>,
    pub resources: Vec<Resource>,
}

impl Model {
    /// Decode every object; an object that does not decode becomes `Other`
    /// and yields an error at the offending value.
    pub fn build(objects: Vec<Object>, paths: &TemplatePaths) -> (Model, Vec<Diagnostic>) {
        Model::build_as(objects, paths, Templates::Full)
    }

    /// The model of objects already in memory (an API server's answers,
    /// with their apiVersion and kind), placed as `file` holding them in a
    /// `v1 List` would place them (see [`crate::values`]).
    pub fn from_values(
        file: &std::sync::Arc<str>,
        items: &[serde_json::Value],
        paths: &TemplatePaths,
    ) -> (Model, Vec<Diagnostic>) {
        let (objects, mut diagnostics) = crate::values::objects_from_values(file, items);
        let (model, more) = Model::build(objects, paths);
        diagnostics.extend(more);
        (model, diagnostics)
    }

    /// [`Model::build`], decoding pod templates as `templates` says.
    pub fn build_as(
        objects: Vec<Object>,
        paths: &TemplatePaths,
        templates: Templates,
    ) -> (Model, Vec<Diagnostic>) {
        let decoded: Vec<Result<Resource, Diagnostic>> = objects
            .par_iter()
            .map(|object| {
                Resource::decode_as(object, paths, templates).map_err(|e| {
                    Diagnostic::error(
                        &object.file,
                        Some(e.pos.unwrap_or(object.pos)),
                        format!("{} {}: {}", object.kind, display_name(object), e.message),
                    )
                })
            })
            .collect();
        let mut diagnostics = Vec::new();
        let mut resources: Vec<Resource> = decoded
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|d| {
                    diagnostics.push(d);
                    Resource::Other
                })
            })
            .collect();
        defaults::apply_limit_ranges(&objects, &mut resources);
        (Model { objects, resources }, diagnostics)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Object, &Resource)> {
        self.objects.iter().zip(&self.resources)
    }

    pub fn workloads(&self) -> impl Iterator<Item = (&Object, &PodTemplate)> {
        self.iter().filter_map(|(o, r)| match r {
            Resource::Workload(t) => Some((o, t.as_ref())),
            _ => None,
        })
    }

    /// The workloads whose controller the input does not also hold: in a
    /// snapshot, a Pod of a ReplicaSet, or a Job of a CronJob, stands for
    /// its controller's template, which is the one to analyse and fix.
    pub fn top_workloads(&self) -> Vec<(&Object, &PodTemplate)> {
        self.top(self.workloads())
    }

    /// [`Model::top_workloads`] as the attack graph reads them, however they
    /// were decoded.
    pub fn top_lean_workloads(&self) -> Vec<(&Object, LeanRef<'_>)> {
        self.top(self.iter().filter_map(|(o, r)| match r {
            Resource::Workload(t) => Some((o, LeanRef::Converted(Box::new(t.as_ref().into())))),
            Resource::LeanWorkload(t) => Some((o, LeanRef::Borrowed(t.as_ref()))),
            _ => None,
        }))
    }

    fn top<'a, T>(
        &'a self,
        workloads: impl Iterator<Item = (&'a Object, T)>,
    ) -> Vec<(&'a Object, T)> {
        // Who is present is asked only of workloads that name a controller
        // (few, outside snapshots): the set is made then, once.
        let present: std::cell::OnceCell<std::collections::HashSet<(&str, &str, &str)>> =
            std::cell::OnceCell::new();
        let present = || {
            present.get_or_init(|| {
                self.iter()
                    .map(|(o, _)| {
                        (
                            o.namespace.as_deref().unwrap_or("default"),
                            o.kind.as_str(),
                            o.name.as_deref().unwrap_or(""),
                        )
                    })
                    .collect()
            })
        };
        workloads
            .filter(|(object, _)| {
                let namespace = object.namespace.as_deref().unwrap_or("default");
                !object
                    .root
                    .at("metadata.ownerReferences")
                    .and_then(|o| o.items())
                    .unwrap_or_default()
                    .iter()
                    .filter(|o| o.get("controller").and_then(|c| c.as_bool()) == Some(true))
                    .any(|o| {
                        let field = |k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or("");
                        present().contains(&(namespace, field("kind"), field("name")))
                    })
            })
            .collect()
    }
}

/// Which pods are given their service account's token: the pod's
/// `automountServiceAccountToken` when it sets one, else its account's,
/// else they are.
pub struct TokenMounts(
    /// The accounts that opt out, by namespace (asked with `&str`s).
    std::collections::HashMap<String, std::collections::HashSet<String>>,
);

impl TokenMounts {
    /// The accounts of `model` that opt out (by namespace and name).
    pub fn of(model: &Model) -> TokenMounts {
        let mut out = TokenMounts(Default::default());
        for (object, resource) in model.iter() {
            if let (Resource::ServiceAccount(account), Some(name)) = (resource, &object.name) {
                if account.automount_service_account_token == Some(false) {
                    let namespace = object.namespace.as_deref().unwrap_or("default");
                    out.0
                        .entry(namespace.to_string())
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
        out
    }

    /// Does a pod of `namespace` running as `account`, whose spec sets
    /// `pod` (its `automountServiceAccountToken`), get the token?
    pub fn mounted(&self, namespace: &str, account: &str, pod: Option<bool>) -> bool {
        pod.unwrap_or_else(|| !self.opts_out(namespace, account))
    }

    /// Does the ServiceAccount say `automountServiceAccountToken: false`?
    pub fn opts_out(&self, namespace: &str, account: &str) -> bool {
        self.0
            .get(namespace)
            .is_some_and(|accounts| accounts.contains(account))
    }
}

fn display_name(object: &Object) -> String {
    match (&object.namespace, &object.name) {
        (Some(ns), Some(name)) => format!("{ns}/{name}"),
        (None, Some(name)) => name.clone(),
        _ => "(unnamed)".into(),
    }
}
