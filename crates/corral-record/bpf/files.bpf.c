// SPDX-License-Identifier: GPL-2.0
//
// The files each recorded mount namespace writes, with their paths as the
// process sees them (inside a container, from its root). No hook of its
// own: record_sys_enter (syscalls.bpf.c) calls record_file_syscall for the
// syscalls in `file_syscalls`, in recorded namespaces only. A tracepoint on
// each syscall (syscalls:sys_enter_mkdirat...) would switch every task on
// the machine to the slow syscall path, adding over 100 ns to every
// syscall; fentry on the LSM hooks is refused by some kernels.
//
// Each write is recorded at the syscall's entry, as attempted: the path as
// passed, and the directory a relative one starts from (the working
// directory or the dfd's), which the kernel names by walking up its
// dentries and mounts to the task's root. Userspace joins them and places
// the result on the namespace's mounts (root filesystem, volume, tmpfs...).
// Opens count when they ask for writing (O_WRONLY, O_RDWR, O_CREAT or
// O_TRUNC); ftruncate names its descriptor's file.
//
// Maps:
//   file_writes  HASH  struct file_key -> u64, how many times.
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

// Syscall argument registers: x86_64 and aarch64 (CO-RE picks the one
// the running kernel has).
struct pt_regs___x86 {
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
					       __u32 phase)
{
	__u32 zero = 0;
	struct file_key *key = bpf_map_lookup_elem(&scratch, &zero);
	if (!key)
		return 0;
	__builtin_memset(key, 0, sizeof(*key));
	key->mntns = mntns;
	key->operation = operation;
	key->phase = phase;
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

// Record `path` as passed, relative to `dfd`.
static __always_inline void record_path(long dfd, const char *path, enum file_operation operation,
					__u64 mntns, __u32 phase)
{
	struct file_key *key = new_key(operation, mntns, phase);
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
	COUNT_IN(file_writes, key, DROP_FILES);
}

#define O_ACCMODE 03
#define O_CREAT 0100
#define O_TRUNC 01000

static __always_inline void record_open(long dfd, const char *path, __u64 flags, __u64 mntns,
					__u32 phase)
{
	if (flags & O_CREAT)
		record_path(dfd, path, FILE_CREATE, mntns, phase);
	else if ((flags & O_ACCMODE) || (flags & O_TRUNC))
		record_path(dfd, path, FILE_OPEN_WRITE, mntns, phase);
}

// Called by record_sys_enter for a syscall in `file_syscalls`, in a
// recorded namespace. A global function: verified once, on its own.
// `regs_address`: the syscall's struct pt_regs, as a number (a global
// function takes no kernel pointers).
__noinline int record_file_syscall(__u64 regs_address, long id, __u64 mntns, __u32 phase)
{
	void *regs = (void *)regs_address;
	if (!regs)
		return 0;
	unsigned long a0 = syscall_arg(regs, 0), a1 = syscall_arg(regs, 1);
	unsigned long a2 = syscall_arg(regs, 2), a3 = syscall_arg(regs, 3);
	if (id == nr_openat) {
		record_open(a0, (const char *)a1, a2, mntns, phase);
	} else if (id == nr_open) {
		record_open(AT_FDCWD, (const char *)a0, a1, mntns, phase);
	} else if (id == nr_creat) {
		record_path(AT_FDCWD, (const char *)a0, FILE_CREATE, mntns, phase);
	} else if (id == nr_openat2) {
		__u64 flags = 0; // struct open_how begins with its flags
		bpf_probe_read_user(&flags, sizeof(flags), (void *)a2);
		record_open(a0, (const char *)a1, flags, mntns, phase);
	} else if (id == nr_ftruncate) {
		struct file *file = file_of(a0);
		if (!file)
			return 0;
		struct file_key *key = new_key(FILE_TRUNCATE, mntns, phase);
		if (!key)
			return 0;
		resolve(key, BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry));
		COUNT_IN(file_writes, key, DROP_FILES);
	} else if (id == nr_truncate) {
		record_path(AT_FDCWD, (const char *)a0, FILE_TRUNCATE, mntns, phase);
	} else if (id == nr_mkdirat) {
		record_path(a0, (const char *)a1, FILE_MKDIR, mntns, phase);
	} else if (id == nr_mkdir) {
		record_path(AT_FDCWD, (const char *)a0, FILE_MKDIR, mntns, phase);
	} else if (id == nr_unlinkat) {
		record_path(a0, (const char *)a1, (a2 & AT_REMOVEDIR) ? FILE_RMDIR : FILE_UNLINK, mntns,
			    phase);
	} else if (id == nr_unlink) {
		record_path(AT_FDCWD, (const char *)a0, FILE_UNLINK, mntns, phase);
	} else if (id == nr_rmdir) {
		record_path(AT_FDCWD, (const char *)a0, FILE_RMDIR, mntns, phase);
	} else if (id == nr_rename) {
		record_path(AT_FDCWD, (const char *)a0, FILE_RENAME_FROM, mntns, phase);
		record_path(AT_FDCWD, (const char *)a1, FILE_RENAME_TO, mntns, phase);
	} else if (id == nr_renameat || id == nr_renameat2) {
		record_path(a0, (const char *)a1, FILE_RENAME_FROM, mntns, phase);
		record_path(a2, (const char *)a3, FILE_RENAME_TO, mntns, phase);
	}
	return 0;
}
