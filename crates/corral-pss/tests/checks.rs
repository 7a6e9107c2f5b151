//! Exact reasons and details for every check, written from upstream's
//! behaviour (`policy/check_*_test.go` and real API server messages).

mod common;

use corral_pss::{Evaluation, LevelVersion};

/// Evaluate a Pod written as YAML (`spec` and optional `metadata` fields).
fn eval(policy: &str, pod: &str) -> Evaluation {
    let (level, version) = policy.split_once(':').unwrap();
    let policy = LevelVersion {
        level: level.parse().unwrap(),
        version: version.parse().unwrap(),
    };
    common::evaluate_manifest(&format!("apiVersion: v1\nkind: Pod\n{pod}"), &policy)
}

/// The (reason, detail) of `check`, or None if it passed.
fn result(policy: &str, check: &str, pod: &str) -> Option<(String, String)> {
    eval(policy, pod)
        .violations
        .into_iter()
        .find(|v| v.check == check)
        .map(|v| (v.reason, v.detail))
}

fn forbidden(policy: &str, check: &str, pod: &str, reason: &str, detail: &str) {
    assert_eq!(
        result(policy, check, pod),
        Some((reason.to_string(), detail.to_string())),
        "{pod}"
    );
}

fn allowed(policy: &str, check: &str, pod: &str) {
    assert_eq!(result(policy, check, pod), None, "{pod}");
}

#[test]
fn privileged() {
    forbidden(
        "baseline:latest",
        "privileged",
        "spec:\n  containers:\n  - {name: a, securityContext: {privileged: true}}\n  - {name: b, securityContext: {privileged: false}}\n  - {name: c, securityContext: {privileged: true}}\n",
        "privileged",
        r#"containers "a", "c" must not set securityContext.privileged=true"#,
    );
}

#[test]
fn host_namespaces() {
    let all = "spec: {hostNetwork: true, hostPID: true, hostIPC: true, containers: [{name: a}]}\n";
    forbidden(
        "baseline:latest",
        "hostNamespaces",
        all,
        "host namespaces",
        "hostNetwork=true, hostPID=true, hostIPC=true",
    );
    let pid = "spec: {hostPID: true, containers: [{name: a}]}\n";
    forbidden(
        "baseline:latest",
        "hostNamespaces",
        pid,
        "host namespaces",
        "hostPID=true",
    );
}

#[test]
fn host_path_volumes() {
    let pod = "spec:\n  containers: [{name: a}]\n  volumes:\n  - {name: a, hostPath: {path: /a}}\n  - {name: b, emptyDir: {}}\n  - {name: c, hostPath: {path: /c}}\n";
    forbidden(
        "baseline:latest",
        "hostPathVolumes",
        pod,
        "hostPath volumes",
        r#"volumes "a", "c""#,
    );
    // Overridden at restricted by restrictedVolumes.
    allowed("restricted:latest", "hostPathVolumes", pod);
}

#[test]
fn host_ports() {
    let pod = "spec:\n  containers:\n  - {name: a, ports: [{containerPort: 1, hostPort: 20}, {containerPort: 2, hostPort: 100}]}\n  - {name: b, ports: [{containerPort: 3, hostPort: 0}]}\n  - {name: c, ports: [{containerPort: 4, hostPort: 30}]}\n";
    // A string set: sorted as text.
    forbidden(
        "baseline:latest",
        "hostPorts",
        pod,
        "hostPort",
        r#"containers "a", "c" use hostPorts 100, 20, 30"#,
    );
    // Upstream's own cases: repeated ports are listed once.
    let one = "spec:\n  containers:\n  - {name: a, ports: [{containerPort: 1, hostPort: 0}]}\n  - {name: b, ports: [{containerPort: 1, hostPort: 0}, {containerPort: 2, hostPort: 20}]}\n";
    forbidden(
        "baseline:latest",
        "hostPorts",
        one,
        "hostPort",
        r#"container "b" uses hostPort 20"#,
    );
    let many = "spec:\n  containers:\n  - {name: a, ports: [{containerPort: 1, hostPort: 0}]}\n  - {name: b, ports: [{containerPort: 1, hostPort: 0}, {containerPort: 2, hostPort: 10}, {containerPort: 3, hostPort: 20}]}\n  - {name: c, ports: [{containerPort: 1, hostPort: 0}, {containerPort: 2, hostPort: 10}, {containerPort: 3, hostPort: 30}]}\n";
    forbidden(
        "baseline:latest",
        "hostPorts",
        many,
        "hostPort",
        r#"containers "b", "c" use hostPorts 10, 20, 30"#,
    );
    // hostNetwork copies containerPort into hostPort, as the API server does.
    let host_network =
        "spec:\n  hostNetwork: true\n  containers: [{name: a, ports: [{containerPort: 8080}]}]\n";
    forbidden(
        "baseline:latest",
        "hostPorts",
        host_network,
        "hostPort",
        r#"container "a" uses hostPort 8080"#,
    );
}

#[test]
fn capabilities_baseline() {
    let pod = "spec:\n  containers:\n  - {name: a, securityContext: {capabilities: {add: [SYS_ADMIN, CHOWN, NET_RAW], drop: [ALL]}}}\n  - {name: b, securityContext: {capabilities: {add: [chown]}}}\n  - {name: c, securityContext: {capabilities: {add: [KILL]}}}\n";
    forbidden(
        "baseline:latest",
        "capabilities_baseline",
        pod,
        "non-default capabilities",
        r#"containers "a", "b" must not include "NET_RAW", "SYS_ADMIN", "chown" in securityContext.capabilities.add"#,
    );
}

#[test]
fn app_armor_profile() {
    forbidden(
        "baseline:latest",
        "appArmorProfile",
        "spec: {securityContext: {appArmorProfile: {type: Unconfined}}, containers: [{name: a}]}\n",
        "forbidden AppArmor profile",
        r#"pod must not set AppArmor profile type to "Unconfined""#,
    );
    forbidden(
        "baseline:latest",
        "appArmorProfile",
        "spec:\n  securityContext: {appArmorProfile: {type: RuntimeDefault}}\n  containers: [{name: foo}]\n  initContainers: [{name: bar, securityContext: {appArmorProfile: {type: Unconfined}}}]\n",
        "forbidden AppArmor profile",
        r#"container "bar" must not set AppArmor profile type to "Unconfined""#,
    );
    let annotations = r#"metadata:
  name: p
  annotations:
    container.apparmor.security.beta.kubernetes.io/: bogus
    container.apparmor.security.beta.kubernetes.io/a: ""
    container.apparmor.security.beta.kubernetes.io/b: runtime/default
    container.apparmor.security.beta.kubernetes.io/c: localhost/
    container.apparmor.security.beta.kubernetes.io/d: localhost/foo
    container.apparmor.security.beta.kubernetes.io/e: unconfined
    container.apparmor.security.beta.kubernetes.io/f: unknown
spec: {containers: [{name: a}]}
"#;
    forbidden(
        "baseline:latest",
        "appArmorProfile",
        annotations,
        "forbidden AppArmor profiles",
        r#"annotations must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/="bogus"", "container.apparmor.security.beta.kubernetes.io/e="unconfined"", "container.apparmor.security.beta.kubernetes.io/f="unknown"""#,
    );
}

#[test]
fn se_linux_options() {
    let pod = "spec:\n  securityContext: {seLinuxOptions: {type: foo, user: bar, role: baz}}\n  containers:\n  - {name: a, securityContext: {seLinuxOptions: {type: container_t}}}\n  - {name: b, securityContext: {seLinuxOptions: {type: container_init_t}}}\n  - {name: c, securityContext: {seLinuxOptions: {type: container_kvm_t}}}\n  - {name: d, securityContext: {seLinuxOptions: {type: bar}}}\n  - {name: e, securityContext: {seLinuxOptions: {user: bar}}}\n  - {name: f, securityContext: {seLinuxOptions: {role: baz}}}\n";
    forbidden(
        "baseline:latest",
        "seLinuxOptions",
        pod,
        "seLinuxOptions",
        r#"pod and containers "d", "e", "f" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; user may not be set; role may not be set"#,
    );
    let engine = "spec: {containers: [{name: a, securityContext: {seLinuxOptions: {type: container_engine_t}}}]}\n";
    forbidden(
        "baseline:v1.30",
        "seLinuxOptions",
        engine,
        "seLinuxOptions",
        r#"container "a" set forbidden securityContext.seLinuxOptions: type "container_engine_t""#,
    );
    allowed("baseline:v1.31", "seLinuxOptions", engine);
    allowed(
        "baseline:latest",
        "seLinuxOptions",
        "spec: {securityContext: {seLinuxOptions: {level: 's0:c1'}}, containers: [{name: a}]}\n",
    );
}

#[test]
fn proc_mount() {
    let pod = "spec:\n  containers:\n  - {name: a, securityContext: {procMount: Unmasked}}\n  - {name: b, securityContext: {procMount: Default}}\n";
    forbidden(
        "baseline:latest",
        "procMount",
        pod,
        "procMount",
        r#"container "a" must not set securityContext.procMount to "Unmasked""#,
    );
    let userns = "spec:\n  hostUsers: false\n  containers: [{name: a, securityContext: {procMount: Unmasked}}]\n";
    allowed("baseline:v1.35", "procMount", userns);
    forbidden(
        "baseline:v1.34",
        "procMount",
        userns,
        "procMount",
        r#"container "a" must not set securityContext.procMount to "Unmasked""#,
    );
    // Restricted stays strict through procMount_restricted.
    forbidden(
        "restricted:latest",
        "procMount_restricted",
        userns,
        "procMount",
        r#"container "a" must not set securityContext.procMount to "Unmasked""#,
    );
}

#[test]
fn seccomp_profile_baseline() {
    let annotated = "metadata:\n  name: p\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: unconfined\n    container.seccomp.security.alpha.kubernetes.io/a: runtime/default\n    container.seccomp.security.alpha.kubernetes.io/b: unconfined\n    container.seccomp.security.alpha.kubernetes.io/z: unconfined\nspec: {containers: [{name: a}, {name: b}]}\n";
    forbidden(
        "baseline:v1.18",
        "seccompProfile_baseline",
        annotated,
        "seccompProfile",
        r#"forbidden annotations container.seccomp.security.alpha.kubernetes.io/b="unconfined", seccomp.security.alpha.kubernetes.io/pod="unconfined""#,
    );
    allowed("baseline:v1.19", "seccompProfile_baseline", annotated);
    let fields = "spec:\n  securityContext: {seccompProfile: {type: Unconfined}}\n  containers: [{name: a, securityContext: {seccompProfile: {type: Unconfined}}}, {name: b, securityContext: {seccompProfile: {type: RuntimeDefault}}}]\n";
    forbidden(
        "baseline:latest",
        "seccompProfile_baseline",
        fields,
        "seccompProfile",
        r#"pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined""#,
    );
}

#[test]
fn sysctls() {
    let pod = "spec:\n  securityContext:\n    sysctls:\n    - {name: kernel.msgmax, value: '1'}\n    - {name: net.ipv4.ip_local_reserved_ports, value: '1'}\n    - {name: kernel.shm_rmid_forced, value: '1'}\n    - {name: kernel.msgmax, value: '2'}\n  containers: [{name: a}]\n";
    forbidden(
        "baseline:v1.26",
        "sysctls",
        pod,
        "forbidden sysctls",
        "kernel.msgmax, net.ipv4.ip_local_reserved_ports, kernel.msgmax",
    );
    forbidden(
        "baseline:v1.27",
        "sysctls",
        pod,
        "forbidden sysctls",
        "kernel.msgmax, kernel.msgmax",
    );
    let newest = "spec:\n  securityContext: {sysctls: [{name: net.ipv4.tcp_notsent_lowat, value: '1'}]}\n  containers: [{name: a}]\n";
    forbidden(
        "baseline:v1.36",
        "sysctls",
        newest,
        "forbidden sysctls",
        "net.ipv4.tcp_notsent_lowat",
    );
    allowed("baseline:v1.37", "sysctls", newest);
    allowed("baseline:latest", "sysctls", newest);
}

#[test]
fn windows_host_process() {
    let pod = "spec:\n  hostNetwork: true\n  securityContext: {windowsOptions: {hostProcess: true}}\n  containers: [{name: a, securityContext: {windowsOptions: {hostProcess: true}}}, {name: b}]\n";
    forbidden(
        "baseline:latest",
        "windowsHostProcess",
        pod,
        "hostProcess",
        r#"pod and container "a" must not set securityContext.windowsOptions.hostProcess=true"#,
    );
}

#[test]
fn host_probes_and_host_lifecycle() {
    let pod = "spec:\n  containers:\n  - {name: b, livenessProbe: {httpGet: {host: localhost, port: 80}}}\n  - {name: a, readinessProbe: {tcpSocket: {host: example.com, port: 80}}, lifecycle: {preStop: {httpGet: {host: localhost, port: 80}}}}\n  - {name: c, startupProbe: {grpc: {port: 80}}}\n";
    forbidden(
        "baseline:latest",
        "hostProbesAndHostLifecycle",
        pod,
        "probe or lifecycle host",
        r#"containers "a", "b" use probe or lifecycle hosts "example.com", "localhost""#,
    );
    allowed("baseline:v1.33", "hostProbesAndHostLifecycle", pod);
}

#[test]
fn restricted_volumes() {
    let pod = "spec:\n  containers: [{name: a}]\n  volumes:\n  - {name: a, hostPath: {path: /a}}\n  - {name: b, nfs: {server: s, path: /}}\n  - {name: c, configMap: {name: x}}\n  - {name: d, hostPath: {path: /d}}\n  - {name: e}\n";
    forbidden(
        "restricted:latest",
        "restrictedVolumes",
        pod,
        "restricted volume types",
        r#"volumes "a", "b", "d" use restricted volume types "hostPath", "nfs""#,
    );
    let one = "spec: {containers: [{name: a}], volumes: [{name: g, gitRepo: {repository: r}}]}\n";
    forbidden(
        "restricted:latest",
        "restrictedVolumes",
        one,
        "restricted volume types",
        r#"volume "g" uses restricted volume type "gitRepo""#,
    );
}

#[test]
fn allow_privilege_escalation() {
    let pod = "spec:\n  containers:\n  - {name: a}\n  - {name: b, securityContext: {allowPrivilegeEscalation: true}}\n  - {name: c, securityContext: {allowPrivilegeEscalation: false}}\n";
    forbidden(
        "restricted:latest",
        "allowPrivilegeEscalation",
        pod,
        "allowPrivilegeEscalation != false",
        r#"containers "a", "b" must set securityContext.allowPrivilegeEscalation=false"#,
    );
    allowed("restricted:v1.7", "allowPrivilegeEscalation", pod);
    let windows = "spec: {os: {name: windows}, containers: [{name: a}]}\n";
    allowed("restricted:v1.25", "allowPrivilegeEscalation", windows);
    assert!(result("restricted:v1.24", "allowPrivilegeEscalation", windows).is_some());
}

#[test]
fn run_as_non_root() {
    let explicit = "spec:\n  securityContext: {runAsNonRoot: false}\n  containers: [{name: a, securityContext: {runAsNonRoot: true}}, {name: b, securityContext: {runAsNonRoot: false}}]\n";
    forbidden(
        "restricted:latest",
        "runAsNonRoot",
        explicit,
        "runAsNonRoot != true",
        r#"pod and container "b" must not set securityContext.runAsNonRoot=false"#,
    );
    let implicit = "spec: {containers: [{name: a}, {name: b, securityContext: {}}, {name: c, securityContext: {runAsNonRoot: true}}]}\n";
    forbidden(
        "restricted:latest",
        "runAsNonRoot",
        implicit,
        "runAsNonRoot != true",
        r#"pod or containers "a", "b" must set securityContext.runAsNonRoot=true"#,
    );
    allowed(
        "restricted:latest",
        "runAsNonRoot",
        "spec: {securityContext: {runAsNonRoot: true}, containers: [{name: a}]}\n",
    );
    let userns = "spec: {hostUsers: false, containers: [{name: a}]}\n";
    allowed("restricted:v1.35", "runAsNonRoot", userns);
    assert!(result("restricted:v1.34", "runAsNonRoot", userns).is_some());
}

#[test]
fn run_as_user() {
    let pod = "spec:\n  securityContext: {runAsUser: 0}\n  containers: [{name: a, securityContext: {runAsUser: 0}}, {name: b, securityContext: {runAsUser: 1000}}]\n";
    forbidden(
        "restricted:latest",
        "runAsUser",
        pod,
        "runAsUser=0",
        r#"pod and container "a" must not set runAsUser=0"#,
    );
    allowed("restricted:v1.22", "runAsUser", pod);
}

#[test]
fn seccomp_profile_restricted() {
    let implicit = "spec: {containers: [{name: a}, {name: b, securityContext: {seccompProfile: {type: RuntimeDefault}}}, {name: c}]}\n";
    forbidden(
        "restricted:latest",
        "seccompProfile_restricted",
        implicit,
        "seccompProfile",
        r#"pod or containers "a", "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
    );
    let explicit =
        "spec: {securityContext: {seccompProfile: {type: Unconfined}}, containers: [{name: a}]}\n";
    forbidden(
        "restricted:latest",
        "seccompProfile_restricted",
        explicit,
        "seccompProfile",
        r#"pod must not set securityContext.seccompProfile.type to "Unconfined""#,
    );
    allowed("restricted:v1.18", "seccompProfile_restricted", implicit);
}

#[test]
fn capabilities_restricted() {
    let pod = "spec:\n  containers:\n  - {name: a}\n  - {name: b, securityContext: {capabilities: {drop: [ALL], add: [SYS_ADMIN, NET_BIND_SERVICE]}}}\n  - {name: c, securityContext: {capabilities: {drop: [all]}}}\n";
    forbidden(
        "restricted:latest",
        "capabilities_restricted",
        pod,
        "unrestricted capabilities",
        r#"containers "a", "c" must set securityContext.capabilities.drop=["ALL"]; container "b" must not include "SYS_ADMIN" in securityContext.capabilities.add"#,
    );
    // Upstream's own multiple-container case.
    let upstream = "spec:\n  containers:\n  - {name: a, securityContext: {capabilities: {add: [FOO, BAR]}}}\n  - {name: b, securityContext: {capabilities: {add: [BAR, BAZ]}}}\n  - {name: c, securityContext: {capabilities: {add: [NET_BIND_SERVICE, CHOWN], drop: [ALL, FOO]}}}\n";
    forbidden(
        "restricted:latest",
        "capabilities_restricted",
        upstream,
        "unrestricted capabilities",
        r#"containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add"#,
    );
    assert!(result("restricted:v1.21", "capabilities_restricted", pod).is_none());
    assert!(result("restricted:v1.21", "capabilities_baseline", pod).is_some());
}

/// The whole message, as a v1.32 API server printed it for this pod.
#[test]
fn enforce_message_matches_the_api_server() {
    let pod = "metadata: {name: sysctlpod}\nspec:\n  securityContext:\n    seLinuxOptions: {user: system_u, role: object_r}\n    sysctls: [{name: net.core.somaxconn, value: '1024'}, {name: kernel.msgmax, value: '65536'}]\n  containers: [{name: my-pod, image: busybox}]\n";
    assert_eq!(
        eval("restricted:v1.32", pod).enforce_message(),
        concat!(
            r#"violates PodSecurity "restricted:v1.32": seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: user may not be set; role may not be set), "#,
            r#"forbidden sysctls (net.core.somaxconn, kernel.msgmax), "#,
            r#"allowPrivilegeEscalation != false (container "my-pod" must set securityContext.allowPrivilegeEscalation=false), "#,
            r#"unrestricted capabilities (container "my-pod" must set securityContext.capabilities.drop=["ALL"]), "#,
            r#"runAsNonRoot != true (pod or container "my-pod" must set securityContext.runAsNonRoot=true), "#,
            r#"seccompProfile (pod or container "my-pod" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
        )
    );
}

#[test]
fn violations_point_at_the_fields_to_change() {
    let pod = "spec:\n  initContainers: [{name: i, securityContext: {privileged: true}}]\n  containers: [{name: a}, {name: b, securityContext: {runAsUser: 0}}]\n";
    let evaluation = eval("restricted:latest", pod);
    let fields = |check: &str| {
        evaluation
            .violations
            .iter()
            .find(|v| v.check == check)
            .unwrap()
            .fields
            .clone()
    };
    assert_eq!(
        fields("privileged"),
        ["spec.initContainers[0].securityContext.privileged"]
    );
    assert_eq!(
        fields("runAsUser"),
        ["spec.containers[1].securityContext.runAsUser"]
    );
    assert_eq!(
        fields("allowPrivilegeEscalation")[1],
        "spec.containers[0].securityContext.allowPrivilegeEscalation"
    );
}
