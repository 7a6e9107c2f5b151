//! A container's securityContext from what it did: the capabilities its
//! audited checks were granted after start-up (all others dropped), a
//! non-root user when uid 0 was never used, a read-only root filesystem
//! (with emptyDir volumes where it wrote), and no privilege escalation when
//! it never executed a set-user-ID, set-group-ID or file-capability
//! program.

use std::collections::{BTreeMap, BTreeSet};

use corral_record::Recording;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Advice {
    /// Added after `drop: [ALL]`, without the `CAP_` prefix.
    pub capabilities: Vec<String>,
    pub run_as_non_root: bool,
    pub run_as_user: Option<u32>,
    pub run_as_group: Option<u32>,
    pub read_only_root_filesystem: bool,
    /// Directories of the root filesystem it wrote in: each becomes an
    /// emptyDir volume (which hides what the image has there).
    pub writable_directories: Vec<String>,
    pub allow_privilege_escalation: bool,
    /// Why, field by field.
    pub evidence: BTreeMap<String, String>,
}

fn parent(path: &str) -> String {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/".into(),
        Some((dir, _)) => dir.into(),
    }
}

pub fn advise(recording: &Recording) -> Advice {
    let activity = &recording.workload;
    let mut evidence = BTreeMap::new();

    let capabilities: Vec<String> = activity
        .capabilities
        .iter()
        .filter(|c| c.granted)
        .filter_map(|c| c.name.as_deref())
        .map(|n| n.trim_start_matches("CAP_").to_string())
        .collect();
    evidence.insert(
        "capabilities".to_string(),
        if capabilities.is_empty() {
            "no audited capability check was granted after start-up".to_string()
        } else {
            format!("audited checks granted: {}", capabilities.join(", "))
        },
    );

    // Who the processes ran as: every exec and every credential seen.
    let mut uids: BTreeMap<u32, u64> = BTreeMap::new();
    let mut gids: BTreeMap<u32, u64> = BTreeMap::new();
    for e in &recording.execs {
        let n = uids.entry(e.uid).or_default();
        *n = n.saturating_add(e.count);
        *uids.entry(e.euid).or_default() += 0;
        let n = gids.entry(e.gid).or_default();
        *n = n.saturating_add(e.count);
    }
    for i in &activity.identities {
        let n = uids.entry(i.uid).or_default();
        *n = n.saturating_add(i.count);
        *uids.entry(i.euid).or_default() += 0;
        let n = gids.entry(i.gid).or_default();
        *n = n.saturating_add(i.count);
    }
    let most = |ids: &BTreeMap<u32, u64>| {
        ids.iter()
            .max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id)))
            .map(|(id, _)| *id)
    };
    let run_as_non_root = !uids.is_empty() && !uids.contains_key(&0);
    let (run_as_user, run_as_group) = if run_as_non_root {
        (most(&uids), most(&gids))
    } else {
        (None, None)
    };
    evidence.insert(
        "runAsNonRoot".to_string(),
        match (uids.is_empty(), run_as_non_root) {
            (true, _) => "no process identity was recorded".to_string(),
            (false, true) => format!(
                "uid 0 was never used (uids {})",
                uids.keys()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (false, false) => "processes ran as uid 0".to_string(),
        },
    );

    let rootfs: Vec<&corral_record::FileWrite> = activity
        .file_writes
        .iter()
        .filter(|w| w.root_filesystem != Some(false))
        .collect();
    let unknown = rootfs
        .iter()
        .any(|w| w.root_filesystem.is_none() || w.truncated);
    let mut directories: BTreeSet<String> = rootfs.iter().map(|w| parent(&w.path)).collect();
    // A directory inside another one listed is covered by it.
    let all: Vec<String> = directories.iter().cloned().collect();
    directories.retain(|d| {
        !all.iter()
            .any(|other| other != d && d.starts_with(&format!("{}/", other.trim_end_matches('/'))))
    });
    let read_only_root_filesystem = !unknown && !directories.contains("/");
    // Calls that would have written on the root filesystem and failed
    // (`mkdir -p` over the image's directories, EEXIST; EROFS under a
    // read-only root): said, never counted as writes.
    let failed: BTreeSet<String> = activity
        .file_write_failures
        .iter()
        .filter(|f| f.root_filesystem != Some(false))
        .map(|f| format!("{} {} {}", f.operation, f.path, f.error))
        .collect();
    let failed = match failed.len() {
        0 => String::new(),
        n => {
            const SHOWN: usize = 5;
            let mut listed: Vec<String> = failed.into_iter().take(SHOWN).collect();
            if n > SHOWN {
                listed.push(format!("{} more", n - SHOWN));
            }
            format!(
                "; it also tried and failed, which is no write: {}",
                listed.join(", ")
            )
        }
    };
    let verdict = if unknown {
        "a write's filesystem is unknown or its path was truncated".to_string()
    } else if directories.contains("/") {
        "it wrote in / itself".to_string()
    } else if directories.is_empty() {
        "nothing was written to the root filesystem".to_string()
    } else {
        format!(
            "it wrote to the root filesystem only in {}: emptyDir volumes there",
            directories.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    evidence.insert(
        "readOnlyRootFilesystem".to_string(),
        format!("{verdict}{failed}"),
    );

    let escalating: Vec<&str> = recording
        .execs
        .iter()
        .filter(|e| e.setuid || e.setgid || e.file_capabilities)
        .map(|e| e.path.as_str())
        .collect();
    evidence.insert(
        "allowPrivilegeEscalation".to_string(),
        if escalating.is_empty() {
            "no set-user-ID, set-group-ID or file-capability program was executed".to_string()
        } else {
            format!("it executed {}", escalating.join(", "))
        },
    );

    Advice {
        capabilities,
        run_as_non_root,
        run_as_user,
        run_as_group,
        read_only_root_filesystem,
        writable_directories: if read_only_root_filesystem {
            directories.into_iter().collect()
        } else {
            Vec::new()
        },
        allow_privilege_escalation: !escalating.is_empty(),
        evidence,
    }
}

/// The emptyDir volume name for a directory: `/var/cache/nginx` →
/// `corral-var-cache-nginx`.
pub fn volume_name(directory: &str) -> String {
    let name: String = directory
        .trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut name = format!("corral-{name}");
    name.truncate(63);
    name.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_record::{Activity, FileWrite, FileWriteFailure};

    fn recording(writes: &[(&str, bool)], failures: &[(&str, &str)]) -> Recording {
        Recording {
            format_version: corral_record::FORMAT_VERSION,
            architecture: "x86_64".into(),
            container: None,
            runs: Vec::new(),
            execs: Vec::new(),
            workload: Activity {
                file_writes: writes
                    .iter()
                    .map(|(path, root)| FileWrite {
                        path: (*path).into(),
                        operation: "mkdir".into(),
                        filesystem: Some(if *root { "overlay" } else { "tmpfs" }.into()),
                        root_filesystem: Some(*root),
                        truncated: false,
                        count: 1,
                        runs: 1,
                    })
                    .collect(),
                file_write_failures: failures
                    .iter()
                    .map(|(path, error)| FileWriteFailure {
                        path: (*path).into(),
                        operation: "mkdir".into(),
                        error: (*error).into(),
                        filesystem: Some("overlay".into()),
                        root_filesystem: Some(true),
                        truncated: false,
                        count: 1,
                        runs: 1,
                    })
                    .collect(),
                ..Activity::default()
            },
            runtime: Activity::default(),
            binaries: Vec::new(),
            earlier_runs: None,
            truncated: Default::default(),
        }
    }

    #[test]
    fn failed_writes_in_the_root_keep_it_read_only_and_are_said() {
        // `mkdir -p /usr/bin /tmp/d` under a read-only root, and a mkdir
        // refused with EROFS.
        let failures = [
            ("/", "EEXIST"),
            ("/usr", "EEXIST"),
            ("/usr/bin", "EEXIST"),
            ("/newdir", "EROFS"),
        ];
        let advice = advise(&recording(&[("/tmp/d", false)], &failures));
        assert!(advice.read_only_root_filesystem, "{advice:?}");
        assert!(advice.writable_directories.is_empty());
        assert_eq!(
            advice.evidence["readOnlyRootFilesystem"],
            "nothing was written to the root filesystem; it also tried and failed, which is no \
             write: mkdir / EEXIST, mkdir /newdir EROFS, mkdir /usr EEXIST, mkdir /usr/bin EEXIST"
        );
        // The same calls, succeeding, are writes in / itself.
        let advice = advise(&recording(&[("/usr", true), ("/newdir", true)], &[]));
        assert!(!advice.read_only_root_filesystem);
        assert_eq!(
            advice.evidence["readOnlyRootFilesystem"],
            "it wrote in / itself"
        );
        // Many failures: the first five, and how many more.
        let many: Vec<(String, &str)> = (0..8).map(|i| (format!("/d{i}"), "EROFS")).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(p, e)| (p.as_str(), *e)).collect();
        let advice = advise(&recording(&[], &many));
        assert!(advice.read_only_root_filesystem);
        assert!(
            advice.evidence["readOnlyRootFilesystem"].ends_with("mkdir /d4 EROFS, 3 more"),
            "{advice:?}"
        );
    }
}
