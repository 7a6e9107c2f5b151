//! Creating pods is running as any service account of the namespace: on
//! one cluster shape in EKS, GKE and AKS (`tests/data/*-pod-create/`), no
//! pod runs as the account a cloud administrator trusts, yet pods that may
//! create pods, Jobs or tokens in its namespace reach that administrator,
//! through the cloud token the new pod is given. The decoys stay clean: an
//! administrator trusting another namespace's account, a hardened pod
//! without RBAC, a create right limited by resourceNames, and a pod on the
//! host's network whose node identity is no administrator.

mod common;

use std::collections::BTreeSet;

use common::{edges, hops};
use corral_paths::query::{paths, To};
use corral_paths::{EdgeKind, Graph};

/// The pods with a path to a cloud administrator, and the identities
/// reached.
fn reaching_admins(g: &Graph) -> (BTreeSet<String>, BTreeSet<String>) {
    // The CLI's default hop limit.
    let found = paths(g, &"all-pods".parse().unwrap(), To::CloudAdmin, 8);
    (
        found
            .iter()
            .map(|p| {
                let pod = p.source.strip_prefix("container/").unwrap();
                format!("pod/{}", pod.rsplit_once('/').unwrap().0)
            })
            .collect(),
        found.iter().map(|p| p.target.clone()).collect(),
    )
}

const DECOYS: [&str; 3] = [
    "pod/shop/named",
    "pod/shop/hardened",
    "pod/monitoring/agent",
];

fn decoys_stay_clean(g: &Graph) {
    for decoy in DECOYS {
        assert!(hops(g, decoy, To::CloudAdmin).is_empty(), "{decoy}");
    }
}

#[test]
fn eks_pod_creation_reaches_the_role_of_an_account_with_no_pods() {
    let g = common::graph(
        "aws-pod-create",
        &[
            "authorization-details.json",
            "describe-cluster.json",
            "describe-instances.json",
        ],
    );
    let role = |name: &str| format!("aws/arn:aws:iam::111122223333:role/{name}");
    let (sources, targets) = reaching_admins(&g);
    assert_eq!(
        sources,
        BTreeSet::from([
            "pod/batch/CronJob/scheduler".to_string(),
            "pod/shop/Deployment/builder".to_string(),
            "pod/shop/minter".to_string(),
        ]),
        "{targets:?}"
    );
    // payments' role trusts only payments/api: no one here reaches it.
    assert_eq!(
        targets,
        BTreeSet::from([role("batch-jobs"), role("deployer")])
    );
    // builder: its role lets it create pods, one of which runs as
    // deployer and is given deployer's STS token by the webhook. A
    // privileged one on scheduler's node takes scheduler's token too, and
    // with it batch-jobs (6 hops: those into hubs and permission sets are
    // not counted).
    assert_eq!(
        hops(&g, "pod/shop/Deployment/builder", To::CloudAdmin),
        [
            &[
                "IDENTITY_ASSUME",
                "PERMISSION_DISCOVER",
                "POD_CREATE",
                "POD_CREATE",
                "IRSA_ASSUME"
            ][..],
            &[
                "IDENTITY_ASSUME",
                "PERMISSION_DISCOVER",
                "POD_CREATE",
                "POD_CREATE",
                "VOLUME_ACCESS",
                "TOKEN_STEAL",
                "PERMISSION_DISCOVER",
                "POD_CREATE",
                "POD_CREATE",
                "IRSA_ASSUME"
            ][..]
        ]
    );
    // The CronJob's account may create Jobs in batch, whose role trusts
    // every account of batch.
    let scheduler = hops(&g, "pod/batch/CronJob/scheduler", To::CloudAdmin);
    assert!(
        scheduler.iter().all(|p| p.contains(&"POD_CREATE")) && !scheduler.is_empty(),
        "{scheduler:?}"
    );
    // TokenRequest mints deployer's token; builder's too, and as builder
    // it goes on as builder does to batch-jobs (8 hops).
    let minter = hops(&g, "pod/shop/minter", To::CloudAdmin);
    assert_eq!(
        minter[0],
        [
            "IDENTITY_ASSUME",
            "PERMISSION_DISCOVER",
            "TOKEN_REQUEST",
            "TOKEN_REQUEST",
            "IRSA_ASSUME"
        ]
    );
    assert_eq!(minter.len(), 2, "{minter:?}");
    assert!(minter[1].starts_with(&[
        "IDENTITY_ASSUME",
        "PERMISSION_DISCOVER",
        "TOKEN_REQUEST",
        "TOKEN_REQUEST",
        "PERMISSION_DISCOVER",
        "POD_CREATE",
        "POD_CREATE",
        "VOLUME_ACCESS",
        "TOKEN_STEAL"
    ]));
    // Created pods reach every account of their namespace, and no other.
    let created: BTreeSet<String> = edges(&g, EdgeKind::PodCreate)
        .into_iter()
        .filter(|(from, _)| from == "any/serviceaccounts/shop")
        .map(|(_, to)| to)
        .collect();
    assert!(created.contains("token/shop/deployer/sts.amazonaws.com"));
    assert!(created.iter().all(|t| t.contains("/shop/")), "{created:?}");
    // The host-network pod gets the node's role, which is no admin.
    assert!(edges(&g, EdgeKind::ImdsCredentials).contains(&(
        "container/monitoring/agent/agent".to_string(),
        role("eks-node")
    )));
    decoys_stay_clean(&g);
}

#[test]
fn gke_pod_creation_reaches_the_gsa_bound_to_an_account_with_no_pods() {
    let g = common::graph(
        "gcp-pod-create",
        &[
            "cluster.json",
            "factory-prod.iam-policy.json",
            "deployer@factory-prod.iam.gserviceaccount.com.json",
            "payments@factory-prod.iam.gserviceaccount.com.json",
        ],
    );
    let (sources, targets) = reaching_admins(&g);
    // batch/worker's annotation names the owner GSA, but its IAM policy
    // binds only shop/deployer: creating Jobs in batch reaches no one by
    // itself. scheduler gets there through a privileged Job on builder's
    // node, builder's token and its create right in shop.
    assert_eq!(
        sources,
        BTreeSet::from([
            "pod/batch/CronJob/scheduler".to_string(),
            "pod/shop/Deployment/builder".to_string(),
            "pod/shop/minter".to_string()
        ]),
        "{targets:?}"
    );
    assert_eq!(
        hops(&g, "pod/batch/CronJob/scheduler", To::CloudAdmin),
        [[
            "IDENTITY_ASSUME",
            "PERMISSION_DISCOVER",
            "POD_CREATE",
            "POD_CREATE",
            "VOLUME_ACCESS",
            "TOKEN_STEAL",
            "PERMISSION_DISCOVER",
            "POD_CREATE",
            "POD_CREATE",
            "GKE_WORKLOAD_IDENTITY"
        ]]
    );
    assert_eq!(
        targets,
        BTreeSet::from(["gcp/deployer@factory-prod.iam.gserviceaccount.com".to_string()])
    );
    assert_eq!(
        hops(&g, "pod/shop/Deployment/builder", To::CloudAdmin),
        [[
            "IDENTITY_ASSUME",
            "PERMISSION_DISCOVER",
            "POD_CREATE",
            "POD_CREATE",
            "GKE_WORKLOAD_IDENTITY"
        ]]
    );
    decoys_stay_clean(&g);
}

#[test]
fn aks_pod_creation_reaches_the_identity_federated_with_an_account_with_no_pods() {
    let g = common::graph(
        "azure-pod-create",
        &[
            "aks-show.json",
            "identity-list.json",
            "federated-credentials.json",
            "role-assignments.json",
        ],
    );
    let (sources, targets) = reaching_admins(&g);
    // No federated credential trusts batch/worker, whatever its
    // annotation; scheduler gets there as on GKE, through builder's node.
    assert_eq!(
        sources,
        BTreeSet::from([
            "pod/batch/CronJob/scheduler".to_string(),
            "pod/shop/Deployment/builder".to_string(),
            "pod/shop/minter".to_string()
        ]),
        "{targets:?}"
    );
    let scheduler = hops(&g, "pod/batch/CronJob/scheduler", To::CloudAdmin);
    assert!(
        scheduler.len() == 1 && scheduler[0].contains(&"TOKEN_STEAL"),
        "{scheduler:?}"
    );
    assert_eq!(targets.len(), 1, "{targets:?}");
    assert!(
        targets.iter().all(|t| t.ends_with("/deployer")),
        "{targets:?}"
    );
    assert_eq!(
        hops(&g, "pod/shop/Deployment/builder", To::CloudAdmin),
        [[
            "IDENTITY_ASSUME",
            "PERMISSION_DISCOVER",
            "POD_CREATE",
            "POD_CREATE",
            "AKS_WORKLOAD_IDENTITY"
        ]]
    );
    decoys_stay_clean(&g);
}
