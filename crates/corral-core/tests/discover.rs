//! Walking directories: recursive, sorted, hidden directories included,
//! `.git` skipped, symbolic link loops survived, each file read once.

use std::fs;
use std::os::unix::fs::symlink;

use corral_core::{discover, Input};

#[test]
fn walks_sorted_skips_git_follows_links_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for sub in ["b", "a/nested", ".hidden", ".git", "loop"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    let doc = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n";
    for file in [
        "b/z.yaml",
        "a/nested/y.yml",
        "a/x.json",
        ".hidden/h.yaml",
        ".git/config.yaml",
        "top.YAML",
        "notes.txt",
    ] {
        fs::write(root.join(file), doc).unwrap();
    }
    // A loop back to the root, and a second name for a file.
    symlink(root, root.join("loop/back")).unwrap();
    symlink(root.join("b/z.yaml"), root.join("alias.yaml")).unwrap();
    symlink(root.join("missing.yaml"), root.join("dangling.yaml")).unwrap();

    let (sources, diagnostics) = discover(&[Input::Path(root.to_path_buf())]);
    let base = root.to_string_lossy().to_string();
    let names: Vec<String> = sources
        .iter()
        .map(|s| s.name.replacen(&base, "", 1))
        .collect();
    assert_eq!(
        names,
        [
            "/.hidden/h.yaml",
            "/a/nested/y.yml",
            "/a/x.json",
            "/alias.yaml",
            "/top.YAML"
        ]
    );
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].file.ends_with("dangling.yaml"));
}

#[test]
fn explicit_files_load_whatever_their_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.txt");
    fs::write(
        &path,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
    )
    .unwrap();
    let (sources, diagnostics) = discover(&[Input::Path(path.clone()), Input::Path(path)]);
    assert_eq!(sources.len(), 1);
    assert!(diagnostics.is_empty());
    let (_, diagnostics) = discover(&[Input::Path(dir.path().join("nope"))]);
    assert_eq!(
        diagnostics[0].message,
        "cannot read: No such file or directory"
    );
}
