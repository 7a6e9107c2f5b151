//! Corral's SARIF passes Microsoft's SARIF Multitool validation with no
//! error or warning. `scripts/test.sh` installs the tool and sets
//! `SARIF_MULTITOOL`; CI must have it.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn pss_sarif_validates() {
    let Some(multitool) = std::env::var_os("SARIF_MULTITOOL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs scripts/test.sh, which sets SARIF_MULTITOOL"
        );
        eprintln!("skipped: SARIF_MULTITOOL is not set (scripts/test.sh sets it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("pss.sarif");
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .args(["pss", "examples", "--format", "sarif", "--output"])
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let validation = Process::new(multitool)
        .arg("validate")
        .arg(&sarif)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&validation.stdout);
    assert!(
        report.contains("Analysis completed successfully."),
        "{report}"
    );
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(": error ") || l.contains(": warning "))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
