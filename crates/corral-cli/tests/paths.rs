//! `corral paths` on KubeHound's test cluster (with kind's nodes and
//! critical RBAC from `crates/corral-paths/tests/data`).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

mod shared;

fn inputs() -> Option<[PathBuf; 3]> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let attacks = shared::shared("fixtures/kubehound/test/setup/test-cluster/attacks")?;
    let data = workspace.join("crates/corral-paths/tests/data");
    Some([
        attacks,
        data.join("kind-nodes.yaml"),
        data.join("kind-rbac.yaml"),
    ])
}

fn paths(args: &[&str]) -> (Option<i32>, String) {
    let inputs = inputs().unwrap();
    let output = Command::cargo_bin("corral")
        .unwrap()
        .arg("paths")
        .args(&inputs)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn a_pod_that_may_bind_cluster_roles_reaches_cluster_admin() {
    if inputs().is_none() {
        return;
    }
    let from = [
        "--from",
        "pod/default/rolebind-pod-crb-cr-crb-cr",
        "--to",
        "cluster-admin",
    ];
    let (code, text) = paths(&from);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("-ROLE_BIND-> any/clusterrolebindings: bind itself a role (T1098"),
        "{text}"
    );
    assert!(
        text.contains("permissions/cluster-admin::cluster-admin"),
        "{text}"
    );
    assert!(text.contains("ROLE_BIND_CRB_CR.yaml:"), "{text}");
    let (_, json) = paths(&[&from[..], &["--format", "json"]].concat());
    let value: Value = serde_json::from_str(&json).unwrap();
    let first = &value["paths"][0];
    assert_eq!(first["hops"][0]["edge"], "IDENTITY_ASSUME");
    assert_eq!(first["hops"][0]["mitre"], "T1078");
    let (_, mermaid) = paths(&[&from[..], &["--format", "mermaid"]].concat());
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(mermaid.contains("-->|ROLE_BIND|"), "{mermaid}");
}

#[test]
fn the_control_pod_has_no_path_and_escapes_are_found_from_every_pod() {
    if inputs().is_none() {
        return;
    }
    let (code, text) = paths(&["--from", "pod/default/control-pod"]);
    assert_eq!((code, text.as_str()), (Some(0), "no path\n"));
    let (code, json) = paths(&["--from", "all-pods", "--to", "nodes", "--format", "json"]);
    assert_eq!(code, Some(1));
    let value: Value = serde_json::from_str(&json).unwrap();
    let sources: Vec<&str> = value["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"container/default/priv-pod/priv-pod"),
        "{sources:?}"
    );
    assert!(
        !sources.contains(&"container/default/control-pod/control-pod"),
        "{sources:?}"
    );
}

#[test]
fn the_fewest_changes_cut_every_path() {
    if inputs().is_none() {
        return;
    }
    let (code, text) = paths(&["--from", "all-pods", "--to", "any-critical", "--cut"]);
    assert_eq!(code, Some(0), "{text}");
    // Greedily, the change on most of the paths left (which a cut may
    // lengthen rather than end); the pod creator's role is among them.
    // (Since Kubernetes 1.24 listing Secrets gives no account's token
    // unless a token Secret exists: the cluster has none.)
    assert!(
        text.contains("permissions/default/create-pods::pod-create-pods"),
        "{text}"
    );
    // A binding the attacker would make is never the change: the grant
    // that lets them make it is.
    assert!(!text.contains("::(new) -"), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" path(s)") && last.contains(" change(s) leave 0 of "),
        "{text}"
    );
}

/// Hops into hubs and to a binding's permissions are printed but not
/// counted against `--max-hops`, and a query cut at the limit says how
/// many paths lie beyond it, in text and JSON, and on standard error for
/// the formats without room for it.
#[test]
fn hubs_are_free_and_the_paths_beyond_max_hops_are_counted() {
    if inputs().is_none() {
        return;
    }
    // Assume the account, exec through the namespace's hub, attach, load
    // a module: 4 hops in 6 edges.
    let exec = ["--from", "pod/default/pod-exec-pod", "--to", "nodes"];
    let (code, text) = paths(&[&exec[..], &["--max-hops", "4"]].concat());
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.starts_with("container/default/pod-exec-pod/pod-exec-pod → node/kubehound.test.local-worker (4 hops, 6 edges)\n"),
        "{text}"
    );
    assert!(text.contains("  any/pods/default -POD_EXEC-> "), "{text}");
    let (code, text) = paths(&[&exec[..], &["--max-hops", "3"]].concat());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.starts_with("no path\n")
            && text.contains(" more path(s) lie beyond --max-hops 3; raise it to see them\n"),
        "{text}"
    );
    // Every pod's nearest target: those within 2 hops and those beyond
    // make the 19 found within the default 8, and none lies beyond 8.
    let (_, json) = paths(&["--max-hops", "2", "--format", "json"]);
    let found: Value = serde_json::from_str(&json).unwrap();
    let within = found["paths"].as_array().unwrap().len();
    let beyond = found["beyond_max_hops"].as_u64().unwrap() as usize;
    assert_eq!((found["max_hops"].as_u64(), within + beyond), (Some(2), 19));
    assert!(beyond > 0 && within > 0, "{json}");
    assert!(found["paths"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["counted_hops"].as_u64().unwrap() <= 2));
    let (_, text) = paths(&["--max-hops", "2"]);
    assert!(
        text.ends_with(&format!(
            "{within} path(s)\n{beyond} more path(s) lie beyond --max-hops 2; raise it to see them\n"
        )),
        "{text}"
    );
    let (_, json) = paths(&["--format", "json"]);
    let found: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(found["beyond_max_hops"], 0);
    // Mermaid stays a diagram; the count goes to standard error.
    let output = Command::cargo_bin("corral")
        .unwrap()
        .arg("paths")
        .args(inputs().unwrap())
        .args(["--max-hops", "2", "--format", "mermaid"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("flowchart LR\n"), "{stdout}");
    assert!(!stdout.contains("beyond"), "{stdout}");
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains(&format!("{beyond} more path(s) lie beyond --max-hops 2")));
}

/// `corral scan --cloud`'s CRL-A003 findings (workloads that reach a
/// cloud administrator), as `Kind namespace/name`, sorted.
fn reaching_cloud_admins(cluster: &Path, cloud: &[PathBuf]) -> Vec<String> {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .arg("scan")
        .arg(cluster)
        .args(["--format", "json", "--cloud"])
        .args(cloud)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut reached: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "CRL-A003")
        .map(|f| {
            format!(
                "{} {}/{}",
                f["kind"].as_str().unwrap(),
                f["namespace"].as_str().unwrap(),
                f["name"].as_str().unwrap()
            )
        })
        .collect();
    reached.sort();
    reached
}

/// `corral scan --cloud` and `corral paths --cloud` on the GKE and AKS
/// scenarios: every file's kind is told from its JSON, and the workloads
/// that reach a cloud administrator are findings at their names.
#[test]
fn scan_and_paths_read_the_clouds_files() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/corral-paths/tests/data");
    for (dir, files, expected) in [
        (
            "gcp",
            &[
                "cluster.json",
                "shop-prod.iam-policy.json",
                "deployer@shop-prod.iam.gserviceaccount.com.json",
            ][..],
            &["Pod ci/release", "Pod monitoring/agent", "Pod shop/web"][..],
        ),
        (
            "azure",
            &[
                "aks-show.json",
                "federated-credentials.json",
                "identity-show.json",
                "role-assignments.json",
            ][..],
            &["Deployment shop/web"][..],
        ),
    ] {
        let cloud: Vec<PathBuf> = files.iter().map(|f| data.join(dir).join(f)).collect();
        let reached = reaching_cloud_admins(&data.join(dir).join("cluster.yaml"), &cloud);
        assert_eq!(reached, expected, "{dir}");
        // Without the cloud's files, no cloud administrator is known.
        let output = Command::cargo_bin("corral")
            .unwrap()
            .arg("scan")
            .arg(data.join(dir).join("cluster.yaml"))
            .args(["--format", "json"])
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(!report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "CRL-A003"));
        // paths reads the same files, and the Mermaid diagram is stable.
        let run = || {
            Command::cargo_bin("corral")
                .unwrap()
                .arg("paths")
                .arg(data.join(dir).join("cluster.yaml"))
                .args(["--to", "cloud-admin", "--format", "mermaid", "--cloud"])
                .args(&cloud)
                .output()
                .unwrap()
        };
        let (first, second) = (run(), run());
        assert_eq!(first.status.code(), Some(1));
        assert_eq!(first.stdout, second.stdout);
    }
    // A file Corral does not read: a clear error naming it.
    let output = Command::cargo_bin("corral")
        .unwrap()
        .arg("paths")
        .arg(data.join("gcp/cluster.yaml"))
        .arg("--cloud")
        .arg(data.join("kind-nodes.yaml"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("kind-nodes.yaml"));
}

/// Pod creation as another service account, end to end on the EKS, GKE
/// and AKS scenarios (`*-pod-create/`): `paths --from all-pods --to
/// cloud-admin` in JSON names the pods that may create pods, Jobs or
/// tokens where an account no pod runs as is trusted by an administrator,
/// and `scan --cloud` flags the same workloads under CRL-A003.
#[test]
fn creating_pods_reaches_the_cloud_through_another_account() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/corral-paths/tests/data");
    for (dir, files, sources, findings) in [
        (
            "aws-pod-create",
            &[
                "authorization-details.json",
                "describe-cluster.json",
                "describe-instances.json",
            ][..],
            &[
                "container/batch/CronJob/scheduler/scheduler",
                "container/shop/Deployment/builder/builder",
                "container/shop/minter/minter",
            ][..],
            &[
                "CronJob batch/scheduler",
                "Deployment shop/builder",
                "Pod shop/minter",
            ][..],
        ),
        (
            "gcp-pod-create",
            &[
                "cluster.json",
                "factory-prod.iam-policy.json",
                "deployer@factory-prod.iam.gserviceaccount.com.json",
                "payments@factory-prod.iam.gserviceaccount.com.json",
            ][..],
            // scheduler: through a privileged Job on builder's node.
            &[
                "container/batch/CronJob/scheduler/scheduler",
                "container/shop/Deployment/builder/builder",
                "container/shop/minter/minter",
            ][..],
            &[
                "CronJob batch/scheduler",
                "Deployment shop/builder",
                "Pod shop/minter",
            ][..],
        ),
        (
            "azure-pod-create",
            &[
                "aks-show.json",
                "identity-list.json",
                "federated-credentials.json",
                "role-assignments.json",
            ][..],
            // scheduler: through a privileged Job on builder's node.
            &[
                "container/batch/CronJob/scheduler/scheduler",
                "container/shop/Deployment/builder/builder",
                "container/shop/minter/minter",
            ][..],
            &[
                "CronJob batch/scheduler",
                "Deployment shop/builder",
                "Pod shop/minter",
            ][..],
        ),
    ] {
        let cloud: Vec<PathBuf> = files.iter().map(|f| data.join(dir).join(f)).collect();
        let output = Command::cargo_bin("corral")
            .unwrap()
            .arg("paths")
            .arg(data.join(dir).join("cluster.yaml"))
            .args([
                "--from",
                "all-pods",
                "--to",
                "cloud-admin",
                "--format",
                "json",
            ])
            .arg("--cloud")
            .args(&cloud)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{dir}");
        let found: Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut reached: Vec<&str> = found["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["source"].as_str().unwrap())
            .collect();
        reached.sort();
        assert_eq!(reached, sources, "{dir}");
        // Every path goes through a create right or a TokenRequest.
        for path in found["paths"].as_array().unwrap() {
            let edges: Vec<&str> = path["hops"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["edge"].as_str().unwrap())
                .collect();
            assert!(
                edges.contains(&"POD_CREATE") || edges.contains(&"TOKEN_REQUEST"),
                "{dir}: {edges:?}"
            );
        }
        let flagged = reaching_cloud_admins(&data.join(dir).join("cluster.yaml"), &cloud);
        assert_eq!(flagged, findings, "{dir}");
    }
}

/// `corral paths` runs on mimalloc, whatever global options come first;
/// `--stats` says which allocator the process chose.
#[test]
fn paths_chooses_mimalloc_after_global_options() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for leading in [&[][..], &["--output", "/dev/null", "--color", "never"][..]] {
        let output = Command::cargo_bin("corral")
            .unwrap()
            .args(leading)
            .arg("paths")
            .arg(&examples)
            .args(["--stats", "--format", "json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(" paths; mimalloc\n"), "{stderr}");
    }
}
