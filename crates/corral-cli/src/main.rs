//! `corral`: one binary, one subcommand per capability.

#[global_allocator]
static ALLOCATOR: allocator::ByCommand = allocator::ByCommand;

mod access;
mod advise;
mod allocator;
mod cli;
mod drift;
mod inventory;
mod netpol;
mod operator;
mod output;
mod paths;
mod psp;
mod pss;
mod record;
mod scan;
mod snapshot;

use std::process::ExitCode;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse_invoked();
    cli.common.apply_color();
    let result = match &cli.command {
        Command::Snapshot(args) => snapshot::run(args, &cli.common),
        Command::Operator(args) => operator::run(args, &cli.common),
        Command::Inventory(args) => inventory::run(args, &cli.common),
        Command::Pss(args) => pss::run(args, &cli.common),
        Command::Psp(args) => psp::run(args, &cli.common),
        Command::Record(args) => record::run(args, &cli.common),
        Command::Advise(args) => advise::run(args, &cli.common),
        Command::Netpol(args) => netpol::run(args, &cli.common),
        Command::Drift(args) => drift::run(args, &cli.common),
        Command::Paths(args) => paths::run(args, &cli.common),
        Command::Access(args) => access::run(args, &cli.common),
        Command::Scan(args) => scan::run(args, &cli.common),
        Command::Rules(args) => scan::run_rules(args, &cli.common),
    };
    match result {
        Ok(status) => status.into(),
        Err(e) => {
            output::print_failure(&e);
            output::Status::InputError.into()
        }
    }
}
