//! The named syscall sets a profile is built with, each a documented data
//! file: families whose members give no extra power
//! (`data/syscall-families.json`), self-information calls (same file), the
//! attack surface that only a recording can allow
//! (`data/attack-surface.json`), and what the runtimes' default profile
//! allows (`data/runtime-default.json`), to say what a profile blocks
//! beyond it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Deserialize)]
struct FamiliesFile {
    families: Vec<Family>,
    #[serde(rename = "selfInformation")]
    self_information: Listed,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Family {
    pub name: String,
    pub why: String,
    pub syscalls: Vec<String>,
}

#[derive(Deserialize)]
struct Listed {
    syscalls: Vec<String>,
}

#[derive(Deserialize)]
struct AttackSurfaceFile {
    syscalls: Vec<Blocked>,
}

#[derive(Deserialize)]
struct Blocked {
    names: Vec<String>,
    why: String,
}

pub struct SyscallSets {
    pub families: Vec<Family>,
    /// Each syscall's family, by index into `families`.
    family_of: BTreeMap<String, usize>,
    pub self_information: BTreeSet<String>,
    /// Each attack-surface syscall and why it is one.
    pub attack_surface: BTreeMap<String, String>,
    pub runtime_default: BTreeSet<String>,
}

impl SyscallSets {
    /// The sets in `data/`, parsed once.
    pub fn builtin() -> &'static SyscallSets {
        static SETS: OnceLock<SyscallSets> = OnceLock::new();
        SETS.get_or_init(|| {
            let families: FamiliesFile =
                serde_json::from_str(include_str!("../data/syscall-families.json"))
                    .expect("data/syscall-families.json is checked by the tests");
            let attack: AttackSurfaceFile =
                serde_json::from_str(include_str!("../data/attack-surface.json"))
                    .expect("data/attack-surface.json is checked by the tests");
            #[derive(Deserialize)]
            struct Default {
                syscalls: Vec<String>,
            }
            let default: Default =
                serde_json::from_str(include_str!("../data/runtime-default.json"))
                    .expect("data/runtime-default.json is checked by the tests");
            let mut family_of = BTreeMap::new();
            for (i, family) in families.families.iter().enumerate() {
                for name in &family.syscalls {
                    family_of.insert(name.clone(), i);
                }
            }
            SyscallSets {
                family_of,
                families: families.families,
                self_information: families.self_information.syscalls.into_iter().collect(),
                attack_surface: attack
                    .syscalls
                    .into_iter()
                    .flat_map(|b| b.names.into_iter().map(move |n| (n, b.why.clone())))
                    .collect(),
                runtime_default: default.syscalls.into_iter().collect(),
            }
        })
    }

    pub fn family(&self, syscall: &str) -> Option<&Family> {
        self.family_of.get(syscall).map(|i| &self.families[*i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name in the data is a syscall of x86_64, i386 or aarch64, each
    /// syscall is in one family at most, and no family or self-information
    /// call is attack surface: the data cannot widen a profile by a typo or
    /// by a family that smuggles in what only a recording may allow.
    #[test]
    fn the_sets_are_consistent() {
        let sets = SyscallSets::builtin();
        let known: BTreeSet<&str> = corral_record::syscall_names_of("x86_64")
            .into_iter()
            .chain(corral_record::syscall_names_of("aarch64"))
            .collect();
        // Names of other ABIs (socketcall's `send`, `recv`; ppc's `stime`...).
        let elsewhere = [
            "send",
            "recv",
            "stime",
            "create_module",
            "get_kernel_syms",
            "query_module",
            "waitpid",
        ];
        let mut seen = BTreeSet::new();
        for family in &sets.families {
            for name in &family.syscalls {
                assert!(
                    known.contains(name.as_str()) || elsewhere.contains(&name.as_str()),
                    "{name} in family {}",
                    family.name
                );
                assert!(seen.insert(name), "{name} is in two families");
                assert!(
                    !sets.attack_surface.contains_key(name),
                    "{name}: a family holds attack surface"
                );
            }
        }
        for name in &sets.self_information {
            assert!(known.contains(name.as_str()), "{name}");
            assert!(!sets.attack_surface.contains_key(name), "{name}");
        }
        for name in sets.attack_surface.keys() {
            assert!(
                known.contains(name.as_str()) || elsewhere.contains(&name.as_str()),
                "{name}"
            );
        }
        for name in &sets.runtime_default {
            assert!(
                known.contains(name.as_str())
                    || name.ends_with("_time64")
                    || name.contains("32")
                    || ["send", "recv", "epoll_ctl_old", "epoll_wait_old", "stime"]
                        .contains(&name.as_str())
                    || name.ends_with("64"),
                "{name}"
            );
        }
        for required in [
            "mount",
            "umount2",
            "unshare",
            "setns",
            "pivot_root",
            "bpf",
            "perf_event_open",
            "ptrace",
            "process_vm_readv",
            "process_vm_writev",
            "keyctl",
            "add_key",
            "request_key",
            "kexec_load",
            "kexec_file_load",
            "init_module",
            "finit_module",
            "delete_module",
            "userfaultfd",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
            "open_by_handle_at",
            "name_to_handle_at",
        ] {
            assert!(sets.attack_surface.contains_key(required), "{required}");
        }
    }
}
