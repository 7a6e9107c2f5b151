// SPDX-License-Identifier: GPL-2.0
//
// The network peers of each recorded mount namespace (IPv4 and IPv6),
// aggregated in the kernel. Tracepoints only (fentry is refused by some
// kernels):
//   record_sock_state  `inet_sock_set_state`: SYN_SENT is an outgoing TCP
//                      connect and LISTEN a listening socket, both in the
//                      process's context. An accepted connection becomes
//                      ESTABLISHED in softirq context, with no process to
//                      blame: it is charged to the namespace whose socket
//                      listens on that port in that network namespace.
//   record_dns_answer  `netif_receive_skb`: a datagram from port 53 to a
//                      port a recorded namespace sent a DNS query from (in
//                      the same network namespace) is the response: its A
//                      and AAAA answers (with compressed owner names, as
//                      resolvers send them) are kept with its question.
//                      Received in softirq context, so the port says whose
//                      it is, not the current task.
//   record_datagram    `net_dev_queue`: a UDP datagram leaving, in the
//                      sending process's context (from the packet's own
//                      headers, so sends to an address and on a connected
//                      socket alike). One to port 53 is a DNS query: its
//                      question (name and type) is kept. A datagram that
//                      waited for its neighbour's address leaves from
//                      softirq context and is not seen (the first to a new
//                      neighbour; a connected UDP socket without a send is
//                      not seen either).
//
// Maps:
//   flows        HASH  struct flow_key -> u64, how many times.
//   dns_queries  HASH  struct dns_key -> u64, how many times.
//   listeners    HASH  struct listener_key -> mount namespace id (u64).
//   dns_answers  HASH  struct answer_key -> u64, how many times.
//   dns_ports    LRU_HASH  struct listener_key (the query's source port) ->
//                mount namespace id (u64).
//   dns_packet   PERCPU_ARRAY[1]: the response being read.

#include "common.h"

struct in6_addr {
	unsigned char s6_addr[16];
} PAI;

typedef struct {
	struct net *net;
} corral_possible_net_t;

struct sock_common {
	corral_possible_net_t skc_net;
	unsigned int skc_daddr;
	unsigned int skc_rcv_saddr;
	unsigned short skc_dport;
	unsigned short skc_num;
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} PAI;

struct sock {
	struct sock_common __sk_common;
	unsigned short sk_protocol;
} PAI;

struct net {
	struct ns_common ns;
} PAI;

struct nsproxy___net {
	struct net *net_ns;
} PAI;

typedef struct {
	struct net *net;
} corral_possible_net_t___dev;

struct net_device {
	corral_possible_net_t___dev nd_net;
} PAI;

struct sk_buff {
	struct net_device *dev;
	struct sock *sk;
	unsigned char *head;
	unsigned char *data;
	__u16 protocol;
	__u16 transport_header;
	__u16 network_header;
} PAI;

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

enum flow_kind {
	FLOW_CONNECT = 1,    // TCP, to the peer's address and port
	FLOW_LISTEN = 2,     // TCP, the local address and port
	FLOW_ACCEPT = 3,     // TCP, from the peer's address to the local port
	FLOW_UDP_SEND = 4,   // to the peer's address and port
};

struct listener_key {
	__u32 netns; // network namespace inode
	__u16 port;
	__u16 reserved;
};

struct flow_key {
	__u64 mntns;
	__u8 kind;
	__u8 family;
	__u16 port; // host byte order
	__u32 phase;
	__u8 addr[16]; // IPv4 in the first 4 bytes
};

#define QUESTION_BYTES 128

struct dns_key {
	__u64 mntns;
	// The question section as sent: the name's labels, then type and
	// class; zero after.
	__u8 question[QUESTION_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct flow_key);
	__type(value, __u64);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dns_key);
	__type(value, __u64);
} dns_queries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct listener_key);
	__type(value, __u64);
} listeners SEC(".maps");

#define PACKET_BYTES 512

struct answer_key {
	__u64 mntns;
	__u8 question[QUESTION_BYTES]; // as in struct dns_key
	__u8 family;
	__u8 reserved[7];
	__u8 addr[16];
};

struct packet {
	__u8 bytes[PACKET_BYTES + 64]; // slack for reads past a masked offset
	struct answer_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct answer_key);
	__type(value, __u64);
} dns_answers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct packet);
} dns_packet SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct listener_key);
	__type(value, __u64);
} dns_ports SEC(".maps");

// Record a flow of `kind` with the socket's peer (`peer` set) or local
// address; `port` in host byte order.
static __always_inline void record_flow(__u64 mntns, struct namespace_info *info, __u8 kind,
					const struct sock *sk, int peer, __u16 port)
{
	struct flow_key key = {};
	key.mntns = mntns;
	key.kind = kind;
	key.phase = phase_of(info);
	key.port = port;
	key.family = sk->__sk_common.skc_family;
	if (key.family == AF_INET) {
		unsigned int addr = peer ? sk->__sk_common.skc_daddr : sk->__sk_common.skc_rcv_saddr;
		__builtin_memcpy(key.addr, &addr, 4);
	} else if (peer) {
		bpf_probe_read_kernel(key.addr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		bpf_probe_read_kernel(key.addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	}
	COUNT_IN(flows, &key, DROP_FLOWS);
}

static __always_inline struct listener_key listener_of(const struct sock *sk)
{
	struct listener_key key = {
		.netns = sk->__sk_common.skc_net.net->ns.inum,
		.port = sk->__sk_common.skc_num,
	};
	return key;
}

// inet_sock_set_state(const struct sock *sk, const int oldstate, const int newstate)
SEC("tp_btf/inet_sock_set_state")
int record_sock_state(unsigned long long *ctx)
{
	const struct sock *sk = (const struct sock *)ctx[0];
	int oldstate = (int)ctx[1];
	int newstate = (int)ctx[2];

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
		struct listener_key listener = listener_of(sk);
		__u64 *owner = bpf_map_lookup_elem(&listeners, &listener);
		if (!owner)
			return 0;
		__u64 mntns = *owner;
		struct namespace_info *info = bpf_map_lookup_elem(&namespaces, &mntns);
		if (info)
			record_flow(mntns, info, FLOW_ACCEPT, sk, 1, sk->__sk_common.skc_num);
		return 0;
	}
	if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE) {
		struct listener_key listener = listener_of(sk);
		bpf_map_delete_elem(&listeners, &listener);
		return 0;
	}
	if (newstate != TCP_SYN_SENT && newstate != TCP_LISTEN)
		return 0;
	__u64 mntns = current_mntns();
	struct namespace_info *info = recorded_namespace(mntns);
	if (!info)
		return 0;
	if (newstate == TCP_SYN_SENT) {
		record_flow(mntns, info, FLOW_CONNECT, sk, 1,
			    __builtin_bswap16(sk->__sk_common.skc_dport));
	} else {
		struct listener_key listener = listener_of(sk);
		bpf_map_update_elem(&listeners, &listener, &mntns, BPF_ANY);
		record_flow(mntns, info, FLOW_LISTEN, sk, 0, sk->__sk_common.skc_num);
	}
	return 0;
}

struct udphdr_ {
	__u16 source;
	__u16 dest;
	__u16 len;
	__u16 check;
};

struct label_walk {
	const __u8 *question;
	__u32 end; // where the name's terminating zero is
};

// One step of the walk over a name's labels (bpf_loop: verified once, not
// once per label).
static long next_label(__u64 index, struct label_walk *walk)
{
	if (walk->end >= QUESTION_BYTES)
		return 1;
	__u8 length = walk->question[walk->end & (QUESTION_BYTES - 1)];
	if (length == 0 || length > 63)
		return 1;
	walk->end += length + 1;
	return 0;
}

// Keep the question of the DNS query at `payload` (kernel memory).
static __always_inline void record_dns_query(__u64 mntns, const unsigned char *payload)
{
	__u32 zero = 0;
	struct dns_key *key = bpf_map_lookup_elem(&scratch, &zero);
	if (!key)
		return;
	__builtin_memset(key, 0, sizeof(*key));
	key->mntns = mntns;
	// Skip the 12-byte header (its id differs in every query).
	if (bpf_probe_read_kernel(key->question, sizeof(key->question), payload + 12))
		return;
	struct label_walk walk = {.question = key->question};
	bpf_loop(64, next_label, &walk, 0);
	// Keep the name, type and class only: what follows (additional
	// records such as EDNS cookies) differs from query to query.
	__u32 length = walk.end + 5;
	__builtin_memset(key->question, 0, sizeof(key->question));
	if (length > QUESTION_BYTES)
		length = QUESTION_BYTES;
	if (bpf_probe_read_kernel(key->question, length, payload + 12))
		return;
	COUNT_IN(dns_queries, key, DROP_DNS);
}

// net_dev_queue(struct sk_buff *skb)
SEC("tp_btf/net_dev_queue")
int record_datagram(unsigned long long *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct sock *sk = skb->sk;
	if (!sk || sk->sk_protocol != IPPROTO_UDP)
		return 0;
	// A datagram held back (waiting for ARP) leaves later from softirq
	// context, where the current task is anyone's: only a task in the
	// socket's own network namespace can be its sender.
	struct task_struct *task = bpf_get_current_task_btf();
	struct nsproxy___net *nsproxy = (void *)task->nsproxy;
	if (BPF_CORE_READ(nsproxy, net_ns, ns.inum) != sk->__sk_common.skc_net.net->ns.inum)
		return 0;
	__u64 mntns = task_mntns(task);
	struct namespace_info *info = recorded_namespace(mntns);
	if (!info)
		return 0;
	struct flow_key key = {};
	key.mntns = mntns;
	key.kind = FLOW_UDP_SEND;
	key.phase = phase_of(info);
	unsigned char *head = skb->head;
	unsigned char *network = head + skb->network_header;
	__u16 protocol = __builtin_bswap16(skb->protocol);
	if (protocol == ETH_P_IP) {
		key.family = AF_INET;
		bpf_probe_read_kernel(key.addr, 4, network + 16); // daddr
	} else if (protocol == ETH_P_IPV6) {
		key.family = AF_INET6;
		bpf_probe_read_kernel(key.addr, 16, network + 24); // daddr
	} else {
		return 0;
	}
	struct udphdr_ udp = {};
	unsigned char *transport = head + skb->transport_header;
	if (bpf_probe_read_kernel(&udp, sizeof(udp), transport))
		return 0;
	key.port = __builtin_bswap16(udp.dest);
	COUNT_IN(flows, &key, DROP_FLOWS);
	if (key.port == 53) {
		record_dns_query(mntns, transport + sizeof(udp));
		struct listener_key port = {
			.netns = sk->__sk_common.skc_net.net->ns.inum,
			.port = __builtin_bswap16(udp.source),
		};
		bpf_map_update_elem(&dns_ports, &port, &mntns, BPF_ANY);
	}
	return 0;
}

struct answer_walk {
	struct packet *packet;
	__u64 mntns;
	__u32 at;      // the next answer's offset in the packet
	__u32 left;    // answers left to read
	__u32 length;  // bytes in the packet
};

// One answer record (bpf_loop): an A or AAAA answer is counted with the
// question; others (CNAME...) are stepped over.
static long next_answer(__u64 index, struct answer_walk *walk)
{
	struct packet *packet = walk->packet;
	__u32 at = walk->at;
	if (walk->left == 0 || at + 12 > walk->length || at >= PACKET_BYTES)
		return 1;
	__u8 first = packet->bytes[at & (PACKET_BYTES - 1)];
	if ((first & 0xC0) != 0xC0)
		return 1; // an uncompressed owner name: not followed
	at += 2;
	__u32 type = (packet->bytes[at & (PACKET_BYTES - 1)] << 8) |
		     packet->bytes[(at + 1) & (PACKET_BYTES - 1)];
	__u32 rdlength = (packet->bytes[(at + 8) & (PACKET_BYTES - 1)] << 8) |
			 packet->bytes[(at + 9) & (PACKET_BYTES - 1)];
	at += 10;
	if (at + rdlength > walk->length)
		return 1;
	struct answer_key *key = &packet->key;
	if ((type == 1 && rdlength == 4) || (type == 28 && rdlength == 16)) {
		key->family = type == 1 ? AF_INET : AF_INET6;
		__builtin_memset(key->addr, 0, sizeof(key->addr));
		for (int i = 0; i < 16; i++)
			if (i < rdlength)
				key->addr[i] = packet->bytes[(at + i) & (PACKET_BYTES - 1)];
		COUNT_IN(dns_answers, key, DROP_DNS);
	}
	walk->at = at + rdlength;
	walk->left--;
	return 0;
}

// netif_receive_skb(struct sk_buff *skb): skb->data is the IP header.
SEC("tp_btf/netif_receive_skb")
int record_dns_answer(unsigned long long *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	unsigned char *network = skb->data;
	__u16 protocol = __builtin_bswap16(skb->protocol);
	__u8 next = 0;
	__u32 header = 0;
	if (protocol == ETH_P_IP) {
		__u8 version_ihl = 0;
		bpf_probe_read_kernel(&version_ihl, 1, network);
		bpf_probe_read_kernel(&next, 1, network + 9);
		header = (version_ihl & 0xf) * 4;
	} else if (protocol == ETH_P_IPV6) {
		bpf_probe_read_kernel(&next, 1, network + 6);
		header = 40;
	}
	if (next != IPPROTO_UDP || header < 20 || header > 60)
		return 0;
	unsigned char *transport = network + header;
	struct udphdr_ udp = {};
	if (bpf_probe_read_kernel(&udp, sizeof(udp), transport) || udp.source != __builtin_bswap16(53))
		return 0;
	struct net_device *dev = skb->dev;
	if (!dev)
		return 0;
	struct listener_key port = {
		.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum),
		.port = __builtin_bswap16(udp.dest),
	};
	__u64 *owner = bpf_map_lookup_elem(&dns_ports, &port);
	if (!owner)
		return 0;
	__u64 mntns = *owner;
	if (!bpf_map_lookup_elem(&namespaces, &mntns))
		return 0;
	__u32 zero = 0;
	struct packet *packet = bpf_map_lookup_elem(&dns_packet, &zero);
	if (!packet)
		return 0;
	__u32 length = __builtin_bswap16(udp.len);
	if (length < 8 + 12)
		return 0;
	length -= 8;
	if (length > PACKET_BYTES)
		length = PACKET_BYTES;
	if (bpf_probe_read_kernel(packet->bytes, length & (PACKET_BYTES - 1) ?: PACKET_BYTES,
				  transport + 8))
		return 0;
	// The question, as record_dns_query keeps it.
	struct label_walk labels = {.question = packet->bytes + 12};
	bpf_loop(64, next_label, &labels, 0);
	__u32 question = labels.end + 5;
	if (question > QUESTION_BYTES)
		return 0;
	struct answer_key *key = &packet->key;
	__builtin_memset(key, 0, sizeof(*key));
	key->mntns = mntns;
	for (int i = 0; i < QUESTION_BYTES; i++)
		if (i < question)
			key->question[i] = packet->bytes[12 + i];
	struct answer_walk walk = {
		.packet = packet,
		.mntns = mntns,
		.at = 12 + question,
		.left = (packet->bytes[6] << 8) | packet->bytes[7],
		.length = length,
	};
	bpf_loop(16, next_answer, &walk, 0);
	return 0;
}
