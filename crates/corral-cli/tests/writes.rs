//! File writes count only when they happen, end to end: a real runc
//! container under a read-only root (busybox-static, as
//! `tests/support/mod.rs` builds it) that succeeds at some writes and fails
//! at others, recorded with `corral record --containers`. Its successes are
//! `fileWrites`, its failures `fileWriteFailures` with their errno;
//! `advise securitycontext` keeps `readOnlyRootFilesystem` when only failed
//! calls touched the root, and `corral drift` reports no write for them,
//! but does for the same program when its writes in / succeed. Needs root,
//! runc and busybox-static (`scripts/test.sh` installs them).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

mod support;
use support::{bundle, containerd_annotations, corral, geteuid, root_filesystem, wait_for};
use support::{Recorder, Runtime};

/// `mkdir -p` over directories that exist (busybox asks for every
/// component, `/` included: EEXIST), a file created then opened again with
/// O_CREAT|O_TRUNC (a create, then an open for writing), a mkdir over that
/// file (EEXIST), a directory in the root (EROFS when it is read-only) and
/// a rename of a file that does not exist (ENOENT).
const SCRIPT: &str = "mkdir -p /usr/bin /tmp/d; touch /tmp/x; echo again > /tmp/x; \
     mkdir /tmp/x 2>/dev/null; mkdir /newdir 2>/dev/null; mv /tmp/missing /tmp/y 2>/dev/null; \
     echo done";

/// Records SCRIPT in a container of pod app-7d4b9c8f6d-aaaaa (Deployment
/// demo/app), its root read-only or not, into `out`.
fn record(dir: &Path, rootfs: &Path, read_only: bool, out: &Path) -> String {
    let pod = "app-7d4b9c8f6d-aaaaa";
    let name = if read_only { "read-only" } else { "writable" };
    let mut runtime = Runtime {
        root: dir.join(format!("runc-{name}")),
        started: Vec::new(),
    };
    fs::create_dir_all(&runtime.root).unwrap();
    let recorder = Recorder::start(&runtime, out);
    let path = bundle(
        &dir.join(name),
        rootfs,
        &["sh", "-c", SCRIPT],
        containerd_annotations("demo", pod, "app"),
        None,
        0,
    );
    let config_path = path.join("config.json");
    let mut config: Value = serde_json::from_slice(&fs::read(&config_path).unwrap()).unwrap();
    config["root"]["readonly"] = json!(read_only);
    fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let output = wait_for(runtime.start(&format!("{pod}-app"), &path), pod);
    recorder.stop();
    output
}

fn only_recording(dir: &Path) -> Value {
    let files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    serde_json::from_slice(&fs::read(&files[0]).unwrap()).unwrap()
}

fn entries(recording: &Value, list: &str, fields: &[&str]) -> BTreeSet<Vec<String>> {
    recording["workload"][list]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|entry| {
            fields
                .iter()
                .map(|f| match &entry[f] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

fn row(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| f.to_string()).collect()
}

/// The exit status and standard output (standard error too when it
/// failed, to say why).
fn corral_output(args: &[&str], paths: &[&Path]) -> (i32, String) {
    let output = Command::new(corral())
        .args(args)
        .args(paths)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        text.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn only_writes_that_happened_are_writes() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let rootfs = root_filesystem(dir);
    fs::create_dir_all(rootfs.join("usr/bin")).unwrap();
    for applet in ["touch", "mv"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }

    // Under a read-only root.
    let recordings = dir.join("recordings");
    let output = record(dir, &rootfs, true, &recordings);
    assert!(output.ends_with("done\n"), "{output}");
    let recording = only_recording(&recordings);
    let writes = entries(
        &recording,
        "fileWrites",
        &["operation", "path", "rootFilesystem"],
    );
    assert_eq!(
        writes,
        BTreeSet::from([
            row(&["mkdir", "/tmp/d", "false"]),
            row(&["create", "/tmp/x", "false"]),
            row(&["open-write", "/tmp/x", "false"]),
            // The shell's `2>/dev/null`: O_CREAT|O_TRUNC of a file that
            // exists, an open for writing.
            row(&["open-write", "/dev/null", "false"]),
        ]),
        "{}",
        recording["workload"]
    );
    let failures = entries(
        &recording,
        "fileWriteFailures",
        &["operation", "path", "error", "rootFilesystem"],
    );
    for expected in [
        ["mkdir", "/", "EEXIST", "true"],
        ["mkdir", "/usr", "EEXIST", "true"],
        ["mkdir", "/usr/bin", "EEXIST", "true"],
        ["mkdir", "/tmp", "EEXIST", "false"],
        ["mkdir", "/tmp/x", "EEXIST", "false"],
        ["mkdir", "/newdir", "EROFS", "true"],
        ["rename-from", "/tmp/missing", "ENOENT", "false"],
        ["rename-to", "/tmp/y", "ENOENT", "false"],
    ] {
        assert!(
            failures.contains(&row(&expected)),
            "{expected:?} missing from {failures:?}"
        );
    }
    // No failure is also a write, and each carries a count and its runs.
    for failure in recording["workload"]["fileWriteFailures"]
        .as_array()
        .unwrap()
    {
        assert!(failure["count"].as_u64().unwrap() >= 1, "{failure}");
        assert_eq!(failure["runs"], 1, "{failure}");
    }

    // Only failed calls touched the root: it stays read-only, and the
    // evidence says what was tried.
    let (code, text) = corral_output(
        &[
            "advise",
            "securitycontext",
            "--format",
            "json",
            "--recording",
        ],
        &[&recordings],
    );
    assert_eq!(code, 0, "{text}");
    let advice: Value = serde_json::from_str(&text).unwrap();
    let advice = &advice[0];
    assert_eq!(
        advice["securityContext"]["readOnlyRootFilesystem"], true,
        "{advice}"
    );
    assert_eq!(
        advice["advice"]["writable_directories"],
        json!([]),
        "{advice}"
    );
    let evidence = advice["advice"]["evidence"]["readOnlyRootFilesystem"]
        .as_str()
        .unwrap();
    assert!(
        evidence
            .starts_with("nothing was written to the root filesystem; it also tried and failed")
            && evidence.contains("mkdir / EEXIST")
            && evidence.contains("mkdir /newdir EROFS"),
        "{evidence}"
    );

    // The policies, and no drift for the same run.
    let policies = dir.join("policies");
    let status = Command::new(corral())
        .args(["advise", "all", "--recording"])
        .arg(&recordings)
        .arg("-o")
        .arg(&policies)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let drift = |recordings: &Path| {
        corral_output(
            &[
                "drift",
                "--policies",
                policies.to_str().unwrap(),
                "--recording",
            ],
            &[recordings],
        )
    };
    let (code, text) = drift(&recordings);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("read-only root"), "{text}");

    // The same program with a writable root: its mkdirs in / succeed, are
    // writes, and are drift from the read-only root advised.
    let writable = dir.join("recordings-writable");
    let output = record(dir, &rootfs, false, &writable);
    assert!(output.ends_with("done\n"), "{output}");
    let recording = only_recording(&writable);
    let writes = entries(
        &recording,
        "fileWrites",
        &["operation", "path", "rootFilesystem"],
    );
    assert!(
        writes.contains(&row(&["mkdir", "/newdir", "true"])),
        "{writes:?}"
    );
    let failures = entries(
        &recording,
        "fileWriteFailures",
        &["operation", "path", "error"],
    );
    assert!(
        failures.contains(&row(&["mkdir", "/usr/bin", "EEXIST"])),
        "{failures:?}"
    );
    assert!(!failures.iter().any(|f| f[1] == "/newdir"), "{failures:?}");
    let (code, text) = drift(&writable);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("mkdir /newdir on the read-only root filesystem"),
        "{text}"
    );
    assert!(!text.contains("/usr/bin"), "{text}");
}
