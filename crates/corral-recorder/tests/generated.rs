//! The committed BPF objects are what their sources make: rebuilt here
//! when the tools are present (`scripts/test.sh` installs clang,
//! llvm and libbpf-dev from Debian, so CI always checks).

use std::path::Path;
use std::process::Command;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn bpf_objects_match_sources() {
    if !have("clang") || !have("llvm-strip") || !have("bpftool") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs clang, llvm and bpftool"
        );
        eprintln!("skipped: clang, llvm or bpftool is not installed");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(crate_dir().join("bpf/build.sh"))
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    for entry in std::fs::read_dir(crate_dir().join("bpf")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".bpf.o") {
            let rebuilt = std::fs::read(out.path().join(path.file_name().unwrap())).unwrap();
            assert!(
                rebuilt == std::fs::read(&path).unwrap(),
                "{} is stale: run bpf/build.sh",
                path.display()
            );
        }
    }
}
