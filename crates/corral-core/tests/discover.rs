//! Walking directories: recursive, sorted, hidden directories included,
//! `.git` skipped, symbolic link loops survived, each file read once.

use std::fs;
use std::os::unix::fs::symlink;

use corral_core::{discover, load, Input, Limits, Severity};

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
    assert_eq!(diagnostics[0].severity, Severity::Warning);
}

/// In a directory only regular files are read: a FIFO, a socket or a link
/// to a device named like a manifest is skipped with a warning (reading it
/// could block or never end), a dangling link so named too; a dangling link
/// to a file Corral would not read is no matter.
#[test]
fn walks_regular_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("ok.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
    )
    .unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("fifo.yaml"))
        .status()
        .unwrap();
    assert!(status.success());
    let _socket = std::os::unix::net::UnixListener::bind(root.join("socket.yml")).unwrap();
    symlink("/dev/zero", root.join("zero.yaml")).unwrap();
    symlink("/dev/zero", root.join("zero.txt")).unwrap();
    symlink(root.join("missing.txt"), root.join("x.txt")).unwrap();
    symlink(root.join("missing.yaml"), root.join("gone.json")).unwrap();

    let (sources, diagnostics) = discover(&[Input::Path(root.to_path_buf())]);
    let names: Vec<&str> = sources.iter().map(|s| &*s.name).collect();
    assert_eq!(names, [root.join("ok.yaml").to_str().unwrap()]);
    let mut found: Vec<(String, Severity, &str)> = diagnostics
        .iter()
        .map(|d| {
            let file = d.file.rsplit('/').next().unwrap().to_string();
            (file, d.severity, d.message.as_str())
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (
                "fifo.yaml".to_string(),
                Severity::Warning,
                "skipped: not a regular file (a FIFO)"
            ),
            (
                "gone.json".to_string(),
                Severity::Warning,
                "skipped: a symbolic link to a missing file"
            ),
            (
                "socket.yml".to_string(),
                Severity::Warning,
                "skipped: not a regular file (a socket)"
            ),
            (
                "zero.yaml".to_string(),
                Severity::Warning,
                "skipped: not a regular file (a character device)"
            ),
        ]
    );
}

/// A FIFO named as an input is read, within the size limits: a writer that
/// never writes a document marker is refused once the buffer passes
/// --max-document-size, and the rest is read past up to --max-file-size.
#[test]
fn named_fifo_is_read_within_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut pipe = fs::OpenOptions::new().write(true).open(fifo).unwrap();
            let chunk = vec![b'x'; 1 << 20];
            // Stops when the reader stops reading.
            for _ in 0..64 {
                if pipe.write_all(&chunk).is_err() {
                    break;
                }
            }
        })
    };
    let limits = Limits {
        max_file_size: 40 << 20,
        max_document_size: 1 << 20,
        ..Limits::default()
    };
    let loaded = load(&[Input::Path(fifo)], &limits);
    writer.join().unwrap();
    assert!(loaded.objects.is_empty());
    let messages: Vec<&str> = loaded
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("document is more than 16777216 bytes, over the 1048576 byte limit (--max-document-size)"), "{messages:?}");
    assert!(
        messages[1].ends_with("over the 41943040 byte limit (--max-file-size)"),
        "{messages:?}"
    );
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
