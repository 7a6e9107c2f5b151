//! `corral scan`: rules over the model, each finding at the offending
//! field's file, line and column, with a content fingerprint; settings
//! (`.corral.yaml`), suppressions, baselines and the reporters.
//!
//! Every rule is a small module with a stable ID, a kebab-case name, a
//! severity, a summary and its documentation in its doc comment
//! (`rules/`); `docs/rules/` is generated from them.

pub mod baseline;
pub mod config;
pub mod finding;
pub mod report;
pub mod rule;
pub mod rule_redirects;
pub mod rules;
pub mod suppress;

use std::collections::{BTreeMap, BTreeSet};

use corral_core::model::Model;
use corral_pss::{Level, LevelVersion, Version};
use rayon::prelude::*;

pub use finding::Finding;
pub use rule::{Context, Described, Family, Rule, RuleMeta, Severity};

/// The object annotation that suppresses rules on it: a comma-separated
/// list of rule IDs or names (or `all`).
pub const IGNORE_ANNOTATION: &str = "corral.dev/ignore";
/// Why: shown with `--show-suppressed`.
pub const IGNORE_REASON_ANNOTATION: &str = "corral.dev/ignore-reason";

/// How to scan.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The Pod Security Standards level and version the PSS rules check.
    pub pss: LevelVersion,
    /// Rules turned off, by ID or name (an old one of `rule_redirects`
    /// means the rule that owns its defect now).
    pub disabled: BTreeSet<String>,
    /// Severities changed, by rule ID or name (old ones too).
    pub severities: BTreeMap<String, Severity>,
    /// Namespaces whose objects are not scanned.
    pub excluded_namespaces: BTreeSet<String>,
    /// What the cloud files say, for the attack path rules.
    pub cloud: corral_cloud::Cloud,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            pss: LevelVersion {
                level: Level::Restricted,
                version: Version::Latest,
            },
            disabled: BTreeSet::new(),
            severities: BTreeMap::new(),
            excluded_namespaces: BTreeSet::new(),
            cloud: corral_cloud::Cloud::default(),
        }
    }
}

impl Settings {
    /// Does the rule run? Not when it is turned off by its ID or name (an
    /// old name turns off its findings only: [`Settings::reports`]).
    pub fn enabled(&self, rule: &RuleMeta) -> bool {
        !self
            .disabled
            .iter()
            .any(|name| rule_redirects::names_rule(rule, name))
    }

    /// Is the finding of `rule` at `field` reported? Not when an old name
    /// redirected to the rule, at that field, is turned off.
    pub fn reports(&self, rule: &RuleMeta, field: &str) -> bool {
        !self
            .disabled
            .iter()
            .any(|name| rule_redirects::names(rule, field, name))
    }

    /// The severity set for the rule's finding at `field`: by the rule's
    /// ID, by its name, or by an old ID or name of a rule it took over (at
    /// that field), in that order.
    pub fn severity(&self, rule: &RuleMeta, field: &str) -> Severity {
        self.severities
            .get(rule.id)
            .or_else(|| self.severities.get(rule.name))
            .or_else(|| {
                self.severities
                    .iter()
                    .find(|(name, _)| rule_redirects::names(rule, field, name))
                    .map(|(_, severity)| severity)
            })
            .copied()
            .unwrap_or(rule.severity)
    }
}

/// Run every enabled rule over the model: findings sorted by file, line,
/// column and rule, with annotation suppressions applied.
pub fn scan(model: &Model, settings: &Settings) -> Vec<Finding> {
    let context = Context::new(model, settings);
    // Rules run in parallel, each over every object; the order is fixed by
    // the sort below.
    let per_rule: Vec<Vec<Finding>> = rules::all()
        .par_iter()
        .filter(|rule| settings.enabled(rule.meta()))
        .map(|rule| {
            let mut out = Vec::new();
            for (object, resource) in model.iter() {
                let excluded = object
                    .namespace
                    .as_ref()
                    .is_some_and(|ns| settings.excluded_namespaces.contains(ns));
                if !excluded {
                    rule.check_object(&context, object, resource, &mut out);
                }
            }
            rule.check_model(&context, &mut out);
            out.retain(|finding| settings.reports(rule.meta(), &finding.field));
            for finding in &mut out {
                finding.severity = settings.severity(rule.meta(), &finding.field);
            }
            out
        })
        .collect();
    let mut findings: Vec<Finding> = per_rule.into_iter().flatten().collect();
    findings.retain(|f| {
        f.namespace
            .as_ref()
            .is_none_or(|ns| !settings.excluded_namespaces.contains(ns))
    });
    suppress_by_annotation(model, &mut findings);
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule.id, &a.field)
            .cmp(&(&b.file, b.line, b.column, b.rule.id, &b.field))
    });
    findings.dedup_by(|a, b| a.fingerprint == b.fingerprint);
    findings
}

/// Mark the findings on objects annotated `corral.dev/ignore`.
fn suppress_by_annotation(model: &Model, findings: &mut [Finding]) {
    // By the object, not its document: the items of a List share one.
    type Key<'a> = (&'a str, u32, &'a str, Option<&'a str>, Option<&'a str>);
    let mut ignored: BTreeMap<Key, (Vec<&str>, &str)> = BTreeMap::new();
    for (object, _) in model.iter() {
        let annotations = object.root.at("metadata.annotations");
        let annotation = |key: &str| {
            annotations
                .and_then(|a| a.get(key))
                .and_then(|n| n.as_str())
        };
        if let Some(list) = annotation(IGNORE_ANNOTATION) {
            let rules = list
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .collect();
            let reason = annotation(IGNORE_REASON_ANNOTATION).unwrap_or("no reason given");
            let key = (
                &*object.file,
                object.document,
                object.kind.as_str(),
                object.namespace.as_deref(),
                object.name.as_deref(),
            );
            ignored.insert(key, (rules, reason));
        }
    }
    for finding in findings {
        let key = (
            &*finding.file,
            finding.document,
            finding.kind.as_str(),
            finding.namespace.as_deref(),
            finding.name.as_deref(),
        );
        if let Some((rules, reason)) = ignored.get(&key) {
            let named =
                |r: &&str| *r == "all" || rule_redirects::names(finding.rule, &finding.field, r);
            if rules.iter().any(named) {
                finding.suppressed = Some(format!("{IGNORE_ANNOTATION}: {reason}"));
            }
        }
    }
}
