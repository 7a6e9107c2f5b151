//! Workload hardening: the security checks of kube-linter's default set and
//! more, over every pod template (Pods, the built-in controllers, and
//! custom resources with a pod template, such as Argo Rollouts).

use corral_core::model::{runtime, service_account_field, PodTemplate, Resource, TokenMounts};
use corral_core::Object;
use k8s_openapi::api::core::v1 as core;

use crate::declare_rule;
use crate::finding::Finding;
use crate::rule::{Context, Rule};

pub static RULES: &[&dyn Rule] = &[
    &NoReadOnlyRootFs,
    &DropNetRaw,
    &DangerousCapabilities,
    &RuntimeSocket,
    &SensitiveHostMount,
    &WritableHostMount,
    &LatestTag,
    &UndigestedImage,
    &UnsetCpu,
    &UnsetMemory,
    &DefaultServiceAccount,
    &AutomountToken,
    &SecretInEnv,
    &SshPort,
    &PrivilegedPort,
    &SecretFromEnvRef,
    &MissingServiceAccount,
];

/// One container of any of the three lists, seen alike.
struct ContainerView<'a> {
    list: &'static str,
    index: usize,
    name: &'a str,
    image: Option<&'a str>,
    security: Option<&'a core::SecurityContext>,
    ports: &'a [core::ContainerPort],
    env: &'a [core::EnvVar],
    resources: Option<&'a core::ResourceRequirements>,
    mounts: &'a [core::VolumeMount],
    /// It runs for the pod's whole life: a regular container, or an init
    /// container with `restartPolicy: Always` (a sidecar).
    long_lived: bool,
}

impl ContainerView<'_> {
    /// `containers[0]` + `.securityContext.privileged`, from the template.
    fn path(&self, template: &PodTemplate, rest: &str) -> String {
        template.spec_path(&format!("{}[{}]{rest}", self.list, self.index))
    }
}

fn containers(spec: &core::PodSpec) -> Vec<ContainerView<'_>> {
    let mut all = Vec::new();
    let lists: [(&'static str, &[core::Container]); 2] = [
        (
            "initContainers",
            spec.init_containers.as_deref().unwrap_or_default(),
        ),
        ("containers", &spec.containers),
    ];
    for (list, containers) in lists {
        for (index, c) in containers.iter().enumerate() {
            all.push(ContainerView {
                list,
                index,
                name: &c.name,
                image: c.image.as_deref(),
                security: c.security_context.as_ref(),
                ports: c.ports.as_deref().unwrap_or_default(),
                env: c.env.as_deref().unwrap_or_default(),
                resources: c.resources.as_ref(),
                mounts: c.volume_mounts.as_deref().unwrap_or_default(),
                long_lived: list == "containers" || c.restart_policy.as_deref() == Some("Always"),
            });
        }
    }
    for (index, c) in spec.ephemeral_containers.iter().flatten().enumerate() {
        all.push(ContainerView {
            list: "ephemeralContainers",
            index,
            name: &c.name,
            image: c.image.as_deref(),
            security: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            env: c.env.as_deref().unwrap_or_default(),
            resources: c.resources.as_ref(),
            mounts: c.volume_mounts.as_deref().unwrap_or_default(),
            long_lived: false,
        });
    }
    all
}

fn template(resource: &Resource) -> Option<&PodTemplate> {
    match resource {
        Resource::Workload(t) => Some(t),
        _ => None,
    }
}

/// Implement `Rule` for a rule that looks at each container: `$body`
/// returns, for a container, the field (after the container's path), the
/// message and the fix, when the rule fires (`@items`: any number of them).
macro_rules! container_rule {
    ($rule:ident, |$template:ident, $spec:ident, $container:ident| $body:expr) => {
        container_rule!(@items $rule, |$template, $spec, $container| {
            let fired: Option<(String, String, String)> = $body;
            fired.into_iter()
        });
    };
    (@items $rule:ident, |$template:ident, $spec:ident, $container:ident| $body:expr) => {
        impl Rule for $rule {
            fn check_object(
                &self,
                _: &Context,
                object: &Object,
                resource: &Resource,
                out: &mut Vec<Finding>,
            ) {
                let Some($template) = template(resource) else {
                    return;
                };
                let $spec = &$template.spec;
                for $container in containers($spec) {
                    for (rest, message, fix) in $body {
                        let field = $container.path($template, &rest);
                        out.push(Finding::new(&Self::META, object, &field, message, fix));
                    }
                }
            }
        }
    };
}

/// Implement `Rule` for a rule about the pod spec as a whole: `$body`
/// returns the field (from the pod spec), message and fix.
macro_rules! pod_rule {
    ($rule:ident, |$template:ident, $spec:ident| $body:expr) => {
        impl Rule for $rule {
            fn check_object(
                &self,
                _: &Context,
                object: &Object,
                resource: &Resource,
                out: &mut Vec<Finding>,
            ) {
                let Some($template) = template(resource) else {
                    return;
                };
                let $spec = &$template.spec;
                let fired: Vec<(String, String, String)> = $body;
                for (rest, message, fix) in fired {
                    let field = $template.spec_path(&rest);
                    out.push(Finding::new(&Self::META, object, &field, message, fix));
                }
            }
        }
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a container without `securityContext.readOnlyRootFilesystem:
    /// true`. Windows pods, where validation forbids the field, are not
    /// flagged.
    ///
    /// ## Why it matters
    /// A writable root filesystem lets an intruder drop tools and modify
    /// the application's own files, and hides persistence in the image
    /// layer. Most applications need only a few writable paths.
    ///
    /// ## How to fix
    /// Set `readOnlyRootFilesystem: true` and mount an `emptyDir` on each
    /// path the application writes (`corral record` lists them).
    ///
    /// ## References
    /// - kube-linter `no-read-only-root-fs`
    /// - https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
    NoReadOnlyRootFs, "CRL-W004", "no-read-only-root-fs", Workload, Medium,
    "Container root filesystem is writable"
}

container_rule!(NoReadOnlyRootFs, |template, spec, c| {
    (!runtime::windows(spec) && c.security.and_then(|s| s.read_only_root_filesystem) != Some(true)).then(|| {
        (
            ".securityContext.readOnlyRootFilesystem".into(),
            format!("container `{}` can write its root filesystem", c.name),
            "set `securityContext.readOnlyRootFilesystem: true` and mount emptyDir volumes where it writes".into(),
        )
    })
});

declare_rule! {
    /// ## What it does
    /// Flags a container that keeps `NET_RAW` once the runtime has applied
    /// its capabilities: it drops neither `NET_RAW` nor `ALL` (in any case;
    /// containerd reads `CAP_NET_RAW` as another, unknown capability), or
    /// adds it back after `drop: [ALL]`. Where a Pod Security Standards
    /// rule already reports this container's capabilities (`CRL-P004` at
    /// restricted, or `CRL-P003` the added `NET_RAW` at baseline), it owns
    /// the defect and this rule stays quiet.
    /// Windows pods have no Linux capabilities and are not flagged.
    ///
    /// ## Why it matters
    /// `NET_RAW` is in the default set of most runtimes; it lets a process
    /// craft packets: spoofing and ARP or DNS poisoning of its neighbours
    /// on the node's network.
    ///
    /// ## How to fix
    /// Add `securityContext.capabilities.drop: ["ALL"]` and add back only
    /// what the container needs.
    ///
    /// ## References
    /// - kube-linter `drop-net-raw-capability`
    DropNetRaw, "CRL-W005", "drop-net-raw-capability", Workload, Medium,
    "Container keeps NET_RAW"
}

impl Rule for DropNetRaw {
    fn check_object(
        &self,
        context: &Context,
        object: &Object,
        resource: &Resource,
        out: &mut Vec<Finding>,
    ) {
        let Some(template) = template(resource) else {
            return;
        };
        if runtime::windows(&template.spec) {
            return;
        }
        for c in containers(&template.spec) {
            if !runtime::holds(c.security, "NET_RAW") {
                continue;
            }
            let field = c.path(template, ".securityContext.capabilities.drop");
            let capabilities = c.path(template, ".securityContext.capabilities");
            if reported_by_pss(
                context,
                object,
                template,
                "capabilities_restricted",
                &capabilities,
            ) {
                continue;
            }
            let added_back: Vec<usize> = c
                .security
                .and_then(|s| s.capabilities.as_ref())
                .and_then(|caps| caps.add.as_ref())
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, a)| runtime::capability(a) == "NET_RAW")
                .map(|(i, _)| i)
                .collect();
            // At baseline, the add is the capabilities check's to report.
            if added_back.iter().any(|i| {
                let add = c.path(template, &format!(".securityContext.capabilities.add[{i}]"));
                reported_by_pss(context, object, template, "capabilities_baseline", &add)
            }) {
                continue;
            }
            let added_back = !added_back.is_empty();
            let message = match runtime::ineffective_drop(c.security, "NET_RAW") {
                _ if added_back => format!("container `{}` adds NET_RAW", c.name),
                Some(written) => format!(
                    "container `{}` does not drop NET_RAW: containerd reads `{written}` as no capability (write `NET_RAW`)",
                    c.name
                ),
                None => format!("container `{}` does not drop NET_RAW", c.name),
            };
            out.push(Finding::new(
                &Self::META,
                object,
                &field,
                message,
                "add `securityContext.capabilities.drop: [\"ALL\"]`".into(),
            ));
        }
    }
}

/// Does the Pod Security Standards rule of `check` already report `field`
/// (the object's path) or a field under it, at the scan's level, and is it
/// on? Then it owns the defect there, and a narrower workload rule stays
/// quiet.
fn reported_by_pss(
    context: &Context,
    object: &Object,
    template: &PodTemplate,
    check: &str,
    field: &str,
) -> bool {
    let owner = crate::rules::pss::rule_for(check);
    if owner.is_none_or(|m| !context.settings.enabled(m) || !context.settings.reports(m, field)) {
        return false;
    }
    context.pss_evaluation(object).is_some_and(|evaluation| {
        evaluation
            .violations
            .iter()
            .filter(|v| v.check == check)
            .flat_map(|v| &v.fields)
            .map(|f| template_field(template, f))
            .any(|f| {
                f == field
                    || f.starts_with(&format!("{field}."))
                    || f.starts_with(&format!("{field}["))
            })
    })
}

/// A PSS violation's field (from the template) as a path from the object.
fn template_field(template: &PodTemplate, field: &str) -> String {
    match template.path.as_str() {
        "" => field.to_string(),
        base => format!("{base}.{field}"),
    }
}

/// Capabilities that amount to control of the node or its network.
const DANGEROUS: [&str; 9] = [
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
];

declare_rule! {
    /// ## What it does
    /// Flags a container that adds a capability amounting to control of
    /// the node: `ALL`, `SYS_ADMIN`, `NET_ADMIN`, `SYS_PTRACE`,
    /// `SYS_MODULE`, `SYS_RAWIO`, `DAC_READ_SEARCH`, `BPF` or `PERFMON`,
    /// named in any case, with or without `CAP_`, and not dropped again,
    /// as the runtimes apply them. (On a Windows pod capabilities are
    /// invalid: nothing runs.)
    ///
    /// ## Why it matters
    /// Each is a known container escape or a way to read other processes'
    /// memory and the node's files.
    ///
    /// ## How to fix
    /// Remove it from `capabilities.add`; if the workload truly needs it,
    /// isolate it on dedicated nodes and suppress with a reason.
    ///
    /// ## References
    /// - https://man7.org/linux/man-pages/man7/capabilities.7.html
    DangerousCapabilities, "CRL-W006", "dangerous-capabilities", Workload, High,
    "Container adds a dangerous capability"
}

container_rule!(DangerousCapabilities, |template, spec, c| {
    // What the runtime grants after `drop`: `add: [ALL]` with
    // `drop: [ALL]` grants nothing.
    let held = |cap: &str| runtime::holds(c.security, cap);
    let added: Vec<&String> = c
        .security
        .and_then(|s| s.capabilities.as_ref())
        .and_then(|caps| caps.add.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| match runtime::capability(a).as_str() {
            "ALL" => DANGEROUS[1..].iter().any(|d| held(d)),
            cap => DANGEROUS.contains(&cap) && held(cap),
        })
        .collect();
    (!runtime::windows(spec) && !added.is_empty()).then(|| {
        let names: Vec<&str> = added.iter().map(|a| a.as_str()).collect();
        (
            ".securityContext.capabilities.add".into(),
            format!("container `{}` adds {}", c.name, names.join(", ")),
            "remove them from `capabilities.add`".into(),
        )
    })
});

fn host_paths(spec: &core::PodSpec) -> impl Iterator<Item = (usize, &core::Volume, &str)> {
    spec.volumes
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| v.host_path.as_ref().map(|h| (i, v, h.path.as_str())))
}

/// A host path as the kubelet reads it, and as the user wrote it when that
/// differs by more than a trailing `/`: "`/etc` (written `//etc`)".
fn written(path: &str) -> String {
    let clean = runtime::host_path(path);
    if clean == path.trim_end_matches('/') || clean == path {
        format!("`{path}`")
    } else {
        format!("`{clean}` (written `{path}`)")
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a `hostPath` volume that reaches a container runtime's socket
    /// (Docker, containerd, CRI-O, cri-dockerd, k3s, k0s, Podman): the
    /// socket itself or a directory that holds it (`/run/containerd`,
    /// `/var/run`, `/run`, `/`), as the kubelet resolves the path (`//`,
    /// `.`, a trailing `/`, and `/var/run` read as `/run`), and the
    /// runtimes' named pipes on Windows nodes.
    ///
    /// ## Why it matters
    /// Whoever reaches the runtime socket can start a privileged container
    /// on the node: full control of the node and of every pod on it.
    ///
    /// ## How to fix
    /// Remove the volume. Build images with a rootless builder (BuildKit
    /// rootless, kaniko) instead of the node's Docker.
    ///
    /// ## References
    /// - kube-linter `docker-sock`
    RuntimeSocket, "CRL-W010", "runtime-socket", Workload, Critical,
    "Pod mounts a container runtime socket"
}

pod_rule!(RuntimeSocket, |template, spec| {
    host_paths(spec)
        .filter_map(|(i, v, path)| {
            let socket = runtime::runtime_socket(path)?;
            let clean = runtime::host_path(path);
            let message = if clean.ends_with(socket) {
                format!(
                    "volume `{}` mounts the runtime socket {}",
                    v.name,
                    written(path)
                )
            } else {
                format!(
                    "volume `{}` mounts {}, which holds the runtime socket `{socket}`",
                    v.name,
                    written(path)
                )
            };
            Some((
                format!("volumes[{i}].hostPath.path"),
                message,
                "remove the volume".into(),
            ))
        })
        .collect()
});

declare_rule! {
    /// ## What it does
    /// Flags a `hostPath` volume that exposes a sensitive node directory:
    /// `/`, `/boot`, `/dev`, `/etc`, `/lib`, `/proc`, `/sys`, `/usr`,
    /// `/root`, `/home`, the kubelet's, the runtimes' and etcd's state, a
    /// directory under one of them, or a directory that holds one (`/var`
    /// and `/var/lib` hold the kubelet's state), as the kubelet resolves
    /// the path (`//`, `.`, a trailing `/`). A volume that also reaches a
    /// runtime socket (`/`) is `CRL-W010`'s finding, the graver one.
    ///
    /// ## Why it matters
    /// These hold the node's credentials (kubelet certificates, service
    /// account tokens of every pod), its configuration and its devices.
    ///
    /// ## How to fix
    /// Remove the volume, or narrow it to the one file needed, read-only.
    ///
    /// ## References
    /// - kube-linter `sensitive-host-mounts`
    SensitiveHostMount, "CRL-W011", "sensitive-host-mounts", Workload, High,
    "Pod mounts a sensitive host path"
}

pod_rule!(SensitiveHostMount, |template, spec| {
    host_paths(spec)
        .filter_map(|(i, v, path)| {
            // One finding a volume: reaching the runtime socket is W010's.
            if runtime::runtime_socket(path).is_some() {
                return None;
            }
            let exposed = runtime::sensitive_path(path)?;
            // Compared as Windows paths too: any case, `\` for `/`.
            let norm = |p: &str| p.replace('\\', "/").to_ascii_lowercase();
            let (clean, exposed_norm) = (norm(&runtime::host_path(path)), norm(exposed));
            let inside = clean == exposed_norm
                || clean.starts_with(&format!("{}/", exposed_norm.trim_end_matches('/')));
            let holds = if inside {
                String::new()
            } else {
                format!(", which holds `{exposed}`")
            };
            Some((
                format!("volumes[{i}].hostPath.path"),
                format!(
                    "volume `{}` mounts the node's {}{holds}",
                    v.name,
                    written(path)
                ),
                "remove the volume or mount only the file needed, read-only".into(),
            ))
        })
        .collect()
});

declare_rule! {
    /// ## What it does
    /// Flags a container that mounts a `hostPath` volume without
    /// `readOnly: true`.
    ///
    /// ## Why it matters
    /// A writable host mount lets the container change the node's files:
    /// plant binaries, edit configuration, or fill its disk.
    ///
    /// ## How to fix
    /// Set `readOnly: true` on the volume mount.
    ///
    /// ## References
    /// - kube-linter `writable-host-mount`
    WritableHostMount, "CRL-W012", "writable-host-mount", Workload, Medium,
    "Container mounts a host path writable"
}

container_rule!(@items WritableHostMount, |template, spec, c| {
    let host: Vec<&str> = host_paths(spec).map(|(_, v, _)| v.name.as_str()).collect();
    c.mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| host.contains(&m.name.as_str()) && m.read_only != Some(true))
        .map(|(i, m)| {
            (
                format!(".volumeMounts[{i}].readOnly"),
                format!(
                    "container `{}` mounts host path volume `{}` writable at `{}`",
                    c.name, m.name, m.mount_path
                ),
                "set `readOnly: true` on the volume mount".into(),
            )
        })
        .collect::<Vec<_>>()
});

/// The tag of an image reference, if it has one (after the last `/`).
fn tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, t)| t)
}

declare_rule! {
    /// ## What it does
    /// Flags a container image with the `latest` tag or no tag (which
    /// means `latest`), unless it is pinned by digest.
    ///
    /// ## Why it matters
    /// What runs changes with every push, unreviewed; a rollback rolls back
    /// to nothing in particular.
    ///
    /// ## How to fix
    /// Use a version tag, and better, pin the digest
    /// (`image: repo/app:1.4.2@sha256:...`).
    ///
    /// ## References
    /// - kube-linter `latest-tag`
    LatestTag, "CRL-W013", "latest-tag", Workload, Medium,
    "Image uses the latest tag"
}

container_rule!(LatestTag, |template, spec, c| {
    c.image
        .filter(|image| !image.contains('@') && matches!(tag(image), None | Some("latest")))
        .map(|image| {
            (
                ".image".into(),
                format!(
                    "container `{}` runs `{image}`, which follows `latest`",
                    c.name
                ),
                "use a version tag, pinned by digest".into(),
            )
        })
});

declare_rule! {
    /// ## What it does
    /// Flags a container image not pinned by digest (`@sha256:...`).
    ///
    /// ## Why it matters
    /// A tag can be moved to other content, by mistake or by an attacker
    /// who can push to the registry; a digest cannot.
    ///
    /// ## How to fix
    /// Append the digest: `image: repo/app:1.4.2@sha256:...`; tools such as
    /// Renovate keep it current.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/containers/images/#image-names
    UndigestedImage, "CRL-W014", "image-not-pinned-by-digest", Workload, Low,
    "Image is not pinned by digest"
}

container_rule!(UndigestedImage, |template, spec, c| {
    c.image
        .filter(|image| !image.contains("@sha256:"))
        .map(|image| {
            (
                ".image".into(),
                format!("container `{}` runs `{image}` without a digest", c.name),
                "pin the image by digest".into(),
            )
        })
});

/// Is `resource` set in the container's `which` (`requests` or `limits`),
/// or in the pod's (pod-level resources bound the containers together)?
/// The model's spec is defaulted: a limit is also the request.
fn resource_set(spec: &core::PodSpec, c: &ContainerView, which: &str, resource: &str) -> bool {
    let set = |r: Option<&core::ResourceRequirements>| {
        let map = match which {
            "requests" => r.and_then(|r| r.requests.as_ref()),
            _ => r.and_then(|r| r.limits.as_ref()),
        };
        map.is_some_and(|m| m.contains_key(resource))
    };
    set(c.resources) || set(spec.resources.as_ref())
}

declare_rule! {
    /// ## What it does
    /// Flags a container (not an init container, unless it is a sidecar:
    /// `restartPolicy: Always`) without a CPU request,
    /// as the API server stores it: a CPU limit is also the request
    /// (`SetDefaults_Pod`), and a pod-level request covers every
    /// container.
    ///
    /// ## Why it matters
    /// Without a request, the scheduler cannot place the pod sensibly, and
    /// under contention the container starves or starves its neighbours:
    /// one noisy pod degrades a node.
    ///
    /// ## How to fix
    /// Set `resources.requests.cpu` (and consider a limit).
    ///
    /// ## References
    /// - kube-linter `unset-cpu-requirements`
    UnsetCpu, "CRL-W015", "unset-cpu-requirements", Workload, Low,
    "Container has no CPU request"
}

container_rule!(UnsetCpu, |template, spec, c| {
    (c.long_lived && !resource_set(spec, &c, "requests", "cpu")).then(|| {
        (
            ".resources.requests.cpu".into(),
            format!("container `{}` has no CPU request", c.name),
            "set `resources.requests.cpu`".into(),
        )
    })
});

declare_rule! {
    /// ## What it does
    /// Flags a container (not an init container, unless it is a sidecar:
    /// `restartPolicy: Always`) without a memory limit,
    /// its own or the pod's (pod-level resources).
    ///
    /// ## Why it matters
    /// A container without a memory limit can exhaust the node's memory:
    /// the kernel then kills processes of other pods. It is the cheapest
    /// denial of service in a cluster.
    ///
    /// ## How to fix
    /// Set `resources.limits.memory` (and `requests.memory`).
    ///
    /// ## References
    /// - kube-linter `unset-memory-requirements`
    UnsetMemory, "CRL-W016", "unset-memory-requirements", Workload, Medium,
    "Container has no memory limit"
}

container_rule!(UnsetMemory, |template, spec, c| {
    (c.long_lived && !resource_set(spec, &c, "limits", "memory")).then(|| {
        (
            ".resources.limits.memory".into(),
            format!("container `{}` has no memory limit", c.name),
            "set `resources.limits.memory`".into(),
        )
    })
});

declare_rule! {
    /// ## What it does
    /// Flags a pod that runs as its namespace's `default` service account
    /// (explicitly, or by not naming one). The deprecated `serviceAccount`
    /// names the account when `serviceAccountName` does not, as the API
    /// server converts it.
    ///
    /// ## Why it matters
    /// Every pod of the namespace shares that identity: a role bound to it
    /// for one workload is granted to all, and an intruder in any pod has
    /// it.
    ///
    /// ## How to fix
    /// Create a service account for the workload and set
    /// `serviceAccountName`.
    ///
    /// ## References
    /// - kube-linter `default-service-account`
    DefaultServiceAccount, "CRL-W017", "default-service-account", Workload, Low,
    "Pod uses the default service account"
}

impl Rule for DefaultServiceAccount {
    fn check_object(
        &self,
        _: &Context,
        object: &Object,
        resource: &Resource,
        out: &mut Vec<Finding>,
    ) {
        let Some(template) = template(resource) else {
            return;
        };
        let message = match template.spec.service_account_name.as_deref() {
            None | Some("") => "the pod runs as the namespace's `default` service account",
            Some("default") => "the pod runs as the `default` service account",
            Some(_) => return,
        };
        out.push(Finding::new(
            &Self::META,
            object,
            &service_account_field(object, &template.path),
            message.into(),
            "set `serviceAccountName` to an account of its own".into(),
        ));
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a pod that is given its service account's token: it does not
    /// set `automountServiceAccountToken: false`, and neither does its
    /// ServiceAccount (among the scanned objects) unless the pod sets it
    /// back to `true`; or that mounts a projected `serviceAccountToken`
    /// the API server accepts (no audience, or `kubernetes.default.svc`).
    ///
    /// ## Why it matters
    /// Most applications never call the Kubernetes API, yet each gets a
    /// token in `/var/run/secrets/kubernetes.io/serviceaccount`: the first
    /// thing an intruder uses to move through the cluster.
    ///
    /// ## How to fix
    /// Set `automountServiceAccountToken: false` on the pod (or its service
    /// account) unless it calls the API.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting
    AutomountToken, "CRL-W018", "automount-service-account-token", Workload, Medium,
    "Pod mounts a service account token"
}

impl Rule for AutomountToken {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let mounts = TokenMounts::of(context.model);
        for (object, template) in context.model.workloads() {
            let namespace = object.namespace.as_deref().unwrap_or("default");
            let account = template.service_account();
            let pod = template.spec.automount_service_account_token;
            if !mounts.mounted(namespace, account, pod) {
                // A projected token for the API server is one all the same.
                let spec = &template.spec;
                let all = containers(spec);
                let mounted =
                    |name: &str| all.iter().any(|c| c.mounts.iter().any(|m| m.name == name));
                for (i, volume) in spec.volumes.iter().flatten().enumerate() {
                    if runtime::api_token_volume(volume) && mounted(&volume.name) {
                        out.push(Finding::new(
                            &Self::META,
                            object,
                            &template.spec_path(&format!("volumes[{i}].projected")),
                            format!(
                                "the pod mounts an API token through volume `{}`",
                                volume.name
                            ),
                            "remove the volume's `serviceAccountToken` source unless the pod calls the Kubernetes API, or give it another audience".into(),
                        ));
                    }
                }
                continue;
            }
            let message = if pod == Some(true) && mounts.opts_out(namespace, account) {
                format!("the pod mounts an API token (it overrides ServiceAccount `{account}`)")
            } else {
                "the pod mounts an API token".into()
            };
            out.push(Finding::new(
                &Self::META,
                object,
                &template.spec_path("automountServiceAccountToken"),
                message,
                "set `automountServiceAccountToken: false` (on the pod or its ServiceAccount) unless it calls the Kubernetes API".into(),
            ));
        }
    }
}

/// Does `value` look like a credential by its shape?
fn credential_shape(value: &str) -> Option<&'static str> {
    let v = value.trim();
    let upper_alnum = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if v.len() == 20 && (v.starts_with("AKIA") || v.starts_with("ASIA")) && upper_alnum(v) {
        return Some("an AWS access key id");
    }
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    if v.starts_with("ghp_") || v.starts_with("github_pat_") || v.starts_with("gho_") {
        return Some("a GitHub token");
    }
    if v.starts_with("xoxb-") || v.starts_with("xoxp-") {
        return Some("a Slack token");
    }
    if v.starts_with("AIza") && v.len() == 39 {
        return Some("a Google API key");
    }
    if v.contains("\"type\": \"service_account\"") || v.contains("\"private_key_id\"") {
        return Some("a GCP service account key");
    }
    None
}

/// Does an environment variable's name say it holds a secret?
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    [
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| name.contains(w))
}

declare_rule! {
    /// ## What it does
    /// Flags an environment variable whose literal `value` is a secret: by
    /// its name (`*PASSWORD*`, `*TOKEN*`, `*SECRET*`, `*API_KEY*`...) with a
    /// non-empty value, or by its shape (AWS access key ids, private keys,
    /// GitHub, Slack and Google keys, GCP service account keys).
    ///
    /// ## Why it matters
    /// The value is in the manifest, so in git, in every copy of the
    /// repository and in the API server's object, readable by anyone who
    /// can read the workload.
    ///
    /// ## How to fix
    /// Move it to a Secret and use `valueFrom.secretKeyRef` (or an
    /// external secret store); rotate the exposed credential.
    ///
    /// ## References
    /// - kube-linter `env-var-secret`
    SecretInEnv, "CRL-W019", "env-var-secret", Workload, High,
    "Secret in an environment variable literal"
}

container_rule!(@items SecretInEnv, |template, spec, c| {
    c.env
        .iter()
        .enumerate()
        .filter_map(|(i, var)| {
            let value = var.value.as_deref().filter(|v| !v.is_empty())?;
            let why = credential_shape(value)
                .map(|shape| format!("holds {shape}"))
                .or_else(|| secret_name(&var.name).then(|| "is named like a secret".to_string()))?;
            Some((
                format!(".env[{i}].value"),
                format!(
                    "container `{}` variable `{}` {why} and sets it in plain text",
                    c.name, var.name
                ),
                "move the value to a Secret and use `valueFrom.secretKeyRef`".into(),
            ))
        })
        .collect::<Vec<_>>()
});

/// The container ports `wanted` picks, each with `say`'s message and fix.
fn ports_where(
    c: &ContainerView,
    wanted: impl Fn(i32) -> bool,
    say: impl Fn(i32) -> (String, String),
) -> Vec<(String, String, String)> {
    c.ports
        .iter()
        .enumerate()
        .filter(|(_, p)| wanted(p.container_port))
        .map(|(i, p)| {
            let (message, fix) = say(p.container_port);
            (format!(".ports[{i}].containerPort"), message, fix)
        })
        .collect()
}

declare_rule! {
    /// ## What it does
    /// Flags a container that exposes port 22.
    ///
    /// ## Why it matters
    /// An SSH server in a container is a second way in, outside the
    /// cluster's access control and audit log.
    ///
    /// ## How to fix
    /// Remove the SSH server; use `kubectl exec` or an ephemeral debug
    /// container when needed.
    ///
    /// ## References
    /// - kube-linter `ssh-port`
    SshPort, "CRL-W020", "ssh-port", Workload, Medium,
    "Container exposes SSH"
}

container_rule!(@items SshPort, |template, spec, c| {
    ports_where(&c, |port| port == 22, |_| {
        (
            format!("container `{}` exposes port 22", c.name),
            "remove the SSH server and the port".to_string(),
        )
    })
});

declare_rule! {
    /// ## What it does
    /// Flags a container port below 1024 (not on Windows pods: Windows has
    /// no privileged ports).
    ///
    /// ## Why it matters
    /// Binding it needs root or `NET_BIND_SERVICE`: the container keeps a
    /// privilege it would not otherwise need.
    ///
    /// ## How to fix
    /// Listen on a port of 1024 or above and map it in the Service.
    ///
    /// ## References
    /// - kube-linter `privileged-ports`
    PrivilegedPort, "CRL-W023", "privileged-ports", Workload, Low,
    "Container listens on a privileged port"
}

container_rule!(@items PrivilegedPort, |template, spec, c| {
    // Windows has no privileged ports.
    let windows = runtime::windows(spec);
    ports_where(&c, |port| !windows && port > 0 && port < 1024 && port != 22, |port| {
        (
            format!("container `{}` listens on port {port}", c.name),
            "listen on a port of 1024 or above and map it in the Service".to_string(),
        )
    })
});

declare_rule! {
    /// ## What it does
    /// Flags an environment variable taken from a Secret
    /// (`valueFrom.secretKeyRef`).
    ///
    /// ## Why it matters
    /// Environment variables leak: into crash reports, child processes,
    /// `/proc/<pid>/environ` and debug endpoints. A mounted file does not.
    ///
    /// ## How to fix
    /// Mount the Secret as a volume and read the file.
    ///
    /// ## References
    /// - kube-linter `read-secret-from-env-var`
    SecretFromEnvRef, "CRL-W024", "read-secret-from-env-var", Workload, Low,
    "Secret read through an environment variable"
}

container_rule!(@items SecretFromEnvRef, |template, spec, c| {
    c.env
        .iter()
        .enumerate()
        .filter_map(|(i, var)| {
            let secret = var.value_from.as_ref()?.secret_key_ref.as_ref()?;
            Some((
                format!(".env[{i}].valueFrom.secretKeyRef"),
                format!(
                    "container `{}` reads Secret `{}` key `{}` into `{}`",
                    c.name, secret.name, secret.key, var.name
                ),
                "mount the Secret as a volume instead".into(),
            ))
        })
        .collect::<Vec<_>>()
});

declare_rule! {
    /// ## What it does
    /// Flags a pod whose `serviceAccountName` names a ServiceAccount that
    /// the scanned files do not define, when they define ServiceAccounts
    /// in that namespace (so the account is expected among them).
    ///
    /// ## Why it matters
    /// The pod will not start; worse, whoever creates an account of that
    /// name later decides what the workload can do, and the permissions
    /// reviewed with the manifests are not the ones it gets.
    ///
    /// ## How to fix
    /// Add the ServiceAccount to the manifests, or correct the name.
    ///
    /// ## References
    /// - kube-linter `non-existent-service-account`
    MissingServiceAccount, "CRL-W025", "non-existent-service-account", Workload, Low,
    "Pod names a ServiceAccount that is not defined"
}

impl Rule for MissingServiceAccount {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        use std::collections::BTreeSet;
        let namespace = |o: &Object| o.namespace.clone().unwrap_or_else(|| "default".into());
        let accounts: BTreeSet<(String, String)> = context
            .model
            .iter()
            .filter(|(_, r)| matches!(r, Resource::ServiceAccount(_)))
            .filter_map(|(o, _)| Some((namespace(o), o.name.clone()?)))
            .collect();
        for (object, template) in context.model.workloads() {
            let Some(name) = template.spec.service_account_name.as_deref() else {
                continue;
            };
            let ns = namespace(object);
            let defined_here = accounts.iter().any(|(n, _)| *n == ns);
            if name != "default"
                && defined_here
                && !accounts.contains(&(ns.clone(), name.to_string()))
            {
                out.push(Finding::new(
                    &Self::META,
                    object,
                    &service_account_field(object, &template.path),
                    format!("ServiceAccount `{name}` is not defined in namespace `{ns}`"),
                    "add the ServiceAccount, or correct the name".into(),
                ));
            }
        }
    }
}
