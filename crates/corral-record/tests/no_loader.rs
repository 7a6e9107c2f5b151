//! The recording format is read without the eBPF loader: what the advisors
//! and the operator link (their normal dependencies, transitively, as
//! `cargo metadata` resolves them from Cargo.lock) holds neither aya nor
//! the recorder. Adding either back to one of them fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The loader and what brings it in.
const LOADER: [&str; 3] = ["aya", "aya-obj", "corral-recorder"];

/// Package name by id, and each package's normal dependencies (no dev or
/// build dependency) by id.
fn resolve() -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(env!("CARGO"))
        .current_dir(&workspace)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut normal = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().unwrap() {
        let deps = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| d["pkg"].as_str().unwrap().to_string())
            .collect();
        normal.insert(node["id"].as_str().unwrap().to_string(), deps);
    }
    (names, normal)
}

/// The names of the packages `root` links: itself and its normal
/// dependencies, transitively.
fn closure(root: &str) -> BTreeSet<String> {
    let (names, normal) = resolve();
    let start = names
        .iter()
        .find(|(_, name)| name.as_str() == root)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("{root} is not in the workspace"));
    let mut seen = BTreeSet::from([start.clone()]);
    let mut queue = vec![start];
    while let Some(id) = queue.pop() {
        for dep in &normal[&id] {
            if seen.insert(dep.clone()) {
                queue.push(dep.clone());
            }
        }
    }
    seen.iter().map(|id| names[id].clone()).collect()
}

#[test]
fn the_advisors_and_the_operator_do_not_link_the_loader() {
    for reader in ["corral-record", "corral-advise", "corral-operator"] {
        let linked = closure(reader);
        let loader: Vec<&str> = LOADER.into_iter().filter(|p| linked.contains(*p)).collect();
        assert!(
            loader.is_empty(),
            "{reader} links {loader:?}: the recording format must be read without the eBPF loader"
        );
        assert!(linked.contains("corral-record") && linked.contains("serde"));
    }
    // The check sees the loader where it is: the binary records.
    let corral = closure("corral");
    for package in LOADER {
        assert!(corral.contains(package), "corral links {package}");
    }
}
