//! The typed model: pod templates of every pod-bearing kind with the
//! template's own metadata, RBAC, PSP and the other modelled kinds.

use std::sync::Arc;

use corral_core::model::{Model, Resource, TemplatePaths};
use corral_core::{load_bytes, Limits, Severity};

fn model(text: &str, paths: &TemplatePaths) -> (Model, Vec<corral_core::Diagnostic>) {
    let (objects, diagnostics) = load_bytes(
        &Arc::from("m.yaml"),
        text.as_bytes(),
        &Limits::default(),
        &|_| {},
    );
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    Model::build(objects, paths)
}

const POD_SPEC: &str = "spec: {containers: [{name: c, image: busybox}]}";

fn workload(api_version: &str, kind: &str, template_at: &str) -> String {
    if template_at.is_empty() {
        return format!("apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: pod, labels: {{from: {kind}}}}}\n{POD_SPEC}\n");
    }
    let mut body = format!("metadata:\n  labels: {{from: {kind}}}\n{POD_SPEC}");
    for key in template_at.rsplit('.').filter(|k| !k.is_empty()) {
        body = format!("{key}:\n{}", indent(&body));
    }
    format!("apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: {}, labels: {{owner: object}}}}\n{body}\n", kind.to_lowercase())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

#[test]
fn every_pod_bearing_kind_resolves_to_its_template() {
    let cases = [
        ("v1", "Pod", ""),
        ("v1", "PodTemplate", "template"),
        ("v1", "ReplicationController", "spec.template"),
        ("apps/v1", "ReplicaSet", "spec.template"),
        ("apps/v1", "Deployment", "spec.template"),
        ("apps/v1", "StatefulSet", "spec.template"),
        ("apps/v1", "DaemonSet", "spec.template"),
        ("batch/v1", "Job", "spec.template"),
        ("batch/v1", "CronJob", "spec.jobTemplate.spec.template"),
        ("argoproj.io/v1alpha1", "Rollout", "spec.template"),
    ];
    let text: Vec<String> = cases.iter().map(|(v, k, p)| workload(v, k, p)).collect();
    let (model, diagnostics) = model(&text.join("---\n"), &TemplatePaths::default());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let found: Vec<(&str, &str)> = model
        .workloads()
        .map(|(o, t)| (o.kind.as_str(), t.path.as_str()))
        .collect();
    let expected: Vec<(&str, &str)> = cases.iter().map(|(_, k, p)| (*k, *p)).collect();
    assert_eq!(found, expected);
    for (object, template) in model.workloads() {
        assert_eq!(
            template.spec.containers[0].image.as_deref(),
            Some("busybox")
        );
        let labels = template.metadata.labels.as_ref().unwrap();
        // The template's own metadata, not the object's (a Pod's is its own).
        assert_eq!(labels.get("from"), Some(&object.kind), "{}", object.kind);
        let image = object.pos_of(&format!("{}.image", template.spec_path("containers[0]")));
        assert_eq!(
            object
                .root
                .at(&format!("{}.image", template.spec_path("containers[0]")))
                .unwrap()
                .pos
                .line,
            image.line
        );
    }
}

#[test]
fn custom_template_paths_are_configurable() {
    let text = workload("example.com/v1", "Worker", "spec.podTemplate");
    let (model, _) = model(&text, &TemplatePaths::default());
    assert_eq!(model.workloads().count(), 0);
    let (model, _) = model_with(&text, "spec.podTemplate");
    assert_eq!(
        model
            .workloads()
            .map(|(_, t)| t.path.clone())
            .collect::<Vec<_>>(),
        ["spec.podTemplate"]
    );
    // A built-in kind never takes a custom path.
    let (model, _) = model_with(
        &workload("v1", "ConfigMap", "spec.podTemplate"),
        "spec.podTemplate",
    );
    assert_eq!(model.workloads().count(), 0);
}

fn model_with(text: &str, path: &str) -> (Model, Vec<corral_core::Diagnostic>) {
    model(text, &TemplatePaths(vec![path.to_string()]))
}

#[test]
fn rbac_psp_secret_and_others_decode() {
    let text = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate: \"true\"}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: Group, name: \"system:authenticated\"}]
---
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: psp}
spec:
  privileged: true
  hostPorts: [{min: 0, max: 65535}]
  runAsUser: {rule: MustRunAs, ranges: [{min: 1000, max: 2000}]}
  allowedHostPaths: [{pathPrefix: /var/log, readOnly: true}]
  seLinux: {rule: RunAsAny}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
type: Opaque
data: {password: aHVudGVyMg==}
stringData: {token: abc}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: ns}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-auth, namespace: kube-system}
data: {mapRoles: \"- rolearn: arn:aws:iam::1:role/x\\n\"}
";
    let (model, diagnostics) = model(text, &TemplatePaths::default());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let r = &model.resources;
    let Resource::ClusterRole(role) = &r[0] else {
        panic!("{:?}", r[0])
    };
    assert_eq!(
        role.aggregation_rule
            .as_ref()
            .unwrap()
            .cluster_role_selectors
            .as_ref()
            .unwrap()
            .len(),
        1
    );
    let Resource::RoleBinding(binding) = &r[1] else {
        panic!()
    };
    assert_eq!(
        binding.subjects.as_ref().unwrap()[0].name,
        "system:authenticated"
    );
    let Resource::PodSecurityPolicy(psp) = &r[2] else {
        panic!()
    };
    assert_eq!(psp.spec.privileged, Some(true));
    assert_eq!(
        psp.spec
            .run_as_user
            .as_ref()
            .unwrap()
            .ranges
            .as_ref()
            .unwrap()[0]
            .max,
        2000
    );
    assert_eq!(
        psp.spec.allowed_host_paths.as_ref().unwrap()[0]
            .path_prefix
            .as_deref(),
        Some("/var/log")
    );
    let Resource::Secret(secret) = &r[3] else {
        panic!()
    };
    assert_eq!(secret.keys, ["password", "token"]);
    assert!(matches!(&r[4], Resource::NetworkPolicy(_)));
    let Resource::ConfigMap(cm) = &r[5] else {
        panic!()
    };
    assert!(cm.data.as_ref().unwrap()["mapRoles"].contains("rolearn"));
}

#[test]
fn plain_scalars_read_into_strings_keep_their_text() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {version: 1.10, enabled: yes}\nspec:\n  hostNetwork: yes\n  containers: [{name: c, image: x, resources: {limits: {cpu: 1}}}]\n";
    let (model, _) = model(text, &TemplatePaths::default());
    let (_, template) = model.workloads().next().unwrap();
    let labels = template.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["version"], "1.10");
    assert_eq!(labels["enabled"], "yes");
    assert_eq!(template.spec.host_network, Some(true));
    let cpu = &template.spec.containers[0]
        .resources
        .as_ref()
        .unwrap()
        .limits
        .as_ref()
        .unwrap()["cpu"];
    assert_eq!(cpu.0, "1");
}

#[test]
fn a_value_of_the_wrong_type_is_an_error_at_the_value() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: n}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        ports:\n        - containerPort: PORT\n";
    let (model, diagnostics) = model(text, &TemplatePaths::default());
    assert!(matches!(model.resources[0], Resource::Other));
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].severity, Severity::Error);
    assert_eq!(diagnostics[0].location(), "m.yaml:10:26");
    assert_eq!(
        diagnostics[0].message,
        "Deployment n/d: invalid type: string \"PORT\", expected i32"
    );
}

/// A lean template keeps every field the attack graph reads, and an
/// object the full decoder rejects is rejected lean too, with the same
/// message.
#[test]
fn lean_templates_keep_the_graphs_fields_and_reject_what_full_rejects() {
    use corral_core::model::selector::Labels;
    use corral_core::model::Templates;

    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {b: '2', a: '1'}}\nspec:\n  nodeName: n1\n  serviceAccountName: sa\n  automountServiceAccountToken: false\n  hostPID: true\n  hostNetwork: true\n  shareProcessNamespace: true\n  securityContext: {runAsUser: 0}\n  initContainers: [{name: init}]\n  containers:\n  - name: c\n    securityContext: {privileged: true}\n    volumeMounts: [{name: h, mountPath: /h}]\n    ports: [{containerPort: 80, hostPort: 8080}]\n  volumes: [{name: h, hostPath: {path: /}}, {name: e, emptyDir: {}}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: ~, spec: {containers: ~}}}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {metadata: {labels: {x: y}}, spec: ~}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec: {containers: [{name: c, image: [1]}]}\n";
    let paths = TemplatePaths::default();
    let objects = model(text, &paths).0.objects;
    let lean = |i: usize| match Resource::decode_as(&objects[i], &paths, Templates::Lean) {
        Ok(Resource::LeanWorkload(template)) => template,
        other => panic!("{other:?}"),
    };
    let pod = lean(0);
    assert_eq!(pod.path, "");
    assert_eq!(
        (
            pod.labels.label("a"),
            pod.labels.label("b"),
            pod.labels.label("c")
        ),
        (Some("1"), Some("2"), None)
    );
    let spec = &pod.spec;
    assert_eq!(spec.node_name.as_deref(), Some("n1"));
    assert_eq!(pod.service_account(), "sa");
    assert_eq!(
        (
            spec.automount_service_account_token,
            spec.host_pid,
            spec.host_network,
            spec.share_process_namespace
        ),
        (Some(false), Some(true), Some(true), Some(true))
    );
    assert_eq!(spec.security_context.as_ref().unwrap().run_as_user, Some(0));
    assert_eq!(spec.init_containers.as_ref().unwrap()[0].name, "init");
    let container = &spec.containers[0];
    assert_eq!(container.name, "c");
    assert_eq!(
        container.security_context.as_ref().unwrap().privileged,
        Some(true)
    );
    assert_eq!(
        container.volume_mounts.as_ref().unwrap()[0].mount_path,
        "/h"
    );
    assert_eq!(container.ports.as_ref().unwrap()[0].host_port, Some(8080));
    let volumes = spec.volumes.as_ref().unwrap();
    assert_eq!(volumes[0].host_path.as_ref().unwrap().path, "/");
    assert!(volumes[1].host_path.is_none());
    // A null template metadata, spec or container list is empty, as the
    // API server reads it.
    let deployment = lean(1);
    assert_eq!(deployment.path, "spec.template");
    assert!(deployment.spec.containers.is_empty());
    assert_eq!(deployment.service_account(), "default");
    let job = lean(2);
    assert_eq!(job.labels.label("x"), Some("y"));
    assert!(job.spec.containers.is_empty());
    let errors: Vec<String> = [Templates::Full, Templates::Lean]
        .into_iter()
        .map(|as_| {
            Resource::decode_as(&objects[3], &paths, as_)
                .unwrap_err()
                .message
        })
        .collect();
    assert!(errors[0].contains("invalid type"), "{}", errors[0]);
    assert_eq!(errors[0], errors[1]);
}
