//! The programs a workload executed and the shared libraries they load,
//! read from the workload's own root filesystem and analysed for the
//! syscalls they can reach (`corral-reach`).
//!
//! The root is held open from the moment the recorder first sees the
//! workload's process (its `/proc/PID/root`, and its mount namespace so
//! that the namespace's mounts outlive the process): the files are read
//! after the workload has exited, as they were while it ran. Paths are
//! resolved inside that root (`openat2` with `RESOLVE_IN_ROOT`, no magic
//! links), so a symbolic link in the image cannot point outside it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::CString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use corral_reach::{analyze, sha256_hex, BinaryFacts, MAX_FILE_SIZE};

use corral_record::{syscall_name, Binary, DirectSyscall, MAX_BINARIES};

/// At most this many files are read and analysed per workload.
const MAX_FILES: usize = 1024;

/// Where the loaders look after `DT_RUNPATH` and `/etc/ld.so.conf`: glibc's
/// Debian multiarch directories, then the generic ones (musl's too).
const DEFAULT_LIBRARY_DIRECTORIES: [&str; 6] = [
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// A workload's root filesystem, held open.
pub struct Root {
    directory: OwnedFd,
    /// Keeps the mount namespace, and so the mounts under `directory`,
    /// alive after the workload's last process has exited.
    _namespace: Option<OwnedFd>,
}

fn open_path(path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c_path = CString::new(path).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: opens a path given as a valid C string; the new descriptor is
    // owned from here on.
    let fd = unsafe { libc::open(c_path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and belongs to no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Root {
    /// The root filesystem of process `pid`, as it sees it; with
    /// `keep_namespace`, its mount namespace too, so that the mounts under
    /// the root stay after its last process (a command's namespace, a copy
    /// of the host's, may have `/usr` on a mount of its own; a container's
    /// volumes and bind mounts too). Held, a container's mounts outlive it
    /// until the recording ends, so the recorder holds a bounded number.
    pub fn of(pid: &str, keep_namespace: bool) -> io::Result<Root> {
        let namespace = keep_namespace
            .then(|| open_path(&format!("/proc/{pid}/ns/mnt"), libc::O_RDONLY).ok())
            .flatten();
        let directory = open_path(
            &format!("/proc/{pid}/root"),
            libc::O_PATH | libc::O_DIRECTORY,
        )?;
        Ok(Root {
            directory,
            _namespace: namespace,
        })
    }

    /// Open `path` (absolute, as the workload names it) inside the root.
    fn open(&self, path: &str, flags: u64) -> io::Result<std::fs::File> {
        let relative = path.trim_start_matches('/');
        let relative = if relative.is_empty() { "." } else { relative };
        let c_path =
            CString::new(relative).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: open_how is plain data.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        // Never wait on a FIFO or a device an image puts where a program
        // or ld.so.conf is expected.
        // A FIFO must not stall the recorder; O_PATH takes no such flags.
        let extra = if flags & libc::O_PATH as u64 != 0 {
            libc::O_CLOEXEC
        } else {
            libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY
        };
        how.flags = flags | extra as u64;
        how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
        // SAFETY: openat2 reads `how` (of the size given) and the path; the
        // descriptor it returns is owned from here on.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.directory.as_raw_fd(),
                c_path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and belongs to no one else.
        Ok(unsafe { std::fs::File::from_raw_fd(fd as libc::c_int) })
    }

    /// The file `path` leads to, links resolved inside the root: what the
    /// kernel names as a process's `exe` (its audit records' `exe=`).
    /// `None` when the file cannot be opened or lies outside what the
    /// recorder sees of the root.
    fn target(&self, path: &str) -> Option<String> {
        let file = self.open(path, libc::O_PATH as u64).ok()?;
        let link = |fd: libc::c_int| std::fs::read_link(format!("/proc/self/fd/{fd}")).ok();
        let root = link(self.directory.as_raw_fd())?;
        let target = link(file.as_raw_fd())?;
        let rest = target.strip_prefix(&root).ok()?;
        let rest = rest.to_str()?;
        Some(format!("/{rest}"))
    }

    /// The regular file at `path`, up to [`MAX_FILE_SIZE`] bytes.
    #[cfg(test)]
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.read_known(path, &mut Cache::default())
            .map(|(_, bytes)| bytes.unwrap_or_default())
    }

    /// The file at `path`: its identity, and its bytes unless `cache`
    /// already knows that identity's content.
    fn read_known(
        &self,
        path: &str,
        cache: &mut Cache,
    ) -> Result<(Identity, Option<Vec<u8>>), String> {
        use std::os::unix::fs::MetadataExt;
        let file = self
            .open(path, libc::O_RDONLY as u64)
            .map_err(|e| format!("cannot be opened in the workload's root: {e}"))?;
        let metadata = file
            .metadata()
            .map_err(|e| format!("cannot be read: {e}"))?;
        let identity = (
            metadata.dev(),
            metadata.ino(),
            metadata.size(),
            metadata.mtime(),
            metadata.mtime_nsec(),
            metadata.ctime(),
            metadata.ctime_nsec(),
        );
        if metadata.is_file() && cache.by_identity.contains_key(&identity) {
            return Ok((identity, None));
        }
        if !metadata.is_file() {
            return Err("is not a regular file".into());
        }
        if metadata.len() > MAX_FILE_SIZE as u64 {
            return Err(format!(
                "is {} bytes, over the {MAX_FILE_SIZE} analysed",
                metadata.len()
            ));
        }
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        file.take(MAX_FILE_SIZE as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot be read: {e}"))?;
        if bytes.len() > MAX_FILE_SIZE {
            return Err(format!("is over the {MAX_FILE_SIZE} bytes analysed"));
        }
        Ok((identity, Some(bytes)))
    }

    fn read_text(&self, path: &str) -> Option<String> {
        let file = self.open(path, libc::O_RDONLY as u64).ok()?;
        let mut text = String::new();
        file.take(1 << 20).read_to_string(&mut text).ok()?;
        Some(text)
    }

    /// The names in directory `path`, sorted.
    fn list(&self, path: &str) -> Vec<String> {
        let Ok(directory) = self.open(path, (libc::O_PATH | libc::O_DIRECTORY) as u64) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(format!("/proc/self/fd/{}", directory.as_raw_fd()))
        else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .take(4096)
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }

    /// The directories `/etc/ld.so.conf` and `/etc/ld.so.conf.d/*.conf`
    /// name, in order (what glibc's `ldconfig` caches).
    fn ld_so_conf(&self) -> Vec<String> {
        let mut texts: Vec<String> = self.read_text("/etc/ld.so.conf").into_iter().collect();
        for name in self.list("/etc/ld.so.conf.d") {
            if name.ends_with(".conf") {
                texts.extend(self.read_text(&format!("/etc/ld.so.conf.d/{name}")));
            }
        }
        texts
            .iter()
            .flat_map(|t| t.lines())
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| l.starts_with('/'))
            .map(str::to_string)
            .collect()
    }
}

/// A file's device, inode, size, modification and change times: the same
/// identity is the same content.
type Identity = (u64, u64, u64, i64, i64, i64, i64);

/// Analyses kept across workloads (the containers of one recorder share
/// images): content hashes by file identity, analyses by content hash.
#[derive(Default)]
pub struct Cache {
    by_identity: std::collections::HashMap<Identity, String>,
    by_hash: BTreeMap<String, (Result<BinaryFacts, String>, Option<String>)>,
}

/// Beyond this many entries, the cache starts again.
const MAX_CACHED: usize = 65536;

/// What one file gave: its analysis, or why there is none.
#[derive(Clone)]
struct Analysed {
    sha256: String,
    facts: Result<BinaryFacts, String>,
    /// For a script (`#!`), the interpreter the kernel executes with it.
    script: Option<String>,
}

/// The interpreter of a `#!` script: the first word of its first line
/// (the kernel reads at most 256 bytes of it).
fn script_interpreter(bytes: &[u8]) -> Option<String> {
    let line = bytes.strip_prefix(b"#!")?;
    let line = &line[..line.len().min(254)];
    let line = line.split(|b| *b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    text.split_whitespace().next().map(str::to_string)
}

fn directory_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((directory, _)) => directory,
        None => ".",
    }
}

/// Every program in `programs` (the paths execs named) and, transitively,
/// the shared libraries each loads, resolved in `root` as the loader
/// would; each distinct content analysed once.
pub fn read_binaries(
    root: &Root,
    programs: &[String],
    architecture: &str,
    cache: &mut Cache,
) -> Vec<Binary> {
    let library_directories: Vec<String> = root
        .ld_so_conf()
        .into_iter()
        .chain(DEFAULT_LIBRARY_DIRECTORIES.iter().map(|d| d.to_string()))
        .collect();
    if cache.by_identity.len() > MAX_CACHED || cache.by_hash.len() > MAX_CACHED {
        *cache = Cache::default();
    }
    let mut read: BTreeMap<String, Analysed> = BTreeMap::new();
    let mut binaries: BTreeMap<String, Binary> = BTreeMap::new();
    let mut queue: VecDeque<String> = programs
        .iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .cloned()
        .collect();
    let mut load = |path: &str, read: &mut BTreeMap<String, Analysed>| {
        if read.contains_key(path) || read.len() >= MAX_FILES {
            return;
        }
        let analysed = match root.read_known(path, cache) {
            Ok((identity, bytes)) => {
                let sha256 = match &bytes {
                    Some(bytes) => sha256_hex(bytes),
                    None => cache.by_identity[&identity].clone(),
                };
                cache.by_identity.insert(identity, sha256.clone());
                let (facts, script) = match (cache.by_hash.get(&sha256), &bytes) {
                    (Some(known), _) => known.clone(),
                    (None, Some(bytes)) => {
                        let analysed = (
                            analyze(bytes).map_err(|e| e.to_string()),
                            script_interpreter(bytes),
                        );
                        cache.by_hash.insert(sha256.clone(), analysed.clone());
                        analysed
                    }
                    (None, None) => (Err("was read and then forgotten".into()), None),
                };
                Analysed {
                    sha256,
                    facts,
                    script,
                }
            }
            Err(e) => Analysed {
                sha256: String::new(),
                facts: Err(e),
                script: None,
            },
        };
        read.insert(path.to_string(), analysed);
    };
    while let Some(path) = queue.pop_front() {
        if binaries.contains_key(&path) || binaries.len() >= MAX_BINARIES.min(MAX_FILES) {
            continue;
        }
        if !path.starts_with('/') {
            binaries.insert(
                path.clone(),
                Binary {
                    path,
                    error: Some(
                        "a relative path: the directory it was executed from is unknown".into(),
                    ),
                    ..Binary::default()
                },
            );
            continue;
        }
        load(&path, &mut read);
        let Some(analysed) = read.get(&path) else {
            continue;
        };
        let sha256 = analysed.sha256.clone();
        if let Some(interpreter) = analysed.script.clone() {
            queue.push_back(interpreter.clone());
            binaries.insert(
                path.clone(),
                Binary {
                    path: path.clone(),
                    sha256,
                    libraries: vec![interpreter],
                    ..Binary::default()
                },
            );
            continue;
        }
        let facts = match &analysed.facts {
            Ok(facts) => facts.clone(),
            Err(e) => {
                binaries.insert(
                    path.clone(),
                    Binary {
                        path: path.clone(),
                        error: Some(format!("{path} {e}")),
                        ..Binary::default()
                    },
                );
                continue;
            }
        };
        let mut libraries = Vec::new();
        let mut interpreter_libc = None;
        if let Some(interpreter) = &facts.interpreter {
            load(interpreter, &mut read);
            if let Some(Ok(loader)) = read.get(interpreter.as_str()).map(|a| &a.facts) {
                interpreter_libc = loader.libc.clone();
            }
            libraries.push(interpreter.clone());
        }
        let origin = directory_of(&path).to_string();
        for needed in &facts.needed {
            // musl's loader is its libc: it satisfies `libc.so` itself.
            if interpreter_libc.as_deref() == Some("musl") && needed.starts_with("libc.so") {
                continue;
            }
            let candidates: Vec<String> = if needed.contains('/') {
                vec![needed.replace("$ORIGIN", &origin)]
            } else {
                facts
                    .runpath
                    .iter()
                    .map(|d| d.replace("$ORIGIN", &origin).replace("${ORIGIN}", &origin))
                    .chain(library_directories.iter().cloned())
                    .map(|d| format!("{}/{needed}", d.trim_end_matches('/')))
                    .collect()
            };
            // The first candidate that is an ELF file of this architecture,
            // as the loader skips others (glibc's libc.so linker script).
            let found = candidates.into_iter().find(|candidate| {
                load(candidate, &mut read);
                matches!(
                    read.get(candidate.as_str()).map(|a| &a.facts),
                    Some(Ok(f)) if f.architecture == facts.architecture
                )
            });
            if let Some(found) = found {
                libraries.push(found);
            }
        }
        libraries.dedup();
        queue.extend(libraries.iter().cloned());
        let mut syscalls: Vec<DirectSyscall> = facts
            .syscalls
            .iter()
            .map(|s| DirectSyscall {
                number: s.number,
                name: syscall_name(s.number, architecture, false).map(str::to_string),
                function: s.function.clone(),
            })
            .collect();
        syscalls.sort();
        syscalls.dedup();
        let target = root.target(&path).filter(|t| *t != path);
        binaries.insert(
            path.clone(),
            Binary {
                path: path.clone(),
                target,
                sha256,
                libraries,
                imports: facts.imports.clone(),
                syscalls,
                unresolved_syscalls: facts.unresolved_syscalls,
                libc: facts.libc.clone(),
                error: None,
            },
        );
    }
    binaries.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scripts_interpreter_is_its_first_word() {
        assert_eq!(
            script_interpreter(b"#!/bin/sh -e\necho").as_deref(),
            Some("/bin/sh")
        );
        assert_eq!(
            script_interpreter(b"#! /usr/bin/env python3\n").as_deref(),
            Some("/usr/bin/env")
        );
        assert_eq!(script_interpreter(b"#!\n"), None);
        assert_eq!(script_interpreter(b"\x7fELF"), None);
        assert_eq!(script_interpreter(&[b'#', b'!', 0xff, 0xfe]), None);
    }

    #[test]
    fn origin_is_the_directory_of_the_file() {
        assert_eq!(directory_of("/usr/bin/app"), "/usr/bin");
        assert_eq!(directory_of("/app"), "/");
        assert_eq!(directory_of("app"), ".");
    }

    #[test]
    fn paths_resolve_inside_the_root_only() {
        // Our own root: an absolute symbolic link resolves inside it; `..`
        // cannot climb out of it.
        let root = Root::of("self", false).unwrap();
        assert!(root.read("/proc/self/exe").is_err(), "a magic link");
        let sh = root.read("/bin/sh").unwrap();
        assert_eq!(&sh[..4], b"\x7fELF");
        assert_eq!(root.read("/../../bin/sh").unwrap(), sh);
        assert!(root.read("/etc").unwrap_err().contains("regular file"));
        let mut cache = Cache::default();
        let binaries = read_binaries(&root, &["/bin/sh".into()], "x86_64", &mut cache);
        // Read again, from the cache: the same.
        assert_eq!(
            read_binaries(&root, &["/bin/sh".into()], "x86_64", &mut cache),
            binaries
        );
        let sh = binaries.iter().find(|b| b.path == "/bin/sh").unwrap();
        assert!(sh.error.is_none());
        assert!(sh
            .libraries
            .iter()
            .all(|l| binaries.iter().any(|b| &b.path == l)));
        assert!(binaries.iter().any(|b| b.libc.as_deref() == Some("glibc")));
    }
}
