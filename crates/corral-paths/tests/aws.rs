//! Cluster → AWS, on a hand-written EKS scenario (`tests/data/aws/`): IRSA
//! decided by the roles' trust policies (a `StringLike` wildcard reaches
//! an unannotated service account), and node roles through the metadata
//! service (IMDSv1: every pod; IMDSv2 with hop limit 1: host-network pods
//! only), EKS Pod Identity with a target role, and the way back into the
//! cluster through aws-auth and access entries.

mod common;

use std::collections::BTreeSet;

use common::{edges, hops};
use corral_paths::{EdgeKind, Graph};

fn graph() -> Graph {
    common::graph(
        "aws",
        &[
            "authorization-details.json",
            "describe-cluster.json",
            "describe-instances.json",
            "describe-pod-identity-association.json",
            "describe-access-entry.json",
            "list-associated-access-policies.json",
        ],
    )
}

#[test]
fn irsa_follows_the_trust_policy_not_the_annotation() {
    let g = graph();
    let admin = "aws/arn:aws:iam::111122223333:role/shop-admin".to_string();
    let billing = "aws/arn:aws:iam::111122223333:role/billing".to_string();
    let token = |sa: &str| format!("token/shop/{sa}/sts.amazonaws.com");
    // The wildcard on sub trusts every service account of shop, annotated
    // or not; billing's exact condition only billing.
    assert_eq!(
        edges(&g, EdgeKind::IrsaAssume),
        BTreeSet::from([
            (token("billing"), admin.clone()),
            (token("billing"), billing.clone()),
            (token("ci"), admin.clone()),
            (token("default"), admin.clone()),
            (token("web"), admin.clone()),
        ])
    );
    // Only the annotated account's pods are given a token for STS.
    let for_sts: BTreeSet<_> = edges(&g, EdgeKind::ProjectedToken)
        .into_iter()
        .filter(|(_, t)| t.ends_with("/sts.amazonaws.com"))
        .collect();
    assert_eq!(
        for_sts,
        BTreeSet::from([(
            "container/shop/payments/payments".to_string(),
            token("billing")
        )])
    );
    use corral_paths::query::To::CloudAdmin;
    assert_eq!(
        hops(&g, "pod/shop/payments", CloudAdmin),
        [["PROJECTED_TOKEN", "IRSA_ASSUME"]]
    );
    // An unannotated account's own token has the API server's audience:
    // no way to the role from its pod...
    assert!(hops(&g, "pod/shop/web", CloudAdmin).is_empty());
    // ...but a pod that may mint tokens for it gets there.
    assert_eq!(
        hops(&g, "pod/shop/ci", CloudAdmin),
        [[
            "IDENTITY_ASSUME",
            "PERMISSION_DISCOVER",
            "TOKEN_REQUEST",
            "TOKEN_REQUEST",
            "IRSA_ASSUME"
        ]]
    );
}

#[test]
fn the_metadata_service_serves_node_roles_as_its_options_allow() {
    let g = graph();
    let imds = edges(&g, EdgeKind::ImdsCredentials);
    let node_role = "aws/arn:aws:iam::111122223333:role/eks-node".to_string();
    let expected: BTreeSet<(String, String)> = [
        "node/ip-10-0-1-10",
        "node/ip-10-0-2-20",
        // IMDSv1 on the first node: its pod, not the one whose
        // NetworkPolicy leaves the metadata address out.
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
    let token = "token/monitoring/agent/pods.eks.amazonaws.com".to_string();
    // The association's role (billing, whose trust admits
    // pods.eks.amazonaws.com) is assumed by EKS, which then assumes its
    // targetRoleArn (shop-admin, whose trust admits billing): the pods get
    // the target, straight from their own association's token.
    assert!(edges(&g, EdgeKind::PodIdentity).is_empty());
    assert_eq!(
        edges(&g, EdgeKind::RoleChain),
        BTreeSet::from([(token.clone(), role("shop-admin"))])
    );
    // The account's pods are given the agent's token.
    assert!(edges(&g, EdgeKind::ProjectedToken)
        .contains(&("container/monitoring/agent/agent".to_string(), token)));
    assert_eq!(
        hops(
            &g,
            "pod/monitoring/agent",
            corral_paths::query::To::CloudAdmin
        ),
        [["PROJECTED_TOKEN", "ROLE_CHAIN"]]
    );
    let sign_in = edges(&g, EdgeKind::CloudSignIn);
    for expected in [
        (role("eks-node"), "group/system:nodes".to_string()),
        (role("billing"), "group/system:masters".to_string()),
        (role("shop-admin"), "group/system:masters".to_string()),
    ] {
        assert!(sign_in.contains(&expected), "{expected:?} in {sign_in:?}");
    }
    // billing's pods reach cluster-admin through AWS and back.
    assert_eq!(
        hops(
            &g,
            "pod/shop/payments",
            corral_paths::query::To::ClusterAdmin
        ),
        [["PROJECTED_TOKEN", "IRSA_ASSUME", "CLOUD_SIGN_IN"]]
    );
}
