// SPDX-License-Identifier: GPL-2.0
//
// What every recorder program shares: the kernel fields they read (relocated
// against the running kernel's BTF with CO-RE, so no vmlinux.h is needed),
// the table of recorded mount namespaces, the drop counters and the
// loader's settings. build.sh links the programs into one object, so these
// maps and globals exist once (`__weak` lets each source define them).
//
// Shared maps:
//   namespaces  HASH  mount namespace id (u64) -> struct namespace_info.
//               The namespaces recorded. `corral record -- CMD` inserts its
//               command's; with `record_all` set, every program inserts any
//               namespace other than the host's the first time it sees it.
//   drops       ARRAY[DROP_KINDS] u64: observations lost because a map was
//               full, by kind. Userspace reports them; nothing is lost
//               silently.
//   scratch     PERCPU_ARRAY[1]: room for keys too large for the stack.
//
// Globals (set by the loader before load):
//   host_mntns  the recorder's own mount namespace, skipped without a map
//               lookup: most syscalls on a host are its own.
//   node_mntns  the node's (the initial) mount namespace, skipped
//               likewise: in the DaemonSet (hostPID) the recorder's own is
//               its container's, and the node's daemons are no workload.
//   record_all  record every namespace but the host's (`--containers`).

#ifndef CORRAL_COMMON_H
#define CORRAL_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define PAI __attribute__((preserve_access_index))

// Mount namespace ids: 64-bit and never reused while the system runs (the
// 32-bit inode numbers are reused at once, which would merge one
// short-lived container into the next). Since 6.18 in `ns_common`, before
// in `mnt_namespace.seq`; userspace reads the same id with NS_GET_MNTNS_ID.
struct ns_common {
	unsigned int inum;
	__u64 ns_id;
} PAI;

struct mnt_namespace {
	struct ns_common ns;
} PAI;

struct mnt_namespace___seq {
	__u64 seq;
} PAI;

struct nsproxy {
	struct mnt_namespace *mnt_ns;
} PAI;

typedef struct {
	unsigned int val;
} corral_kid_t;

typedef struct {
	__u64 val;
} corral_kernel_cap_t;

struct cred {
	corral_kid_t uid;
	corral_kid_t gid;
	corral_kid_t euid;
	corral_kid_t egid;
	corral_kernel_cap_t cap_permitted;
	corral_kernel_cap_t cap_effective;
	corral_kernel_cap_t cap_ambient;
} PAI;

struct qstr {
	const unsigned char *name;
} PAI;

struct super_block {
	unsigned long s_magic;
} PAI;

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} PAI;

struct vfsmount {
	struct dentry *mnt_root;
	struct super_block *mnt_sb;
} PAI;

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} PAI;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} PAI;

struct fs_struct {
	struct path root;
} PAI;

struct mm_struct {
	unsigned long arg_start;
} PAI;

// x86: TS_COMPAT in `status` marks a 32-bit syscall.
struct thread_info {
	__u32 status;
} PAI;

struct task_struct {
	struct thread_info thread_info;
	struct nsproxy *nsproxy;
	const struct cred *cred;
	const struct cred *real_cred;
	struct fs_struct *fs;
	struct mm_struct *mm;
	int tgid;
	__u64 start_boottime;
} PAI;

#define TS_COMPAT 0x0002

// Phases of a namespace: before its first exec (the container runtime
// setting up) and after (the workload).
#define PHASE_RUNTIME 0
#define PHASE_WORKLOAD 1

struct namespace_info {
	__u32 workload_started; // a process in it has executed
	__u32 reserved;
	__u64 workload_tgid;    // the first process that executed in it...
	__u64 workload_start;   // ...and when it started (ns since boot)
};

enum drop_kind {
	DROP_NAMESPACES,
	DROP_SYSCALLS,
	DROP_CAPABILITIES,
	DROP_EXECS,
	DROP_CREDENTIALS,
	DROP_FLOWS,
	DROP_DNS,
	DROP_FILES,
	DROP_FILE_FAILURES,
	DROP_KINDS,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct namespace_info);
} namespaces SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DROP_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps") __weak;

#define SCRATCH_BYTES 512

struct scratch {
	__u8 bytes[SCRATCH_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps") __weak;

char LICENSE[] SEC("license") __weak = "GPL";

const volatile __u64 host_mntns __weak = 0;
const volatile __u64 node_mntns __weak = 0;
const volatile __u8 record_all __weak = 0;

static __always_inline void count_drop(enum drop_kind kind)
{
	__u32 index = kind;
	__u64 *count = bpf_map_lookup_elem(&drops, &index);
	if (count)
		__sync_fetch_and_add(count, 1);
}

// Plain loads through BTF-typed pointers, checked by the verifier: no
// probe-read helper calls on the hot path.
static __always_inline __u64 task_mntns(struct task_struct *task)
{
	struct mnt_namespace *ns = task->nsproxy->mnt_ns;
	if (bpf_core_field_exists(ns->ns.ns_id))
		return ns->ns.ns_id;
	return ((struct mnt_namespace___seq *)ns)->seq;
}

static __always_inline __u64 current_mntns(void)
{
	return task_mntns(bpf_get_current_task_btf());
}

// The recorder's own namespace or the node's: never recorded.
static __always_inline int unrecorded_mntns(__u64 mntns)
{
	return mntns == host_mntns || mntns == node_mntns;
}

// The recorded namespace `mntns`, inserted first when recording all; 0 when
// it is not recorded.
static __always_inline struct namespace_info *recorded_namespace(__u64 mntns)
{
	if (unrecorded_mntns(mntns))
		return 0;
	struct namespace_info *info = bpf_map_lookup_elem(&namespaces, &mntns);
	if (info || !record_all)
		return info;
	struct namespace_info fresh = {};
	if (bpf_map_update_elem(&namespaces, &mntns, &fresh, BPF_NOEXIST) == -7 /* E2BIG */)
		count_drop(DROP_NAMESPACES);
	return bpf_map_lookup_elem(&namespaces, &mntns);
}

static __always_inline __u32 phase_of(struct namespace_info *info)
{
	return info->workload_started ? PHASE_WORKLOAD : PHASE_RUNTIME;
}

// Count one observation under `key` in the hash map `map`; a full map is
// counted as a drop of `kind`.
#define COUNT_IN(map, key, kind)                                                 \
	do {                                                                     \
		__u64 *count_ = bpf_map_lookup_elem(&(map), (key));              \
		if (count_) {                                                    \
			__sync_fetch_and_add(count_, 1);                         \
		} else {                                                         \
			__u64 one_ = 1;                                          \
			long err_ = bpf_map_update_elem(&(map), (key), &one_, BPF_NOEXIST); \
			if (err_ == -17 /* EEXIST: another CPU was first */) {   \
				count_ = bpf_map_lookup_elem(&(map), (key));     \
				if (count_)                                      \
					__sync_fetch_and_add(count_, 1);         \
			} else if (err_) {                                       \
				count_drop(kind);                                \
			}                                                        \
		}                                                                \
	} while (0)

#endif
