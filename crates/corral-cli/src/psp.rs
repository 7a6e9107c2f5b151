//! `corral psp`: the PodSecurityPolicy → Pod Security Admission migration.
//! `map`: each PSP's Pod Security Standards level, field by field.

use clap::{Args, Subcommand, ValueEnum};
use corral_core::model::psp::PodSecurityPolicy;
use corral_core::model::{Model, Resource};
use corral_psp::{
    chosen, denials, grants, map_psp, mutate, usable, Grant, Mutation, PspMapping, Verdict,
};
use corral_pss::{Level, Version};
use serde::Serialize;

use crate::cli::{CommonArgs, LoadArgs};
use crate::output::{self, Status};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Args)]
pub struct PspArgs {
    #[command(subcommand)]
    pub action: PspAction,
}

#[derive(Subcommand)]
pub enum PspAction {
    /// Each PodSecurityPolicy's level, the fields that set it, what it
    /// mutates, and the controls Pod Security Standards cannot express; and
    /// for each workload, the PSPs its service account may use (RBAC) and
    /// the one the admission controller picked.
    Map {
        #[command(flatten)]
        load: LoadArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

pub fn run(args: &PspArgs, common: &CommonArgs) -> Result<Status, String> {
    match &args.action {
        PspAction::Map { load, format } => {
            let loaded = output::load(load, common);
            let mut diagnostics = loaded.diagnostics;
            let (model, errors) = Model::build(loaded.objects, &load.template_paths());
            diagnostics.extend(errors);
            let mappings: Vec<PspMapping> = model
                .iter()
                .filter_map(|(_, r)| match r {
                    Resource::PodSecurityPolicy(psp) => Some(map_psp(psp)),
                    _ => None,
                })
                .collect();
            let workloads = workload_access(&model, &mappings);
            let text = match format {
                Format::Text => render(&mappings, &workloads),
                Format::Json => {
                    let mut text = serde_json::to_string_pretty(
                        &serde_json::json!({ "psps": mappings, "workloads": workloads }),
                    )
                    .map_err(|e| e.to_string())?;
                    text.push('\n');
                    text
                }
            };
            output::write_report(common, &text)?;
            output::print_diagnostics(&diagnostics, common);
            Ok(output::input_status(&diagnostics))
        }
    }
}

#[derive(Serialize)]
struct Denied {
    psp: String,
    reasons: Vec<String>,
}

/// A workload and the PSPs it may use.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkloadAccess {
    kind: String,
    namespace: String,
    name: String,
    file: String,
    line: u32,
    service_account: String,
    /// The PSPs its service account may use, by name.
    usable: Vec<String>,
    /// The one the admission controller picks: among the usable PSPs that
    /// admit the pod (after their own mutations), one that leaves the pod
    /// unchanged first, then by name; `None` when none admits it.
    psp: Option<String>,
    /// The usable PSPs that do not admit it, and why.
    denied: Vec<Denied>,
    /// How each grant reaches the service account.
    grants: Vec<Grant>,
    /// The strictest Pod Security Standards level (latest) its pods meet
    /// as written, and with what `psp` injected.
    level_as_written: Level,
    level_with_psp: Level,
    /// Its pods meet a stricter level only thanks to the PSP's mutations:
    /// without PSP they lose them.
    relies_on_mutation: bool,
    /// The fields `psp` sets on its pods (relative to the pod spec).
    mutations: Vec<Mutation>,
}

fn workload_access(model: &Model, mappings: &[PspMapping]) -> Vec<WorkloadAccess> {
    let names: Vec<String> = mappings.iter().map(|m| m.name.clone()).collect();
    let psps: Vec<(&str, &PodSecurityPolicy)> = model
        .iter()
        .filter_map(|(o, r)| match r {
            Resource::PodSecurityPolicy(p) => Some((o.name.as_deref().unwrap_or(""), p.as_ref())),
            _ => None,
        })
        .collect();
    model
        .workloads()
        .map(|(object, template)| {
            let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
            let account = template
                .spec
                .service_account_name
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "default".into());
            let grants = grants(model, &namespace, &account);
            let usable: Vec<&str> = usable(&grants, &names);
            // What each usable PSP would do to the pod, and whether it
            // admits the result.
            let mut outcomes = Vec::new();
            let mut denied = Vec::new();
            for name in &usable {
                let Some((_, policy)) = psps.iter().find(|(n, _)| n == name) else {
                    continue;
                };
                let (mutated, mutations) = mutate(policy, &template.spec);
                let reasons = denials(policy, &mutated);
                if reasons.is_empty() {
                    outcomes.push((*name, mutated, mutations));
                } else {
                    denied.push(Denied {
                        psp: name.to_string(),
                        reasons,
                    });
                }
            }
            let candidates: Vec<(&str, bool)> = outcomes
                .iter()
                .map(|(n, _, m)| (*n, !m.is_empty()))
                .collect();
            let psp = chosen(&candidates).map(str::to_string);
            let (mutated, mutations) = outcomes
                .into_iter()
                .find(|(n, _, _)| Some(*n) == psp.as_deref())
                .map(|(_, spec, mutations)| (spec, mutations))
                .unwrap_or_else(|| (template.spec.clone(), Vec::new()));
            let level_as_written =
                corral_pss::strictest_level(&template.metadata, &template.spec, &Version::Latest);
            let level_with_psp =
                corral_pss::strictest_level(&template.metadata, &mutated, &Version::Latest);
            WorkloadAccess {
                level_as_written,
                level_with_psp,
                relies_on_mutation: level_with_psp > level_as_written,
                mutations,
                denied,
                kind: object.kind.clone(),
                name: object.name.clone().unwrap_or_default(),
                file: object.file.trim_start_matches("./").to_string(),
                line: object.pos.line,
                service_account: account,
                psp,
                usable: usable.iter().map(|s| s.to_string()).collect(),
                namespace,
                grants,
            }
        })
        .collect()
}

fn render(mappings: &[PspMapping], workloads: &[WorkloadAccess]) -> String {
    let mut out = String::new();
    if mappings.is_empty() {
        out.push_str("no PodSecurityPolicy found\n");
    }
    for m in mappings {
        out.push_str(&format!(
            "PodSecurityPolicy {}: {}{}\n",
            m.name,
            m.level.as_str(),
            if m.mutating { " (mutating)" } else { "" }
        ));
        if !m.limiting.is_empty() {
            out.push_str(&format!("  limited by {}\n", m.limiting.join(", ")));
        }
        for f in &m.fields {
            let shown = f.value != "unset" || f.mutates.is_some() || f.lost_control.is_some();
            if !shown {
                continue;
            }
            let level = match f.verdict {
                Verdict::Level(level) => level.as_str(),
                Verdict::NoOpinion => "no opinion",
            };
            out.push_str(&format!("  {:<58} {:<12} {}\n", f.field, level, f.value));
            if let Some(mutation) = &f.mutates {
                out.push_str(&format!("  {:<58} {:<12} mutates: {mutation}\n", "", ""));
            }
            if let Some(lost) = &f.lost_control {
                out.push_str(&format!("  {:<58} {:<12} lost with PSP: {lost}\n", "", ""));
            }
        }
        out.push('\n');
    }
    if !mappings.is_empty() {
        for w in workloads {
            out.push_str(&format!(
                "{} {}/{} ({}:{}) as {}: {}\n",
                w.kind,
                w.namespace,
                w.name,
                w.file,
                w.line,
                w.service_account,
                match (&w.psp, w.usable.is_empty()) {
                    (_, true) => "may use no PodSecurityPolicy".to_string(),
                    (Some(psp), false) =>
                        format!("admitted by {psp} (may use {})", w.usable.join(", ")),
                    (None, false) => format!(
                        "no PodSecurityPolicy admits it (may use {})",
                        w.usable.join(", ")
                    ),
                }
            ));
            for d in &w.denied {
                out.push_str(&format!(
                    "  {} denies it: {}\n",
                    d.psp,
                    d.reasons.join("; ")
                ));
            }
            if w.relies_on_mutation {
                out.push_str(&format!(
                    "  relies on the PSP's mutations: {} as written, {} with them; set {}\n",
                    w.level_as_written.as_str(),
                    w.level_with_psp.as_str(),
                    w.mutations
                        .iter()
                        .map(|m| format!("{}: {}", m.field, m.value))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    out
}
