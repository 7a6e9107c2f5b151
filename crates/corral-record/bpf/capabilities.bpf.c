// SPDX-License-Identifier: GPL-2.0
//
// Which capabilities each recorded mount namespace checks, and whether each
// check was granted or denied, aggregated in the kernel from the
// `cap_capable` tracepoint. Checks made on overridden credentials (the
// kernel acting on a task's behalf with other credentials) are ignored.
//
// Maps:
//   caps_by_mntns  HASH  mount namespace inode (u32) -> struct cap_set
//                  Userspace inserts the namespaces to record.
//
// Globals: host_mntns, as in syscalls.bpf.c.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "task.h"

struct cap_set {
	__u64 granted; // bit n: capability n was checked and granted
	__u64 denied;  // bit n: capability n was checked and denied
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct cap_set);
} caps_by_mntns SEC(".maps");

const volatile __u32 host_mntns = 0;

// cap_capable(const struct cred *cred, struct user_namespace *target_ns,
//             const struct user_namespace *capable_ns, int cap, int ret)
SEC("tp_btf/cap_capable")
int record_cap_capable(unsigned long long *ctx)
{
	const struct cred *cred = (const struct cred *)ctx[0];
	int cap = (int)ctx[3];
	int ret = (int)ctx[4];
	struct task_struct *task = bpf_get_current_task_btf();

	if (cred != task->cred || cap < 0 || cap > 63)
		return 0;
	__u32 mntns = current_mntns();
	if (mntns == host_mntns)
		return 0;
	struct cap_set *set = bpf_map_lookup_elem(&caps_by_mntns, &mntns);
	if (!set)
		return 0;
	__u64 bit = 1ULL << cap;
	if (ret == 0)
		__sync_fetch_and_or(&set->granted, bit);
	else
		__sync_fetch_and_or(&set->denied, bit);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
