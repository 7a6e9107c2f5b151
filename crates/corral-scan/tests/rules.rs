//! Line precision: each fixture marks the lines where findings belong with
//! `# expect: RULE...`; the scan must report exactly those, rule by rule
//! and line by line, and nothing else.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use corral_core::model::{Model, TemplatePaths};
use corral_core::{load_bytes, Limits};
use corral_scan::{scan, Family, Settings};

fn expected(text: &str) -> BTreeSet<(String, u32)> {
    let mut all = BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        if let Some((_, rules)) = line.split_once("# expect:") {
            for rule in rules.split_whitespace() {
                all.insert((rule.to_string(), index as u32 + 1));
            }
        }
    }
    all
}

fn check(fixture: &str) {
    check_with(fixture, &Settings::default(), None);
}

/// Check the fixture's findings: all of them, or those of one family.
fn check_with(fixture: &str, settings: &Settings, only: Option<Family>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let text = std::fs::read_to_string(&path).unwrap();
    let name: Arc<str> = Arc::from(fixture);
    let (objects, diagnostics) = load_bytes(&name, text.as_bytes(), &Limits::default(), &|_| {});
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (model, errors) = Model::build(objects, &TemplatePaths::default());
    assert!(errors.is_empty(), "{errors:?}");
    let mut findings = scan(&model, settings);
    findings.retain(|f| only.is_none_or(|family| f.rule.family == family));
    let found: BTreeSet<(String, u32)> = findings
        .iter()
        .map(|f| (f.rule.id.to_string(), f.line))
        .collect();
    let want = expected(&text);
    let missing: Vec<_> = want.difference(&found).collect();
    let extra: Vec<String> = findings
        .iter()
        .filter(|f| !want.contains(&(f.rule.id.to_string(), f.line)))
        .map(|f| {
            format!(
                "{} at {}:{} ({}): {}",
                f.rule.id, f.line, f.column, f.field, f.message
            )
        })
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{fixture}:\n  missing {missing:?}\n  unexpected:\n    {}",
        extra.join("\n    ")
    );
    // What each finding says and asks for, so that no message or fix
    // changes unnoticed.
    let said: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{}:{} {} {}\n  {}\n  fix: {}",
                f.line, f.column, f.rule.id, f.field, f.message, f.fix
            )
        })
        .collect();
    let name = fixture.trim_end_matches(".yaml").replace('/', "-");
    insta::assert_snapshot!(name, said.join("\n"));
}

#[test]
fn workload_rules_fire_on_the_exact_field_line() {
    check("workload.yaml");
}

/// Issue #26's classes: capabilities as the runtimes read them, the API
/// server's defaults and aliases, tokens by ServiceAccount, Windows pods,
/// host paths as the kubelet resolves them.
#[test]
fn findings_follow_what_actually_runs() {
    check("semantics.yaml");
}

#[test]
fn rbac_rules_fire_on_the_exact_field_line() {
    check("rbac.yaml");
    // Roles named like the built-in ones, granting something else.
    check("rbac-redefined.yaml");
}

#[test]
fn network_rules_fire_on_the_exact_field_line() {
    check("network.yaml");
}

#[test]
fn pss_rules_fire_on_the_exact_field_line() {
    check("pss.yaml");
    let mut baseline = Settings::default();
    baseline.pss.level = corral_pss::Level::Baseline;
    check_with("baseline-level.yaml", &baseline, None);
}

#[test]
fn attack_path_rules_fire_at_the_workload() {
    let issuer = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE";
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{issuer}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{issuer}:sub"): "system:serviceaccount:prod:uploader"}}
    }]});
    let details = serde_json::json!({"RoleDetailList": [{
        "RoleName": "uploader",
        "Arn": "arn:aws:iam::111122223333:role/uploader",
        "AssumeRolePolicyDocument": trust,
        "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]
    }], "Policies": []});
    let cluster = serde_json::json!({"cluster": {"identity": {"oidc": {"issuer": format!("https://{issuer}")}}}});
    let settings = Settings {
        cloud: corral_cloud::Cloud::load(&[
            ("iam.json".into(), details.to_string()),
            ("cluster.json".into(), cluster.to_string()),
        ])
        .unwrap(),
        ..Settings::default()
    };
    // Its workloads break many other rules; those have their fixtures.
    check_with("paths.yaml", &settings, Some(Family::AttackPath));
}

/// Cloud drift, per cloud: a drifted scenario whose findings are marked
/// in its manifests (`# expect:`) and listed for its cloud files
/// (`expect-cloud.txt`: `RULE FILE:LINE`), and the same cluster in step
/// with its cloud, where nothing fires.
#[test]
fn cloud_drift_rules_fire_on_both_sides_and_not_on_a_consistent_account() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift");
    for scenario in ["aws", "gcp", "azure"] {
        for dir in [scenario.to_string(), format!("{scenario}-consistent")] {
            let dir = root.join(dir);
            let text = std::fs::read_to_string(dir.join("cluster.yaml")).unwrap();
            let name: Arc<str> = Arc::from("cluster.yaml");
            let (objects, diagnostics) =
                load_bytes(&name, text.as_bytes(), &Limits::default(), &|_| {});
            assert!(diagnostics.is_empty(), "{diagnostics:?}");
            let (model, errors) = Model::build(objects, &TemplatePaths::default());
            assert!(errors.is_empty(), "{errors:?}");
            let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .map(|p| {
                    let text = std::fs::read_to_string(&p).unwrap();
                    (p.display().to_string(), text)
                })
                .collect();
            files.sort();
            let settings = Settings {
                cloud: corral_cloud::Cloud::load(&files).unwrap(),
                ..Settings::default()
            };
            let found: BTreeSet<(String, String, u32)> = scan(&model, &settings)
                .iter()
                .filter(|f| f.rule.family == Family::CloudDrift)
                .map(|f| {
                    let file = Path::new(&*f.file).file_name().unwrap();
                    (
                        f.rule.id.to_string(),
                        file.to_string_lossy().into_owned(),
                        f.line,
                    )
                })
                .collect();
            let mut want: BTreeSet<(String, String, u32)> = expected(&text)
                .into_iter()
                .map(|(rule, line)| (rule, "cluster.yaml".to_string(), line))
                .collect();
            want.extend(cloud_expectations(&dir));
            assert_eq!(found, want, "{}", dir.display());
        }
    }
}

/// `expect-cloud.txt` of a drift scenario: (rule, file, line).
fn cloud_expectations(dir: &Path) -> Vec<(String, String, u32)> {
    let text = std::fs::read_to_string(dir.join("expect-cloud.txt")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (rule, place) = line.split_once(' ')?;
            let (file, number) = place.rsplit_once(':')?;
            Some((rule.to_string(), file.to_string(), number.parse().ok()?))
        })
        .collect()
}

#[test]
fn every_rule_has_a_line_precision_case() {
    let mut covered = BTreeSet::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                covered.extend(
                    cloud_expectations(&path)
                        .into_iter()
                        .map(|(rule, _, _)| rule),
                );
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                covered.extend(expected(&text).into_iter().map(|(rule, _)| rule));
            }
        }
    }
    // Runtime drift comes from recordings, not manifests: `corral drift`'s
    // tests (crates/corral-cli/tests/drift.rs) place its findings.
    let uncovered: Vec<&str> = corral_scan::rules::all()
        .iter()
        .filter(|r| r.meta().family != Family::RuntimeDrift)
        .map(|r| r.meta().id)
        .filter(|id| !covered.contains(*id))
        .collect();
    assert!(
        uncovered.is_empty(),
        "rules without a fixture case: {uncovered:?}"
    );
}

/// `corral.dev/ignore` suppresses the findings of the object it annotates,
/// not of its neighbours in the same List.
#[test]
fn an_ignore_annotation_covers_its_own_object_only() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: cm, namespace: ns, annotations: {corral.dev/ignore: all, corral.dev/ignore-reason: generated}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: evil, namespace: ns}\n  spec:\n    hostPID: true\n    containers: [{name: c, image: x, securityContext: {privileged: true}}]\n";
    let name: Arc<str> = Arc::from("list.yaml");
    let (objects, _) = load_bytes(&name, text.as_bytes(), &Limits::default(), &|_| {});
    let (model, _) = Model::build(objects, &TemplatePaths::default());
    let findings = scan(&model, &Settings::default());
    let privileged = findings
        .iter()
        .find(|f| f.rule.id == "CRL-P009")
        .expect("the pod is privileged");
    assert!(
        privileged.suppressed.is_none(),
        "{:?}",
        privileged.suppressed
    );
}
