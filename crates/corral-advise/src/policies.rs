//! Every policy for the recorded workload containers: the securityContext
//! advice, the seccomp profile it goes with (for its noNewPrivileges
//! setting), and the patches that carry them into the manifests.

use corral_core::safe::one_line;
use std::collections::BTreeMap;

use corral_core::model::Model;
use corral_record::Evidence;
use serde::Serialize;
use serde_json::{json, Value};

use crate::base::BaseSets;
use crate::patch::{security_context, workload_patch, ContainerAdvice, Patch};
use crate::seccomp::{self, Coverage, OciProfile, Options, Report};
use crate::security_context::{advise, Advice};
use crate::workload::{Recorded, WorkloadKey};

#[derive(Clone, Debug, Serialize)]
pub struct ContainerPolicies {
    pub key: WorkloadKey,
    pub advice: Advice,
    pub profile: OciProfile,
    pub coverage: Coverage,
    /// What each part of the profile contributed.
    pub report: Report,
    /// Why the recording may miss what the workload needs.
    pub warnings: Vec<String>,
    /// The programs it executed: what a kernel log's seccomp records are
    /// matched to the container by.
    pub executables: Vec<String>,
    /// `seccompProfile.localhostProfile`: relative to the kubelet's
    /// seccomp directory.
    pub profile_path: String,
    pub architecture: String,
}

/// How the seccomp profiles are made, and how long a recording must span.
#[derive(Clone, Copy, Debug)]
pub struct Settings<'a> {
    pub runtime: &'a str,
    /// `seccompProfile.localhostProfile`'s directory.
    pub seccomp_dir: &'a str,
    pub seccomp: Options,
    /// A recording spanning less (seconds, its runs' union) is flagged.
    pub min_recorded_seconds: u64,
}

/// Ten minutes: periodic work (a scheduled save, a log rotation, a cache
/// refresh) runs at least that often in most servers.
pub const DEFAULT_MIN_RECORDED_SECONDS: u64 = 600;

fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// Why a recording may miss what the workload does only now and then.
pub fn coverage_warnings(recording: &corral_record::Recording, min_seconds: u64) -> Vec<String> {
    let mut warnings = Vec::new();
    // The runs' union (overlapping replicas count once), the summarised
    // runs of a bounded recording included.
    let seconds = recording.recorded_seconds();
    if seconds < min_seconds {
        warnings.push(format!(
            "recorded for {} in all, under the {} minimum: periodic work may be missing",
            duration(seconds),
            duration(min_seconds)
        ));
    }
    if recording.run_count() == 1 {
        warnings.push(
            "a single recorded run: periodic work and other replicas' paths may be missing"
                .to_string(),
        );
    }
    warnings
}

/// The programs a recording executed: as the execs named them, and as the
/// recorder read them, links resolved (what the kernel's audit records
/// name): binaries no other one loads.
fn executables(recording: &corral_record::Recording) -> Vec<String> {
    let loaded: std::collections::BTreeSet<&str> = recording
        .binaries
        .iter()
        .flat_map(|b| b.libraries.iter().map(String::as_str))
        .collect();
    let mut paths: Vec<String> = recording
        .execs
        .iter()
        .map(|e| e.path.clone())
        .chain(
            recording
                .binaries
                .iter()
                .filter(|b| !loaded.contains(b.path.as_str()))
                .flat_map(|b| std::iter::once(b.path.clone()).chain(b.target.clone())),
        )
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The policies of each recorded container.
pub fn container_policies(
    workloads: &BTreeMap<WorkloadKey, Recorded>,
    settings: &Settings,
) -> Result<Vec<ContainerPolicies>, String> {
    let bases = BaseSets::builtin();
    workloads
        .iter()
        .map(|(key, recorded)| {
            // A bounded recording whose evidence was cut: advising from the
            // rest would forbid what the workload does.
            for kind in [Evidence::Seccomp, Evidence::SecurityContext] {
                if let Some(why) = recorded.recording.cut(kind) {
                    return Err(format!("{key}: {why}"));
                }
            }
            let advice = advise(&recorded.recording);
            let (profile, coverage, report) = seccomp::profile(
                &recorded.recording,
                &bases,
                settings.runtime,
                !advice.allow_privilege_escalation,
                settings.seccomp,
            )
            .map_err(|e| format!("{key}: {e}"))?;
            Ok(ContainerPolicies {
                profile_path: format!("{}/{}.json", settings.seccomp_dir, key.file_stem()),
                key: key.clone(),
                advice,
                profile,
                coverage,
                report,
                warnings: coverage_warnings(&recorded.recording, settings.min_recorded_seconds),
                executables: executables(&recorded.recording),
                architecture: recorded.recording.architecture.clone(),
            })
        })
        .collect()
}

fn container(p: &ContainerPolicies) -> ContainerAdvice<'_> {
    ContainerAdvice {
        name: &p.key.container,
        advice: &p.advice,
        seccomp_profile: Some(p.profile_path.clone()),
        warnings: &p.warnings,
    }
}

/// One workload's patch, and its text with where to apply it and why.
pub struct WorkloadPatch {
    pub namespace: String,
    pub workload: String,
    pub patch: Patch,
    pub text: String,
}

/// Each workload's (namespace, name) containers' advice.
pub fn by_workload(
    policies: &[ContainerPolicies],
) -> BTreeMap<(&str, &str), Vec<ContainerAdvice<'_>>> {
    let mut found: BTreeMap<(&str, &str), Vec<ContainerAdvice>> = BTreeMap::new();
    for p in policies {
        found
            .entry((&p.key.namespace, &p.key.workload))
            .or_default()
            .push(container(p));
    }
    found
}

pub fn patches(policies: &[ContainerPolicies], model: Option<&Model>) -> Vec<WorkloadPatch> {
    by_workload(policies)
        .into_iter()
        .map(|((namespace, workload), advice)| {
            let patch = workload_patch(model, namespace, workload, &advice);
            // Comments hold names and paths from the recordings: on one line
            // each, so none can end its comment and add YAML.
            let comment = |text: String| format!("# {}\n", one_line(&text));
            let mut text = match (&patch.file, patch.line) {
                (Some(file), Some(line)) => {
                    comment(format!("{namespace}/{workload}: edit {file}:{line}"))
                }
                _ => comment(format!(
                    "{namespace}/{workload}: not in the manifests given; check its kind"
                )),
            };
            for c in &advice {
                for warning in c.warnings {
                    text.push_str(&comment(format!("{}: warning: {warning}", c.name)));
                }
                for (field, why) in &c.advice.evidence {
                    text.push_str(&comment(format!("{}: {field}: {why}", c.name)));
                }
            }
            text.push_str(&patch.yaml);
            WorkloadPatch {
                namespace: namespace.into(),
                workload: workload.into(),
                patch,
                text,
            }
        })
        .collect()
}

/// The advice as JSON, one entry per container: what `advise
/// securitycontext --format json` prints and `drift` reads.
pub fn advice_json(policies: &[ContainerPolicies]) -> Value {
    Value::Array(
        policies
            .iter()
            .map(|p| {
                json!({
                    "namespace": p.key.namespace,
                    "workload": p.key.workload,
                    "container": p.key.container,
                    "advice": p.advice,
                    "securityContext": security_context(&container(p)),
                    "seccompProfile": p.profile_path,
                    "allowedSyscalls": seccomp::allowed(&p.profile),
                    "answeredSyscalls": seccomp::answered(&p.profile),
                    "filteredSyscalls": seccomp::filtered(&p.profile),
                    "warnings": p.warnings,
                    "executables": p.executables,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Named, Naming};
    use corral_record::{Activity, Bounds, Recording, Run, Syscall};

    fn window(started: u64, ended: u64) -> Recording {
        let run = Run {
            started,
            ended,
            kernel: "6.18".into(),
            command: Vec::new(),
            exit_status: None,
            capability_audit: true,
            dropped: BTreeMap::new(),
            workload: None,
        };
        let workload = Activity {
            syscalls: [0, 1, 60]
                .iter()
                .map(|n| Syscall::new(*n, "x86_64", false))
                .collect(),
            ..Activity::default()
        };
        Recording::of_one_run(
            "x86_64",
            run,
            None,
            Vec::new(),
            workload,
            Activity::default(),
        )
    }

    fn policies(recording: Recording) -> Result<Vec<ContainerPolicies>, String> {
        let key = WorkloadKey {
            namespace: "shop".into(),
            workload: "web".into(),
            container: "app".into(),
        };
        let recorded = Recorded {
            recording,
            pods: Vec::new(),
            named: Named {
                kind: None,
                name: "web".into(),
                naming: Naming::Resource,
            },
            files: Vec::new(),
        };
        container_policies(
            &BTreeMap::from([(key, recorded)]),
            &Settings {
                runtime: "runc",
                seccomp_dir: "corral",
                seccomp: Options::default(),
                min_recorded_seconds: DEFAULT_MIN_RECORDED_SECONDS,
            },
        )
    }

    #[test]
    fn a_summarised_recording_is_advised_as_the_whole() {
        // Short runs, apart and overlapping: 200 of them, summarised past
        // 64, span under the minimum and then over it.
        for length in [1u64, 5] {
            let windows: Vec<Recording> =
                (0..200u64).map(|i| window(i * 3, i * 3 + length)).collect();
            let whole = Recording::merge(windows).unwrap();
            let mut bounded = whole.clone();
            bounded.bound(&Bounds::default()).unwrap();
            assert!(bounded.runs.len() < whole.runs.len());
            for min in [0, 300, 600, 10_000] {
                assert_eq!(
                    coverage_warnings(&bounded, min),
                    coverage_warnings(&whole, min)
                );
            }
            let (whole, bounded) = (policies(whole).unwrap(), policies(bounded).unwrap());
            assert_eq!(bounded[0].coverage, whole[0].coverage);
            assert_eq!(bounded[0].coverage.total, 200);
            assert_eq!(bounded[0].warnings, whole[0].warnings);
            assert_eq!(bounded[0].profile, whole[0].profile);
        }
        // One run, summarised or not, is one run.
        assert_eq!(
            coverage_warnings(&window(0, 1000), 600),
            ["a single recorded run: periodic work and other replicas' paths may be missing"]
        );
    }

    #[test]
    fn a_recording_with_evidence_cut_is_refused_for_what_it_lost() {
        let mut cut = window(0, 1000);
        cut.truncated = BTreeMap::from([("workload.fileWrites".to_string(), 12)]);
        let error = policies(cut.clone()).unwrap_err();
        assert!(
            error.starts_with("shop/web container app: a securityContext is not advised")
                && error.contains("workload.fileWrites: 12 entries"),
            "{error}"
        );
        cut.truncated = BTreeMap::from([("workload.syscalls".to_string(), 1)]);
        let error = policies(cut.clone()).unwrap_err();
        assert!(
            error.contains("a seccomp profile is not advised"),
            "{error}"
        );
        // Flows cut are not this advice's evidence.
        cut.truncated = BTreeMap::from([("workload.connects".to_string(), 3)]);
        assert!(policies(cut).is_ok());
    }
}
