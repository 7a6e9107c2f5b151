//! `corral psp`: the PodSecurityPolicy → Pod Security Admission migration.
//! `map`: each PSP's Pod Security Standards level, field by field.

use clap::{Args, Subcommand, ValueEnum};
use corral_core::model::psp::PodSecurityPolicy;
use corral_core::model::{Model, Resource};
use corral_psp::{chosen, grants, map_psp, mutate, usable, Grant, Mutation, PspMapping, Verdict};
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
    /// The one the admission controller tries first: non-mutating first,
    /// then by name. (Whether it allows the pod is not checked yet: the
    /// controller moved on to the next one when it did not.)
    psp: Option<String>,
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
            let candidates: Vec<(&str, bool)> = usable
                .iter()
                .map(|name| {
                    let mutating = mappings.iter().any(|m| m.name == *name && m.mutating);
                    (*name, mutating)
                })
                .collect();
            let psp = chosen(&candidates).map(str::to_string);
            let policy = psps
                .iter()
                .find(|(name, _)| Some(*name) == psp.as_deref())
                .map(|(_, p)| *p);
            let (mutated, mutations) = match policy {
                Some(policy) => mutate(policy, &template.spec),
                None => (template.spec.clone(), Vec::new()),
            };
            let level_as_written =
                corral_pss::strictest_level(&template.metadata, &template.spec, &Version::Latest);
            let level_with_psp =
                corral_pss::strictest_level(&template.metadata, &mutated, &Version::Latest);
            WorkloadAccess {
                level_as_written,
                level_with_psp,
                relies_on_mutation: level_with_psp > level_as_written,
                mutations,
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
                        format!("may use {}; tried first: {psp}", w.usable.join(", ")),
                    (None, false) => String::new(),
                }
            ));
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
