//! `.corral.yaml`: the scanner's settings, committed beside the manifests.
//!
//! ```yaml
//! version: 1                                  # the format (1 when absent)
//! pss: {level: restricted, version: latest}   # the PSS rules' policy
//! rules:
//!   disable: [latest-tag, CRL-W015]           # by name or ID
//!   severity: {unset-cpu-requirements: medium}
//! exclude:
//!   paths: ["vendor/**", "charts/*/tests/**"]
//!   namespaces: [kube-system]
//! templatePaths: [spec.workload.template]     # pod templates of custom resources
//! failOn: high
//! ```

use corral_core::node::Node;
use corral_pss::{Level, Version};

use crate::rule::Severity;
use crate::Settings;

/// The `.corral.yaml` format this Corral reads: its `version`, 1 when
/// absent (configurations written before the field existed are version 1).
/// Another version is an error, never settings half understood.
pub const CONFIG_VERSION: i64 = 1;

/// Everything `.corral.yaml` holds.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub settings: Settings,
    /// Globs of paths not scanned (`*` within a segment, `**` across).
    pub excluded_paths: Vec<String>,
    /// Extra pod-template paths for custom resources.
    pub template_paths: Vec<String>,
    pub fail_on: Option<Severity>,
}

fn strings(node: Option<&Node>, what: &str) -> Result<Vec<String>, String> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let items = node
        .items()
        .ok_or_else(|| at(node, &format!("{what} must be a list")))?;
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_string)
                .ok_or_else(|| at(i, &format!("{what} must hold strings")))
        })
        .collect()
}

fn at(node: &Node, message: &str) -> String {
    format!("{}:{}: {message}", node.pos.line, node.pos.col)
}

/// The configuration's `version`, when given, is [`CONFIG_VERSION`]; the
/// error says where, and what this Corral reads.
fn check_version(root: &Node) -> Result<(), String> {
    if root.entries().is_none() {
        return Err(at(
            root,
            &format!("a configuration is a mapping, starting with `version: {CONFIG_VERSION}`"),
        ));
    }
    match root.get("version") {
        None => Ok(()),
        Some(version) if version.scalar().and_then(|s| s.as_i64()) == Some(CONFIG_VERSION) => Ok(()),
        Some(version) => Err(at(
            version,
            &format!(
                "version {} is not supported: this Corral reads configuration version {CONFIG_VERSION}",
                match version.scalar() {
                    Some(s) if s.kind == corral_core::ScalarKind::Str => format!("{:?}", s.text.as_str()),
                    Some(s) => s.text.to_string(),
                    None => "(not a number)".to_string(),
                }
            ),
        )),
    }
}

impl Config {
    /// Read the configuration from its parsed tree; errors say where.
    pub fn from_node(root: &Node) -> Result<Config, String> {
        check_version(root)?;
        let mut config = Config::default();
        if let Some(pss) = root.get("pss") {
            if let Some(level) = pss.get("level") {
                let text = level.as_str().unwrap_or_default();
                config.settings.pss.level = text
                    .parse::<Level>()
                    .map_err(|e| at(level, &format!("pss.level: {e}")))?;
            }
            if let Some(version) = pss.get("version") {
                let text = version.as_str().unwrap_or_default();
                config.settings.pss.version = text
                    .parse::<Version>()
                    .map_err(|e| at(version, &format!("pss.version: {e}")))?;
            }
        }
        if let Some(rules) = root.get("rules") {
            config.settings.disabled = strings(rules.get("disable"), "rules.disable")?
                .into_iter()
                .collect();
            if let Some(severities) = rules.get("severity") {
                for entry in severities.entries().unwrap_or_default() {
                    let value =
                        entry
                            .value
                            .as_str()
                            .and_then(Severity::parse)
                            .ok_or_else(|| {
                                at(&entry.value, "a severity is low, medium, high or critical")
                            })?;
                    config
                        .settings
                        .severities
                        .insert(entry.key.to_string(), value);
                }
            }
        }
        if let Some(exclude) = root.get("exclude") {
            config.excluded_paths = strings(exclude.get("paths"), "exclude.paths")?;
            config.settings.excluded_namespaces =
                strings(exclude.get("namespaces"), "exclude.namespaces")?
                    .into_iter()
                    .collect();
        }
        config.template_paths = strings(root.get("templatePaths"), "templatePaths")?;
        if let Some(fail_on) = root.get("failOn") {
            config.fail_on = Some(
                fail_on
                    .as_str()
                    .and_then(Severity::parse)
                    .ok_or_else(|| at(fail_on, "failOn is low, medium, high or critical"))?,
            );
        }
        Ok(config)
    }

    pub fn excludes(&self, path: &str) -> bool {
        let path = path.trim_start_matches("./");
        self.excluded_paths
            .iter()
            .any(|glob| glob_matches(glob.trim_start_matches("./"), path))
    }
}

/// `*` matches within a path segment, `**` any number of segments; a glob
/// naming a directory matches everything under it.
///
/// Matching takes time proportional to the glob's segments times the
/// path's, and within a segment to their lengths' product, whatever the
/// glob: a configuration's `**/**/…` or `*a*a*…` cannot make it backtrack
/// exponentially (a hang).
pub fn glob_matches(glob: &str, path: &str) -> bool {
    let glob: Vec<&str> = glob.trim_end_matches('/').split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    // matches[j]: glob[i..] matches path[j..], for i from the end down.
    // The empty rest of a glob matches: it named a directory above.
    let mut matches = vec![true; path.len() + 1];
    for part in glob.iter().rev() {
        let mut next = vec![false; path.len() + 1];
        for j in (0..=path.len()).rev() {
            next[j] = if *part == "**" {
                matches[j] || (j < path.len() && next[j + 1])
            } else {
                j < path.len() && matches[j + 1] && segment(part, path[j])
            };
        }
        matches = next;
    }
    matches[0]
}

/// `glob` (`*` any characters) matches all of `text`: the greedy matcher
/// that returns to the last `*` only, in O(glob × text).
fn segment(glob: &str, text: &str) -> bool {
    let glob: Vec<char> = glob.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut g, mut t) = (0, 0);
    // The last `*` seen, and where in the text it began to match.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if g < glob.len() && glob[g] == '*' {
            star = Some((g, t));
            g += 1;
        } else if g < glob.len() && glob[g] == text[t] {
            g += 1;
            t += 1;
        } else if let Some((at, from)) = star {
            // The `*` takes one character more.
            star = Some((at, from + 1));
            g = at + 1;
            t = from + 1;
        } else {
            return false;
        }
    }
    glob[g..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<Config, String> {
        let root =
            corral_core::parse_config(".corral.yaml", text, &corral_core::Limits::default())?
                .ok_or("empty")?;
        Config::from_node(&root)
    }

    #[test]
    fn the_version_is_checked() {
        let read = config("version: 1\nfailOn: low\n").unwrap();
        assert_eq!(read.fail_on, Some(Severity::Low));
        // Written before the field existed: version 1.
        assert_eq!(
            config("failOn: low\n").unwrap().fail_on,
            Some(Severity::Low)
        );
        assert_eq!(
            config("failOn: low\nversion: 2\n").unwrap_err(),
            "2:10: version 2 is not supported: this Corral reads configuration version 1"
        );
        assert_eq!(
            config("version: '1'\n").unwrap_err(),
            "1:10: version \"1\" is not supported: this Corral reads configuration version 1"
        );
        assert_eq!(
            config("version: [1]\n").unwrap_err(),
            "1:10: version (not a number) is not supported: this Corral reads configuration version 1"
        );
        assert_eq!(
            config("- version: 1\n").unwrap_err(),
            "1:1: a configuration is a mapping, starting with `version: 1`"
        );
        // YAML 1.1 integers as go-yaml reads them: 0x1 is 1.
        assert!(config("version: 0x1\n").is_ok());
        assert!(config("version: 1.0\n").is_err());
    }

    #[test]
    fn globs_match_segments() {
        assert!(glob_matches("vendor/**", "vendor/a/b.yaml"));
        assert!(glob_matches("vendor", "vendor/a.yaml"));
        assert!(glob_matches("charts/*/tests/**", "charts/web/tests/t.yaml"));
        assert!(!glob_matches(
            "charts/*/tests/**",
            "charts/web/templates/t.yaml"
        ));
        assert!(glob_matches("**/*.generated.yaml", "a/b/x.generated.yaml"));
        assert!(!glob_matches("*.yaml", "a/x.yaml"));
        assert!(glob_matches("**", "a/b"));
        assert!(glob_matches("a/**", "a"));
        assert!(glob_matches("a/**/b", "a/b"));
        assert!(glob_matches("a/**/b", "a/x/y/b"));
        assert!(!glob_matches("a/**/b", "a/x/y/c"));
        assert!(glob_matches("*", "café"));
        assert!(glob_matches("c*é", "café"));
        assert!(glob_matches("*a*b*", "xxaxxbxx"));
        assert!(!glob_matches("*a*b", "xxaxxbxx"));
        assert!(glob_matches("x*", "x"));
        assert!(!glob_matches("x?", "xy"));
        assert!(!glob_matches("", "anything/below"));
    }

    /// The recursive matcher this one replaced, exponential on hostile
    /// globs: on small ones both must agree.
    fn backtracking(glob: &str, path: &str) -> bool {
        let glob: Vec<&str> = glob.trim_end_matches('/').split('/').collect();
        let path: Vec<&str> = path.split('/').collect();
        fn segments(glob: &[&str], path: &[&str]) -> bool {
            match glob.split_first() {
                None => true,
                Some((&"**", rest)) => (0..=path.len()).any(|skip| segments(rest, &path[skip..])),
                Some((first, rest)) => path
                    .split_first()
                    .is_some_and(|(p, path_rest)| segment(first, p) && segments(rest, path_rest)),
            }
        }
        fn segment(glob: &str, text: &str) -> bool {
            match glob.split_once('*') {
                None => glob == text,
                Some((prefix, rest)) => {
                    text.starts_with(prefix)
                        && (0..=text.len() - prefix.len()).any(|i| {
                            text.is_char_boundary(prefix.len() + i)
                                && segment(rest, &text[prefix.len() + i..])
                        })
                }
            }
        }
        segments(&glob, &path)
    }

    #[test]
    fn globs_match_as_the_backtracking_matcher_did() {
        // Every string of up to 5 characters over `a * / é` as a glob,
        // against every one of up to 4 over `a / é` as a path.
        fn all(alphabet: &[char], longest: usize) -> Vec<String> {
            let mut out = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..longest {
                last = last
                    .iter()
                    .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                    .collect();
                out.extend(last.iter().cloned());
            }
            out
        }
        let globs = all(&['a', '*', '/', 'é'], 5);
        let paths = all(&['a', '/', 'é'], 4);
        let mut compared = 0;
        for glob in &globs {
            for path in &paths {
                assert_eq!(
                    glob_matches(glob, path),
                    backtracking(glob, path),
                    "{glob:?} {path:?}"
                );
                compared += 1;
            }
        }
        assert!(compared > 100_000, "{compared}");
    }

    /// What exponential backtracking would take years on is answered at
    /// once: 40 `**` against 60 segments, 40 `*a` against 2,000 `a`s.
    #[test]
    fn hostile_globs_do_not_hang() {
        let started = std::time::Instant::now();
        let glob = vec!["**"; 40].join("/") + "/x";
        let path = vec!["a"; 60].join("/");
        assert!(!glob_matches(&glob, &path));
        let glob = "**/a/".repeat(40) + "b";
        assert!(!glob_matches(&glob, &path));
        let glob = "*a".repeat(40) + "b";
        let path = "a".repeat(2000);
        assert!(!glob_matches(&glob, &path));
        assert!(glob_matches(&("*a".repeat(40) + "*"), &path));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
