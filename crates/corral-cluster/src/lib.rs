//! Corral's live-cluster client: `corral snapshot` and `--cluster`. With
//! kube-rs and the user's kubeconfig (or the in-cluster service account),
//! it lists every kind Corral's commands read, page by page and kinds in
//! parallel, and returns them as one `v1 List` that every command takes as
//! input. What cannot be read is skipped with a warning that says why: a
//! forbidden kind names the RBAC verb and resource missing, an API group
//! the server does not serve is noted. A stale `continue` token (410 Gone)
//! restarts that list; throttling (429 with Retry-After) and 503/504 are
//! retried by kube-rs's retry layer.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;

/// Where the cluster is and how far to look.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// A kubeconfig file; otherwise `KUBECONFIG` or `~/.kube/config`, and
    /// in a pod the in-cluster service account.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context; otherwise its current one.
    pub context: Option<String>,
    /// Namespaced kinds only in this namespace; otherwise in all.
    pub namespace: Option<String>,
    /// Each request's limit; kube-rs's default otherwise.
    pub timeout: Option<Duration>,
}

/// One kind to list: its API group, version, kind, plural, and whether it
/// is namespaced.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Kind {
    Kind {
        group,
        version,
        kind,
        plural,
        namespaced,
    }
}

/// Every kind Corral's commands read. Secrets are listed for their names
/// and types only (their data is dropped here, never written); the
/// `aws-auth` ConfigMap is read by name.
pub const KINDS: &[Kind] = &[
    kind("", "v1", "Namespace", "namespaces", false),
    kind("", "v1", "Node", "nodes", false),
    kind("", "v1", "Pod", "pods", true),
    kind(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
    ),
    kind("", "v1", "ServiceAccount", "serviceaccounts", true),
    kind("", "v1", "Service", "services", true),
    kind("", "v1", "Secret", "secrets", true),
    kind("apps", "v1", "Deployment", "deployments", true),
    kind("apps", "v1", "DaemonSet", "daemonsets", true),
    kind("apps", "v1", "StatefulSet", "statefulsets", true),
    kind("apps", "v1", "ReplicaSet", "replicasets", true),
    kind("batch", "v1", "Job", "jobs", true),
    kind("batch", "v1", "CronJob", "cronjobs", true),
    kind("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    kind(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    kind(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
    ),
    kind(
        "policy",
        "v1beta1",
        "PodSecurityPolicy",
        "podsecuritypolicies",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    kind(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        false,
    ),
    kind(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
];

/// Where a custom resource's schema holds a pod template, as Corral's
/// model reads them by default (`spec.template`, and a CronJob-like
/// `spec.jobTemplate.spec.template`).
const TEMPLATE_SCHEMAS: [&[&str]; 2] = [
    &["spec", "template", "spec", "containers"],
    &[
        "spec",
        "jobTemplate",
        "spec",
        "template",
        "spec",
        "containers",
    ],
];

/// Objects listed at a time.
const PAGE: u32 = 500;
/// Kinds listed at once.
const PARALLEL: usize = 8;
/// Restarts of one list after its continue token expired (410 Gone).
const RESTARTS: usize = 3;

/// What the snapshot holds, and what could not be read.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every object, with its apiVersion and kind, sorted by kind (in
    /// `KINDS` order), namespace and name.
    pub objects: Vec<Value>,
    /// Kinds skipped, and why, in `KINDS` order.
    pub warnings: Vec<String>,
}

impl Snapshot {
    /// The snapshot as one `v1 List`, the shape `kubectl get -o json`
    /// writes.
    pub fn list(&self) -> Value {
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": self.objects})
    }
}

/// Why the cluster could not be reached at all.
#[derive(Debug)]
pub struct ClusterError(pub String);

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client as kubectl would build one: the kubeconfig (file, context),
/// or, with none, the pod's in-cluster service account.
pub async fn client(target: &Target) -> Result<Client, ClusterError> {
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..KubeConfigOptions::default()
    };
    let mut config = match &target.kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| ClusterError(format!("{}: {e}", path.display())))?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| ClusterError(format!("{}: {e}", path.display())))?
        }
        None if target.context.is_some() => Config::from_kubeconfig(&options)
            .await
            .map_err(|e| ClusterError(format!("kubeconfig: {e}")))?,
        None => Config::infer().await.map_err(|e| {
            ClusterError(format!(
                "no kubeconfig (KUBECONFIG or ~/.kube/config) and not in a pod: {e}"
            ))
        })?,
    };
    if let Some(timeout) = target.timeout {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
    }
    Client::try_from(config).map_err(|e| ClusterError(format!("cluster client: {e}")))
}

/// The API resource of a kind, for kube-rs's dynamic API.
fn resource(kind: &Kind) -> ApiResource {
    let api_version = if kind.group.is_empty() {
        kind.version.to_string()
    } else {
        format!("{}/{}", kind.group, kind.version)
    };
    ApiResource {
        group: kind.group.into(),
        version: kind.version.into(),
        api_version,
        kind: kind.kind.into(),
        plural: kind.plural.into(),
    }
}

/// The warning for a kind that could not be listed.
fn skipped(resource: &ApiResource, scope: &str, error: &kube::Error) -> String {
    let name = if resource.group.is_empty() {
        resource.plural.clone()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    };
    match error {
        kube::Error::Api(status) if status.code == 403 => format!(
            "{} skipped: forbidden; Corral needs `list` on {name} {scope} ({})",
            resource.kind, status.message
        ),
        kube::Error::Api(status) if status.code == 404 => format!(
            "{} skipped: the server does not serve {}/{} (not installed, or removed in this Kubernetes version)",
            resource.kind,
            if resource.group.is_empty() { "core" } else { &resource.group },
            resource.version
        ),
        other => format!("{} skipped: {other}", resource.kind),
    }
}

/// Every object of one kind, page by page; a list whose continue token
/// expired (410 Gone) starts again.
async fn list_all(api: &Api<DynamicObject>) -> Result<Vec<DynamicObject>, kube::Error> {
    let mut restarts = 0;
    'restart: loop {
        let mut items = Vec::new();
        let mut params = ListParams::default().limit(PAGE);
        loop {
            match api.list(&params).await {
                Ok(page) => {
                    items.extend(page.items);
                    match page.metadata.continue_.filter(|c| !c.is_empty()) {
                        Some(token) => params = params.continue_token(&token),
                        None => return Ok(items),
                    }
                }
                Err(kube::Error::Api(status)) if status.code == 410 && restarts < RESTARTS => {
                    restarts += 1;
                    continue 'restart;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// An object as a manifest: its type set (lists leave it out), managed
/// fields dropped, and a Secret's data never kept.
fn manifest(resource: &ApiResource, object: DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    let secret = resource.kind == "Secret" && resource.group.is_empty();
    if let Value::Object(map) = &mut value {
        map.insert(
            "apiVersion".into(),
            Value::String(resource.api_version.clone()),
        );
        map.insert("kind".into(), Value::String(resource.kind.clone()));
        if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
            metadata.remove("managedFields");
            if secret {
                // The last applied configuration holds the data too.
                if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
                    annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
                }
            }
        }
        if secret {
            map.remove("data");
            map.remove("stringData");
        }
    }
    value
}

/// Every object of one resource, sorted by namespace and name, as
/// manifests.
async fn read(api: &Api<DynamicObject>, resource: &ApiResource) -> Result<Vec<Value>, kube::Error> {
    let mut objects: Vec<Value> = list_all(api)
        .await?
        .into_iter()
        .map(|o| manifest(resource, o))
        .collect();
    objects.sort_by_key(sort_key);
    Ok(objects)
}

fn sort_key(value: &Value) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    (
        text(&value["metadata"]["namespace"]),
        text(&value["metadata"]["name"]),
    )
}

/// The custom resources with a pod template that the cluster's CRDs
/// define: for each, its served version whose OpenAPI schema has one
/// (the storage version first).
fn templated_resources(crds: &[Value]) -> Vec<(ApiResource, bool)> {
    let mut found = Vec::new();
    for crd in crds {
        let spec = &crd["spec"];
        let (Some(group), Some(kind), Some(plural)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
        ) else {
            continue;
        };
        let mut versions: Vec<&Value> = spec["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["served"] == true)
            .collect();
        versions.sort_by_key(|v| v["storage"] != true);
        let templated = versions.into_iter().find(|v| {
            TEMPLATE_SCHEMAS.iter().any(|path| {
                path.iter()
                    .try_fold(&v["schema"]["openAPIV3Schema"], |schema, key| {
                        let next = &schema["properties"][*key];
                        (!next.is_null()).then_some(next)
                    })
                    .is_some()
            })
        });
        if let Some(version) = templated.and_then(|v| v["name"].as_str()) {
            let resource = ApiResource {
                group: group.into(),
                version: version.into(),
                api_version: format!("{group}/{version}"),
                kind: kind.into(),
                plural: plural.into(),
            };
            found.push((resource, spec["scope"] == "Namespaced"));
        }
    }
    found
}

/// The aws-auth ConfigMap (EKS), read by name: `None` when there is none.
async fn aws_auth(client: &Client) -> Result<Option<Value>, String> {
    let resource = resource(&kind("", "v1", "ConfigMap", "configmaps", true));
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "kube-system", &resource);
    match api.get_opt("aws-auth").await {
        Ok(found) => Ok(found.map(|object| manifest(&resource, object))),
        Err(e) => {
            Err(skipped(&resource, "for aws-auth in kube-system", &e)
                .replacen("`list`", "`get`", 1))
        }
    }
}

/// The API for a resource: in the target's namespace when it is
/// namespaced and one is given, else everywhere.
fn api_for(
    client: &Client,
    target: &Target,
    resource: &ApiResource,
    namespaced: bool,
) -> Api<DynamicObject> {
    match (&target.namespace, namespaced) {
        (Some(ns), true) => Api::namespaced_with(client.clone(), ns, resource),
        _ => Api::all_with(client.clone(), resource),
    }
}

/// Snapshot the cluster: every kind in `KINDS` (namespaced ones in
/// `target.namespace` when given) and the aws-auth ConfigMap. `progress`
/// is called as each kind is done, with its name. Fails only when the API
/// server cannot be reached at all.
pub async fn snapshot(
    client: &Client,
    target: &Target,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Snapshot, ClusterError> {
    let scope = match &target.namespace {
        Some(ns) => format!("in namespace {ns}"),
        None => "cluster-wide".to_string(),
    };
    // By index: a `&'static Kind` keeps the future `Send` for any caller
    // (the operator's controller needs it).
    let lists = stream::iter(0..KINDS.len())
        .map(|index| {
            let kind: &'static Kind = &KINDS[index];
            let resource = resource(kind);
            let api = api_for(client, target, &resource, kind.namespaced);
            async move {
                let listed = read(&api, &resource).await;
                progress(kind.kind);
                (index, kind, resource, listed)
            }
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;
    let mut lists = lists;
    lists.sort_by_key(|(index, _, _, _)| *index);
    let mut snapshot = Snapshot::default();
    let mut unreachable = 0;
    let in_scope = |namespaced: bool| {
        if namespaced {
            scope.as_str()
        } else {
            "cluster-wide"
        }
    };
    for (_, kind, resource, listed) in lists {
        match listed {
            Ok(objects) => snapshot.objects.extend(objects),
            Err(e) => {
                if !matches!(e, kube::Error::Api(_)) {
                    unreachable += 1;
                }
                snapshot
                    .warnings
                    .push(skipped(&resource, in_scope(kind.namespaced), &e));
            }
        }
    }
    if unreachable == KINDS.len() {
        return Err(ClusterError(format!(
            "the API server could not be reached: {}",
            snapshot.warnings.first().cloned().unwrap_or_default()
        )));
    }
    // Custom resources with pod templates, found from their definitions.
    let crds: Vec<Value> = snapshot
        .objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .cloned()
        .collect();
    for (resource, namespaced) in templated_resources(&crds) {
        let api = api_for(client, target, &resource, namespaced);
        match read(&api, &resource).await {
            Ok(objects) => snapshot.objects.extend(objects),
            Err(e) => snapshot
                .warnings
                .push(skipped(&resource, in_scope(namespaced), &e)),
        }
    }
    match aws_auth(client).await {
        Ok(Some(map)) => snapshot.objects.push(map),
        Ok(None) => {}
        Err(warning) => snapshot.warnings.push(warning),
    }
    progress("ConfigMap");
    Ok(snapshot)
}

/// The async runtime the cluster's client runs on, for synchronous
/// callers.
pub fn runtime() -> Result<tokio::runtime::Runtime, ClusterError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError(format!("async runtime: {e}")))
}

/// `snapshot` from synchronous code: its own runtime.
pub fn snapshot_blocking(
    target: &Target,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Snapshot, ClusterError> {
    runtime()?.block_on(async {
        let client = client(target).await?;
        snapshot(&client, target, progress).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_keep_their_names_and_types_only() {
        let kind = KINDS.iter().find(|k| k.kind == "Secret").unwrap();
        let object: DynamicObject = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db", "namespace": "shop", "managedFields": [{}],
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
            "type": "Opaque",
            "data": {"password": "aHVudGVyMg=="}
        }))
        .unwrap();
        let value = manifest(&resource(kind), object);
        assert_eq!(value["apiVersion"], "v1");
        assert_eq!(value["kind"], "Secret");
        assert_eq!(value["type"], "Opaque");
        assert_eq!(value["metadata"]["name"], "db");
        assert!(value.get("data").is_none());
        assert!(value["metadata"].get("managedFields").is_none());
        assert!(!value.to_string().contains("aHVudGVyMg=="));
    }

    #[test]
    fn warnings_name_what_is_missing() {
        let kind = KINDS.iter().find(|k| k.kind == "Role").unwrap();
        let status = |code: u16| {
            kube::Error::Api(Box::new(kube::core::Status {
                code,
                message: "denied".into(),
                ..kube::core::Status::default()
            }))
        };
        assert_eq!(
            skipped(&resource(kind), "cluster-wide", &status(403)),
            "Role skipped: forbidden; Corral needs `list` on roles.rbac.authorization.k8s.io cluster-wide (denied)"
        );
        assert!(skipped(&resource(kind), "cluster-wide", &status(404))
            .contains("does not serve rbac.authorization.k8s.io/v1"));
    }
}
