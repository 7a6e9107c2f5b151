// SPDX-License-Identifier: GPL-2.0
//
// What runs in each recorded mount namespace, and as whom, aggregated in
// the kernel:
//   record_exec         `sched_process_exec` (after the exec succeeded, so
//                       the credentials are the new program's): the path,
//                       argv[0], the uids and gids, the capabilities the
//                       program holds, and whether the file was set-user-ID
//                       or set-group-ID. The first exec in a namespace also
//                       ends its runtime phase and names the process, which
//                       is how userspace finds the container it belongs to.
//   record_exit         `sched_process_exit`: the uids and gids each process
//                       ended with, which catches a change without an exec
//                       (a server dropping root after binding its port);
//                       userspace adds the processes still running when the
//                       recording ends.
//
// Maps:
//   execs        HASH  struct exec_key -> u64, how many times.
//   credentials  HASH  struct credential_key -> u64, how many times.

#include "common.h"

struct inode {
	unsigned short i_mode;
} PAI;

struct file {
	struct inode *f_inode;
} PAI;

struct linux_binprm {
	struct file *file;
	const char *filename;
} PAI;

#define PATH_BYTES 256
#define ARGV0_BYTES 64
#define S_ISUID 04000
#define S_ISGID 02000

struct exec_key {
	__u64 mntns;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u64 permitted; // capability sets after the exec
	__u64 effective;
	__u64 ambient;
	__u32 mode_bits; // S_ISUID | S_ISGID of the executed file
	__u32 reserved;
	char path[PATH_BYTES];
	char argv0[ARGV0_BYTES];
};

struct credential_key {
	__u64 mntns;
	__u32 phase;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 reserved;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct exec_key);
	__type(value, __u64);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct credential_key);
	__type(value, __u64);
} credentials SEC(".maps");

// Capability sets are one u64 since 6.3; before, two u32 (not read).
#define CAPABILITY_SET(cred, set) \
	(bpf_core_field_exists((cred)->set.val) ? BPF_CORE_READ(cred, set.val) : 0)

// sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
SEC("tp_btf/sched_process_exec")
int record_exec(unsigned long long *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];
	__u64 mntns = task_mntns(task);
	struct namespace_info *info = recorded_namespace(mntns);
	if (!info)
		return 0;
	if (!info->workload_started) {
		info->workload_tgid = task->tgid;
		info->workload_start = task->start_boottime;
		info->workload_started = 1;
	}

	__u32 zero = 0;
	struct exec_key *key = bpf_map_lookup_elem(&scratch, &zero);
	if (!key)
		return 0;
	__builtin_memset(key, 0, sizeof(*key));
	const struct cred *cred = task->cred;
	key->mntns = mntns;
	key->uid = cred->uid.val;
	key->gid = cred->gid.val;
	key->euid = cred->euid.val;
	key->egid = cred->egid.val;
	key->permitted = CAPABILITY_SET(cred, cap_permitted);
	key->effective = CAPABILITY_SET(cred, cap_effective);
	key->ambient = CAPABILITY_SET(cred, cap_ambient);
	key->mode_bits = bprm->file->f_inode->i_mode & (S_ISUID | S_ISGID);
	bpf_probe_read_kernel_str(key->path, sizeof(key->path), bprm->filename);
	// The new program's arguments, just copied onto its stack.
	bpf_probe_read_user_str(key->argv0, sizeof(key->argv0), (void *)task->mm->arg_start);
	COUNT_IN(execs, key, DROP_EXECS);
	return 0;
}

// sched_process_exit(struct task_struct *p, bool group_dead)
SEC("tp_btf/sched_process_exit")
int record_exit(unsigned long long *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	__u64 mntns = task_mntns(task);
	struct namespace_info *info = recorded_namespace(mntns);
	if (!info)
		return 0;
	const struct cred *cred = task->cred;
	struct credential_key key = {
		.mntns = mntns,
		.phase = phase_of(info),
		.uid = cred->uid.val,
		.gid = cred->gid.val,
		.euid = cred->euid.val,
		.egid = cred->egid.val,
	};
	COUNT_IN(credentials, &key, DROP_CREDENTIALS);
	return 0;
}
