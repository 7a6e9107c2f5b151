//! Static reachability: which syscalls a program can make, from its ELF
//! files rather than from what a recording happened to exercise.
//!
//! [`analyze`] reads one ELF file (x86_64; aarch64 too): the functions it
//! imports from shared libraries, the libraries it needs (`DT_NEEDED`,
//! `DT_RUNPATH`/`DT_RPATH`, `PT_INTERP`), whether it is itself a C library
//! (or its loader), and its own `syscall` instructions whose number is a
//! constant (the last write to `eax`/`rax` in the same straight-line code;
//! any other is counted as unresolved).
//!
//! [`LibcTable`] maps each function a C library exports to the syscalls its
//! own code can reach, so that a program's imports say which syscalls it
//! can make through libc. The tables are data (`data/*.json`), derived
//! from the libraries themselves by [`LibcTable::generate`]: from each
//! exported function, every direct `call` and `jmp` target is followed
//! (unnamed internal functions too: every direct call target in the code is
//! a node of the call graph, running to the next node), constant-number
//! `syscall` sites are collected, and the union is propagated over the call
//! graph to a fixpoint. Calls through the PLT or the GOT are followed to the
//! function their relocation names when the library defines it (glibc calls
//! its own `malloc` so); a call into glibc's loader is taken to reach the
//! allocator the loader calls back (`malloc`, `calloc`, `realloc`,
//! `free`); an IFUNC's resolver is linked to the implementations whose
//! addresses it loads; a constant first argument passed to a function at
//! most two calls from a syscall of unknown number counts as a syscall
//! number (musl's `__syscall_cp`, glibc's `syscall`). Other indirect calls
//! and jumps (through registers or memory: callbacks, function tables) are
//! not followed, and what the loader itself does is its own binary's.
//!
//! Regenerating the committed tables (Debian bookworm: glibc 2.36 from
//! `libc6`, musl 1.2.3 from `musl`):
//!
//! ```sh
//! cargo run -p corral-reach --example libc-table -- /usr/lib/x86_64-linux-gnu/libc.so.6 \
//!     > crates/corral-reach/data/glibc-x86_64.json
//! cargo run -p corral-reach --example libc-table -- /usr/lib/x86_64-linux-musl/libc.so \
//!     > crates/corral-reach/data/musl-x86_64.json
//! ```
//!
//! `tests/libc_table.rs` checks that regenerating from the machine's
//! library gives the committed file whenever its SHA-256 is the one the
//! file names, and `tests/recorded.rs` checks the tables against what the
//! recorder sees small programs do.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use iced_x86::{
    Code, Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, Mnemonic,
    OpAccess, OpKind, Register,
};
use object::read::elf::{ElfFile64, ProgramHeader};
use object::{
    Architecture, Object, ObjectSection, ObjectSymbol, ObjectSymbolTable, SectionKind, SymbolFlags,
    SymbolKind,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Files larger than this are refused.
pub const MAX_FILE_SIZE: usize = 256 << 20;

/// Syscall numbers beyond this are not syscalls (x86_64 and aarch64 have
/// fewer than 512); a constant above it is counted as unresolved.
pub const MAX_SYSCALL_NUMBER: u64 = 1023;

const STT_GNU_IFUNC: u8 = 10;

/// Why a file could not be analysed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Larger than [`MAX_FILE_SIZE`].
    TooLarge(usize),
    /// Not an ELF file, or a malformed one.
    Malformed(String),
    /// An ELF file for an architecture (or class) this crate cannot decode.
    Unsupported(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooLarge(size) => write!(
                f,
                "the file is {size} bytes, over the {MAX_FILE_SIZE} analysed"
            ),
            Error::Malformed(why) => write!(f, "not a readable ELF file: {why}"),
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// A `syscall` (x86_64) or `svc #0` (aarch64) instruction whose number is
/// a constant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SyscallSite {
    pub number: u32,
    /// The function symbol containing it, when the file names one.
    pub function: Option<String>,
    pub address: u64,
}

/// What one ELF file says about the syscalls it can reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinaryFacts {
    /// `x86_64` or `aarch64` (`uname -m`).
    pub architecture: String,
    /// Undefined function symbols of the dynamic symbol table, without
    /// version, sorted and unique.
    pub imports: Vec<String>,
    /// `DT_NEEDED`, in order.
    pub needed: Vec<String>,
    /// `DT_RUNPATH`, or `DT_RPATH` when there is no `DT_RUNPATH`, split on
    /// `:`.
    pub runpath: Vec<String>,
    /// `PT_INTERP`.
    pub interpreter: Option<String>,
    /// `DT_SONAME`.
    pub soname: Option<String>,
    /// `glibc` or `musl` when this file is that C library or its loader.
    pub libc: Option<String>,
    /// Its own syscall instructions with a constant number, by address.
    pub syscalls: Vec<SyscallSite>,
    /// Its syscall instructions whose number is not a constant.
    pub unresolved_syscalls: u32,
}

/// SHA-256 of `bytes`, in lowercase hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn malformed(e: object::Error) -> Error {
    Error::Malformed(e.to_string())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A parsed ELF file and its code.
struct Elf<'a> {
    file: ElfFile64<'a, object::Endianness>,
    arch: Arch,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Arch {
    X86_64,
    Aarch64,
}

fn parse(bytes: &[u8]) -> Result<Elf<'_>, Error> {
    if bytes.len() > MAX_FILE_SIZE {
        return Err(Error::TooLarge(bytes.len()));
    }
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err(Error::Malformed("no ELF magic number".into()));
    }
    if bytes.get(4) != Some(&2) {
        return Err(Error::Unsupported(
            "32-bit ELF (only x86_64 and aarch64 are analysed)".into(),
        ));
    }
    let file = ElfFile64::<object::Endianness>::parse(bytes).map_err(malformed)?;
    let arch = match file.architecture() {
        Architecture::X86_64 => Arch::X86_64,
        Architecture::Aarch64 => Arch::Aarch64,
        other => {
            return Err(Error::Unsupported(format!(
                "architecture {other:?} (only x86_64 and aarch64 are analysed)"
            )))
        }
    };
    if file.endian() != object::Endianness::Little {
        return Err(Error::Unsupported("big-endian ELF".into()));
    }
    Ok(Elf { file, arch })
}

/// A symbol's name without an `@VERSION` suffix.
fn unversioned(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// Analyse one ELF file. Never panics; bounded by [`MAX_FILE_SIZE`] and the
/// file's own code size.
pub fn analyze(bytes: &[u8]) -> Result<BinaryFacts, Error> {
    let elf = parse(bytes)?;
    let file = &elf.file;
    let endian = file.endian();
    let mut facts = BinaryFacts {
        architecture: match elf.arch {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
        .to_string(),
        ..BinaryFacts::default()
    };
    let mut imports = BTreeSet::new();
    let mut defined = BTreeSet::new();
    for symbol in file.dynamic_symbols() {
        let Ok(name) = symbol.name() else { continue };
        let name = unversioned(name);
        if name.is_empty() {
            continue;
        }
        if symbol.is_undefined() {
            if symbol.kind() == SymbolKind::Text {
                imports.insert(name.to_string());
            }
        } else {
            defined.insert(name.to_string());
        }
    }
    facts.imports = imports.into_iter().collect();

    let dynamic = file.elf_dynamic_table().map_err(malformed)?;
    let mut rpath = Vec::new();
    for entry in &dynamic {
        let string = || dynamic.string(entry).map(text).map_err(malformed);
        match entry.tag {
            object::elf::DT_NEEDED => facts.needed.push(string()?),
            object::elf::DT_SONAME => facts.soname = Some(string()?),
            object::elf::DT_RUNPATH => facts.runpath.extend(split_path(&string()?)),
            object::elf::DT_RPATH => rpath.extend(split_path(&string()?)),
            _ => {}
        }
    }
    if facts.runpath.is_empty() {
        facts.runpath = rpath;
    }
    for header in file.elf_program_headers() {
        if let Some(interp) = header.interpreter(endian, file.data()).map_err(malformed)? {
            facts.interpreter = Some(text(interp));
        }
    }
    facts.libc = libc_kind(facts.soname.as_deref(), &defined);

    let symbols = FunctionSymbols::of(file);
    let mut sites = Vec::new();
    for_each_code(&elf, |code| {
        scan_code(elf.arch, code, &mut |address, number| {
            sites.push((address, number))
        })
    });
    for (address, number) in sites {
        match number {
            Some(n) if n <= MAX_SYSCALL_NUMBER => facts.syscalls.push(SyscallSite {
                number: n as u32,
                function: symbols.containing(address).map(str::to_string),
                address,
            }),
            _ => facts.unresolved_syscalls = facts.unresolved_syscalls.saturating_add(1),
        }
    }
    facts.syscalls.sort_by_key(|s| s.address);
    Ok(facts)
}

fn split_path(path: &str) -> Vec<String> {
    path.split(':')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// glibc's libc.so.6 defines `gnu_get_libc_version`; its loader is
/// `ld-linux*`; musl's libc.so, its own loader, defines `__dls3`.
fn libc_kind(soname: Option<&str>, defined: &BTreeSet<String>) -> Option<String> {
    if defined.contains("gnu_get_libc_version") || soname.is_some_and(|s| s.starts_with("ld-linux"))
    {
        Some("glibc".into())
    } else if defined.contains("__dls3") && defined.contains("__libc_start_main") {
        Some("musl".into())
    } else {
        None
    }
}

/// An executable section: its address and bytes.
struct CodeRange<'a> {
    address: u64,
    bytes: &'a [u8],
}

fn for_each_code(elf: &Elf<'_>, mut each: impl FnMut(&CodeRange<'_>)) {
    for section in elf.file.sections() {
        if section.kind() != SectionKind::Text {
            continue;
        }
        let Ok(bytes) = section.data() else { continue };
        each(&CodeRange {
            address: section.address(),
            bytes,
        });
    }
}

/// Function symbols (the symbol table, or the dynamic one when stripped),
/// to name the function an address is in.
struct FunctionSymbols {
    /// (address, size, name), sorted by address, one name per address.
    symbols: Vec<(u64, u64, String)>,
}

impl FunctionSymbols {
    fn of(file: &ElfFile64<'_, object::Endianness>) -> FunctionSymbols {
        let mut by_address: BTreeMap<u64, (u64, String)> = BTreeMap::new();
        for symbol in file.symbols().chain(file.dynamic_symbols()) {
            if symbol.kind() != SymbolKind::Text || symbol.is_undefined() || symbol.address() == 0 {
                continue;
            }
            let Ok(name) = symbol.name() else { continue };
            let name = unversioned(name);
            if name.is_empty() {
                continue;
            }
            let candidate = (symbol.size(), name.to_string());
            by_address
                .entry(symbol.address())
                .and_modify(|kept| {
                    if preferred(&candidate.1, &kept.1) {
                        *kept = (kept.0.max(candidate.0), candidate.1.clone());
                    } else {
                        kept.0 = kept.0.max(candidate.0);
                    }
                })
                .or_insert(candidate);
        }
        FunctionSymbols {
            symbols: by_address
                .into_iter()
                .map(|(address, (size, name))| (address, size, name))
                .collect(),
        }
    }

    fn containing(&self, address: u64) -> Option<&str> {
        let index = self.symbols.partition_point(|s| s.0 <= address);
        let (start, size, name) = self.symbols.get(index.checked_sub(1)?)?;
        (*size == 0 || address - start < *size).then_some(name.as_str())
    }
}

/// Of two names of one address, the public one: fewer leading underscores,
/// then shorter, then first in order.
fn preferred(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        (
            s.len() - s.trim_start_matches('_').len(),
            s.len(),
            s.to_string(),
        )
    };
    key(a) < key(b)
}

/// Every syscall instruction in `code`, with its number when the last
/// write to the number register in the same straight-line code (no branch
/// target or control transfer in between) is a constant.
fn scan_code(arch: Arch, code: &CodeRange<'_>, site: &mut dyn FnMut(u64, Option<u64>)) {
    match arch {
        Arch::X86_64 => scan_x86_64(code, site),
        Arch::Aarch64 => scan_aarch64(code, site),
    }
}

fn decoder<'a>(code: &CodeRange<'a>) -> Decoder<'a> {
    Decoder::with_ip(64, code.bytes, code.address, DecoderOptions::NONE)
}

/// The direct targets of branches and calls in `code`.
fn branch_targets(code: &CodeRange<'_>) -> BTreeSet<u64> {
    let mut targets = BTreeSet::new();
    let mut decoder = decoder(code);
    let mut instruction = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut instruction);
        if matches!(
            instruction.op0_kind(),
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
        ) {
            targets.insert(instruction.near_branch_target());
        }
    }
    targets
}

/// What `instruction` leaves in the 64-bit register `full` (`RAX`,
/// `RDI`), given what it held (`previous`): `Some(Some(n))` a constant,
/// `Some(None)` something else, `None` if it does not write it. A move of
/// an immediate into the low 8 or 16 bits of a known constant (musl's
/// `xor eax, eax; mov al, 56`) keeps it known.
fn register_write(
    instruction: &Instruction,
    full: Register,
    previous: Option<u64>,
    info: &mut InstructionInfoFactory,
) -> Option<Option<u64>> {
    let destination = instruction.op0_register();
    let ours = destination != Register::None && destination.full_register() == full;
    let immediate = matches!(
        instruction.op1_kind(),
        OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate32to64
            | OpKind::Immediate64
    );
    match instruction.mnemonic() {
        Mnemonic::Mov if ours && immediate => {
            let value = instruction.immediate(1);
            return Some(match destination.size() {
                8 | 4 => Some(value),
                2 => previous.map(|p| (p & !0xffff) | (value & 0xffff)),
                // The low byte only (not ah, bh...: op0 is ours, so al).
                1 if destination == Register::AL || destination == Register::DIL => {
                    previous.map(|p| (p & !0xff) | (value & 0xff))
                }
                _ => None,
            });
        }
        Mnemonic::Xor | Mnemonic::Sub
            if ours
                && matches!(destination.size(), 4 | 8)
                && instruction.op1_kind() == OpKind::Register
                && instruction.op1_register() == destination =>
        {
            return Some(Some(0));
        }
        _ => {}
    }
    let writes = info.info(instruction).used_registers().iter().any(|used| {
        used.register().full_register() == full
            && matches!(
                used.access(),
                OpAccess::Write
                    | OpAccess::CondWrite
                    | OpAccess::ReadWrite
                    | OpAccess::ReadCondWrite
            )
    });
    writes.then_some(None)
}

fn scan_x86_64(code: &CodeRange<'_>, site: &mut dyn FnMut(u64, Option<u64>)) {
    let targets = branch_targets(code);
    let mut info = InstructionInfoFactory::new();
    let mut decoder = decoder(code);
    let mut instruction = Instruction::default();
    let mut rax: Option<u64> = None;
    while decoder.can_decode() {
        decoder.decode_out(&mut instruction);
        if targets.contains(&instruction.ip()) {
            rax = None;
        }
        if instruction.code() == Code::INVALID {
            rax = None;
            continue;
        }
        if instruction.mnemonic() == Mnemonic::Syscall {
            site(instruction.ip(), rax);
            rax = None;
            continue;
        }
        if let Some(value) = register_write(&instruction, Register::RAX, rax, &mut info) {
            rax = value;
        }
        if instruction.flow_control() != FlowControl::Next {
            rax = None;
        }
    }
}

/// aarch64: `svc #0` with the number in `x8`/`w8`, set by `mov` (`movz`,
/// `orr` with the zero register) of an immediate. Any other write to `x8`,
/// a branch, or a branch target in between leaves it unresolved.
fn scan_aarch64(code: &CodeRange<'_>, site: &mut dyn FnMut(u64, Option<u64>)) {
    let words = code.bytes.chunks_exact(4).map(|w| {
        let mut word = [0u8; 4];
        word.copy_from_slice(w);
        u32::from_le_bytes(word)
    });
    let mut targets = BTreeSet::new();
    for (index, word) in words.clone().enumerate() {
        let address = code.address.wrapping_add(4 * index as u64);
        if let Some(target) = aarch64_branch_target(word, address) {
            targets.insert(target);
        }
    }
    let mut x8: Option<u64> = None;
    for (index, word) in words.enumerate() {
        let address = code.address.wrapping_add(4 * index as u64);
        if targets.contains(&address) {
            x8 = None;
        }
        if word == 0xd400_0001 {
            site(address, x8);
            x8 = None;
            continue;
        }
        // MOVZ Xd/Wd, #imm16, LSL #(hw*16)
        if word & 0x7f80_0000 == 0x5280_0000 && word & 0x1f == 8 {
            let shift = ((word >> 21) & 0x3) * 16;
            x8 = Some(u64::from((word >> 5) & 0xffff) << shift);
        } else if word & 0x1f == 8 && aarch64_writes_rd(word) {
            x8 = None;
        }
        if aarch64_branch_target(word, address).is_some() || aarch64_is_branch(word) {
            x8 = None;
        }
    }
}

fn aarch64_branch_target(word: u32, address: u64) -> Option<u64> {
    let sign = |value: u32, bits: u32| -> i64 {
        let shift = 32 - bits;
        i64::from(((value << shift) as i32) >> shift)
    };
    let offset = if word & 0x7c00_0000 == 0x1400_0000 {
        // B, BL
        sign(word & 0x03ff_ffff, 26) * 4
    } else if word & 0xff00_0010 == 0x5400_0000 || word & 0x7e00_0000 == 0x3400_0000 {
        // B.cond, CBZ/CBNZ
        sign((word >> 5) & 0x7_ffff, 19) * 4
    } else if word & 0x7e00_0000 == 0x3600_0000 {
        // TBZ/TBNZ
        sign((word >> 5) & 0x3fff, 14) * 4
    } else {
        return None;
    };
    Some(address.wrapping_add(offset as u64))
}

/// BR, BLR, RET and their authenticated forms.
fn aarch64_is_branch(word: u32) -> bool {
    word & 0xfe00_0000 == 0xd600_0000
}

/// Most data-processing and load instructions write `Rd`/`Rt` in bits 0-4;
/// stores, compares into the zero register and branches do not. Erring
/// towards "writes" only makes more sites unresolved.
fn aarch64_writes_rd(word: u32) -> bool {
    let op0 = (word >> 25) & 0xf;
    match op0 {
        // Data processing (immediate and register), SIMD/FP moves to general.
        0b1000 | 0b1001 | 0b0101 | 0b1101 | 0b0111 | 0b1111 => true,
        // Loads and stores: bit 22 is the load bit for most forms.
        0b0100 | 0b0110 | 0b1100 | 0b1110 => word & (1 << 22) != 0,
        _ => false,
    }
}

/// A C library's functions and the syscalls each can reach through the
/// library's own code. Derived facts about glibc (LGPL-2.1-or-later) and
/// musl (MIT), not their code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LibcTable {
    /// `glibc` or `musl`.
    pub libc: String,
    pub version: String,
    /// `uname -m`.
    pub architecture: String,
    /// SHA-256 of the library file the table was generated from.
    pub source_sha256: String,
    /// Every exported function -> the syscalls it can reach, sorted.
    pub functions: BTreeMap<String, Vec<String>>,
}

const BUILTIN: [&str; 2] = [
    include_str!("../data/glibc-x86_64.json"),
    include_str!("../data/musl-x86_64.json"),
];

impl LibcTable {
    /// The committed tables: Debian's glibc and musl, x86_64.
    pub fn builtin() -> &'static [LibcTable] {
        static TABLES: std::sync::OnceLock<Vec<LibcTable>> = std::sync::OnceLock::new();
        TABLES.get_or_init(|| {
            BUILTIN
                .iter()
                .map(|text| {
                    // The committed files are checked by the tests.
                    serde_json::from_str(text).expect("a committed libc table is valid JSON")
                })
                .collect()
        })
    }

    /// The committed table for `libc` (`glibc`, `musl`) on `architecture`.
    pub fn find(libc: &str, architecture: &str) -> Option<&'static LibcTable> {
        LibcTable::builtin()
            .iter()
            .find(|t| t.libc == libc && t.architecture == architecture)
    }

    /// The syscalls `function` can reach, if the library exports it.
    pub fn syscalls(&self, function: &str) -> Option<&[String]> {
        self.functions.get(function).map(Vec::as_slice)
    }

    /// Generate the table of the C library in `bytes`, naming syscall
    /// numbers with `name` (numbers it does not name are left out, as no
    /// seccomp profile can name them either).
    pub fn generate(
        bytes: &[u8],
        version: &str,
        name: impl Fn(u32) -> Option<String>,
    ) -> Result<LibcTable, Error> {
        let elf = parse(bytes)?;
        if elf.arch != Arch::X86_64 {
            return Err(Error::Unsupported(
                "libc tables are generated for x86_64 only".into(),
            ));
        }
        let facts = analyze(bytes)?;
        let Some(libc) = facts.libc.clone() else {
            return Err(Error::Unsupported(
                "this file is neither glibc's libc.so.6 nor musl's libc.so".into(),
            ));
        };
        let graph = CallGraph::of(&elf);
        let reach = graph.reachable_syscalls();
        let mut functions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for symbol in elf.file.dynamic_symbols() {
            if symbol.is_undefined() || symbol.kind() != SymbolKind::Text {
                continue;
            }
            if !(symbol.is_global() || symbol.is_weak()) {
                continue;
            }
            let Ok(symbol_name) = symbol.name() else {
                continue;
            };
            let function = unversioned(symbol_name);
            if function.is_empty() {
                continue;
            }
            let entry = functions.entry(function.to_string()).or_default();
            if let Some(node) = graph.node_at(symbol.address()) {
                entry.extend(reach[node].iter().filter_map(|n| name(*n)));
            }
        }
        Ok(LibcTable {
            libc,
            version: version.to_string(),
            architecture: "x86_64".into(),
            source_sha256: sha256_hex(bytes),
            functions: functions
                .into_iter()
                .map(|(f, s)| (f, s.into_iter().collect()))
                .collect(),
        })
    }
}

/// The GOT slots of the dynamic relocations of functions: slot address ->
/// the code address it will hold when this file defines it (`JUMP_SLOT`,
/// `GLOB_DAT` and `64` to a defined function symbol; `IRELATIVE`'s
/// resolver), `None` for a function of another file.
fn got_slots(elf: &Elf<'_>) -> BTreeMap<u64, Option<u64>> {
    const R_X86_64_64: u32 = 1;
    const R_X86_64_GLOB_DAT: u32 = 6;
    const R_X86_64_JUMP_SLOT: u32 = 7;
    const R_X86_64_IRELATIVE: u32 = 37;
    let mut slots = BTreeMap::new();
    let Some(relocations) = elf.file.dynamic_relocations() else {
        return slots;
    };
    for (offset, relocation) in relocations {
        let object::RelocationFlags::Elf { r_type } = relocation.flags() else {
            continue;
        };
        match (r_type, relocation.target()) {
            (R_X86_64_IRELATIVE, _) => {
                slots.insert(offset, Some(relocation.addend() as u64));
            }
            (
                R_X86_64_64 | R_X86_64_GLOB_DAT | R_X86_64_JUMP_SLOT,
                object::RelocationTarget::Symbol(index),
            ) => {
                let Some(Ok(symbol)) = elf
                    .file
                    .dynamic_symbol_table()
                    .map(|table| table.symbol_by_index(index))
                else {
                    continue;
                };
                if symbol.kind() != SymbolKind::Text {
                    continue;
                }
                let target = (!symbol.is_undefined())
                    .then(|| symbol.address().wrapping_add(relocation.addend() as u64));
                slots.insert(offset, target);
            }
            _ => {}
        }
    }
    slots
}

/// The library's code as a graph: nodes start at function symbols and at
/// direct call targets and run to the next node; edges are the direct
/// calls and jumps out of a node, the fall-through into the next node when
/// a node does not end in a return or jump, calls and jumps through GOT
/// slots to the function their relocation names, and, from an IFUNC
/// resolver, the code addresses it loads.
struct CallGraph {
    starts: Vec<u64>,
    syscalls: Vec<BTreeSet<u32>>,
    edges: Vec<BTreeSet<usize>>,
    /// Nodes with a syscall instruction whose number is not a constant.
    unresolved: BTreeSet<usize>,
    /// (caller, callee, constant first argument) of direct calls and jumps.
    constant_arguments: Vec<(usize, usize, u64)>,
}

/// How many calls away from a syscall instruction of unknown number a
/// function may be for a constant first argument passed to it to count as
/// a syscall number: musl's cancellable syscalls pass it to `__syscall_cp`,
/// which passes it on to the instruction in two steps; glibc's
/// `syscall()` takes it directly.
const FORWARDING_DEPTH: u32 = 2;

impl CallGraph {
    fn of(elf: &Elf<'_>) -> CallGraph {
        let mut starts = BTreeSet::new();
        let mut ifuncs = BTreeSet::new();
        let mut code_ranges = Vec::new();
        for_each_code(elf, |code| {
            code_ranges.push((code.address, code.address + code.bytes.len() as u64));
        });
        let in_code = |a: u64| code_ranges.iter().any(|(s, e)| (*s..*e).contains(&a));
        for symbol in elf.file.symbols().chain(elf.file.dynamic_symbols()) {
            if symbol.kind() == SymbolKind::Text && !symbol.is_undefined() {
                starts.insert(symbol.address());
                if let SymbolFlags::Elf { st_info, .. } = symbol.flags() {
                    if st_info & 0xf == STT_GNU_IFUNC {
                        ifuncs.insert(symbol.address());
                    }
                }
            }
        }
        for (start, _) in &code_ranges {
            starts.insert(*start);
        }
        let got = got_slots(elf);
        for target in got.values().flatten() {
            starts.insert(*target);
        }
        let loader_callbacks: Vec<u64> = if elf
            .file
            .dynamic_symbols()
            .any(|s| !s.is_undefined() && s.name() == Ok("gnu_get_libc_version"))
        {
            // glibc's loader calls back into libc's allocator (rtld-malloc:
            // `__rtld_malloc` and the others are pointed at libc's after
            // relocation), so a call into the loader may reach them.
            elf.file
                .dynamic_symbols()
                .filter(|s| {
                    !s.is_undefined()
                        && matches!(
                            s.name().map(unversioned),
                            Ok("malloc" | "calloc" | "realloc" | "free")
                        )
                })
                .map(|s| s.address())
                .collect()
        } else {
            Vec::new()
        };
        for_each_code(elf, |code| {
            let mut decoder = decoder(code);
            let mut instruction = Instruction::default();
            while decoder.can_decode() {
                decoder.decode_out(&mut instruction);
                if instruction.flow_control() == FlowControl::Call
                    && matches!(
                        instruction.op0_kind(),
                        OpKind::NearBranch32 | OpKind::NearBranch64
                    )
                    && in_code(instruction.near_branch_target())
                {
                    starts.insert(instruction.near_branch_target());
                }
            }
        });
        let starts: Vec<u64> = starts.into_iter().filter(|a| in_code(*a)).collect();
        let mut graph = CallGraph {
            syscalls: vec![BTreeSet::new(); starts.len()],
            edges: vec![BTreeSet::new(); starts.len()],
            unresolved: BTreeSet::new(),
            constant_arguments: Vec::new(),
            starts,
        };
        for_each_code(elf, |code| {
            let end = code.address + code.bytes.len() as u64;
            let mut sites = Vec::new();
            scan_x86_64(code, &mut |address, number| sites.push((address, number)));
            for (address, number) in sites {
                let Some(node) = graph.node_at_or_before(address) else {
                    continue;
                };
                match number {
                    Some(n) if n <= MAX_SYSCALL_NUMBER => {
                        graph.syscalls[node].insert(n as u32);
                    }
                    _ => {
                        graph.unresolved.insert(node);
                    }
                }
            }
            let targets = branch_targets(code);
            let mut info = InstructionInfoFactory::new();
            let mut rdi: Option<u64> = None;
            let mut decoder = decoder(code);
            let mut instruction = Instruction::default();
            let mut last_ends_flow = false;
            let mut node = graph.node_at_or_before(code.address);
            while decoder.can_decode() {
                decoder.decode_out(&mut instruction);
                let here = graph.node_at_or_before(instruction.ip());
                if here != node {
                    // Fall-through from the previous node into this one.
                    if let (Some(previous), Some(current)) = (node, here) {
                        if !last_ends_flow {
                            graph.edges[previous].insert(current);
                        }
                    }
                    node = here;
                }
                if targets.contains(&instruction.ip()) || here == Some(0) {
                    rdi = None;
                }
                let Some(current) = node else { continue };
                let flow = instruction.flow_control();
                if matches!(
                    instruction.op0_kind(),
                    OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
                ) {
                    let target = instruction.near_branch_target();
                    if (code.address..end).contains(&target) || in_code(target) {
                        if let Some(to) = graph.node_at_or_before(target) {
                            graph.edges[current].insert(to);
                            if let (
                                Some(value),
                                FlowControl::Call | FlowControl::UnconditionalBranch,
                            ) = (rdi, flow)
                            {
                                graph.constant_arguments.push((current, to, value));
                            }
                        }
                    }
                }
                if let Some(value) = register_write(&instruction, Register::RDI, rdi, &mut info) {
                    rdi = value;
                }
                if flow != FlowControl::Next {
                    rdi = None;
                }
                // A call or jump through a GOT slot (the PLT, -fno-plt): to
                // the function the slot's relocation names, if this library
                // defines it; into the loader, to what the loader calls
                // back.
                if matches!(
                    flow,
                    FlowControl::IndirectBranch | FlowControl::IndirectCall
                ) && instruction.is_ip_rel_memory_operand()
                {
                    match got.get(&instruction.ip_rel_memory_address()) {
                        Some(Some(target)) => {
                            if let Some(to) = graph.node_at_or_before(*target) {
                                graph.edges[current].insert(to);
                            }
                        }
                        Some(None) => {
                            for callback in &loader_callbacks {
                                if let Some(to) = graph.node_at_or_before(*callback) {
                                    graph.edges[current].insert(to);
                                }
                            }
                        }
                        None => {}
                    }
                }
                if ifuncs.contains(&graph.starts[current])
                    && instruction.mnemonic() == Mnemonic::Lea
                    && instruction.is_ip_rel_memory_operand()
                {
                    let target = instruction.ip_rel_memory_address();
                    if in_code(target) {
                        if let Some(to) = graph.node_at_or_before(target) {
                            graph.edges[current].insert(to);
                        }
                    }
                }
                // Padding after a node's last instruction does not count; a
                // call as its last instruction is one to a function that
                // does not return (`abort`, `__stack_chk_fail`): what
                // follows is another function.
                if !matches!(instruction.mnemonic(), Mnemonic::Nop | Mnemonic::Int3) {
                    last_ends_flow = matches!(
                        flow,
                        FlowControl::Return
                            | FlowControl::UnconditionalBranch
                            | FlowControl::IndirectBranch
                            | FlowControl::Interrupt
                            | FlowControl::Exception
                            | FlowControl::Call
                            | FlowControl::IndirectCall
                    ) || instruction.mnemonic() == Mnemonic::Hlt
                        || instruction.mnemonic() == Mnemonic::Ud2
                        || instruction.code() == Code::INVALID;
                }
            }
        });
        graph
    }

    fn node_at_or_before(&self, address: u64) -> Option<usize> {
        self.starts
            .partition_point(|s| *s <= address)
            .checked_sub(1)
    }

    fn node_at(&self, address: u64) -> Option<usize> {
        self.starts.binary_search(&address).ok()
    }

    /// Each node's syscalls and those of every node it reaches.
    fn reachable_syscalls(&self) -> Vec<BTreeSet<u32>> {
        let mut reach = self.syscalls.clone();
        // Calls to a function near a syscall of unknown number, with a
        // constant first argument: that constant is a syscall number.
        let mut distance = vec![u32::MAX; self.starts.len()];
        let mut callers_of: HashMap<usize, Vec<usize>> = HashMap::new();
        for (from, tos) in self.edges.iter().enumerate() {
            for to in tos {
                callers_of.entry(*to).or_default().push(from);
            }
        }
        let mut frontier: Vec<usize> = self.unresolved.iter().copied().collect();
        for node in &frontier {
            distance[*node] = 0;
        }
        for depth in 1..=FORWARDING_DEPTH {
            let mut next = Vec::new();
            for node in frontier {
                for caller in callers_of.get(&node).into_iter().flatten() {
                    if distance[*caller] == u32::MAX {
                        distance[*caller] = depth;
                        next.push(*caller);
                    }
                }
            }
            frontier = next;
        }
        for (caller, callee, value) in &self.constant_arguments {
            if distance[*callee] <= FORWARDING_DEPTH && *value <= MAX_SYSCALL_NUMBER {
                reach[*caller].insert(*value as u32);
            }
        }
        // Reverse edges, then a worklist: when a node's set grows, its
        // callers are revisited. Sets only grow and are bounded, so this
        // ends.
        let mut callers: HashMap<usize, Vec<usize>> = HashMap::new();
        for (from, tos) in self.edges.iter().enumerate() {
            for to in tos {
                callers.entry(*to).or_default().push(from);
            }
        }
        let mut work: Vec<usize> = (0..self.starts.len()).collect();
        let mut queued = vec![true; self.starts.len()];
        while let Some(node) = work.pop() {
            queued[node] = false;
            let Some(from) = callers.get(&node) else {
                continue;
            };
            for caller in from {
                if *caller == node {
                    continue;
                }
                let before = reach[*caller].len();
                let add: Vec<u32> = reach[node].iter().copied().collect();
                reach[*caller].extend(add);
                if reach[*caller].len() != before && !queued[*caller] {
                    queued[*caller] = true;
                    work.push(*caller);
                }
            }
        }
        reach
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_elf_without_panicking() {
        assert!(matches!(analyze(b""), Err(Error::Malformed(_))));
        assert!(matches!(analyze(b"\x7fELF"), Err(Error::Unsupported(_))));
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2;
        header[5] = 1;
        assert!(analyze(&header).is_err());
        for cut in [16, 40, 63] {
            let mut bytes = std::fs::read("/proc/self/exe").unwrap();
            bytes.truncate(cut);
            assert!(analyze(&bytes).is_err());
        }
    }

    #[test]
    fn other_architectures_are_unsupported() {
        let mut bytes = std::fs::read("/proc/self/exe").unwrap();
        // e_machine: PowerPC 64.
        bytes[18] = 21;
        bytes[19] = 0;
        let error = analyze(&bytes).unwrap_err();
        assert!(matches!(error, Error::Unsupported(_)), "{error}");
        assert!(error.to_string().contains("architecture"), "{error}");
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let big = vec![0u8; MAX_FILE_SIZE + 1];
        assert_eq!(analyze(&big), Err(Error::TooLarge(MAX_FILE_SIZE + 1)));
    }

    /// Raw x86_64 code: a constant `mov eax` reaches its `syscall`; a
    /// branch target between them, or another write, does not.
    #[test]
    fn x86_64_numbers_come_from_the_same_straight_line_code() {
        let sites = |bytes: &[u8]| {
            let mut found = Vec::new();
            scan_x86_64(
                &CodeRange {
                    address: 0x1000,
                    bytes,
                },
                &mut |a, n| found.push((a, n)),
            );
            found
        };
        // mov eax, 39; syscall
        assert_eq!(
            sites(&[0xb8, 39, 0, 0, 0, 0x0f, 0x05]),
            [(0x1005, Some(39))]
        );
        // xor eax, eax; syscall
        assert_eq!(sites(&[0x31, 0xc0, 0x0f, 0x05]), [(0x1002, Some(0))]);
        // mov rax, 60 (sign-extended imm32); syscall
        assert_eq!(
            sites(&[0x48, 0xc7, 0xc0, 60, 0, 0, 0, 0x0f, 0x05]),
            [(0x1007, Some(60))]
        );
        // mov eax, 39; mov eax, edi; syscall: not a constant.
        assert_eq!(
            sites(&[0xb8, 39, 0, 0, 0, 0x89, 0xf8, 0x0f, 0x05]),
            [(0x1007, None)]
        );
        // mov eax, 39; add eax, 1; syscall: not a constant.
        assert_eq!(
            sites(&[0xb8, 39, 0, 0, 0, 0x83, 0xc0, 0x01, 0x0f, 0x05]),
            [(0x1008, None)]
        );
        // mov eax, 39; jmp +0 (to the syscall, a branch target); syscall
        assert_eq!(
            sites(&[0xb8, 39, 0, 0, 0, 0xeb, 0x00, 0x0f, 0x05]),
            [(0x1007, None)]
        );
        // mov eax, 39; mov edi, 1 (another register); syscall
        assert_eq!(
            sites(&[0xb8, 39, 0, 0, 0, 0xbf, 1, 0, 0, 0, 0x0f, 0x05]),
            [(0x100a, Some(39))]
        );
        // mov eax, 39; call +0; syscall: the call clobbers rax.
        assert_eq!(
            sites(&[0xb8, 39, 0, 0, 0, 0xe8, 0, 0, 0, 0, 0x0f, 0x05]),
            [(0x100a, None)]
        );
    }

    #[test]
    fn aarch64_numbers_come_from_movz_x8() {
        let mut found = Vec::new();
        // mov x8, #93; svc #0; mov x8, x0; svc #0
        let words: [u32; 4] = [0xd280_0ba8, 0xd400_0001, 0xaa00_03e8, 0xd400_0001];
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        scan_aarch64(
            &CodeRange {
                address: 0,
                bytes: &bytes,
            },
            &mut |a, n| found.push((a, n)),
        );
        assert_eq!(found, [(4, Some(93)), (12, None)]);
    }

    #[test]
    fn the_builtin_tables_load() {
        let tables = LibcTable::builtin();
        assert!(tables.iter().any(|t| t.libc == "glibc"));
        assert!(tables.iter().any(|t| t.libc == "musl"));
        let glibc = LibcTable::find("glibc", "x86_64").unwrap();
        assert!(glibc
            .syscalls("getpid")
            .unwrap()
            .contains(&"getpid".to_string()));
    }
}
