//! Every policy for the recorded workload containers: the securityContext
//! advice, the seccomp profile it goes with (for its noNewPrivileges
//! setting), and the patches that carry them into the manifests.

use corral_core::safe::one_line;
use std::collections::BTreeMap;

use corral_core::model::Model;
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

/// The seconds the runs cover together (overlapping replicas count once).
fn recorded_seconds(recording: &corral_record::Recording) -> u64 {
    let mut spans: Vec<(u64, u64)> = recording
        .runs
        .iter()
        .map(|r| (r.started, r.ended.max(r.started)))
        .collect();
    spans.sort_unstable();
    let mut total = 0;
    let mut current: Option<(u64, u64)> = None;
    for (start, end) in spans {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(0, |(s, e)| e - s)
}

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
    let seconds = recorded_seconds(recording);
    if seconds < min_seconds {
        warnings.push(format!(
            "recorded for {} in all, under the {} minimum: periodic work may be missing",
            duration(seconds),
            duration(min_seconds)
        ));
    }
    if recording.runs.len() == 1 {
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
