//! `corral record`: what a workload really does, recorded with eBPF.

use clap::Args;
use corral_record::record_command;

use crate::cli::CommonArgs;
use crate::output::{self, Status};

#[derive(Args)]
pub struct RecordArgs {
    /// The command to run and record, with its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub fn run(args: &RecordArgs, common: &CommonArgs) -> Result<Status, String> {
    let recording = record_command(&args.command).map_err(|e| e.to_string())?;
    let mut json = serde_json::to_string_pretty(&recording).map_err(|e| e.to_string())?;
    json.push('\n');
    output::write_report(common, &json)?;
    if !common.quiet {
        eprintln!(
            "recorded {} syscalls of `{}` (exit status {})",
            recording.syscalls.len(),
            args.command.join(" "),
            recording
                .exit_status
                .map_or("unknown".to_string(), |s| s.to_string())
        );
    }
    Ok(Status::Clean)
}
