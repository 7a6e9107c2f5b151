//! The syscalls the binaries a workload executed can reach, from what the
//! recorder read of them (`Recording::binaries`): each program's and
//! library's imports from the C library, through that library's table of
//! function → syscalls (`corral_reach::LibcTable`), and its own `syscall`
//! instructions with a constant number. The C library's own instructions
//! are not taken whole: only the functions something imports count.

use std::collections::{BTreeMap, BTreeSet};

use corral_reach::LibcTable;
use corral_record::{Binary, Recording};
use serde::Serialize;

/// Where a syscall is reachable from: a binary, and the C library function
/// it imports or its own function holding the instruction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Site {
    pub binary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// Sites kept per syscall; the others are counted.
pub const MAX_SITES: usize = 8;

#[derive(Debug, Default)]
pub struct Reach {
    /// Per syscall, the first [`MAX_SITES`] sites in the recording's order
    /// of binaries, and how many more there are.
    pub sites: BTreeMap<String, (BTreeSet<Site>, usize)>,
    /// What could not be seen, one line each.
    pub unresolved: Vec<String>,
}

/// The table for the C library `libc` links, preferring the one made from
/// the very same file.
fn table<'t>(tables: &'t [LibcTable], libc: &Binary, architecture: &str) -> Option<&'t LibcTable> {
    let family = libc.libc.as_deref()?;
    let same_family = || {
        tables
            .iter()
            .filter(|t| t.libc == family && t.architecture == architecture)
    };
    same_family()
        .find(|t| t.source_sha256 == libc.sha256)
        .or_else(|| same_family().next())
}

impl Reach {
    fn add(&mut self, syscall: String, site: Site) {
        let (sites, more) = self.sites.entry(syscall).or_default();
        if sites.len() < MAX_SITES {
            sites.insert(site);
        } else if !sites.contains(&site) {
            *more += 1;
        }
    }

    pub fn of(recording: &Recording) -> Reach {
        let tables = LibcTable::builtin();
        let by_path: BTreeMap<&str, &Binary> = recording
            .binaries
            .iter()
            .map(|b| (b.path.as_str(), b))
            .collect();
        let mut reach = Reach::default();
        for binary in &recording.binaries {
            if let Some(error) = &binary.error {
                reach
                    .unresolved
                    .push(format!("{}: not analysed: {error}", binary.path));
                continue;
            }
            if binary.libc.is_some() {
                continue;
            }
            if binary.unresolved_syscalls > 0 {
                reach.unresolved.push(format!(
                    "{}: {} syscall instruction(s) whose number is not a constant",
                    binary.path, binary.unresolved_syscalls
                ));
            }
            for direct in &binary.syscalls {
                let name = direct.name.clone().or_else(|| {
                    corral_record::syscall_name(direct.number, &recording.architecture, false)
                        .map(str::to_string)
                });
                match name {
                    Some(name) => {
                        reach.add(
                            name,
                            Site {
                                binary: binary.path.clone(),
                                function: direct.function.clone(),
                            },
                        );
                    }
                    None => reach.unresolved.push(format!(
                        "{}: syscall {} has no name on {}",
                        binary.path, direct.number, recording.architecture
                    )),
                }
            }
            if binary.imports.is_empty() {
                continue;
            }
            let libc = binary
                .libraries
                .iter()
                .filter_map(|l| by_path.get(l.as_str()))
                .find(|l| l.libc.is_some());
            let Some(libc) = libc else {
                continue;
            };
            let Some(table) = table(tables, libc, &recording.architecture) else {
                reach.unresolved.push(format!(
                    "{}: no table of {} on {}: its imports are not followed",
                    binary.path,
                    libc.libc.as_deref().unwrap_or_default(),
                    recording.architecture
                ));
                continue;
            };
            if table.source_sha256 != libc.sha256 {
                let note = format!(
                    "{}: read with the table of {} {}, not made from this very file",
                    libc.path, table.libc, table.version
                );
                if !reach.unresolved.contains(&note) {
                    reach.unresolved.push(note);
                }
            }
            if binary.imports.iter().any(|i| i == "syscall") {
                reach.unresolved.push(format!(
                    "{}: imports syscall(), whose number its callers choose",
                    binary.path
                ));
            }
            for import in &binary.imports {
                for name in table.syscalls(import).unwrap_or_default() {
                    reach.add(
                        name.clone(),
                        Site {
                            binary: binary.path.clone(),
                            function: Some(import.clone()),
                        },
                    );
                }
            }
        }
        reach.unresolved.sort();
        reach.unresolved.dedup();
        reach
    }
}
