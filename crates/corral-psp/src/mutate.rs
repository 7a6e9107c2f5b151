//! What a PodSecurityPolicy injected into a pod it admitted: each mutating
//! field's default, applied where the pod left the field unset, as the PSP
//! admission plugin did. A workload that meets a Pod Security Standards
//! level only after these mutations relies on the PSP: without it, its
//! pods lose them (and break, or run weaker).

use corral_core::model::psp::{IdStrategyOptions, PodSecurityPolicy};
use k8s_openapi::api::core::v1::{
    AppArmorProfile, Capabilities, Container, PodSecurityContext, PodSpec, SeccompProfile,
    SecurityContext,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::map::{APPARMOR_DEFAULT, SECCOMP_DEFAULT};

/// The pod annotation that sets a container's AppArmor profile.
pub const APPARMOR_CONTAINER_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn apparmor_name(profile: &AppArmorProfile) -> String {
    match profile.type_.as_str() {
        "RuntimeDefault" => "runtime/default".into(),
        "Unconfined" => "unconfined".into(),
        "Localhost" => format!(
            "localhost/{}",
            profile.localhost_profile.as_deref().unwrap_or("")
        ),
        other => other.to_string(),
    }
}

/// A container's AppArmor profile as PSP annotations name it: its
/// annotation, else its securityContext's field, else the pod's; `None`
/// when none is set.
pub fn apparmor_profile(
    metadata: &ObjectMeta,
    spec: &PodSpec,
    container: &Container,
) -> Option<String> {
    let annotation = metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(&format!("{APPARMOR_CONTAINER_PREFIX}{}", container.name)))
        .filter(|p| !p.is_empty());
    let own = container
        .security_context
        .as_ref()
        .and_then(|s| s.app_armor_profile.as_ref());
    let pod = spec
        .security_context
        .as_ref()
        .and_then(|s| s.app_armor_profile.as_ref());
    annotation
        .cloned()
        .or_else(|| own.or(pod).map(apparmor_name))
}

/// One field the PSP set, relative to the pod spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mutation {
    /// `containers[0].securityContext.runAsNonRoot`, `securityContext.fsGroup`.
    pub field: String,
    /// The value it set, as YAML would write it.
    pub value: String,
}

fn first_id(strategy: &Option<IdStrategyOptions>) -> Option<i64> {
    let strategy = strategy.as_ref().filter(|s| s.rule == "MustRunAs")?;
    strategy.ranges.as_ref()?.first().map(|r| r.min)
}

/// The pod (its metadata and spec) as the PSP left it, and the fields it
/// set: relative to the pod spec, or `metadata.annotations[KEY]`.
pub fn mutate(
    psp: &PodSecurityPolicy,
    metadata: &ObjectMeta,
    spec: &PodSpec,
) -> (ObjectMeta, PodSpec, Vec<Mutation>) {
    let p = &psp.spec;
    let mut pod = spec.clone();
    let mut meta = metadata.clone();
    let mut mutations = Vec::new();
    let mut set = |field: String, value: String| mutations.push(Mutation { field, value });

    // AppArmor: the default profile, as an annotation, for each container
    // that sets none.
    if let Some(default) = psp
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(APPARMOR_DEFAULT))
    {
        let containers = spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers);
        for container in containers {
            if apparmor_profile(metadata, spec, container).is_none() {
                let key = format!("{APPARMOR_CONTAINER_PREFIX}{}", container.name);
                meta.annotations
                    .get_or_insert_with(Default::default)
                    .insert(key.clone(), default.clone());
                set(format!("metadata.annotations[{key}]"), default.clone());
            }
        }
    }

    let pod_context = pod
        .security_context
        .get_or_insert_with(PodSecurityContext::default);
    if let Some(gid) = first_id(&p.fs_group) {
        if pod_context.fs_group.is_none() {
            pod_context.fs_group = Some(gid);
            set("securityContext.fsGroup".into(), gid.to_string());
        }
    }
    if let Some(gid) = first_id(&p.supplemental_groups) {
        if pod_context
            .supplemental_groups
            .as_ref()
            .is_none_or(|g| g.is_empty())
        {
            pod_context.supplemental_groups = Some(vec![gid]);
            set(
                "securityContext.supplementalGroups".into(),
                format!("[{gid}]"),
            );
        }
    }
    if let Some(selinux) = p.se_linux.as_ref().filter(|s| s.rule == "MustRunAs") {
        if let (Some(options), None) = (&selinux.se_linux_options, &pod_context.se_linux_options) {
            pod_context.se_linux_options = Some(options.clone());
            let parts: Vec<String> = [
                ("user", &options.user),
                ("role", &options.role),
                ("type", &options.type_),
                ("level", &options.level),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
            .collect();
            set(
                "securityContext.seLinuxOptions".into(),
                format!("{{{}}}", parts.join(", ")),
            );
        }
    }
    let pod_seccomp = pod_context.seccomp_profile.is_some();
    let pod_non_root = pod_context.run_as_non_root;
    let pod_user = pod_context.run_as_user;
    let seccomp_default = psp
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SECCOMP_DEFAULT))
        .cloned();
    let any_container_seccomp = pod.containers.iter().any(|c| {
        c.security_context
            .as_ref()
            .is_some_and(|s| s.seccomp_profile.is_some())
    });
    if let (Some(default), false, false) = (&seccomp_default, pod_seccomp, any_container_seccomp) {
        let profile = match default.as_str() {
            "runtime/default" | "docker/default" => Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            "unconfined" => Some(SeccompProfile {
                type_: "Unconfined".into(),
                localhost_profile: None,
            }),
            other => other.strip_prefix("localhost/").map(|path| SeccompProfile {
                type_: "Localhost".into(),
                localhost_profile: Some(path.into()),
            }),
        };
        if let Some(profile) = profile {
            set(
                "securityContext.seccompProfile.type".into(),
                profile.type_.clone(),
            );
            pod.security_context
                .get_or_insert_with(PodSecurityContext::default)
                .seccomp_profile = Some(profile);
        }
    }
    if let Some(default) = p
        .runtime_class
        .as_ref()
        .and_then(|r| r.default_runtime_class_name.clone())
    {
        if pod.runtime_class_name.is_none() {
            set("runtimeClassName".into(), default.clone());
            pod.runtime_class_name = Some(default);
        }
    }

    let lists: [(&str, &mut Vec<Container>); 2] = [
        (
            "initContainers",
            pod.init_containers.get_or_insert_with(Vec::new),
        ),
        ("containers", &mut pod.containers),
    ];
    for (list, containers) in lists {
        for (i, container) in containers.iter_mut().enumerate() {
            let at = |field: &str| format!("{list}[{i}].securityContext.{field}");
            let context = container
                .security_context
                .get_or_insert_with(SecurityContext::default);
            let user = context.run_as_user.or(pod_user);
            let rule = p.run_as_user.as_ref().map(|s| s.rule.as_str());
            let unset_non_root = context.run_as_non_root.or(pod_non_root).is_none();
            if rule == Some("MustRunAsNonRoot") && unset_non_root && user.is_none_or(|u| u <= 0) {
                context.run_as_non_root = Some(true);
                set(at("runAsNonRoot"), "true".into());
            }
            if let (Some("MustRunAs"), Some(uid), None) = (rule, first_id(&p.run_as_user), user) {
                context.run_as_user = Some(uid);
                set(at("runAsUser"), uid.to_string());
            }
            if let Some(gid) = first_id(&p.run_as_group) {
                if context.run_as_group.is_none() {
                    context.run_as_group = Some(gid);
                    set(at("runAsGroup"), gid.to_string());
                }
            }
            if p.read_only_root_filesystem == Some(true)
                && context.read_only_root_filesystem.is_none()
            {
                context.read_only_root_filesystem = Some(true);
                set(at("readOnlyRootFilesystem"), "true".into());
            }
            let escalation = match (
                p.default_allow_privilege_escalation,
                p.allow_privilege_escalation,
            ) {
                (Some(default), _) => Some(default),
                (None, Some(false)) => Some(false),
                _ => None,
            };
            if let (Some(value), None) = (escalation, context.allow_privilege_escalation) {
                context.allow_privilege_escalation = Some(value);
                set(at("allowPrivilegeEscalation"), value.to_string());
            }
            let caps = context
                .capabilities
                .get_or_insert_with(Capabilities::default);
            for required in p.required_drop_capabilities.iter().flatten() {
                let drop = caps.drop.get_or_insert_with(Vec::new);
                if !drop.iter().any(|d| d == required || d == "ALL") {
                    drop.push(required.clone());
                    set(at("capabilities.drop"), format!("[{}]", drop.join(", ")));
                }
            }
            for default in p.default_add_capabilities.iter().flatten() {
                let dropped = caps.drop.iter().flatten().any(|d| d == default);
                let add = caps.add.get_or_insert_with(Vec::new);
                if !dropped && !add.contains(default) {
                    add.push(default.clone());
                    set(at("capabilities.add"), format!("[{}]", add.join(", ")));
                }
            }
            if caps.add.as_ref().is_some_and(|a| a.is_empty()) {
                caps.add = None;
            }
            if caps.drop.as_ref().is_some_and(|d| d.is_empty()) {
                caps.drop = None;
            }
            if caps.add.is_none() && caps.drop.is_none() {
                context.capabilities = None;
            }
        }
    }
    if pod.init_containers.as_ref().is_some_and(|c| c.is_empty()) {
        pod.init_containers = None;
    }
    // Keep only the fields the PSP set: a field-by-field patch of them is
    // what the manifest needs.
    let mut seen = std::collections::BTreeMap::new();
    for m in mutations {
        seen.insert(m.field.clone(), m);
    }
    (meta, pod, seen.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::model::psp::{IdRange, PodSecurityPolicySpec};

    fn pod() -> PodSpec {
        PodSpec {
            containers: vec![Container {
                name: "app".into(),
                ..Container::default()
            }],
            ..PodSpec::default()
        }
    }

    fn id(rule: &str, min: i64) -> Option<IdStrategyOptions> {
        Some(IdStrategyOptions {
            rule: rule.into(),
            ranges: Some(vec![IdRange {
                min,
                max: min + 1000,
            }]),
        })
    }

    #[test]
    fn every_mutating_field_sets_what_the_pod_left_unset() {
        let mut psp = PodSecurityPolicy::default();
        psp.spec = PodSecurityPolicySpec {
            required_drop_capabilities: Some(vec!["ALL".into()]),
            run_as_user: Some(IdStrategyOptions {
                rule: "MustRunAsNonRoot".into(),
                ranges: None,
            }),
            run_as_group: id("MustRunAs", 3000),
            fs_group: id("MustRunAs", 2000),
            supplemental_groups: id("MustRunAs", 4000),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            runtime_class: Some(corral_core::model::psp::RuntimeClassStrategyOptions {
                allowed_runtime_class_names: vec!["gvisor".into()],
                default_runtime_class_name: Some("gvisor".into()),
            }),
            ..PodSecurityPolicySpec::default()
        };
        psp.metadata.annotations =
            Some([(SECCOMP_DEFAULT.to_string(), "runtime/default".to_string())].into());
        let (_, mutated, mutations) = mutate(&psp, &ObjectMeta::default(), &pod());
        let fields: Vec<(&str, &str)> = mutations
            .iter()
            .map(|m| (m.field.as_str(), m.value.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                (
                    "containers[0].securityContext.allowPrivilegeEscalation",
                    "false"
                ),
                ("containers[0].securityContext.capabilities.drop", "[ALL]"),
                (
                    "containers[0].securityContext.readOnlyRootFilesystem",
                    "true"
                ),
                ("containers[0].securityContext.runAsGroup", "3000"),
                ("containers[0].securityContext.runAsNonRoot", "true"),
                ("runtimeClassName", "gvisor"),
                ("securityContext.fsGroup", "2000"),
                ("securityContext.seccompProfile.type", "RuntimeDefault"),
                ("securityContext.supplementalGroups", "[4000]"),
            ]
        );
        assert_eq!(mutated.runtime_class_name.as_deref(), Some("gvisor"));
        // What the pod sets is kept: a non-zero runAsUser needs no runAsNonRoot.
        let mut written = pod();
        written.containers[0].security_context = Some(SecurityContext {
            run_as_user: Some(1000),
            allow_privilege_escalation: Some(true),
            ..SecurityContext::default()
        });
        let (_, _, mutations) = mutate(&psp, &ObjectMeta::default(), &written);
        assert!(!mutations
            .iter()
            .any(|m| m.field.ends_with("runAsNonRoot")
                || m.field.ends_with("allowPrivilegeEscalation")));
    }

    #[test]
    fn default_capabilities_are_added_unless_dropped() {
        let mut psp = PodSecurityPolicy::default();
        psp.spec.default_add_capabilities = Some(vec!["NET_ADMIN".into(), "CHOWN".into()]);
        let mut written = pod();
        written.containers[0].security_context = Some(SecurityContext {
            capabilities: Some(Capabilities {
                add: None,
                drop: Some(vec!["CHOWN".into()]),
            }),
            ..SecurityContext::default()
        });
        let (_, mutated, mutations) = mutate(&psp, &ObjectMeta::default(), &written);
        let caps = mutated.containers[0]
            .security_context
            .as_ref()
            .unwrap()
            .capabilities
            .as_ref()
            .unwrap();
        assert_eq!(caps.add.as_deref(), Some(&["NET_ADMIN".to_string()][..]));
        assert_eq!(mutations.len(), 1);
    }

    #[test]
    fn the_default_apparmor_profile_is_annotated_where_none_is_set() {
        let mut psp = PodSecurityPolicy::default();
        psp.metadata.annotations =
            Some([(APPARMOR_DEFAULT.to_string(), "runtime/default".to_string())].into());
        let mut spec = pod();
        spec.containers.push(Container {
            name: "sidecar".into(),
            ..Container::default()
        });
        let metadata = ObjectMeta {
            annotations: Some(
                [(
                    format!("{APPARMOR_CONTAINER_PREFIX}sidecar"),
                    "localhost/sidecar".to_string(),
                )]
                .into(),
            ),
            ..ObjectMeta::default()
        };
        let (meta, _, mutations) = mutate(&psp, &metadata, &spec);
        assert_eq!(
            mutations,
            [Mutation {
                field: format!("metadata.annotations[{APPARMOR_CONTAINER_PREFIX}app]"),
                value: "runtime/default".into()
            }]
        );
        let app = Container {
            name: "app".into(),
            ..Container::default()
        };
        assert_eq!(
            apparmor_profile(&meta, &spec, &app).as_deref(),
            Some("runtime/default")
        );
    }
}
