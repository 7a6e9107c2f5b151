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
use crate::seccomp::{self, Coverage, OciProfile};
use crate::security_context::{advise, Advice};
use crate::workload::{Recorded, WorkloadKey};

#[derive(Clone, Debug, Serialize)]
pub struct ContainerPolicies {
    pub key: WorkloadKey,
    pub advice: Advice,
    pub profile: OciProfile,
    pub coverage: Coverage,
    /// `seccompProfile.localhostProfile`: relative to the kubelet's
    /// seccomp directory.
    pub profile_path: String,
    pub architecture: String,
}

/// The policies of each recorded container, its seccomp profile installed
/// under `seccomp_dir` for `runtime`.
pub fn container_policies(
    workloads: &BTreeMap<WorkloadKey, Recorded>,
    runtime: &str,
    seccomp_dir: &str,
) -> Result<Vec<ContainerPolicies>, String> {
    let bases = BaseSets::builtin();
    workloads
        .iter()
        .map(|(key, recorded)| {
            let advice = advise(&recorded.recording);
            let (profile, coverage) = seccomp::profile(
                &recorded.recording,
                &bases,
                runtime,
                !advice.allow_privilege_escalation,
            )
            .map_err(|e| format!("{key}: {e}"))?;
            Ok(ContainerPolicies {
                profile_path: format!("{seccomp_dir}/{}.json", key.file_stem()),
                key: key.clone(),
                advice,
                profile,
                coverage,
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
                })
            })
            .collect(),
    )
}
