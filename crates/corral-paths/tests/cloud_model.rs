//! The cloud model (corral-cloud) as the graph uses it, one scenario per
//! rule, each with decoys that must give nothing: EKS Pod Identity trust
//! and per-association targets, the cluster's authentication mode for
//! aws-auth and access entries, GCP impersonation chains, Azure
//! federated credentials' exact issuer, and every cloud hop's evidence at
//! the line of its statement, binding or credential.

use std::collections::BTreeSet;

use corral_cloud::Cloud;
use corral_core::model::{Model, TemplatePaths};
use corral_core::Limits;
use corral_paths::{build_with, EdgeKind, Graph};

/// The graph of `manifests` with the cloud files `files` (name, text).
fn graph(manifests: &str, files: &[(&str, String)]) -> Graph {
    let (objects, diagnostics) = corral_core::load_bytes(
        &"cluster.yaml".into(),
        manifests.as_bytes(),
        &Limits::default(),
        &|_| {},
    );
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (model, errors) = Model::build(objects, &TemplatePaths::default());
    assert!(errors.is_empty());
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(name, text)| (name.to_string(), text.clone()))
        .collect();
    build_with(&model, &Cloud::load(&files).unwrap())
}

/// Every edge of `kind`, by its ends' labels.
fn edges(g: &Graph, kind: EdgeKind) -> BTreeSet<(String, String)> {
    g.edges_of(kind)
        .into_iter()
        .map(|(a, b)| (a.label(), b.label()))
        .collect()
}

/// Every edge of `kind` with its evidence's file and line.
fn evidence(g: &Graph, kind: EdgeKind) -> BTreeSet<(String, String, String, u32)> {
    g.edges_with_evidence(kind)
        .into_iter()
        .map(|(a, b, ev)| {
            (
                a.label(),
                b.label(),
                ev.file.map(|f| f.to_string()).unwrap_or_default(),
                ev.line.unwrap_or(0),
            )
        })
        .collect()
}

const ACCOUNT: &str = "111122223333";

fn arn(role: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{role}")
}

/// `get-account-authorization-details` with roles (name, trust
/// statements), one statement a line.
fn iam(roles: &[(&str, Vec<String>)]) -> String {
    let roles: Vec<String> = roles
        .iter()
        .map(|(name, statements)| {
            format!(
                "    {{\"RoleName\": \"{name}\", \"Arn\": \"{}\",\n     \"AssumeRolePolicyDocument\": {{\"Version\": \"2012-10-17\", \"Statement\": [\n{}\n     ]}}}}",
                arn(name),
                statements
                    .iter()
                    .map(|s| format!("       {s}"))
                    .collect::<Vec<_>>()
                    .join(",\n")
            )
        })
        .collect();
    format!(
        "{{\"UserDetailList\": [], \"Policies\": [], \"RoleDetailList\": [\n{}\n]}}\n",
        roles.join(",\n")
    )
}

fn allow(principal: &str, actions: &[&str]) -> String {
    format!(
        "{{\"Effect\": \"Allow\", \"Principal\": {principal}, \"Action\": {}}}",
        serde_json::to_string(actions).unwrap()
    )
}

fn association(namespace: &str, account: &str, role: &str, target: Option<&str>) -> String {
    let target = target
        .map(|t| format!(", \"targetRoleArn\": \"{}\"", arn(t)))
        .unwrap_or_default();
    format!(
        "{{\"association\": {{\"clusterName\": \"c\", \"namespace\": \"{namespace}\", \"serviceAccount\": \"{account}\",\n  \"roleArn\": \"{}\"{target}}}}}\n",
        arn(role)
    )
}

const POD_IDENTITY_ACCOUNTS: &str = "
apiVersion: v1
kind: ServiceAccount
metadata: {name: one, namespace: a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: two, namespace: b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: notag, namespace: c}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ec2, namespace: d}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: untrusted, namespace: e}
";

#[test]
fn pod_identity_needs_the_agent_with_tag_session_and_keeps_targets_per_association() {
    let agent = r#"{"Service": "pods.eks.amazonaws.com"}"#;
    let both = ["sts:AssumeRole", "sts:TagSession"];
    let details = iam(&[
        ("entry", vec![allow(agent, &both)]),
        // Decoy: sts:TagSession missing.
        ("no-tag", vec![allow(agent, &["sts:AssumeRole"])]),
        // Decoy: another principal.
        (
            "ec2-only",
            vec![allow(r#"{"Service": "ec2.amazonaws.com"}"#, &both)],
        ),
        (
            "target",
            vec![allow(&format!(r#"{{"AWS": "{}"}}"#, arn("entry")), &both)],
        ),
        // Decoy: a target that trusts another role.
        (
            "target-elsewhere",
            vec![allow(
                &format!(r#"{{"AWS": "{}"}}"#, arn("ec2-only")),
                &both,
            )],
        ),
    ]);
    let g = graph(
        POD_IDENTITY_ACCOUNTS,
        &[
            ("iam.json", details),
            ("a1.json", association("a", "one", "entry", Some("target"))),
            // The same role without a target: this account's pods get the
            // role, never a.one's target.
            ("a2.json", association("b", "two", "entry", None)),
            ("a3.json", association("c", "notag", "no-tag", None)),
            ("a4.json", association("d", "ec2", "ec2-only", None)),
            (
                "a5.json",
                association("e", "untrusted", "entry", Some("target-elsewhere")),
            ),
        ],
    );
    let token = |ns: &str, sa: &str| format!("token/{ns}/{sa}/pods.eks.amazonaws.com");
    let role = |name: &str| format!("aws/{}", arn(name));
    assert_eq!(
        edges(&g, EdgeKind::PodIdentity),
        BTreeSet::from([(token("b", "two"), role("entry"))])
    );
    assert_eq!(
        edges(&g, EdgeKind::RoleChain),
        BTreeSet::from([(token("a", "one"), role("target"))])
    );
    // b/two reaches the entry role and nothing beyond: no edge leaves the
    // shared role vertex for a.one's target.
    let from_entry: Vec<_> = g
        .edges_of(EdgeKind::RoleChain)
        .into_iter()
        .filter(|(a, _)| a.label() == role("entry"))
        .collect();
    assert!(from_entry.is_empty());
    // The evidence is the trust statement's line: the entry role's
    // statement is on line 4, the target's on line 16.
    let lines: BTreeSet<_> = evidence(&g, EdgeKind::PodIdentity)
        .into_iter()
        .chain(evidence(&g, EdgeKind::RoleChain))
        .map(|(_, _, file, line)| (file, line))
        .collect();
    assert_eq!(
        lines,
        BTreeSet::from([("iam.json".to_string(), 4), ("iam.json".to_string(), 16)])
    );
}

const AWS_AUTH: &str = "
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-auth, namespace: kube-system}
data:
  mapRoles: |
    - rolearn: arn:aws:iam::111122223333:role/mapped
      username: mapped
      groups: [system:masters]
    - rolearn: arn:aws:iam::111122223333:role/both
      username: both-from-aws-auth
      groups: [system:masters]
";

fn describe_cluster(mode: &str) -> String {
    format!(
        "{{\"cluster\": {{\"name\": \"c\",\n  \"accessConfig\": {{\"authenticationMode\": \"{mode}\"}}}}}}\n"
    )
}

fn access_entry(role: &str, groups: &[&str]) -> String {
    format!(
        "{{\"accessEntry\": {{\"clusterName\": \"c\", \"principalArn\": \"{}\",\n  \"username\": \"{role}-from-entry\", \"kubernetesGroups\": {}}}}}\n",
        arn(role),
        serde_json::to_string(groups).unwrap()
    )
}

/// The policies of `role`'s access entry: a view policy first, then
/// cluster admin at cluster scope on line 4.
fn access_policies(role: &str) -> String {
    format!(
        "{{\"clusterName\": \"c\", \"principalArn\": \"{}\",\n \"associatedAccessPolicies\": [\n  {{\"policyArn\": \"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy\", \"accessScope\": {{\"type\": \"cluster\"}}}},\n  {{\"policyArn\": \"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy\", \"accessScope\": {{\"type\": \"cluster\"}}}}\n ]}}\n",
        arn(role)
    )
}

/// Sign-ins by (role, identity), for the cluster in `mode` (`None`: no
/// `describe-cluster` output).
fn sign_ins(mode: Option<&str>) -> (Graph, BTreeSet<(String, String)>) {
    let mut files = vec![
        ("entry-admin.json", access_entry("admin", &[])),
        ("policies-admin.json", access_policies("admin")),
        ("entry-both.json", access_entry("both", &["viewers"])),
    ];
    if let Some(mode) = mode {
        files.push(("cluster.json", describe_cluster(mode)));
    }
    let g = graph(AWS_AUTH, &files);
    let found = edges(&g, EdgeKind::CloudSignIn)
        .into_iter()
        .map(|(role, identity)| (role.trim_start_matches("aws/").to_string(), identity))
        .collect();
    (g, found)
}

fn sign_in(role: &str, identity: &str) -> (String, String) {
    (arn(role), identity.to_string())
}

#[test]
fn the_authentication_mode_decides_what_signs_in() {
    let from_aws_auth = [
        sign_in("mapped", "user/mapped"),
        sign_in("mapped", "group/system:masters"),
    ];
    let from_entries = [
        sign_in("admin", "user/admin-from-entry"),
        sign_in("admin", "group/system:masters"),
        sign_in("both", "user/both-from-entry"),
        sign_in("both", "group/viewers"),
    ];
    // CONFIG_MAP: aws-auth alone, access entries ignored.
    let (_, config_map) = sign_ins(Some("CONFIG_MAP"));
    let mut expected: BTreeSet<_> = from_aws_auth.iter().cloned().collect();
    expected.extend([
        sign_in("both", "user/both-from-aws-auth"),
        sign_in("both", "group/system:masters"),
    ]);
    assert_eq!(config_map, expected);
    // API: access entries alone, aws-auth ignored.
    let (_, api) = sign_ins(Some("API"));
    assert_eq!(api, from_entries.iter().cloned().collect());
    // Both: the access entry of `both` wins over its aws-auth mapping
    // (no system:masters for it), and `mapped` still signs in.
    let (_, both) = sign_ins(Some("API_AND_CONFIG_MAP"));
    let expected: BTreeSet<_> = from_aws_auth.iter().chain(&from_entries).cloned().collect();
    assert_eq!(both, expected);
    // Not known: both count, as API_AND_CONFIG_MAP.
    assert_eq!(sign_ins(None).1, expected);
    // The decisive access policy is the evidence of cluster admin: its
    // file and line; the entry's other sign-ins cite the entry.
    let (g, _) = sign_ins(Some("API"));
    let cited: BTreeSet<_> = evidence(&g, EdgeKind::CloudSignIn)
        .into_iter()
        .filter(|(role, _, _, _)| role.ends_with("role/admin"))
        .map(|(_, identity, file, line)| (identity, file, line))
        .collect();
    assert_eq!(
        cited,
        BTreeSet::from([
            (
                "group/system:masters".to_string(),
                "policies-admin.json".to_string(),
                4
            ),
            (
                "user/admin-from-entry".to_string(),
                "entry-admin.json".to_string(),
                1
            ),
        ])
    );
}

/// A GKE cluster with Workload Identity, and `ci/runner`'s token bound to
/// the first account of a chain.
const GKE: &str = r#"{"name": "c1",
 "selfLink": "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c1",
 "workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"},
 "nodePools": [{"name": "pool", "config": {"serviceAccount": "nodes@p.iam.gserviceaccount.com",
   "workloadMetadataConfig": {"mode": "GKE_METADATA"}}}]}
"#;

const RUNNER: &str = "
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner, namespace: ci}
";

fn sa_policy(role: &str, member: &str) -> String {
    format!(
        "{{\"version\": 1, \"etag\": \"BwX=\",\n \"bindings\": [\n  {{\"role\": \"{role}\", \"members\": [\"{member}\"]}}\n ]}}\n"
    )
}

#[test]
fn gcp_impersonation_chains_hop_by_hop() {
    let email = |name: &str| format!("{name}@p.iam.gserviceaccount.com");
    let g = graph(
        RUNNER,
        &[
            ("cluster.json", GKE.to_string()),
            // runner's token → one (Workload Identity).
            (
                "one@p.iam.gserviceaccount.com.json",
                sa_policy(
                    "roles/iam.workloadIdentityUser",
                    "serviceAccount:p.svc.id.goog[ci/runner]",
                ),
            ),
            // one → two (token creator), two → three (actAs), three →
            // four by project editor (actAs on every account of p).
            (
                "two@p.iam.gserviceaccount.com.json",
                sa_policy(
                    "roles/iam.serviceAccountTokenCreator",
                    &format!("serviceAccount:{}", email("one")),
                ),
            ),
            (
                "three@p.iam.gserviceaccount.com.json",
                sa_policy(
                    "roles/iam.serviceAccountUser",
                    &format!("serviceAccount:{}", email("two")),
                ),
            ),
            (
                "p.iam-policy.json",
                sa_policy(
                    "roles/editor",
                    &format!("serviceAccount:{}", email("three")),
                ),
            ),
            // An account whose policy grants nothing: valid, not an error.
            (
                "four@p.iam.gserviceaccount.com.json",
                "{\"etag\": \"ACAB\"}\n".to_string(),
            ),
            // Decoy: a role that impersonates nothing.
            (
                "five@p.iam.gserviceaccount.com.json",
                sa_policy(
                    "roles/iam.serviceAccountViewer",
                    &format!("serviceAccount:{}", email("one")),
                ),
            ),
        ],
    );
    let gsa = |name: &str| format!("gcp/{}", email(name));
    let hops = edges(&g, EdgeKind::ServiceAccountImpersonate);
    for (from, to) in [("one", "two"), ("two", "three"), ("three", "four")] {
        assert!(
            hops.contains(&(gsa(from), gsa(to))),
            "{from} → {to}: {hops:?}"
        );
    }
    assert!(!hops.contains(&(gsa("one"), gsa("five"))), "{hops:?}");
    assert!(!hops.contains(&(gsa("one"), gsa("three"))), "{hops:?}");
    // Each hop cites its binding's line (line 3 of each policy file).
    for (from, to, file, line) in evidence(&g, EdgeKind::ServiceAccountImpersonate) {
        if from == gsa("one") && to == gsa("two") {
            assert_eq!(
                (file.as_str(), line),
                ("two@p.iam.gserviceaccount.com.json", 3)
            );
        }
    }
    // The chain starts from runner's token.
    assert!(edges(&g, EdgeKind::GkeWorkloadIdentity)
        .contains(&("token/ci/runner/p.svc.id.goog".to_string(), gsa("one"))));
}

const AKS: &str = r#"{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
 "agentPoolProfiles": [],
 "oidcIssuerProfile": {"issuerUrl": "https://westeurope.oic.prod-aks.azure.com/t/c/"}}
"#;

const WEB: &str = "
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
";

fn credential(identity: &str, issuer: &str, subject: &str) -> String {
    format!(
        r#"{{"id": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{identity}/federatedIdentityCredentials/fic",
  "name": "fic-{identity}", "issuer": "{issuer}", "subject": "{subject}", "audiences": ["api://AzureADTokenExchange"]}}"#
    )
}

#[test]
fn azure_federated_credentials_match_the_issuer_exactly() {
    let issuer = "https://westeurope.oic.prod-aks.azure.com/t/c/";
    let subject = "system:serviceaccount:shop:web";
    let list = format!(
        "[\n{},\n{},\n{},\n{}\n]\n",
        credential("exact", issuer, subject),
        // Decoys: the issuer without its trailing slash, another case,
        // another subject's case.
        credential("no-slash", issuer.trim_end_matches('/'), subject),
        credential("upper", &issuer.to_uppercase(), subject),
        credential("subject-case", issuer, "system:serviceaccount:shop:Web"),
    );
    let g = graph(WEB, &[("aks.json", AKS.to_string()), ("fics.json", list)]);
    let reached: BTreeSet<String> = evidence(&g, EdgeKind::AksWorkloadIdentity)
        .into_iter()
        .map(|(_, identity, file, line)| format!("{identity} {file}:{line}"))
        .collect();
    assert_eq!(
        reached,
        BTreeSet::from([
            "azure//subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/exact fics.json:2".to_string()
        ])
    );
}

/// Two trust statements alike but for their line: the evidence is each
/// one's own line, never the first occurrence of the text.
#[test]
fn identical_statements_keep_their_own_lines() {
    let issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    let statement = |sa: &str| {
        format!(
            "{{\"Effect\": \"Allow\", \"Principal\": {{\"Federated\": \"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}\"}}, \"Action\": \"sts:AssumeRoleWithWebIdentity\", \"Condition\": {{\"StringEquals\": {{\"{issuer}:sub\": \"system:serviceaccount:shop:{sa}\"}}}}}}"
        )
    };
    let details = iam(&[
        ("first", vec![statement("web")]),
        ("second", vec![statement("web")]),
    ]);
    let cluster = format!(
        "{{\"cluster\": {{\"identity\": {{\"oidc\": {{\"issuer\": \"https://{issuer}\"}}}}}}}}\n"
    );
    let g = graph(WEB, &[("iam.json", details), ("cluster.json", cluster)]);
    let lines: BTreeSet<(String, u32)> = evidence(&g, EdgeKind::IrsaAssume)
        .into_iter()
        .map(|(_, role, _, line)| (role, line))
        .collect();
    assert_eq!(
        lines,
        BTreeSet::from([
            (format!("aws/{}", arn("first")), 4),
            (format!("aws/{}", arn("second")), 8),
        ])
    );
}
