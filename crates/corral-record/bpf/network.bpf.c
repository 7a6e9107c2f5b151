// SPDX-License-Identifier: GPL-2.0
//
// The TCP connections each recorded mount namespace opens and the TCP ports
// it listens on (IPv4 and IPv6), aggregated in the kernel from the
// `inet_sock_set_state` tracepoint: SYN_SENT is an outgoing connect (in the
// connecting process's context), LISTEN a listening socket.
//
// Maps:
//   tracked_mntns  HASH  mount namespace inode (u32) -> u8; userspace inserts
//                  the namespaces to record.
//   flows          HASH  struct flow_key -> u64, how many times.
//
// Globals: host_mntns, as in syscalls.bpf.c.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "task.h"

struct in6_addr {
	unsigned char s6_addr[16];
} __attribute__((preserve_access_index));

struct sock_common {
	unsigned int skc_daddr;
	unsigned int skc_rcv_saddr;
	unsigned short skc_dport;
	unsigned short skc_num;
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	unsigned short sk_protocol;
} __attribute__((preserve_access_index));

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_SYN_SENT 2
#define TCP_LISTEN 10

#define KIND_CONNECT 1
#define KIND_LISTEN 2

struct flow_key {
	__u32 mntns;
	__u8 kind;
	__u8 family;
	__u16 port; // host byte order
	__u8 addr[16]; // IPv4 in the first 4 bytes
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
	__type(key, struct flow_key);
	__type(value, __u64);
} flows SEC(".maps");

const volatile __u32 host_mntns = 0;

// inet_sock_set_state(const struct sock *sk, const int oldstate, const int newstate)
SEC("tp_btf/inet_sock_set_state")
int record_sock_state(unsigned long long *ctx)
{
	const struct sock *sk = (const struct sock *)ctx[0];
	int newstate = (int)ctx[2];
	struct flow_key key;

	if (newstate != TCP_SYN_SENT && newstate != TCP_LISTEN)
		return 0;
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	__u32 mntns = current_mntns();
	if (mntns == host_mntns || !bpf_map_lookup_elem(&tracked_mntns, &mntns))
		return 0;
	__builtin_memset(&key, 0, sizeof(key));
	key.mntns = mntns;
	key.family = sk->__sk_common.skc_family;
	if (newstate == TCP_SYN_SENT) {
		key.kind = KIND_CONNECT;
		key.port = __builtin_bswap16(sk->__sk_common.skc_dport);
		if (key.family == AF_INET)
			__builtin_memcpy(key.addr, &sk->__sk_common.skc_daddr, 4);
		else
			bpf_probe_read_kernel(key.addr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		key.kind = KIND_LISTEN;
		key.port = sk->__sk_common.skc_num;
		if (key.family == AF_INET)
			__builtin_memcpy(key.addr, &sk->__sk_common.skc_rcv_saddr, 4);
		else
			bpf_probe_read_kernel(key.addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	}
	__u64 one = 1;
	__u64 *count = bpf_map_lookup_elem(&flows, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&flows, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
