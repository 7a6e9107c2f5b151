//! The memory allocator, chosen once for the process by its command.
//!
//! `corral paths` holds a graph of millions of small allocations, which
//! mimalloc serves in about two thirds of the time glibc's malloc takes
//! (bench/paths.sh, the README's Performance table). Every other command
//! streams its input and keeps glibc's, whose peak memory is about half
//! mimalloc's there (`corral scan ../shared/corpus`: 45 MB against 91-97
//! MB). The choice is made at the process's first allocation, from
//! `/proc/self/cmdline`, and never changes, so every block is freed by the
//! allocator that gave it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

use mimalloc::MiMalloc;

/// The commands served by mimalloc.
const MIMALLOC_COMMANDS: [&[u8]; 1] = [b"paths"];

pub struct ByCommand;

const UNDECIDED: u8 = 0;
const SYSTEM: u8 = 1;
const MIMALLOC: u8 = 2;

static CHOSEN: AtomicU8 = AtomicU8::new(UNDECIDED);

/// The allocator of this process: decided once, by whichever allocation
/// comes first.
fn chosen() -> u8 {
    match CHOSEN.load(Ordering::Acquire) {
        UNDECIDED => {
            let choice = if runs_on_mimalloc() { MIMALLOC } else { SYSTEM };
            match CHOSEN.compare_exchange(UNDECIDED, choice, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => choice,
                Err(first) => first,
            }
        }
        choice => choice,
    }
}

/// The name of the allocator this process uses, for `--stats`.
pub fn name() -> &'static str {
    match chosen() {
        MIMALLOC => "mimalloc",
        _ => "glibc malloc",
    }
}

/// Whether this process's subcommand is one of [`MIMALLOC_COMMANDS`], read
/// from its command line without allocating: this runs inside the allocator.
fn runs_on_mimalloc() -> bool {
    let mut text = [0u8; 4096];
    // SAFETY: a NUL-terminated path, and a read into a buffer of the length
    // given; the descriptor is closed on every path.
    let read = unsafe {
        let fd = libc::open(
            c"/proc/self/cmdline".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return false;
        }
        let read = libc::read(fd, text.as_mut_ptr().cast(), text.len());
        libc::close(fd);
        read
    };
    let Ok(read) = usize::try_from(read) else {
        return false;
    };
    subcommand(text[..read].split(|&b| b == 0).skip(1))
        .is_some_and(|command| MIMALLOC_COMMANDS.contains(&command))
}

/// The first argument that is neither an option nor the value of one of
/// the global options that take one (`--output`, `-o`, `--color`).
fn subcommand<'a>(mut args: impl Iterator<Item = &'a [u8]>) -> Option<&'a [u8]> {
    while let Some(arg) = args.next() {
        match arg {
            b"-o" | b"--output" | b"--color" => {
                args.next();
            }
            option if option.starts_with(b"-") => {}
            command => return Some(command),
        }
    }
    None
}

// SAFETY: every call goes to the one allocator chosen for the process, which
// never changes once chosen, so each block is reallocated and freed by the
// allocator that gave it.
unsafe impl GlobalAlloc for ByCommand {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match chosen() {
            MIMALLOC => unsafe { MiMalloc.alloc(layout) },
            _ => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match chosen() {
            MIMALLOC => unsafe { MiMalloc.alloc_zeroed(layout) },
            _ => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match chosen() {
            MIMALLOC => unsafe { MiMalloc.dealloc(ptr, layout) },
            _ => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match chosen() {
            MIMALLOC => unsafe { MiMalloc.realloc(ptr, layout, new_size) },
            _ => unsafe { System.realloc(ptr, layout, new_size) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(line: &str) -> Option<String> {
        subcommand(line.split(' ').map(str::as_bytes))
            .map(|c| String::from_utf8_lossy(c).into_owned())
    }

    #[test]
    fn the_subcommand_is_the_first_argument_that_is_no_option_nor_its_value() {
        assert_eq!(command("paths cluster.yaml").as_deref(), Some("paths"));
        assert_eq!(command("--quiet paths x").as_deref(), Some("paths"));
        assert_eq!(command("-o paths scan x").as_deref(), Some("scan"));
        assert_eq!(
            command("--output paths --color never pss x").as_deref(),
            Some("pss")
        );
        assert_eq!(command("--output=paths scan").as_deref(), Some("scan"));
        assert_eq!(command("-q -v").as_deref(), None);
    }
}
