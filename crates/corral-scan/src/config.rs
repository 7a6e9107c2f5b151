//! `.corral.yaml`: the scanner's settings, committed beside the manifests.
//!
//! ```yaml
//! version: 1                                  # the format (1 when absent)
//! pss: {level: restricted, version: latest}   # the PSS rules' policy
//! rules:
//!   disable: [latest-tag, CRL-W015]           # by name or ID (old ones: rule_redirects)
//!   severity: {unset-cpu-requirements: medium}
//! exclude:
//!   paths: ["vendor/**", "charts/*/tests/**"]
//!   namespaces: [kube-system]
//! templatePaths: [spec.workload.template]     # pod templates of custom resources
//! failOn: high
//! ```

use std::sync::OnceLock;

use corral_core::node::Node;
use corral_pss::{Level, Version};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

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
    /// `excluded_paths`, compiled on first use.
    excluded_set: OnceLock<Vec<GlobSet>>,
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
            if let Some(paths) = exclude.get("paths").and_then(Node::items) {
                for glob in paths {
                    compile(glob.as_str().unwrap_or_default().trim_start_matches("./"))
                        .map_err(|e| at(glob, &e))?;
                }
            }
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
        self.excluded_set
            .get_or_init(|| {
                self.excluded_paths
                    .iter()
                    .filter_map(|glob| compile(glob.trim_start_matches("./")).ok())
                    .collect()
            })
            .iter()
            .any(|set| set.is_match(path))
    }
}

/// `*` matches within a path segment, `**` any number of segments; a glob
/// naming a directory matches everything under it. Every other character
/// (`?`, `[`, `{`, `\\` too) stands for itself.
pub fn glob_matches(glob: &str, path: &str) -> bool {
    compile(glob).is_ok_and(|set| set.is_match(path))
}

/// A glob of `.corral.yaml`'s semantics as a globset set: the glob and
/// everything under it. globset compiles it to an automaton, so matching
/// is linear in the path, without recursion or backtracking.
fn compile(glob: &str) -> Result<GlobSet, String> {
    let mut pattern = String::with_capacity(glob.len() + 8);
    for (i, segment) in glob.trim_end_matches('/').split('/').enumerate() {
        if i > 0 {
            pattern.push('/');
        }
        if segment == "**" {
            pattern.push_str("**");
            continue;
        }
        let mut last_star = false;
        for c in segment.chars() {
            match c {
                // Runs of `*` within a segment are one `*`.
                '*' if last_star => {}
                '*' => pattern.push('*'),
                '?' | '[' | ']' | '{' | '}' | '\\' => {
                    pattern.push('[');
                    pattern.push(c);
                    pattern.push(']');
                }
                c => pattern.push(c),
            }
            last_star = c == '*';
        }
    }
    let mut set = GlobSetBuilder::new();
    // `**` may match no segment, at the end too: `a/**` matches `a`.
    let mut base = pattern.as_str();
    while let Some(parent) = base.strip_suffix("/**") {
        base = parent;
    }
    for pattern in [pattern.clone(), format!("{pattern}/**"), base.to_string()] {
        set.add(
            GlobBuilder::new(&pattern)
                .literal_separator(true)
                .backslash_escape(false)
                .build()
                .map_err(|e| format!("exclude.paths: {glob}: {e}"))?,
        );
    }
    set.build()
        .map_err(|e| format!("exclude.paths: {glob}: {e}"))
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
        // Integers as kubectl reads them everywhere: 0x1 and 1.0 are 1.
        assert!(config("version: 0x1\n").is_ok());
        assert!(config("version: 1.0\n").is_ok());
        assert!(config("version: 1.5\n").is_err());
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
            // As glob_matches, compiled once for every path.
            let set = compile(glob);
            for path in &paths {
                assert_eq!(
                    set.as_ref().is_ok_and(|set| set.is_match(path)),
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

    #[test]
    fn other_glob_characters_stand_for_themselves() {
        assert!(glob_matches(
            "a?b/[x]/{c,d}/e\\f",
            "a?b/[x]/{c,d}/e\\f/g.yaml"
        ));
        assert!(!glob_matches("a?b", "axb"));
        assert!(!glob_matches("[x]", "x"));
        assert!(!glob_matches("{c,d}", "c"));
        assert!(glob_matches("a**b/x", "a-anything-b/x"));
        assert!(glob_matches("**", "a/b/c"));
        assert!(glob_matches("a/**/b", "a/b") && glob_matches("a/**/b", "a/x/y/b"));
        assert!(glob_matches("charts/*", "charts/web/deep/x.yaml"));
        assert!(!glob_matches("/vendor", "vendor/a.yaml"));
    }

    /// Globs a hostile `.corral.yaml` may hold: long runs of `*` and `**`
    /// (exponential with the recursive matcher) and very long paths.
    #[test]
    fn hostile_globs_match_quickly() {
        let started = std::time::Instant::now();
        let glob = format!("{}z", "*a".repeat(30));
        assert!(!glob_matches(&glob, &"a".repeat(100_000)));
        let deep = format!("{}x", "**/".repeat(30));
        assert!(!glob_matches(&deep, &"a/".repeat(10_000)));
        assert!(glob_matches(&"*".repeat(100_000), "abc"));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        // Through the configuration, compiled once.
        let config = Config {
            excluded_paths: vec![glob, "vendor/**".into()],
            ..Config::default()
        };
        assert!(config.excludes("./vendor/a/b.yaml"));
        assert!(!config.excludes(&"a".repeat(100_000)));
    }
}
