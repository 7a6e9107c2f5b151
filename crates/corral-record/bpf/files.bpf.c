// SPDX-License-Identifier: GPL-2.0
//
// The files each recorded mount namespace writes, with their paths as the
// process sees them (resolved up to the task's root, so inside a container
// after pivot_root). Tracepoints on the syscalls concerned only: nothing
// runs on other syscalls, and fentry on the LSM hooks is refused by some
// kernels.
//   record_open_*     the exit of open, openat, openat2 and creat: the file
//                     opened for writing (or created), found from the
//                     returned descriptor, so its path is the kernel's,
//                     with the filesystem written and whether it is the
//                     root filesystem (the mount of the task's root: what
//                     readOnlyRootFilesystem would forbid) or another mount
//                     (a volume, tmpfs, /dev, /proc).
//   record_ftruncate  the same, for the descriptor truncated.
//   record_mkdir*, record_unlink*, record_rmdir, record_rename*,
//   record_truncate   the entry of the path-based syscalls: the path as
//                     passed, and the directory it is relative to (the
//                     working directory or the dfd's), which userspace
//                     joins and places on the namespace's mounts.
//
// Maps:
//   file_writes  HASH  struct file_key -> u64, how many times (attempts,
//                for the path-based syscalls).

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

// The tracepoint records of the syscalls (see
// /sys/kernel/tracing/events/syscalls/*/format).
struct syscall_enter {
	__u64 common;
	__u64 nr;
	__u64 args[6];
};

struct syscall_exit {
	__u64 common;
	__u64 nr;
	long ret;
};

// A new key for `operation` in the recorded namespace of the current task,
// or 0 when it is not recorded.
static __always_inline struct file_key *new_key(enum file_operation operation)
{
	__u64 mntns = current_mntns();
	struct namespace_info *info = recorded_namespace(mntns);
	if (!info)
		return 0;
	__u32 zero = 0;
	struct file_key *key = bpf_map_lookup_elem(&scratch, &zero);
	if (!key)
		return 0;
	__builtin_memset(key, 0, sizeof(*key));
	key->mntns = mntns;
	key->operation = operation;
	key->phase = phase_of(info);
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

static __always_inline void record_file(struct file *file, enum file_operation operation)
{
	if (!file)
		return;
	struct file_key *key = new_key(operation);
	if (!key)
		return;
	resolve(key, BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry));
	COUNT_IN(file_writes, key, DROP_FILES);
}

static __always_inline void record_opened(struct syscall_exit *ctx)
{
	if (ctx->ret < 0)
		return;
	struct file *file = file_of(ctx->ret);
	if (!file)
		return;
	unsigned int mode = BPF_CORE_READ(file, f_mode);
	if (!(mode & FMODE_WRITE))
		return;
	record_file(file, (mode & FMODE_CREATED) ? FILE_CREATE : FILE_OPEN_WRITE);
}

SEC("tracepoint/syscalls/sys_exit_open")
int record_open_exit(struct syscall_exit *ctx)
{
	record_opened(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int record_openat_exit(struct syscall_exit *ctx)
{
	record_opened(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int record_openat2_exit(struct syscall_exit *ctx)
{
	record_opened(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_creat")
int record_creat_exit(struct syscall_exit *ctx)
{
	record_opened(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_ftruncate")
int record_ftruncate(struct syscall_enter *ctx)
{
	record_file(file_of(ctx->args[0]), FILE_TRUNCATE);
	return 0;
}

// Record `path` as passed, relative to `dfd`.
static __always_inline void record_path(long dfd, const char *path, enum file_operation operation)
{
	struct file_key *key = new_key(operation);
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

SEC("tracepoint/syscalls/sys_enter_mkdir")
int record_mkdir(struct syscall_enter *ctx)
{
	record_path(AT_FDCWD, (const char *)ctx->args[0], FILE_MKDIR);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mkdirat")
int record_mkdirat(struct syscall_enter *ctx)
{
	record_path(ctx->args[0], (const char *)ctx->args[1], FILE_MKDIR);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int record_unlink(struct syscall_enter *ctx)
{
	record_path(AT_FDCWD, (const char *)ctx->args[0], FILE_UNLINK);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int record_unlinkat(struct syscall_enter *ctx)
{
	enum file_operation operation = (ctx->args[2] & AT_REMOVEDIR) ? FILE_RMDIR : FILE_UNLINK;
	record_path(ctx->args[0], (const char *)ctx->args[1], operation);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_rmdir")
int record_rmdir(struct syscall_enter *ctx)
{
	record_path(AT_FDCWD, (const char *)ctx->args[0], FILE_RMDIR);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_rename")
int record_rename(struct syscall_enter *ctx)
{
	record_path(AT_FDCWD, (const char *)ctx->args[0], FILE_RENAME_FROM);
	record_path(AT_FDCWD, (const char *)ctx->args[1], FILE_RENAME_TO);
	return 0;
}

// renameat and renameat2 share their first four arguments.
SEC("tracepoint/syscalls/sys_enter_renameat")
int record_renameat(struct syscall_enter *ctx)
{
	record_path(ctx->args[0], (const char *)ctx->args[1], FILE_RENAME_FROM);
	record_path(ctx->args[2], (const char *)ctx->args[3], FILE_RENAME_TO);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_renameat2")
int record_renameat2(struct syscall_enter *ctx)
{
	record_path(ctx->args[0], (const char *)ctx->args[1], FILE_RENAME_FROM);
	record_path(ctx->args[2], (const char *)ctx->args[3], FILE_RENAME_TO);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_truncate")
int record_truncate(struct syscall_enter *ctx)
{
	record_path(AT_FDCWD, (const char *)ctx->args[0], FILE_TRUNCATE);
	return 0;
}
