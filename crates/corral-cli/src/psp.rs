//! `corral psp`: the PodSecurityPolicy → Pod Security Admission migration.
//! `map`: each PSP's Pod Security Standards level, field by field.

use clap::{Args, Subcommand, ValueEnum};
use corral_core::model::{Model, Resource};
use corral_psp::{map_psp, PspMapping, Verdict};

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
    /// mutates, and the controls Pod Security Standards cannot express.
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
            let text = match format {
                Format::Text => render(&mappings),
                Format::Json => {
                    let mut text =
                        serde_json::to_string_pretty(&serde_json::json!({ "psps": mappings }))
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

fn render(mappings: &[PspMapping]) -> String {
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
    out
}
