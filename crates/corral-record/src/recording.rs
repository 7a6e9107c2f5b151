//! The recording format: versioned JSON, sorted, one document per recorded
//! identity.

use serde::{Deserialize, Serialize};

use crate::syscall_names;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    pub format_version: u32,
    /// `uname -r` of the recording machine.
    pub kernel: String,
    /// `uname -m`: the syscall numbers below are this architecture's.
    pub architecture: String,
    /// Seconds since the Unix epoch.
    pub started: u64,
    pub ended: u64,
    /// What was recorded: the command line for `corral record -- CMD`.
    pub command: Vec<String>,
    pub exit_status: Option<i32>,
    /// Every syscall made, by the command and its children, ascending by number.
    pub syscalls: Vec<Syscall>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Syscall {
    pub number: u32,
    /// `None` for a number newer than the names Corral knows.
    pub name: Option<String>,
}

impl Syscall {
    pub fn new(number: u32, architecture: &str) -> Syscall {
        let name = match architecture {
            "x86_64" => syscall_names::X86_64
                .get(number as usize)
                .copied()
                .flatten(),
            _ => None,
        };
        Syscall {
            number,
            name: name.map(str::to_string),
        }
    }
}
