// SPDX-License-Identifier: GPL-2.0
//
// Which programs each recorded mount namespace executes, as which effective
// uid and gid, and whether the file was set-user-ID or set-group-ID,
// aggregated in the kernel from the `sched_process_exec` tracepoint (after
// the exec succeeded, so the credentials are the new program's).
//
// Maps:
//   tracked_mntns  HASH  mount namespace inode (u32) -> u8; userspace inserts
//                  the namespaces to record.
//   execs          HASH  struct exec_key -> u64, how many times.
//
// Globals: host_mntns, as in syscalls.bpf.c.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "task.h"

struct inode {
	unsigned short i_mode;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct linux_binprm {
	struct file *file;
	const char *filename;
} __attribute__((preserve_access_index));

#define PATH_BYTES 256
#define S_ISUID 04000
#define S_ISGID 02000

struct exec_key {
	__u32 mntns;
	__u32 euid;
	__u32 egid;
	__u32 mode_bits; // S_ISUID | S_ISGID of the executed file
	char path[PATH_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} tracked_mntns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct exec_key);
	__type(value, __u64);
} execs SEC(".maps");

const volatile __u32 host_mntns = 0;

// sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
SEC("tp_btf/sched_process_exec")
int record_exec(unsigned long long *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];
	struct exec_key key;
	__u32 mntns = current_mntns();

	if (mntns == host_mntns || !bpf_map_lookup_elem(&tracked_mntns, &mntns))
		return 0;
	__builtin_memset(&key, 0, sizeof(key));
	key.mntns = mntns;
	key.euid = task->cred->euid.val;
	key.egid = task->cred->egid.val;
	key.mode_bits = bprm->file->f_inode->i_mode & (S_ISUID | S_ISGID);
	bpf_probe_read_kernel_str(key.path, sizeof(key.path), bprm->filename);
	__u64 one = 1;
	__u64 *count = bpf_map_lookup_elem(&execs, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&execs, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
