// SPDX-License-Identifier: GPL-2.0
/* A VM as GET_VM describes it (uapi/linux/kvm_ft.h), and the names of its enums. */
#include <arpa/inet.h>
#include <string.h>

#include "ftnl.h"

#define COUNTER false
#define GAUGE true
#define SIDE_PRIMARY "primary"
#define SIDE_BACKUP "backup"
#define SIDE_BOTH "both"
const struct stat_desc stat_desc[KVM_FT_STAT_MAX + 1] = {
#define STAT_DESC(NAME, name_, unit_, kind, side_, what_)			\
	[KVM_FT_STAT_##NAME] = { .name = #name_, .unit = unit_, .what = what_,	\
				 .gauge = kind, .side = SIDE_##side_ },
	KVM_FT_STATS(STAT_DESC)
#undef STAT_DESC
};
#undef COUNTER
#undef GAUGE
#undef SIDE_PRIMARY
#undef SIDE_BACKUP
#undef SIDE_BOTH

/* The refusals' names, and what each means in a few words. */
static const struct {
	const char *name, *gloss;
} errors[KVM_FT_WIRE_E_MAX] = {
	[KVM_FT_WIRE_E_MAGIC] = { "magic", "not a Cuju stream" },
	[KVM_FT_WIRE_E_VERSION] = { "version", "no protocol version in common" },
	[KVM_FT_WIRE_E_TYPE] = { "type", "unknown frame" },
	[KVM_FT_WIRE_E_RESERVED] = { "reserved", "reserved bits set" },
	[KVM_FT_WIRE_E_LEN] = { "length", "bad frame length" },
	[KVM_FT_WIRE_E_CRC] = { "checksum", "frame damaged" },
	[KVM_FT_WIRE_E_SHAPE] = { "shape", "the peer's VM differs in size or vCPUs" },
	[KVM_FT_WIRE_E_ORDER] = { "order", "frame out of order" },
	[KVM_FT_WIRE_E_EPOCH] = { "epoch", "epoch out of sequence" },
	[KVM_FT_WIRE_E_GFN] = { "gfn", "page outside the VM's memory" },
	[KVM_FT_WIRE_E_VCPU] = { "vcpu", "bad vCPU state" },
	[KVM_FT_WIRE_E_TOTALS] = { "totals", "epoch totals disagree" },
	[KVM_FT_WIRE_E_TRUNCATED] = { "truncated", "connection ended mid-frame" },
	[KVM_FT_WIRE_E_IO] = { "io", "connection error" },
	[KVM_FT_WIRE_E_SILENCE] = { "silence", "peer silent for failover_timeout_ms" },
	[KVM_FT_WIRE_E_SNAPSHOT] = { "snapshot", "an epoch could not be taken" },
	[KVM_FT_WIRE_E_NOMEM] = { "nomem", "out of memory" },
	[KVM_FT_WIRE_E_VERIFY] = { "verify", "backup's memory differed" },
	[KVM_FT_WIRE_E_LAYOUT] = { "layout", "the VM's memory layout changed" },
	[KVM_FT_WIRE_E_MACHINE] = { "machine", "the peer's QEMU has other devices" },
	[KVM_FT_WIRE_E_AUTH] = { "auth", "frame failed authentication" },
	[KVM_FT_WIRE_E_KEY] = { "key", "the two hosts' keys differ" },
	[KVM_FT_WIRE_E_INSECURE] = { "insecure", "one side keyed, the other insecure" },
	[KVM_FT_WIRE_E_BUSY] = { "busy", "the backup serves another primary" },
	[KVM_FT_WIRE_E_HANDSHAKE] = { "handshake", "handshake failed or timed out" },
	[KVM_FT_WIRE_E_DELTA] = { "delta", "a delta did not fit the backup's page" },
};

const char *error_name(uint32_t kind)
{
	return kind < KVM_FT_WIRE_E_MAX && errors[kind].name ? errors[kind].name : "closed";
}

const char *error_gloss(uint32_t kind)
{
	return kind < KVM_FT_WIRE_E_MAX && errors[kind].gloss ? errors[kind].gloss :
	       "closed by the peer";
}

const char *role_name(uint32_t role)
{
	switch (role) {
	case KVM_FT_ROLE_PRIMARY: return "primary";
	case KVM_FT_ROLE_BACKUP: return "backup";
	}
	return "unknown";
}

const char *state_name(uint32_t state)
{
	switch (state) {
	case KVM_FT_STATE_IDLE: return "idle";
	case KVM_FT_STATE_LISTENING: return "listening";
	case KVM_FT_STATE_RECEIVING: return "receiving";
	case KVM_FT_STATE_CONNECTING: return "connecting";
	case KVM_FT_STATE_CONNECTED: return "connected";
	case KVM_FT_STATE_UNPROTECTED: return "unprotected";
	case KVM_FT_STATE_ACTIVE: return "active";
	}
	return "unknown";
}

const char *event_name(uint32_t ev, bool json)
{
	switch (ev) {
	case KVM_FT_EV_LINKED: return "linked";
	case KVM_FT_EV_PEER_LOST: return json ? "peer_lost" : "peer lost";
	case KVM_FT_EV_SYNCED: return "synced";
	case KVM_FT_EV_FAILOVER_BEGIN: return json ? "failover_begin" : "failover started";
	case KVM_FT_EV_FAILOVER: return json ? "failover" : "took over";
	case KVM_FT_EV_COMMITTED: return "committed";
	}
	return json ? "unknown" : "unknown event";
}

/* VM_STATS: the counters the table knows; newer ones a newer kernel adds are skipped. */
static void parse_stats(struct nlattr *nest, struct vm_info *vm)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, nest, rem)
		if (nla_type(a) <= KVM_FT_STAT_MAX && nla_len(a) == sizeof(uint64_t))
			vm->stat[nla_type(a)] = nla_get_u64(a);
}

/* A histogram's BUCKETs, in order. */
static void parse_hist(struct nlattr *nest, uint64_t *out)
{
	struct nlattr *a;
	int rem, i = 0;

	if (!nest)
		return;
	nla_for_each_nested(a, nest, rem)
		if (nla_type(a) == KVM_FT_HIST_A_BUCKET && i < KVM_FT_HIST_BUCKETS &&
		    nla_len(a) == sizeof(uint64_t))
			out[i++] = nla_get_u64(a);
}

static void parse_error(struct nlattr *nest, struct vm_info *vm)
{
	static struct nla_policy pol[KVM_FT_ERROR_A_MAX + 1] = {
		[KVM_FT_ERROR_A_KIND] = { .type = NLA_U32 },
		[KVM_FT_ERROR_A_COUNT] = { .type = NLA_U64 },
	};
	struct nlattr *a[KVM_FT_ERROR_A_MAX + 1];
	uint32_t kind;

	if (nla_parse_nested(a, KVM_FT_ERROR_A_MAX, nest, pol) ||
	    !a[KVM_FT_ERROR_A_KIND] || !a[KVM_FT_ERROR_A_COUNT])
		return;
	kind = nla_get_u32(a[KVM_FT_ERROR_A_KIND]);
	if (kind > 0 && kind < KVM_FT_WIRE_E_MAX)
		vm->errors[kind] = nla_get_u64(a[KVM_FT_ERROR_A_COUNT]);
}

static void parse_addr(struct nlattr **a, struct vm_info *vm)
{
	if (!a[KVM_FT_A_PORT])
		return;
	if (a[KVM_FT_A_ADDR]) {
		struct in_addr in = { .s_addr = nla_get_u32(a[KVM_FT_A_ADDR]) };

		inet_ntop(AF_INET, &in, vm->addr, sizeof(vm->addr));
	} else if (a[KVM_FT_A_ADDR6] && nla_len(a[KVM_FT_A_ADDR6]) == 16) {
		inet_ntop(AF_INET6, nla_data(a[KVM_FT_A_ADDR6]), vm->addr, sizeof(vm->addr));
		vm->addr6 = true;
	} else {
		return;
	}
	vm->port = nla_get_u16(a[KVM_FT_A_PORT]);
}

/* The repeated attributes of the message: VM_ERROR and VM_OUT_DEV. */
static void parse_repeated(struct nl_msg *msg, struct vm_info *vm)
{
	struct nlattr *a;
	int rem, devs = 0;

	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlmsg_hdr(msg)), 0),
			  genlmsg_attrlen(nlmsg_data(nlmsg_hdr(msg)), 0), rem) {
		if (nla_type(a) == KVM_FT_A_VM_ERROR)
			parse_error(a, vm);
		else if (nla_type(a) == KVM_FT_A_VM_OUT_DEV && nla_len(a) == sizeof(uint32_t) &&
			 devs < OUT_DEVS_MAX)
			vm->out_devs[devs++] = nla_get_u32(a);
	}
}

/* What GET_VM's attributes must be, before anything of them is read. */
static struct nla_policy policy[KVM_FT_A_MAX + 1] = {
	[KVM_FT_A_VM_NAME] = { .type = NLA_STRING, .maxlen = KVM_FT_NAME_LEN },
	[KVM_FT_A_PEER_NAME] = { .type = NLA_STRING, .maxlen = KVM_FT_NAME_LEN },
	[KVM_FT_A_VM_ROLE] = { .type = NLA_U32 },
	[KVM_FT_A_VM_STATE] = { .type = NLA_U32 },
	[KVM_FT_A_VM_EPOCH_US] = { .type = NLA_U32 },
	[KVM_FT_A_VM_NR_VCPUS] = { .type = NLA_U32 },
	[KVM_FT_A_VM_VMM_PID] = { .type = NLA_U32 },
	[KVM_FT_A_VM_OWNER_UID] = { .type = NLA_U32 },
	[KVM_FT_A_KEY_FPR] = { .type = NLA_U32 },
	[KVM_FT_A_ADDR] = { .type = NLA_U32 },
	[KVM_FT_A_PORT] = { .type = NLA_U16 },
	[KVM_FT_A_ADDR6] = { .minlen = 16 },
	[KVM_FT_A_VM_MEM_BYTES] = { .type = NLA_U64 },
	[KVM_FT_A_VM_COMMIT_AGE_MS] = { .type = NLA_U64 },
	[KVM_FT_A_VM_LINK_AGE_MS] = { .type = NLA_U64 },
	[KVM_FT_A_VM_STATS] = { .type = NLA_NESTED },
	[KVM_FT_A_VM_PAUSE_HIST] = { .type = NLA_NESTED },
	[KVM_FT_A_VM_OUT_HOLD_HIST] = { .type = NLA_NESTED },
	[KVM_FT_A_VM_EPOCH_HIST] = { .type = NLA_NESTED },
	[KVM_FT_A_EVENT] = { .type = NLA_U32 },
	[KVM_FT_A_EVENT_REASON] = { .type = NLA_U32 },
	[KVM_FT_A_EVENT_EPOCH] = { .type = NLA_U64 },
};

/* @msg's attributes into @a, checked against the policy above; <0 if bad. */
int attrs_parse(struct nl_msg *msg, struct nlattr **a)
{
	return genlmsg_parse(nlmsg_hdr(msg), 0, a, KVM_FT_A_MAX, policy);
}

int vm_parse(struct nl_msg *msg, struct vm_info *vm)
{
	struct nlattr *a[KVM_FT_A_MAX + 1];

	if (attrs_parse(msg, a) < 0 ||
	    !a[KVM_FT_A_VM_NAME])
		return -1;
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "%s", nla_get_string(a[KVM_FT_A_VM_NAME]));
#define U32(attr, field) if (a[attr]) vm->field = nla_get_u32(a[attr])
	U32(KVM_FT_A_VM_ROLE, role);
	U32(KVM_FT_A_VM_STATE, state);
	U32(KVM_FT_A_VM_EPOCH_US, epoch_us);
	U32(KVM_FT_A_VM_NR_VCPUS, nr_vcpus);
	U32(KVM_FT_A_VM_VMM_PID, vmm_pid);
	U32(KVM_FT_A_VM_OWNER_UID, owner_uid);
#undef U32
	if (a[KVM_FT_A_VM_MEM_BYTES])
		vm->mem_bytes = nla_get_u64(a[KVM_FT_A_VM_MEM_BYTES]);
	parse_addr(a, vm);
	vm->keyed = a[KVM_FT_A_KEY_FPR];
	if (vm->keyed)
		vm->key_fpr = nla_get_u32(a[KVM_FT_A_KEY_FPR]);
	vm->insecure = a[KVM_FT_A_INSECURE];
	if (a[KVM_FT_A_PEER_NAME])
		snprintf(vm->peer, sizeof(vm->peer), "%s", nla_get_string(a[KVM_FT_A_PEER_NAME]));
	if (a[KVM_FT_A_VM_STATS])
		parse_stats(a[KVM_FT_A_VM_STATS], vm);
	parse_hist(a[KVM_FT_A_VM_PAUSE_HIST], vm->pause_hist);
	parse_hist(a[KVM_FT_A_VM_OUT_HOLD_HIST], vm->out_hold_hist);
	parse_hist(a[KVM_FT_A_VM_EPOCH_HIST], vm->epoch_hist);
	parse_repeated(msg, vm);
	vm->commit_age_ms = a[KVM_FT_A_VM_COMMIT_AGE_MS] ?
			    (int64_t)nla_get_u64(a[KVM_FT_A_VM_COMMIT_AGE_MS]) : -1;
	vm->link_age_ms = a[KVM_FT_A_VM_LINK_AGE_MS] ?
			  (int64_t)nla_get_u64(a[KVM_FT_A_VM_LINK_AGE_MS]) : -1;
	return 0;
}
