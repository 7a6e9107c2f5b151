//! The syscalls a container runtime makes after it installs the seccomp
//! filter and before it execs the workload: a profile must allow them or
//! the container never starts. They are data, recorded per runtime, version,
//! architecture and noNewPrivileges setting (runc installs the filter later
//! with noNewPrivileges, so fewer of its syscalls pass through it) by
//! `tests/runtime_base.rs`, which also checks them against this machine's
//! runc. Some are rare: `rt_sigreturn` shows up when runc's Go runtime
//! handles a signal in that window (seen twice in about 600 runs, once per
//! noNewPrivileges setting), so updates add to the data and never remove.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeBase {
    pub runtime: String,
    /// The version it was recorded from.
    pub version: String,
    pub architecture: String,
    pub no_new_privileges: bool,
    pub syscalls: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseSets {
    pub runtimes: Vec<RuntimeBase>,
}

impl BaseSets {
    /// The sets recorded into `data/runtime-base.json`.
    pub fn builtin() -> BaseSets {
        serde_json::from_str(include_str!("../data/runtime-base.json"))
            .expect("data/runtime-base.json is written by tests/runtime_base.rs")
    }

    pub fn find(
        &self,
        runtime: &str,
        architecture: &str,
        no_new_privileges: bool,
    ) -> Option<&RuntimeBase> {
        self.runtimes.iter().find(|b| {
            b.runtime == runtime
                && b.architecture == architecture
                && b.no_new_privileges == no_new_privileges
        })
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}
