// SPDX-License-Identifier: GPL-2.0
//
// Which capabilities each recorded mount namespace checks, with the verdict
// and whether the check was audited, aggregated in the kernel. An unaudited
// check (CAP_OPT_NOAUDIT) is the kernel probing, not the workload asking:
// every private writable mmap checks CAP_SYS_ADMIN that way, so a policy
// built on unaudited checks would grant CAP_SYS_ADMIN to everything.
//
// Checks made on credentials other than the task's own (the kernel acting
// with overridden credentials, or judging another task) are ignored.
//
// The capability:cap_capable tracepoint (6.13 and later; fexit on
// cap_capable before) carries no audit option, and fentry is not allowed
// everywhere (some kernels refuse every fentry program), so an unaudited check is told by who made it: the loader passes the address
// ranges of the kernel functions that check without auditing
// (ns_capable_noaudit, has_ns_capability_noaudit, cap_vm_enough_memory...,
// from /proc/kallsyms), and a check with one of them on its stack is
// unaudited. Without the ranges every check counts as audited, the safe
// side for a policy.
//
// Maps:
//   caps_by_mntns  HASH  mount namespace id (u64) -> struct cap_set.
//
// Globals: noaudit_ranges, [start, end) pairs, zero for unused ones.

#include "common.h"

enum cap_verdict {
	GRANTED_AUDITED,
	GRANTED_UNAUDITED,
	DENIED_AUDITED,
	DENIED_UNAUDITED,
};

struct cap_set {
	__u64 bits[2][4]; // [phase][verdict]: bit n for capability n
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct cap_set);
} caps_by_mntns SEC(".maps");

static __always_inline int unaudited(void *ctx);

// `audited`: 1 or 0 when known, -1 to tell from the stack.
static __always_inline void record_check(const struct cred *cred, int cap, void *ctx, int audited,
					 int ret)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (cred != task->real_cred || cred != task->cred || cap < 0 || cap > 63)
		return;
	__u64 mntns = task_mntns(task);
	struct namespace_info *info = recorded_namespace(mntns);
	if (!info)
		return;
	struct cap_set *set = bpf_map_lookup_elem(&caps_by_mntns, &mntns);
	if (!set) {
		struct cap_set fresh = {};
		if (bpf_map_update_elem(&caps_by_mntns, &mntns, &fresh, BPF_NOEXIST) == -7)
			count_drop(DROP_CAPABILITIES);
		set = bpf_map_lookup_elem(&caps_by_mntns, &mntns);
		if (!set)
			return;
	}
	__u32 verdict = (ret == 0 ? GRANTED_AUDITED : DENIED_AUDITED) + (audited < 0 ? unaudited(ctx) : !audited);
	__u64 *word = &set->bits[phase_of(info) & 1][verdict & 3];
	__u64 bit = 1ULL << cap;
	if (!(*word & bit))
		__sync_fetch_and_or(word, bit);
}

#define NOAUDIT_RANGES 8
#define STACK_FRAMES 12

const volatile __u64 noaudit_ranges[NOAUDIT_RANGES][2] = {};

// Whether a function in noaudit_ranges is on the kernel stack of this check.
static __always_inline int unaudited(void *ctx)
{
	__u64 stack[STACK_FRAMES] = {};
	long bytes = bpf_get_stack(ctx, stack, sizeof(stack), 0);
	if (bytes <= 0)
		return 0;
	for (int frame = 0; frame < STACK_FRAMES; frame++) {
		if (frame * 8 >= bytes)
			break;
		for (int range = 0; range < NOAUDIT_RANGES; range++) {
			if (stack[frame] >= noaudit_ranges[range][0] &&
			    stack[frame] < noaudit_ranges[range][1])
				return 1;
		}
	}
	return 0;
}

// cap_capable(const struct cred *cred, struct user_namespace *target_ns,
//             const struct user_namespace *capable_ns, int cap, int ret)
SEC("tp_btf/cap_capable")
int record_cap_event(unsigned long long *ctx)
{
	record_check((const struct cred *)ctx[0], (int)ctx[3], ctx, -1, (int)ctx[4]);
	return 0;
}

#define CAP_OPT_NOAUDIT 0x2

// The fallback for kernels before the tracepoint (6.13): fexit on
// cap_capable(cred, target_ns, cap, opts), which sees the audit option.
SEC("fexit/cap_capable")
int record_cap_check(unsigned long long *ctx)
{
	unsigned int opts = (unsigned int)ctx[3];
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	record_check((const struct cred *)ctx[0], (int)ctx[2], ctx, !(opts & CAP_OPT_NOAUDIT),
		     (int)ret);
	return 0;
}
