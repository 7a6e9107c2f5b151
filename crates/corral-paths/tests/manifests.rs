//! Plain manifests, as a repository holds them: no Node objects, workload
//! templates instead of pods.

use std::sync::Arc;

use corral_core::model::{Model, TemplatePaths};
use corral_core::{load_bytes, Limits};
use corral_paths::build;
use corral_paths::query::{paths, To};

#[test]
fn a_privileged_template_escapes_to_wherever_it_is_scheduled() {
    let yaml = "apiVersion: apps/v1
kind: Deployment
metadata: {name: agent, namespace: ops}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
        - name: agent
          image: agent
          securityContext: {privileged: true}
";
    let name: Arc<str> = Arc::from("agent.yaml");
    let (objects, _) = load_bytes(&name, yaml.as_bytes(), &Limits::default(), &|_| {});
    let model = Model::build(objects, &TemplatePaths::default()).0;
    let found = paths(&build(&model), &"all-pods".parse().unwrap(), To::Nodes, 8);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].source, "container/ops/Deployment/agent/agent");
    assert_eq!(found[0].target, "node/any");
    assert_eq!(found[0].hops[0].evidence.line, Some(12));
}
