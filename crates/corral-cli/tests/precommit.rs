//! The pre-commit hook, run by the real `pre-commit` (PyPI) through
//! `pre-commit try-repo` on a temporary repository. `scripts/test.sh`
//! installs pre-commit and sets `PRE_COMMIT`; CI must have it.

use std::path::{Path, PathBuf};
use std::process::Command;

mod installed;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn the_hook_fails_a_commit_that_adds_a_privileged_container() {
    let Some(pre_commit) = installed::tool("PRE_COMMIT") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .current_dir(dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    std::fs::write(
        dir.path().join("web.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n    - name: web\n      image: nginx:1.27\n      securityContext:\n        privileged: true\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("notes.yaml"),
        "title: not a Kubernetes object\n",
    )
    .unwrap();
    git(&["add", "."]);
    let output = Command::new(pre_commit)
        .current_dir(dir.path())
        .args(["try-repo"])
        .arg(workspace())
        .args(["corral-scan", "--all-files"])
        // The binary the tests already built. Building from pre-commit's
        // clone into this workspace's target directory would overwrite its
        // libraries with ones compiled from other paths, under the same
        // names, while the other tests and doc-tests link against them.
        .env("CORRAL_HOOK_BIN", env!("CARGO_BIN_EXE_corral"))
        .env("PRE_COMMIT_HOME", dir.path().join(".cache"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("corral scan") && text.contains("Failed"),
        "{text}"
    );
    assert!(text.contains("critical[CRL-P009] pss-privileged"), "{text}");
    assert!(text.contains("--> web.yaml:9:9"), "{text}");
}
