//! `corral pss`: the Pod Security Standards, as the API server evaluates
//! them, for every pod-bearing object, with the namespace labels to apply.

use std::fmt::Write;

use clap::{Args, ValueEnum};
use corral_core::model::Model;
use corral_core::{load_bytes, Limits, Severity};
use corral_pss::namespace::Config;
use corral_pss::report::{analyze, Options, Report};
use corral_pss::{Level, Version, CHECK_IDS};
use serde_json::json;

use crate::cli::{CommonArgs, LoadArgs};
use crate::output::{self, Status};

#[derive(Args)]
pub struct PssArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Evaluate every object at this level; exit 1 if any is not allowed.
    /// Without it, each object is placed at the strictest level it satisfies.
    #[arg(long, value_parser = parse_level)]
    pub level: Option<Level>,
    /// Policy version: `latest` or `v1.N` (a version newer than v1.37 is evaluated as v1.37).
    #[arg(long, default_value = "latest", value_parser = parse_version)]
    pub version: Version,
    /// A PodSecurityConfiguration (or AdmissionConfiguration) with defaults and exemptions.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Report format.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
}

fn parse_level(s: &str) -> Result<Level, String> {
    match s.parse() {
        Ok(Level::Privileged) => {
            Err("privileged allows everything; use baseline or restricted".into())
        }
        Ok(level) => Ok(level),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn parse_version(s: &str) -> Result<Version, String> {
    s.parse()
        .map_err(|e: corral_pss::VersionError| e.to_string())
}

pub fn run(args: &PssArgs, common: &CommonArgs) -> Result<Status, String> {
    let config = match &args.config {
        Some(path) => read_config(path)?,
        None => Config::default(),
    };
    let loaded = output::load(&args.load, common, &crate::snapshot::PSS)?;
    let mut diagnostics = loaded.diagnostics;
    let (model, decode_errors) = Model::build(loaded.objects, &args.load.template_paths());
    diagnostics.extend(decode_errors);
    let report = analyze(
        &model,
        &Options {
            level: args.level,
            version: args.version.clone(),
            config,
        },
    );
    let text = match args.format {
        Format::Text => render_text(&report, args.level.is_some()),
        Format::Json => output::json(&report)?,
        Format::Sarif => json_string(&sarif(&report)),
    };
    match args.format {
        Format::Text => output::write_text_report(common, &text)?,
        Format::Json | Format::Sarif => output::write_report(common, &text)?,
    }
    output::print_diagnostics(&diagnostics, common);
    let status = output::input_status(&diagnostics);
    std::mem::forget(model);
    if status != Status::Clean {
        return Ok(status);
    }
    Ok(
        if args.level.is_some() && report.results.iter().any(|r| !r.allowed) {
            Status::Findings
        } else {
            Status::Clean
        },
    )
}

fn read_config(path: &std::path::Path) -> Result<Config, String> {
    let name = path.to_string_lossy();
    let bytes = corral_core::read_bounded(path, Limits::default().max_document_size)?;
    let (objects, diagnostics) =
        load_bytes(&name.as_ref().into(), &bytes, &Limits::default(), &|_| {});
    if let Some(d) = diagnostics.iter().find(|d| d.severity == Severity::Error) {
        return Err(format!("{}: {}", d.location(), d.message));
    }
    let object = objects
        .first()
        .ok_or_else(|| format!("{name}: no configuration found"))?;
    Config::from_node(&object.root).map_err(|e| format!("{name}: {e}"))
}

fn json_string(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn render_text(report: &Report, level_given: bool) -> String {
    use corral_core::safe::one_line;
    let mut out = String::new();
    // Names, files and messages from input stay on their line: none can
    // forge a verdict's line.
    for r in &report.results {
        let who = one_line(&match (&r.namespace, &r.name) {
            (Some(ns), Some(name)) => format!("{} {ns}/{name}", r.kind),
            (None, Some(name)) => format!("{} {name}", r.kind),
            _ => r.kind.clone(),
        })
        .into_owned();
        let location = one_line(&format!("{}:{}:{}", r.file, r.line, r.column)).into_owned();
        if let Some(exempt) = &r.exempt {
            let _ = writeln!(out, "{location}: {who}: exempt ({exempt})");
            continue;
        }
        match &r.message {
            None => {
                let _ = writeln!(
                    out,
                    "{location}: {who}: allowed at {}:{}",
                    r.level, r.version
                );
            }
            Some(message) => {
                let strictest = if level_given {
                    String::new()
                } else {
                    format!(" [strictest: {}]", r.strictest)
                };
                let _ = writeln!(out, "{location}: {who}: {}{strictest}", one_line(message));
                for v in &r.violations {
                    let detail = if v.detail.is_empty() {
                        v.reason.clone()
                    } else {
                        format!("{}: {}", v.reason, v.detail)
                    };
                    let _ = writeln!(
                        out,
                        "  {}",
                        one_line(&format!(
                            "{}:{}:{}: {} ({})",
                            v.file, v.line, v.column, detail, v.check
                        ))
                    );
                }
            }
        }
        if let Some(ns) = &r.namespace_policy {
            for (mode, verdict) in [
                ("enforce", &ns.enforce),
                ("audit", &ns.audit),
                ("warn", &ns.warn),
            ] {
                if let Some(message) = &verdict.message {
                    let _ = writeln!(
                        out,
                        "  namespace {mode} ({}): {}",
                        verdict.policy,
                        one_line(message)
                    );
                }
            }
        }
    }
    if !report.namespaces.is_empty() {
        out.push('\n');
    }
    for ns in &report.namespaces {
        let _ = writeln!(
            out,
            "namespace {}: the strictest level its {} {} is {}{}",
            one_line(&ns.name),
            ns.workloads,
            if ns.workloads == 1 {
                "workload satisfies"
            } else {
                "workloads satisfy"
            },
            ns.strictest,
            if ns.exempt { " (exempt)" } else { "" }
        );
        for error in &ns.label_errors {
            let _ = writeln!(out, "  invalid label: {error}");
        }
        // A command to paste: every value one quoted shell word, and none
        // for a name no namespace can have (`--server=...` would be an option).
        if corral_core::safe::is_dns1123_label(&ns.name) {
            let labels: Vec<String> = ns
                .labels
                .iter()
                .map(|(k, v)| corral_core::safe::shell_word(&format!("{k}={v}")).into_owned())
                .collect();
            let _ = writeln!(
                out,
                "  kubectl label --overwrite ns {} {}",
                ns.name,
                labels.join(" ")
            );
        }
    }
    out
}

/// SARIF 2.1.0: one result per violation, at the offending field.
fn sarif(report: &Report) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = CHECK_IDS
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "shortDescription": {"text": format!("Pod Security Standards check {id}")},
                "helpUri": "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in report.results.iter().filter(|r| r.exempt.is_none()) {
        for v in &r.violations {
            let text = if v.detail.is_empty() {
                v.reason.clone()
            } else {
                format!("{} ({})", v.reason, v.detail)
            };
            results.push(json!({
                "ruleId": v.check,
                "ruleIndex": CHECK_IDS.iter().position(|id| *id == v.check),
                "level": "error",
                "message": {"text": format!("{} {}: {text} [{}:{}]", r.kind, r.name.as_deref().unwrap_or("-"), r.level, r.version)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": corral_core::safe::uri_path(v.file.trim_start_matches("./"))},
                        "region": {"startLine": v.line, "startColumn": v.column},
                    },
                }],
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "corral",
                "informationUri": "https://github.com/corral-security/corral",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            // Columns count Unicode code points (corral_core::lines).
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}
