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

/// Decoding lean gives what converting the full decode gives, on every
/// pod-bearing object of the shared corpus and on templates that leave
/// required fields out or null; and wherever the full decode succeeds, the
/// lean one does too.
#[test]
fn lean_templates_decode_as_the_full_ones_convert() {
    use corral_core::model::lean::LeanTemplate;
    use corral_core::model::Templates;
    use corral_core::{load, Input};

    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let mut objects = Vec::new();
    if corpus.exists() {
        objects = load(&[Input::Path(corpus)], &Limits::default()).objects;
    }
    let edge_cases = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: ~, securityContext: {privileged: true}, volumeMounts: [{name: h, mountPath: /h}]}]\n  volumes: [{name: h, hostPath: {path: /}}, {name: e, emptyDir: {}}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: ~, spec: {containers: ~, hostPID: true, securityContext: {runAsUser: 0}}}}\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: no-template}\nspec: {}\n";
    let (more, diagnostics) = load_bytes(
        &Arc::from("edge.yaml"),
        edge_cases.as_bytes(),
        &Limits::default(),
        &|_| {},
    );
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    objects.extend(more);
    let paths = TemplatePaths::default();
    let mut compared = 0;
    for object in &objects {
        let Ok(Resource::Workload(full)) = Resource::decode_as(object, &paths, Templates::Full)
        else {
            continue;
        };
        let lean = match Resource::decode_as(object, &paths, Templates::Lean) {
            Ok(Resource::LeanWorkload(lean)) => lean,
            other => panic!("{}:{}: {other:?}", object.file, object.pos.line),
        };
        assert_eq!(
            format!("{:?}", LeanTemplate::from(full.as_ref())),
            format!("{lean:?}"),
            "{}:{}",
            object.file,
            object.pos.line
        );
        compared += 1;
    }
    eprintln!("{compared} pod templates decoded both ways");
    assert!(compared >= 3);
}
