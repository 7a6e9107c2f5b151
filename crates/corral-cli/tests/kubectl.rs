//! Corral as a kubectl plugin: `scripts/krew.sh` packs the binary as
//! `kubectl-corral` in a reproducible archive and generates the krew
//! manifest (`deploy/krew/corral.yaml`) with its sha256; the archive's
//! `kubectl-corral`, found on PATH by kubectl's own plugin discovery (the
//! kubectl `scripts/test.sh` names in `KUBECTL`: Debian's
//! kubernetes-client where none is installed), runs as `kubectl corral`
//! with the same results as `corral` and usage that says `kubectl corral`.

mod installed;
use installed::tool;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// `scripts/krew.sh` on the binary the tests built, into `dir`: the
/// archive's path and the manifest's text.
fn krew(dir: &Path) -> (PathBuf, String) {
    let manifest = dir.join("corral.yaml");
    let output = run(Command::new("bash")
        .arg(repo().join("scripts/krew.sh"))
        .arg("-o")
        .arg(dir)
        .arg("-m")
        .arg(&manifest)
        .arg(env!("CARGO_BIN_EXE_corral")));
    let archive = PathBuf::from(text(&output.stdout).trim_end());
    (archive, std::fs::read_to_string(manifest).unwrap())
}

fn sha256(path: &Path) -> String {
    let output = run(Command::new("sha256sum").arg(path));
    text(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The archive and manifest `scripts/krew.sh` makes of the binary the
/// tests built, made once (packing a debug build takes a while) in
/// target/tmp.
fn packed() -> &'static (PathBuf, String) {
    static PACKED: OnceLock<(PathBuf, String)> = OnceLock::new();
    PACKED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("krew");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        krew(&dir)
    })
}

#[test]
fn the_krew_manifest_is_generated_from_a_reproducible_archive() {
    let (archive, manifest) = packed();
    let second = tempfile::tempdir().unwrap();
    let (again, manifest_again) = krew(second.path());
    // The same binary packs to the same bytes, and the same manifest.
    assert_eq!(
        std::fs::read(archive).unwrap(),
        std::fs::read(&again).unwrap()
    );
    assert_eq!(manifest, &manifest_again);

    let limits = corral_core::Limits::default();
    let plugin = corral_core::parse_config("corral.yaml", manifest, &limits)
        .unwrap()
        .unwrap();
    let field = |path: &str| {
        plugin
            .at(path)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{path}: missing\n{manifest}"))
            .to_string()
    };
    assert_eq!(
        field("apiVersion"),
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(field("kind"), "Plugin");
    assert_eq!(field("metadata.name"), "corral");
    assert_eq!(
        field("spec.version"),
        format!("v{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(field("spec.shortDescription").len() <= 50);
    let platforms = plugin.at("spec.platforms").unwrap().items().unwrap();
    assert_eq!(platforms.len(), 1, "linux/amd64 only");
    assert_eq!(field("spec.platforms[0].selector.matchLabels.os"), "linux");
    assert_eq!(
        field("spec.platforms[0].selector.matchLabels.arch"),
        "amd64"
    );
    assert_eq!(field("spec.platforms[0].bin"), "kubectl-corral");
    assert_eq!(field("spec.platforms[0].files[0].from"), "kubectl-corral");
    assert_eq!(field("spec.platforms[0].files[0].to"), ".");
    let name = archive.file_name().unwrap().to_str().unwrap();
    assert!(field("spec.platforms[0].uri").ends_with(&format!("/{name}")));
    assert!(field("spec.platforms[0].uri").starts_with("https://"));
    assert_eq!(field("spec.platforms[0].sha256"), sha256(archive));

    // The archive holds kubectl-corral alone, executable, owned by root,
    // and it is the binary.
    let listing = run(Command::new("tar").arg("-tvzf").arg(archive));
    let listing = text(&listing.stdout);
    let entries: Vec<&str> = listing.lines().collect();
    assert_eq!(entries.len(), 1, "{listing}");
    assert!(entries[0].starts_with("-rwxr-xr-x 0/0 "), "{listing}");
    assert!(
        entries[0].ends_with(" 1970-01-01 00:00 kubectl-corral"),
        "{listing}"
    );
    let unpacked = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(unpacked.path()));
    assert_eq!(
        std::fs::read(unpacked.path().join("kubectl-corral")).unwrap(),
        std::fs::read(env!("CARGO_BIN_EXE_corral")).unwrap()
    );

    // The committed manifest is the script's: every line but the sha256,
    // which is that of the archive of the binary it was generated from
    // (separate builds are not byte-identical, so only its form is
    // checked here).
    let committed = std::fs::read_to_string(repo().join("deploy/krew/corral.yaml")).unwrap();
    let is_sha = |l: &&str| l.trim_start().starts_with("sha256: ");
    let without = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !is_sha(l))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(without(&committed), without(manifest));
    let sha = committed.lines().find(is_sha).expect("a sha256");
    let sha = sha.trim_start().trim_start_matches("sha256: ");
    assert!(
        sha.len() == 64
            && sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{sha}"
    );
}

#[test]
fn the_krew_script_refuses_what_it_cannot_pack() {
    let dir = tempfile::tempdir().unwrap();
    let script = repo().join("scripts/krew.sh");
    let text_file = dir.path().join("corral");
    std::fs::write(&text_file, "#!/bin/sh\n").unwrap();
    let corral = env!("CARGO_BIN_EXE_corral");
    let none = dir.path().join("none");
    for (binaries, said) in [
        (
            vec![text_file.as_os_str()],
            "not an x86-64 or aarch64 ELF executable",
        ),
        (
            vec![OsStr::new(corral), OsStr::new(corral)],
            "a second linux/amd64 binary",
        ),
        (vec![none.as_os_str()], "no such binary"),
    ] {
        let output = Command::new("bash")
            .arg(&script)
            .arg("-o")
            .arg(dir.path().join("out"))
            .arg("-m")
            .arg(dir.path().join("corral.yaml"))
            .args(&binaries)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{binaries:?}");
        assert!(
            text(&output.stderr).contains(said),
            "{}",
            text(&output.stderr)
        );
        assert!(!dir.path().join("corral.yaml").exists());
    }
}

/// kubectl with only `bin` and kubectl's own directory on PATH.
fn kubectl(kubectl: &OsStr, bin: &Path, home: &Path) -> Command {
    let own = Path::new(kubectl).parent().unwrap_or(Path::new("/usr/bin"));
    let mut command = Command::new(kubectl);
    command
        .env("PATH", std::env::join_paths([bin, own]).unwrap())
        .env("HOME", home)
        .env("KUBECONFIG", home.join("no-kubeconfig"))
        .env_remove("NO_COLOR");
    command
}

#[test]
fn kubectl_finds_and_runs_corral_as_a_plugin() {
    let Some(kubectl_path) = tool("KUBECTL") else {
        return;
    };
    // The plugin as krew installs it: the archive's kubectl-corral.
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = packed();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(&bin));
    let plugin = bin.join("kubectl-corral");
    let home = dir.path();

    let list = run(kubectl(&kubectl_path, &bin, home).args(["plugin", "list"]));
    let list = text(&list.stdout);
    assert!(
        list.lines().any(|l| l.trim() == plugin.to_str().unwrap()),
        "{list}"
    );

    let version = run(kubectl(&kubectl_path, &bin, home).args(["corral", "--version"]));
    assert_eq!(
        text(&version.stdout),
        format!("corral {}\n", env!("CARGO_PKG_VERSION"))
    );

    // Usage names the command as it was typed.
    let help = run(kubectl(&kubectl_path, &bin, home).args(["corral", "--help"]));
    assert!(
        text(&help.stdout).contains("Usage: kubectl corral [OPTIONS] <COMMAND>"),
        "{}",
        text(&help.stdout)
    );
    let help = run(kubectl(&kubectl_path, &bin, home).args(["corral", "scan", "--help"]));
    assert!(
        text(&help.stdout).contains("Usage: kubectl corral scan "),
        "{}",
        text(&help.stdout)
    );
    let wrong = kubectl(&kubectl_path, &bin, home)
        .args(["corral", "no-such-command"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong.stderr).contains("kubectl corral"),
        "{}",
        text(&wrong.stderr)
    );

    // `kubectl corral scan FILE` is `corral scan FILE`: the same report,
    // the same exit status (findings fail it).
    let first = repo().join("examples/web.yaml");
    for format in ["text", "json"] {
        let through_kubectl = kubectl(&kubectl_path, &bin, home)
            .args(["corral", "scan", "--format", format])
            .arg(&first)
            .output()
            .unwrap();
        let direct = Command::new(env!("CARGO_BIN_EXE_corral"))
            .env("HOME", home)
            .env_remove("NO_COLOR")
            .args(["scan", "--format", format])
            .arg(&first)
            .output()
            .unwrap();
        assert_eq!(through_kubectl.status.code(), direct.status.code());
        assert_eq!(text(&through_kubectl.stdout), text(&direct.stdout));
        assert_eq!(text(&through_kubectl.stderr), text(&direct.stderr));
        assert!(!direct.stdout.is_empty());
    }
}
