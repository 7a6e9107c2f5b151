//! The files `corral paths --format html` inlines (`assets/vendor`) are the
//! npm registry's, byte for byte: each package's tarball (fetched by
//! `npm pack` in `scripts/test.sh` into `CORRAL_NPM_TARBALLS`) hashes to the
//! `integrity` vendor.json records (the registry's published
//! dist.integrity), the vendored file is the tarball's file, and the licence
//! beside it is the tarball's MIT licence.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha512};

fn vendor() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/vendor")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(vendor().join("vendor.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The directory of the npm tarballs; None (with a note) outside CI when
/// scripts/test.sh has not fetched them.
fn tarballs() -> Option<PathBuf> {
    match std::env::var_os("CORRAL_NPM_TARBALLS") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            assert!(
                !in_ci(),
                "CI runs scripts/test.sh, which sets CORRAL_NPM_TARBALLS"
            );
            eprintln!("skipped: CORRAL_NPM_TARBALLS is not set (scripts/test.sh sets it)");
            None
        }
    }
}

/// `member` of the gzipped tarball, with the system's tar.
fn extract(tarball: &Path, member: &str) -> Vec<u8> {
    let out = Command::new("tar")
        .arg("-xzOf")
        .arg(tarball)
        .arg(member)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tar -xzOf {} {member}: {}",
        tarball.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// npm's integrity string of `bytes`: `sha512-` and the base64 digest.
fn integrity(bytes: &[u8]) -> String {
    let digest = Sha512::digest(bytes);
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

#[test]
fn integrity_strings_are_npms_sha512_form() {
    // The empty input's SHA-512, as `printf '' | openssl dgst -sha512 -binary | base64`.
    assert_eq!(
        integrity(b""),
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
    );
    let packages = manifest()["packages"].as_array().unwrap().clone();
    assert!(packages.len() >= 2, "{packages:?}");
    for package in &packages {
        let recorded = package["integrity"].as_str().unwrap();
        let digest = recorded.strip_prefix("sha512-").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(digest)
            .unwrap();
        assert_eq!(bytes.len(), 64, "{recorded}");
    }
}

#[test]
fn vendored_files_are_the_published_tarballs_files() {
    let Some(dir) = tarballs() else { return };
    let manifest = manifest();
    let packages = manifest["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cytoscape", "@dagrejs/dagre"]);
    for package in packages {
        let name = package["name"].as_str().unwrap();
        let field = |key: &str| {
            package[key]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no {key}"))
        };
        let tarball = dir.join(field("tarball"));
        assert!(
            tarball.is_file(),
            "{} is missing: scripts/test.sh fetches it with npm pack {name}@{}",
            tarball.display(),
            field("version")
        );
        let bytes = std::fs::read(&tarball).unwrap();
        assert_eq!(integrity(&bytes), field("integrity"), "{name}");

        let published: Value =
            serde_json::from_slice(&extract(&tarball, "package/package.json")).unwrap();
        assert_eq!(published["name"], name);
        assert_eq!(published["version"], field("version"), "{name}");
        assert_eq!(published["license"], field("license"), "{name}");
        assert_eq!(field("license"), "MIT", "{name}");

        let vendored = std::fs::read(vendor().join(field("vendored"))).unwrap();
        let original = extract(&tarball, field("file"));
        assert!(!original.is_empty(), "{name}: {} is empty", field("file"));
        assert!(
            vendored == original,
            "{name}: assets/vendor/{} ({} bytes) differs from {} in {} ({} bytes)",
            field("vendored"),
            vendored.len(),
            field("file"),
            field("tarball"),
            original.len()
        );

        let licence = std::fs::read(vendor().join(field("license_file"))).unwrap();
        assert_eq!(
            licence,
            extract(&tarball, "package/LICENSE"),
            "{name}: {} is not the package's LICENSE",
            field("license_file")
        );
        assert_mit(&String::from_utf8(licence).unwrap(), name);
    }
}

/// The MIT licence's grant, conditions and disclaimer (the licence text does
/// not name itself), whitespace and typographic quotes aside.
fn assert_mit(text: &str, name: &str) {
    let text = text
        .replace(['\u{201c}', '\u{201d}'], "\"")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for phrase in [
        "Permission is hereby granted, free of charge, to any person obtaining a copy",
        "to deal in the Software without restriction",
        "The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.",
        "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND",
    ] {
        assert!(text.contains(phrase), "{name}: the licence lacks {phrase:?}");
    }
}

#[test]
fn bundled_licences_are_mit_too() {
    // dagre's dist bundles graphlib; its licence is vendored beside it.
    let manifest = manifest();
    let bundles: Vec<&Value> = manifest["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p.get("bundles").is_some())
        .collect();
    assert!(!bundles.is_empty());
    for package in bundles {
        let note = package["bundles"].as_str().unwrap();
        let file = note
            .split(['(', ')', ',', ' '])
            .find(|w| w.starts_with("LICENSE-"))
            .unwrap_or_else(|| panic!("{note}: no licence file named"));
        assert!(note.contains("MIT"), "{note}");
        let text = std::fs::read_to_string(vendor().join(file)).unwrap();
        assert_mit(&text, note);
    }
}
