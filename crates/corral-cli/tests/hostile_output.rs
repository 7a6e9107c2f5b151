//! What Corral writes stays inert whatever its input says: files a person
//! runs execute nothing from input, no path built from input leaves the
//! output folder, and text, Markdown, JUnit, SARIF, DOT and Mermaid cannot be
//! broken out of or drive a terminal or a CI runner.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;

mod installed;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// A `kubectl` that writes each argument it gets on a line of `log`.
fn fake_kubectl(bin: &Path, log: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    let script = bin.join("kubectl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{}'; done\necho --- >> '{}'\n",
            log.display(),
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Workloads in a namespace and with names an attacker chose, beside the
/// example PSP (which mutates them, so patches are written).
fn hostile_psp_inputs(dir: &Path, canary: &Path) -> PathBuf {
    let deployment = |namespace: &str, name: &str| {
        serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
        })
    };
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        deployment(&format!("shop$(touch {})", canary.display()), "web"),
        deployment("../../outside", "../../../escaped"),
        deployment("--server=https://127.0.0.1:1", "web"),
        deployment("web", &format!("x`touch {}`", canary.display())),
        deployment("fine", "web"),
        // Valid, and too long for a file name as it is.
        deployment("fine", &"a".repeat(253)),
    ]});
    let path = dir.join("hostile.json");
    std::fs::write(&path, serde_json::to_string_pretty(&list).unwrap()).unwrap();
    path
}

#[test]
fn psp_plan_files_execute_nothing_and_stay_in_their_folder() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let input = hostile_psp_inputs(dir.path(), &canary);
    let out = dir.path().join("out");
    let status = Command::cargo_bin("corral")
        .unwrap()
        .args(["psp", "plan", "--emit", "labels,namespaces,patches", "-o"])
        .arg(&out)
        .arg(workspace().join("examples/legacy-psp.yaml"))
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        status.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // Only the input and the output folder beside each other.
    let mut beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["hostile.json", "out"]);
    let written = files_under(&out);
    assert!(written.contains(&PathBuf::from("labels.sh")), "{written:?}");
    assert!(
        written.contains(&PathBuf::from("namespaces/..%2F..%2Foutside.yaml")),
        "{written:?}"
    );
    assert!(written.iter().any(|p| p.starts_with("patches/fine")));
    assert!(
        written.iter().any(|p| p
            .to_string_lossy()
            .starts_with("patches/fine/deployment-aaaa")),
        "{written:?}"
    );

    // The script runs every stage, with kubectl seeing each value as one
    // literal argument, and the namespaces no cluster can hold skipped.
    let bin = dir.path().join("bin");
    let log = dir.path().join("kubectl.log");
    fake_kubectl(&bin, &log);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for stage in ["dry-run", "audit", "enforce"] {
        let run = Process::new("sh")
            .arg(out.join("labels.sh"))
            .arg(stage)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    assert!(!canary.exists(), "input ran a command");
    let calls = std::fs::read_to_string(&log).unwrap();
    let namespaces: Vec<&str> = calls
        .split("---\n")
        .filter(|call| !call.is_empty())
        .map(|call| {
            let args: Vec<&str> = call.lines().collect();
            let at = args.iter().position(|a| *a == "ns").unwrap();
            args[at + 1]
        })
        .collect();
    assert_eq!(namespaces, ["fine", "web", "fine", "web", "fine", "web"]);
    assert!(!calls.contains("--server"));
    let script = std::fs::read_to_string(out.join("labels.sh")).unwrap();
    assert!(script.contains("# skipped: \"../../outside\" is not a valid namespace name"));

    // The runbook's commands, pasted into a shell, run nothing either.
    let runbook = Command::cargo_bin("corral")
        .unwrap()
        .args(["psp", "plan", "--format", "markdown"])
        .arg(workspace().join("examples/legacy-psp.yaml"))
        .arg(&input)
        .output()
        .unwrap();
    let markdown = String::from_utf8(runbook.stdout).unwrap();
    let commands: String = markdown
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert!(commands.contains("kubectl label"));
    // Commands in the text too: none for a name a cluster cannot hold.
    for line in markdown.lines().filter(|l| l.contains("kubectl ")) {
        assert!(
            !line.contains("$(") && !line.contains("`touch") && !line.contains("--server"),
            "{line}"
        );
    }
    let run = Process::new("sh")
        .arg("-c")
        .arg(&commands)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!canary.exists(), "the runbook ran a command from input");
}

/// A privileged pod whose name and file carry terminal escapes, a fake
/// workflow command on a line of its own, markup and quotes.
fn hostile_pod(dir: &Path) -> PathBuf {
    let name = "web\u{1b}]0;pwned\u{7}\r\n::set-output name=x::y\n<x>|`\"'&\u{202e} ##[error]x";
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": "nginx",
            "securityContext": {"privileged": true}}]}
    });
    let path = dir.join("pod\u{1b}[2J.json");
    std::fs::write(&path, serde_json::to_string(&pod).unwrap()).unwrap();
    path
}

fn assert_inert(what: &str, text: &str) {
    for c in text.chars() {
        assert!(
            !(c.is_control() && c != '\n' && c != '\t') && c != '\u{202e}',
            "{what}: {c:?} in {text}"
        );
    }
    for line in text.lines() {
        assert!(!line.trim_start().starts_with("::"), "{what}: {line}");
        assert!(!line.contains("##["), "{what}: {line}");
    }
}

#[test]
fn text_and_markdown_cannot_drive_a_terminal_or_a_ci_runner() {
    let dir = tempfile::tempdir().unwrap();
    let pod = hostile_pod(dir.path());
    // A duplicate key whose name is an escape: a diagnostic quotes it.
    let dup = dir.path().join("dup.yaml");
    std::fs::write(
        &dup,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  \"\\e[2J\": a\n  \"\\e[2J\": b\n",
    )
    .unwrap();
    for args in [
        &["scan"][..],
        &["scan", "--format", "markdown"],
        &["pss"],
        &["inventory"],
        &["psp", "plan"],
        &["psp", "plan", "--format", "markdown"],
        &["paths", "--from", "all-pods"],
    ] {
        let output = Command::cargo_bin("corral")
            .unwrap()
            .args(args)
            .arg(&pod)
            .arg(&dup)
            .output()
            .unwrap();
        let what = args.join(" ");
        assert!(output.status.code().is_some_and(|c| c < 2), "{what}");
        assert_inert(&what, &String::from_utf8(output.stdout).unwrap());
        assert_inert(&what, &String::from_utf8(output.stderr).unwrap());
    }
}

#[test]
fn github_annotations_escape_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let pod = hostile_pod(dir.path());
    let output = Command::cargo_bin("corral")
        .unwrap()
        .args(["scan", "--format", "github"])
        .arg(&pod)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let commands: Vec<&str> = text.lines().collect();
    assert!(!commands.is_empty());
    for line in commands {
        assert!(
            line.starts_with("::error ")
                || line.starts_with("::warning ")
                || line.starts_with("::notice::"),
            "{line}"
        );
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }
    assert!(text.contains("%0A\\u{3a}:set-output"), "{text}");
}

#[test]
fn junit_is_well_formed_xml_for_any_input() {
    let dir = tempfile::tempdir().unwrap();
    let pod = hostile_pod(dir.path());
    let junit = dir.path().join("report.xml");
    Command::cargo_bin("corral")
        .unwrap()
        .args(["scan", "--format", "junit", "-o"])
        .arg(&junit)
        .arg(&pod)
        .output()
        .unwrap();
    // Python's expat parser refuses any document that is not well-formed.
    let check = Process::new("python3")
        .arg("-c")
        .arg("import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); print(len(d.getElementsByTagName('failure')))")
        .arg(&junit)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_ne!(String::from_utf8_lossy(&check.stdout).trim(), "0");
}

#[test]
fn graphs_keep_hostile_names_inside_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    let pod = hostile_pod(dir.path());
    for format in ["dot", "mermaid"] {
        let output = Command::cargo_bin("corral")
            .unwrap()
            .args(["paths", "--from", "all-pods", "--format", format])
            .arg(&pod)
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("shop"), "{format}: {text}");
        for line in text.lines().skip(1) {
            let line = line.trim();
            match format {
                // Every statement is `"a" -> "b" [label="..."];` or a brace.
                "dot" => assert!(
                    line.is_empty()
                        || line == "}"
                        || line.starts_with("rankdir")
                        || (line.starts_with('"') && line.ends_with("];")),
                    "{line}"
                ),
                _ => assert!(line.starts_with('v'), "{line}"),
            }
            assert!(!line.contains("click"), "{line}");
        }
    }
}

/// Is `uri` an RFC 3986 URI reference without a scheme: only unreserved,
/// sub-delims, `:`, `@`, `/` and percent-encoded octets, and no `:` in its
/// first segment?
fn is_relative_reference(uri: &str) -> bool {
    let bytes = uri.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b)) {
            return false;
        }
        i += 1;
    }
    !uri.split('/').next().unwrap_or_default().contains(':')
}

#[test]
fn sarif_uris_are_valid_for_any_file_name() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": "nginx",
            "securityContext": {"privileged": true}}]}
    })
    .to_string();
    let names: Vec<&[u8]> = vec![
        b"100% sure.yaml",
        b"a#b?c.yaml",
        b"c:x.yaml",
        b"line\r\nbreak.yaml",
        b"caf\xc3\xa9.yaml",
        b"bad\xff\xfe.yaml",
    ];
    for name in &names {
        std::fs::write(dir.path().join(std::ffi::OsStr::from_bytes(name)), &pod).unwrap();
    }
    let sarif = dir.path().join("out.sarif");
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "sarif", "-o"])
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(output.status.code().is_some_and(|c| c < 2));
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let mut uris: Vec<String> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    uris.sort();
    uris.dedup();
    assert_eq!(uris.len(), names.len(), "{uris:?}");
    for uri in &uris {
        assert!(is_relative_reference(uri), "{uri}");
    }
    assert!(uris.contains(&"c%3Ax.yaml".to_string()), "{uris:?}");
    assert!(uris.contains(&"100%25%20sure.yaml".to_string()), "{uris:?}");
    if let Some(multitool) = installed::tool("SARIF_MULTITOOL") {
        installed::assert_sarif_valid(&multitool, &sarif, &[]);
    }
}

#[test]
fn pss_label_commands_run_nothing_from_input() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let pod = |namespace: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    };
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        pod(&format!("x$(touch {})", canary.display())),
        pod("--kubeconfig=/dev/null"),
        pod("fine"),
    ]});
    let input = dir.path().join("pods.json");
    std::fs::write(&input, list.to_string()).unwrap();
    let output = Command::cargo_bin("corral")
        .unwrap()
        .arg("pss")
        .arg(&input)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let commands: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("kubectl label"))
        .collect();
    assert_eq!(commands.len(), 1, "{text}");
    let bin = dir.path().join("bin");
    let log = dir.path().join("kubectl.log");
    fake_kubectl(&bin, &log);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = Process::new("sh")
        .arg("-c")
        .arg(commands.join("\n"))
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(!canary.exists());
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.lines().any(|a| a == "fine"), "{calls}");
}

/// A recording whose namespace, pod and container names an attacker chose
/// (a compromised node publishes recordings): `advise seccomp` and `advise
/// all` write every file inside their output folder, named file-safe.
#[test]
fn advised_files_stay_in_their_folder() {
    let dir = tempfile::tempdir().unwrap();
    let example = workspace().join(
        "examples/advise-demo/recordings/shop_frontend-6d4b9c8f6d-x2x9q_frontend_frontend-1.json",
    );
    let mut recording: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    recording["container"]["namespace"] = "../../outside".into();
    recording["container"]["pod"] = "x$(touch canary)-6d4b9c8f6d-x2x9q".into();
    recording["container"]["name"] = "../../../../tmp/evil\n\u{1b}[2J".into();
    let recordings = dir.path().join("recordings");
    std::fs::create_dir(&recordings).unwrap();
    std::fs::write(
        recordings.join("r.json"),
        serde_json::to_string(&recording).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("out");
    for args in [&["advise", "seccomp"][..], &["advise", "all"]] {
        let output = Command::cargo_bin("corral")
            .unwrap()
            .current_dir(dir.path())
            .args(args)
            .arg("--recording")
            .arg(&recordings)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_inert(&args.join(" "), &String::from_utf8(output.stderr).unwrap());
    }
    let mut beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["out", "recordings"]);
    let written = files_under(&out);
    assert!(
        written.iter().any(|p| p
            .to_string_lossy()
            .starts_with("seccomp/..%2F..%2Foutside-")),
        "{written:?}"
    );
    for path in &written {
        let name = path.to_string_lossy();
        assert!(!name.contains(['\n', '\u{1b}', '$']), "{name:?}");
    }
}

/// Names from a recording cannot end the comments of advised YAML and add
/// objects of their own.
#[test]
fn advised_yaml_comments_hold_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let example = workspace().join(
        "examples/advise-demo/recordings/shop_frontend-6d4b9c8f6d-x2x9q_frontend_frontend-1.json",
    );
    let mut recording: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    recording["container"]["pod"] =
        "web\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: evil}\nspec: {hostPID: true}\n#-6d4b9c8f6d-x2x9q"
            .into();
    let recordings = dir.path().join("recordings");
    std::fs::create_dir(&recordings).unwrap();
    std::fs::write(recordings.join("r.json"), recording.to_string()).unwrap();
    let advised = Command::cargo_bin("corral")
        .unwrap()
        .args(["advise", "securitycontext", "--recording"])
        .arg(&recordings)
        .output()
        .unwrap();
    assert!(
        advised.status.success(),
        "{}",
        String::from_utf8_lossy(&advised.stderr)
    );
    let inventory = Command::cargo_bin("corral")
        .unwrap()
        .args(["inventory", "--format", "json", "-"])
        .write_stdin(advised.stdout.clone())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&inventory.stdout).unwrap();
    let kinds: Vec<&str> = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert!(
        !kinds.contains(&"Pod"),
        "{}",
        String::from_utf8_lossy(&advised.stdout)
    );
}
