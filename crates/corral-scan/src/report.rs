//! The reporters: text (like rustc: the source line and a caret), JSON,
//! SARIF 2.1.0 for GitHub code scanning, GitHub workflow commands plus the
//! step summary, a Markdown PR comment, and JUnit XML.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use corral_core::safe;
use serde_json::json;

use crate::baseline::Accepted;
use crate::rule::{RuleMeta, Severity};
use crate::{rules, Finding};
use corral_core::lines::Lines;

/// GitHub keeps at most 25,000 results per SARIF run.
pub const SARIF_RESULT_LIMIT: usize = 25_000;
/// GitHub shows at most 10 error and 10 warning annotations per step.
pub const GITHUB_ANNOTATIONS: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    New,
    Baselined,
    Suppressed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Baselined => "baselined",
            Status::Suppressed => "suppressed",
        }
    }
}

/// A scan's findings with their status, ready to report.
pub struct Outcome<'a> {
    pub findings: &'a [Finding],
    pub status: Vec<Status>,
    pub stale: Vec<&'a Accepted>,
    pub fail_on: Severity,
    pub show_suppressed: bool,
    /// Input that could not be read (the scan exits 2): each report says
    /// so, so that no upload looks like a clean run.
    pub input_errors: Vec<&'a corral_core::Diagnostic>,
}

impl<'a> Outcome<'a> {
    pub fn new(
        findings: &'a [Finding],
        baselined: &[bool],
        stale: Vec<&'a Accepted>,
        fail_on: Severity,
    ) -> Outcome<'a> {
        let status = findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if f.suppressed.is_some() {
                    Status::Suppressed
                } else if baselined.get(i).copied().unwrap_or(false) {
                    Status::Baselined
                } else {
                    Status::New
                }
            })
            .collect();
        Outcome {
            findings,
            status,
            stale,
            fail_on,
            show_suppressed: false,
            input_errors: Vec::new(),
        }
    }

    /// The findings to show: new ones, and suppressed and baselined ones
    /// with `show_suppressed`.
    pub fn shown(&self) -> impl Iterator<Item = (&Finding, Status)> {
        self.findings
            .iter()
            .zip(self.status.iter().copied())
            .filter(|(_, s)| *s == Status::New || self.show_suppressed)
    }

    pub fn new_findings(&self) -> impl Iterator<Item = &Finding> {
        self.shown()
            .filter(|(_, s)| *s == Status::New)
            .map(|(f, _)| f)
    }

    /// Whether a new finding reaches the `fail_on` severity.
    pub fn fails(&self) -> bool {
        self.findings
            .iter()
            .zip(&self.status)
            .any(|(f, s)| *s == Status::New && f.severity >= self.fail_on)
    }

    fn count(&self, status: Status) -> usize {
        self.status.iter().filter(|s| **s == status).count()
    }

    /// `12 new findings (2 critical, 5 high, 3 medium, 2 low); 3 suppressed, 5 baselined`
    pub fn summary(&self) -> String {
        let mut by: BTreeMap<Severity, usize> = BTreeMap::new();
        for f in self.new_findings_all() {
            *by.entry(f.severity).or_default() += 1;
        }
        let total: usize = by.values().sum();
        let parts: Vec<String> = by
            .iter()
            .rev()
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect();
        let mut text = format!(
            "{total} new finding{}{}",
            if total == 1 { "" } else { "s" },
            if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(", "))
            }
        );
        let (suppressed, baselined) = (
            self.count(Status::Suppressed),
            self.count(Status::Baselined),
        );
        if suppressed + baselined > 0 {
            let _ = write!(text, "; {suppressed} suppressed, {baselined} baselined");
        }
        if !self.stale.is_empty() {
            let _ = write!(text, "; {} stale baseline entries", self.stale.len());
        }
        text
    }

    fn new_findings_all(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .zip(&self.status)
            .filter(|(_, s)| **s == Status::New)
            .map(|(f, _)| f)
    }
}

fn relative(file: &str) -> &str {
    file.trim_start_matches("./")
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The width of the token at 1-based `column` of `line`: a key up to its
/// colon, or a value up to the end of the line or a comment.
fn token_width(line: &str, column: u32) -> usize {
    let rest: String = line
        .chars()
        .skip(column.saturating_sub(1) as usize)
        .collect();
    let end = rest
        .find(": ")
        .or_else(|| rest.strip_suffix(':').map(|r| r.len()))
        .or_else(|| rest.find(" #"))
        .unwrap_or(rest.trim_end().len());
    rest[..end].chars().count().max(1)
}

/// The part of a long line (minified JSON) around `column`, with the
/// column within it: at most 60 characters before and 100 after.
fn window(line: &str, column: u32) -> (String, u32) {
    const BEFORE: usize = 60;
    const AFTER: usize = 100;
    let at = column.saturating_sub(1) as usize;
    let start = at.saturating_sub(BEFORE);
    let mut text: String = line.chars().skip(start).take(at - start + AFTER).collect();
    let mut column = (at - start + 1) as u32;
    if start > 0 {
        text.insert(0, '…');
        column += 1;
    }
    if line.chars().nth(at + AFTER).is_some() {
        text.push('…');
    }
    (text, column)
}

/// rustc-style text: each finding with its source line and a caret.
pub fn text(outcome: &Outcome, source: &mut dyn FnMut(&str) -> Option<Arc<str>>) -> String {
    let mut out = String::new();
    let mut texts: BTreeMap<Arc<str>, Option<Lines>> = BTreeMap::new();
    for (f, status) in outcome.shown() {
        let text = texts
            .entry(f.file.clone())
            .or_insert_with(|| source(&f.file).map(Lines::new));
        let tag = match status {
            Status::New => String::new(),
            other => format!(" ({})", other.as_str()),
        };
        // Names and file names from input stay on their line: none can
        // forge a finding's or the summary's line.
        let _ = writeln!(
            out,
            "{}[{}] {}: {}{tag}",
            f.severity.as_str(),
            f.rule.id,
            f.rule.name,
            safe::one_line(&f.message)
        );
        let _ = writeln!(
            out,
            "  --> {}:{}:{}",
            safe::one_line(relative(&f.file)),
            f.line,
            f.column
        );
        let line = text.as_ref().and_then(|t| t.line(f.line as usize));
        let pad = " ".repeat(f.line.to_string().len());
        if let Some((line, column)) = line.map(|l| window(l, f.column)) {
            let line = line.as_str();
            let caret_pad: String = line
                .chars()
                .take(column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{} | {line}", f.line);
            let _ = writeln!(
                out,
                "{pad} | {caret_pad}{}",
                "^".repeat(token_width(line, f.column))
            );
        }
        let _ = writeln!(out, "{pad} = {}", safe::one_line(&f.object_label()));
        let _ = writeln!(out, "{pad} = fix: {}", safe::one_line(&f.fix));
        if let Some(reason) = &f.suppressed {
            let _ = writeln!(out, "{pad} = suppressed by {reason}");
        }
        out.push('\n');
    }
    for stale in &outcome.stale {
        let _ = writeln!(
            out,
            "{}",
            safe::one_line(&format!(
                "stale baseline entry: {} on {} in {} ({}) no longer occurs",
                stale.rule, stale.object, stale.file, stale.field
            ))
        );
    }
    let _ = writeln!(out, "{}", outcome.summary());
    out
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFinding<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    rule_name: &'static str,
    status: &'static str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    stale_baseline_entries: &'a [&'a Accepted],
    summary: JsonSummary,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSummary {
    new: usize,
    suppressed: usize,
    baselined: usize,
    fail_on: Severity,
    failed: bool,
}

/// JSON: every finding with its status, the stale baseline entries, and
/// counts.
pub fn json(outcome: &Outcome) -> String {
    let mut text = Vec::new();
    write_json(outcome, &mut text).expect("writing to memory");
    String::from_utf8(text).expect("serde_json writes UTF-8")
}

/// [`json`], written to `out` as it is serialized.
pub fn write_json(outcome: &Outcome, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let report = JsonReport {
        version: 1,
        findings: outcome
            .shown()
            .map(|(finding, status)| JsonFinding {
                finding,
                rule_name: finding.rule.name,
                status: status.as_str(),
            })
            .collect(),
        stale_baseline_entries: &outcome.stale,
        summary: JsonSummary {
            new: outcome.count(Status::New),
            suppressed: outcome.count(Status::Suppressed),
            baselined: outcome.count(Status::Baselined),
            fail_on: outcome.fail_on,
            failed: outcome.fails(),
        },
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    out.write_all(b"\n")
}

fn sarif_rule(rule: &RuleMeta) -> serde_json::Value {
    json!({
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": first_paragraph(rule.doc)},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "helpUri": format!("https://github.com/corral-security/corral/blob/main/docs/rules/{}.md", rule.name),
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {
            "tags": ["security", rule.family.as_str()],
            "precision": "high",
            "problem.severity": match rule.severity { Severity::Low => "recommendation", Severity::Medium => "warning", _ => "error" },
            "security-severity": rule.severity.score(),
        },
    })
}

/// The text under "## What it does", for SARIF's full description.
fn first_paragraph(doc: &str) -> String {
    let body = doc.split("## What it does").nth(1).unwrap_or(doc);
    let end = body.find("\n## ").unwrap_or(body.len());
    body[..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(1000)
        .collect()
}

/// SARIF 2.1.0 that GitHub code scanning accepts: repository-relative URIs
/// under `%SRCROOT%`, regions on the field, content fingerprints, rules
/// with help and security severity; the most severe 25,000 results kept
/// and the rest counted in a notification.
/// `root`: the repository's root (URIs are relative to it); `prefix`: the
/// working directory within it (`deploy/`), which the scanned paths are
/// relative to.
pub fn sarif(outcome: &Outcome, root: &str, prefix: &str) -> String {
    let all = rules::all();
    let index: BTreeMap<&str, usize> = all
        .iter()
        .enumerate()
        .map(|(i, r)| (r.meta().id, i))
        .collect();
    let mut shown: Vec<(&Finding, Status)> = outcome.shown().collect();
    // The most severe first when over the limit; stable otherwise.
    shown.sort_by_key(|f| std::cmp::Reverse(f.0.severity));
    let dropped = shown.len().saturating_sub(SARIF_RESULT_LIMIT);
    shown.truncate(SARIF_RESULT_LIMIT);
    shown.sort_by(|a, b| {
        (&a.0.file, a.0.line, a.0.column, a.0.rule.id).cmp(&(
            &b.0.file,
            b.0.line,
            b.0.column,
            b.0.rule.id,
        ))
    });
    // Each result is written as it is built: a tree of every result at once
    // would take several times the memory of the text.
    let results: Vec<String> = shown
        .iter()
        .map(|(f, status)| {
            let mut result = json!({
                "ruleId": f.rule.id,
                "ruleIndex": index.get(f.rule.id),
                "level": level(f.severity),
                "message": {"text": format!("{}: {}. Fix: {}.", f.object_label(), f.message, f.fix)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": repository_uri(&f.file, root, prefix), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    },
                    "logicalLocations": [{"name": f.name.clone().unwrap_or_default(), "kind": "object",
                        "fullyQualifiedName": format!("{}/{}", f.kind, f.namespace.as_deref().map(|n| format!("{n}/")).unwrap_or_default() + f.name.as_deref().unwrap_or(""))}],
                }],
                "partialFingerprints": {
                    "primaryLocationLineHash": f.fingerprint,
                    "corralFingerprint/v1": f.fingerprint,
                },
                "properties": {"field": f.field, "security-severity": f.severity.score()},
            });
            if *status != Status::New {
                let justification = match status {
                    Status::Suppressed => f.suppressed.clone().unwrap_or_default(),
                    _ => "in the baseline".into(),
                };
                result["suppressions"] = json!([{"kind": "external", "justification": justification}]);
            }
            result.to_string()
        })
        .collect();
    let mut notifications = Vec::new();
    if dropped > 0 {
        notifications.push(json!({
            "level": "warning",
            "message": {"text": format!("{dropped} less severe results were left out: GitHub keeps at most {SARIF_RESULT_LIMIT} per run")},
        }));
    }
    for error in &outcome.input_errors {
        let mut notification = json!({
            "level": "error",
            "message": {"text": error.message},
        });
        let mut physical = json!({"artifactLocation": {
            "uri": repository_uri(&error.file, root, prefix), "uriBaseId": "%SRCROOT%"}});
        if let Some(pos) = error.pos {
            physical["region"] = json!({"startLine": pos.line, "startColumn": pos.col});
        }
        notification["locations"] = json!([{"physicalLocation": physical}]);
        notifications.push(notification);
    }
    const RESULTS: &str = "\"corral:results\"";
    let mut log = sarif_log(
        all.iter().map(|r| sarif_rule(r.meta())).collect(),
        "corral/scan/",
        root,
        notifications,
        json!("corral:results"),
    );
    if !outcome.input_errors.is_empty() {
        log["runs"][0]["invocations"][0]["executionSuccessful"] = json!(false);
    }
    let text = serde_json::to_string_pretty(&log).unwrap_or_default();
    let array = format!("[\n{}\n]", results.join(",\n"));
    let mut text = text.replacen(RESULTS, &array, 1);
    text.push('\n');
    text
}

/// A SARIF 2.1.0 log of one run of Corral: URIs relative to `root` under
/// `%SRCROOT%`, the rules, the automation ID GitHub groups alerts by.
fn sarif_log(
    rules: Vec<serde_json::Value>,
    automation: &str,
    root: &str,
    notifications: Vec<serde_json::Value>,
    results: serde_json::Value,
) -> serde_json::Value {
    let root = if root.ends_with('/') {
        root.to_string()
    } else {
        format!("{root}/")
    };
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "corral",
                "informationUri": "https://github.com/corral-security/corral",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "automationDetails": {"id": automation},
            // Columns count Unicode code points (corral_core::lines).
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {"%SRCROOT%": {"uri": format!("file://{}", safe::uri_path(&root))}},
            "invocations": [{"executionSuccessful": true, "toolExecutionNotifications": notifications}],
            "results": results,
        }],
    })
}

/// The attack path rule a path's target falls under: cluster-admin, a
/// node, or a cloud administrator (`None`: another target).
fn path_rule(target: &str) -> Option<&'static RuleMeta> {
    use crate::rules::paths::{ReachesCloudAdmin, ReachesClusterAdmin, ReachesNode};
    if target.starts_with("node/") {
        Some(&ReachesNode::META)
    } else if ["aws/", "gcp/", "azure/"]
        .iter()
        .any(|p| target.starts_with(p))
    {
        Some(&ReachesCloudAdmin::META)
    } else if target.starts_with("permissions/") || target.starts_with("group/") {
        Some(&ReachesClusterAdmin::META)
    } else {
        None
    }
}

/// `corral paths` as SARIF: a result per path to a critical target, under
/// the attack path rule of its target, at its source's manifest line, with
/// its hops as a code flow (each at its evidence: a manifest line or a
/// cloud file). Paths to other targets (service account tokens) are left
/// out and counted in a notification.
pub fn sarif_paths(
    graph: &corral_paths::Graph,
    paths: &[corral_paths::query::Path],
    root: &str,
    prefix: &str,
) -> String {
    use sha2::{Digest, Sha256};
    let rules = [
        &crate::rules::paths::ReachesClusterAdmin::META,
        &crate::rules::paths::ReachesNode::META,
        &crate::rules::paths::ReachesCloudAdmin::META,
    ];
    let location = |evidence: &corral_paths::Evidence| {
        let file = evidence.file.as_ref()?;
        let mut physical = json!({"artifactLocation": {
            "uri": repository_uri(file, root, prefix), "uriBaseId": "%SRCROOT%"}});
        if let Some(line) = evidence.line {
            physical["region"] = json!({"startLine": line});
        }
        Some(physical)
    };
    let mut left_out = 0;
    let mut results = Vec::new();
    for path in paths {
        let Some(rule) = path_rule(&path.target) else {
            left_out += 1;
            continue;
        };
        let index = rules.iter().position(|r| r.id == rule.id);
        let source = corral_paths::query::source_evidence(graph, path);
        let steps: Vec<&str> = path.hops.iter().map(|h| h.edge).collect();
        let fix = path
            .hops
            .iter()
            .find(|h| !h.remediation.is_empty())
            .map(|h| format!(" Fix: {} ({}).", h.remediation, h.edge))
            .unwrap_or_default();
        let flow: Vec<serde_json::Value> = path
            .hops
            .iter()
            .map(|hop| {
                let mut at = json!({"message": {"text": format!(
                    "{} -{}-> {}: {} ({}; MITRE {})",
                    hop.from, hop.edge, hop.to, hop.action, hop.evidence.detail, hop.mitre
                )}});
                if let Some(physical) = location(&hop.evidence) {
                    at["physicalLocation"] = physical;
                }
                json!({"location": at})
            })
            .collect();
        let mut digest = Sha256::new();
        digest.update(format!(
            "{}\0{}\0{}\0{}",
            rule.id,
            path.source,
            path.target,
            steps.join(",")
        ));
        let fingerprint: String = digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut result = json!({
            "ruleId": rule.id,
            "ruleIndex": index,
            "level": level(rule.severity),
            "message": {"text": format!(
                "{} reaches {} in {} hop(s): {}.{fix}",
                path.source, path.target, path.hops.len(), steps.join(" → ")
            )},
            "codeFlows": [{"threadFlows": [{"locations": flow}]}],
            "partialFingerprints": {"corralPath/v1": fingerprint},
            "properties": {"security-severity": rule.severity.score()},
        });
        if let Some(physical) = source.as_ref().and_then(location) {
            result["locations"] = json!([{"physicalLocation": physical}]);
        }
        results.push(result);
    }
    let mut notifications = Vec::new();
    if left_out > 0 {
        notifications.push(json!({
            "level": "note",
            "message": {"text": format!("{left_out} path(s) to service account tokens are not SARIF results; see --format text or json")},
        }));
    }
    let log = sarif_log(
        rules.iter().map(|r| sarif_rule(r)).collect(),
        "corral/paths/",
        root,
        notifications,
        json!(results),
    );
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

/// A scanned path as a URI reference relative to the repository's root:
/// absolute paths lose the root, relative ones gain the working directory's
/// prefix; `.` and `..` are resolved; each segment is percent-encoded
/// ([`safe::uri_path`]), so any file name gives a valid RFC 3986 reference.
pub fn repository_uri(file: &str, root: &str, prefix: &str) -> String {
    let joined = match file.strip_prefix(root) {
        Some(inside) => inside.to_string(),
        None if file.starts_with('/') => file.to_string(),
        None => format!("{prefix}{file}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    safe::uri_path(&parts.join("/"))
}

/// Escape a workflow command's message (`%`, CR, LF), after showing the
/// other control characters escaped ([`safe::terminal`]).
fn escape_data(text: &str) -> String {
    safe::terminal(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command's property (also `:` and `,`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub workflow commands: the first 10 errors and 10 warnings (GitHub
/// drops the rest), most severe first; the full list goes to the step
/// summary (`markdown`).
pub fn github(outcome: &Outcome) -> String {
    let mut out = String::new();
    for error in &outcome.input_errors {
        let (line, col) = error.pos.map_or((1, 1), |p| (p.line, p.col));
        let _ = writeln!(
            out,
            "::error file={},line={line},col={col},title=corral: input not read::{}",
            escape_property(relative(&error.file)),
            escape_data(&error.message),
        );
    }
    let mut new: Vec<&Finding> = outcome.new_findings().collect();
    new.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then((&a.file, a.line).cmp(&(&b.file, b.line)))
    });
    let (mut errors, mut warnings) = (0, 0);
    for f in &new {
        let command = match f.severity {
            Severity::Critical | Severity::High if errors < GITHUB_ANNOTATIONS => {
                errors += 1;
                "error"
            }
            Severity::Medium | Severity::Low if warnings < GITHUB_ANNOTATIONS => {
                warnings += 1;
                "warning"
            }
            _ => continue,
        };
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},title={}::{}",
            escape_property(relative(&f.file)),
            f.line,
            f.column,
            escape_property(&format!("{} {}", f.rule.id, f.rule.summary)),
            escape_data(&format!(
                "{}: {}. Fix: {}.",
                f.object_label(),
                f.message,
                f.fix
            )),
        );
    }
    let left = new.len() - errors - warnings;
    if left > 0 {
        let _ = writeln!(
            out,
            "::notice::{left} more findings are listed in the step summary"
        );
    }
    out
}

/// A Markdown report for a PR comment or the step summary: counts by
/// severity, new findings first, everything else folded.
pub fn markdown(outcome: &Outcome) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Corral scan: {}\n", outcome.summary());
    let mut by: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in outcome.new_findings() {
        *by.entry(f.severity).or_default() += 1;
    }
    if !by.is_empty() {
        let _ = writeln!(out, "| severity | new findings |\n| --- | --- |");
        for (severity, n) in by.iter().rev() {
            let _ = writeln!(out, "| {} | {n} |", severity.as_str());
        }
        out.push('\n');
    }
    let row = |f: &Finding| {
        format!(
            "| {} | `{}` {} | {} | {} | {} |\n",
            f.severity.as_str(),
            f.rule.id,
            f.rule.name,
            safe::markdown_code(&format!("{}:{}", relative(&f.file), f.line)),
            safe::markdown_cell(&f.message),
            safe::markdown_cell(&f.fix),
        )
    };
    let header = "| severity | rule | where | what | fix |\n| --- | --- | --- | --- | --- |\n";
    let mut new: Vec<&Finding> = outcome.new_findings().collect();
    new.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if !new.is_empty() {
        let _ = writeln!(
            out,
            "<details open><summary>New findings ({})</summary>\n\n{header}{}\n</details>\n",
            new.len(),
            new.iter().map(|f| row(f)).collect::<String>()
        );
    }
    let others: Vec<(&Finding, Status)> = outcome
        .findings
        .iter()
        .zip(outcome.status.iter().copied())
        .filter(|(_, s)| *s != Status::New)
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Suppressed and baselined ({})</summary>\n\n{header}{}\n</details>",
            others.len(),
            others.iter().map(|(f, _)| row(f)).collect::<String>()
        );
    }
    out
}

/// JUnit XML: one test case per rule and object, failing for a new finding.
pub fn junit(outcome: &Outcome) -> String {
    let new: Vec<&Finding> = outcome.new_findings().collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"corral\" tests=\"{}\" failures=\"{}\">",
        new.len(),
        new.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"corral scan\" tests=\"{}\" failures=\"{}\">",
        new.len(),
        new.len()
    );
    for f in new {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{} {}\" file=\"{}\" line=\"{}\">\n      <failure type=\"{}\" message=\"{}\">{}:{}:{}: {}. Fix: {}.</failure>\n    </testcase>",
            safe::xml(f.rule.id),
            safe::xml(f.rule.name),
            safe::xml(&f.object_label()),
            safe::xml(relative(&f.file)),
            f.line,
            f.severity.as_str(),
            safe::xml(&f.message),
            safe::xml(relative(&f.file)),
            f.line,
            f.column,
            safe::xml(&f.message),
            safe::xml(&f.fix),
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Markdown documentation of a rule, for `docs/rules/<name>.md`.
pub fn rule_doc(rule: &RuleMeta) -> String {
    format!(
        "# {} `{}`\n\n{}\n\n- Family: {}\n- Severity: {}\n\n{}\n",
        rule.id,
        rule.name,
        rule.summary,
        rule.family.as_str(),
        rule.severity.as_str(),
        rule.doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carets_cover_the_key() {
        assert_eq!(token_width("    privileged: true", 5), 10);
        assert_eq!(token_width("  - image: nginx:latest", 5), 5);
        assert_eq!(token_width("  securityContext:", 3), 15);
        assert_eq!(token_width("    image: nginx", 12), 5);
    }

    #[test]
    fn sarif_keeps_the_most_severe_25000_results_and_counts_the_rest() {
        let name: Arc<str> = Arc::from("pod.yaml");
        let (objects, _) = corral_core::load_bytes(
            &name,
            b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n",
            &corral_core::Limits::default(),
            &|_| {},
        );
        let rule = &crate::rules::pss::Privileged::META;
        let findings: Vec<Finding> = (0..SARIF_RESULT_LIMIT + 10)
            .map(|i| {
                let mut f = Finding::new(rule, &objects[0], "spec", "m".into(), "f".into());
                f.fingerprint = format!("{i:032x}");
                // The last ten are the only critical ones.
                f.severity = if i >= SARIF_RESULT_LIMIT {
                    Severity::Critical
                } else {
                    Severity::Low
                };
                f
            })
            .collect();
        let outcome = Outcome::new(&findings, &[], Vec::new(), Severity::High);
        let log: serde_json::Value = serde_json::from_str(&sarif(&outcome, "/repo", "")).unwrap();
        let run = &log["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), SARIF_RESULT_LIMIT);
        assert_eq!(results.iter().filter(|r| r["level"] == "error").count(), 10);
        let note = &run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"];
        assert!(
            note.as_str()
                .unwrap()
                .starts_with("10 less severe results were left out"),
            "{note}"
        );
    }

    #[test]
    fn uris_are_relative_to_the_repository() {
        assert_eq!(
            repository_uri("./web.yaml", "/repo", "deploy/"),
            "deploy/web.yaml"
        );
        assert_eq!(
            repository_uri("../base/a.yaml", "/repo", "deploy/prod/"),
            "deploy/base/a.yaml"
        );
        assert_eq!(
            repository_uri("/repo/deploy/a.yaml", "/repo/", ""),
            "deploy/a.yaml"
        );
        assert_eq!(repository_uri("web.yaml", "/repo", ""), "web.yaml");
    }

    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(escape_data("1\n2"), "1%0A2");
    }
}
