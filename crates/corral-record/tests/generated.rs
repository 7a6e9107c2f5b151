//! The committed syscall table is what the kernel's headers make: rebuilt
//! here when they are present (`scripts/test.sh` installs linux-libc-dev
//! from Debian, so CI always checks).

use std::path::Path;
use std::process::Command;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn syscall_table_matches_the_kernel_header() {
    if !Path::new("/usr/include/x86_64-linux-gnu/asm/unistd_64.h").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs linux-libc-dev"
        );
        eprintln!("skipped: the kernel UAPI headers are not installed");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let table = out.path().join("syscall_names.rs");
    let status = Command::new("python3")
        .arg(crate_dir().join("gen-syscall-names.py"))
        .arg(&table)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(table).unwrap(),
        std::fs::read_to_string(crate_dir().join("src/syscall_names.rs")).unwrap()
    );
}
