//! Label and field selectors, as the API server reads them from
//! `labelSelector` and `fieldSelector`.

use std::collections::BTreeMap;

use serde_json::Value;

/// The most requirements one selector may hold, and the longest one.
const MAX_REQUIREMENTS: usize = 100;
const MAX_SELECTOR: usize = 8 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A label selector: every requirement must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

fn key(text: &str, whole: &str) -> Result<String, String> {
    let key = text.trim();
    if key.is_empty()
        || key.len() > 317
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        return Err(format!(
            "labelSelector {whole:?}: invalid label key {key:?}"
        ));
    }
    Ok(key.to_string())
}

fn value(text: &str, whole: &str) -> Result<String, String> {
    let value = text.trim();
    if value.len() > 63
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "labelSelector {whole:?}: invalid label value {value:?}"
        ));
    }
    Ok(value.to_string())
}

/// Split at the commas outside parentheses.
fn split_top(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("selector {text:?}: unbalanced ')' at {i}"))?
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("selector {text:?}: unclosed '('"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

impl LabelSelector {
    /// Parse `key=value`, `key==value`, `key!=value`, `key in (a,b)`,
    /// `key notin (a,b)`, `key` and `!key`, comma-separated.
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        if text.len() > MAX_SELECTOR {
            return Err(format!(
                "labelSelector of {} bytes: at most {MAX_SELECTOR}",
                text.len()
            ));
        }
        let mut requirements = Vec::new();
        if text.trim().is_empty() {
            return Ok(LabelSelector(requirements));
        }
        for part in split_top(text)? {
            if requirements.len() == MAX_REQUIREMENTS {
                return Err(format!(
                    "labelSelector {text:?}: more than {MAX_REQUIREMENTS} requirements"
                ));
            }
            let part = part.trim();
            let requirement = if let Some(rest) = part.strip_prefix('!') {
                Requirement::DoesNotExist(key(rest, text)?)
            } else if let Some(open) = part.find('(') {
                let close = part
                    .rfind(')')
                    .filter(|&c| c == part.len() - 1)
                    .ok_or_else(|| format!("labelSelector {text:?}: {part:?} lacks ')'"))?;
                let head = part[..open].trim();
                let values = part[open + 1..close]
                    .split(',')
                    .map(|v| value(v, text))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(k) = head.strip_suffix(" notin") {
                    Requirement::NotIn(key(k, text)?, values)
                } else if let Some(k) = head.strip_suffix(" in") {
                    Requirement::In(key(k, text)?, values)
                } else {
                    return Err(format!(
                        "labelSelector {text:?}: {part:?}: expected `in` or `notin`"
                    ));
                }
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(key(k, text)?, value(v, text)?)
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Equals(key(k, text)?, value(v, text)?)
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Equals(key(k, text)?, value(v, text)?)
            } else {
                Requirement::Exists(key(part, text)?)
            };
            requirements.push(requirement);
        }
        Ok(LabelSelector(requirements))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }
}

/// A field selector: `path=value`, `path==value` or `path!=value`,
/// comma-separated; a path is dotted (`metadata.name`, `spec.nodeName`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(text: &str) -> Result<FieldSelector, String> {
        if text.len() > MAX_SELECTOR {
            return Err(format!(
                "fieldSelector of {} bytes: at most {MAX_SELECTOR}",
                text.len()
            ));
        }
        let mut terms = Vec::new();
        if text.trim().is_empty() {
            return Ok(FieldSelector(terms));
        }
        for part in text.split(',') {
            if terms.len() == MAX_REQUIREMENTS {
                return Err(format!(
                    "fieldSelector {text:?}: more than {MAX_REQUIREMENTS} requirements"
                ));
            }
            let (path, equal, value) = if let Some((p, v)) = part.split_once("!=") {
                (p, false, v)
            } else if let Some((p, v)) = part.split_once("==") {
                (p, true, v)
            } else if let Some((p, v)) = part.split_once('=') {
                (p, true, v)
            } else {
                return Err(format!(
                    "fieldSelector {text:?}: {part:?} is not `field=value` or `field!=value`"
                ));
            };
            let path = path.trim();
            if path.is_empty() || path.split('.').any(str::is_empty) {
                return Err(format!("fieldSelector {text:?}: invalid field {path:?}"));
            }
            terms.push((path.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether only `metadata.name` and `metadata.namespace` are asked
    /// (no need to read the object).
    pub fn metadata_only(&self) -> bool {
        self.0
            .iter()
            .all(|(p, _, _)| p == "metadata.name" || p == "metadata.namespace")
    }

    /// Whether the object (`namespace`, `name`, and the object itself, read
    /// only when a field other than those two is asked) matches.
    pub fn matches(&self, namespace: &str, name: &str, object: &dyn Fn() -> Value) -> bool {
        let mut parsed: Option<Value> = None;
        self.0.iter().all(|(path, equal, want)| {
            let found = match path.as_str() {
                "metadata.name" => name.to_string(),
                "metadata.namespace" => namespace.to_string(),
                _ => {
                    let object = parsed.get_or_insert_with(object);
                    let mut at = &*object;
                    for step in path.split('.') {
                        at = &at[step];
                    }
                    match at {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    }
                }
            };
            (found == *want) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_operator() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("corral.dev/node", "n1")]);
        for (selector, expected) in [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("missing!=x", true),
            ("app in (db, web)", true),
            ("app in (db)", false),
            ("app notin (db)", true),
            ("missing notin (db)", true),
            ("app notin (web,db)", false),
            ("tier", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            (
                "app=web,tier in (front,back),!missing,corral.dev/node=n1",
                true,
            ),
            ("app=web,tier=back", false),
        ] {
            let parsed = LabelSelector::parse(selector).unwrap();
            assert_eq!(parsed.matches(&l), expected, "{selector}");
        }
    }

    #[test]
    fn malformed_selectors_are_refused() {
        for selector in [
            "app in (web",
            "app in web)",
            "app (web)",
            "a=b=c",
            "=web",
            "!",
            "app=we b",
        ] {
            assert!(LabelSelector::parse(selector).is_err(), "{selector}");
        }
        assert!(LabelSelector::parse(&"a,".repeat(200)).is_err());
        assert!(FieldSelector::parse("metadata.name").is_err());
        assert!(FieldSelector::parse("metadata..name=x").is_err());
    }

    #[test]
    fn field_selectors() {
        let object = serde_json::json!({"spec": {"nodeName": "n1"}});
        let f = FieldSelector::parse("metadata.name=a,metadata.namespace!=kube-system").unwrap();
        assert!(f.metadata_only());
        assert!(f.matches("default", "a", &|| unreachable!()));
        assert!(!f.matches("kube-system", "a", &|| unreachable!()));
        let f = FieldSelector::parse("spec.nodeName==n1").unwrap();
        assert!(!f.metadata_only());
        assert!(f.matches("x", "y", &|| object.clone()));
        let f = FieldSelector::parse("spec.nodeName=n2").unwrap();
        assert!(!f.matches("x", "y", &|| object.clone()));
    }
}
