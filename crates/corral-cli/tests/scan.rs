//! `corral scan` end to end: the text report, exit codes, suppressions,
//! baselines, `--diff-base` on a temporary git repository, the GitHub
//! reporter, the rule docs, and a scan of the whole real-world corpus.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;

mod shared;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn corral(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("corral")
        .unwrap()
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          securityContext:
            privileged: true
";

/// JSON findings of `corral scan` in `dir` (exit status, findings).
fn scan_json(dir: &Path, extra: &[&str]) -> (Option<i32>, Vec<Value>, Value) {
    let mut args = vec!["scan", ".", "--format", "json"];
    args.extend_from_slice(extra);
    let output = corral(dir, &args);
    let value: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (
        output.status.code(),
        value["findings"].as_array().unwrap().clone(),
        value["summary"].clone(),
    )
}

fn rules_of(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{}@{}", f["rule"].as_str().unwrap(), f["line"]))
        .collect()
}

#[test]
fn text_points_at_the_field_with_a_caret_and_fails_on_high() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), DEPLOYMENT).unwrap();
    let output = corral(dir.path(), &["scan", "web.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains(
            "critical[CRL-P009] pss-privileged: privileged (container \"web\" must not set securityContext.privileged=true) [restricted:latest]\n  --> web.yaml:15:13\n   |\n15 |             privileged: true\n   |             ^^^^^^^^^^\n   = Deployment shop/web\n"
        ),
        "{text}"
    );
    // One defect, one finding: the privileged container is reported once.
    assert_eq!(text.matches("privileged: true\n").count(), 1, "{text}");
    // Nothing at or above critical other than privileged: --fail-on works,
    // and the workload rule's old ID disables the rule that took it over,
    // with a warning, once.
    let output = corral(
        dir.path(),
        &[
            "scan",
            "web.yaml",
            "--fail-on",
            "critical",
            "--disable",
            "CRL-W001",
            "--disable",
            "pss-host-namespaces",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(!stdout(&output).contains("CRL-P009"), "{}", stdout(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warning = "warning: rule `CRL-W001` has been merged into `CRL-P009` (pss-privileged), which reports the same defect; name that instead\n";
    assert_eq!(stderr.matches(warning).count(), 1, "{stderr}");
}

#[test]
fn annotations_and_comments_suppress_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let annotated = DEPLOYMENT.replace(
        "  namespace: shop\n",
        "  namespace: shop\n  annotations:\n    corral.dev/ignore: latest-tag,CRL-W014,CRL-W002\n    corral.dev/ignore-reason: pinned by the release job\n",
    );
    // Old IDs and names (rule_redirects) suppress the rule that took them
    // over: privileged-container is pss-privileged, CRL-W002 CRL-P001.
    let commented = annotated.replace(
        "            privileged: true\n",
        "            # corral:ignore privileged-container needs /dev/kvm\n            privileged: true\n",
    );
    std::fs::write(dir.path().join("web.yaml"), commented).unwrap();
    let (_, shown, summary) = scan_json(dir.path(), &[]);
    let rules = rules_of(&shown);
    for gone in ["CRL-P009@", "CRL-W014@", "CRL-P001@"] {
        assert!(!rules.iter().any(|r| r.starts_with(gone)), "{rules:?}");
    }
    assert_eq!(summary["suppressed"], 3, "{summary}");
    let (_, all, _) = scan_json(dir.path(), &["--show-suppressed"]);
    let privileged = all.iter().find(|f| f["rule"] == "CRL-P009").unwrap();
    assert_eq!(privileged["status"], "suppressed");
    assert_eq!(privileged["suppressed"], "# corral:ignore: needs /dev/kvm");
    let digest = all.iter().find(|f| f["rule"] == "CRL-W014").unwrap();
    assert_eq!(
        digest["suppressed"],
        "corral.dev/ignore: pinned by the release job"
    );
}

#[test]
fn baselines_survive_edits_and_list_stale_entries() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, DEPLOYMENT).unwrap();
    let output = corral(
        dir.path(),
        &["scan", ".", "-q", "--write-baseline", "baseline.json"],
    );
    assert_eq!(output.status.code(), Some(1));
    let (code, new, summary) = scan_json(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!((code, new.len()), (Some(0), 0), "{summary}");
    // Lines added above every finding move them all: still nothing new.
    std::fs::write(&file, format!("# comment\n# another\n{DEPLOYMENT}")).unwrap();
    let (code, new, _) = scan_json(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(
        (code, new.len()),
        (Some(0), 0),
        "{}",
        rules_of(&new).join(" ")
    );
    // A new finding counts; a fixed one leaves a stale entry.
    let changed = DEPLOYMENT
        .replace("privileged: true", "privileged: false")
        .replace(
            "        - name: web\n",
            "        - name: web\n          ports: [{containerPort: 22}]\n",
        );
    std::fs::write(&file, changed).unwrap();
    let output = corral(
        dir.path(),
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--baseline",
            "baseline.json",
        ],
    );
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    let rules = rules_of(value["findings"].as_array().unwrap());
    assert_eq!(rules, ["CRL-W020@13"], "{rules:?}");
    let stale: Vec<&str> = value["staleBaselineEntries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rule"].as_str().unwrap())
        .collect();
    assert!(stale.contains(&"CRL-P009"), "{stale:?}");
}

/// A baseline written when CRL-W001 reported privileged containers: its
/// entry matches the finding of CRL-P009, which took the defect over
/// (same object, same field), and is not stale.
#[test]
fn baseline_entries_of_a_merged_rule_match_its_owner() {
    static OLD: corral_scan::RuleMeta = corral_scan::RuleMeta {
        id: "CRL-W001",
        name: "privileged-container",
        family: corral_scan::Family::Workload,
        severity: corral_scan::Severity::Critical,
        summary: "Container runs privileged",
        doc: "",
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), DEPLOYMENT).unwrap();
    let output = corral(
        dir.path(),
        &["scan", ".", "-q", "--write-baseline", "baseline.json"],
    );
    assert_eq!(output.status.code(), Some(1));
    let name: std::sync::Arc<str> = std::sync::Arc::from("./web.yaml");
    let (objects, _) = corral_core::load_bytes(
        &name,
        DEPLOYMENT.as_bytes(),
        &corral_core::Limits::default(),
        &|_| {},
    );
    let field = "spec.template.spec.containers[0].securityContext.privileged";
    let old = corral_scan::Finding::new(&OLD, &objects[0], field, "m".into(), "f".into());
    let path = dir.path().join("baseline.json");
    let mut baseline: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let entries = baseline["findings"].as_array_mut().unwrap();
    let entry = entries
        .iter_mut()
        .find(|e| e["rule"] == "CRL-P009")
        .expect("a CRL-P009 entry");
    assert_eq!(entry["field"], field);
    assert_ne!(entry["fingerprint"], old.fingerprint.as_str());
    entry["fingerprint"] = old.fingerprint.clone().into();
    entry["rule"] = "CRL-W001".into();
    std::fs::write(&path, serde_json::to_vec(&baseline).unwrap()).unwrap();
    let output = corral(
        dir.path(),
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--baseline",
            "baseline.json",
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        rules_of(value["findings"].as_array().unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(value["staleBaselineEntries"], serde_json::json!([]));
}

#[test]
fn diff_base_fails_only_on_findings_new_since_the_revision() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = Process::new("git")
            .current_dir(dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    std::fs::write(dir.path().join("deploy/web.yaml"), DEPLOYMENT).unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    // A new container with an SSH port, and three lines moved.
    let changed = format!("# moved\n\n\n{}", DEPLOYMENT.replace(
        "          image: nginx:1.27\n",
        "          image: nginx:1.27\n        - name: debug\n          image: busybox:1.36\n          ports: [{containerPort: 22}]\n",
    ));
    std::fs::write(dir.path().join("deploy/web.yaml"), changed).unwrap();
    let output = corral(
        dir.path(),
        &["scan", "deploy", "--format", "json", "--diff-base", "HEAD"],
    );
    let value: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let new: Vec<String> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["field"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!new.is_empty());
    assert!(new.iter().all(|f| f.contains("containers[1]")), "{new:?}");
    assert!(new.iter().any(|f| f.starts_with("CRL-W020")), "{new:?}");
    assert_eq!(
        output.status.code(),
        Some(1),
        "the debug container escalates"
    );
}

#[test]
fn github_annotations_are_capped_and_the_summary_lists_everything() {
    let dir = tempfile::tempdir().unwrap();
    let many: String = (0..15)
        .map(|i| {
            DEPLOYMENT.replace(
                "name: web\n  namespace",
                &format!("name: web{i}\n  namespace"),
            )
        })
        .collect::<Vec<_>>()
        .join("---\n");
    std::fs::write(dir.path().join("web.yaml"), many).unwrap();
    let summary = dir.path().join("summary.md");
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(dir.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["scan", ".", "--format", "github"])
        .output()
        .unwrap();
    let text = stdout(&output);
    let errors = text.lines().filter(|l| l.starts_with("::error ")).count();
    let warnings = text.lines().filter(|l| l.starts_with("::warning ")).count();
    assert_eq!((errors, warnings), (10, 10), "{text}");
    assert!(text.contains("::error file=web.yaml,line="), "{text}");
    assert!(text.lines().any(|l| l.starts_with("::notice::")), "{text}");
    let markdown = std::fs::read_to_string(summary).unwrap();
    let rows = markdown
        .lines()
        .filter(|l| {
            l.starts_with("| critical |")
                || l.starts_with("| high |")
                || l.starts_with("| medium |")
                || l.starts_with("| low |")
        })
        .count();
    assert!(rows > 20, "{markdown}");
}

#[test]
fn rule_docs_are_generated_from_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let output = corral(
        &workspace(),
        &["rules", "--write-docs", dir.path().to_str().unwrap()],
    );
    assert!(output.status.success());
    let committed = workspace().join("docs/rules");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let generated = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let current = std::fs::read_to_string(committed.join(name)).unwrap_or_default();
        assert!(
            generated == current,
            "docs/rules/{name} is stale: run `corral rules --write-docs docs/rules`"
        );
    }
    let committed_count = std::fs::read_dir(&committed).unwrap().count();
    assert_eq!(
        committed_count,
        names.len(),
        "docs/rules holds pages of rules that are gone"
    );
}

#[test]
fn the_real_world_corpus_scans_without_a_panic_in_every_format() {
    let Some(corpus) = shared::shared("corpus") else {
        return;
    };
    for format in ["text", "json", "sarif", "github", "junit", "markdown"] {
        let output = corral(
            &workspace(),
            &["scan", corpus.to_str().unwrap(), "-q", "--format", format],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        // Findings (1) and the corpus's own broken files (2), never a crash.
        assert_eq!(output.status.code(), Some(2), "{format}: {stderr}");
        assert!(!output.stdout.is_empty());
    }
}

#[test]
fn corral_yaml_configures_rules_paths_namespaces_and_templates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("vendor/x")).unwrap();
    std::fs::write(dir.path().join("vendor/x/web.yaml"), DEPLOYMENT).unwrap();
    std::fs::write(
        dir.path().join("system.yaml"),
        DEPLOYMENT.replace("namespace: shop", "namespace: kube-system"),
    )
    .unwrap();
    // A custom resource whose pod template is at spec.workload.template.
    std::fs::write(
        dir.path().join("widget.yaml"),
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec:\n  workload:\n    template:\n      spec:\n        containers:\n          - name: w\n            image: busybox:1.36\n            securityContext:\n              privileged: true\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".corral.yaml"),
        "version: 1\npss: {level: baseline}\nrules:\n  disable: [image-not-pinned-by-digest, CRL-W015]\n  severity: {privileged-container: low}\nexclude:\n  paths: [\"vendor/**\"]\n  namespaces: [kube-system]\ntemplatePaths: [spec.workload.template]\nfailOn: critical\n",
    )
    .unwrap();
    let (code, findings, _) = scan_json(dir.path(), &[]);
    let files: Vec<&str> = findings
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert!(
        files.iter().all(|f| f.ends_with("widget.yaml")),
        "{files:?}"
    );
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        !rules.contains(&"CRL-W014") && !rules.contains(&"CRL-W015"),
        "{rules:?}"
    );
    // Baseline level: no restricted-only check fires.
    assert!(!rules.contains(&"CRL-P013"), "{rules:?}");
    // The old name of the workload rule sets the severity of the rule that
    // took it over (rule_redirects): nothing critical is left to fail on.
    let privileged = findings.iter().find(|f| f["rule"] == "CRL-P009").unwrap();
    assert_eq!(privileged["severity"], "low");
    assert_eq!(privileged["line"], 12);
    assert_eq!(code, Some(0));
    // A broken configuration names its line.
    std::fs::write(
        dir.path().join(".corral.yaml"),
        "version: 1\nfailOn: severe\n",
    )
    .unwrap();
    let output = corral(dir.path(), &["scan", "."]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(".corral.yaml:2:9: failOn is low, medium, high or critical"),
        "{stderr}"
    );
}

/// Values decode as kubectl decodes them (YAML 1.1, then JSON, then the
/// typed field): `runAsUser: 0.0` is uid 0, whose findings are reported,
/// like `runAsUser: 0`; a uid with a fraction is an error at its value, and
/// the scan fails rather than pass the pod.
#[test]
fn a_float_uid_with_no_fraction_is_root_as_kubectl_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |uid: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: shop}}\nspec:\n  securityContext:\n    runAsUser: {uid}\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext: {{privileged: on}}\n")
    };
    let findings_for = |uid: &str| {
        std::fs::write(dir.path().join("pod.yaml"), pod(uid)).unwrap();
        let (code, findings, _) = scan_json(dir.path(), &[]);
        (code, rules_of(&findings))
    };
    let (code, zero) = findings_for("0");
    assert_eq!(code, Some(1));
    assert!(zero.contains(&"CRL-P014@6".to_string()), "{zero:?}");
    // `privileged: on` is YAML 1.1's true.
    assert!(zero.iter().any(|r| r.starts_with("CRL-P009@")), "{zero:?}");
    for uid in ["0.0", "0e0", "-0.0", "0o0", "!!int '0'"] {
        assert_eq!(findings_for(uid), (Some(1), zero.clone()), "{uid}");
    }
    std::fs::write(dir.path().join("pod.yaml"), pod("0.5")).unwrap();
    let output = corral(dir.path(), &["scan", "pod.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pod.yaml:6:16"), "{stderr}");
}

/// One definition of a line (CR, LF and CR LF each end one) everywhere: a
/// finding after lone carriage returns points at its line and column, on a
/// line of the file, in the text report's source line too; a file whose
/// lines end in CR alone scans as the same file with LF.
#[test]
fn lines_end_at_cr_lf_and_crlf_in_every_position() {
    let dir = tempfile::tempdir().unwrap();
    // The fuzz-found input, reduced: a flow sequence opened before a lone CR.
    let text = "apiVersion: v1\nkind: Pod\nspec: {containers: [\r{name: c, image: i}]}\n";
    std::fs::write(dir.path().join("cr.yaml"), text).unwrap();
    let output = corral(dir.path(), &["scan", "cr.yaml", "--format", "json"]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for finding in findings {
        assert!(finding["line"].as_u64().unwrap() <= 5, "{finding}");
    }
    // The container's image is on line 4 (after the CR), at column 11.
    let latest = findings
        .iter()
        .find(|f| {
            f["field"]
                .as_str()
                .is_some_and(|p| p.ends_with("containers[0].image"))
        })
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(
        (latest["line"].as_u64(), latest["column"].as_u64()),
        (Some(4), Some(11)),
        "{latest}"
    );
    let output = corral(dir.path(), &["scan", "cr.yaml"]);
    let shown = stdout(&output);
    assert!(shown.contains("4 | {name: c, image: i}]}"), "{shown}");

    // CR-only and CR LF files: the findings of the LF file, line for line.
    let lf = DEPLOYMENT.replace(
        "privileged: true",
        "privileged: true # corral:ignore CRL-W001 test",
    );
    let mut seen = Vec::new();
    for (name, text) in [
        ("lf.yaml", lf.clone()),
        ("cr.yaml", lf.replace('\n', "\r")),
        ("crlf.yaml", lf.replace('\n', "\r\n")),
    ] {
        let sub = dir.path().join(name.trim_end_matches(".yaml"));
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("web.yaml"), text).unwrap();
        let output = corral(
            &sub,
            &["scan", "web.yaml", "--format", "json", "--show-suppressed"],
        );
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let placed: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}@{}:{} {}",
                    f["rule"], f["line"], f["column"], f["status"]
                )
            })
            .collect();
        assert!(
            placed
                .iter()
                // The old ID in the comment still names its owner's finding.
                .any(|p| p.contains("CRL-P009") && p.contains("suppressed")),
            "{name}: {placed:?}"
        );
        seen.push(placed);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
}

/// SARIF states how its columns count: Unicode code points, which is how
/// Corral counts them (`é` and an emoji before a finding are one each).
#[test]
fn sarif_columns_are_unicode_code_points() {
    let dir = tempfile::tempdir().unwrap();
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  - {name: \"é😀\", image: nginx, securityContext: {privileged: true}}\n";
    std::fs::write(dir.path().join("pod.yaml"), text).unwrap();
    let output = corral(dir.path(), &["scan", "pod.yaml", "--format", "sarif", "-q"]);
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let privileged = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "CRL-P009")
        .unwrap();
    let region = &privileged["locations"][0]["physicalLocation"]["region"];
    // `  - {name: "é😀", image: nginx, securityContext: {` is 49 code points
    // (51 UTF-16 code units, 53 bytes).
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(6), Some(50)),
        "{region}"
    );
}

/// Input that cannot be read fails the run (exit 2), and every report says
/// so: SARIF's invocation is not successful and names the place, GitHub
/// gets an error annotation; the readable files are still scanned.
#[test]
fn unreadable_input_is_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsUser: 0.5}\n  containers: [{name: c, image: x}]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("good.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec:\n  containers: [{name: c, image: x, securityContext: {privileged: true}}]\n",
    )
    .unwrap();
    let output = corral(dir.path(), &["scan", ".", "--format", "sarif", "-q"]);
    assert_eq!(output.status.code(), Some(2));
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notification = &invocation["toolExecutionNotifications"][0];
    assert_eq!(notification["level"], "error");
    let location = &notification["locations"][0]["physicalLocation"];
    assert!(location["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .ends_with("bad.yaml"));
    assert_eq!(location["region"]["startLine"], 5);
    assert!(sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["ruleId"] == "CRL-P009"));
    let output = corral(dir.path(), &["scan", ".", "--format", "github", "-q"]);
    let annotations = String::from_utf8_lossy(&output.stdout);
    assert!(
        annotations.starts_with("::error file=bad.yaml,line=5,"),
        "{annotations}"
    );
}
