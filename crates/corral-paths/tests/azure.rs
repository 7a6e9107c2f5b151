//! Cluster → Azure, on a hand-written AKS scenario (`tests/data/azure/`):
//! Workload Identity decided by the federated credential, given only to
//! pods labelled `azure.workload.identity/use: "true"`; the kubelet
//! identity through IMDS as `podLinkLocalAccess` allows; an Azure RBAC
//! Cluster Admin assignment leads back into the cluster.

mod common;

use std::collections::BTreeSet;

use common::{edges, hops};
use corral_paths::query::To::{CloudAdmin, ClusterAdmin};
use corral_paths::{build_with, EdgeKind};

const FILES: [&str; 4] = [
    "aks-show.json",
    "federated-credentials.json",
    "identity-show.json",
    "role-assignments.json",
];
const APP: &str = "azure//subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourcegroups/shop-rg/providers/microsoft.managedidentity/userassignedidentities/shop-app";
const KUBELET: &str = "azure//subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourcegroups/mc_shop-rg_shop_westeurope/providers/microsoft.managedidentity/userassignedidentities/shop-agentpool";

#[test]
fn workload_identity_needs_the_credential_and_the_pod_label() {
    let g = common::graph("azure", &FILES);
    let token = "token/shop/web/api://AzureADTokenExchange".to_string();
    assert_eq!(
        edges(&g, EdgeKind::AksWorkloadIdentity),
        BTreeSet::from([(token.clone(), APP.to_string())])
    );
    // worker runs as the same account, without the label: no token.
    assert_eq!(
        edges(&g, EdgeKind::ProjectedToken),
        BTreeSet::from([("container/shop/Deployment/web/web".to_string(), token)])
    );
    assert_eq!(
        hops(&g, "pod/shop/Deployment/web", CloudAdmin),
        [["PROJECTED_TOKEN", "AKS_WORKLOAD_IDENTITY"]]
    );
    assert!(hops(&g, "pod/shop/Deployment/worker", CloudAdmin).is_empty());
    // Azure RBAC Cluster Admin on the cluster: back in as cluster-admin.
    assert_eq!(
        hops(&g, "pod/shop/Deployment/web", ClusterAdmin),
        [["PROJECTED_TOKEN", "AKS_WORKLOAD_IDENTITY", "CLOUD_SIGN_IN"]]
    );
}

#[test]
fn the_kubelet_identity_as_pod_link_local_access_allows() {
    let (model, mut cloud) = common::scenario("azure", &FILES);
    let reached = |cloud: &corral_cloud::Cloud| -> BTreeSet<String> {
        edges(&build_with(&model, cloud), EdgeKind::ImdsCredentials)
            .into_iter()
            .inspect(|(_, to)| assert_eq!(to, KUBELET))
            .map(|(from, _)| from)
            .collect()
    };
    let node = "node/aks-nodepool1-12345678-vmss000000".to_string();
    let agent = "container/monitoring/DaemonSet/agent/agent".to_string();
    // IMDS (the default): every pod.
    assert_eq!(
        reached(&cloud),
        BTreeSet::from([
            node.clone(),
            agent.clone(),
            "container/shop/Deployment/web/web".to_string(),
            "container/shop/Deployment/worker/worker".to_string(),
        ])
    );
    // None: only pods on the host's network.
    cloud.azure.clusters[0].imds_restricted = true;
    assert_eq!(reached(&cloud), BTreeSet::from([node, agent]));
}
