// SPDX-License-Identifier: GPL-2.0
//
// Which syscalls each recorded mount namespace makes, aggregated in the
// kernel as bitmaps, so no observation can be lost to a full ring buffer
// however fast the workload calls. Four bitmaps per namespace: native and
// 32-bit compat syscalls (their numbers differ), each before the
// namespace's first exec (the container runtime, whose syscalls a seccomp
// profile must allow only after the runtime installs it) and after (the
// workload).
//
// Maps:
//   recorded_slots     ARRAY[1]  struct slots: the first SLOTS namespaces
//                      `corral record -- CMD` records, found with no hash
//                      lookup per syscall (array lookups are inlined).
//   slot_syscalls      ARRAY[SLOTS]  struct syscall_set of each slot.
//   syscalls_by_mntns  HASH  mount namespace id (u64) -> struct syscall_set
//                      for the other namespaces; sized by the loader.
// Userspace fills the slots; with `record_all`, this program inserts new
// namespaces into the hash map itself (a full map counts DROP_SYSCALLS).
//
// In a recorded namespace, a syscall that writes files (`file_syscalls`)
// is also handed to record_file_syscall (files.bpf.c), which keeps its
// arguments until record_sys_exit sees its result: one hook on the
// syscall entry for everything.

#include "common.h"

// Syscall numbers below 1024 (x86_64 and aarch64 use fewer than 500).
#define SYSCALL_SLOTS 1024
#define WORDS (SYSCALL_SLOTS / 64)

struct syscall_set {
	__u32 workload_started;
	__u32 reserved;
	// [phase * 2 + compat][word]
	__u64 bits[4 * WORDS];
};

#define SLOTS 8

struct slots {
	__u64 mntns[SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct slots);
} recorded_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, struct syscall_set);
} slot_syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct syscall_set);
} syscalls_by_mntns SEC(".maps");

// The value a new namespace starts from.
static struct syscall_set empty_set;

extern const volatile __u64 file_syscalls[16] __weak;
int record_file_syscall(__u64 regs_address, long id, __u64 mntns, __u32 phase);

static __always_inline struct syscall_set *syscall_set_of(__u64 mntns, int insert)
{
	__u32 zero = 0;
	struct slots *slots = bpf_map_lookup_elem(&recorded_slots, &zero);
	struct syscall_set *set = 0;
	if (!slots)
		return 0;
#pragma unroll
	for (__u32 i = 0; i < SLOTS; i++) {
		if (slots->mntns[i] == mntns) {
			__u32 slot = i;
			return bpf_map_lookup_elem(&slot_syscalls, &slot);
		}
	}
	set = bpf_map_lookup_elem(&syscalls_by_mntns, &mntns);
	if (set || !insert || !record_all)
		return set;
	if (bpf_map_update_elem(&syscalls_by_mntns, &mntns, &empty_set, BPF_NOEXIST) == -7)
		count_drop(DROP_SYSCALLS);
	return bpf_map_lookup_elem(&syscalls_by_mntns, &mntns);
}

SEC("tp_btf/sys_enter")
int record_sys_enter(unsigned long long *ctx)
{
	long id = (long)ctx[1];
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 mntns = task_mntns(task);

	if (unrecorded_mntns(mntns) || id < 0 || id >= SYSCALL_SLOTS)
		return 0;
	struct syscall_set *set = syscall_set_of(mntns, 1);
	if (!set)
		return 0;
	__u32 compat = 0;
	if (bpf_core_field_exists(task->thread_info.status))
		compat = (task->thread_info.status & TS_COMPAT) ? 1 : 0;
	__u32 started = set->workload_started;
	__u32 table = (started ? 2 : 0) + compat;
	__u64 bit = 1ULL << (id & 63);
	__u64 *word = &set->bits[(table * WORDS + (id >> 6)) & (4 * WORDS - 1)];
	if (!(*word & bit))
		__sync_fetch_and_or(word, bit);
	if (!compat && (file_syscalls[(id >> 6) & (WORDS - 1)] & bit)) {
		// The registers' address as a plain number, which is what a
		// global function may take.
		__u64 regs = 0;
		bpf_probe_read_kernel(&regs, sizeof(regs), &ctx[0]);
		record_file_syscall(regs, id, mntns, started ? PHASE_WORKLOAD : PHASE_RUNTIME);
	}
	return 0;
}

// The first exec in a namespace ends its runtime phase.
SEC("tp_btf/sched_process_exec")
int mark_workload_started(unsigned long long *ctx)
{
	__u64 mntns = current_mntns();
	if (unrecorded_mntns(mntns))
		return 0;
	struct syscall_set *set = syscall_set_of(mntns, 0);
	if (set && !set->workload_started)
		set->workload_started = 1;
	return 0;
}
