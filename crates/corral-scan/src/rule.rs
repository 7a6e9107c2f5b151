//! What a rule is: metadata (a stable ID, a kebab-case name, a severity, a
//! one-line summary and documentation taken from the rule's doc comment)
//! and a check over the model.

use std::collections::HashMap;

use corral_core::authz::Authz;
use corral_core::model::{Model, Resource};
use corral_core::Object;
use serde::Serialize;

use crate::finding::Finding;
use crate::Settings;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// GitHub's `security-severity` score: critical over 9.0, high 7.0 to
    /// 8.9, medium 4.0 to 6.9, low below.
    pub fn score(self) -> &'static str {
        match self {
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    PodSecurityStandards,
    Workload,
    Rbac,
    Network,
    AttackPath,
    CloudDrift,
    /// Reported by `corral drift` from recordings, not by a scan.
    RuntimeDrift,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::PodSecurityStandards => "pod-security-standards",
            Family::Workload => "workload",
            Family::Rbac => "rbac",
            Family::Network => "network",
            Family::AttackPath => "attack-path",
            Family::CloudDrift => "cloud-drift",
            Family::RuntimeDrift => "runtime-drift",
        }
    }
}

/// A rule's fixed facts.
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    /// Stable, never reused (a rule merged into another keeps its ID in
    /// `rule_redirects`): `CRL-W004`.
    pub id: &'static str,
    /// kebab-case: `no-read-only-root-fs`.
    pub name: &'static str,
    pub family: Family,
    pub severity: Severity,
    /// One line, the finding's title.
    pub summary: &'static str,
    /// Markdown: what it checks, why it matters, how to fix, references
    /// (the rule's doc comment).
    pub doc: &'static str,
}

/// Everything a rule's check can look at.
pub struct Context<'a> {
    pub model: &'a Model,
    pub settings: &'a Settings,
    /// `corral paths`' graph, built once, by the first rule that asks.
    pub graph: std::sync::OnceLock<corral_paths::Graph>,
    /// Each workload's Pod Security Standards evaluation at the scan's
    /// level and version, by the object's address in the model: made once
    /// for all the PSS rules, by the first that asks.
    pub pss: std::sync::OnceLock<HashMap<usize, corral_pss::Evaluation>>,
    /// The cluster's RBAC (the input over the bootstrap policy), built
    /// once, by the first rule that asks.
    pub authz: std::sync::OnceLock<Authz<'a>>,
}

impl<'a> Context<'a> {
    pub fn new(model: &'a Model, settings: &'a Settings) -> Context<'a> {
        Context {
            model,
            settings,
            graph: std::sync::OnceLock::new(),
            pss: std::sync::OnceLock::new(),
            authz: std::sync::OnceLock::new(),
        }
    }

    pub fn authz(&self) -> &Authz<'a> {
        self.authz.get_or_init(|| Authz::new(self.model))
    }

    pub fn graph(&self) -> &corral_paths::Graph {
        self.graph
            .get_or_init(|| corral_paths::build_with(self.model, &self.settings.cloud))
    }

    /// The evaluation of `object`, a workload of this model.
    pub fn pss_evaluation(&self, object: &Object) -> Option<&corral_pss::Evaluation> {
        let address = |object: &Object| object as *const Object as usize;
        self.pss
            .get_or_init(|| {
                let policy = &self.settings.pss;
                self.model
                    .iter()
                    .filter_map(|(object, resource)| match resource {
                        Resource::Workload(t) => Some((
                            address(object),
                            corral_pss::evaluate(&t.metadata, &t.spec, policy),
                        )),
                        _ => None,
                    })
                    .collect()
            })
            .get(&address(object))
    }
}

/// A rule's facts: `declare_rule!` implements it from the rule's `META`.
pub trait Described {
    fn meta(&self) -> &'static RuleMeta;
}

/// A check over every object (`check_object`), or over the model as a
/// whole (`check_model`, for rules that relate objects).
pub trait Rule: Described + Sync {
    fn check_object(
        &self,
        _context: &Context,
        _object: &Object,
        _resource: &Resource,
        _out: &mut Vec<Finding>,
    ) {
    }

    fn check_model(&self, _context: &Context, _out: &mut Vec<Finding>) {}
}

/// Declare a rule: its doc comment becomes its documentation.
///
/// ```text
/// declare_rule! {
///     /// ## What it does ...
///     NoReadOnlyRootFs, "CRL-W004", "no-read-only-root-fs", Workload, Medium,
///     "Container root filesystem is writable"
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:expr])*
        $name:ident, $id:literal, $kebab:literal, $family:ident, $severity:ident, $summary:literal
    ) => {
        $(#[doc = $doc])*
        pub struct $name;

        impl $name {
            pub const META: $crate::rule::RuleMeta = $crate::rule::RuleMeta {
                id: $id,
                name: $kebab,
                family: $crate::rule::Family::$family,
                severity: $crate::rule::Severity::$severity,
                summary: $summary,
                doc: concat!($($doc, "\n"),*),
            };
        }

        impl $crate::rule::Described for $name {
            fn meta(&self) -> &'static $crate::rule::RuleMeta {
                &Self::META
            }
        }
    };
}
