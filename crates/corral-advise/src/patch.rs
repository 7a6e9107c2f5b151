//! A workload's advice as a strategic-merge patch: each container's
//! securityContext (and the emptyDir volumes for the directories it writes),
//! pointing at the manifest file and line it changes when the manifests
//! hold the workload.

use corral_core::emit::{self, child, path, string, YamlMapping as Mapping, YamlNode as Yaml};
use corral_core::model::{Model, PodTemplate};
use corral_core::Object;
use serde::Serialize;
use serde_json::{json, Value};

use crate::security_context::{volume_name, Advice};

/// One container's advice, and its seccomp profile's path relative to the
/// kubelet's seccomp directory.
pub struct ContainerAdvice<'a> {
    pub name: &'a str,
    pub advice: &'a Advice,
    pub seccomp_profile: Option<String>,
    /// Why the recording may miss what the container needs.
    pub warnings: &'a [String],
}

#[derive(Clone, Debug, Serialize)]
pub struct Patch {
    /// Where the workload is written, when the manifests hold it.
    pub file: Option<String>,
    /// The first container's line.
    pub line: Option<u32>,
    pub yaml: String,
}

/// The securityContext for one container.
pub fn security_context(container: &ContainerAdvice) -> Value {
    let a = container.advice;
    let mut context = serde_json::Map::new();
    context.insert(
        "allowPrivilegeEscalation".into(),
        json!(a.allow_privilege_escalation),
    );
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("drop".into(), json!(["ALL"]));
    if !a.capabilities.is_empty() {
        capabilities.insert("add".into(), json!(a.capabilities));
    }
    context.insert("capabilities".into(), Value::Object(capabilities));
    context.insert(
        "readOnlyRootFilesystem".into(),
        json!(a.read_only_root_filesystem),
    );
    if a.run_as_non_root {
        context.insert("runAsNonRoot".into(), json!(true));
    }
    if let Some(uid) = a.run_as_user {
        context.insert("runAsUser".into(), json!(uid));
    }
    if let Some(gid) = a.run_as_group {
        context.insert("runAsGroup".into(), json!(gid));
    }
    if let Some(profile) = &container.seccomp_profile {
        context.insert(
            "seccompProfile".into(),
            json!({"type": "Localhost", "localhostProfile": profile}),
        );
    }
    Value::Object(context)
}

/// The workload object and template in `model`, by namespace and name.
fn find<'a>(
    model: &'a Model,
    namespace: &str,
    name: &str,
) -> Option<(&'a Object, &'a PodTemplate)> {
    model.workloads().find(|(o, _)| {
        o.name.as_deref() == Some(name) && o.namespace.as_deref().unwrap_or("default") == namespace
    })
}

/// The patch for a workload's containers.
pub fn workload_patch(
    model: Option<&Model>,
    namespace: &str,
    workload: &str,
    containers: &[ContainerAdvice],
) -> Patch {
    let found = model.and_then(|m| find(m, namespace, workload));
    let mut root = Mapping::new();
    let template_path = match found {
        Some((object, template)) => {
            root.insert(string("apiVersion"), string(&object.api_version));
            root.insert(string("kind"), string(&object.kind));
            template.path.clone()
        }
        // Not in the manifests: the pod template of a Deployment, the
        // most common case; the kind is the user's to check.
        None => {
            root.insert(string("apiVersion"), string("apps/v1"));
            root.insert(string("kind"), string("Deployment"));
            "spec.template".into()
        }
    };
    let metadata = child(&mut root, "metadata");
    metadata.insert(string("name"), string(workload));
    metadata.insert(string("namespace"), string(namespace));

    let mut volumes = Vec::new();
    let mut items = Vec::new();
    for c in containers {
        let mut item = serde_json::Map::new();
        item.insert("name".into(), json!(c.name));
        item.insert("securityContext".into(), security_context(c));
        let mounts: Vec<Value> = c
            .advice
            .writable_directories
            .iter()
            .map(|d| json!({"name": volume_name(d), "mountPath": d}))
            .collect();
        for d in &c.advice.writable_directories {
            let volume = json!({"name": volume_name(d), "emptyDir": {}});
            if !volumes.contains(&volume) {
                volumes.push(volume);
            }
        }
        if !mounts.is_empty() {
            item.insert("volumeMounts".into(), Value::Array(mounts));
        }
        items.push(Value::Object(item));
    }
    let spec = path(&mut root, &format!("{template_path}.spec"));
    spec.insert(string("containers"), emit::from_json(&Value::Array(items)));
    if !volumes.is_empty() {
        spec.insert(string("volumes"), emit::from_json(&Value::Array(volumes)));
    }

    let (file, line) = match found {
        Some((object, template)) => {
            let index = template
                .spec
                .containers
                .iter()
                .position(|c| containers.first().is_some_and(|a| a.name == c.name))
                .unwrap_or(0);
            let pos = object.pos_nearest(&template.spec_path(&format!("containers[{index}]")));
            (
                Some(object.file.trim_start_matches("./").to_string()),
                Some(pos.line),
            )
        }
        None => (None, None),
    };
    Patch {
        file,
        line,
        yaml: emit::document(&Yaml::Mapping(root)),
    }
}
