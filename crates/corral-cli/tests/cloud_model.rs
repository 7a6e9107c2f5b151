//! The cloud model end to end, driving the binary: `corral paths --cloud`
//! cites each cloud hop at the line of its trust statement, binding or
//! access policy, and `corral drift --cloud` puts each finding at its own
//! statement's line, two statements of the same text included; the
//! cluster's authentication mode decides what signs in.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const ISSUER: &str = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";

const CLUSTER: &str = "apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: shop
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/first
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  serviceAccountName: web
  containers: [{name: web, image: web}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-auth, namespace: kube-system}
data:
  mapRoles: |
    - rolearn: arn:aws:iam::111122223333:role/first
      username: first
      groups: [system:masters]
";

/// Two roles whose trust statements are the same text (a wildcard on
/// `sub`), on lines 6 and 12, and the cluster's issuer.
fn write_scenario(dir: &Path, mode: &str) -> (PathBuf, Vec<PathBuf>) {
    let statement = format!(
        "{{\"Effect\": \"Allow\", \"Principal\": {{\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/{ISSUER}\"}}, \"Action\": \"sts:AssumeRoleWithWebIdentity\", \"Condition\": {{\"StringLike\": {{\"{ISSUER}:sub\": \"system:serviceaccount:shop:*\"}}}}}}"
    );
    let role = |name: &str| {
        format!(
            "  {{\"RoleName\": \"{name}\",\n   \"Arn\": \"arn:aws:iam::111122223333:role/{name}\",\n   \"AssumeRolePolicyDocument\": {{\"Version\": \"2012-10-17\", \"Statement\": [\n     {statement}\n   ]}},\n   \"AttachedManagedPolicies\": [{{\"PolicyName\": \"AdministratorAccess\"}}]}}"
        )
    };
    let iam = format!(
        "{{\"UserDetailList\": [],\n \"RoleDetailList\": [\n{},\n{}\n]}}\n",
        role("first"),
        role("second")
    );
    let describe = format!(
        "{{\"cluster\": {{\"identity\": {{\"oidc\": {{\"issuer\": \"https://{ISSUER}\"}}}},\n  \"accessConfig\": {{\"authenticationMode\": \"{mode}\"}}}}}}\n"
    );
    let files = [
        ("cluster.yaml", CLUSTER.to_string()),
        ("iam.json", iam),
        ("describe-cluster.json", describe),
    ];
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    (
        dir.join("cluster.yaml"),
        vec![dir.join("iam.json"), dir.join("describe-cluster.json")],
    )
}

fn corral(args: &[&str], cluster: &Path, cloud: &[PathBuf]) -> Value {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .args(&args[..1])
        .arg(cluster)
        .args(&args[1..])
        .args(["--format", "json", "--cloud"])
        .args(cloud)
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("corral-cloud-model-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn paths_and_drift_cite_each_statement_at_its_own_line() {
    let dir = scratch("lines");
    let (cluster, cloud) = write_scenario(&dir, "API_AND_CONFIG_MAP");
    // paths: web's token reaches both roles, each hop at its statement.
    let report = corral(
        &["paths", "--from", "pod/shop/web", "--to", "cloud-admin"],
        &cluster,
        &cloud,
    );
    let mut cited: Vec<(String, u64)> = report["paths"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|path| path["hops"].as_array().unwrap().clone())
        .filter(|hop| hop["edge"] == "IRSA_ASSUME")
        .map(|hop| {
            (
                hop["to"].as_str().unwrap().to_string(),
                hop["evidence"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    cited.sort();
    assert_eq!(
        cited,
        [
            ("aws/arn:aws:iam::111122223333:role/first".to_string(), 6),
            ("aws/arn:aws:iam::111122223333:role/second".to_string(), 12),
        ]
    );
    // drift: the wildcard on sub, once a role, each at its own line.
    let report = corral(&["drift"], &cluster, &cloud);
    let mut lines: Vec<u64> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "CRL-D003")
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    lines.sort();
    assert_eq!(lines, [6, 12]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_authentication_mode_decides_whether_aws_auth_signs_in() {
    let masters_paths = |mode: &str| {
        let dir = scratch(mode);
        let (cluster, cloud) = write_scenario(&dir, mode);
        let report = corral(
            &["paths", "--from", "pod/shop/web", "--to", "cluster-admin"],
            &cluster,
            &cloud,
        );
        std::fs::remove_dir_all(&dir).unwrap();
        report["paths"].as_array().unwrap().len()
    };
    // aws-auth maps `first` to system:masters: a path back in, unless the
    // cluster authenticates by access entries alone.
    assert!(masters_paths("CONFIG_MAP") > 0);
    assert!(masters_paths("API_AND_CONFIG_MAP") > 0);
    assert_eq!(masters_paths("API"), 0);
}
