//! `../shared`, the reference data beside the repository (the corpus, the
//! upstream fixtures): CI has it, so there a test that needs it fails when
//! it is missing; elsewhere the test is skipped with a note.

use std::path::{Path, PathBuf};

/// Is this a CI run (`CI` set, as GitHub Actions and most CIs set it, to
/// anything but empty, `0` or `false`)?
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// `../shared/<relative>` (from the workspace root), when it is there.
/// Missing: a failure under CI, a skipped test (`None`, with a note) elsewhere.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !in_ci(),
        "../shared/{relative} is missing: CI has it, so the test cannot be skipped"
    );
    eprintln!("skipped: ../shared/{relative} is not present (CI has it)");
    None
}
