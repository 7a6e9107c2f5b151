//! `corral pss` as data: each pod-bearing object evaluated at the requested
//! policy (or placed at the strictest level it satisfies), against its
//! namespace's labels when the input has the Namespace, and each namespace's
//! strictest level with the labels to apply.

use std::collections::BTreeMap;

use corral_core::model::{Model, PodTemplate, Resource};
use corral_core::Object;
use serde::Serialize;

use crate::namespace::{labels_for, policy_for_labels, Config, LABEL_PREFIX};
use crate::{evaluate, Evaluation, Level, LevelVersion, Version};

pub struct Options {
    /// Evaluate at this level; without it, place each object at the
    /// strictest level it satisfies and report what blocks `restricted`.
    pub level: Option<Level>,
    pub version: Version,
    pub config: Config,
}

#[derive(Serialize)]
pub struct Report {
    pub results: Vec<WorkloadResult>,
    pub namespaces: Vec<NamespaceSummary>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadResult {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The level evaluated: `--level`, or `restricted` without it.
    pub level: Level,
    pub version: String,
    pub allowed: bool,
    /// The strictest level the object satisfies at this version.
    pub strictest: Level,
    /// The API server's words: `violates PodSecurity ...` for a Pod,
    /// `would violate PodSecurity ...` for a template (a warning).
    pub message: Option<String>,
    pub violations: Vec<ViolationAt>,
    /// Set when the object's runtime class or namespace is exempt.
    pub exempt: Option<String>,
    /// Its namespace's enforce/audit/warn verdicts, when the input holds
    /// that Namespace.
    pub namespace_policy: Option<NamespaceVerdicts>,
}

#[derive(Serialize)]
pub struct ViolationAt {
    pub check: &'static str,
    pub reason: String,
    pub detail: String,
    pub field: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Serialize)]
pub struct NamespaceVerdicts {
    pub enforce: ModeVerdict,
    pub audit: ModeVerdict,
    pub warn: ModeVerdict,
}

#[derive(Serialize)]
pub struct ModeVerdict {
    pub policy: String,
    pub allowed: bool,
    pub message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSummary {
    pub name: String,
    pub workloads: usize,
    /// The strictest level every workload in it satisfies.
    pub strictest: Level,
    /// The labels to apply: enforce at `strictest`, pinned to the version,
    /// audit and warn one level stricter.
    pub labels: BTreeMap<String, String>,
    /// Its current `pod-security.kubernetes.io/` labels, if the input holds it.
    pub current_labels: Option<BTreeMap<String, String>>,
    /// Invalid labels (the API server would reject the Namespace).
    pub label_errors: Vec<String>,
    pub exempt: bool,
}

impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The namespace an object lands in: its own, or `default`.
fn namespace_of(object: &Object) -> &str {
    object.namespace.as_deref().unwrap_or("default")
}

pub fn analyze(model: &Model, options: &Options) -> Report {
    let namespace_labels: BTreeMap<&str, BTreeMap<String, String>> = model
        .iter()
        .filter_map(|(o, r)| match r {
            Resource::Namespace(ns) => Some((
                o.name.as_deref().unwrap_or_default(),
                ns.metadata
                    .labels
                    .iter()
                    .flatten()
                    .filter(|(k, _)| k.starts_with(LABEL_PREFIX))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )),
            _ => None,
        })
        .collect();

    let target = LevelVersion {
        level: options.level.unwrap_or(Level::Restricted),
        version: options.version.clone(),
    };
    let mut results = Vec::new();
    let mut per_namespace: BTreeMap<String, (usize, Level)> = BTreeMap::new();
    for (object, template) in model.workloads() {
        let namespace = namespace_of(object);
        let exempt = exemption(object, template, &options.config);
        let evaluation = evaluate(&template.metadata, &template.spec, &target);
        let strictest = if evaluation.allowed() && target.level == Level::Restricted {
            Level::Restricted
        } else {
            crate::strictest_level(&template.metadata, &template.spec, &options.version)
        };
        let entry = per_namespace
            .entry(namespace.to_string())
            .or_insert((0, Level::Restricted));
        entry.0 += 1;
        entry.1 = entry.1.min(strictest);
        let namespace_policy = namespace_labels
            .get(namespace)
            .filter(|_| exempt.is_none())
            .map(|labels| namespace_verdicts(object, template, labels, &options.config));
        results.push(WorkloadResult {
            file: object.file.to_string(),
            line: object.pos.line,
            column: object.pos.col,
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
            level: target.level,
            version: target.version.to_string(),
            allowed: evaluation.allowed() || exempt.is_some(),
            strictest,
            message: (!evaluation.allowed()).then(|| message(object, &evaluation)),
            violations: violations_at(object, template, &evaluation),
            exempt,
            namespace_policy,
        });
    }
    for name in namespace_labels.keys() {
        per_namespace
            .entry(name.to_string())
            .or_insert((0, Level::Restricted));
    }
    let namespaces = per_namespace
        .into_iter()
        .map(|(name, (workloads, strictest))| {
            let current = namespace_labels.get(name.as_str()).cloned();
            let label_errors = current
                .as_ref()
                .map(|labels| policy_for_labels(labels, &options.config).1)
                .unwrap_or_default();
            NamespaceSummary {
                exempt: options.config.exempt_namespaces.contains(&name),
                labels: labels_for(strictest, &options.version),
                name,
                workloads,
                strictest,
                current_labels: current,
                label_errors,
            }
        })
        .collect();
    Report {
        results,
        namespaces,
    }
}

fn exemption(object: &Object, template: &PodTemplate, config: &Config) -> Option<String> {
    let namespace = namespace_of(object);
    if config.exempt_namespaces.iter().any(|n| n == namespace) {
        return Some(format!("namespace {namespace} is exempt"));
    }
    let runtime_class = template.spec.runtime_class_name.as_deref()?;
    config
        .exempt_runtime_classes
        .iter()
        .any(|c| c == runtime_class)
        .then(|| format!("runtime class {runtime_class} is exempt"))
}

/// Pods are rejected (`violates`); templates only warned about.
fn message(object: &Object, evaluation: &Evaluation) -> String {
    if object.kind == "Pod" {
        evaluation.enforce_message()
    } else {
        evaluation.warn_message()
    }
}

fn violations_at(
    object: &Object,
    template: &PodTemplate,
    evaluation: &Evaluation,
) -> Vec<ViolationAt> {
    evaluation
        .violations
        .iter()
        .map(|v| {
            let field = match (template.path.as_str(), v.fields.first()) {
                (_, None) => template.path.clone(),
                ("", Some(f)) => f.clone(),
                (base, Some(f)) => format!("{base}.{f}"),
            };
            let pos = object.pos_nearest(&field);
            ViolationAt {
                check: v.check,
                reason: v.reason.clone(),
                detail: v.detail.clone(),
                file: object.file.to_string(),
                line: pos.line,
                column: pos.col,
                field,
            }
        })
        .collect()
}

fn namespace_verdicts(
    object: &Object,
    template: &PodTemplate,
    labels: &BTreeMap<String, String>,
    config: &Config,
) -> NamespaceVerdicts {
    let (policy, _) = policy_for_labels(labels, config);
    let verdict = |p: &LevelVersion| {
        let evaluation = evaluate(&template.metadata, &template.spec, p);
        ModeVerdict {
            policy: p.to_string(),
            allowed: evaluation.allowed(),
            message: (!evaluation.allowed()).then(|| message(object, &evaluation)),
        }
    };
    NamespaceVerdicts {
        enforce: verdict(&policy.enforce),
        audit: verdict(&policy.audit),
        warn: verdict(&policy.warn),
    }
}
