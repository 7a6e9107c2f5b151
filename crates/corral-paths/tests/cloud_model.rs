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
