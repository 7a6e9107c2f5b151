//! Namespace labels → the policies Pod Security Admission applies, with
//! upstream's semantics (`api.PolicyToEvaluate`), and the exemptions and
//! defaults of a `PodSecurityConfiguration`.

use std::collections::BTreeMap;

use corral_core::Node;

use crate::version::{Level, LevelVersion, Version};

pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// The three modes' policies for a namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

/// `defaults` and `exemptions` of a PodSecurityConfiguration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub defaults: Policy,
    pub exempt_namespaces: Vec<String>,
    pub exempt_runtime_classes: Vec<String>,
    pub exempt_usernames: Vec<String>,
}

impl Default for Config {
    /// Upstream's defaults: privileged at latest for every mode, no exemptions.
    fn default() -> Self {
        let privileged = LevelVersion {
            level: Level::Privileged,
            version: Version::Latest,
        };
        Config {
            defaults: Policy {
                enforce: privileged.clone(),
                audit: privileged.clone(),
                warn: privileged,
            },
            exempt_namespaces: Vec::new(),
            exempt_runtime_classes: Vec::new(),
            exempt_usernames: Vec::new(),
        }
    }
}

impl Config {
    /// Read a `PodSecurityConfiguration`, bare or inside an
    /// `AdmissionConfiguration`'s `PodSecurity` plugin.
    pub fn from_node(root: &Node) -> Result<Config, String> {
        let config = match root.get("kind").and_then(Node::as_str) {
            Some("PodSecurityConfiguration") => root,
            Some("AdmissionConfiguration") => root
                .get("plugins")
                .and_then(Node::items)
                .into_iter()
                .flatten()
                .find(|p| p.get("name").and_then(Node::as_str) == Some("PodSecurity"))
                .and_then(|p| p.get("configuration"))
                .ok_or("the AdmissionConfiguration has no PodSecurity plugin configuration")?,
            other => {
                return Err(format!(
                    "expected kind PodSecurityConfiguration or AdmissionConfiguration, found {}",
                    other.unwrap_or("none")
                ))
            }
        };
        let mut out = Config::default();
        if let Some(defaults) = config.get("defaults") {
            let mode = |name: &str, fallback: &LevelVersion| -> Result<LevelVersion, String> {
                let level = match defaults.get(name).and_then(Node::as_str) {
                    Some(l) => l
                        .parse()
                        .map_err(|e: crate::VersionError| format!("defaults.{name}: {e}"))?,
                    None => fallback.level,
                };
                let version = match defaults
                    .get(&format!("{name}-version"))
                    .and_then(Node::as_str)
                {
                    Some(v) => v.parse().map_err(|e: crate::VersionError| {
                        format!("defaults.{name}-version: {e}")
                    })?,
                    None => fallback.version.clone(),
                };
                Ok(LevelVersion { level, version })
            };
            let base = Config::default().defaults;
            out.defaults = Policy {
                enforce: mode("enforce", &base.enforce)?,
                audit: mode("audit", &base.audit)?,
                warn: mode("warn", &base.warn)?,
            };
        }
        let list = |key: &str| -> Vec<String> {
            config
                .get("exemptions")
                .and_then(|e| e.get(key))
                .and_then(Node::items)
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        };
        out.exempt_namespaces = list("namespaces");
        out.exempt_runtime_classes = list("runtimeClasses");
        out.exempt_usernames = list("usernames");
        Ok(out)
    }
}

/// The policies a namespace's labels select, and the label errors (the API
/// server rejects a Namespace with invalid labels). An invalid enforce level
/// fails closed to `restricted`; an invalid audit or warn level fails open
/// to `privileged`; an invalid version means `latest`. Without a `warn`
/// label, warn follows an enforce level stricter than it, with the enforce
/// version unless `warn-version` is set.
pub fn policy_for_labels(
    labels: &BTreeMap<String, String>,
    config: &Config,
) -> (Policy, Vec<String>) {
    let mut policy = config.defaults.clone();
    let mut errors = Vec::new();
    let label = |mode: &str| labels.get(&format!("{LABEL_PREFIX}{mode}"));
    let mut parse_version = |mode: &str, target: &mut Version| {
        if let Some(value) = label(&format!("{mode}-version")) {
            *target = value.parse().unwrap_or_else(|e: crate::VersionError| {
                errors.push(format!("{LABEL_PREFIX}{mode}-version: {e}"));
                Version::Latest
            });
        }
    };
    parse_version("enforce", &mut policy.enforce.version);
    parse_version("audit", &mut policy.audit.version);
    parse_version("warn", &mut policy.warn.version);

    let mut has_enforce_level = false;
    let mut level = |mode: &str, fallback: Level, target: &mut Level| -> bool {
        match label(mode) {
            Some(value) => match value.parse() {
                Ok(l) => {
                    *target = l;
                    true
                }
                Err(e) => {
                    errors.push(format!("{LABEL_PREFIX}{mode}: {e}"));
                    *target = fallback;
                    false
                }
            },
            None => false,
        }
    };
    if label("enforce").is_some() {
        has_enforce_level = level("enforce", Level::Restricted, &mut policy.enforce.level);
    }
    level("audit", Level::Privileged, &mut policy.audit.level);
    if label("warn").is_some() {
        level("warn", Level::Privileged, &mut policy.warn.level);
    } else if has_enforce_level && policy.enforce.level > policy.warn.level {
        policy.warn.level = policy.enforce.level;
        if label("warn-version").is_none() {
            policy.warn.version = policy.enforce.version.clone();
        }
    }
    (policy, errors)
}

/// The labels that set `level` as enforce, pinned to `version` (`latest` is
/// pinned to the version it means today, so a cluster upgrade cannot
/// tighten the policy unannounced), with audit and warn at the next
/// stricter level when there is one.
pub fn labels_for(level: Level, version: &Version) -> BTreeMap<String, String> {
    let version = Version::Minor(version.minor());
    let mut labels = BTreeMap::new();
    labels.insert(format!("{LABEL_PREFIX}enforce"), level.to_string());
    labels.insert(
        format!("{LABEL_PREFIX}enforce-version"),
        version.to_string(),
    );
    let next = level.stricter().unwrap_or(level);
    for mode in ["audit", "warn"] {
        labels.insert(format!("{LABEL_PREFIX}{mode}"), next.to_string());
        labels.insert(format!("{LABEL_PREFIX}{mode}-version"), version.to_string());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("{LABEL_PREFIX}{k}"), v.to_string()))
            .collect()
    }

    fn lv(level: Level, version: Version) -> LevelVersion {
        LevelVersion { level, version }
    }

    #[test]
    fn invalid_enforce_fails_closed_audit_and_warn_fail_open() {
        let (p, errors) = policy_for_labels(
            &labels(&[
                ("enforce", "bogus"),
                ("audit", "bogus"),
                ("warn", "bogus"),
                ("enforce-version", "v1.05"),
            ]),
            &Config::default(),
        );
        assert_eq!(p.enforce, lv(Level::Restricted, Version::Latest));
        assert_eq!(p.audit.level, Level::Privileged);
        assert_eq!(p.warn.level, Level::Privileged);
        assert_eq!(errors.len(), 4);
    }

    #[test]
    fn warn_inherits_a_stricter_enforce() {
        let (p, _) = policy_for_labels(
            &labels(&[("enforce", "baseline"), ("enforce-version", "v1.30")]),
            &Config::default(),
        );
        assert_eq!(p.warn, lv(Level::Baseline, Version::Minor(30)));
        let (p, _) = policy_for_labels(
            &labels(&[
                ("enforce", "baseline"),
                ("enforce-version", "v1.30"),
                ("warn-version", "v1.25"),
            ]),
            &Config::default(),
        );
        assert_eq!(p.warn, lv(Level::Baseline, Version::Minor(25)));
        // An invalid enforce level does not drag warn along.
        let (p, _) = policy_for_labels(&labels(&[("enforce", "bogus")]), &Config::default());
        assert_eq!(p.warn.level, Level::Privileged);
        let (p, _) = policy_for_labels(
            &labels(&[("enforce", "baseline"), ("warn", "privileged")]),
            &Config::default(),
        );
        assert_eq!(p.warn.level, Level::Privileged);
    }
}
