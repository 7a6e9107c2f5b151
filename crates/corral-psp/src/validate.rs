//! Whether a PodSecurityPolicy admits a pod (after its own mutations): the
//! validating fields the PSP admission plugin checked, and its seccomp,
//! AppArmor and runtime-class allow-lists.

use corral_core::model::psp::PodSecurityPolicy;
use k8s_openapi::api::core::v1::{PodSpec, SeccompProfile, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::map::{APPARMOR_ALLOWED, SECCOMP_ALLOWED};
use crate::mutate::apparmor_profile;

/// A seccomp profile as PSP annotations name it.
fn profile_name(profile: &SeccompProfile) -> String {
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

/// Whether the `allowedProfileNames` list allows `name` (`None`: no
/// profile; allowed only when the list has an empty entry or `*`, which
/// allows anything).
fn profile_allowed(allowed: &str, name: Option<&str>) -> bool {
    allowed.split(',').map(str::trim).any(|entry| match name {
        None => entry.is_empty() || entry == "*",
        Some(name) => {
            entry == "*"
                || entry == name
                || (entry == "docker/default" && name == "runtime/default")
                || entry
                    .strip_suffix('*')
                    .is_some_and(|prefix| name.starts_with(prefix))
        }
    })
}

/// The PSP `volumes` name of a volume's type.
pub fn volume_type(volume: &Volume) -> &'static str {
    macro_rules! first {
        ($($field:ident => $name:literal),* $(,)?) => {
            $(if volume.$field.is_some() { return $name; })*
        };
    }
    first!(
        config_map => "configMap", secret => "secret", empty_dir => "emptyDir",
        host_path => "hostPath", persistent_volume_claim => "persistentVolumeClaim",
        projected => "projected", downward_api => "downwardAPI", csi => "csi",
        ephemeral => "ephemeral", nfs => "nfs", iscsi => "iscsi", rbd => "rbd",
        cephfs => "cephFS", cinder => "cinder", fc => "fc", flex_volume => "flexVolume",
        flocker => "flocker", git_repo => "gitRepo", glusterfs => "glusterfs",
        azure_disk => "azureDisk", azure_file => "azureFile",
        aws_elastic_block_store => "awsElasticBlockStore",
        gce_persistent_disk => "gcePersistentDisk", photon_persistent_disk => "photonPersistentDisk",
        portworx_volume => "portworxVolume", quobyte => "quobyte", scale_io => "scaleIO",
        storageos => "storageos", vsphere_volume => "vsphereVolume", image => "image",
    );
    "emptyDir" // a volume with no source is an emptyDir
}

/// Safe sysctls, which need no PSP allowance.
const SAFE_SYSCTLS: [&str; 5] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];

fn sysctl_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// Why `psp` does not admit the pod `spec` (already mutated by it); empty
/// when it admits it.
pub fn denials(psp: &PodSecurityPolicy, metadata: &ObjectMeta, spec: &PodSpec) -> Vec<String> {
    let p = &psp.spec;
    let mut why = Vec::new();
    let allow = |flag: Option<bool>| flag == Some(true);
    for (set, allowed, name) in [
        (spec.host_network, p.host_network, "hostNetwork"),
        (spec.host_pid, p.host_pid, "hostPID"),
        (spec.host_ipc, p.host_ipc, "hostIPC"),
    ] {
        if set == Some(true) && !allow(allowed) {
            why.push(format!("{name} is not allowed"));
        }
    }
    let volumes = p.volumes.as_deref().unwrap_or_default();
    for volume in spec.volumes.iter().flatten() {
        let kind = volume_type(volume);
        if !volumes.iter().any(|v| v == "*" || v == kind) {
            why.push(format!(
                "volume `{}` of type {kind} is not allowed",
                volume.name
            ));
        }
        if let Some(host) = &volume.host_path {
            let prefixes = p.allowed_host_paths.as_deref().unwrap_or_default();
            let allowed = prefixes.is_empty()
                || prefixes.iter().any(|a| {
                    let prefix = a.path_prefix.as_deref().unwrap_or("").trim_end_matches('/');
                    host.path == prefix || host.path.starts_with(&format!("{prefix}/"))
                });
            if !allowed {
                why.push(format!(
                    "host path {} is not under an allowed prefix",
                    host.path
                ));
            }
        }
    }
    let pod_context = spec.security_context.as_ref();
    for sysctl in pod_context
        .and_then(|c| c.sysctls.as_ref())
        .into_iter()
        .flatten()
    {
        let unsafe_allowed = p
            .allowed_unsafe_sysctls
            .iter()
            .flatten()
            .any(|a| sysctl_matches(a, &sysctl.name));
        let forbidden = p
            .forbidden_sysctls
            .iter()
            .flatten()
            .any(|f| sysctl_matches(f, &sysctl.name));
        if forbidden || (!SAFE_SYSCTLS.contains(&sysctl.name.as_str()) && !unsafe_allowed) {
            why.push(format!("sysctl {} is not allowed", sysctl.name));
        }
    }
    let seccomp_allowed = psp
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SECCOMP_ALLOWED))
        .map(String::as_str);
    let pod_profile = pod_context
        .and_then(|c| c.seccomp_profile.as_ref())
        .map(profile_name);
    if let Some(allowed) = seccomp_allowed {
        let containers = spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers);
        let profiles: Vec<(String, Option<String>)> = containers
            .map(|c| {
                let own = c
                    .security_context
                    .as_ref()
                    .and_then(|s| s.seccomp_profile.as_ref())
                    .map(profile_name);
                (
                    format!("container `{}`", c.name),
                    own.or_else(|| pod_profile.clone()),
                )
            })
            .collect();
        for (who, profile) in profiles {
            if !profile_allowed(allowed, profile.as_deref()) {
                why.push(match profile {
                    Some(profile) => format!("{who}: seccomp profile {profile} is not allowed"),
                    None => format!("{who}: a seccomp profile is required"),
                });
            }
        }
    }
    // AppArmor: without the annotation any profile is allowed; with it, a
    // profile must be set and listed (no wildcards), as PSP's strategy did.
    if let Some(allowed) = psp
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(APPARMOR_ALLOWED))
    {
        let listed: Vec<&str> = allowed
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        for container in spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
        {
            match apparmor_profile(metadata, spec, container) {
                None if !listed.is_empty() => why.push(format!(
                    "container `{}`: an AppArmor profile is required",
                    container.name
                )),
                Some(profile) if !listed.contains(&profile.as_str()) => why.push(format!(
                    "container `{}`: AppArmor profile {profile} is not allowed",
                    container.name
                )),
                _ => {}
            }
        }
    }
    if let Some(runtime) = &p.runtime_class {
        let allowed = &runtime.allowed_runtime_class_names;
        if let Some(class) = &spec.runtime_class_name {
            if !allowed.is_empty() && !allowed.iter().any(|a| a == "*" || a == class) {
                why.push(format!("runtime class {class} is not allowed"));
            }
        }
    }
    let allowed_caps: Vec<&str> = p
        .allowed_capabilities
        .iter()
        .chain(p.default_add_capabilities.iter())
        .flatten()
        .map(String::as_str)
        .collect();
    let run_as_user = p.run_as_user.as_ref();
    for container in spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
    {
        let context = container.security_context.as_ref();
        let name = &container.name;
        if context.and_then(|c| c.privileged) == Some(true) && !allow(p.privileged) {
            why.push(format!("container `{name}` is privileged"));
        }
        for cap in context
            .and_then(|c| c.capabilities.as_ref())
            .and_then(|c| c.add.as_ref())
            .into_iter()
            .flatten()
        {
            let bare = cap.strip_prefix("CAP_").unwrap_or(cap);
            if !allowed_caps
                .iter()
                .any(|a| *a == "*" || a.strip_prefix("CAP_").unwrap_or(a) == bare)
            {
                why.push(format!("container `{name}` adds capability {cap}"));
            }
        }
        if p.allow_privilege_escalation == Some(false)
            && context.and_then(|c| c.allow_privilege_escalation) == Some(true)
        {
            why.push(format!("container `{name}` allows privilege escalation"));
        }
        let user = context
            .and_then(|c| c.run_as_user)
            .or(pod_context.and_then(|c| c.run_as_user));
        let non_root = context
            .and_then(|c| c.run_as_non_root)
            .or(pod_context.and_then(|c| c.run_as_non_root));
        match run_as_user.map(|s| s.rule.as_str()) {
            Some("MustRunAsNonRoot") if user == Some(0) || non_root == Some(false) => {
                why.push(format!("container `{name}` runs as root"));
            }
            Some("MustRunAs") => {
                let ranges = run_as_user
                    .and_then(|s| s.ranges.as_deref())
                    .unwrap_or_default();
                if user.is_some_and(|u| !ranges.iter().any(|r| r.min <= u && u <= r.max)) {
                    why.push(format!(
                        "container `{name}` runs as uid {} outside the allowed ranges",
                        user.unwrap_or_default()
                    ));
                }
            }
            _ => {}
        }
        if context.and_then(|c| c.proc_mount.as_deref()) == Some("Unmasked")
            && !p
                .allowed_proc_mount_types
                .iter()
                .flatten()
                .any(|t| t == "Unmasked")
        {
            why.push(format!("container `{name}` unmasks /proc"));
        }
        for port in container.ports.iter().flatten() {
            if let Some(host_port) = port.host_port.filter(|h| *h > 0) {
                let ranges = p.host_ports.as_deref().unwrap_or_default();
                if !ranges
                    .iter()
                    .any(|r| r.min <= host_port && host_port <= r.max)
                {
                    why.push(format!("container `{name}` uses host port {host_port}"));
                }
            }
        }
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::model::psp::{AllowedHostPath, HostPortRange, IdRange, IdStrategyOptions};
    use k8s_openapi::api::core::v1::{
        Capabilities, Container, ContainerPort, HostPathVolumeSource, PodSecurityContext,
        SecurityContext, Sysctl,
    };

    fn pod(context: SecurityContext) -> PodSpec {
        PodSpec {
            containers: vec![Container {
                name: "app".into(),
                security_context: Some(context),
                ..Container::default()
            }],
            ..PodSpec::default()
        }
    }

    #[test]
    fn each_validating_field_denies_what_it_does_not_allow() {
        let mut psp = PodSecurityPolicy::default();
        psp.spec.volumes = Some(vec!["configMap".into(), "hostPath".into()]);
        psp.spec.allowed_capabilities = Some(vec!["NET_BIND_SERVICE".into()]);
        psp.spec.allow_privilege_escalation = Some(false);
        psp.spec.run_as_user = Some(IdStrategyOptions {
            rule: "MustRunAs".into(),
            ranges: Some(vec![IdRange {
                min: 1000,
                max: 2000,
            }]),
        });
        psp.spec.allowed_host_paths = Some(vec![AllowedHostPath {
            path_prefix: Some("/var/log".into()),
            read_only: None,
        }]);
        psp.spec.host_ports = Some(vec![HostPortRange {
            min: 8000,
            max: 8080,
        }]);
        assert!(denials(
            &psp,
            &ObjectMeta::default(),
            &pod(SecurityContext {
                run_as_user: Some(1500),
                ..Default::default()
            })
        )
        .is_empty());

        let mut bad = pod(SecurityContext {
            privileged: Some(true),
            allow_privilege_escalation: Some(true),
            run_as_user: Some(5),
            proc_mount: Some("Unmasked".into()),
            capabilities: Some(Capabilities {
                add: Some(vec!["SYS_ADMIN".into(), "NET_BIND_SERVICE".into()]),
                drop: None,
            }),
            ..Default::default()
        });
        bad.host_network = Some(true);
        bad.containers[0].ports = Some(vec![ContainerPort {
            container_port: 80,
            host_port: Some(80),
            ..Default::default()
        }]);
        bad.volumes = Some(vec![
            Volume {
                name: "logs".into(),
                host_path: Some(HostPathVolumeSource {
                    path: "/var/logging".into(),
                    type_: None,
                }),
                ..Default::default()
            },
            Volume {
                name: "data".into(),
                ..Default::default()
            },
        ]);
        bad.security_context = Some(PodSecurityContext {
            sysctls: Some(vec![Sysctl {
                name: "kernel.msgmax".into(),
                value: "1".into(),
            }]),
            ..Default::default()
        });
        assert_eq!(
            denials(&psp, &ObjectMeta::default(), &bad),
            [
                "hostNetwork is not allowed",
                "host path /var/logging is not under an allowed prefix",
                "volume `data` of type emptyDir is not allowed",
                "sysctl kernel.msgmax is not allowed",
                "container `app` is privileged",
                "container `app` adds capability SYS_ADMIN",
                "container `app` allows privilege escalation",
                "container `app` runs as uid 5 outside the allowed ranges",
                "container `app` unmasks /proc",
                "container `app` uses host port 80",
            ]
        );
    }

    #[test]
    fn seccomp_and_runtime_class_allow_lists() {
        let mut psp = PodSecurityPolicy::default();
        psp.metadata.annotations = Some(
            [(
                SECCOMP_ALLOWED.to_string(),
                "runtime/default,localhost/app-*".to_string(),
            )]
            .into(),
        );
        psp.spec.runtime_class = Some(corral_core::model::psp::RuntimeClassStrategyOptions {
            allowed_runtime_class_names: vec!["gvisor".into()],
            default_runtime_class_name: None,
        });
        let with =
            |psp: &PodSecurityPolicy, profile: Option<SeccompProfile>, runtime: Option<&str>| {
                let mut spec = pod(SecurityContext {
                    seccomp_profile: profile,
                    ..Default::default()
                });
                spec.runtime_class_name = runtime.map(str::to_string);
                denials(psp, &ObjectMeta::default(), &spec)
            };
        let profile = |type_: &str, local: Option<&str>| {
            Some(SeccompProfile {
                type_: type_.into(),
                localhost_profile: local.map(str::to_string),
            })
        };
        assert!(with(&psp, profile("RuntimeDefault", None), Some("gvisor")).is_empty());
        assert!(with(&psp, profile("Localhost", Some("app-web.json")), None).is_empty());
        assert_eq!(
            with(&psp, None, None),
            ["container `app`: a seccomp profile is required"]
        );
        assert_eq!(
            with(&psp, profile("Unconfined", None), Some("runc")),
            [
                "container `app`: seccomp profile unconfined is not allowed",
                "runtime class runc is not allowed"
            ]
        );
        // A trailing comma allows no profile.
        psp.metadata.annotations =
            Some([(SECCOMP_ALLOWED.to_string(), "runtime/default,".to_string())].into());
        assert!(with(&psp, None, None).is_empty());
        // `*` allows any profile, and none.
        psp.metadata.annotations = Some([(SECCOMP_ALLOWED.to_string(), "*".to_string())].into());
        assert!(with(&psp, None, Some("gvisor")).is_empty());
        assert!(with(&psp, profile("Unconfined", None), Some("gvisor")).is_empty());
    }

    #[test]
    fn must_run_as_non_root_denies_uid_zero() {
        let mut psp = PodSecurityPolicy::default();
        psp.spec.run_as_user = Some(IdStrategyOptions {
            rule: "MustRunAsNonRoot".into(),
            ranges: None,
        });
        assert_eq!(
            denials(
                &psp,
                &ObjectMeta::default(),
                &pod(SecurityContext {
                    run_as_user: Some(0),
                    ..Default::default()
                })
            ),
            ["container `app` runs as root"]
        );
        assert!(denials(
            &psp,
            &ObjectMeta::default(),
            &pod(SecurityContext {
                run_as_non_root: Some(true),
                ..Default::default()
            })
        )
        .is_empty());
    }

    #[test]
    fn apparmor_allow_list() {
        let mut psp = PodSecurityPolicy::default();
        let spec = pod(SecurityContext::default());
        let annotated = |profile: &str| ObjectMeta {
            annotations: Some(
                [(
                    format!("{}app", crate::mutate::APPARMOR_CONTAINER_PREFIX),
                    profile.to_string(),
                )]
                .into(),
            ),
            ..ObjectMeta::default()
        };
        // Without the annotation, anything goes.
        assert!(denials(&psp, &annotated("unconfined"), &spec).is_empty());
        psp.metadata.annotations = Some(
            [(
                APPARMOR_ALLOWED.to_string(),
                "runtime/default,localhost/app".to_string(),
            )]
            .into(),
        );
        assert!(denials(&psp, &annotated("localhost/app"), &spec).is_empty());
        assert_eq!(
            denials(&psp, &annotated("unconfined"), &spec),
            ["container `app`: AppArmor profile unconfined is not allowed"]
        );
        assert_eq!(
            denials(&psp, &ObjectMeta::default(), &spec),
            ["container `app`: an AppArmor profile is required"]
        );
        // The securityContext field counts as the annotation does.
        let mut field = pod(SecurityContext {
            app_armor_profile: Some(k8s_openapi::api::core::v1::AppArmorProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            ..Default::default()
        });
        assert!(denials(&psp, &ObjectMeta::default(), &field).is_empty());
        field.containers[0].security_context = None;
        assert_eq!(denials(&psp, &ObjectMeta::default(), &field).len(), 1);
    }
}
