// SPDX-License-Identifier: GPL-2.0
//
// Empty programs on the same hooks as syscalls.bpf.c and files.bpf.c: the
// floor that any syscall-entry hook costs, and any pair of entry and exit
// hooks, against which benches/overhead.rs measures.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp_btf/sys_enter")
int empty_sys_enter(unsigned long long *ctx)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int empty_sys_exit(unsigned long long *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
