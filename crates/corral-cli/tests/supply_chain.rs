//! Corral's own supply chain: the SBOM `scripts/sbom.sh` writes is valid
//! CycloneDX and true to Cargo.lock, and every GitHub workflow and the
//! action pass jactionlint (actionlint's checks, plus actions pinned by
//! commit SHA). `scripts/test.sh` installs the validators and sets
//! `CYCLONEDX_PYTHON` and `JACTIONLINT`; CI must have them.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

mod installed;
use installed::tool;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Cargo.lock's packages: `name@version` to the registry checksum (none for
/// the workspace's own crates).
fn locked_packages() -> BTreeMap<String, Option<String>> {
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).unwrap();
    let mut packages = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|line| {
                let value = line.strip_prefix(key)?.strip_prefix(" = \"")?;
                Some(value.trim_end_matches('"').to_string())
            })
        };
        let id = format!("{}@{}", field("name").unwrap(), field("version").unwrap());
        packages.insert(id, field("checksum"));
    }
    packages
}

fn sbom(out: &Path) -> Vec<u8> {
    let status = Command::new("bash")
        .arg(workspace().join("scripts/sbom.sh"))
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "scripts/sbom.sh failed");
    std::fs::read(out).unwrap()
}

/// CycloneDX's own Python library validates `bom` against the 1.5 JSON
/// schema (strict: no unknown fields); the error, if any.
fn schema_error(python: &OsString, bom: &Path) -> Option<String> {
    let check = "import sys\n\
        from cyclonedx.validation.json import JsonStrictValidator\n\
        from cyclonedx.schema import SchemaVersion\n\
        error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())\n\
        print(error or '', end='')\n";
    let output = Command::new(python)
        .args(["-c", check])
        .arg(bom)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let error = String::from_utf8_lossy(&output.stdout).into_owned();
    (!error.is_empty()).then_some(error)
}

#[test]
fn sbom_is_valid_cyclonedx_and_true_to_cargo_lock() {
    let Some(python) = tool("CYCLONEDX_PYTHON") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corral.cdx.json");
    let bytes = sbom(&path);
    assert_eq!(schema_error(&python, &path), None);

    let bom: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(bom["metadata"]["component"]["name"], "corral");
    assert_eq!(bom["metadata"]["component"]["type"], "application");
    let locked = locked_packages();
    let components = bom["components"].as_array().unwrap();
    let mut names = Vec::new();
    for component in components {
        let id = format!(
            "{}@{}",
            component["name"].as_str().unwrap(),
            component["version"].as_str().unwrap()
        );
        let checksum = locked
            .get(&id)
            .unwrap_or_else(|| panic!("{id} is in the SBOM but not in Cargo.lock"));
        let hash = component["hashes"][0]["content"].as_str();
        assert_eq!(hash, checksum.as_deref(), "{id}: SBOM hash vs Cargo.lock");
        assert!(
            component["licenses"][0]["expression"].is_string(),
            "{id} has no licence"
        );
        names.push(component["name"].as_str().unwrap());
    }
    for linked in [
        "corral-core",
        "k8s-openapi",
        "kube-client",
        "aya",
        "saphyr-parser",
        "rustls",
    ] {
        assert!(names.contains(&linked), "{linked} missing from the SBOM");
    }
    assert!(components.len() > 150, "{} components", components.len());
    let text = String::from_utf8_lossy(&bytes);
    let checkout = workspace().display().to_string();
    assert!(
        !text.contains(&checkout),
        "the SBOM names this checkout's path"
    );

    // Reproducible: a second run gives the same bytes.
    assert_eq!(sbom(&dir.path().join("again.cdx.json")), bytes);

    // The validator can fail: a component of an unknown type is rejected.
    let broken = text.replacen("\"type\": \"library\"", "\"type\": \"libary\"", 1);
    assert_ne!(broken, text);
    let broken_path = dir.path().join("broken.cdx.json");
    std::fs::write(&broken_path, broken).unwrap();
    let error = schema_error(&python, &broken_path).expect("a broken SBOM is rejected");
    assert!(error.contains("libary"), "{error}");
}

/// jactionlint's findings on `files`, one a line (empty when clean).
fn jactionlint(tool: &OsString, files: &[PathBuf]) -> String {
    let output = Command::new(tool)
        .current_dir(workspace())
        .args(files)
        .output()
        .unwrap();
    let findings = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.success(), findings.is_empty(), "{findings}");
    findings
}

#[test]
fn workflows_and_action_pass_jactionlint_with_every_action_pinned() {
    let Some(linter) = tool("JACTIONLINT") else {
        return;
    };
    let root = workspace();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(".github/workflows"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("release.yml")));
    files.push(root.join("action.yml"));
    assert_eq!(jactionlint(&linter, &files), "");

    // Pinned, and readable: each SHA says which release it is.
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines().filter(|line| {
            line.trim_start().starts_with("- uses:") || line.trim_start().starts_with("uses:")
        }) {
            let reference = line.split("uses:").nth(1).unwrap().trim();
            let (action, rest) = reference.split_once('@').expect("uses names a version");
            let (sha, comment) = rest.split_once(" # v").unwrap_or((rest, ""));
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: {action} is not pinned by commit SHA",
                file.display()
            );
            assert!(
                !comment.is_empty(),
                "{}: {action}'s pin names no release",
                file.display()
            );
        }
    }

    // The linter can fail: a mutable tag is an error.
    let dir = tempfile::tempdir().unwrap();
    let unpinned = dir.path().join("unpinned.yml");
    let release = std::fs::read_to_string(root.join(".github/workflows/release.yml")).unwrap();
    let tagged = release.replace(
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
        "actions/checkout@v4",
    );
    assert_ne!(tagged, release);
    std::fs::write(&unpinned, tagged).unwrap();
    let findings = jactionlint(&linter, &[unpinned]);
    assert!(findings.contains("unpinned-uses"), "{findings}");
}
