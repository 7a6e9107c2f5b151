//! Hostile single-file inputs end to end, through the real binary: a
//! recording from a compromised node, a baseline or `.corral.yaml` in a
//! pull request, and a git history with odd file names for `--diff-base`.
//! Each fails closed with an error that names the file and what is wrong
//! (exit status 2, nothing written), or is read exactly.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn corral(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The status is 2 and standard error holds each of `parts`.
fn refused(output: &Output, parts: &[&str]) {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for part in parts {
        assert!(stderr.contains(part), "{part:?} not in: {stderr}");
    }
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

const BACKEND: &str =
    "examples/advise-demo/recordings/shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json";

/// The example backend recording, changed by `change`, written to `dir`.
fn recording(dir: &Path, name: &str, change: impl FnOnce(&mut Value)) -> PathBuf {
    let mut value: Value =
        serde_json::from_slice(&fs::read(workspace().join(BACKEND)).unwrap()).unwrap();
    change(&mut value);
    let path = dir.join(name);
    fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    path
}

/// The index of syscall `number` in the recording's workload syscalls.
fn syscall_at(value: &Value, number: u64) -> usize {
    value["workload"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["number"] == number)
        .unwrap()
}

#[test]
fn a_recording_cannot_rename_a_syscall_to_allow_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut at = 0;
    let bad = recording(dir.path(), "bad.json", |v| {
        at = syscall_at(v, 0);
        v["workload"]["syscalls"][at]["name"] = "ptrace".into();
    });
    let good = recording(dir.path(), "good.json", |_| {});
    let entry = format!(
        r#"bad.json: workload.syscalls[{at}]: syscall number 0 is "read" on x86_64, not "ptrace""#
    );
    let out = dir.path().join("profiles");
    let advise = corral(
        dir.path(),
        &[
            "advise",
            "seccomp",
            "--recording",
            "good.json",
            "--recording",
            "bad.json",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    refused(&advise, &[&entry]);
    assert!(!out.exists(), "nothing is written");
    // The good one alone is advised, and allows read, not ptrace (its pod
    // is in no inventory: it is its own workload).
    let advise = corral(
        dir.path(),
        &[
            "advise",
            "seccomp",
            "--recording",
            good.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(advise.status.success(), "{}", stderr(&advise));
    let profile: Value = serde_json::from_slice(
        &fs::read(out.join("shop-backend-6d4b9c8f6d-x2x9q-backend.json")).unwrap(),
    )
    .unwrap();
    let names = profile["syscalls"][0]["names"].as_array().unwrap();
    assert!(names.contains(&json!("read")) && !names.contains(&json!("ptrace")));

    let merge = corral(
        dir.path(),
        &["record", "merge", "good.json", bad.to_str().unwrap()],
    );
    refused(&merge, &[&entry.replace("bad.json", bad.to_str().unwrap())]);
    assert!(merge.stdout.is_empty());

    // drift reads recordings the same way.
    let drift = corral(
        dir.path(),
        &[
            "drift",
            "--recording",
            "bad.json",
            "--policies",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(drift.status.code(), Some(2), "{}", stderr(&drift));
}

#[test]
fn recordings_of_unknown_numbers_or_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    recording(dir.path(), "unknown.json", |v| {
        v["workload"]["syscalls"]
            .as_array_mut()
            .unwrap()
            .push(json!({"number": 999, "name": "ptrace", "runs": 1}));
    });
    recording(dir.path(), "v2.json", |v| v["formatVersion"] = 2.into());
    let out = dir.path().join("out");
    let advise = |file: &str| {
        corral(
            dir.path(),
            &[
                "advise",
                "seccomp",
                "--recording",
                file,
                "-o",
                out.to_str().unwrap(),
            ],
        )
    };
    refused(
        &advise("unknown.json"),
        &[
            r#"unknown.json: workload.syscalls["#,
            r#"]: syscall number 999 (named "ptrace") is not in x86_64's syscall table"#,
        ],
    );
    refused(
        &advise("v2.json"),
        &["v2.json: formatVersion 2 is not supported: this Corral reads recordings of format version 1"],
    );
    assert!(!out.exists());
}

#[test]
fn a_recording_larger_than_a_document_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    // Sparse: 64 MiB + 1 byte of zeros, the loader's --max-document-size
    // default plus one.
    let file = fs::File::create(&path).unwrap();
    file.set_len((64 << 20) + 1).unwrap();
    let merge = corral(dir.path(), &["record", "merge", "huge.json"]);
    refused(
        &merge,
        &["huge.json: larger than 67108864 bytes (--max-document-size); not read"],
    );
}

#[test]
fn baselines_check_their_version_and_size() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("web.yaml"), DEPLOYMENT).unwrap();
    let written = corral(
        dir.path(),
        &["scan", ".", "-q", "--write-baseline", "baseline.json"],
    );
    assert_eq!(written.status.code(), Some(1), "{}", stderr(&written));
    let mut baseline: Value =
        serde_json::from_slice(&fs::read(dir.path().join("baseline.json")).unwrap()).unwrap();
    assert_eq!(baseline["version"], 1);
    let accepted = corral(dir.path(), &["scan", ".", "--baseline", "baseline.json"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));

    // A future version: refused, not read as if it were this one.
    baseline["version"] = 2.into();
    fs::write(dir.path().join("v2.json"), baseline.to_string()).unwrap();
    refused(
        &corral(dir.path(), &["scan", ".", "--baseline", "v2.json"]),
        &["v2.json: baseline version 2 is not supported: this Corral reads baseline version 1"],
    );
    baseline.as_object_mut().unwrap().remove("version");
    fs::write(dir.path().join("none.json"), baseline.to_string()).unwrap();
    refused(
        &corral(dir.path(), &["scan", ".", "--baseline", "none.json"]),
        &["none.json: no version: not a Corral baseline"],
    );
    // Larger than --max-document-size: refused unread.
    refused(
        &corral(
            dir.path(),
            &[
                "scan",
                ".",
                "--baseline",
                "baseline.json",
                "--max-document-size",
                "100",
            ],
        ),
        &["baseline.json: larger than 100 bytes (--max-document-size); not read"],
    );
}

#[test]
fn configurations_check_their_version_and_size() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("web.yaml"), DEPLOYMENT).unwrap();
    let config = dir.path().join(".corral.yaml");
    fs::write(&config, "version: 1\nfailOn: critical\n").unwrap();
    // privileged is critical: failOn critical fails, as configured.
    assert_eq!(corral(dir.path(), &["scan", "."]).status.code(), Some(1));
    // No version: written before the field existed, version 1.
    fs::write(&config, "failOn: critical\n").unwrap();
    assert_eq!(corral(dir.path(), &["scan", "."]).status.code(), Some(1));
    fs::write(&config, "failOn: critical\nversion: 2\n").unwrap();
    refused(
        &corral(dir.path(), &["scan", "."]),
        &[".corral.yaml:2:10: version 2 is not supported: this Corral reads configuration version 1"],
    );
    // Empty: sets nothing (privileged is high, the default failOn).
    fs::write(&config, "").unwrap();
    assert_eq!(corral(dir.path(), &["scan", "."]).status.code(), Some(1));
    fs::write(dir.path().join("other.yaml.txt"), "version: 3\n").unwrap();
    refused(
        &corral(
            dir.path(),
            &["scan", "web.yaml", "--config", "other.yaml.txt"],
        ),
        &["other.yaml.txt:1:10: version 3 is not supported"],
    );
    fs::write(&config, format!("version: 1\n#{}\n", "x".repeat(200))).unwrap();
    refused(
        &corral(dir.path(), &["scan", ".", "--max-document-size", "100"]),
        &[".corral.yaml: larger than 100 bytes (--max-document-size); not read"],
    );
    // Something named .corral.yaml that is not a file is not left unread,
    // nor waited on: an endless device, a FIFO (that no one writes) and a
    // directory are errors.
    fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
    let not_a_file = ".corral.yaml: not a regular file";
    refused(&corral(dir.path(), &["scan", "web.yaml"]), &[not_a_file]);
    fs::remove_file(&config).unwrap();
    let fifo = Command::new("mkfifo").arg(&config).output().unwrap();
    assert!(fifo.status.success());
    refused(&corral(dir.path(), &["scan", "web.yaml"]), &[not_a_file]);
    fs::remove_file(&config).unwrap();
    fs::create_dir(&config).unwrap();
    refused(&corral(dir.path(), &["scan", "web.yaml"]), &[not_a_file]);
}

/// `--diff-base` lists the base revision's files with `git ls-tree -z`:
/// names with spaces, quotes, newlines and UTF-8 are read exactly, so
/// their unchanged findings are known and only new ones count.
#[test]
fn diff_base_reads_odd_file_names_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .current_dir(dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(["-c", "core.quotePath=true"])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "git {args:?}: {}", stderr(&output));
    };
    git(&["init", "-q"]);
    let deploy = dir.path().join("deploy");
    fs::create_dir(&deploy).unwrap();
    let names = [
        "café.yaml",
        "a b.yaml",
        "quote\".yaml",
        "new\nline.yaml",
        "tab\there.yaml",
        "back\\slash.yaml",
    ];
    for (i, name) in names.iter().enumerate() {
        fs::write(
            deploy.join(name),
            DEPLOYMENT.replace(
                "name: web\n  namespace",
                &format!("name: web{i}\n  namespace"),
            ),
        )
        .unwrap();
    }
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    let scan = |dir: &Path| {
        let output = corral(
            dir,
            &["scan", "deploy", "--format", "json", "--diff-base", "HEAD"],
        );
        let value: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", stderr(&output)));
        (output, value)
    };
    // Nothing changed: every finding is known at HEAD.
    let (output, value) = scan(dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(value["findings"], json!([]), "{}", stderr(&output));
    let all = corral(dir.path(), &["scan", "deploy", "--format", "json"]);
    let all: Value = serde_json::from_slice(&all.stdout).unwrap();
    let files: std::collections::BTreeSet<&str> = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), names.len(), "{files:?}");

    // A new container in café.yaml (and lines moved): only its findings
    // are new.
    let changed = format!(
        "# moved\n\n{}",
        fs::read_to_string(deploy.join("café.yaml")).unwrap().replace(
            "          image: nginx:1.27\n",
            "          image: nginx:1.27\n        - name: debug\n          image: busybox:1.36\n          ports: [{containerPort: 22}]\n",
        )
    );
    fs::write(deploy.join("café.yaml"), changed).unwrap();
    // A file not in HEAD: all its findings are new.
    fs::write(
        deploy.join("nouveau \"fichier\".yaml"),
        DEPLOYMENT.replace("name: web\n  namespace", "name: other\n  namespace"),
    )
    .unwrap();
    let (output, value) = scan(dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let new: Vec<(String, String)> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!new.is_empty());
    for (file, field) in &new {
        assert!(
            (file.ends_with("café.yaml") && field.contains("containers[1]"))
                || file.ends_with("nouveau \"fichier\".yaml"),
            "{new:?}"
        );
    }
    assert!(new.iter().any(|(f, _)| f.ends_with("café.yaml")), "{new:?}");
    assert!(
        new.iter()
            .any(|(f, _)| f.ends_with("nouveau \"fichier\".yaml")),
        "{new:?}"
    );
}

#[test]
fn diff_base_refuses_an_option_for_a_revision() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("web.yaml"), DEPLOYMENT).unwrap();
    refused(
        &corral(dir.path(), &["scan", ".", "--diff-base=--output=x"]),
        &["--diff-base --output=x: a git revision does not start with `-`"],
    );
    assert!(!dir.path().join("x").exists());
}

/// Other single-file inputs are bounded the same way: an endless
/// `advice.json` for drift, an endless PodSecurityConfiguration for pss.
#[test]
fn endless_advice_and_pss_configurations_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    recording(dir.path(), "good.json", |_| {});
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("advice.json")).unwrap();
    refused(
        &corral(
            dir.path(),
            &["drift", "--recording", "good.json", "--policies", "."],
        ),
        &["advice.json: larger than 67108864 bytes (--max-document-size); not read (written by corral advise all)"],
    );
    fs::write(dir.path().join("web.yaml"), DEPLOYMENT).unwrap();
    refused(
        &corral(dir.path(), &["pss", "web.yaml", "--config", "/dev/zero"]),
        &["/dev/zero: larger than 67108864 bytes (--max-document-size); not read"],
    );
}

/// SARIF URIs are relative to the repository's root: the working
/// directory's prefix is git's exactly, a leading space included (and
/// percent-encoded, as a URI reference needs).
#[test]
fn sarif_keeps_a_directory_name_with_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let init = Command::new("git")
        .current_dir(dir.path())
        .args(["init", "-q"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", stderr(&init));
    let sub = dir.path().join(" lead é");
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("web.yaml"), DEPLOYMENT).unwrap();
    let output = corral(&sub, &["scan", "web.yaml", "--format", "sarif", "-q"]);
    let sarif: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&output)));
    let location = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "%20lead%20%C3%A9/web.yaml"
    );
}
