// SPDX-License-Identifier: GPL-2.0
//
// The files each recorded mount namespace writes, with their paths as the
// process sees them (inside a container, from its root), and the writes it
// tried that failed. record_sys_enter (syscalls.bpf.c) calls
// record_file_syscall for the syscalls in `file_syscalls`, in recorded
// namespaces only, which keeps the call's arguments for the thread in
// `pending_files`; record_sys_exit (below, on the raw sys_exit tracepoint)
// takes them back when the same syscall returns and records the operation
// with its result. A tracepoint on each syscall (syscalls:sys_enter_mkdirat...)
// would switch every task on the machine to the slow syscall path, adding
// over 100 ns to every syscall; fentry on the LSM hooks is refused by some
// kernels.
//
// A write counts only when it happened: a call that returned an error (a
// `mkdir -p` over an existing directory, EEXIST; EROFS under a read-only
// root) goes to `file_write_failures` with its errno, never to
// `file_writes`. The path is read at exit from the arguments kept at entry:
// the path as passed, and the directory a relative one starts from (the
// working directory or the dfd's), which the kernel names by walking up
// its dentries and mounts to the task's root. Userspace joins them and
// places the result on the namespace's mounts (root filesystem, volume,
// tmpfs...). Opens count when they ask for writing (O_WRONLY, O_RDWR,
// O_CREAT or O_TRUNC); a successful one with O_CREAT is a `create` only
// when the kernel created the file (FMODE_CREATED on the new descriptor),
// else an open for writing, or nothing when it opened an existing file
// read-only without O_TRUNC. ftruncate names its descriptor's file.
// Native syscalls only: 32-bit compat ones are not followed (their numbers
// differ), as before.
//
// Maps:
//   file_writes          HASH  struct file_key -> u64, how many times
//                        (`error` 0).
//   file_write_failures  HASH  struct file_key -> u64, the failed calls by
//                        errno (`error`).
//   pending_files        HASH  pid_tgid -> struct pending_file: the call a
//                        thread is in, from entry to exit; deleted at exit.
//                        A thread is in one syscall at a time, so it holds
//                        at most one entry per thread.
//
// Globals (set by the loader for the machine's syscall numbers):
//   file_syscalls        bit n: syscall n is one of these
//   nr_open, nr_creat... each syscall's number, or -1 where the
//                        architecture has no such syscall.

#include "common.h"

struct file {
	struct path f_path;
	unsigned int f_mode;
} PAI;

struct fdtable {
	struct file **fd;
	unsigned int max_fds;
} PAI;

struct files_struct {
	struct fdtable *fdt;
} PAI;

struct task_struct___files {
	struct files_struct *files;
} PAI;

struct fs_struct___pwd {
	struct path pwd;
} PAI;

#define FMODE_WRITE 0x2
#define FMODE_CREATED 0x100000
#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define DEPTH 10
#define NAME_BYTES 32
#define TAIL_BYTES 128

enum file_operation {
	FILE_OPEN_WRITE = 1,
	FILE_CREATE,
	FILE_MKDIR,
	FILE_UNLINK,
	FILE_RMDIR,
	FILE_RENAME_FROM,
	FILE_RENAME_TO,
	FILE_TRUNCATE,
};

#define FLAG_ROOT_FILESYSTEM 0x1 // the file is on the mount of the task's root
#define FLAG_TRUNCATED 0x2       // deeper than DEPTH: the top is missing
#define FLAG_AS_PASSED 0x4       // `tail` is the path as passed; mount unknown

struct file_key {
	__u64 mntns;
	__u8 operation;
	__u8 flags;
	__u8 phase;
	__u8 depth;
	__u32 fs_magic;
	__u32 error; // the errno a failed call returned; 0 for a write
	__u32 reserved;
	// A path the kernel resolved (the file, or the directory `tail` is
	// relative to): its components, the last one first; a name longer
	// than NAME_BYTES - 1 is cut.
	char names[DEPTH][NAME_BYTES];
	// The path as passed to a path-based syscall.
	char tail[TAIL_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct file_key);
	__type(value, __u64);
} file_writes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct file_key);
	__type(value, __u64);
} file_write_failures SEC(".maps");

struct pending_file {
	__u64 mntns;
	long id;
	unsigned long args[4];
	__u32 phase;
	__u32 reserved;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct pending_file);
} pending_files SEC(".maps");

// Syscall argument registers: x86_64 and aarch64 (CO-RE picks the one
// the running kernel has).
struct pt_regs___x86 {
	unsigned long orig_ax;
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long r10;
} PAI;

struct user_pt_regs {
	__u64 regs[31];
} PAI;

struct pt_regs___arm64 {
	struct user_pt_regs user_regs;
	int syscallno;
} PAI;

static __always_inline unsigned long syscall_arg(void *regs, int n)
{
	struct pt_regs___x86 *x86 = regs;
	if (bpf_core_field_exists(x86->di)) {
		switch (n) {
		case 0:
			return BPF_CORE_READ(x86, di);
		case 1:
			return BPF_CORE_READ(x86, si);
		case 2:
			return BPF_CORE_READ(x86, dx);
		default:
			return BPF_CORE_READ(x86, r10);
		}
	}
	struct pt_regs___arm64 *arm64 = regs;
	return BPF_CORE_READ(arm64, user_regs.regs[n & 3]);
}

const volatile __u64 file_syscalls[16] __weak = {};
const volatile long nr_open = -1, nr_creat = -1, nr_openat = -1, nr_openat2 = -1;
const volatile long nr_truncate = -1, nr_ftruncate = -1;
const volatile long nr_mkdir = -1, nr_mkdirat = -1, nr_rmdir = -1;
const volatile long nr_unlink = -1, nr_unlinkat = -1;
const volatile long nr_rename = -1, nr_renameat = -1, nr_renameat2 = -1;

// A new key for `operation` in the recorded namespace of the current task,
// or 0 when it is not recorded.
static __always_inline struct file_key *new_key(enum file_operation operation, __u64 mntns,
					       __u32 phase, __u32 error)
{
	__u32 zero = 0;
	struct file_key *key = bpf_map_lookup_elem(&scratch, &zero);
	if (!key)
		return 0;
	__builtin_memset(key, 0, sizeof(*key));
	key->mntns = mntns;
	key->operation = operation;
	key->phase = phase;
	key->error = error;
	return key;
}

// Field offsets the walk reads by: relocated in the program itself, as CO-RE
// relocations inside a bpf_loop callback are not applied by the loader.
struct offsets {
	__u64 mnt_root;       // vfsmount.mnt_root
	__u64 d_parent;       // dentry.d_parent
	__u64 d_name;         // dentry.d_name.name
	__u64 mnt_parent;     // mount.mnt_parent
	__u64 mnt_mountpoint; // mount.mnt_mountpoint
	__u64 mnt;            // mount.mnt
};

struct walk {
	struct file_key *key;
	void *vfsmnt;
	void *mnt;
	void *dentry;
	void *root_mnt;
	void *root_dentry;
	__u32 depth;
	__u32 done;
	struct offsets at;
};

static __always_inline void *read_pointer(void *base, __u64 offset)
{
	void *value = 0;
	bpf_probe_read_kernel(&value, sizeof(value), base + offset);
	return value;
}

// One step of the walk up a path (bpf_loop: verified once, not once per
// step): name one component, or climb out of a mount.
static long walk_up(__u64 index, struct walk *walk)
{
	void *dentry = walk->dentry;
	if (dentry == walk->root_dentry && walk->vfsmnt == walk->root_mnt) {
		walk->done = 1;
		return 1;
	}
	void *mnt_root = read_pointer(walk->vfsmnt, walk->at.mnt_root);
	void *parent = read_pointer(dentry, walk->at.d_parent);
	if (dentry == mnt_root || dentry == parent) {
		void *up = read_pointer(walk->mnt, walk->at.mnt_parent);
		if (up == walk->mnt) {
			walk->done = 1; // the top of the mount tree
			return 1;
		}
		walk->dentry = read_pointer(walk->mnt, walk->at.mnt_mountpoint);
		walk->mnt = up;
		walk->vfsmnt = up + walk->at.mnt;
		return 0;
	}
	__u32 depth = walk->depth;
	if (depth >= DEPTH)
		return 1;
	bpf_probe_read_kernel_str(walk->key->names[depth], NAME_BYTES,
				  read_pointer(dentry, walk->at.d_name));
	walk->depth = depth + 1;
	walk->dentry = parent;
	return 0;
}

// Name the path `vfsmnt`, `dentry` into `key`, up to the task's root.
static __always_inline void resolve(struct file_key *key, struct vfsmount *vfsmnt,
				    struct dentry *dentry)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct walk walk = {
		.key = key,
		.vfsmnt = vfsmnt,
		.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt),
		.dentry = dentry,
		.root_mnt = BPF_CORE_READ(task, fs, root.mnt),
		.root_dentry = BPF_CORE_READ(task, fs, root.dentry),
		.at = {
			.mnt_root = bpf_core_field_offset(struct vfsmount, mnt_root),
			.d_parent = bpf_core_field_offset(struct dentry, d_parent),
			.d_name = bpf_core_field_offset(struct dentry, d_name) +
				  bpf_core_field_offset(struct qstr, name),
			.mnt_parent = bpf_core_field_offset(struct mount, mnt_parent),
			.mnt_mountpoint = bpf_core_field_offset(struct mount, mnt_mountpoint),
			.mnt = bpf_core_field_offset(struct mount, mnt),
		},
	};
	key->fs_magic = BPF_CORE_READ(vfsmnt, mnt_sb, s_magic);
	if ((void *)vfsmnt == walk.root_mnt)
		key->flags |= FLAG_ROOT_FILESYSTEM;
	bpf_loop(DEPTH * 2, walk_up, &walk, 0);
	if (!walk.done)
		key->flags |= FLAG_TRUNCATED;
	key->depth = walk.depth;
}

// The file open at descriptor `fd` of the current task.
static __always_inline struct file *file_of(long fd)
{
	struct task_struct___files *task = (void *)bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = 0;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

// Count `key`: a write, or a failed attempt when it carries an errno.
static __always_inline void count_file(struct file_key *key)
{
	if (key->error)
		COUNT_IN(file_write_failures, key, DROP_FILE_FAILURES);
	else
		COUNT_IN(file_writes, key, DROP_FILES);
}

// Record `path` as passed, relative to `dfd`.
static __always_inline void record_path(long dfd, const char *path, enum file_operation operation,
					__u64 mntns, __u32 phase, __u32 error)
{
	struct file_key *key = new_key(operation, mntns, phase, error);
	if (!key)
		return;
	key->flags |= FLAG_AS_PASSED;
	if (bpf_probe_read_user_str(key->tail, sizeof(key->tail), path) <= 0)
		return;
	if (key->tail[0] != '/') {
		if ((int)dfd == AT_FDCWD) {
			struct task_struct *task = bpf_get_current_task_btf();
			struct fs_struct___pwd *fs = (void *)BPF_CORE_READ(task, fs);
			resolve(key, BPF_CORE_READ(fs, pwd.mnt), BPF_CORE_READ(fs, pwd.dentry));
		} else {
			struct file *dir = file_of(dfd);
			if (!dir)
				return;
			resolve(key, BPF_CORE_READ(dir, f_path.mnt), BPF_CORE_READ(dir, f_path.dentry));
		}
		// The mount is the directory's, which the tail may leave.
		key->flags &= ~FLAG_ROOT_FILESYSTEM;
		key->fs_magic = 0;
	}
	count_file(key);
}

#define O_ACCMODE 03
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_WRONLY 01

// An open that returned `ret` (a descriptor, or -errno).
static __always_inline void record_open(long dfd, const char *path, __u64 flags, long ret,
					__u64 mntns, __u32 phase)
{
	int writes = (flags & O_ACCMODE) || (flags & O_TRUNC);
	if (ret < 0) {
		if (flags & O_CREAT)
			record_path(dfd, path, FILE_CREATE, mntns, phase, -ret);
		else if (writes)
			record_path(dfd, path, FILE_OPEN_WRITE, mntns, phase, -ret);
		return;
	}
	if (flags & O_CREAT) {
		struct file *file = file_of(ret);
		if (file && (BPF_CORE_READ(file, f_mode) & FMODE_CREATED)) {
			record_path(dfd, path, FILE_CREATE, mntns, phase, 0);
			return;
		}
	}
	if (writes)
		record_path(dfd, path, FILE_OPEN_WRITE, mntns, phase, 0);
}

// Called by record_sys_enter for a syscall in `file_syscalls`, in a
// recorded namespace: keep its arguments until it returns. A global
// function: verified once, on its own. `regs_address`: the syscall's
// struct pt_regs, as a number (a global function takes no kernel pointers).
__noinline int record_file_syscall(__u64 regs_address, long id, __u64 mntns, __u32 phase)
{
	void *regs = (void *)regs_address;
	if (!regs)
		return 0;
	struct pending_file call = {
		.mntns = mntns,
		.id = id,
		.args = { syscall_arg(regs, 0), syscall_arg(regs, 1), syscall_arg(regs, 2),
			  syscall_arg(regs, 3) },
		.phase = phase,
	};
	__u64 thread = bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&pending_files, &thread, &call, BPF_ANY))
		count_drop(DROP_FILES);
	return 0;
}

// The current thread's syscall `id` returned `ret`: record the file
// operation it kept at entry, if any, with its result. A global function,
// as record_file_syscall.
__noinline int record_file_result(long id, long ret)
{
	__u64 thread = bpf_get_current_pid_tgid();
	struct pending_file *pending = bpf_map_lookup_elem(&pending_files, &thread);
	if (!pending)
		return 0;
	struct pending_file call = *pending;
	bpf_map_delete_elem(&pending_files, &thread);
	if (call.id != id)
		return 0; // kept by a call whose exit was not seen
	__u64 mntns = call.mntns;
	__u32 phase = call.phase;
	__u32 error = ret < 0 ? (__u32)-ret : 0;
	unsigned long a0 = call.args[0], a1 = call.args[1];
	unsigned long a2 = call.args[2], a3 = call.args[3];
	if (id == nr_openat) {
		record_open(a0, (const char *)a1, a2, ret, mntns, phase);
	} else if (id == nr_open) {
		record_open(AT_FDCWD, (const char *)a0, a1, ret, mntns, phase);
	} else if (id == nr_creat) {
		// creat(path, mode) is open(path, O_CREAT | O_WRONLY | O_TRUNC, mode).
		record_open(AT_FDCWD, (const char *)a0, O_CREAT | O_WRONLY | O_TRUNC, ret, mntns,
			    phase);
	} else if (id == nr_openat2) {
		__u64 flags = 0; // struct open_how begins with its flags
		bpf_probe_read_user(&flags, sizeof(flags), (void *)a2);
		record_open(a0, (const char *)a1, flags, ret, mntns, phase);
	} else if (id == nr_ftruncate) {
		struct file *file = file_of(a0);
		if (!file)
			return 0;
		struct file_key *key = new_key(FILE_TRUNCATE, mntns, phase, error);
		if (!key)
			return 0;
		resolve(key, BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry));
		count_file(key);
	} else if (id == nr_truncate) {
		record_path(AT_FDCWD, (const char *)a0, FILE_TRUNCATE, mntns, phase, error);
	} else if (id == nr_mkdirat) {
		record_path(a0, (const char *)a1, FILE_MKDIR, mntns, phase, error);
	} else if (id == nr_mkdir) {
		record_path(AT_FDCWD, (const char *)a0, FILE_MKDIR, mntns, phase, error);
	} else if (id == nr_unlinkat) {
		record_path(a0, (const char *)a1, (a2 & AT_REMOVEDIR) ? FILE_RMDIR : FILE_UNLINK, mntns,
			    phase, error);
	} else if (id == nr_unlink) {
		record_path(AT_FDCWD, (const char *)a0, FILE_UNLINK, mntns, phase, error);
	} else if (id == nr_rmdir) {
		record_path(AT_FDCWD, (const char *)a0, FILE_RMDIR, mntns, phase, error);
	} else if (id == nr_rename) {
		record_path(AT_FDCWD, (const char *)a0, FILE_RENAME_FROM, mntns, phase, error);
		record_path(AT_FDCWD, (const char *)a1, FILE_RENAME_TO, mntns, phase, error);
	} else if (id == nr_renameat || id == nr_renameat2) {
		record_path(a0, (const char *)a1, FILE_RENAME_FROM, mntns, phase, error);
		record_path(a2, (const char *)a3, FILE_RENAME_TO, mntns, phase, error);
	}
	return 0;
}

// sys_exit(struct pt_regs *regs, long ret): every syscall's return on the
// machine, so the common case leaves at once, with plain loads and no
// helper call: a syscall that writes no file, then the host's own
// namespace.
SEC("tp_btf/sys_exit")
int record_sys_exit(unsigned long long *ctx)
{
	struct pt_regs___x86 *x86 = (void *)ctx[0];
	long id;
	if (bpf_core_field_exists(x86->orig_ax))
		id = x86->orig_ax;
	else
		id = ((struct pt_regs___arm64 *)(void *)ctx[0])->syscallno;
	if (id < 0 || id >= 1024 || !(file_syscalls[(id >> 6) & 15] & (1ULL << (id & 63))))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (unrecorded_mntns(task_mntns(task)))
		return 0;
	if (bpf_core_field_exists(task->thread_info.status) &&
	    (task->thread_info.status & TS_COMPAT))
		return 0;
	return record_file_result(id, (long)ctx[1]);
}
