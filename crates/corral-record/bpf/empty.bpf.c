// SPDX-License-Identifier: GPL-2.0
//
// An empty program on the same hook as syscalls.bpf.c: the floor that any
// syscall-entry hook costs, against which benches/overhead.rs measures.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp_btf/sys_enter")
int empty_sys_enter(unsigned long long *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
