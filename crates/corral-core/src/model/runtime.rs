//! What the node makes of a pod spec. Container runtimes (containerd,
//! CRI-O) upper-case capability names, take them with or without `CAP_`,
//! and read `ALL` in any case; the kubelet mounts a host path as the node's
//! filesystem resolves it. Every analysis asks here, so that the scanner
//! and the attack graph agree on what a container holds.

use k8s_openapi::api::core::v1::{Container, PodSpec, SecurityContext, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// A capability as the runtime names it: `sys_admin`, `CAP_SYS_ADMIN` and
/// `SYS_ADMIN` are `SYS_ADMIN`.
pub fn capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    match upper.strip_prefix("CAP_") {
        Some(rest) => rest.to_string(),
        None => upper,
    }
}

/// The capabilities containerd grants a container by default (CRI-O's
/// default set is smaller: this is the one that grants most).
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Does the container hold `wanted` (named as [`capability`] names it)
/// once the runtime has applied its `add` and `drop`? Both runtimes
/// start from `add: [ALL]` (every capability) or the default set, empty
/// it on `drop: [ALL]`, then add, then drop, one by one. Each list is read
/// as the runtime that makes it count for most does, so that a verdict
/// is never "safe" on one runtime only: an add as CRI-O reads it (any
/// case, with or without `CAP_`), a drop as containerd does (any case,
/// but `CAP_NET_RAW` becomes `CAP_CAP_NET_RAW`, which drops nothing, and
/// spaces are kept).
pub fn holds(context: Option<&SecurityContext>, wanted: &str) -> bool {
    let (add, drop) = add_and_drop(context);
    let dropped = |c: &String| c.eq_ignore_ascii_case(wanted);
    let mut held = add_all(add) || DEFAULT_CAPABILITIES.contains(&wanted);
    if drop_all(drop) {
        held = false;
    }
    if add.iter().any(|c| capability(c) == wanted) {
        held = true;
    }
    held && !drop.iter().any(dropped)
}

/// Does the container keep every capability (`add: [ALL]`, no
/// `drop: [ALL]`)?
pub fn keeps_all(context: Option<&SecurityContext>) -> bool {
    let (add, drop) = add_and_drop(context);
    add_all(add) && !drop_all(drop)
}

/// The container's `capabilities.add` and `capabilities.drop`.
fn add_and_drop(context: Option<&SecurityContext>) -> (&[String], &[String]) {
    let capabilities = context.and_then(|c| c.capabilities.as_ref());
    (
        capabilities
            .and_then(|c| c.add.as_deref())
            .unwrap_or_default(),
        capabilities
            .and_then(|c| c.drop.as_deref())
            .unwrap_or_default(),
    )
}

/// `ALL` in an add, as CRI-O reads it (any case, `CAP_` or not).
fn add_all(add: &[String]) -> bool {
    add.iter().any(|c| capability(c) == "ALL")
}

/// `ALL` in a drop, as containerd reads it (any case, nothing else).
fn drop_all(drop: &[String]) -> bool {
    drop.iter().any(|c| c.eq_ignore_ascii_case("ALL"))
}

/// A drop entry that containerd does not apply but means `wanted`
/// (`CAP_NET_RAW`, ` net_raw`), for a finding to name.
pub fn ineffective_drop<'a>(context: Option<&'a SecurityContext>, wanted: &str) -> Option<&'a str> {
    add_and_drop(context)
        .1
        .iter()
        .find(|c| capability(c) == wanted && !c.eq_ignore_ascii_case(wanted))
        .map(String::as_str)
}

/// Does the volume project a service account token the API server
/// accepts (a `serviceAccountToken` source for its default audience, or
/// for `kubernetes.default.svc`)? Mounted, it is the account's identity
/// whatever `automountServiceAccountToken` says.
pub fn api_token_volume(volume: &Volume) -> bool {
    volume
        .projected
        .iter()
        .flat_map(|p| p.sources.iter().flatten())
        .filter_map(|source| source.service_account_token.as_ref())
        .any(|token| {
            token
                .audience
                .as_deref()
                .is_none_or(|a| a.is_empty() || a.contains("kubernetes.default.svc"))
        })
}

/// Does the container run without AppArmor? Its own `appArmorProfile`,
/// else the deprecated annotation
/// `container.apparmor.security.beta.kubernetes.io/<name>` (which the API
/// server still copies into the field), else the pod's profile.
pub fn app_armor_unconfined(metadata: &ObjectMeta, spec: &PodSpec, container: &Container) -> bool {
    if let Some(profile) = container
        .security_context
        .as_ref()
        .and_then(|c| c.app_armor_profile.as_ref())
    {
        return profile.type_ == "Unconfined";
    }
    let key = format!(
        "container.apparmor.security.beta.kubernetes.io/{}",
        container.name
    );
    if let Some(value) = metadata.annotations.as_ref().and_then(|a| a.get(&key)) {
        return value == "unconfined";
    }
    spec.security_context
        .as_ref()
        .and_then(|c| c.app_armor_profile.as_ref())
        .is_some_and(|p| p.type_ == "Unconfined")
}

/// Is it a Windows pod (`spec.os.name: windows`)? Validation forbids the
/// Linux-only fields there (`allowPrivilegeEscalation`,
/// `readOnlyRootFilesystem`, capabilities, `procMount`, sysctls, SELinux,
/// seccomp, `runAsUser`...), so they are never a fix.
pub fn windows(spec: &PodSpec) -> bool {
    spec.os.as_ref().is_some_and(|os| os.name == "windows")
}

/// A host path as the kubelet mounts it: `//etc/`, `/etc/.` and `/etc` are
/// one directory. `..` is resolved too (validation rejects it, but a
/// verdict must not depend on it). Windows paths (with `\` or a drive) are
/// returned as written.
pub fn host_path(path: &str) -> String {
    if !path.starts_with('/') || path.starts_with("//./") {
        return path.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Container runtime sockets, as the node resolves them (`/var/run` is a
/// link to `/run` on every current distribution): whoever reaches one
/// controls every container of the node.
pub const RUNTIME_SOCKETS: [&str; 7] = [
    "/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/run/docker.sock",
    "/run/cri-dockerd.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/k0s/containerd.sock",
    "/run/podman/podman.sock",
];

/// The runtimes' named pipes on Windows nodes.
const RUNTIME_PIPES: [&str; 2] = ["docker_engine", "containerd-containerd"];

/// Node directories whose files are the node's credentials, configuration
/// or devices, or every pod's tokens.
pub const SENSITIVE_PATHS: [&str; 22] = [
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib64",
    "/sbin",
    "/proc",
    "/sys",
    "/usr",
    "/root",
    "/home",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/etcd",
    "/var/lib/containers",
    "/var/lib/cri-o",
    "/var/lib/rancher",
    "/opt/cni/bin",
    "/etc/kubernetes",
];

/// The same on Windows nodes, lower-cased, with `\`.
const WINDOWS_SENSITIVE_PATHS: [&str; 6] = [
    r"c:\",
    r"c:\windows",
    r"c:\var\lib\kubelet",
    r"c:\etc\kubernetes",
    r"c:\programdata\docker",
    r"c:\programdata\containerd",
];

/// `path` with `/var/run` read as `/run`, as the node resolves it.
fn resolved(path: &str) -> String {
    let path = host_path(path);
    match path.strip_prefix("/var/run") {
        Some("") => "/run".into(),
        Some(rest) if rest.starts_with('/') => format!("/run{rest}"),
        _ => path,
    }
}

/// Is `inner` strictly under `outer` (both clean)?
fn under(inner: &str, outer: &str) -> bool {
    inner != outer
        && (outer == "/"
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('/')))
}

/// The runtime socket a host path volume of `path` reaches: the socket
/// itself, or a directory that holds it (`/run/containerd`, `/var/run`,
/// `/`). Windows named pipes (`\\.\pipe\docker_engine`) count too.
pub fn runtime_socket(path: &str) -> Option<&'static str> {
    let pipe = path
        .replace('/', "\\")
        .to_ascii_lowercase()
        .strip_prefix("\\\\.\\pipe\\")
        .map(str::to_string);
    if let Some(pipe) = pipe {
        return RUNTIME_PIPES.into_iter().find(|p| *p == pipe);
    }
    let path = resolved(path);
    RUNTIME_SOCKETS
        .into_iter()
        .find(|s| *s == path || under(s, &path))
}

/// The sensitive node directory a host path volume of `path` exposes: one
/// of [`SENSITIVE_PATHS`], a directory under one, or a directory that holds
/// one (`/var` and `/var/lib` hold the kubelet's state): the deepest
/// directory it is in, else the first it holds.
pub fn sensitive_path(path: &str) -> Option<&'static str> {
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return windows_sensitive_path(path);
    }
    let path = resolved(path);
    let inside = |s: &&str| path == *s || (*s != "/" && under(&path, s));
    SENSITIVE_PATHS
        .into_iter()
        .filter(inside)
        .max_by_key(|s| s.len())
        .or_else(|| SENSITIVE_PATHS.into_iter().find(|s| under(s, &path)))
}

/// [`sensitive_path`] of a Windows path (`C:\`, `c:/windows`): in any
/// case, with `/` or `\`.
fn windows_sensitive_path(path: &str) -> Option<&'static str> {
    let path = path.replace('/', "\\").to_ascii_lowercase();
    let parts: Vec<&str> = path
        .split('\\')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let path = format!("{}\\{}", parts.first()?, parts[1..].join("\\"));
    let under = |inner: &str, outer: &str| {
        inner != outer
            && inner
                .strip_prefix(outer)
                .is_some_and(|rest| outer.ends_with('\\') || rest.starts_with('\\'))
    };
    let inside = |s: &&str| path == *s || (!s.ends_with('\\') && under(&path, s));
    WINDOWS_SENSITIVE_PATHS
        .into_iter()
        .filter(inside)
        .max_by_key(|s| s.len())
        .or_else(|| {
            WINDOWS_SENSITIVE_PATHS
                .into_iter()
                .find(|s| under(s, &path))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(json: &str) -> SecurityContext {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn capabilities_are_held_as_the_runtimes_apply_them() {
        assert_eq!(capability("sys_admin"), "SYS_ADMIN");
        assert_eq!(capability("Cap_Net_Raw"), "NET_RAW");
        let holds_in = |json: &str, cap: &str| holds(Some(&context(json)), cap);
        // The default set, and nothing else.
        assert!(holds(None, "NET_RAW") && !holds(None, "SYS_ADMIN"));
        // Any case; `ALL` adds every capability and drops every one.
        assert!(holds_in(
            r#"{"capabilities": {"add": ["all"]}}"#,
            "SYS_MODULE"
        ));
        assert!(holds_in(
            r#"{"capabilities": {"add": ["sys_admin"]}}"#,
            "SYS_ADMIN"
        ));
        assert!(holds_in(
            r#"{"capabilities": {"add": ["CAP_SYS_ADMIN"]}}"#,
            "SYS_ADMIN"
        ));
        assert!(!holds_in(
            r#"{"capabilities": {"drop": ["all"]}}"#,
            "NET_RAW"
        ));
        assert!(!holds_in(
            r#"{"capabilities": {"drop": ["net_raw"]}}"#,
            "NET_RAW"
        ));
        // Add all, then drop all, then add, then drop.
        assert!(!holds_in(
            r#"{"capabilities": {"add": ["ALL"], "drop": ["ALL"]}}"#,
            "SYS_MODULE"
        ));
        assert!(!holds_in(
            r#"{"capabilities": {"add": ["ALL"], "drop": ["SYS_MODULE"]}}"#,
            "SYS_MODULE"
        ));
        assert!(holds_in(
            r#"{"capabilities": {"add": ["NET_RAW"], "drop": ["ALL"]}}"#,
            "NET_RAW"
        ));
        assert!(!holds_in(
            r#"{"capabilities": {"add": ["SYS_ADMIN"], "drop": ["SYS_ADMIN"]}}"#,
            "SYS_ADMIN"
        ));
        // containerd makes `CAP_NET_RAW` into `CAP_CAP_NET_RAW`: nothing is
        // dropped; nor is ` all ` all.
        let prefixed = context(r#"{"capabilities": {"drop": ["CAP_NET_RAW"]}}"#);
        assert!(holds(Some(&prefixed), "NET_RAW"));
        assert_eq!(
            ineffective_drop(Some(&prefixed), "NET_RAW"),
            Some("CAP_NET_RAW")
        );
        assert!(holds_in(
            r#"{"capabilities": {"drop": [" all "]}}"#,
            "NET_RAW"
        ));
        assert!(holds_in(
            r#"{"capabilities": {"drop": ["CAP_ALL"]}}"#,
            "NET_RAW"
        ));
    }

    #[test]
    fn host_paths_resolve_as_the_kubelet_mounts_them() {
        for (written, clean) in [
            ("//etc", "/etc"),
            ("/var//run/docker.sock", "/var/run/docker.sock"),
            ("/etc/", "/etc"),
            ("/etc/./kubernetes/.", "/etc/kubernetes"),
            ("/tmp/../etc", "/etc"),
            ("/", "/"),
            ("///", "/"),
            ("/..", "/"),
        ] {
            assert_eq!(host_path(written), clean, "{written}");
        }
    }

    #[test]
    fn a_directory_holding_a_socket_exposes_it() {
        for path in [
            "/var/run/docker.sock",
            "/var//run/docker.sock",
            "/run/containerd",
            "/var/run/containerd/",
            "/var/run",
            "/run",
            "/",
            "\\\\.\\pipe\\docker_engine",
            "//./pipe/containerd-containerd",
        ] {
            assert!(runtime_socket(path).is_some(), "{path}");
        }
        for path in [
            "/var",
            "/var/lib",
            "/run/containerd/io.containerd",
            "/tmp",
            "/var/run-x",
        ] {
            assert_eq!(runtime_socket(path), None, "{path}");
        }
    }

    #[test]
    fn parents_and_children_of_sensitive_paths_expose_them() {
        for (path, exposed) in [
            ("/var", "/var/lib/kubelet"),
            ("/var/lib", "/var/lib/kubelet"),
            ("/var/lib/kubelet/pods", "/var/lib/kubelet"),
            ("//etc/kubernetes/", "/etc/kubernetes"),
            ("/etc/ssl", "/etc"),
            ("/", "/"),
        ] {
            assert_eq!(sensitive_path(path), Some(exposed), "{path}");
        }
        for path in [
            "/tmp",
            "/var/log",
            "/run",
            "/data",
            "/var/lib/app",
            "/mnt/disks",
        ] {
            assert_eq!(sensitive_path(path), None, "{path}");
        }
        for (path, exposed) in [
            (r"C:\", r"c:\"),
            ("c:/", r"c:\"),
            (r"C:\Windows\System32", r"c:\windows"),
            (r"C:\var", r"c:\var\lib\kubelet"),
            ("C:/var/lib/kubelet/", r"c:\var\lib\kubelet"),
        ] {
            assert_eq!(sensitive_path(path), Some(exposed), "{path}");
        }
        for path in [r"C:\data", r"D:\", r"C:\var\log"] {
            assert_eq!(sensitive_path(path), None, "{path}");
        }
    }
}
