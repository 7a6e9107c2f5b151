//! Cluster → GCP, on a hand-written GKE scenario (`tests/data/gcp/`):
//! Workload Identity decided by IAM (a GSA's `roles/iam.workloadIdentityUser`
//! binding, a direct `principal://` grant, a `principalSet://` namespace
//! grant; an annotation no binding backs gives nothing), and node service
//! accounts through the metadata server as each pool's mode and scopes
//! allow; `roles/container.admin` leads back into the cluster.

mod common;

use std::collections::BTreeSet;

use common::{edges, hops};
use corral_paths::query::To::{CloudAdmin, ClusterAdmin};
use corral_paths::{EdgeKind, Graph};

fn graph() -> Graph {
    common::graph(
        "gcp",
        &[
            "cluster.json",
            "shop-prod.iam-policy.json",
            "deployer@shop-prod.iam.gserviceaccount.com.json",
        ],
    )
}

const POOL: &str = "shop-prod.svc.id.goog";
const DEPLOYER: &str = "gcp/deployer@shop-prod.iam.gserviceaccount.com";
const PRINCIPAL: &str = "gcp/principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/shop-prod.svc.id.goog/subject/ns/ci/sa/release";
const SHOP_SET: &str = "gcp/principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/shop-prod.svc.id.goog/namespace/shop";

fn token(namespace: &str, account: &str) -> String {
    format!("token/{namespace}/{account}/{POOL}")
}

#[test]
fn workload_identity_follows_iam_not_the_annotation() {
    let g = graph();
    let pair = |a: String, b: &str| (a, b.to_string());
    assert_eq!(
        edges(&g, EdgeKind::GkeWorkloadIdentity),
        BTreeSet::from([
            pair(token("ci", "release"), PRINCIPAL),
            // roles/owner on the project holds iam.serviceAccounts.actAs
            // on each of its service accounts.
            pair(token("ci", "release"), DEPLOYER),
            pair(
                token("ci", "release"),
                "gcp/nodes@shop-prod.iam.gserviceaccount.com"
            ),
            pair(token("shop", "api"), SHOP_SET),
            pair(token("shop", "default"), SHOP_SET),
            pair(token("shop", "web"), DEPLOYER),
            pair(token("shop", "web"), SHOP_SET),
        ])
    );
    // The GKE metadata server answers pods of the GKE_METADATA pool only,
    // and not those on the host's network.
    let given: BTreeSet<String> = edges(&g, EdgeKind::ProjectedToken)
        .into_iter()
        .map(|(from, _)| from)
        .collect();
    assert_eq!(
        given,
        BTreeSet::from([
            "container/ci/release/release".to_string(),
            "container/shop/api/api".to_string(),
            "container/shop/web/web".to_string(),
        ])
    );
    assert_eq!(
        hops(&g, "pod/shop/web", CloudAdmin),
        [["PROJECTED_TOKEN", "GKE_WORKLOAD_IDENTITY"]]
    );
    // Two admins, each one exchange away: the principal itself (owner)
    // and deployer, which owner may act as.
    assert_eq!(
        hops(&g, "pod/ci/release", CloudAdmin),
        [
            ["PROJECTED_TOKEN", "GKE_WORKLOAD_IDENTITY"],
            ["PROJECTED_TOKEN", "GKE_WORKLOAD_IDENTITY"]
        ]
    );
    // Annotated with deployer, but deployer's policy does not bind it.
    assert!(hops(&g, "pod/shop/api", CloudAdmin).is_empty());
    // roles/container.admin on the project: back in as cluster-admin.
    assert_eq!(
        hops(&g, "pod/shop/web", ClusterAdmin),
        [["PROJECTED_TOKEN", "GKE_WORKLOAD_IDENTITY", "CLOUD_SIGN_IN"]]
    );
}

#[test]
fn node_service_accounts_through_the_metadata_server() {
    let g = graph();
    let default = "gcp/default compute service account of shop-prod";
    let scoped = "gcp/default compute service account of shop-prod (limited OAuth scopes)";
    let nodes = "gcp/nodes@shop-prod.iam.gserviceaccount.com";
    let expected: BTreeSet<(String, String)> = [
        ("node/gke-shop-default-pool-1a2b3c4d-x1y2", default),
        ("node/gke-shop-legacy-pool-5e6f7a8b-z3w4", nodes),
        ("node/gke-shop-scoped-pool-9c0d1e2f-v5u6", scoped),
        // GKE_METADATA: only the host-network pod gets past it.
        ("container/monitoring/agent/agent", default),
        // GCE_METADATA: every pod.
        ("container/shop/batch/batch", nodes),
        ("container/shop/report/report", scoped),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(edges(&g, EdgeKind::ImdsCredentials), expected);
    // The default compute account is an editor: admin, with the full
    // scope; not through a pool whose scopes limit its token.
    assert_eq!(
        hops(&g, "pod/monitoring/agent", CloudAdmin),
        [["IMDS_CREDENTIALS"]]
    );
    assert!(hops(&g, "pod/shop/report", CloudAdmin).is_empty());
    assert!(hops(&g, "pod/shop/batch", CloudAdmin).is_empty());
}
