//! `corral drift`: what a new recording did that the applied policies
//! (from `corral advise all`) would block.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use corral_advise::drift::{drift, Applied};
use corral_advise::netpol::inventory::Inventory;
use corral_core::model::Resource;

use crate::advise::{load_model, read_with_inventory, Recordings};
use crate::cli::CommonArgs;
use crate::output::{self, Status};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub input: Recordings,
    /// The directory `corral advise all` wrote (its advice.json and netpol/).
    #[arg(long, value_name = "DIR")]
    pub policies: PathBuf,
    /// Pods, Services and Namespaces, to check flows against netpol/.
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    pub inventory: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &DriftArgs, common: &CommonArgs) -> Result<Status, String> {
    let advice_path = args.policies.join("advice.json");
    let text = std::fs::read(&advice_path).map_err(|e| {
        format!(
            "{}: {e} (written by corral advise all)",
            advice_path.display()
        )
    })?;
    let applied: Vec<Applied> = serde_json::from_slice(&text)
        .map_err(|e| format!("{}:{}:{}: {e}", advice_path.display(), e.line(), e.column()))?;
    let (mut inputs, inventory) = read_with_inventory(&args.input, &args.inventory)?;
    let network = if let Some(model) = inventory {
        let (policy_model, diagnostics) =
            load_model(&[args.policies.join("netpol").display().to_string()]);
        inputs.diagnostics.extend(diagnostics);
        let policies: Vec<_> = policy_model
            .iter()
            .filter_map(|(_, r)| match r {
                Resource::NetworkPolicy(p) => Some(p.as_ref().clone()),
                _ => None,
            })
            .collect();
        Some((policies, Inventory::from_model(&model)))
    } else {
        None
    };
    let found = drift(
        &inputs.workloads,
        &applied,
        network.as_ref().map(|(p, i)| (p.as_slice(), i)),
    );
    let text = match args.format {
        Format::Json => output::json(&found)?,
        Format::Text => {
            let mut text: String = found
                .iter()
                .map(|d| format!("{}: {}: {}\n", d.container, d.kind, d.detail))
                .collect();
            text.push_str(&if found.is_empty() {
                "no drift: the policies allow everything recorded\n".to_string()
            } else {
                format!(
                    "{} drift finding(s): update the policies before applying them\n",
                    found.len()
                )
            });
            text
        }
    };
    output::write_report(common, &text)?;
    output::print_diagnostics(&inputs.diagnostics, common);
    if output::input_status(&inputs.diagnostics) != Status::Clean {
        return Ok(Status::InputError);
    }
    Ok(if found.is_empty() {
        Status::Clean
    } else {
        Status::Findings
    })
}
