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
    evidence.insert(
        "readOnlyRootFilesystem".to_string(),
        if unknown {
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
        },
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
