//! `corral record`: what a workload really does, recorded with eBPF.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use corral_record::{record_command, Capacity, Recording};

use crate::cli::CommonArgs;
use crate::output::{self, Status};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RecordArgs {
    #[command(subcommand)]
    pub action: Option<RecordAction>,
    /// The command to run and record, with its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Subcommand)]
pub enum RecordAction {
    /// Merge recordings of the same workload into one, losing nothing.
    Merge {
        /// Recordings written by `corral record`.
        #[arg(required = true, value_name = "RECORDING")]
        recordings: Vec<PathBuf>,
    },
}

pub fn run(args: &RecordArgs, common: &CommonArgs) -> Result<Status, String> {
    let recording = match &args.action {
        Some(RecordAction::Merge { recordings }) => {
            let loaded = recordings.iter().map(read).collect::<Result<Vec<_>, _>>()?;
            Recording::merge(loaded).map_err(|e| e.to_string())?
        }
        None => record_command(&args.command, Capacity::default()).map_err(|e| e.to_string())?,
    };
    let mut json = serde_json::to_string_pretty(&recording).map_err(|e| e.to_string())?;
    json.push('\n');
    output::write_report(common, &json)?;
    if !common.quiet {
        let runs: Vec<String> = recording
            .runs
            .iter()
            .map(|r| {
                let status = r
                    .exit_status
                    .map_or("unknown".to_string(), |s| s.to_string());
                format!("`{}` (exit status {status})", r.command.join(" "))
            })
            .collect();
        eprintln!(
            "{} syscalls and {} capabilities from {}",
            recording.workload.syscalls.len(),
            recording.workload.capabilities.len(),
            runs.join(", ")
        );
    }
    Ok(Status::Clean)
}

fn read(path: &PathBuf) -> Result<Recording, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a Corral recording: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}
