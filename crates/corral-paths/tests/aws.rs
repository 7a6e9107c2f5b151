//! Cluster → AWS, on a hand-written EKS scenario (`tests/data/aws/`): IRSA
//! decided by the roles' trust policies (a `StringLike` wildcard reaches
//! an unannotated service account), and node roles through the metadata
//! service (IMDSv1: every pod; IMDSv2 with hop limit 1: host-network pods
//! only), EKS Pod Identity with a target role, and the way back into the
//! cluster through aws-auth and access entries.

use std::collections::BTreeSet;
use std::path::Path;

use corral_core::model::{Model, TemplatePaths};
use corral_core::{load, Input, Limits};
use corral_paths::cloud::Cloud;
use corral_paths::{build_with, EdgeKind, Graph};

fn graph() -> Graph {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aws");
    let loaded = load(
        &[Input::from_arg(data.join("cluster.yaml").to_str().unwrap())],
        &Limits::default(),
    );
    let (model, errors) = Model::build(loaded.objects, &TemplatePaths::default());
    assert!(errors.is_empty() && loaded.diagnostics.is_empty());
    let files: Vec<(String, String)> = [
        "authorization-details.json",
        "describe-cluster.json",
        "describe-instances.json",
        "describe-pod-identity-association.json",
        "describe-access-entry.json",
        "list-associated-access-policies.json",
    ]
    .iter()
    .map(|f| {
        (
            f.to_string(),
            std::fs::read_to_string(data.join(f)).unwrap(),
        )
    })
    .collect();
    build_with(&model, &Cloud::load(&files).unwrap())
}

fn edges(g: &Graph, kind: EdgeKind) -> BTreeSet<(String, String)> {
    g.edges_of(kind)
        .into_iter()
        .map(|(a, b)| (a.label(), b.label()))
        .collect()
}

#[test]
fn irsa_follows_the_trust_policy_not_the_annotation() {
    let g = graph();
    let irsa = edges(&g, EdgeKind::IrsaAssume);
    let admin = "aws/arn:aws:iam::111122223333:role/shop-admin".to_string();
    let billing = "aws/arn:aws:iam::111122223333:role/billing".to_string();
    // The wildcard on sub reaches every service account of shop,
    // annotated or not; billing's exact condition only billing.
    assert_eq!(
        irsa,
        BTreeSet::from([
            ("sa/shop/billing".to_string(), admin.clone()),
            ("sa/shop/billing".to_string(), billing.clone()),
            ("sa/shop/default".to_string(), admin.clone()),
            ("sa/shop/web".to_string(), admin.clone()),
        ])
    );
    // And a pod of shop reaches cloud admin through its token.
    let paths = corral_paths::query::paths(
        &g,
        &"pod/shop/web".parse().unwrap(),
        corral_paths::query::To::CloudAdmin,
        8,
    );
    assert_eq!(paths.len(), 1);
    let hops: Vec<&str> = paths[0].hops.iter().map(|h| h.edge).collect();
    assert_eq!(hops, ["IDENTITY_ASSUME", "IRSA_ASSUME"]);
}

#[test]
fn the_metadata_service_serves_node_roles_as_its_options_allow() {
    let g = graph();
    let imds = edges(&g, EdgeKind::ImdsCredentials);
    let node_role = "aws/arn:aws:iam::111122223333:role/eks-node".to_string();
    let expected: BTreeSet<(String, String)> = [
        "node/ip-10-0-1-10",
        "node/ip-10-0-2-20",
        // IMDSv1 on the first node: its pod.
        "container/shop/web/web",
        // IMDSv2, hop limit 1 on the second: only the host-network pod.
        "container/monitoring/agent/agent",
    ]
    .iter()
    .map(|s| (s.to_string(), node_role.clone()))
    .collect();
    assert_eq!(imds, expected);
}

#[test]
fn pod_identity_chains_and_signing_back_into_the_cluster() {
    let g = graph();
    let role = |name: &str| format!("aws/arn:aws:iam::111122223333:role/{name}");
    assert_eq!(
        edges(&g, EdgeKind::PodIdentity),
        BTreeSet::from([("sa/monitoring/agent".to_string(), role("billing"))])
    );
    assert_eq!(
        edges(&g, EdgeKind::RoleChain),
        BTreeSet::from([(role("billing"), role("shop-admin"))])
    );
    let sign_in = edges(&g, EdgeKind::CloudSignIn);
    for expected in [
        (role("eks-node"), "group/system:nodes".to_string()),
        (role("billing"), "group/system:masters".to_string()),
        (role("shop-admin"), "group/system:masters".to_string()),
    ] {
        assert!(sign_in.contains(&expected), "{expected:?} in {sign_in:?}");
    }
    // billing's service account reaches cluster-admin through AWS and back.
    let paths = corral_paths::query::paths(
        &g,
        &"sa/shop/billing".parse().unwrap(),
        corral_paths::query::To::ClusterAdmin,
        8,
    );
    let hops: Vec<&str> = paths[0].hops.iter().map(|h| h.edge).collect();
    assert_eq!(hops, ["IRSA_ASSUME", "CLOUD_SIGN_IN"]);
    assert_eq!(paths[0].target, "group/system:masters");
}
