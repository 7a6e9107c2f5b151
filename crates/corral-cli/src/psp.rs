//! `corral psp`: the PodSecurityPolicy → Pod Security Admission migration.
//! `map`: each PSP's Pod Security Standards level, field by field, and who
//! gets which. `plan`: the labels, patches and runbook.

use clap::{Args, Subcommand, ValueEnum};
use corral_core::model::Model;
use corral_psp::{plan, report, Plan};
use corral_pss::Version;

use crate::cli::{CommonArgs, LoadArgs};
use crate::output::{self, Status};

#[derive(Clone, Copy, ValueEnum)]
pub enum MapFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Emit {
    /// `labels.sh dry-run|audit|enforce`: the `kubectl label` commands.
    Labels,
    /// `namespaces/NS.yaml`: Namespace manifests with the labels.
    Namespaces,
    /// `patches/NS/KIND-NAME.yaml`: strategic-merge patches of workloads.
    Patches,
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
        #[arg(long, value_enum, default_value_t = MapFormat::Text)]
        format: MapFormat,
    },
    /// The migration plan: per namespace, the Pod Security Admission labels
    /// that admit every workload (pinned), the patches for workloads that
    /// relied on PSP mutations, and the controls PSA loses. `--format
    /// markdown` is a runbook; `--emit` writes files into `-o DIR`.
    Plan {
        #[command(flatten)]
        load: LoadArgs,
        /// The Kubernetes version to migrate on (`v1.N`): levels are
        /// evaluated at it and the labels pin it. Default: the newest policy
        /// version known.
        #[arg(long, value_name = "v1.N", value_parser = crate::pss::parse_version)]
        target_version: Option<Version>,
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// Write files into the directory given by `-o` instead of a report
        /// (repeat or separate with commas).
        #[arg(long, value_enum, value_delimiter = ',')]
        emit: Vec<Emit>,
    },
}

fn build(
    load: &LoadArgs,
    common: &CommonArgs,
    version: &Version,
    needs: &crate::snapshot::Needs,
) -> Result<(Plan, Vec<corral_core::Diagnostic>), String> {
    let loaded = output::load(load, common, needs)?;
    let mut diagnostics = loaded.diagnostics;
    let (model, errors) = Model::build(loaded.objects, &load.template_paths());
    diagnostics.extend(errors);
    Ok((plan(&model, version), diagnostics))
}

pub fn run(args: &PspArgs, common: &CommonArgs) -> Result<Status, String> {
    match &args.action {
        PspAction::Map { load, format } => {
            let (plan, diagnostics) =
                build(load, common, &Version::Latest, &crate::snapshot::PSP_MAP)?;
            let text = match format {
                MapFormat::Text => report::map_text(&plan),
                MapFormat::Json => output::json(&serde_json::json!({
                    "psps": plan.psps,
                    "workloads": plan.workloads,
                }))?,
            };
            match format {
                MapFormat::Json => output::write_report(common, &text)?,
                MapFormat::Text => output::write_text_report(common, &text)?,
            }
            output::print_diagnostics(&diagnostics, common);
            Ok(output::input_status(&diagnostics))
        }
        PspAction::Plan {
            load,
            target_version,
            format,
            emit,
        } => {
            let (plan, diagnostics) = build(
                load,
                common,
                target_version.as_ref().unwrap_or(&Version::Latest),
                &crate::snapshot::PSP_PLAN,
            )?;
            if emit.is_empty() {
                let text = match format {
                    PlanFormat::Text => report::plan_text(&plan),
                    PlanFormat::Json => output::json(&plan)?,
                    PlanFormat::Markdown => report::runbook(&plan),
                };
                match format {
                    PlanFormat::Json => output::write_report(common, &text)?,
                    PlanFormat::Text | PlanFormat::Markdown => {
                        output::write_text_report(common, &text)?
                    }
                }
            } else {
                let dir = common
                    .output
                    .as_deref()
                    .ok_or("--emit writes files: give the directory with -o DIR")?;
                let mut kinds = emit.clone();
                kinds.sort();
                kinds.dedup();
                let mut files = Vec::new();
                for kind in kinds {
                    match kind {
                        Emit::Labels => {
                            files.push(("labels.sh".to_string(), report::labels_script(&plan)))
                        }
                        Emit::Namespaces => files.extend(report::namespace_manifests(&plan)),
                        Emit::Patches => files.extend(report::patch_files(&plan)),
                    }
                }
                output::write_files(dir, &files, common)?;
            }
            output::print_diagnostics(&diagnostics, common);
            Ok(output::input_status(&diagnostics))
        }
    }
}
