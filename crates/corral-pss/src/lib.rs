//! The Pod Security Standards, evaluated as the API server's Pod Security
//! Admission library evaluates them: the same 19 checks with their versioned
//! behaviours, the same restricted→baseline overrides, the same API-server
//! defaulting first, and the same messages, byte for byte.
//!
//! Parity is with `k8s.io/pod-security-admission` on the Kubernetes 1.37
//! line, where `latest` means policy version v1.37.

mod checks;
pub mod namespace;
mod registry;
pub mod report;
mod text;
mod version;
mod visit;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use checks::capabilities_baseline::DEFAULT_CAPABILITIES as BASELINE_CAPABILITIES;
pub use registry::{active_check_ids, CHECK_IDS};
pub use version::{Level, LevelVersion, Version, VersionError, LATEST_MINOR};

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The upstream check ID, e.g. `runAsNonRoot`.
    pub check: &'static str,
    /// Upstream's `ForbiddenReason`.
    pub reason: String,
    /// Upstream's `ForbiddenDetail` (may be empty).
    pub detail: String,
    /// Paths, relative to the pod, of the fields to change: the offending
    /// field, or the required field that is missing (which a report places
    /// at its nearest present parent). The first is the one to show.
    pub fields: Vec<String>,
}

/// The verdict for one pod (or pod template) at one level and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub policy: LevelVersion,
    pub violations: Vec<Violation>,
}

impl Evaluation {
    pub fn allowed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The reasons and details as upstream joins them:
    /// `reason1 (detail1), reason2, ...`.
    pub fn reasons(&self) -> String {
        let mut out = String::new();
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(if v.reason.is_empty() {
                "unknown forbidden reason"
            } else {
                &v.reason
            });
            if !v.detail.is_empty() {
                out.push_str(" (");
                out.push_str(&v.detail);
                out.push(')');
            }
        }
        out
    }

    /// The API server's enforce error: `violates PodSecurity "restricted:latest": ...`.
    pub fn enforce_message(&self) -> String {
        format!(
            "violates PodSecurity \"{}\": {}",
            self.policy,
            self.reasons()
        )
    }

    /// The API server's warning for pods and templates: `would violate PodSecurity ...`.
    pub fn warn_message(&self) -> String {
        format!(
            "would violate PodSecurity \"{}\": {}",
            self.policy,
            self.reasons()
        )
    }
}

/// Evaluate a pod's metadata and spec (for a template, the template's own)
/// at `policy`. The API server's defaults are applied first.
pub fn evaluate(metadata: &ObjectMeta, spec: &PodSpec, policy: &LevelVersion) -> Evaluation {
    let spec = corral_core::model::defaults::defaulted(spec);
    let pod = visit::Pod::new(metadata, &spec);
    let violations = registry::active_checks(policy.level, policy.version.minor())
        .iter()
        .filter_map(|&(id, check)| {
            check(&pod).map(|f| Violation {
                check: id,
                reason: f.reason,
                detail: f.detail,
                fields: f.fields,
            })
        })
        .collect();
    Evaluation {
        policy: policy.clone(),
        violations,
    }
}

/// The strictest level a pod satisfies at `version`: restricted, baseline or
/// privileged (which allows everything).
pub fn strictest_level(metadata: &ObjectMeta, spec: &PodSpec, version: &Version) -> Level {
    for level in [Level::Restricted, Level::Baseline] {
        let policy = LevelVersion {
            level,
            version: version.clone(),
        };
        if evaluate(metadata, spec, &policy).allowed() {
            return level;
        }
    }
    Level::Privileged
}
