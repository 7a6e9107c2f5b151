// SPDX-License-Identifier: GPL-2.0
//
// The kernel fields Corral's programs read, relocated against the running
// kernel's BTF (CO-RE), so no vmlinux.h is needed.

#ifndef CORRAL_TASK_H
#define CORRAL_TASK_H

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct mnt_namespace {
	struct ns_common ns;
} __attribute__((preserve_access_index));

struct nsproxy {
	struct mnt_namespace *mnt_ns;
} __attribute__((preserve_access_index));

typedef struct {
	unsigned int val;
} corral_kuid_t;

struct cred {
	corral_kuid_t euid;
	corral_kuid_t egid;
} __attribute__((preserve_access_index));

struct task_struct {
	struct nsproxy *nsproxy;
	const struct cred *cred;
} __attribute__((preserve_access_index));

// The mount namespace of the current task: plain loads through a BTF-typed
// pointer, checked by the verifier; no probe-read helper calls.
static __always_inline __u32 current_mntns(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return task->nsproxy->mnt_ns->ns.inum;
}

#endif
