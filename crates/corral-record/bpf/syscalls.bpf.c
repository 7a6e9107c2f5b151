// SPDX-License-Identifier: GPL-2.0
//
// Which syscalls each recorded mount namespace makes, aggregated in the
// kernel: one bitmap per mount namespace, so no observation can be lost to a
// full ring buffer, however fast the workload calls.
//
// Maps:
//   recorded_slots     ARRAY[1]  struct slots: the first SLOTS recorded mount
//                      namespaces, checked with no hash lookup (array
//                      lookups are inlined by the verifier).
//   slot_syscalls      ARRAY[SLOTS]  struct syscall_set of each slot.
//   syscalls_by_mntns  HASH  mount namespace inode (u32) -> struct syscall_set
//                      for namespaces beyond the slots.
//   Userspace fills slots and inserts entries; this program only sets bits.
//
// Globals (set by the loader before load):
//   host_mntns         the recorder's own mount namespace, skipped without a
//                      map lookup: most syscalls on a host are its own.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "task.h"

// Syscall numbers below 1024 (x86_64 and aarch64 use fewer than 500).
#define SYSCALL_SLOTS 1024

struct syscall_set {
	__u64 bits[SYSCALL_SLOTS / 64];
};

#define SLOTS 8

struct slots {
	__u32 mntns[SLOTS];
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
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct syscall_set);
} syscalls_by_mntns SEC(".maps");

const volatile __u32 host_mntns = 0;

SEC("tp_btf/sys_enter")
int record_sys_enter(unsigned long long *ctx)
{
	long id = (long)ctx[1];
	__u32 mntns = current_mntns();

	if (mntns == host_mntns || id < 0 || id >= SYSCALL_SLOTS)
		return 0;
	__u32 zero = 0;
	struct slots *slots = bpf_map_lookup_elem(&recorded_slots, &zero);
	struct syscall_set *set = 0;
	if (!slots)
		return 0;
#pragma unroll
	for (__u32 i = 0; i < SLOTS; i++) {
		if (slots->mntns[i] == mntns) {
			__u32 slot = i;
			set = bpf_map_lookup_elem(&slot_syscalls, &slot);
			break;
		}
	}
	if (!set)
		set = bpf_map_lookup_elem(&syscalls_by_mntns, &mntns);
	if (!set)
		return 0;
	__u64 bit = 1ULL << (id & 63);
	__u64 *word = &set->bits[(id >> 6) & (SYSCALL_SLOTS / 64 - 1)];
	if (!(*word & bit))
		__sync_fetch_and_or(word, bit);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
